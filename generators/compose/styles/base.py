"""What every genre style provides, and the context it writes a piece in."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

from generators.compose.arrangement import Band
from generators.compose.form import TimePlan
from generators.compose.mood import MoodProfile
from generators.score import ChordSpan, Section, Track


@dataclass(frozen=True, slots=True)
class PieceContext:
    """Everything decided before the notes are written."""

    genre: str
    mood: MoodProfile
    tonic: int
    mode: str
    plan: TimePlan
    sections: tuple[Section, ...]
    band: Band
    seed: int
    variant: str | None = None  # "trap", "ballad", ... when the request named one

    def rng(self, part: str) -> random.Random:
        """An independent random stream per part, so changing the drums does not change the melody."""
        return random.Random(f"{self.seed}:{self.genre}:{part}")


@dataclass(frozen=True, slots=True)
class Written:
    chords: tuple[ChordSpan, ...]
    tracks: tuple[Track, ...]
    swing: float


class Style(Protocol):
    @property
    def genre(self) -> str: ...

    @property
    def beats_per_bar(self) -> int: ...

    @property
    def release_s(self) -> float:
        """Ring-out of the final chord."""
        ...

    @property
    def phrase_bars(self) -> int: ...

    @property
    def default_moods(self) -> tuple[str, ...]: ...

    @property
    def modes(self) -> tuple[str, ...]:
        """Modes this style writes well in."""
        ...

    @property
    def keys(self) -> tuple[int, ...]:
        """Tonics it picks from when none was asked for."""
        ...

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        """The variant to write: the one asked for, else one that suits the mood (or None)."""
        ...

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]: ...

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band: ...

    def sections(
        self, plan: TimePlan, variant: str | None, rng: random.Random
    ) -> tuple[Section, ...]: ...

    def write(self, ctx: PieceContext) -> Written: ...
