"""Tamper evidence: every edit made around the ledger's API is found by `verify()` and named.

A realistic history is written once through the API; each test edits a copy of the file with
plain sqlite3 (as someone with the file would), then reopens it and verifies.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.ledger import Ledger, Owner, Problem, VerifyReport
from bot.ledger.chain import EVENT_COLUMNS, canonical_json, event_hash

ALICE = Owner("cli", "alice", "Alice")
BOB = Owner("discord", "1001", "Bob")
CAROL = Owner("discord", "1002", "Carol")


def record(ledger: Ledger, owner: Owner, tag: str, **extra: Any) -> str:
    return ledger.record_creation(
        owner,
        origin="discord:10/20" if owner.platform == "discord" else "cli",
        title=f"Piece {tag}",
        request=f"lofi 30s {tag}",
        seed=len(tag),
        score_json=f'{{"tag": "{tag}"}}',
        media={kind: f"{kind}:{tag}".encode() for kind in ("mp3", "midi", "png")},
        generator_version="0.1.0",
        genre="lofi",
        mood="calm",
        key="A minor",
        tempo_bpm=82.0,
        duration_s=30.0,
        quality={"passed": True, "lufs": -14.0},
        originality={"score": 0.9, "nearest": "bach/bwv66.6"},
        fingerprint=f"AQAAfingerprint{tag}",
        **extra,
    ).id


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose ledger went through every kind of event."""
    data = tmp_path_factory.mktemp("pristine")
    with Ledger.open(data / "ledger.db") as ledger:
        first = record(ledger, ALICE, "first")
        remix = record(ledger, BOB, "remix", parents=[first])
        ledger.rename(first, ALICE, "First, renamed")
        ledger.relicense(first, ALICE, "CC-BY-SA-4.0")
        ledger.offer_transfer(first, ALICE, BOB)
        ledger.decline_transfer(first, BOB)
        ledger.offer_transfer(first, ALICE, BOB)
        ledger.accept_transfer(first, BOB)
        ledger.offer_transfer(remix, BOB, CAROL)  # left pending
        gone = record(ledger, ALICE, "gone")
        ledger.delete(gone, ALICE)
        withdrawn = record(ledger, CAROL, "withdrawn", licence="all-rights-reserved")
        ledger.offer_transfer(withdrawn, CAROL, ALICE)
        ledger.withdraw_transfer(withdrawn, CAROL)
        ledger.like(first, CAROL)
        ledger.record_play(first, None, "discord:10/voice")
        assert ledger.verify(check_media_content=True).ok
    return data


@pytest.fixture
def data(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(pristine, copy)
    return copy


def tamper(data: Path, *statements: tuple[str, list[Any]]) -> None:
    """Edit the file directly, past the append-only triggers (they stop mistakes, not people)."""
    conn = sqlite3.connect(data / "ledger.db", isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")  # a test copy: no need to wait for the disk
        conn.execute("BEGIN")
        conn.execute("DROP TRIGGER IF EXISTS events_append_only_update")
        conn.execute("DROP TRIGGER IF EXISTS events_append_only_delete")
        for sql, params in statements:
            conn.execute(sql, params)
        conn.execute("COMMIT")
    finally:
        conn.close()


def verify(data: Path, media: Path | None = None) -> VerifyReport:
    with Ledger.open(data / "ledger.db", media or data / "media") as ledger:
        return ledger.verify()


def edited_copy(data: Path, name: str, sql: str, params: list[Any]) -> Path:
    """A copy of the ledger file alone (the media stay in `data`), edited by `sql`."""
    copy = data.parent / name
    copy.mkdir()
    shutil.copy(data / "ledger.db", copy / "ledger.db")
    tamper(copy, (sql, params))
    return copy


def rows(data: Path, sql: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(data / "ledger.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(sql)]
    finally:
        conn.close()


def one_byte_edit(value: Any) -> Any:
    """The value with one byte changed (for text, one character in the middle)."""
    if value is None:
        return "x"
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.5
    middle = len(value) // 2
    replacement = "0" if value[middle] != "0" else "1"
    return value[:middle] + replacement + value[middle + 1 :]


def named(report: VerifyReport, **where: Any) -> list[Problem]:
    return [p for p in report.problems if all(getattr(p, k) == v for k, v in where.items())]


def test_the_untouched_copy_verifies(data: Path) -> None:
    report = verify(data)
    assert report.ok, report.format()
    assert report.events == 15 and report.creations == 4 and report.deleted == 1
    assert "Ledger OK" in report.format()


@pytest.mark.parametrize("column", EVENT_COLUMNS)
def test_one_edited_byte_in_any_column_of_any_event_is_named(data: Path, column: str) -> None:
    events = rows(data, "SELECT * FROM events ORDER BY seq")
    for event in events:
        # A seq moved onto a neighbour would collide with it; move it past the end instead.
        new = event["seq"] + 1000 if column == "seq" else one_byte_edit(event[column])
        copy = edited_copy(
            data,
            f"edit-{column}-{event['seq']}",
            f"UPDATE events SET {column} = ? WHERE seq = ?",
            [new, event["seq"]],
        )
        report = verify(copy, data / "media")
        assert not report.ok, (column, event["seq"])
        seqs = {event["seq"], new} if column == "seq" else {event["seq"]}
        assert any(p.seq in seqs for p in report.problems), (column, report.format())
        shutil.rmtree(copy)


CREATION_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "deleted_at",
    "owner_platform",
    "owner_id",
    "origin",
    "title",
    "genre",
    "mood",
    "key",
    "tempo_bpm",
    "duration_s",
    "seed",
    "request",
    "score_json",
    "sha256_mp3",
    "sha256_midi",
    "sha256_png",
    "licence",
    "allowed_licences",
    "quality_json",
    "originality_json",
    "fingerprint",
    "generator_version",
    "offered_to_platform",
    "offered_to_id",
)


def test_every_creations_column_is_covered(data: Path) -> None:
    columns = {row["name"] for row in rows(data, "PRAGMA table_info(creations)")}
    assert columns == set(CREATION_COLUMNS)


@pytest.mark.parametrize("column", CREATION_COLUMNS)
def test_one_edited_byte_in_any_column_of_any_creation_is_named(data: Path, column: str) -> None:
    for creation in rows(data, "SELECT * FROM creations ORDER BY created_at"):
        new = one_byte_edit(creation[column])
        copy = edited_copy(
            data,
            f"edit-{column}-{creation['id']}",
            f'UPDATE creations SET "{column}" = ? WHERE id = ?',
            [new, creation["id"]],
        )
        report = verify(copy, data / "media")
        if column == "id":
            # The row no longer matches any created event, and the events lose their row.
            assert named(report, creation_id=new, column="id"), report.format()
            assert named(report, creation_id=creation["id"]), report.format()
        else:
            assert named(report, creation_id=creation["id"], column=column), (
                column,
                creation["id"],
                report.format(),
            )
        shutil.rmtree(copy)


def test_a_removed_event_is_named(data: Path) -> None:
    tamper(data, ("DELETE FROM events WHERE seq = 5", []))
    report = verify(data)
    gap = named(report, seq=6)
    assert any("event 5 is missing" in p.message for p in gap), report.format()
    assert any("prev_hash" in p.message for p in gap)


def test_a_removed_first_event_is_named(data: Path) -> None:
    tamper(data, ("DELETE FROM events WHERE seq = 1", []))
    report = verify(data)
    assert any("event 1 is missing" in p.message for p in named(report, seq=2)), report.format()


def test_a_cut_off_tail_is_caught_by_the_head(data: Path) -> None:
    tamper(data, ("DELETE FROM events WHERE seq >= 14", []))
    report = verify(data)
    assert any("log ends at 13" in p.message for p in named(report, seq=15)), report.format()


def test_two_swapped_events_are_named(data: Path) -> None:
    a, b = rows(data, "SELECT * FROM events WHERE seq IN (4, 5) ORDER BY seq")
    others = [c for c in EVENT_COLUMNS if c != "seq"]
    assignments = ", ".join(f"{c} = ?" for c in others)
    tamper(
        data,
        (f"UPDATE events SET {assignments} WHERE seq = 4", [b[c] for c in others]),
        (f"UPDATE events SET {assignments} WHERE seq = 5", [a[c] for c in others]),
    )
    report = verify(data)
    assert named(report, seq=4) and named(report, seq=5), report.format()


def test_a_removed_creation_row_is_named(data: Path) -> None:
    (victim,) = rows(data, "SELECT id FROM creations WHERE deleted_at IS NOT NULL")
    tamper(data, ("DELETE FROM creations WHERE id = ?", [victim["id"]]))
    report = verify(data)
    assert any("row is missing" in p.message for p in named(report, creation_id=victim["id"]))


def test_an_added_creation_without_history_is_named(data: Path) -> None:
    (model,) = rows(data, "SELECT * FROM creations WHERE title = 'Piece gone'")
    model["id"] = "zzzzzzzz"
    columns = ", ".join(f'"{c}"' for c in model)
    tamper(
        data,
        (
            f"INSERT INTO creations ({columns}) VALUES ({', '.join('?' for _ in model)})",
            list(model.values()),
        ),
    )
    report = verify(data)
    assert any("no 'created' event" in p.message for p in named(report, creation_id="zzzzzzzz"))


def test_edited_lineage_is_named(data: Path) -> None:
    (link,) = rows(data, "SELECT * FROM lineage")
    tamper(data, ("DELETE FROM lineage WHERE creation_id = ?", [link["creation_id"]]))
    report = verify(data)
    assert named(report, creation_id=link["creation_id"], column="lineage"), report.format()


def test_an_edited_chain_head_is_named(data: Path) -> None:
    tamper(data, ("UPDATE chain_head SET hash = ? WHERE id = 1", ["f" * 64]))
    report = verify(data)
    assert any("head hash" in p.message for p in named(report, seq=15)), report.format()


def test_a_rewritten_chain_must_still_obey_the_rules(data: Path) -> None:
    """Recomputing every hash hides an edit from the chain, not from the replay of the rules."""
    head = rows(data, "SELECT seq, hash, (SELECT at FROM events ORDER BY seq DESC LIMIT 1) AS at"
                      " FROM chain_head")[0]  # fmt: skip
    (first,) = rows(data, "SELECT id, owner_id FROM creations WHERE title = 'First, renamed'")
    assert first["owner_id"] == BOB.user_id
    seq, payload = head["seq"] + 1, canonical_json({"from": "First, renamed", "to": "Stolen"})
    digest = event_hash(
        head["hash"], seq, head["at"], first["id"], "renamed", "cli", "mallory", payload
    )
    tamper(
        data,
        (
            "INSERT INTO events VALUES (?, ?, ?, 'renamed', 'cli', 'mallory', ?, ?, ?)",
            [seq, head["at"], first["id"], payload, head["hash"], digest],
        ),
        ("UPDATE chain_head SET seq = ?, hash = ?", [seq, digest]),
        ("UPDATE creations SET title = 'Stolen' WHERE id = ?", [first["id"]]),
    )
    report = verify(data)
    rule, title = report.problems
    assert rule.seq == seq and "Only the owner" in rule.message, report.format()
    assert (title.creation_id, title.column) == (first["id"], "title")


def test_a_removed_media_file_and_an_edited_one_are_named(data: Path) -> None:
    (live,) = rows(data, "SELECT sha256_mp3, sha256_png FROM creations WHERE title = 'Piece remix'")
    media = data / "media"
    (media / live["sha256_mp3"][:2] / f"{live['sha256_mp3']}.mp3").unlink()
    png = media / live["sha256_png"][:2] / f"{live['sha256_png']}.png"
    png.write_bytes(b"png:remiX")  # same size, other bytes
    with Ledger.open(data / "ledger.db") as ledger:
        assert ledger.last_sweep.missing == (live["sha256_mp3"],)
        assert any(live["sha256_mp3"] in p.message for p in ledger.verify().problems)
        content = ledger.verify(check_media_content=True)
        assert any(
            live["sha256_png"] in p.message and "hash" in p.message for p in content.problems
        )


def test_the_report_reads_well(data: Path) -> None:
    tamper(data, ("UPDATE creations SET title = 'Forged' WHERE title = 'Piece remix'", []))
    text = verify(data).format()
    assert "Ledger has PROBLEMS" in text
    assert "column title: is 'Forged' but the events say 'Piece remix'" in text
