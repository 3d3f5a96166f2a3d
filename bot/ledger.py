"""The ledger: every creation, who made it and under which licence, in SQLite.

This first version records creations; ownership rules, the event hash chain and provenance build
on the same schema through migrations.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

DEFAULT_LICENCE = "CC-BY-4.0"
_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32: no i, l, o, u


@dataclass(frozen=True, slots=True)
class Owner:
    platform: str  # "cli", "discord", ...
    user_id: str
    display_name: str


def _migration_1(db: sqlite_utils.Database) -> None:
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


MIGRATIONS: tuple[tuple[int, Callable[[sqlite_utils.Database], None]], ...] = ((1, _migration_1),)


class Ledger:
    """Synchronous ledger on one SQLite file. Open with `Ledger.open(path)`, close with `close()`."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    @classmethod
    def open(cls, path: Path) -> Ledger:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        ledger = cls(sqlite_utils.Database(conn))
        ledger.migrate()
        return ledger

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[None]:
        """An immediate transaction: the write lock is taken up front, so no upgrade deadlocks."""
        self.db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.conn.execute("ROLLBACK")
            raise
        self.db.conn.execute("COMMIT")

    def migrate(self) -> int:
        """Apply the migrations not yet applied; returns the schema version."""
        with self._write():
            if "migrations" not in self.db.table_names():
                self.db.table("migrations").create(
                    {"version": int, "applied_at": str}, pk="version"
                )
            done = {row["version"] for row in self.db.table("migrations").rows}
            for version, step in MIGRATIONS:
                if version not in done:
                    step(self.db)
                    self.db.table("migrations").insert({"version": version, "applied_at": _now()})
        return max(version for version, _ in MIGRATIONS)

    def new_id(self) -> str:
        while True:
            candidate = "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
            if not self.db.table("creations").count_where("id = ?", [candidate]):
                return candidate

    def record_creation(
        self, owner: Owner, origin: str, piece_id: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        """Record a finished piece owned by `owner`; returns the stored row."""
        row = {
            "id": piece_id,
            "created_at": _now(),
            "owner_platform": owner.platform,
            "owner_id": owner.user_id,
            "origin": origin,
            "licence": DEFAULT_LICENCE,
            **fields,
        }
        for key in ("quality_json",):
            if not isinstance(row.get(key), str):
                row[key] = json.dumps(row.get(key), sort_keys=True)
        with self._write():
            self.db.execute(
                "INSERT INTO users (platform, user_id, display_name, first_seen) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (platform, user_id) DO UPDATE SET display_name = excluded.display_name",
                [owner.platform, owner.user_id, owner.display_name, row["created_at"]],
            )
            self.db.table("creations").insert(row)
        return dict(self.db.table("creations").get(piece_id))

    def creation(self, piece_id: str) -> dict[str, Any]:
        return dict(self.db.table("creations").get(piece_id))

    def creations_of(self, owner: Owner) -> list[dict[str, Any]]:
        return list(
            self.db.table("creations").rows_where(
                "owner_platform = ? and owner_id = ?",
                [owner.platform, owner.user_id],
                order_by="created_at desc",
            )
        )


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
