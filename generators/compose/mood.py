"""Moods shift mode, tempo within the genre's range, register, density and dynamics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class MoodProfile:
    name: str
    modes: tuple[str, ...]  # preferred modes, best first
    tempo_position: float  # where in the genre's tempo range, 0 slowest .. 1 fastest
    register: int  # semitones to shift melodies by
    density: float  # notes-per-bar multiplier, 1 = the genre's norm
    dynamics: float  # velocity multiplier
    reverb: float  # extra reverb send, added to the genre's


MOOD_PROFILES: Mapping[str, MoodProfile] = MappingProxyType(
    {
        "happy": MoodProfile("happy", ("major", "lydian", "mixolydian"), 0.75, 2, 1.15, 1.05, 0.0),
        "sad": MoodProfile("sad", ("minor", "dorian"), 0.2, -2, 0.75, 0.85, 0.05),
        "calm": MoodProfile("calm", ("major", "dorian", "lydian"), 0.3, 0, 0.8, 0.85, 0.05),
        "energetic": MoodProfile(
            "energetic", ("major", "mixolydian", "minor"), 0.92, 1, 1.3, 1.12, -0.05
        ),
        "dark": MoodProfile("dark", ("phrygian", "minor"), 0.45, -5, 0.9, 0.95, 0.05),
        "dreamy": MoodProfile("dreamy", ("lydian", "major"), 0.3, 3, 0.8, 0.85, 0.15),
        "epic": MoodProfile("epic", ("minor", "major"), 0.7, 0, 1.2, 1.1, 0.1),
        "romantic": MoodProfile("romantic", ("major", "minor"), 0.35, 0, 0.9, 0.9, 0.05),
        "mysterious": MoodProfile("mysterious", ("dorian", "phrygian"), 0.4, -2, 0.75, 0.85, 0.1),
        "tense": MoodProfile("tense", ("minor", "phrygian"), 0.65, -1, 1.0, 1.0, 0.0),
    }
)

MINOR_MODES = frozenset({"minor", "dorian", "phrygian"})


def is_minor(mode: str) -> bool:
    return mode in MINOR_MODES
