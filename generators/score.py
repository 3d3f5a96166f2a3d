"""The Score: a piece of music independent of MIDI, serialisable to JSON and back.

Times are in beats (quarter notes) from the start of the piece, so that tempo changes and remixes
are exact; `Score.seconds(beats)` converts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1


class Role(StrEnum):
    LEAD = "lead"
    COUNTER = "counter"
    CHORDS = "chords"
    PAD = "pad"
    BASS = "bass"
    DRUMS = "drums"
    TEXTURE = "texture"


@dataclass(frozen=True, slots=True, order=True)
class Note:
    start: float  # beats
    duration: float  # beats
    pitch: int  # MIDI note number
    velocity: int  # 1..127

    def __post_init__(self) -> None:
        if not 0 <= self.pitch <= 127:
            raise ValueError(f"pitch must be a MIDI note 0..127, got {self.pitch}")
        if not 1 <= self.velocity <= 127:
            raise ValueError(f"velocity must be 1..127, got {self.velocity}")
        if self.duration <= 0:
            raise ValueError(f"duration must be positive, got {self.duration}")
        if self.start < 0:
            raise ValueError(f"start must not be negative, got {self.start}")

    @property
    def end(self) -> float:
        return self.start + self.duration


@dataclass(frozen=True, slots=True, order=True)
class ControlChange:
    """A MIDI controller value at a time: CC11 expression swells, sustain pedal, ..."""

    time: float  # beats
    controller: int
    value: int

    def __post_init__(self) -> None:
        if not (0 <= self.controller <= 127 and 0 <= self.value <= 127):
            raise ValueError(
                f"controller and value must be 0..127, got {self.controller}={self.value}"
            )


@dataclass(frozen=True, slots=True)
class Effects:
    reverb: float = 0.3  # send level 0..1
    chorus: float = 0.0  # send level 0..1


@dataclass(frozen=True, slots=True)
class Track:
    name: str
    role: Role
    program: int  # General MIDI program, 0-based
    is_drum: bool = False
    pan: float = 0.0  # -1 left .. +1 right
    volume: float = 0.8  # 0..1, the channel volume
    effects: Effects = field(default_factory=Effects)
    notes: tuple[Note, ...] = ()
    controls: tuple[ControlChange, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.program <= 127:
            raise ValueError(f"program must be a GM program 0..127, got {self.program}")
        if not -1.0 <= self.pan <= 1.0:
            raise ValueError(f"pan must be between -1 and 1, got {self.pan}")


@dataclass(frozen=True, slots=True)
class Chord:
    """A chord symbol: root pitch class, quality ("maj7", "m9", "7b9", ...), optional bass."""

    root: int
    quality: str
    bass: int | None = None

    @property
    def symbol(self) -> str:
        from generators.catalog import NOTE_NAMES

        text = NOTE_NAMES[self.root] + _QUALITY_SYMBOLS.get(self.quality, self.quality)
        if self.bass is not None and self.bass != self.root:
            text += "/" + NOTE_NAMES[self.bass]
        return text


_QUALITY_SYMBOLS = {"maj": "", "min": "m"}


@dataclass(frozen=True, slots=True)
class ChordSpan:
    start: float  # beats
    duration: float  # beats
    chord: Chord


@dataclass(frozen=True, slots=True)
class Section:
    name: str  # "intro", "A", "B", "outro", ...
    start_bar: int
    bars: int


@dataclass(frozen=True, slots=True)
class Score:
    title: str
    genre: str
    mood: str
    tonic: int  # pitch class, C = 0
    mode: str
    tempo_bpm: float
    beats_per_bar: int
    duration_s: float  # the exact length of the rendered piece, ring-out included
    seed: int
    swing: float  # where the off-beat 16th (or 8th for jazz) falls, 0.5 = straight
    sections: tuple[Section, ...]
    chords: tuple[ChordSpan, ...]
    tracks: tuple[Track, ...]
    request_text: str = ""
    colour: str = ""  # mastering colour, normally the genre
    variant: str = ""  # the genre's variant ("trap", "ballad") when it has them

    @property
    def key_name(self) -> str:
        from generators.catalog import NOTE_NAMES

        return f"{NOTE_NAMES[self.tonic]} {self.mode}"

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.tempo_bpm

    def seconds(self, beats: float) -> float:
        return beats * 60.0 / self.tempo_bpm

    @property
    def total_bars(self) -> int:
        return sum(section.bars for section in self.sections)

    def track(self, role: Role) -> Track | None:
        return next((t for t in self.tracks if t.role == role), None)

    def with_tracks(self, tracks: tuple[Track, ...]) -> Score:
        return replace(self, tracks=tracks)

    # JSON ----------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["schema"] = SCHEMA_VERSION
        for track in data["tracks"]:
            # Notes as compact rows [start, duration, pitch, velocity]: a 5 min piece stays small.
            track["notes"] = [
                [n["start"], n["duration"], n["pitch"], n["velocity"]] for n in track["notes"]
            ]
            track["controls"] = [
                [c["time"], c["controller"], c["value"]] for c in track["controls"]
            ]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Score:
        schema = data.get("schema", SCHEMA_VERSION)
        if schema != SCHEMA_VERSION:
            raise ValueError(
                f"score schema {schema} is not supported; this version reads {SCHEMA_VERSION}"
            )
        fields = {k: v for k, v in data.items() if k != "schema"}
        fields["sections"] = tuple(Section(**s) for s in data["sections"])
        fields["chords"] = tuple(
            ChordSpan(c["start"], c["duration"], Chord(**c["chord"])) for c in data["chords"]
        )
        fields["tracks"] = tuple(
            Track(
                name=t["name"],
                role=Role(t["role"]),
                program=t["program"],
                is_drum=t["is_drum"],
                pan=t["pan"],
                volume=t["volume"],
                effects=Effects(**t["effects"]),
                notes=tuple(Note(*row) for row in t["notes"]),
                controls=tuple(ControlChange(*row) for row in t.get("controls", ())),
            )
            for t in data["tracks"]
        )
        return cls(**fields)

    @classmethod
    def from_json(cls, text: str) -> Score:
        return cls.from_dict(json.loads(text))
