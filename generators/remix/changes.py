"""What a remix asks for: every change in one frozen value, as the grammar reads it and the
service receives it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from generators.catalog import NOTE_NAMES
from generators.errors import BadRequest

FASTER = 1.15  # "faster": a clear step up that keeps the groove recognisable
SLOWER = 1 / FASTER
MIN_FACTOR, MAX_FACTOR = 0.5, 2.0


@dataclass(frozen=True, slots=True)
class RemixChanges:
    """Changes to make to a stored piece; `None` / empty / False means "keep it as it is".

    Several changes combine; `remix()` applies them in a fixed order (style, key, mood, tempo,
    instruments, melody or harmony, length) whatever order they were typed in.
    """

    genre: str | None = None  # restyle: keep melody and harmony, re-arrange in this genre
    variant: str | None = None  # the genre's variant ("trap", "ballad") when named
    mood: str | None = None
    tonic: int | None = None  # pitch class, C = 0
    mode: str | None = None
    tempo_bpm: float | None = None  # an exact tempo
    tempo_factor: float | None = None  # relative: "faster" 1.15, "slower" 0.87, "double time" 2
    instruments: tuple[str, ...] = ()
    without: tuple[str, ...] = ()
    new_melody: bool = False  # a new melody over the same harmony
    new_harmony: bool = False  # the same melody, reharmonised
    duration_s: float | None = None  # extend to this length with new sections
    text: str = ""  # the words as typed, for provenance

    def __post_init__(self) -> None:
        if self.tonic is not None and not 0 <= self.tonic <= 11:
            raise BadRequest(f"tonic must be a pitch class 0..11, got {self.tonic}")
        if self.tempo_factor is not None and not MIN_FACTOR <= self.tempo_factor <= MAX_FACTOR:
            raise BadRequest(
                f"a tempo change must be between x{MIN_FACTOR:g} and x{MAX_FACTOR:g},"
                f" got x{self.tempo_factor:g}"
            )
        if self.tempo_bpm is not None and self.tempo_factor is not None:
            raise BadRequest("ask for an exact tempo or for faster/slower, not both")
        if self.new_melody and self.new_harmony:
            raise BadRequest(
                "a remix keeps either the melody or the harmony: ask for a new melody or"
                " new chords, not both (for both, compose a new piece)"
            )
        for name in ("tempo_bpm", "tempo_factor", "duration_s"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise BadRequest(f"{name} must be a finite number, got {value}")

    @property
    def empty(self) -> bool:
        return self == RemixChanges(text=self.text)

    def describe(self) -> str:
        """The changes in words: "as jazz, in E minor, faster, with strings"."""
        parts: list[str] = []
        if self.genre:
            parts.append(f"as {self.genre}" + (f" ({self.variant})" if self.variant else ""))
        if self.tonic is not None or self.mode:
            key = " ".join(
                word
                for word in (
                    NOTE_NAMES[self.tonic] if self.tonic is not None else None,
                    self.mode,
                )
                if word
            )
            parts.append(f"in {key}")
        if self.mood:
            parts.append(self.mood)
        if self.tempo_bpm is not None:
            parts.append(f"at {self.tempo_bpm:g} bpm")
        elif self.tempo_factor is not None:
            parts.append("faster" if self.tempo_factor > 1 else "slower")
        if self.instruments:
            parts.append("with " + ", ".join(self.instruments))
        if self.without:
            parts.append("without " + ", ".join(self.without))
        if self.new_melody:
            parts.append("a new melody")
        if self.new_harmony:
            parts.append("new chords")
        if self.duration_s is not None:
            minutes, seconds = divmod(round(self.duration_s), 60)
            parts.append(
                "extended to " + (f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s")
            )
        return ", ".join(parts) or "no changes"

    # JSON (the generator service's body) -------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["instruments"] = list(self.instruments)
        data["without"] = list(self.without)
        return {key: value for key, value in data.items() if value not in (None, False, [], "")}

    @classmethod
    def from_dict(cls, data: object) -> RemixChanges:
        """Read the service's `changes` object; BadRequest names the field that is wrong."""
        if not isinstance(data, dict):
            raise BadRequest('changes must be an object such as {"genre": "jazz"}')
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise BadRequest(
                f"unknown change {unknown[0]!r}; changes are: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {}
        for name, value in data.items():
            kind = known[name].type
            if name in ("instruments", "without"):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise BadRequest(f"changes.{name} must be a list of names")
                values[name] = tuple(value)
            elif name in ("new_melody", "new_harmony"):
                if not isinstance(value, bool):
                    raise BadRequest(f"changes.{name} must be true or false")
                values[name] = value
            elif name == "tonic":
                if not isinstance(value, int) or isinstance(value, bool):
                    raise BadRequest("changes.tonic must be a pitch class 0..11")
                values[name] = value
            elif "float" in str(kind):
                if not isinstance(value, int | float) or isinstance(value, bool):
                    raise BadRequest(f"changes.{name} must be a number")
                values[name] = float(value)
            else:
                if not isinstance(value, str):
                    raise BadRequest(f"changes.{name} must be text")
                values[name] = value
        return cls(**values)
