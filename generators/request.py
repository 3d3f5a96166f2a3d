"""The structured request every front end produces and the composer consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

MIN_DURATION_S = 5.0
MAX_DURATION_S = 300.0


@dataclass(frozen=True, slots=True)
class CompositionRequest:
    """What someone asked for. `None` means "let the genre and mood decide"."""

    genre: str
    duration_s: float = 30.0
    mood: str | None = None
    tonic: int | None = None  # pitch class 0..11, C = 0
    mode: str | None = None  # "major", "minor", "dorian", ...
    tempo_bpm: float | None = None
    instruments: tuple[str, ...] = ()
    without: tuple[str, ...] = field(default=())  # roles or instruments to leave out ("drums")
    text: str = ""  # the words as typed, kept for tags and provenance
    variant: str | None = None  # a genre's variant picked by its alias: "trap", "ballad", ...

    def __post_init__(self) -> None:
        if not MIN_DURATION_S <= self.duration_s <= MAX_DURATION_S:
            raise ValueError(
                f"duration must be between {MIN_DURATION_S:g} s and {MAX_DURATION_S / 60:g} min,"
                f" got {self.duration_s:g} s"
            )
        if self.tonic is not None and not 0 <= self.tonic <= 11:
            raise ValueError(f"tonic must be a pitch class 0..11, got {self.tonic}")
