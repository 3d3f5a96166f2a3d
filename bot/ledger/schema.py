"""The ledger's schema, as sqlite-utils migration sets, and the runner that applies them.

Migrations are `sqlite_utils.Migrations` sets, recorded in sqlite-utils' `_sqlite_migrations`
table (so `sqlite-utils migrate --list` reads them too). The ledger's own set comes from
`ledger_migrations()`; other parts of Tunesmith pass theirs to `Ledger.open(extra_migrations=...)`
and they are applied after it, in the order given. Each migration runs in its own
`BEGIN IMMEDIATE` transaction that re-reads what is applied, so two processes opening the same
file at once apply each migration exactly once.

Migration 0001 is the schema of the first ledger (a `migrations` table with version 1); opening
such a file converts that record and applies the rest.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlite_utils
from sqlite_utils import Migrations

from bot.ledger.chain import GENESIS_HASH, EventKind, canonical_json, event_hash, sha256_text
from bot.ledger.errors import NewerLedger
from bot.ledger.history import PieceState, created_payload
from bot.ledger.licences import ALL_LICENCES

LEDGER_MIGRATION_SET = "tunesmith-ledger"
_LEGACY_TABLE = "migrations"  # the first ledger's own record: (version, applied_at)
_LEGACY_NAMES = {1: "0001_creations"}


def ledger_migrations() -> Migrations:
    """The ledger's migration set, built fresh (no module-level registry)."""
    migrations = Migrations(LEDGER_MIGRATION_SET)
    migrations(name="0001_creations")(_creations)
    migrations(name="0002_events_media_ownership")(_events_media_ownership)
    return migrations


def apply_migrations(db: sqlite_utils.Database, sets: Sequence[Migrations]) -> list[str]:
    """Apply what is pending in each set, in order; returns the 'set/name' of each one applied."""
    names = [migrations.name for migrations in sets]
    if len(set(names)) != len(names):
        raise ValueError(f"migration set names must be unique, got {names}")
    with immediate(db):
        Migrations(LEDGER_MIGRATION_SET).ensure_migrations_table(db)
        _adopt_legacy_record(db)
    _refuse_newer(db, sets)
    applied: list[str] = []
    for migrations in sets:
        while pending := migrations.pending(db):
            step = pending[0]
            if step.transactional:
                with immediate(db):
                    # Another process may have applied it since we looked.
                    if _is_pending(db, migrations, step.name):
                        step.fn(db)
                        _record(db, migrations.name, step.name)
            else:
                # A migration that cannot run in a transaction (VACUUM, …) runs on its own.
                step.fn(db)
                with immediate(db):
                    if _is_pending(db, migrations, step.name):
                        _record(db, migrations.name, step.name)
            applied.append(f"{migrations.name}/{step.name}")
    return applied


def _refuse_newer(db: sqlite_utils.Database, sets: Sequence[Migrations]) -> None:
    """A ledger migrated by a newer version is not opened by an older one: the older code does
    not know what the newer schema means, and could write rows that break it."""
    empty = sqlite_utils.Database(memory=True)
    for migrations in sets:
        known = {step.name for step in migrations.pending(empty)}
        unknown = [done.name for done in migrations.applied(db) if done.name not in known]
        if unknown:
            raise NewerLedger(
                f"This ledger was upgraded by a newer Tunesmith (migration {migrations.name}/"
                f"{unknown[0]} is unknown to this version). Run the newer version, or restore the"
                " backup taken before the upgrade (`tunesmith ledger backup`)."
            )


@contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """`BEGIN IMMEDIATE` … `COMMIT`, rolled back on any exception.

    Immediate: the write lock is taken up front, so a reader never has to upgrade to a writer
    (which in WAL mode fails at once with SQLITE_BUSY instead of waiting).
    """
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.conn.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise


def _is_pending(db: sqlite_utils.Database, migrations: Migrations, name: str) -> bool:
    return any(step.name == name for step in migrations.pending(db))


def _record(db: sqlite_utils.Database, set_name: str, name: str) -> None:
    db.table(Migrations.migrations_table).insert(
        {
            "migration_set": set_name,
            "name": name,
            "applied_at": str(datetime.datetime.now(datetime.UTC)),
        }
    )


def _adopt_legacy_record(db: sqlite_utils.Database) -> None:
    """Move the first ledger's `migrations(version)` rows into sqlite-utils' table, then drop it."""
    if _LEGACY_TABLE not in db.table_names():
        return
    legacy = db.table(_LEGACY_TABLE)
    if "version" not in legacy.columns_dict:
        return  # not ours
    done = {m.name for m in Migrations(LEDGER_MIGRATION_SET).applied(db)}
    for row in legacy.rows:
        name = _LEGACY_NAMES.get(row["version"])
        if name is None:
            raise RuntimeError(
                f"This ledger was written by a newer Tunesmith (schema version {row['version']})."
            )
        if name not in done:
            db.table(Migrations.migrations_table).insert(
                {
                    "migration_set": LEDGER_MIGRATION_SET,
                    "name": name,
                    "applied_at": row["applied_at"],
                }
            )
    legacy.drop()


def _creations(db: sqlite_utils.Database) -> None:
    """The first ledger's schema, unchanged: people and their pieces."""
    db.table("users").create(
        {"platform": str, "user_id": str, "display_name": str, "first_seen": str},
        pk=("platform", "user_id"),
    )
    db.table("creations").create(
        {
            "id": str,
            "created_at": str,
            "owner_platform": str,
            "owner_id": str,
            "origin": str,
            "title": str,
            "genre": str,
            "mood": str,
            "key": str,
            "tempo_bpm": float,
            "duration_s": float,
            "seed": int,
            "request": str,
            "score_json": str,
            "sha256_mp3": str,
            "sha256_midi": str,
            "sha256_png": str,
            "licence": str,
            "quality_json": str,
            "generator_version": str,
        },
        pk="id",
        not_null={"created_at", "owner_platform", "owner_id", "seed", "licence"},
    )
    db.table("creations").create_index(["owner_platform", "owner_id", "created_at"])


def _events_media_ownership(db: sqlite_utils.Database) -> None:
    """The event chain, lineage, likes, plays, the media table and the ownership columns.

    Pieces recorded by the first ledger get a `created` event written from their row (marked
    `media_stored: false`: their files were never copied into the media store).
    """
    creations = db.table("creations")
    for column in (
        "updated_at",
        "deleted_at",
        "allowed_licences",
        "originality_json",
        "fingerprint",
        "offered_to_platform",
        "offered_to_id",
    ):
        creations.add_column(column, str)
    for column in ("sha256_mp3", "sha256_midi", "sha256_png"):
        creations.create_index([column])
    db.table("lineage").create(
        {"creation_id": str, "position": int, "parent_id": str},
        pk=("creation_id", "position"),
        not_null={"parent_id"},
        foreign_keys=[("creation_id", "creations", "id"), ("parent_id", "creations", "id")],
    )
    db.table("lineage").create_index(["parent_id"])
    db.table("likes").create(
        {"creation_id": str, "platform": str, "user_id": str, "at": str},
        pk=("creation_id", "platform", "user_id"),
        not_null={"at"},
        foreign_keys=[("creation_id", "creations", "id")],
    )
    db.table("plays").create(
        {
            "id": int,
            "creation_id": str,
            "platform": str,
            "user_id": str,
            "place": str,
            "at": str,
        },
        pk="id",
        not_null={"creation_id", "place", "at"},
        foreign_keys=[("creation_id", "creations", "id")],
    )
    db.table("plays").create_index(["creation_id"])
    db.table("media").create(
        {"sha256": str, "kind": str, "ext": str, "size": int, "stored_at": str},
        pk="sha256",
        not_null={"kind", "ext", "size", "stored_at"},
    )
    db.execute(
        """
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            creation_id TEXT NOT NULL REFERENCES creations(id),
            kind TEXT NOT NULL,
            actor_platform TEXT NOT NULL,
            actor_id TEXT NOT NULL,
            payload TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )
        """
    )
    db.table("events").create_index(["creation_id", "seq"])
    # The chain catches edits made around these; the triggers stop honest mistakes early.
    for action in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER events_append_only_{action.lower()} BEFORE {action} ON events "
            "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END"
        )
    db.execute(
        "CREATE TABLE chain_head (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "seq INTEGER NOT NULL, hash TEXT NOT NULL)"
    )
    head_seq, head_hash = 0, GENESIS_HASH
    everything = canonical_json(list(ALL_LICENCES))
    for row in list(creations.rows_where(order_by="created_at, rowid")):
        quality = _canonical_json_text(row["quality_json"])
        state = _legacy_state(row, quality, everything)
        payload = canonical_json(created_payload(state))
        head_seq += 1
        # seq, at, creation_id, kind, actor_platform, actor_id, payload: hashed, then stored
        fields = (
            head_seq,
            row["created_at"],
            row["id"],
            str(EventKind.CREATED),
            row["owner_platform"],
            row["owner_id"],
            payload,
        )
        digest = event_hash(head_hash, *fields)
        db.execute(
            "INSERT INTO events (seq, at, creation_id, kind, actor_platform, actor_id, payload,"
            " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [*fields, head_hash, digest],
        )
        head_hash = digest
        db.execute(
            "UPDATE creations SET quality_json = ?, origin = ?, updated_at = created_at,"
            " allowed_licences = ? WHERE id = ?",
            [quality, state.origin, everything, row["id"]],
        )
    db.execute("INSERT INTO chain_head (id, seq, hash) VALUES (1, ?, ?)", [head_seq, head_hash])


def _canonical_json_text(text: str | None) -> str | None:
    """The first ledger stored QC as json.dumps(sort_keys=True); the chain wants canonical JSON."""
    if text is None:
        return None
    value = json.loads(text)
    return None if value is None else canonical_json(value)


def _legacy_state(row: dict[str, Any], quality: str | None, everything: str) -> PieceState:
    files = {
        kind: row[f"sha256_{kind}"] for kind in ("mp3", "midi", "png") if row[f"sha256_{kind}"]
    }
    return PieceState(
        id=row["id"],
        owner=(row["owner_platform"], row["owner_id"]),
        origin=row["origin"] or "",
        title=row["title"],
        request=row["request"],
        seed=row["seed"],
        score_sha256=None if row["score_json"] is None else sha256_text(row["score_json"]),
        genre=row["genre"],
        mood=row["mood"],
        key=row["key"],
        tempo_bpm=row["tempo_bpm"],
        duration_s=row["duration_s"],
        files=files,
        parents=(),
        licence=row["licence"],
        allowed_licences=tuple(json.loads(everything)),
        quality_json=quality,
        originality_json=None,
        fingerprint_sha256=None,
        generator_version=row["generator_version"],
        media_stored=False,
        created_at=row["created_at"],
        updated_at=row["created_at"],
    )
