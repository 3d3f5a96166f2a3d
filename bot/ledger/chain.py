"""The event log's hash chain: canonical encoding, hashing and the link checks.

Each event's hash covers the previous event's hash and every other column of its row, in a
canonical JSON encoding, so editing any byte of any row, removing a row or swapping two rows
breaks the chain at that row. The head (last seq and hash) is kept in a one-row table written in
the same transaction, so a cut-off tail shows too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

GENESIS_HASH = "0" * 64
_DOMAIN = "tunesmith-ledger-event-v1"


class EventKind(StrEnum):
    """What happened to a piece. `transfer_withdrawn`: the owner took back a pending offer."""

    CREATED = "created"
    REMIXED = "remixed"  # on a parent, when a remix of it is created
    RENAMED = "renamed"
    LICENCE_CHANGED = "licence_changed"
    TRANSFER_OFFERED = "transfer_offered"
    TRANSFER_ACCEPTED = "transfer_accepted"
    TRANSFER_DECLINED = "transfer_declined"
    TRANSFER_WITHDRAWN = "transfer_withdrawn"
    DELETED = "deleted"


EVENT_COLUMNS = (
    "seq",
    "at",
    "creation_id",
    "kind",
    "actor_platform",
    "actor_id",
    "payload",
    "prev_hash",
    "hash",
)


def canonical_json(value: Any) -> str:
    """The one JSON text for a value: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class EventRow:
    """One row of the `events` table, exactly as stored (values are not validated here)."""

    seq: Any
    at: Any
    creation_id: Any
    kind: Any
    actor_platform: Any
    actor_id: Any
    payload: Any
    prev_hash: Any
    hash: Any

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> EventRow:
        return cls(*(row[column] for column in EVENT_COLUMNS))

    def computed_hash(self) -> str:
        """The hash this row should carry given its other columns."""
        return event_hash(
            self.prev_hash,
            self.seq,
            self.at,
            self.creation_id,
            self.kind,
            self.actor_platform,
            self.actor_id,
            self.payload,
        )


def event_hash(
    prev_hash: Any,
    seq: Any,
    at: Any,
    creation_id: Any,
    kind: Any,
    actor_platform: Any,
    actor_id: Any,
    payload: Any,
) -> str:
    """sha256 over the previous hash and every other column, canonically encoded.

    The stored values are hashed as they are (an integer seq stored as text hashes differently),
    so a change of type is caught as well as a change of value.
    """
    encoded = canonical_json(
        [_DOMAIN, prev_hash, seq, at, creation_id, kind, actor_platform, actor_id, payload]
    )
    return sha256_text(encoded)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing `verify()` found wrong, naming the event (seq) or the piece and column."""

    message: str
    seq: int | None = None
    creation_id: str | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = []
        if self.seq is not None:
            where.append(f"event {self.seq}")
        if self.creation_id is not None:
            where.append(f"piece {self.creation_id}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where) or 'ledger'}: {self.message}"


@dataclass(frozen=True, slots=True)
class ChainHead:
    seq: int
    hash: str


def check_links(rows: Iterable[EventRow], head: ChainHead | None) -> list[Problem]:
    """Problems in the chain itself: edited rows, gaps, broken links, a head that does not match.

    `rows` must come ordered by seq.
    """
    problems: list[Problem] = []
    expected_seq = 1
    previous_hash = GENESIS_HASH
    last: EventRow | None = None
    for row in rows:
        seq = row.seq
        if not isinstance(seq, int):
            problems.append(Problem(f"seq is {seq!r}, not a whole number (edited)", seq=None))
        elif seq != expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
            problems.append(
                Problem(
                    f"comes after event {expected_seq - 1}: event {missing} is missing "
                    "(removed rows, or an edited seq)",
                    seq=seq,
                )
            )
        if row.prev_hash != previous_hash:
            problems.append(
                Problem(
                    "prev_hash does not link to the event before it "
                    "(a row before it was removed, reordered or edited)",
                    seq=_seq(seq),
                )
            )
        if row.hash != row.computed_hash():
            problems.append(
                Problem(
                    "hash does not match the row's contents (the row was edited)", seq=_seq(seq)
                )
            )
        previous_hash = row.hash
        expected_seq = (seq if isinstance(seq, int) else expected_seq) + 1
        last = row
    if head is None:
        if last is not None:
            problems.append(Problem("the chain head record is missing"))
    else:
        last_seq = last.seq if last is not None else 0
        last_hash = last.hash if last is not None else GENESIS_HASH
        if head.seq != last_seq:
            problems.append(
                Problem(
                    f"the chain head says the last event is {head.seq}, but the log ends at "
                    f"{last_seq} (events were cut off or added outside the ledger)",
                    seq=head.seq,
                )
            )
        elif head.hash != last_hash:
            problems.append(
                Problem(
                    "the chain head hash does not match the last event (its hash was edited)",
                    seq=head.seq,
                )
            )
    return problems


def _seq(value: Any) -> int | None:
    return value if isinstance(value, int) else None
