"""Provenance inside the file: real MP3s signed and checked with c2pa's own Reader."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import c2pa
import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from mutagen.id3 import ID3, TXXX

from bot.provenance import (
    ALL_RIGHTS_RESERVED,
    Composition,
    CredentialsError,
    Credit,
    ParentCredit,
    ProvenanceError,
    SigningIdentity,
    licence_url_for,
    load_or_create_credentials,
    read_credit_tags,
    read_provenance,
    sign_mp3,
)
from bot.provenance.credentials import CHAIN_FILE, KEY_FILE, ROOT_FILE
from generators.catalog import Catalog
from generators.encode import PIECE_ID_FRAME, Tags, decode_audio, encode_mp3
from generators.pipeline import Piece, PieceMaker
from generators.render import Renderer
from generators.request import CompositionRequest

ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"


def _credit(piece_id: str = "p-orig", **changes: Any) -> Credit:
    values: dict[str, Any] = {
        "creator": "Alice",
        "owner_platform": "discord",
        "owner_id": "4242",
        "year": 2026,
        "licence": "CC-BY-4.0",
        "licence_url": licence_url_for("CC-BY-4.0"),
        "piece_id": piece_id,
        "title": "Night Drive",
    }
    values.update(changes)
    return Credit(**values)


COMPOSITION = Composition(
    request="lofi 8s",
    seed=3,
    genre="lofi",
    created=dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC),
)


def _c2pa_store(path: Path, identity: SigningIdentity | None = None) -> dict[str, Any]:
    """The manifest store as c2pa's own Reader reports it (offline; our root trusted if given)."""
    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if identity is not None:
        settings["trust"] = {"user_anchors": identity.trust_anchor_pem}
    with (
        c2pa.Context.from_dict(settings) as context,
        open(path, "rb") as stream,
        c2pa.Reader("audio/mpeg", stream, None, context) as reader,
    ):
        store: dict[str, Any] = json.loads(reader.json())
    return store


def _active(store: dict[str, Any]) -> dict[str, Any]:
    manifest: dict[str, Any] = store["manifests"][store["active_manifest"]]
    return manifest


def _codes(store: dict[str, Any]) -> set[str]:
    return {status["code"] for status in store.get("validation_status", [])}


def _audio_offset(data: bytes) -> int:
    """An offset in the middle of the MPEG audio frames, well past the ID3v2 tag."""
    assert data[:3] == b"ID3"
    size = 0
    for byte in data[6:10]:  # syncsafe: 7 bits per byte
        size = (size << 7) | byte
    tag_end = 10 + size + (10 if data[5] & 0x10 else 0)
    assert data[tag_end] == 0xFF and data[tag_end + 1] & 0xE0 == 0xE0  # an MPEG frame sync
    return tag_end + (len(data) - tag_end) // 2


# Fixtures: one identity per module, one real piece, one short synthetic MP3.


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data") / "keys"


@pytest.fixture(scope="module")
def identity(keys_dir: Path) -> Iterator[SigningIdentity]:
    with SigningIdentity.open(keys_dir, "test installation") as ours:
        yield ours


@pytest.fixture(scope="module")
def other_identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigningIdentity]:
    folder = tmp_path_factory.mktemp("elsewhere") / "keys"
    with SigningIdentity.open(folder, "another installation") as theirs:
        yield theirs


@pytest.fixture(scope="module")
def piece(renderer: Renderer, catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Piece:
    maker = PieceMaker(renderer, catalog)
    request = CompositionRequest("lofi", 8.0, text="lofi 8s")
    return maker.make(request, 3, tmp_path_factory.mktemp("piece"), "p-orig")


@pytest.fixture(scope="module")
def signed_piece(
    piece: Piece, identity: SigningIdentity, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    dest = tmp_path_factory.mktemp("signed") / "p-orig.mp3"
    sign_mp3(identity, _credit(), COMPOSITION, piece.files.mp3, dest)
    return dest


@pytest.fixture(scope="module")
def synthetic_mp3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rate = 44100
    t = np.arange(rate * 3) / rate
    noise = np.random.default_rng(7).normal(0.0, 0.05, t.size)
    mono = (0.3 * np.sin(2 * np.pi * 220.0 * t) + noise).astype(np.float32)
    path = tmp_path_factory.mktemp("synthetic") / "tone.mp3"
    tags = Tags(
        title="Tone",
        artist="Tunesmith",
        genre="ambient",
        bpm=60,
        key="A",
        comment="request: tone; seed: 1",
        piece_id="p-tone",
        year=2026,
    )
    return encode_mp3(np.stack([mono, mono], axis=1), rate, path, tags)


# Signing and validation with c2pa's own Reader.


@pytest.mark.slow
def test_our_piece_reads_trusted_with_its_credits(
    signed_piece: Path, identity: SigningIdentity
) -> None:
    store = _c2pa_store(signed_piece, identity)
    assert store["validation_state"] == "Trusted"
    assert _codes(store) == set()
    manifest = _active(store)
    assert manifest["claim_generator_info"][0]["name"] == "Tunesmith"
    actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))
    created = actions["data"]["actions"][0]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == ALGORITHMIC_MEDIA

    provenance = read_provenance(signed_piece, identity)
    assert provenance.has_manifest and provenance.trusted and provenance.intact
    assert provenance.validation_state == "Trusted"
    assert provenance.creator == "Alice"
    assert provenance.generator is not None and provenance.generator.startswith("Tunesmith ")
    assert provenance.signer is not None and "Tunesmith signer" in provenance.signer
    assert provenance.created == COMPOSITION.created
    assert (provenance.request, provenance.seed, provenance.genre) == ("lofi 8s", 3, "lofi")
    assert provenance.piece_id == "p-orig"
    assert provenance.owner == "discord:4242"
    assert provenance.licence == "CC-BY-4.0"
    assert provenance.licence_url == "https://creativecommons.org/licenses/by/4.0/"
    assert provenance.copyright == "2026 Alice. Licensed under CC-BY-4.0"
    assert provenance.parents == ()


@pytest.mark.slow
def test_without_our_root_the_piece_is_intact_but_untrusted(signed_piece: Path) -> None:
    store = _c2pa_store(signed_piece)
    assert store["validation_state"] == "Valid"
    assert _codes(store) == {"signingCredential.untrusted"}
    provenance = read_provenance(signed_piece)
    assert provenance.intact and not provenance.trusted
    assert provenance.status_codes == ("signingCredential.untrusted",)


@pytest.mark.slow
def test_one_flipped_audio_byte_makes_the_manifest_invalid(
    signed_piece: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    data = bytearray(signed_piece.read_bytes())
    data[_audio_offset(bytes(data))] ^= 0x01
    tampered = tmp_path / "tampered.mp3"
    tampered.write_bytes(bytes(data))
    store = _c2pa_store(tampered, identity)
    assert store["validation_state"] == "Invalid"
    assert "assertion.dataHash.mismatch" in _codes(store)
    provenance = read_provenance(tampered, identity)
    assert provenance.validation_state == "Invalid" and not provenance.intact
    assert "assertion.dataHash.mismatch" in provenance.status_codes


def test_a_tag_edit_after_signing_makes_the_manifest_invalid(
    synthetic_mp3: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    # The data hash covers the ID3 tag too (all but the manifest's own GEOB frame).
    signed = sign_mp3(identity, _credit("p-tone"), COMPOSITION, synthetic_mp3, tmp_path / "s.mp3")
    assert read_provenance(signed.path, identity).trusted
    tags = ID3(str(signed.path))
    tags.add(TXXX(encoding=3, desc="late", text="edit"))
    tags.save(str(signed.path), v2_version=4)
    assert read_provenance(signed.path, identity).validation_state == "Invalid"


@pytest.mark.slow
def test_signing_does_not_change_the_audio(piece: Piece, signed_piece: Path) -> None:
    before, rate_before = decode_audio(piece.files.mp3)
    after, rate_after = decode_audio(signed_piece)
    assert rate_before == rate_after
    assert before.shape == after.shape
    assert np.array_equal(before, after)


@pytest.mark.slow
def test_a_remix_carries_its_parent_as_an_ingredient(
    signed_piece: Path, synthetic_mp3: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    remix = _credit(
        "p-remix",
        creator="Bob",
        owner_id="77",
        title="Night Drive (Bob's remix)",
        licence=ALL_RIGHTS_RESERVED,
        licence_url=None,
        parents=(("p-orig", "Night Drive", "Alice", "CC-BY-4.0"),),
    )
    dest = tmp_path / "p-remix.mp3"
    sign_mp3(identity, remix, COMPOSITION, synthetic_mp3, dest, {"p-orig": signed_piece})

    store = _c2pa_store(dest, identity)
    assert store["validation_state"] == "Trusted"
    manifest = _active(store)
    (ingredient,) = manifest["ingredients"]
    assert ingredient["relationship"] == "parentOf"
    assert ingredient["title"] == "Night Drive"
    # The parent's own manifest travels inside the remix's manifest store.
    parent_manifest = store["manifests"][ingredient["active_manifest"]]
    parent_data = next(
        a["data"]
        for a in parent_manifest["assertions"]
        if a["label"] == "org.tunesmith.composition"
    )
    assert parent_data["piece_id"] == "p-orig"
    actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))
    names = [action["action"] for action in actions["data"]["actions"]]
    assert names == ["c2pa.opened", "c2pa.edited"]
    assert "remix of" in actions["data"]["actions"][1]["description"]

    provenance = read_provenance(dest, identity)
    assert provenance.creator == "Bob"
    assert provenance.copyright == "2026 Bob. All rights reserved."
    (parent,) = provenance.parents
    assert (parent.piece_id, parent.creator, parent.relationship) == ("p-orig", "Alice", "parentOf")
    assert parent.has_manifest and parent.failures == ()


def test_a_second_parent_is_a_component_and_a_parent_without_a_file_is_only_named(
    synthetic_mp3: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    first = sign_mp3(
        identity, _credit("p-a", title="A"), COMPOSITION, synthetic_mp3, tmp_path / "a.mp3"
    )
    second = sign_mp3(
        identity,
        _credit("p-b", title="B", creator="Carol"),
        COMPOSITION,
        synthetic_mp3,
        tmp_path / "b.mp3",
    )
    parents = (
        ParentCredit("p-a", "A", "Alice", "CC-BY-4.0"),
        ParentCredit("p-gone", "Lost", "Dave", "CC0-1.0"),
        ParentCredit("p-b", "B", "Carol", "CC-BY-4.0"),
    )
    mashup = _credit("p-mash", title="Mash", parents=parents)
    dest = tmp_path / "mash.mp3"
    sign_mp3(
        identity, mashup, COMPOSITION, synthetic_mp3, dest, {"p-a": first.path, "p-b": second.path}
    )
    provenance = read_provenance(dest, identity)
    assert provenance.trusted
    assert [(p.piece_id, p.relationship) for p in provenance.parents] == [
        ("p-a", "parentOf"),
        ("p-b", "componentOf"),
    ]
    assert provenance.tags.parents == parents  # all three, in the lineage tags
    assert provenance.tags.lineage is not None and '"Lost" by Dave' in provenance.tags.lineage


def test_a_parent_file_for_a_stranger_is_refused(
    synthetic_mp3: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="not parents of p-orig"):
        sign_mp3(
            identity,
            _credit(),
            COMPOSITION,
            synthetic_mp3,
            tmp_path / "x.mp3",
            {"p-x": synthetic_mp3},
        )


def test_a_file_without_a_manifest_says_so(synthetic_mp3: Path, identity: SigningIdentity) -> None:
    provenance = read_provenance(synthetic_mp3, identity)
    assert not provenance.has_manifest
    assert provenance.validation_state is None and not provenance.intact
    assert provenance.piece_id == "p-tone"  # from the tags encode_mp3 wrote


def test_signing_in_place_from_bytes_or_path(
    synthetic_mp3: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    in_place = tmp_path / "in-place.mp3"
    shutil.copy(synthetic_mp3, in_place)
    signed = sign_mp3(identity, _credit("p-tone"), COMPOSITION, in_place, in_place)
    from_bytes = sign_mp3(
        identity, _credit("p-tone"), COMPOSITION, synthetic_mp3.read_bytes(), tmp_path / "b.mp3"
    )
    for result in (signed, from_bytes):
        assert read_provenance(result.path, identity).trusted
        assert result.size == result.path.stat().st_size
    assert synthetic_mp3.read_bytes()[:3] == b"ID3"
    assert not read_provenance(synthetic_mp3).has_manifest  # the source was left alone


# Credit tags.


def test_credit_tags_read_back_with_mutagen(
    synthetic_mp3: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    remix = _credit("p-tone", parents=(ParentCredit("p-orig", "Night Drive", "Bob", "CC-BY-4.0"),))
    signed = sign_mp3(identity, remix, COMPOSITION, synthetic_mp3, tmp_path / "t.mp3")
    id3 = ID3(str(signed.path))
    assert id3.version == (2, 4, 0)
    assert str(id3["TPE1"]) == "Alice"
    assert str(id3["TCOM"]) == "Tunesmith"
    assert str(id3["TCOP"]) == "2026 Alice. Licensed under CC-BY-4.0"
    assert id3.getall("WCOP")[0].url == "https://creativecommons.org/licenses/by/4.0/"
    assert str(id3[f"TXXX:{PIECE_ID_FRAME}"]) == "p-tone"
    assert str(id3["TXXX:tunesmith_lineage"]) == (
        'remix of "Night Drive" by Bob (id p-orig, CC-BY-4.0)'
    )
    assert json.loads(str(id3["TXXX:tunesmith_parents"]))[0]["piece_id"] == "p-orig"
    assert str(id3["TCON"]) == "ambient"  # what encode_mp3 wrote is kept
    assert [frame.desc for frame in id3.getall("GEOB")] == ["c2pa manifest store"]
    tags = read_credit_tags(signed.path)
    assert (tags.creator, tags.licence, tags.owner) == ("Alice", "CC-BY-4.0", "discord:4242")


def test_all_rights_reserved_has_no_licence_url(
    synthetic_mp3: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    credit = _credit("p-tone", licence=ALL_RIGHTS_RESERVED, licence_url=None)
    signed = sign_mp3(identity, credit, COMPOSITION, synthetic_mp3, tmp_path / "arr.mp3")
    tags = read_credit_tags(signed.path)
    assert tags.copyright == "2026 Alice. All rights reserved."
    assert tags.licence_url is None
    assert ID3(str(signed.path)).getall("WCOP") == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"licence_url": None}, "needs its licence URL"),
        ({"licence": ALL_RIGHTS_RESERVED}, "has no licence URL"),
        ({"creator": " "}, "creator must not be empty"),
        ({"year": 26}, "four-digit year"),
    ],
)
def test_a_bad_credit_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _credit(**changes)


def test_licence_urls() -> None:
    assert licence_url_for("CC-BY-SA-4.0") == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert licence_url_for("CC0-1.0") == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert licence_url_for(ALL_RIGHTS_RESERVED) is None


# Credentials.


def test_certificates_are_a_p256_chain_for_document_signing(
    identity: SigningIdentity, keys_dir: Path
) -> None:
    credentials = identity.credentials
    end_entity, root = x509.load_pem_x509_certificates((keys_dir / CHAIN_FILE).read_bytes())
    assert root == x509.load_pem_x509_certificate((keys_dir / ROOT_FILE).read_bytes())
    end_entity.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)  # self-signed

    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert root.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert not end_entity.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert end_entity.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    purposes = end_entity.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(purposes) == [ExtendedKeyUsageOID.EMAIL_PROTECTION]
    authority = end_entity.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    root_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert authority.key_identifier == root_ski.digest

    def lasts(cert: x509.Certificate, years: int) -> bool:
        start = cert.not_valid_before_utc
        return cert.not_valid_after_utc >= start.replace(year=start.year + years)

    assert lasts(end_entity, 10) and lasts(root, 20)
    subject = end_entity.subject.rfc4514_string()
    assert "O=Tunesmith" in subject and "OU=test installation" in subject

    key_pem = (keys_dir / KEY_FILE).read_bytes()
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    assert key.public_key() == end_entity.public_key()
    assert stat.S_IMODE((keys_dir / KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    assert credentials.end_entity == end_entity and credentials.root == root


def test_credentials_load_the_same_identity_twice(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    first = load_or_create_credentials(folder, "box")
    stamps = {
        name: (folder / name).stat().st_mtime_ns for name in (KEY_FILE, CHAIN_FILE, ROOT_FILE)
    }
    second = load_or_create_credentials(folder, "box")
    assert second == first
    assert second.key_pem == first.key_pem
    assert {name: (folder / name).stat().st_mtime_ns for name in stamps} == stamps


def test_racing_first_runs_agree_on_one_identity(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "keys"
    start = threading.Barrier(6)
    results: list[bytes] = []

    def first_run() -> None:
        start.wait()
        results.append(load_or_create_credentials(folder, "box").fingerprint.encode())

    threads = [threading.Thread(target=first_run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and len(set(results)) == 1
    assert sorted(p.name for p in folder.parent.iterdir()) == ["keys"]  # no staging left behind


def test_an_incomplete_or_mismatched_identity_is_reported_not_replaced(
    tmp_path: Path, other_identity: SigningIdentity
) -> None:
    folder = tmp_path / "keys"
    load_or_create_credentials(folder, "box")
    chain = (folder / CHAIN_FILE).read_bytes()

    (folder / CHAIN_FILE).unlink()
    with pytest.raises(CredentialsError, match=r"incomplete: signing-chain\.pem missing"):
        load_or_create_credentials(folder, "box")
    assert not (folder / CHAIN_FILE).exists()  # nothing was regenerated

    (folder / CHAIN_FILE).write_bytes(chain)
    (folder / KEY_FILE).write_bytes(other_identity.credentials.key_pem)
    with pytest.raises(CredentialsError, match="does not belong to the certificate"):
        load_or_create_credentials(folder, "box")

    (folder / KEY_FILE).write_bytes(b"not a key")
    with pytest.raises(CredentialsError, match="not an unencrypted PEM private key"):
        load_or_create_credentials(folder, "box")


def test_another_installations_file_verifies_but_is_not_trusted_by_ours(
    synthetic_mp3: Path,
    identity: SigningIdentity,
    other_identity: SigningIdentity,
    tmp_path: Path,
) -> None:
    assert other_identity.credentials.fingerprint != identity.credentials.fingerprint
    theirs = sign_mp3(
        other_identity, _credit("p-tone"), COMPOSITION, synthetic_mp3, tmp_path / "t.mp3"
    )
    ours = read_provenance(theirs.path, identity)
    assert ours.validation_state == "Valid"
    assert ours.status_codes == ("signingCredential.untrusted",)
    assert ours.creator == "Alice"  # still readable, just not vouched for
    assert read_provenance(theirs.path, other_identity).validation_state == "Trusted"
    assert _c2pa_store(theirs.path, identity)["validation_state"] == "Valid"


def test_credentials_pickle_into_a_worker_process(identity: SigningIdentity) -> None:
    import pickle

    copy = pickle.loads(pickle.dumps(identity.credentials))
    assert copy == identity.credentials
    with SigningIdentity(copy) as rebuilt:
        assert rebuilt.trust_anchor_pem == identity.trust_anchor_pem
    assert "key_pem" not in repr(identity.credentials)


def test_a_file_that_is_not_audio_has_no_manifest(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp3"
    path.write_bytes(b"not audio at all " * 8)
    provenance = read_provenance(path)
    assert not provenance.has_manifest and provenance.validation_state is None


def test_a_damaged_manifest_reads_as_invalid_with_the_reason(
    synthetic_mp3: Path, identity: SigningIdentity, tmp_path: Path
) -> None:
    signed = sign_mp3(identity, _credit("p-tone"), COMPOSITION, synthetic_mp3, tmp_path / "s.mp3")
    data = bytearray(signed.path.read_bytes())
    data[data.find(b"c2pa manifest store") + 200] ^= 0xFF  # inside the manifest's JUMBF boxes
    damaged = tmp_path / "damaged.mp3"
    damaged.write_bytes(bytes(data))
    with pytest.raises(c2pa.C2paError):
        _c2pa_store(damaged, identity)  # c2pa itself raises rather than reporting a state
    provenance = read_provenance(damaged, identity)
    assert provenance.has_manifest and provenance.validation_state == "Invalid"
    assert provenance.problem
    assert provenance.piece_id == "p-tone"  # the tags still say what the file claims to be


def test_a_missing_file_is_a_provenance_error(tmp_path: Path) -> None:
    with pytest.raises(ProvenanceError, match=r"missing\.mp3"):
        read_provenance(tmp_path / "missing.mp3")
