"""`tunesmith ledger backup DEST`: a consistent copy of a live ledger, taken while the bot runs.

SQLite's online backup API copies the database page by page inside one read transaction, so
the copy is the ledger as of one moment even while the bot keeps writing (WAL mode: writers are
never blocked by the reader). The media store is content-addressed and write-once, so files a
destination already holds (from `cp -al` of yesterday's backup, say) are not copied again; the
signing keys are copied only when asked (they include the private key).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bot.ledger.errors import LedgerError


class BackupError(LedgerError):
    """The backup could not be made; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    database: Path
    bytes: int
    creations: int
    events: int
    media_copied: int  # files new to this backup
    media_kept: int  # files the destination already had
    keys_copied: int
    seconds: float

    def format(self) -> str:
        lines = [
            f"Backed up the ledger to {self.database}: {self.creations} pieces, {self.events}"
            f" events, {self.bytes / 2**20:.1f} MiB, in {self.seconds:.1f} s (integrity ok)."
        ]
        if self.media_copied or self.media_kept:
            lines.append(
                f"Media: {self.media_copied} files copied, {self.media_kept} already there."
            )
        if self.keys_copied:
            lines.append(
                f"Signing keys: {self.keys_copied} files copied (the private key included: keep"
                " this backup as safe as the server)."
            )
        return "\n".join(lines)


def backup(
    database: Path,
    destination: Path,
    *,
    media: Path | None = None,
    keys: Path | None = None,
) -> BackupReport:
    """Copy the ledger at `database` into the folder `destination` as `ledger.db`; with `media`
    and `keys`, those folders too (into `media/` and `keys/` beside it)."""
    started = time.perf_counter()
    if not database.is_file():
        raise BackupError(f"there is no ledger at {database}; check TUNESMITH_DATA_DIR")
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / "ledger.db"
    if target.exists():
        raise BackupError(
            f"{target} already exists; back up into a new folder (e.g. one per day) so that"
            " no earlier backup is overwritten"
        )
    partial = destination / "ledger.db.partial"
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(partial)
        try:
            # One step: the whole database inside one read transaction, so the copy is one
            # moment of the ledger however busy the bot is.
            source.backup(copy, pages=-1)
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"the copy failed SQLite's integrity check: {verdict}")
            creations = _count(copy, "creations")
            events = _count(copy, "events")
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            copy.close()
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the backup failed: {error}") from error
    finally:
        source.close()
    os.replace(partial, target)
    copied = kept = 0
    if media is not None and media.is_dir():
        copied, kept = _copy_new(media, destination / "media")
    keys_copied = 0
    if keys is not None and keys.is_dir():
        # Keys are not content-addressed: a rotated key has the old one's size. Always copy.
        keys_copied, _ = _copy_new(keys, destination / "keys", overwrite=True)
    return BackupReport(
        target,
        target.stat().st_size,
        creations,
        events,
        copied,
        kept,
        keys_copied,
        time.perf_counter() - started,
    )


def _count(conn: sqlite3.Connection, table: str) -> int:
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # an empty ledger has no tables yet


def _copy_new(source: Path, destination: Path, *, overwrite: bool = False) -> tuple[int, int]:
    """Copy every file under `source` that `destination` lacks (mode and times kept); with
    `overwrite`, every file."""
    copied = kept = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        target = destination / path.relative_to(source)
        if not overwrite and target.exists() and target.stat().st_size == path.stat().st_size:
            kept += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied += 1
    return copied, kept
