"""Requests acknowledged but not yet answered, kept in the ledger's database so a restart or a
crash loses none of them.

A `/compose` (or 🔁 Variation) is written here right after Discord has been told "thinking…",
and removed once its piece is posted or the person has been told why not. On start-up the bot
makes whatever is still here and posts it through the interaction's webhook, which Discord keeps
open for 15 minutes; older entries can no longer be answered and are dropped with a log line.
The interaction token is stored only for that window and deleted with the entry.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Migrations

from bot.ledger import Owner
from bot.posts import Place

PENDING_MIGRATION_SET = "tunesmith-discord-pending"
# Discord accepts follow-ups for 15 minutes after the interaction; leave a margin.
ANSWERABLE_S = 14 * 60


@dataclass(frozen=True, slots=True)
class PendingRequest:
    interaction_id: str
    application_id: str
    token: str
    owner: Owner
    text: str
    seed: int | None
    parents: tuple[str, ...]
    origin: str | None
    place: Place
    filesize_limit: int
    created_at: float  # unix seconds


def migrations() -> Migrations:
    pending = Migrations(PENDING_MIGRATION_SET)

    @pending()
    def create_pending(db: Any) -> None:
        db.conn.execute(
            """CREATE TABLE discord_pending (
                interaction_id TEXT PRIMARY KEY,
                application_id TEXT NOT NULL,
                token TEXT NOT NULL,
                owner_platform TEXT NOT NULL,
                owner_id TEXT NOT NULL,
                owner_name TEXT NOT NULL,
                text TEXT NOT NULL,
                seed INTEGER,
                parents TEXT NOT NULL,
                origin TEXT,
                guild TEXT,
                channel TEXT,
                filesize_limit INTEGER NOT NULL,
                created_at REAL NOT NULL
            )"""
        )

    return pending


def remember(conn: sqlite3.Connection, request: PendingRequest) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO discord_pending VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            request.interaction_id,
            request.application_id,
            request.token,
            request.owner.platform,
            request.owner.user_id,
            request.owner.display_name,
            request.text,
            request.seed,
            json.dumps(list(request.parents)),
            request.origin,
            request.place.guild,
            request.place.channel,
            request.filesize_limit,
            request.created_at,
        ],
    )


def forget(conn: sqlite3.Connection, interaction_id: str) -> None:
    conn.execute("DELETE FROM discord_pending WHERE interaction_id = ?", [interaction_id])


def outstanding(
    conn: sqlite3.Connection, now: float | None = None
) -> tuple[list[PendingRequest], int]:
    """The requests still answerable, oldest first, and how many expired ones were dropped."""
    now = time.time() if now is None else now
    expired = conn.execute(
        "DELETE FROM discord_pending WHERE created_at < ?", [now - ANSWERABLE_S]
    ).rowcount
    rows: Sequence[tuple[Any, ...]] = conn.execute(
        "SELECT * FROM discord_pending ORDER BY created_at"
    ).fetchall()
    return [_request(row) for row in rows], expired


def _request(row: tuple[Any, ...]) -> PendingRequest:
    (
        interaction_id,
        application_id,
        token,
        platform,
        user_id,
        name,
        text,
        seed,
        parents,
        origin,
        guild,
        channel,
        filesize_limit,
        created_at,
    ) = row
    return PendingRequest(
        interaction_id=interaction_id,
        application_id=application_id,
        token=token,
        owner=Owner(platform, user_id, name),
        text=text,
        seed=seed,
        parents=tuple(json.loads(parents)),
        origin=origin,
        place=Place("discord", guild, channel),
        filesize_limit=int(filesize_limit),
        created_at=float(created_at),
    )
