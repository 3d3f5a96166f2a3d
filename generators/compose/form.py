"""Form: fitting sections and tempo to the requested length so the piece ends musically on time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from generators.score import Section


@dataclass(frozen=True, slots=True)
class TimePlan:
    """How the requested seconds are spent: body bars, a held final chord, then its ring-out."""

    tempo_bpm: float
    beats_per_bar: int
    body_bars: int  # bars before the final chord
    final_beats: float  # from the final chord's downbeat to its release
    release_s: float  # the final chord's decay and reverb tail, after its release
    duration_s: float

    @property
    def final_start(self) -> float:
        return float(self.body_bars * self.beats_per_bar)

    @property
    def music_beats(self) -> float:
        return self.final_start + self.final_beats


def plan_time(
    duration_s: float,
    beats_per_bar: int,
    tempo_target: float,
    tempo_fixed: bool,
    tempo_range: tuple[float, float],
    release_s: float,
    phrase_bars: int = 4,
) -> TimePlan:
    """Choose tempo and bar count so that the final chord rings out exactly at `duration_s`.

    A tempo the person asked for is kept exactly and the final chord is held longer instead; a
    tempo we chose ourselves is nudged within the genre's range so the body is whole phrases.
    """
    release = min(release_s, max(0.6, 0.22 * duration_s))
    if not tempo_fixed:
        best: tuple[float, int, float, float, float] | None = None
        low, high = tempo_range
        # A shorter ring-out is allowed when nothing else fits: a 5 s sting still gets a phrase.
        for release_try, release_cost in ((release, 0.0), (max(0.6, release * 0.6), 0.2)):
            available = duration_s - release_try
            # The final chord may be held a beat or two past its bar (a fermata): that frees the
            # tempo to follow the seed and mood instead of snapping to one value per length.
            holds = (
                (float(beats_per_bar), 0.0),
                (beats_per_bar + 1.0, 0.015),
                (beats_per_bar + 2.0, 0.03),
                (beats_per_bar / 2.0, 0.15),
            )
            for final_beats, hold_cost in holds:
                for body_bars in range(0, 400):
                    tempo = (body_bars * beats_per_bar + final_beats) * 60.0 / available
                    if tempo > high:
                        break
                    if tempo < low:
                        continue
                    cost = abs(tempo - tempo_target) / tempo_target + release_cost + hold_cost
                    if body_bars % phrase_bars:
                        cost += 0.06 if body_bars % 2 == 0 else 0.1
                    if body_bars == 0:
                        cost += 0.5
                    if best is None or cost < best[0]:
                        best = (cost, body_bars, final_beats, tempo, release_try)
        if best is not None:
            _, body_bars, final_beats, tempo, release = best
            return TimePlan(tempo, beats_per_bar, body_bars, final_beats, release, duration_s)
    available = duration_s - release
    tempo = tempo_target
    total_beats = available * tempo / 60.0
    min_final = float(beats_per_bar) if total_beats >= 2 * beats_per_bar else min(2.0, total_beats)
    body_bars = max(0, math.floor((total_beats - min_final) / beats_per_bar))
    final_beats = total_beats - body_bars * beats_per_bar
    return TimePlan(tempo, beats_per_bar, body_bars, final_beats, release, duration_s)


def arrange_sections(
    body_bars: int,
    phrase_bars: int,
    labels: Sequence[str],
    intro_bars: int,
    outro_bars: int,
) -> tuple[Section, ...]:
    """Sections for the body: intro, phrases labelled by `labels` (cycled), outro, then "end".

    Leftover bars that do not make a phrase lengthen the intro (or the last phrase), so every bar
    belongs to a section and the piece still lands on the final chord on time.
    """
    if body_bars <= 0:
        return (Section("end", 0, 1),)
    if intro_bars + outro_bars > body_bars // 2:
        intro_bars = outro_bars = 0
    middle = body_bars - intro_bars - outro_bars
    phrases, leftover = divmod(middle, phrase_bars)
    lengths = [phrase_bars] * phrases
    if leftover:
        if leftover >= max(2, phrase_bars // 2) or not lengths:
            lengths.append(leftover)
        elif intro_bars:
            intro_bars += leftover
        else:
            lengths[-1] += leftover
    sections: list[Section] = []
    bar = 0
    if intro_bars:
        sections.append(Section("intro", bar, intro_bars))
        bar += intro_bars
    for index, length in enumerate(lengths):
        sections.append(Section(labels[index % len(labels)], bar, length))
        bar += length
    if outro_bars:
        sections.append(Section("outro", bar, outro_bars))
        bar += outro_bars
    sections.append(Section("end", bar, 1))
    return tuple(sections)


def section_at(sections: Sequence[Section], bar: int) -> Section:
    for section in sections:
        if section.start_bar <= bar < section.start_bar + section.bars:
            return section
    return sections[-1]
