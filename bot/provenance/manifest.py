"""The C2PA manifest of a piece, signed into its MP3.

c2pa puts the manifest store in the ID3v2 tag as a GEOB frame ("c2pa manifest store",
application/c2pa) and hashes every other byte of the file, tags included. So: credit tags first,
then sign, then leave the file alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa

from bot.provenance.credentials import SigningIdentity
from bot.provenance.credits import Credit, ParentCredit, tagged_mp3
from bot.provenance.errors import ProvenanceError
from generators import __version__

__all__ = [
    "ALGORITHMIC_MEDIA",
    "COMPOSITION_LABEL",
    "MP3_FORMAT",
    "Composition",
    "SignedMp3",
    "manifest_definition",
    "sign_mp3",
]

MP3_FORMAT = "audio/mpeg"
GENERATOR = "Tunesmith"
ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"
COMPOSITION_LABEL = "org.tunesmith.composition"
# CAWG metadata is where C2PA 2.x puts human-authored XMP fields (creator, rights); the older
# stds.schema-org.CreativeWork assertion is deprecated there.
METADATA_LABEL = "cawg.metadata"
_XMP_CONTEXT = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmpRights": "http://ns.adobe.com/xap/1.0/rights/",
}


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Composition:
    """What the piece was made from, so it can be made again: the request, seed and genre."""

    request: str
    seed: int
    genre: str
    created: dt.datetime = field(default_factory=_utc_now)

    def __post_init__(self) -> None:
        if self.created.tzinfo is None:
            raise ValueError(f"created must carry a time zone, got {self.created.isoformat()}")


@dataclass(frozen=True, slots=True)
class SignedMp3:
    path: Path
    sha256: str  # of the signed file: the ledger's sha256_mp3 must be taken after signing
    size: int


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _ingredient_label(index: int) -> str:
    return f"parent-{index}"


def manifest_definition(
    credit: Credit, composition: Composition, with_files: tuple[ParentCredit, ...] = ()
) -> dict[str, Any]:
    """The c2pa manifest definition (JSON) for a piece; `with_files` are the parents added as
    ingredients, in that order (the first is the parent, the rest are components)."""
    agent = {"name": GENERATOR, "version": __version__}
    when = _when(composition.created)
    actions: list[dict[str, Any]] = []
    for index in range(len(with_files)):
        actions.append(
            {
                "action": "c2pa.opened" if index == 0 else "c2pa.placed",
                "parameters": {"ingredientIds": [_ingredient_label(index)]},
            }
        )
    making: dict[str, Any] = {
        # A remix whose parent file is at hand edits that parent; otherwise the piece is new.
        "action": "c2pa.edited" if with_files else "c2pa.created",
        "digitalSourceType": ALGORITHMIC_MEDIA,
        "softwareAgent": agent,
        "when": when,
    }
    if credit.lineage:
        making["description"] = credit.lineage
    actions.append(making)

    rights: dict[str, Any] = {
        "@context": _XMP_CONTEXT,
        "dc:title": credit.title,
        "dc:creator": [credit.creator],
        "dc:rights": credit.copyright,
        "xmpRights:Marked": credit.licence != "CC0-1.0",
    }
    if credit.licence_url:
        rights["xmpRights:WebStatement"] = credit.licence_url
    composition_data: dict[str, Any] = {
        "piece_id": credit.piece_id,
        "title": credit.title,
        "request": composition.request,
        "seed": composition.seed,
        "genre": composition.genre,
        "created": when,
        "generator": f"{GENERATOR} {__version__}",
        "creator": credit.creator,
        "owner": {"platform": credit.owner_platform, "id": credit.owner_id},
        "licence": credit.licence,
        "copyright": credit.copyright,
        "parents": [p._asdict() for p in credit.parents],
    }
    if credit.licence_url:
        composition_data["licence_url"] = credit.licence_url
    return {
        "claim_generator_info": [agent],
        "title": credit.title,
        "format": MP3_FORMAT,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {"label": METADATA_LABEL, "data": rights},
            {"label": COMPOSITION_LABEL, "data": composition_data},
        ],
    }


def sign_mp3(
    identity: SigningIdentity,
    credit: Credit,
    composition: Composition,
    source: Path | bytes,
    dest: Path,
    parent_files: Mapping[str, Path] | None = None,
) -> SignedMp3:
    """Write the credit tags into the MP3 `source` (a path or its bytes) and sign a C2PA manifest
    into it, writing `dest` atomically (`dest` may be `source`; the source file is not modified
    otherwise). `parent_files` maps parent piece ids to their (signed) MP3s: each becomes an
    ingredient whose own manifest travels inside this one. Parents without a file are still named
    in the lineage. Returns the signed file's path, SHA-256 and size.
    """
    parent_files = dict(parent_files or {})
    known = {parent.piece_id for parent in credit.parents}
    strangers = sorted(set(parent_files) - known)
    if strangers:
        raise ValueError(
            f"parent_files names pieces that are not parents of {credit.piece_id}: {strangers}; "
            f"its parents are {sorted(known)}"
        )
    with_files = tuple(p for p in credit.parents if p.piece_id in parent_files)
    if isinstance(source, bytes):
        mp3 = source
    else:
        try:
            mp3 = Path(source).read_bytes()
        except OSError as error:
            raise ProvenanceError(f"cannot read {source} to sign it: {error}") from error

    signed = io.BytesIO()
    try:
        with ExitStack() as files:
            builder = c2pa.Builder(
                manifest_definition(credit, composition, with_files), identity.context
            )
            files.callback(builder.close)
            for index, parent in enumerate(with_files):
                path = parent_files[parent.piece_id]
                try:
                    stream = files.enter_context(open(path, "rb"))
                except OSError as error:
                    raise ProvenanceError(
                        f"cannot read parent {parent.piece_id} ({path}) to name it as an "
                        f"ingredient: {error}"
                    ) from error
                builder.add_ingredient(
                    {
                        "title": parent.title,
                        "relationship": "parentOf" if index == 0 else "componentOf",
                        "label": _ingredient_label(index),
                        "description": f"Tunesmith piece {parent.piece_id} by {parent.creator}",
                    },
                    MP3_FORMAT,
                    stream,
                )
            builder.sign(identity.signer, MP3_FORMAT, io.BytesIO(tagged_mp3(mp3, credit)), signed)
    except c2pa.C2paError as error:
        raise ProvenanceError(f"cannot sign piece {credit.piece_id}: {error}") from error
    data = signed.getvalue()
    _replace(dest, data)
    return SignedMp3(Path(dest), hashlib.sha256(data).hexdigest(), len(data))


def _replace(dest: Path, data: bytes) -> None:
    """Write `data` to `dest` through a temporary file and a rename: readers see the old file or
    the whole new one."""
    dest = Path(dest)
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    except OSError as error:
        raise ProvenanceError(f"cannot write {dest}: {error}") from error
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        # Keep the mode of the file being replaced; a new file gets the usual rw-r--r--.
        os.chmod(temporary, dest.stat().st_mode & 0o777 if dest.exists() else 0o644)
        os.replace(temporary, dest)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise ProvenanceError(f"cannot write {dest}: {error}") from error
