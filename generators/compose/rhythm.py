"""Grids, swing, humanisation and drum patterns."""

from __future__ import annotations

import random
from dataclasses import dataclass

from generators.score import Note

# General MIDI percussion keys.
KICK = 36
SIDE_STICK = 37
SNARE = 38
CLAP = 39
SNARE_2 = 40
LOW_TOM = 45
MID_TOM = 47
HIGH_TOM = 50
CLOSED_HAT = 42
PEDAL_HAT = 44
OPEN_HAT = 46
CRASH = 49
RIDE = 51
RIDE_BELL = 53
SHAKER = 70


def grid_time(step: int, steps_per_beat: int, swing: float) -> float:
    """Beat position of a grid step with swing applied to every second step.

    `swing` is where the off-beat of each pair falls within the pair: 0.5 is straight, 0.58 a lazy
    16th swing, 0.667 a triplet feel.
    """
    pair_length = 2.0 / steps_per_beat
    pair, within = divmod(step, 2)
    return pair * pair_length + (swing * pair_length if within else 0.0)


@dataclass(frozen=True, slots=True)
class Feel:
    """How a genre places notes against the grid."""

    swing: float = 0.5
    steps_per_beat: int = 4  # the grid the swing applies to: 4 = 16ths, 2 = 8ths
    timing_sd_ms: float = 6.0  # humanising jitter; 0 for machine-tight genres
    lay_back_ms: float = 0.0  # a constant lateness ("lazy" lofi snare)
    velocity_sd: float = 5.0

    def place(self, step: int) -> float:
        return grid_time(step, self.steps_per_beat, self.swing)


def humanise(
    note: Note,
    feel: Feel,
    rng: random.Random,
    tempo_bpm: float,
    lay_back: bool = False,
    velocity_scale: float = 1.0,
) -> Note:
    """Tiny timing offsets and velocity wobble; the note never moves before the piece starts."""
    beats_per_ms = tempo_bpm / 60_000.0
    offset_ms = rng.gauss(0.0, feel.timing_sd_ms) if feel.timing_sd_ms else 0.0
    offset_ms = max(-2.5 * feel.timing_sd_ms, min(2.5 * feel.timing_sd_ms, offset_ms))
    if lay_back:
        offset_ms += feel.lay_back_ms
    start = max(0.0, note.start + offset_ms * beats_per_ms)
    velocity = note.velocity * velocity_scale + (
        rng.gauss(0.0, feel.velocity_sd) if feel.velocity_sd else 0
    )
    return Note(start, note.duration, note.pitch, clamp_velocity(velocity))


def clamp_velocity(value: float) -> int:
    return max(1, min(127, round(value)))


@dataclass(frozen=True, slots=True)
class Hit:
    step: int
    key: int  # GM percussion key
    velocity: int
    chance: float = 1.0  # probability the hit is played, for ghost notes and variation


@dataclass(frozen=True, slots=True)
class DrumPattern:
    """One bar of drums on a grid of `steps` steps."""

    hits: tuple[Hit, ...]
    steps: int = 16


def pattern(steps: int = 16, **lanes: str) -> DrumPattern:
    """Build a pattern from drum-machine strings, one character a step.

    `pattern(kick="x......x..x.....", snare="....x.......x...")` — `X` accent, `x` normal, `o` soft,
    `f` feathered, `g` ghost (played half the time), `.` rest. Lane names map to GM keys via `LANES`.
    """
    levels = {
        "X": (118, 1.0),
        "x": (96, 1.0),
        "o": (70, 1.0),
        "-": (52, 1.0),
        "f": (32, 1.0),
        "g": (38, 0.55),
    }
    hits: list[Hit] = []
    for lane, text in lanes.items():
        if len(text) != steps:
            raise ValueError(f"lane {lane!r} has {len(text)} steps, the pattern has {steps}")
        key = LANES[lane]
        for step, char in enumerate(text):
            if char != ".":
                velocity, chance = levels[char]
                hits.append(Hit(step, key, velocity, chance))
    return DrumPattern(tuple(sorted(hits, key=lambda h: (h.step, h.key))), steps)


LANES = {
    "kick": KICK,
    "snare": SNARE,
    "rim": SIDE_STICK,
    "clap": CLAP,
    "hat": CLOSED_HAT,
    "pedal": PEDAL_HAT,
    "open": OPEN_HAT,
    "ride": RIDE,
    "bell": RIDE_BELL,
    "crash": CRASH,
    "shaker": SHAKER,
    "low_tom": LOW_TOM,
    "mid_tom": MID_TOM,
    "high_tom": HIGH_TOM,
    "brush": SNARE_2,
}


def play_pattern(
    drum_pattern: DrumPattern,
    bar_start: float,
    beats_per_bar: int,
    feel: Feel,
    rng: random.Random,
    tempo_bpm: float,
    velocity_scale: float = 1.0,
    lay_back_keys: frozenset[int] = frozenset(),
    keep: frozenset[int] | None = None,
) -> list[Note]:
    """The notes of one bar of a pattern, swung and humanised."""
    steps_per_beat = drum_pattern.steps // beats_per_bar
    notes: list[Note] = []
    for hit in drum_pattern.hits:
        if keep is not None and hit.key not in keep:
            continue
        if hit.chance < 1.0 and rng.random() > hit.chance:
            continue
        start = bar_start + grid_time(hit.step, steps_per_beat, feel.swing)
        raw = Note(start, 0.25, hit.key, clamp_velocity(hit.velocity))
        notes.append(
            humanise(
                raw,
                feel,
                rng,
                tempo_bpm,
                lay_back=hit.key in lay_back_keys,
                velocity_scale=velocity_scale,
            )
        )
    return notes
