"""Melody: motifs and their development, realised over the harmony.

A motif is a rhythm on the grid plus a contour in scale steps. Phrases state it, sequence it,
develop it and close on a cadence note, so that a listener hears an idea come back.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from generators.compose.rhythm import Feel, clamp_velocity, grid_time
from generators.compose.theory import chord_core, chord_pitch_classes, nearest_pitch
from generators.score import Chord, Note

Rhythm = tuple[tuple[int, int], ...]  # (grid step, length in steps) within one bar


@dataclass(frozen=True, slots=True)
class Motif:
    rhythm: Rhythm
    steps: tuple[int, ...]  # scale-step movement into each note; the first is from the anchor

    def inverted(self) -> Motif:
        return replace(self, steps=(self.steps[0], *(-s for s in self.steps[1:])))

    def fragment(self, count: int) -> Motif:
        count = max(1, min(count, len(self.rhythm)))
        return Motif(self.rhythm[:count], self.steps[:count])


def make_motif(rng: random.Random, rhythms: Sequence[Rhythm], leap_chance: float = 0.2) -> Motif:
    """A rhythm from the genre's bank and a singable contour: mostly steps, a leap answered by a step back."""
    rhythm = rng.choice(list(rhythms))
    steps: list[int] = [0]
    direction = rng.choice((-1, 1))
    for _ in rhythm[1:]:
        if rng.random() < leap_chance and (not steps or abs(steps[-1]) < 2):
            step = direction * rng.choice((2, 3))
            direction = -direction  # a leap is answered by motion the other way
        else:
            if rng.random() < 0.3:
                direction = -direction
            step = direction * rng.choice((1, 1, 1, 0, 2))
        steps.append(step)
    return Motif(tuple(rhythm), tuple(steps))


@dataclass(frozen=True, slots=True)
class Voice:
    """What a melodic line may do: its range, scale, and how it treats strong beats."""

    low: int
    high: int
    scale: tuple[int, ...]  # pitch classes the line moves through
    steps_per_beat: int  # the grid of its rhythms
    velocity: int
    chord_tone_on_strong: bool = True
    allow_tensions: bool = True
    legato: float = 0.92  # fraction of the grid length a note sounds


ChordAt = Callable[[float], Chord]


def _scale_pitches(voice: Voice) -> list[int]:
    return [p for p in range(voice.low, voice.high + 1) if p % 12 in voice.scale]


def realise(
    motif: Motif,
    bar_start: float,
    beats_per_bar: int,
    anchor: int,
    voice: Voice,
    feel: Feel,
    chord_at: ChordAt,
    rng: random.Random,
    accent: float = 1.0,
) -> tuple[list[Note], int]:
    """Notes for one bar of a motif starting near `anchor`; returns the notes and the last pitch."""
    ladder = _scale_pitches(voice)
    if not ladder:
        raise ValueError(f"no scale notes between {voice.low} and {voice.high}")
    index = min(range(len(ladder)), key=lambda i: abs(ladder[i] - anchor))
    notes: list[Note] = []
    pitch = anchor
    steps_per_bar = beats_per_bar * voice.steps_per_beat
    for (step, length), move in zip(motif.rhythm, motif.steps, strict=True):
        if step >= steps_per_bar:
            continue
        index += move
        if index < 0 or index >= len(ladder):
            index -= 2 * move  # reflect off the edge of the range
            index = max(0, min(len(ladder) - 1, index))
        pitch = ladder[index]
        onset = bar_start + grid_time(step, voice.steps_per_beat, feel.swing)
        end_step = min(step + length, steps_per_bar)
        end = bar_start + grid_time(end_step, voice.steps_per_beat, feel.swing)
        beat_in_bar = step / voice.steps_per_beat
        strong = (
            beat_in_bar == int(beat_in_bar) and int(beat_in_bar) % 2 == 0
        ) or length >= 2 * voice.steps_per_beat
        chord = chord_at(onset)
        if strong and voice.chord_tone_on_strong:
            targets = chord_pitch_classes(chord) if voice.allow_tensions else chord_core(chord)
            targets = tuple(pc for pc in targets if pc in voice.scale) or chord_core(chord)
            pitch = nearest_pitch(pitch, targets, voice.low, voice.high)
            index = min(range(len(ladder)), key=lambda i: abs(ladder[i] - pitch))
        velocity = voice.velocity * accent * (1.08 if beat_in_bar == 0 else 1.0)
        velocity += rng.gauss(0, 4)
        duration = max(0.1, (end - onset) * voice.legato)
        notes.append(Note(onset, duration, pitch, clamp_velocity(velocity)))
    return notes, pitch


def approach_tones(
    notes: list[Note], rng: random.Random, chance: float, low: int, high: int
) -> list[Note]:
    """Turn some short notes just before a longer or on-beat target into chromatic approaches."""
    out = list(notes)
    for i in range(len(out) - 1):
        here, target = out[i], out[i + 1]
        on_beat = abs(target.start - round(target.start)) < 0.02
        if on_beat and here.duration <= 0.7 and rng.random() < chance:
            pitch = target.pitch + rng.choice((-1, 1))
            if low <= pitch <= high:
                out[i] = Note(here.start, here.duration, pitch, here.velocity)
    return out


def cadence_note(
    start: float,
    duration: float,
    previous: int,
    pitch_classes: Sequence[int],
    voice: Voice,
    velocity: int,
) -> Note:
    """A long closing note on one of `pitch_classes` (the tonic for a final cadence), near `previous`."""
    pitch = nearest_pitch(previous, pitch_classes, voice.low, voice.high)
    return Note(start, duration, pitch, clamp_velocity(velocity))
