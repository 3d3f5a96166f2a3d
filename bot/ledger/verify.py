"""`verify()`: the chain, a replay of the events against the tables, and the media files."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from bot.ledger.chain import (
    EVENT_COLUMNS,
    GENESIS_HASH,
    ChainHead,
    EventRow,
    Problem,
    check_links,
    sha256_text,
)
from bot.ledger.history import HASHED_COLUMNS, PieceState, replay
from bot.ledger.media import MediaStore


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What `verify()` checked and every problem it found; `ok` when there are none."""

    events: int
    creations: int
    deleted: int
    media_files: int
    head_seq: int
    head_hash: str
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def format(self) -> str:
        """A report for people, as `tunesmith ledger verify` prints it."""
        lines = [
            f"Ledger {'OK' if self.ok else 'has PROBLEMS'}: {self.events} events, "
            f"{self.creations} pieces ({self.deleted} deleted), {self.media_files} media files.",
            f"Chain head: event {self.head_seq}, {self.head_hash}",
        ]
        if self.problems:
            lines.append(f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}:")
            lines.extend(f"  - {problem}" for problem in self.problems)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def verify_ledger(
    db: sqlite_utils.Database, media: MediaStore, *, check_media_content: bool = False
) -> VerifyReport:
    """Check everything the ledger can check about itself; reads only."""
    rows = [
        EventRow.from_mapping(row)
        for row in _query(db, f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY seq")
    ]
    head_rows = _query(db, "SELECT seq, hash FROM chain_head WHERE id = 1")
    head = ChainHead(head_rows[0]["seq"], head_rows[0]["hash"]) if head_rows else None
    problems = check_links(rows, head)
    replayed = replay(rows)
    problems += replayed.problems
    creation_rows = _query(db, "SELECT * FROM creations ORDER BY created_at, id")
    problems += _compare_creations(creation_rows, replayed.states)
    problems += _compare_lineage(db, replayed.states)
    for state in replayed.states.values():
        for parent in state.parents:
            if (parent, state.id) not in replayed.remixed:
                problems.append(
                    Problem(f"has no 'remixed' event for its remix {state.id}", creation_id=parent)
                )
    media_rows = _query(db, "SELECT sha256, kind, ext, size FROM media ORDER BY sha256")
    problems += _check_media(media, media_rows, replayed.states, check_media_content)
    return VerifyReport(
        events=len(rows),
        creations=len(creation_rows),
        deleted=sum(1 for row in creation_rows if row.get("deleted_at") is not None),
        media_files=len(media_rows),
        head_seq=head.seq if head else 0,
        head_hash=head.hash if head else GENESIS_HASH,
        problems=tuple(problems),
    )


def _compare_creations(rows: list[dict[str, Any]], states: dict[str, PieceState]) -> list[Problem]:
    problems = []
    seen = set()
    for row in rows:
        creation_id = row["id"]
        seen.add(creation_id)
        state = states.get(creation_id)
        if state is None:
            problems.append(
                Problem(
                    "has no 'created' event: the row was added, or its id edited, outside the ledger",
                    creation_id=creation_id,
                    column="id",
                )
            )
            continue
        expected = state.to_columns()
        for column, value in row.items():
            if column in expected:
                wanted = expected[column]
                if value != wanted or (
                    type(value) is not type(wanted) and not _numbers(value, wanted)
                ):
                    problems.append(
                        Problem(
                            f"is {_short(value)} but the events say {_short(wanted)}",
                            creation_id=creation_id,
                            column=column,
                        )
                    )
            elif column in HASHED_COLUMNS:
                digest = None if value is None else _digest(value)
                if digest != getattr(state, HASHED_COLUMNS[column]):
                    problems.append(
                        Problem(
                            "does not match the sha256 its 'created' event recorded",
                            creation_id=creation_id,
                            column=column,
                        )
                    )
    for creation_id in states.keys() - seen:
        problems.append(
            Problem(
                "the events describe this piece but its row is missing", creation_id=creation_id
            )
        )
    return problems


def _compare_lineage(db: sqlite_utils.Database, states: dict[str, PieceState]) -> list[Problem]:
    stored: dict[str, list[str]] = defaultdict(list)
    for row in _query(
        db, "SELECT creation_id, parent_id FROM lineage ORDER BY creation_id, position"
    ):
        stored[row["creation_id"]].append(row["parent_id"])
    problems = []
    for creation_id in sorted(stored.keys() | {s.id for s in states.values() if s.parents}):
        state = states.get(creation_id)
        wanted = list(state.parents) if state else []
        if stored.get(creation_id, []) != wanted:
            problems.append(
                Problem(
                    f"lineage lists parents {stored.get(creation_id, [])} but the events say {wanted}",
                    creation_id=creation_id,
                    column="lineage",
                )
            )
    return problems


def _check_media(
    media: MediaStore,
    media_rows: list[dict[str, Any]],
    states: dict[str, PieceState],
    check_content: bool,
) -> list[Problem]:
    problems = []
    stored = {row["sha256"] for row in media_rows}
    for row in media_rows:
        try:
            path = media.path_for(row["sha256"], row["ext"])
        except ValueError:
            problems.append(Problem(f"media row {row['sha256']!r} is not a sha256"))
            continue
        if not path.is_file():
            problems.append(Problem(f"media file {row['sha256']} ({row['kind']}) is missing"))
        elif path.stat().st_size != row["size"]:
            problems.append(Problem(f"media file {row['sha256']} has the wrong size"))
        elif check_content and hashlib.sha256(path.read_bytes()).hexdigest() != row["sha256"]:
            problems.append(Problem(f"media file {row['sha256']} does not hash to its name"))
    live = {d for s in states.values() if s.deleted_at is None for d in s.files.values()}
    for digest in sorted(stored - live):
        problems.append(Problem(f"media row {digest} belongs to no live piece"))
    for state in states.values():
        if state.deleted_at is None and state.media_stored:
            for kind, digest in state.files.items():
                if digest not in stored:
                    problems.append(
                        Problem(
                            f"its {kind} file is not in the media store",
                            creation_id=state.id,
                            column=f"sha256_{kind}",
                        )
                    )
    return problems


def _query(db: sqlite_utils.Database, sql: str) -> list[dict[str, Any]]:
    cursor = db.conn.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _numbers(a: object, b: object) -> bool:
    return isinstance(a, int | float) and isinstance(b, int | float)


def _digest(value: object) -> str:
    return (
        sha256_text(value)
        if isinstance(value, str)
        else hashlib.sha256(repr(value).encode()).hexdigest()
    )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}…"
