"""Where pieces were posted: the chat message that carries each piece, by platform and place.

Front ends record a post after the piece is up, so the library can rank a server's pieces
(`/top`) and a remix can find the original's message. Posts are not part of the provenance
chain: they say where a piece was shown, not who made it. The table lives in the ledger's
database (its own migration set) and is read and written on the ledger's owner thread.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Migrations

POSTS_MIGRATION_SET = "tunesmith-posts"


@dataclass(frozen=True, slots=True)
class Place:
    """Where a request came from: a platform and, where it has them, a server and a channel."""

    platform: str  # "discord", "chat"
    guild: str | None = None
    channel: str | None = None

    @property
    def key(self) -> str:
        """How the ledger's `place` text names it (plays, posts)."""
        parts = [self.platform, self.guild or "-", self.channel or "-"]
        return ":".join(parts)


@dataclass(frozen=True, slots=True)
class Post:
    creation_id: str
    place: Place
    message_id: str
    posted_at: str


@dataclass(frozen=True, slots=True)
class Ranked:
    """A piece on a leaderboard."""

    creation_id: str
    likes: int


def migrations() -> Migrations:
    posts = Migrations(POSTS_MIGRATION_SET)

    @posts()
    def create_posts(db: Any) -> None:
        db.conn.execute(
            """CREATE TABLE posts (
                creation_id TEXT NOT NULL REFERENCES creations(id),
                platform TEXT NOT NULL,
                guild TEXT,
                channel TEXT,
                message_id TEXT NOT NULL,
                posted_at TEXT NOT NULL,
                PRIMARY KEY (platform, message_id)
            )"""
        )
        db.conn.execute("CREATE INDEX posts_by_creation ON posts (creation_id)")
        db.conn.execute("CREATE INDEX posts_by_guild ON posts (platform, guild)")

    @posts()
    def create_remix_threads(db: Any) -> None:
        # One thread of remixes per original piece and server: every remix of the piece, or of
        # its remixes, is posted there.
        db.conn.execute(
            """CREATE TABLE remix_threads (
                root_id TEXT NOT NULL REFERENCES creations(id),
                platform TEXT NOT NULL,
                guild TEXT NOT NULL,
                thread_id TEXT NOT NULL,
                opened_at TEXT NOT NULL,
                PRIMARY KEY (platform, guild, root_id)
            )"""
        )

    return posts


@dataclass(frozen=True, slots=True)
class RemixThread:
    """Where the remixes of an original piece are posted in one server."""

    root_id: str
    platform: str
    guild: str
    thread_id: str


def remix_thread(
    conn: sqlite3.Connection, root_id: str, platform: str, guild: str
) -> RemixThread | None:
    row = conn.execute(
        "SELECT thread_id FROM remix_threads WHERE root_id = ? AND platform = ? AND guild = ?",
        [root_id, platform, guild],
    ).fetchone()
    return None if row is None else RemixThread(root_id, platform, guild, str(row[0]))


def record_remix_thread(conn: sqlite3.Connection, thread: RemixThread) -> None:
    """Remember the thread (replacing one that was deleted; one statement: atomic)."""
    at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    conn.execute(
        "INSERT OR REPLACE INTO remix_threads VALUES (?, ?, ?, ?, ?)",
        [thread.root_id, thread.platform, thread.guild, thread.thread_id, at],
    )


def record(conn: sqlite3.Connection, creation_id: str, place: Place, message_id: str) -> Post:
    """Remember that `message_id` in `place` shows the piece (one statement: atomic)."""
    at = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    conn.execute(
        "INSERT OR REPLACE INTO posts VALUES (?, ?, ?, ?, ?, ?)",
        [creation_id, place.platform, place.guild, place.channel, message_id, at],
    )
    return Post(creation_id, place, message_id, at)


def posts_of(conn: sqlite3.Connection, creation_id: str, platform: str) -> list[Post]:
    """Every message that showed the piece on `platform`, oldest first."""
    rows = conn.execute(
        "SELECT guild, channel, message_id, posted_at FROM posts"
        " WHERE creation_id = ? AND platform = ? ORDER BY posted_at, message_id",
        [creation_id, platform],
    ).fetchall()
    return [
        Post(creation_id, Place(platform, guild, channel), message_id, posted_at)
        for guild, channel, message_id, posted_at in rows
    ]


def first_post(conn: sqlite3.Connection, creation_id: str, platform: str) -> Post | None:
    """The earliest message that showed the piece on `platform`, if any."""
    row = conn.execute(
        "SELECT guild, channel, message_id, posted_at FROM posts"
        " WHERE creation_id = ? AND platform = ? ORDER BY posted_at, message_id LIMIT 1",
        [creation_id, platform],
    ).fetchone()
    if row is None:
        return None
    guild, channel, message_id, posted_at = row
    return Post(creation_id, Place(platform, guild, channel), message_id, posted_at)


def latest(conn: sqlite3.Connection, place: Place) -> str | None:
    """The id of the live piece posted last in `place`'s guild (or its channel without one)."""
    params: list[str | None]
    if place.guild is not None:
        where, params = "p.guild = ?", [place.guild]
    else:
        where, params = "p.guild IS NULL AND p.channel IS ?", [place.channel]
    row = conn.execute(
        f"""SELECT p.creation_id FROM posts p JOIN creations c ON c.id = p.creation_id
            WHERE p.platform = ? AND {where} AND c.deleted_at IS NULL
            ORDER BY p.posted_at DESC, p.rowid DESC LIMIT 1""",
        [place.platform, *params],
    ).fetchone()
    return None if row is None else str(row[0])


def top(conn: sqlite3.Connection, platform: str, guild: str | None, limit: int) -> list[Ranked]:
    """The most-liked live pieces posted in `guild` on `platform`; with no guild (a DM, the
    terminal) every live piece. Ties go to the earlier piece."""
    where, params = "", []
    if guild is not None:
        where = "AND c.id IN (SELECT creation_id FROM posts WHERE platform = ? AND guild = ?)"
        params = [platform, guild]
    rows = conn.execute(
        f"""SELECT c.id, (SELECT count(*) FROM likes l WHERE l.creation_id = c.id) AS n
            FROM creations c
            WHERE c.deleted_at IS NULL {where}
            ORDER BY n DESC, c.created_at, c.id
            LIMIT ?""",
        [*params, limit],
    ).fetchall()
    return [Ranked(creation_id, likes) for creation_id, likes in rows]
