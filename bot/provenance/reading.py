"""Reading a piece's provenance back: what c2pa says about its manifest, and its credit tags."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import c2pa

from bot.provenance.credentials import SigningIdentity, c2pa_settings
from bot.provenance.credits import CreditTags, read_credit_tags
from bot.provenance.errors import ProvenanceError
from bot.provenance.manifest import COMPOSITION_LABEL, METADATA_LABEL, MP3_FORMAT

__all__ = ["Ingredient", "Provenance", "read_provenance"]

TRUSTED = "Trusted"
VALID = "Valid"
INVALID = "Invalid"
# c2pa errors that mean "there is a manifest, but it is damaged", not "cannot read this file".
_DAMAGED = (
    c2pa.C2paError.Verify,
    c2pa.C2paError.Decoding,
    c2pa.C2paError.Json,
    c2pa.C2paError.Manifest,
    c2pa.C2paError.Assertion,
    c2pa.C2paError.Signature,
)


@dataclass(frozen=True, slots=True)
class Ingredient:
    """A file this piece was made from, as its manifest records it."""

    title: str | None
    relationship: str  # "parentOf", "componentOf"
    piece_id: str | None  # from the ingredient's own Tunesmith manifest, if it has one
    creator: str | None
    has_manifest: bool
    failures: tuple[str, ...]  # codes c2pa found wrong with it when it was added


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """What a file says about where it came from. Manifest fields are None without a manifest."""

    path: Path
    has_manifest: bool
    # As c2pa reports it: "Trusted" (valid, signer chains to a trusted root), "Valid" (intact and
    # well signed, signer not trusted here), "Invalid" (tampered or badly signed); None: no manifest.
    validation_state: str | None
    status_codes: tuple[
        str, ...
    ]  # c2pa's validation_status codes: what it found wrong or unverified
    signer: str | None  # the signing certificate's common name and issuer
    generator: str | None  # "Tunesmith 0.1.0"
    creator: str | None
    created: dt.datetime | None
    title: str | None
    licence: str | None
    licence_url: str | None
    copyright: str | None
    request: str | None
    seed: int | None
    genre: str | None
    piece_id: str | None
    owner: str | None  # "platform:id"
    parents: tuple[Ingredient, ...]
    tags: CreditTags
    # Set when the file carries a manifest c2pa cannot even parse (c2pa raises instead of
    # reporting a state); such a file reads as "Invalid" with c2pa's message here.
    problem: str | None = None

    @property
    def trusted(self) -> bool:
        return self.validation_state == TRUSTED

    @property
    def intact(self) -> bool:
        """The manifest verifies and the file has not changed since signing (trusted or not)."""
        return self.validation_state in (TRUSTED, VALID)


def read_provenance(path: Path, identity: SigningIdentity | None = None) -> Provenance:
    """Read and validate the C2PA manifest of the MP3 at `path`, and its credit tags.

    With `identity`, our own root CA is trusted, so our files read as "Trusted"; without it (or
    for another installation's files) an intact file reads as "Valid" with the code
    ``signingCredential.untrusted``. Nothing is fetched from the network.
    """
    path = Path(path)
    tags = read_credit_tags(path)
    try:
        if identity is not None:
            store = _manifest_store(path, identity.context)
        else:
            with c2pa.Context.from_dict(c2pa_settings()) as context:
                store = _manifest_store(path, context)
    except _DAMAGED as error:
        return _from_tags(path, tags, damaged=str(error))
    except c2pa.C2paError as error:
        raise ProvenanceError(f"cannot read the provenance of {path}: {error}") from error
    if store is None:
        return _from_tags(path, tags)
    return _from_store(path, store, tags)


def _manifest_store(path: Path, context: c2pa.Context) -> dict[str, Any] | None:
    """c2pa's report on the file's manifest store, or None when it has none."""
    try:
        with open(path, "rb") as stream:
            reader = c2pa.Reader.try_create(MP3_FORMAT, stream, None, context)
            if reader is None:
                return None
            with reader:
                store: dict[str, Any] = json.loads(reader.json())
                return store
    except OSError as error:
        raise ProvenanceError(f"cannot read {path}: {error}") from error


def _from_tags(path: Path, tags: CreditTags, damaged: str | None = None) -> Provenance:
    """What the tags alone say: for a file without a manifest, or whose manifest is damaged."""
    return Provenance(
        path=path,
        has_manifest=damaged is not None,
        validation_state=INVALID if damaged is not None else None,
        status_codes=(),
        signer=None,
        generator=None,
        creator=tags.creator,
        created=None,
        title=tags.title,
        licence=tags.licence,
        licence_url=tags.licence_url,
        copyright=tags.copyright,
        request=None,
        seed=None,
        genre=None,
        piece_id=tags.piece_id,
        owner=tags.owner,
        parents=(),
        tags=tags,
        problem=damaged,
    )


def _assertion(manifest: dict[str, Any], label: str) -> dict[str, Any]:
    for assertion in manifest.get("assertions", []):
        if assertion.get("label") == label:
            data = assertion.get("data")
            return data if isinstance(data, dict) else {}
    return {}


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    for assertion in manifest.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            return list(assertion.get("data", {}).get("actions", []))
    return []


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _creator(manifest: dict[str, Any]) -> str | None:
    creators = _assertion(manifest, METADATA_LABEL).get("dc:creator")
    if isinstance(creators, list) and creators:
        return str(creators[0])
    creator = _assertion(manifest, COMPOSITION_LABEL).get("creator")
    return str(creator) if creator is not None else None


def _from_store(path: Path, store: dict[str, Any], tags: CreditTags) -> Provenance:
    manifests: dict[str, Any] = store.get("manifests", {})
    active = manifests.get(store.get("active_manifest", ""), {})
    composition = _assertion(active, COMPOSITION_LABEL)
    rights = _assertion(active, METADATA_LABEL)
    signature = active.get("signature_info", {})
    generators = active.get("claim_generator_info") or [{}]
    generator = " ".join(
        str(part) for part in (generators[0].get("name"), generators[0].get("version")) if part
    )
    # A time-stamped signature carries the signing time; we sign without a time-stamp authority,
    # so the time usually comes from the signed "created"/"edited" action.
    created = _parse_time(signature.get("time"))
    for action in _actions(active):
        if created is None and action.get("action") in ("c2pa.created", "c2pa.edited"):
            created = _parse_time(action.get("when"))
    if created is None:
        created = _parse_time(composition.get("created"))
    owner = composition.get("owner")
    seed = composition.get("seed")
    signer = ", ".join(
        str(part) for part in (signature.get("common_name"), signature.get("issuer")) if part
    )
    return Provenance(
        path=path,
        has_manifest=True,
        validation_state=store.get("validation_state"),
        status_codes=tuple(
            str(status.get("code")) for status in store.get("validation_status", [])
        ),
        signer=signer or None,
        generator=generator or None,
        creator=_creator(active),
        created=created,
        title=active.get("title"),
        licence=composition.get("licence"),
        licence_url=rights.get("xmpRights:WebStatement") or composition.get("licence_url"),
        copyright=rights.get("dc:rights") or composition.get("copyright"),
        request=composition.get("request"),
        seed=seed if isinstance(seed, int) else None,
        genre=composition.get("genre"),
        piece_id=composition.get("piece_id"),
        owner=f"{owner.get('platform')}:{owner.get('id')}" if isinstance(owner, dict) else None,
        parents=tuple(_ingredient(item, manifests) for item in active.get("ingredients", [])),
        tags=tags,
    )


def _ingredient(item: dict[str, Any], manifests: dict[str, Any]) -> Ingredient:
    own = manifests.get(item.get("active_manifest", ""), {})
    results = item.get("validation_results", {}).get("activeManifest", {})
    return Ingredient(
        title=item.get("title"),
        relationship=str(item.get("relationship", "componentOf")),
        piece_id=_assertion(own, COMPOSITION_LABEL).get("piece_id"),
        creator=_creator(own) if own else None,
        has_manifest=bool(own),
        failures=tuple(str(status.get("code")) for status in results.get("failure", [])),
    )
