"""Rotating the signing key: new pieces get the new key, pieces signed before stay "Trusted"."""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from bot.provenance import (
    CredentialsError,
    SigningIdentity,
    load_or_create_credentials,
    read_provenance,
    retired_roots,
    rotate_credentials,
    sign_mp3,
)
from bot.provenance import credentials as credentials_module
from bot.provenance.credentials import CHAIN_FILE, KEY_FILE, ROOT_FILE
from bot.verification import verify_file
from generators.catalog import Catalog
from generators.pipeline import Piece, PieceMaker
from generators.render import Renderer
from generators.request import CompositionRequest
from tests.test_provenance import COMPOSITION, _active, _c2pa_store, _credit

INSTALLATION = "test installation"
DECEMBER = dt.datetime(2026, 12, 4, 17, 15, tzinfo=dt.UTC)
# 09:00 in UTC+1 is 08:00 UTC: the retired folder is named in UTC whatever zone `now` is in.
JANUARY = dt.datetime(2027, 1, 10, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))


@pytest.fixture(scope="module")
def piece(renderer: Renderer, catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Piece:
    maker = PieceMaker(renderer, catalog)
    request = CompositionRequest("lofi", 8.0, text="lofi 8s")
    return maker.make(request, 3, tmp_path_factory.mktemp("piece"), "p-orig")


def _sign(folder: Path, piece: Piece, dest: Path) -> Path:
    """Sign `piece` as the bot does: with the identity a fresh process loads from `folder`."""
    with SigningIdentity.open(folder, INSTALLATION) as identity:
        return sign_mp3(identity, _credit(), COMPOSITION, piece.files.mp3, dest).path


def _signing_serial(path: Path) -> int:
    """The serial number of the certificate that signed the file's manifest, as c2pa reads it."""
    return int(_active(_c2pa_store(path))["signature_info"]["cert_serial_number"])


@pytest.mark.slow
def test_pieces_signed_before_and_after_a_rotation_both_verify_as_ours(
    piece: Piece, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    before = _sign(keys, piece, tmp_path / "before.mp3")
    old = load_or_create_credentials(keys, INSTALLATION)

    new = rotate_credentials(keys, INSTALLATION, now=DECEMBER)
    assert new.fingerprint != old.fingerprint and new.root != old.root
    assert load_or_create_credentials(keys, INSTALLATION) == new
    retired = keys / "retired" / "20261204T171500Z"
    assert sorted(path.name for path in retired.iterdir()) == sorted([CHAIN_FILE, ROOT_FILE])
    assert (retired / CHAIN_FILE).read_bytes() == old.chain_pem
    assert (retired / ROOT_FILE).read_bytes() == old.root_pem
    assert old.key_pem not in {path.read_bytes() for path in keys.rglob("*") if path.is_file()}
    assert sorted(path.name for path in keys.iterdir()) == sorted(
        [KEY_FILE, CHAIN_FILE, ROOT_FILE, "retired"]
    )  # no staging left behind
    assert retired_roots(keys) == [old.root]

    after = _sign(keys, piece, tmp_path / "after.mp3")
    assert _signing_serial(before) == old.end_entity.serial_number
    assert _signing_serial(after) == new.end_entity.serial_number

    # What `tunesmith verify` does: open the identity read-only and report on each file.
    with SigningIdentity.open(keys, INSTALLATION) as identity:
        for path in (before, after):
            report = verify_file(path, None, identity)
            assert report.provenance.trusted, report.format()
            assert report.identified and not report.tampered
            assert "C2PA manifest: Trusted — signed by this installation" in report.format()
            assert _c2pa_store(path, identity)["validation_state"] == "Trusted"

        # The retired root is what vouches for the old piece; without it, it is someone else's.
        current_only = dataclasses.replace(identity.credentials, retired_root_pems=())
        with SigningIdentity(current_only) as forgetful:
            assert read_provenance(before, forgetful).validation_state == "Valid"
            assert read_provenance(after, forgetful).trusted


@pytest.mark.slow
def test_a_second_rotation_keeps_both_retired_roots_in_order(piece: Piece, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    first = load_or_create_credentials(keys, INSTALLATION)
    second = rotate_credentials(keys, INSTALLATION, now=DECEMBER)
    third = rotate_credentials(keys, INSTALLATION, now=JANUARY)

    assert sorted(path.name for path in (keys / "retired").iterdir()) == [
        "20261204T171500Z",
        "20270110T080000Z",
    ]
    assert retired_roots(keys) == [first.root, second.root]
    assert len({first.fingerprint, second.fingerprint, third.fingerprint}) == 3
    with SigningIdentity.open(keys, INSTALLATION) as identity:
        anchors = x509.load_pem_x509_certificates(identity.trust_anchor_pem.encode("ascii"))
        assert anchors == [third.root, first.root, second.root]

    # A piece signed by each of the three identities reads as ours.
    signed = []
    for credentials in (first, second, third):
        with SigningIdentity(credentials) as old_identity:
            dest = tmp_path / f"{credentials.fingerprint[:8]}.mp3"
            signed.append(sign_mp3(old_identity, _credit(), COMPOSITION, piece.files.mp3, dest))
    with SigningIdentity.open(keys, INSTALLATION) as identity:
        assert [read_provenance(s.path, identity).validation_state for s in signed] == [
            "Trusted"
        ] * 3


def _fail_issuing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(installation: str) -> tuple[bytes, bytes, bytes]:
        raise RuntimeError("no entropy left")

    monkeypatch.setattr(credentials_module, "_issue", refuse)


def _fail_second_rename(monkeypatch: pytest.MonkeyPatch) -> None:
    """The new key is already in place when the chain's rename fails: the old key must come back."""
    real_replace = os.replace
    calls = 0

    def flaky(source: Any, target: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError(errno.EIO, "Input/output error", str(target))
        real_replace(source, target)

    monkeypatch.setattr(credentials_module.os, "replace", flaky)


@pytest.mark.parametrize("fail", [_fail_issuing, _fail_second_rename])
def test_a_rotation_that_fails_midway_keeps_the_old_identity(
    fail: Callable[[pytest.MonkeyPatch], None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    old = load_or_create_credentials(keys, INSTALLATION)
    with monkeypatch.context() as patch:
        fail(patch)
        with pytest.raises(CredentialsError, match="it is unchanged"):
            rotate_credentials(keys, INSTALLATION, now=DECEMBER)
    assert load_or_create_credentials(keys, INSTALLATION) == old
    assert sorted(path.name for path in keys.iterdir()) == sorted([KEY_FILE, CHAIN_FILE, ROOT_FILE])
    with SigningIdentity.open(keys, INSTALLATION) as identity:
        assert identity.credentials.fingerprint == old.fingerprint
    # And nothing is left half-done: the next rotation goes through.
    assert rotate_credentials(keys, INSTALLATION, now=DECEMBER).fingerprint != old.fingerprint


def test_what_cannot_be_rotated_is_refused(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    with pytest.raises(CredentialsError, match=r"no signing identity .* to rotate"):
        rotate_credentials(keys, INSTALLATION)
    assert not keys.exists()

    load_or_create_credentials(keys, INSTALLATION)
    with pytest.raises(ValueError, match="now must carry a time zone"):
        rotate_credentials(keys, INSTALLATION, now=dt.datetime(2026, 12, 4, 17, 15))
    current = rotate_credentials(keys, INSTALLATION, now=DECEMBER)
    with pytest.raises(CredentialsError, match="already exists; rotate again a second later"):
        rotate_credentials(keys, INSTALLATION, now=DECEMBER)
    assert load_or_create_credentials(keys, INSTALLATION) == current

    (keys / CHAIN_FILE).unlink()
    with pytest.raises(CredentialsError, match=r"incomplete: signing-chain\.pem missing"):
        rotate_credentials(keys, INSTALLATION)
    assert len(retired_roots(keys)) == 1


def test_a_damaged_retired_root_is_reported_not_ignored(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    load_or_create_credentials(keys, INSTALLATION)
    rotate_credentials(keys, INSTALLATION, now=DECEMBER)
    damaged = keys / "retired" / "20261204T171500Z" / ROOT_FILE
    damaged.write_bytes(b"not a certificate")
    with pytest.raises(CredentialsError, match=r"cannot read the retired root .*root-ca\.pem"):
        load_or_create_credentials(keys, INSTALLATION)


def test_when_the_way_back_fails_too_the_error_says_where_the_old_files_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    old = load_or_create_credentials(keys, INSTALLATION)
    real_replace = os.replace
    calls = 0

    def failing_after_the_key(source: Any, target: Any) -> None:
        nonlocal calls
        calls += 1
        if calls >= 2:
            raise OSError(errno.EIO, "Input/output error", str(target))
        real_replace(source, target)

    with monkeypatch.context() as patch:
        patch.setattr(credentials_module.os, "replace", failing_after_the_key)
        with pytest.raises(CredentialsError, match="Copy the files in") as failure:
            rotate_credentials(keys, INSTALLATION, now=DECEMBER)
    (previous,) = keys.glob(".rotating-*/previous")
    assert str(previous) in str(failure.value)
    assert (previous / KEY_FILE).read_bytes() == old.key_pem
    for name in (KEY_FILE, CHAIN_FILE, ROOT_FILE):
        real_replace(previous / name, keys / name)  # what the operator is told to do
    assert load_or_create_credentials(keys, INSTALLATION) == dataclasses.replace(
        old, retired_root_pems=(old.root_pem,)
    )  # the retired record stays: the old root is trusted twice, harmlessly


def test_tunesmith_keys_rotate_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main
    from bot.provenance import SigningIdentity

    monkeypatch.setenv("TUNESMITH_DATA_DIR", str(tmp_path))
    assert main(["keys", "rotate"]) == 2  # nothing to rotate yet, and it says so
    assert "no signing identity" in capsys.readouterr().err
    with SigningIdentity.open(tmp_path / "keys", "test") as first:
        before = first.credentials.fingerprint
    assert main(["keys", "rotate"]) == 0
    said = capsys.readouterr().out
    assert "New signing identity" in said and "Retired identities: 1" in said
    assert len(list((tmp_path / "keys" / "retired").iterdir())) == 1
    assert before not in said
