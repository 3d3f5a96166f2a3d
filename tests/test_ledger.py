"""The first ledger: real SQLite files, migrations, creations recorded per owner."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.ledger import DEFAULT_LICENCE, Ledger, Owner


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    opened = Ledger.open(tmp_path / "ledger.db")
    yield opened
    opened.close()


ALICE = Owner("cli", "alice", "Alice")


def _fields(seed: int = 1) -> dict[str, object]:
    return {
        "title": "Blue Hour",
        "genre": "lofi",
        "seed": seed,
        "request": "lofi 30s",
        "quality_json": {"passed": True},
    }


def test_migrate_from_empty_and_rerun_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger.open(path) as first:
        assert first.migrate() == 1
    with Ledger.open(path) as again:
        assert [row["version"] for row in again.db["migrations"].rows] == [1]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_record_creation_stores_owner_licence_and_request(ledger: Ledger) -> None:
    piece_id = ledger.new_id()
    row = ledger.record_creation(ALICE, "cli", piece_id, _fields())
    assert row["id"] == piece_id and len(piece_id) == 8
    assert row["owner_id"] == "alice" and row["licence"] == DEFAULT_LICENCE
    assert row["quality_json"] == '{"passed": true}'
    assert [r["id"] for r in ledger.creations_of(ALICE)] == [piece_id]
    assert ledger.creations_of(Owner("cli", "bob", "Bob")) == []


def test_display_name_updates_without_losing_first_seen(ledger: Ledger) -> None:
    ledger.record_creation(ALICE, "cli", ledger.new_id(), _fields(1))
    first_seen = ledger.db["users"].get(("cli", "alice"))["first_seen"]
    ledger.record_creation(Owner("cli", "alice", "Alice B."), "cli", ledger.new_id(), _fields(2))
    user = ledger.db["users"].get(("cli", "alice"))
    assert user["display_name"] == "Alice B." and user["first_seen"] == first_seen


def test_a_failed_write_leaves_nothing_behind(ledger: Ledger) -> None:
    piece_id = ledger.new_id()
    ledger.record_creation(ALICE, "cli", piece_id, _fields())
    with pytest.raises(sqlite3.IntegrityError):
        ledger.record_creation(Owner("cli", "mallory", "M"), "cli", piece_id, _fields())
    assert ledger.db["users"].count == 1
    assert ledger.db["creations"].count == 1
