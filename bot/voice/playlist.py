"""A guild's play queue: what plays now, what comes next, and how it loops.

Pure and single-threaded: the audio thread and the event loop share one `Playlist` behind the
lock that `bot.voice.source.QueueSource` holds. Entries are compared by identity, so the same
piece queued twice is two entries.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.ledger import Creation, Owner
from generators.errors import BadRequest

MAX_QUEUE = 100


class LoopMode(enum.StrEnum):
    """`off`: each entry once; `one`: the current entry again and again; `all`: the whole queue
    round and round (an entry that ends goes to the back)."""

    OFF = "off"
    ONE = "one"
    ALL = "all"


class QueueFull(BadRequest):
    """The queue holds `MAX_QUEUE` entries already."""


@dataclass(frozen=True, eq=False, slots=True)
class Track:
    """One entry of the queue: a stored piece and who asked for it."""

    piece_id: str
    title: str
    duration_s: float
    path: Path  # the piece's MP3 in the ledger's media store; never a name from a person
    requested_by: Owner
    radio: bool = False  # composed by the guild's radio

    @classmethod
    def of(
        cls, creation: Creation, path: Path, requested_by: Owner, *, radio: bool = False
    ) -> Track:
        """The queue entry for a stored piece whose MP3 is at `path`."""
        return cls(
            creation.id,
            creation.title or "Untitled",
            creation.duration_s or 0.0,
            path,
            requested_by,
            radio,
        )

    @property
    def label(self) -> str:
        return f"“{self.title}” ({self.piece_id})"


class Playlist:
    """The current entry, the ones after it, and the loop mode."""

    def __init__(self, limit: int = MAX_QUEUE) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.limit = limit
        self.current: Track | None = None
        self.loop = LoopMode.OFF
        self._upcoming: deque[Track] = deque()

    @property
    def upcoming(self) -> tuple[Track, ...]:
        """The entries after the current one, in the order they will play."""
        return tuple(self._upcoming)

    def __len__(self) -> int:
        """Entries in the queue, the current one included."""
        return len(self._upcoming) + (self.current is not None)

    def add(self, tracks: Iterable[Track]) -> int:
        """Append `tracks`; returns the place of the first in line after the current entry
        (1 = next). All or nothing: `QueueFull` if they do not all fit."""
        new = list(tracks)
        if not new:
            raise ValueError("add needs at least one track")
        room = self.limit - len(self)
        if len(new) > room:
            raise QueueFull(
                f"The queue holds at most {self.limit} pieces and has room for {max(room, 0)}"
                " more; /skip some or wait for them to play."
            )
        place = len(self._upcoming) + 1
        self._upcoming.extend(new)
        return place

    def next_track(self) -> Track | None:
        """What `advance()` would make current if the current entry ended by itself."""
        if self.current is not None and self.loop is LoopMode.ONE:
            return self.current
        if self._upcoming:
            return self._upcoming[0]
        if self.current is not None and self.loop is LoopMode.ALL:
            return self.current
        return None

    def advance(self, *, skipped: bool = False, drop: bool = False) -> Track | None:
        """The current entry ended (played out, or `skipped`); make the next one current.

        Looping one repeats the current entry unless it was skipped; looping all sends it to
        the back of the queue either way. A `drop`ped entry (one that cannot be played) leaves
        the queue whatever the loop mode."""
        ended = self.current
        if ended is not None and not drop:
            if self.loop is LoopMode.ONE and not skipped:
                return ended
            if self.loop is LoopMode.ALL:
                self._upcoming.append(ended)
        self.current = self._upcoming.popleft() if self._upcoming else None
        return self.current

    def clear(self) -> int:
        """Empty the queue, the current entry included; returns how many entries were dropped."""
        dropped = len(self)
        self._upcoming.clear()
        self.current = None
        return dropped

    def remove_piece(self, piece_id: str) -> int:
        """Take every upcoming entry of `piece_id` out (a deleted piece); returns how many."""
        kept = [t for t in self._upcoming if t.piece_id != piece_id]
        dropped = len(self._upcoming) - len(kept)
        self._upcoming = deque(kept)
        return dropped
