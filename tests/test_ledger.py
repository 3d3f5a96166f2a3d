"""The ledger on real SQLite files and a real media directory: schema, records, media, queries."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from sqlite_utils import Migrations

from bot.ledger import (
    DEFAULT_LICENCE,
    Creation,
    Deleted,
    EventKind,
    InvalidValue,
    Ledger,
    Licence,
    LikeState,
    NotFound,
    NotOwner,
    Owner,
)

ALICE = Owner("cli", "alice", "Alice")
BOB = Owner("discord", "1001", "Bob")


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "ledger.db") as opened:
        yield opened


def record(ledger: Ledger, owner: Owner = ALICE, tag: str = "a", **extra: Any) -> Creation:
    """A small piece with three distinct media files derived from `tag`."""
    fields: dict[str, Any] = {
        "origin": "cli",
        "title": f"Piece {tag}",
        "request": "lofi 30s",
        "seed": 7,
        "score_json": f'{{"tag": "{tag}"}}',
        "media": {kind: f"{kind}:{tag}".encode() for kind in ("mp3", "midi", "png")},
        "generator_version": "0.1.0",
    }
    fields.update(extra)
    return ledger.record_creation(owner, **fields)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- schema -----------------------------------------------------------------------------------


def test_migrate_from_empty_and_rerun_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger.open(path) as first:
        assert first.migrations_applied_now == (
            "tunesmith-ledger/0001_creations",
            "tunesmith-ledger/0002_events_media_ownership",
        )
        schema = sorted(first.db.table_names())
    with Ledger.open(path) as again:
        assert again.migrations_applied_now == ()
        assert again.applied_migrations() == list(first.migrations_applied_now)
        assert sorted(again.db.table_names()) == schema
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_connection_pragmas(ledger: Ledger) -> None:
    conn = ledger.db.conn
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


# The first ledger's schema exactly as it wrote it (sqlite3 .schema of a file it made).
FIRST_LEDGER_SCHEMA = """
CREATE TABLE "migrations" ("version" INTEGER PRIMARY KEY, "applied_at" TEXT);
CREATE TABLE "users" ("platform" TEXT, "user_id" TEXT, "display_name" TEXT, "first_seen" TEXT,
   PRIMARY KEY ("platform", "user_id"));
CREATE TABLE "creations" (
   "id" TEXT PRIMARY KEY, "created_at" TEXT NOT NULL, "owner_platform" TEXT NOT NULL,
   "owner_id" TEXT NOT NULL, "origin" TEXT, "title" TEXT, "genre" TEXT, "mood" TEXT, "key" TEXT,
   "tempo_bpm" REAL, "duration_s" REAL, "seed" INTEGER NOT NULL, "request" TEXT, "score_json" TEXT,
   "sha256_mp3" TEXT, "sha256_midi" TEXT, "sha256_png" TEXT, "licence" TEXT NOT NULL,
   "quality_json" TEXT, "generator_version" TEXT);
CREATE INDEX "idx_creations_owner_platform_owner_id_created_at"
    ON "creations" ("owner_platform", "owner_id", "created_at");
INSERT INTO migrations VALUES (1, '2025-11-20T10:00:00Z');
INSERT INTO users VALUES ('cli', 'alice', 'alice', '2025-11-20T10:00:01Z');
INSERT INTO creations VALUES ('k3j9x2ab', '2025-11-20T10:00:01Z', 'cli', 'alice', 'cli', 'Old Song',
   'lofi', 'calm', 'C major', 80.0, 30.0, 7, 'lofi 30s', '{"notes": []}',
   'aaaa000000000000000000000000000000000000000000000000000000000000', NULL, NULL, 'CC-BY-4.0',
   '{"passed": true, "attempts": 1}', '0.1.0');
INSERT INTO creations VALUES ('m4n5p6q7', '2025-11-20T10:05:00Z', 'cli', 'alice', 'cli', 'Second',
   'jazz', NULL, NULL, NULL, NULL, 9, 'jazz', NULL, NULL, NULL, NULL, 'CC-BY-4.0', NULL, NULL);
"""


def test_a_first_ledger_file_migrates_forward(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(FIRST_LEDGER_SCHEMA)
    with Ledger.open(path) as ledger:
        assert ledger.migrations_applied_now == ("tunesmith-ledger/0002_events_media_ownership",)
        assert "migrations" not in ledger.db.table_names()  # its one row moved to sqlite-utils'
        old = ledger.creation("k3j9x2ab")
        assert (old.title, old.seed, old.licence, old.owner) == (
            "Old Song",
            7,
            Licence.CC_BY,
            ALICE_AS_FIRST_SEEN,
        )
        assert old.quality == {"passed": True, "attempts": 1}
        assert old.files == {"mp3": "aaaa" + "0" * 60}
        assert [e.kind for e in ledger.events("k3j9x2ab")] == [EventKind.CREATED]
        assert ledger.events("k3j9x2ab")[0].payload["media_stored"] is False
        report = ledger.verify()
        assert report.ok, report.format()
        assert (report.events, report.creations) == (2, 2)
        ledger.rename("k3j9x2ab", ALICE, "Old Song (2025)")
        assert ledger.verify().ok
    with Ledger.open(path) as again:
        assert again.migrations_applied_now == ()
        assert again.applied_migrations() == [
            "tunesmith-ledger/0001_creations",
            "tunesmith-ledger/0002_events_media_ownership",
        ]
        assert again.verify().ok


ALICE_AS_FIRST_SEEN = Owner("cli", "alice", "alice")


def test_extra_migrations_from_another_module_apply_once(tmp_path: Path) -> None:
    def fingerprints() -> Migrations:
        migrations = Migrations("tunesmith-fingerprints")

        @migrations()
        def create_index_table(db: sqlite_utils.Database) -> None:
            db.table("fingerprint_index").create(
                {"creation_id": str, "code": int},
                foreign_keys=[("creation_id", "creations", "id")],
            )

        return migrations

    with Ledger.open(tmp_path / "ledger.db", extra_migrations=[fingerprints()]) as ledger:
        assert "tunesmith-fingerprints/create_index_table" in ledger.migrations_applied_now
        assert "fingerprint_index" in ledger.db.table_names()
    with Ledger.open(tmp_path / "ledger.db", extra_migrations=[fingerprints()]) as again:
        assert again.migrations_applied_now == ()


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    broken = Migrations("broken")

    @broken()
    def half_done(db: sqlite_utils.Database) -> None:
        db.table("half").create({"x": int})
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Ledger.open(tmp_path / "ledger.db", extra_migrations=[broken])
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        assert "half" not in ledger.db.table_names()
        assert not any(name.startswith("broken/") for name in ledger.applied_migrations())


# --- recording --------------------------------------------------------------------------------


def test_record_creation_stores_everything_and_returns_the_creation(ledger: Ledger) -> None:
    piece_id = ledger.new_id()
    created = record(
        ledger,
        piece_id=piece_id,
        genre="lofi",
        mood="calm",
        key="C major",
        tempo_bpm=80,
        duration_s=30,
        quality={"passed": True, "lufs": -14.1},
        originality={"score": 0.93, "nearest": None},
        fingerprint="AQAAE0mUaEkSRZEGAA",
    )
    assert created.id == piece_id and len(piece_id) == 8
    assert created.owner == ALICE and created.origin == "cli"
    assert created.licence is DEFAULT_LICENCE and created.parents == ()
    assert created.files == {kind: sha(f"{kind}:a".encode()) for kind in ("mp3", "midi", "png")}
    assert created.quality == {"passed": True, "lufs": -14.1}
    assert created.originality == {"score": 0.93, "nearest": None}
    assert created.fingerprint == "AQAAE0mUaEkSRZEGAA"
    assert (created.tempo_bpm, created.duration_s) == (80.0, 30.0)
    assert created.created_at == created.updated_at and created.deleted_at is None
    row = ledger.db.table("creations").get(piece_id)
    assert row["quality_json"] == '{"lufs":-14.1,"passed":true}'  # canonical JSON
    assert ledger.creation(piece_id) == created
    assert [c.id for c in ledger.creations_of(ALICE)] == [piece_id]
    assert ledger.creations_of(BOB) == []
    assert ledger.verify().ok


def test_media_is_content_addressed_and_readable(ledger: Ledger, tmp_path: Path) -> None:
    source = tmp_path / "song.mp3"
    source.write_bytes(b"ID3 some mp3 bytes")
    created = record(ledger, media={"mp3": source, "png": b"\x89PNG pixels"})
    digest = sha(b"ID3 some mp3 bytes")
    path = ledger.path_for(digest)
    assert path == tmp_path / "media" / digest[:2] / f"{digest}.mp3"
    with ledger.open_media(digest) as handle:
        assert handle.read() == b"ID3 some mp3 bytes"
    assert ledger.path_for(created.files["png"]).suffix == ".png"
    assert [c.id for c in ledger.find_by_sha256(digest.upper())] == [created.id]
    assert ledger.find_by_sha256("0" * 64) == []
    with pytest.raises(InvalidValue):
        ledger.path_for("../../etc/passwd")


def test_identical_renders_share_one_file_until_both_are_deleted(ledger: Ledger) -> None:
    first = record(ledger, tag="same")
    second = record(ledger, tag="same")
    assert first.files == second.files
    assert {c.id for c in ledger.find_by_sha256(first.files["mp3"])} == {first.id, second.id}
    path = ledger.path_for(first.files["mp3"])
    ledger.delete(first.id, ALICE)
    assert path.is_file()  # the second piece still uses it
    ledger.delete(second.id, ALICE)
    assert not path.exists()
    assert ledger.verify().ok


def test_delete_keeps_the_tombstone_and_history_but_removes_the_files(ledger: Ledger) -> None:
    created = record(ledger)
    paths = [ledger.path_for(digest) for digest in created.files.values()]
    gone = ledger.delete(created.id, ALICE)
    assert gone.deleted and gone.title == created.title and gone.files == created.files
    assert not any(path.exists() for path in paths)
    with pytest.raises(NotFound):
        ledger.path_for(created.files["mp3"])
    assert [e.kind for e in ledger.events(created.id)] == [EventKind.CREATED, EventKind.DELETED]
    assert ledger.creations_of(ALICE) == []
    assert [c.id for c in ledger.creations_of(ALICE, include_deleted=True)] == [created.id]
    with pytest.raises(Deleted):
        ledger.rename(created.id, ALICE, "Back")
    with pytest.raises(Deleted):
        ledger.like(created.id, BOB)
    assert ledger.verify(check_media_content=True).ok


def test_a_failed_write_leaves_no_row_no_event_and_no_file(ledger: Ledger) -> None:
    created = record(ledger)
    with pytest.raises(InvalidValue, match="already used"):
        record(ledger, piece_id=created.id, tag="other")

    # That failed before anything was written; this one fails after the files were.
    def explode(conn: sqlite3.Connection, piece_id: str) -> None:
        conn.execute("INSERT INTO users (platform, user_id) VALUES ('x', ?)", [piece_id])
        raise RuntimeError("index builder failed")

    with pytest.raises(RuntimeError):
        record(ledger, tag="doomed", on_insert=explode)
    assert ledger.db.table("creations").count == 1
    assert ledger.db.table("users").count == 1
    assert ledger.head().seq == 1
    assert list(ledger.media.temp_files()) == []
    assert sorted(f.sha256 for f in ledger.media.files()) == sorted(created.files.values())
    assert ledger.sweep().clean


def test_on_insert_writes_in_the_same_transaction(ledger: Ledger) -> None:
    ledger.db.execute("CREATE TABLE melody_index (creation_id TEXT REFERENCES creations(id))")
    seen: list[tuple[bool, str]] = []

    def index(conn: sqlite3.Connection, piece_id: str) -> None:
        seen.append((conn.in_transaction, piece_id))
        conn.execute("INSERT INTO melody_index VALUES (?)", [piece_id])

    created = record(ledger, on_insert=index)
    assert seen == [(True, created.id)]
    assert [r["creation_id"] for r in ledger.db.table("melody_index").rows] == [created.id]

    def forget(conn: sqlite3.Connection, piece_id: str) -> None:
        conn.execute("DELETE FROM melody_index WHERE creation_id = ?", [piece_id])

    with pytest.raises(NotOwner):
        ledger.delete(created.id, BOB, on_delete=forget)
    assert ledger.db.table("melody_index").count == 1  # a refused delete forgets nothing
    ledger.delete(created.id, ALICE, on_delete=forget)
    assert ledger.db.table("melody_index").count == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": "   "}, "title cannot be empty"),
        ({"title": "x" * 121}, "at most 120"),
        ({"seed": -1}, "seed"),
        ({"origin": ""}, "origin"),
        ({"media": {"wav": b"x"}}, "Unknown media kind"),
        ({"media": {"mp3": b""}}, "empty"),
        ({"licence": "GPL"}, "Unknown licence"),
        ({"originality": {"score": 1.5}}, "between 0 and 1"),
        ({"quality": {"when": object()}}, "plain JSON"),
        ({"piece_id": "ILLEGAL1"}, "not a piece id"),
        ({"parents": ["zzzzzzzz"]}, "no piece zzzzzzzz"),
    ],
)
def test_bad_values_are_refused_with_what_would_be_right(
    ledger: Ledger, change: dict[str, Any], message: str
) -> None:
    with pytest.raises((InvalidValue, NotFound), match=message):
        record(ledger, **change)
    assert ledger.db.table("creations").count == 0


def test_display_name_updates_without_losing_first_seen(ledger: Ledger) -> None:
    record(ledger, tag="1")
    first_seen = ledger.db.table("users").get(("cli", "alice"))["first_seen"]
    record(ledger, Owner("cli", "alice", "Alice B."), tag="2")
    user = ledger.db.table("users").get(("cli", "alice"))
    assert user["display_name"] == "Alice B." and user["first_seen"] == first_seen
    assert ledger.creations_of(ALICE)[0].owner.display_name == "Alice B."


# --- the media sweep --------------------------------------------------------------------------


def test_sweep_removes_orphans_and_temp_files_and_reports_missing(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.db") as ledger:
        kept = record(ledger)
        missing_path = ledger.path_for(kept.files["png"])
    orphan = b"written, then the process died before commit"
    orphan_path = tmp_path / "media" / sha(orphan)[:2] / f"{sha(orphan)}.mp3"
    orphan_path.parent.mkdir(parents=True, exist_ok=True)
    orphan_path.write_bytes(orphan)
    (orphan_path.parent / ".tmp-deadbeef-0000").write_bytes(b"half")
    stranger = tmp_path / "media" / "README"
    stranger.write_text("not ours: left alone")
    missing_path.unlink()
    with Ledger.open(tmp_path / "ledger.db") as reopened:
        sweep = reopened.last_sweep
        assert sweep.orphans_removed == (sha(orphan),)
        assert sweep.temp_files_removed == 1
        assert sweep.missing == (kept.files["png"],)
        assert not orphan_path.exists() and stranger.exists()
        report = reopened.verify()
        assert not report.ok
        assert any(
            kept.files["png"] in p.message and "missing" in p.message for p in report.problems
        )
        assert reopened.path_for(kept.files["mp3"]).is_file()


# --- likes, plays, lineage, events ------------------------------------------------------------


def test_likes_toggle_and_count(ledger: Ledger) -> None:
    piece = record(ledger)
    assert ledger.like(piece.id, BOB).count == 1
    assert ledger.like(piece.id, BOB).count == 1  # liking twice is one like
    assert ledger.like(piece.id, ALICE).count == 2
    assert ledger.toggle_like(piece.id, BOB) == LikeState(False, 1)
    assert ledger.toggle_like(piece.id, BOB) == LikeState(True, 2)
    assert ledger.unlike(piece.id, ALICE) == LikeState(False, 1)
    assert ledger.likes_it(piece.id, BOB) and not ledger.likes_it(piece.id, ALICE)
    assert ledger.head().seq == 1  # likes are not chained


def test_plays_are_counted_with_or_without_a_listener(ledger: Ledger) -> None:
    piece = record(ledger)
    assert ledger.record_play(piece.id, BOB, "discord:1/2") == 1
    assert ledger.record_play(piece.id, None, "discord:1/voice") == 2
    assert ledger.plays(piece.id) == 2
    with pytest.raises(NotFound):
        ledger.record_play("zzzzzzzz", None, "cli")


def test_lineage_walks_ancestors_and_descendants(ledger: Ledger) -> None:
    root = record(ledger, tag="root")
    other = record(ledger, BOB, tag="other")
    child = record(ledger, BOB, tag="child", parents=[root.id])
    grandchild = record(ledger, tag="grand", parents=[child.id, other.id])
    family = ledger.lineage(grandchild.id)
    # Nearest first; at the same depth, oldest first.
    assert [(r.id, r.depth) for r in family.ancestors] == [
        (other.id, 1),
        (child.id, 1),
        (root.id, 2),
    ]
    assert family.descendants == ()
    down = ledger.lineage(root.id)
    assert [(r.id, r.depth) for r in down.descendants] == [(child.id, 1), (grandchild.id, 2)]
    assert down.descendants[0].owner == BOB
    assert grandchild.parents == (child.id, other.id)
    remixed = [e for e in ledger.events(root.id) if e.kind is EventKind.REMIXED]
    assert [(e.payload["remix"], e.actor) for e in remixed] == [(child.id, BOB)]
    assert ledger.verify().ok


def test_created_event_carries_everything_immutable(ledger: Ledger) -> None:
    parent = record(ledger, tag="p")
    created = record(ledger, BOB, tag="c", parents=[parent.id], genre="jazz", tempo_bpm=96.5)
    (event,) = [e for e in ledger.events(created.id) if e.kind is EventKind.CREATED]
    payload = event.payload
    assert payload["owner"] == {"platform": "discord", "user_id": "1001"}
    assert payload["origin"] == "cli" and payload["request"] == "lofi 30s"
    assert payload["seed"] == 7 and payload["title"] == "Piece c"
    assert payload["score_sha256"] == sha(b'{"tag": "c"}')
    assert payload["files"] == dict(created.files)
    assert payload["parents"] == [parent.id] and payload["licence"] == "CC-BY-4.0"
    assert payload["generator_version"] == "0.1.0" and payload["tempo_bpm"] == 96.5
    assert event.actor == BOB and event.at == created.created_at
    raw = ledger.db.execute("SELECT payload FROM events WHERE seq = ?", [event.seq]).fetchone()[0]
    assert '": ' not in raw and ", " not in raw.replace("lofi 30s", "")  # compact canonical JSON


def test_backup_of_a_live_ledger_is_consistent_and_complete(tmp_path: Path) -> None:
    """`tunesmith ledger backup` while another connection keeps recording pieces."""
    import threading

    from bot.ledger.backup import BackupError, backup

    with Ledger.open(tmp_path / "data" / "ledger.db") as ledger:
        for index in range(30):
            record(ledger, tag=f"before{index}")
    stop = threading.Event()
    written: list[int] = []

    def keep_writing() -> None:
        with Ledger.open(tmp_path / "data" / "ledger.db") as writer:
            index = 0
            while not stop.is_set():
                record(writer, tag=f"during{index}")
                index += 1
            written.append(index)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        report = backup(
            tmp_path / "data" / "ledger.db",
            tmp_path / "backup",
            media=tmp_path / "data" / "media",
        )
    finally:
        stop.set()
        writer.join()
    assert written and written[0] > 0  # the ledger was written to all along
    assert report.creations >= 30 and report.media_copied >= 3 * 30
    # The copy is a ledger in its own right: it opens, and its hash chain checks out.
    with Ledger.open(tmp_path / "backup" / "ledger.db", tmp_path / "backup" / "media") as copy:
        assert copy.verify(check_media_content=True).ok
        count = copy.db.conn.execute("SELECT count(*) FROM creations").fetchone()[0]
        assert count == report.creations
    # Never over an earlier backup; a later one has everything written since.
    with pytest.raises(BackupError, match="already exists"):
        backup(tmp_path / "data" / "ledger.db", tmp_path / "backup")
    again = backup(tmp_path / "data" / "ledger.db", tmp_path / "backup2")
    assert again.creations == 30 + written[0] and again.media_copied == 0


def test_an_older_version_refuses_a_ledger_a_newer_one_migrated(tmp_path: Path) -> None:
    """No silent downgrade: the older code would not know what the newer schema means."""
    from sqlite_utils import Migrations

    from bot.ledger import NewerLedger

    with Ledger.open(tmp_path / "ledger.db") as ledger:
        record(ledger)
        ledger.db.conn.execute(
            f"INSERT INTO {Migrations.migrations_table} (migration_set, name, applied_at)"
            " VALUES ('tunesmith-ledger', '0099_from_the_future', '2027-01-01')"
        )
    with pytest.raises(NewerLedger, match=r"tunesmith-ledger/0099_from_the_future.*backup"):
        Ledger.open(tmp_path / "ledger.db")
