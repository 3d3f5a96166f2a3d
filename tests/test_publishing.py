"""A made piece becomes a recorded, credited, signed creation; `verify` finds out who made a file.

Real pieces (FluidSynth, ffmpeg), a real ledger file, real c2pa signing and reading.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import audio_index, originality
from bot.cli import main
from bot.ledger import AsyncLedger, Creation, Ledger, LicenceConflict, Owner
from bot.provenance import SigningIdentity, read_provenance
from bot.publishing import (
    Attempt,
    Draft,
    Publisher,
    forget,
    index_migrations,
    originality_seed,
)
from bot.verification import verify_file
from generators.catalog import Catalog
from generators.encode import decode_audio
from generators.errors import BadRequest
from generators.pipeline import Piece, PieceMaker
from generators.render import Renderer
from generators.request import CompositionRequest

ALICE = Owner("discord", "100", "Alice")
BOB = Owner("discord", "200", "Bob")


@pytest.fixture(scope="module")
def maker(renderer: Renderer, catalog: Catalog) -> PieceMaker:
    return PieceMaker(renderer, catalog, cores=2)


@pytest.fixture(scope="module")
def made(maker: PieceMaker, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Piece]:
    """Pieces as the generator makes them; tests copy them before signing in place."""
    out = tmp_path_factory.mktemp("made")
    requests = {
        "lofi": CompositionRequest("lofi", 20.0, text="lofi 20s"),
        "jazz": CompositionRequest("jazz", 20.0, text="jazz 20s"),
        "rock": CompositionRequest("rock", 20.0, text="rock 20s"),
    }
    return {name: maker.make(req, 3, out, f"made-{name}") for name, req in requests.items()}


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigningIdentity]:
    with SigningIdentity.open(tmp_path_factory.mktemp("keys"), "test-installation") as opened:
        yield opened


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "data" / "ledger.db", extra_migrations=[index_migrations()]) as db:
        yield db


def _draft(piece: Piece, folder: Path) -> Draft:
    folder.mkdir(parents=True, exist_ok=True)
    copies = [
        Path(shutil.copy(path, folder))
        for path in (piece.files.mp3, piece.files.midi, piece.files.png)
    ]
    return Draft(
        piece.score,
        piece.score.request_text or piece.score.genre,
        copies[0],
        copies[1],
        copies[2],
        piece.quality,
        piece.fingerprint,
    )


def _publish(
    publisher: Publisher,
    ledger: Ledger,
    owner: Owner,
    piece: Piece,
    folder: Path,
    **options: object,
) -> tuple[Draft, Creation]:
    draft = _draft(piece, folder)
    check = publisher.originality(ledger, piece.score)
    creation = publisher.publish(
        ledger,
        owner,
        "discord:1/2",
        draft,
        [Attempt(piece.score.seed, check)],
        piece_id=ledger.new_id(),
        **options,  # type: ignore[arg-type]
    )
    return draft, creation


def test_published_piece_is_signed_recorded_and_indexed(
    made: dict[str, Piece], identity: SigningIdentity, ledger: Ledger, tmp_path: Path
) -> None:
    publisher = Publisher(identity, None)
    draft, creation = _publish(publisher, ledger, ALICE, made["lofi"], tmp_path / "a")
    signed = draft.mp3.read_bytes()
    # The ledger holds the signed file, by its hash, in the media store.
    assert creation.files["mp3"] == hashlib.sha256(signed).hexdigest()
    assert ledger.path_for(creation.files["mp3"]).read_bytes() == signed
    assert creation.owner.is_(ALICE) and str(creation.licence) == "CC-BY-4.0"
    assert creation.originality["score"] == 1.0
    # c2pa's own reader trusts it and finds who made it.
    manifest = read_provenance(draft.mp3, identity)
    assert manifest.validation_state == "Trusted"
    assert manifest.creator == "Alice" and manifest.piece_id == creation.id
    assert manifest.licence == "CC-BY-4.0" and manifest.seed == made["lofi"].score.seed
    # Signing changed the tags, never the sound.
    before, _ = decode_audio(made["lofi"].files.mp3)
    after, _ = decode_audio(draft.mp3)
    assert after.shape == before.shape and (after == before).all()
    # Both indexes hold the piece, committed with it.
    conn = ledger.db.conn
    assert originality.indexed_pieces(conn) == 1
    assert conn.execute("SELECT count(*) FROM audio_fingerprints").fetchone()[0] == 1
    assert ledger.verify(check_media_content=True).ok


def test_the_same_melody_again_is_too_close(
    made: dict[str, Piece], identity: SigningIdentity, ledger: Ledger, tmp_path: Path
) -> None:
    publisher = Publisher(identity, None)
    _, first = _publish(publisher, ledger, ALICE, made["jazz"], tmp_path / "a")
    again = publisher.originality(ledger, made["jazz"].score)
    assert again.too_close and again.closest is not None
    assert again.closest.to_dict()["creation_id"] == first.id
    assert not publisher.originality(ledger, made["rock"].score).too_close


def test_originality_seeds_start_with_the_asked_seed_and_differ() -> None:
    seeds = [originality_seed(42, attempt) for attempt in range(4)]
    assert seeds[0] == 42 and len(set(seeds)) == 4
    assert seeds == [originality_seed(42, attempt) for attempt in range(4)]


def test_a_remix_carries_its_parents_terms_and_ingredients(
    made: dict[str, Piece], identity: SigningIdentity, ledger: Ledger, tmp_path: Path
) -> None:
    publisher = Publisher(identity, None)
    _, parent = _publish(
        publisher, ledger, ALICE, made["lofi"], tmp_path / "p", licence="CC-BY-SA-4.0"
    )
    draft, remix = _publish(
        publisher,
        ledger,
        BOB,
        made["jazz"],
        tmp_path / "r",
        parents=[parent.id],
    )
    assert str(remix.licence) == "CC-BY-SA-4.0"
    manifest = read_provenance(draft.mp3, identity)
    assert manifest.validation_state == "Trusted"
    assert [p.piece_id for p in manifest.parents] == [parent.id]
    assert manifest.licence == "CC-BY-SA-4.0"


def test_a_refused_licence_is_refused_before_the_file_is_signed(
    made: dict[str, Piece], identity: SigningIdentity, ledger: Ledger, tmp_path: Path
) -> None:
    publisher = Publisher(identity, None)
    _, parent = _publish(
        publisher, ledger, ALICE, made["lofi"], tmp_path / "p", licence="all-rights-reserved"
    )
    draft = _draft(made["rock"], tmp_path / "r")
    unsigned = draft.mp3.read_bytes()
    with pytest.raises(LicenceConflict, match=r"(?i)all rights reserved"):
        publisher.publish(
            ledger,
            BOB,
            "cli",
            draft,
            [Attempt(1, publisher.originality(ledger, made["rock"].score))],
            piece_id=ledger.new_id(),
            parents=[parent.id],
        )
    assert draft.mp3.read_bytes() == unsigned
    assert len(ledger.creations_of(BOB)) == 0


def test_deleting_forgets_the_piece_in_both_indexes(
    made: dict[str, Piece], identity: SigningIdentity, ledger: Ledger, tmp_path: Path
) -> None:
    publisher = Publisher(identity, None)
    _, creation = _publish(publisher, ledger, ALICE, made["lofi"], tmp_path / "a")
    ledger.delete(creation.id, ALICE, on_delete=forget)
    conn = ledger.db.conn
    assert originality.indexed_pieces(conn) == 0
    assert conn.execute("SELECT count(*) FROM audio_fingerprints").fetchone()[0] == 0
    assert not publisher.originality(ledger, made["lofi"].score).too_close
    assert ledger.verify().ok


def _reencode(source: Path, dest: Path, start_s: float) -> Path:
    subprocess.run(
        [
            *("ffmpeg", "-loglevel", "error", "-y", "-ss", str(start_s), "-i", str(source)),
            *("-map", "0:a", "-b:a", "96k", str(dest)),
        ],
        check=True,
    )
    return dest


def test_verify_names_the_maker_of_the_file_a_copy_and_a_changed_file(
    made: dict[str, Piece], identity: SigningIdentity, ledger: Ledger, tmp_path: Path
) -> None:
    publisher = Publisher(identity, None)
    draft, creation = _publish(publisher, ledger, ALICE, made["lofi"], tmp_path / "a")
    _publish(publisher, ledger, BOB, made["jazz"], tmp_path / "b")

    exact = verify_file(draft.mp3, ledger, identity)
    assert exact.identified and not exact.tampered
    assert [c.id for c in exact.by_hash] == [creation.id]
    assert exact.by_sound[0].creation.id == creation.id
    assert "Alice" in exact.format() and "Trusted" in exact.format()

    # Re-encoded at 96 kbps and trimmed by 5 s: the manifest and hash are gone, the sound is not.
    copy = verify_file(_reencode(draft.mp3, tmp_path / "copy.mp3", 5.0), ledger, identity)
    assert not copy.provenance.intact and not copy.by_hash
    assert [found.creation.id for found in copy.by_sound] == [creation.id]
    assert 4.5 < copy.by_sound[0].match.offset_s < 5.5

    # One audio byte flipped: c2pa says Invalid; the sound still names the piece.
    changed = tmp_path / "changed.mp3"
    data = bytearray(draft.mp3.read_bytes())
    data[len(data) // 2] ^= 0x01
    changed.write_bytes(bytes(data))
    report = verify_file(changed, ledger, identity)
    assert report.provenance.validation_state == "Invalid" and report.tampered
    assert "changed after" in report.format()

    # Unrelated audio names nobody.
    other = tmp_path / "noise.wav"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "anoisesrc=d=12:a=0.3", str(other)],
        check=True,
    )
    assert not verify_file(other, ledger, identity).identified


def test_cli_compose_then_verify_and_ledger_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("TUNESMITH_DATA_DIR", str(data))
    monkeypatch.setenv("TUNESMITH_REFERENCE_MELODIES", str(tmp_path / "none.sqlite"))
    assert main(["compose", "ambient", "15s", "--seed", "9", "--out", str(tmp_path), "--json"]) == 0
    made_piece = json.loads(capsys.readouterr().out)
    assert made_piece["licence"] == "CC-BY-4.0" and made_piece["originality"]["score"] == 1.0
    mp3 = Path(made_piece["files"]["mp3"])
    assert hashlib.sha256(mp3.read_bytes()).hexdigest() == made_piece["sha256"]["mp3"]

    assert main(["verify", str(mp3), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["c2pa"]["validation_state"] == "Trusted"
    assert report["ledger"]["by_hash"][0]["id"] == made_piece["id"]

    assert main(["verify", str(tmp_path / "missing.mp3")]) == 2
    assert "no file" in capsys.readouterr().err

    assert main(["ledger", "verify", "--media"]) == 0
    assert "Ledger OK" in capsys.readouterr().out
    # One edited byte in the creations table: named, exit 1.
    with sqlite3.connect(data / "ledger.db") as conn:
        conn.execute("UPDATE creations SET title = title || 'x'")
    assert main(["ledger", "verify"]) == 1
    out = capsys.readouterr().out
    assert made_piece["id"] in out and "title" in out


def test_cli_ledger_verify_without_a_ledger_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TUNESMITH_DATA_DIR", str(tmp_path / "empty"))
    assert main(["ledger", "verify"]) == 2
    assert "compose a piece first" in capsys.readouterr().err
    assert not (tmp_path / "empty").exists()  # checking made nothing


def test_audio_index_is_in_the_ledger_migrations(ledger: Ledger) -> None:
    assert "tunesmith-indexes/audio_fingerprints" in ledger.applied_migrations()
    assert "tunesmith-indexes/melody_fingerprints" in ledger.applied_migrations()
    assert audio_index.identify(ledger.db.conn, ()) == []


def test_verify_refuses_what_is_not_audio_and_reports_a_damaged_file(
    made: dict[str, Piece], identity: SigningIdentity, ledger: Ledger, tmp_path: Path
) -> None:
    text = tmp_path / "notes.mp3"
    text.write_text("not music")
    with pytest.raises(BadRequest, match="not an audio file"):
        verify_file(text, ledger, identity)
    with pytest.raises(BadRequest, match="folder"):
        verify_file(tmp_path, ledger, identity)
    publisher = Publisher(identity, None)
    draft, _ = _publish(publisher, ledger, ALICE, made["lofi"], tmp_path / "a")
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(draft.mp3.read_bytes()[:3000])  # the tag's head only: a broken download
    report = verify_file(cut, ledger, identity)
    assert report.tampered and not report.identified
    assert "changed after signing" in report.format()


@pytest.mark.asyncio
async def test_the_bot_publishes_on_the_ledgers_owner_thread(
    made: dict[str, Piece], identity: SigningIdentity, tmp_path: Path
) -> None:
    """The path the Discord front end takes: every step on the AsyncLedger's one thread."""
    publisher = Publisher(identity, None)
    async with AsyncLedger.open(
        tmp_path / "ledger.db", extra_migrations=[index_migrations()]
    ) as ledger:
        draft = _draft(made["rock"], tmp_path / "a")

        def publish(sync: Ledger) -> Creation:
            check = publisher.originality(sync, draft.score)
            return publisher.publish(
                sync, ALICE, "discord:1/2", draft, [Attempt(1, check)], piece_id=sync.new_id()
            )

        creation = await ledger.run(publish)
        assert (await ledger.creation(creation.id)).owner.is_(ALICE)
        report = await ledger.run(lambda sync: verify_file(draft.mp3, sync, identity))
        assert [c.id for c in report.by_hash] == [creation.id]
        assert (await ledger.verify()).ok
