"""Voicings and voice leading: chords that move by the smallest steps inside an instrument's range."""

from __future__ import annotations

from collections.abc import Sequence

from generators.compose.theory import chord_intervals, guide_tones
from generators.score import Chord


def voicing_classes(chord: Chord, style: str) -> tuple[int, ...]:
    """The pitch classes a voicing uses, bottom-up, for a voicing style.

    close: every chord tone up to four or five notes (the root dropped when a ninth is there, since
    the bass plays it); rootless: jazz A/B voicings 3-5-7-9 / 7-9-3-5 style; shell: 3rd and 7th;
    spread: root and fifth below, colour tones above (pads).
    """
    intervals = chord_intervals(chord.quality)
    root = chord.root
    third, seventh = guide_tones(chord)
    upper = [i for i in intervals if i >= 12]
    if style == "shell":
        return (third, seventh)
    if style == "rootless":
        colour = (root + (upper[0] if upper else 14)) % 12
        fifth_or_13 = (root + (21 if 10 in intervals and 4 in intervals else 7)) % 12
        return (third, fifth_or_13, seventh, colour)
    if style == "spread":
        fifth = next(((root + i) % 12 for i in intervals if i in (6, 7, 8)), (root + 7) % 12)
        rest = [(root + i) % 12 for i in intervals if i not in (0, 6, 7, 8)]
        return (root, fifth, *rest)
    tones = [(root + i) % 12 for i in intervals]
    if upper and len(tones) > 4:
        tones = tones[1:]  # drop the root: the bass has it, the ninth colours
    return tuple(dict.fromkeys(tones))


def _stack(classes: Sequence[int], bottom: int) -> tuple[int, ...]:
    """Stack pitch classes upwards in order, each above the previous, starting at `bottom`'s class."""
    pitches = [bottom]
    for pitch_class in classes[1:]:
        nxt = pitches[-1] + ((pitch_class - pitches[-1]) % 12 or 12)
        pitches.append(nxt)
    return tuple(pitches)


def candidate_voicings(
    classes: Sequence[int], low: int, high: int, spread: bool = False
) -> list[tuple[int, ...]]:
    """Every inversion of `classes`, close (or with the lowest two spread), within [low, high]."""
    out: list[tuple[int, ...]] = []
    n = len(classes)
    orders = (
        [classes] if spread else [tuple(classes[(i + k) % n] for k in range(n)) for i in range(n)]
    )
    for order in orders:
        for bottom in range(low, low + 12):
            if bottom % 12 != order[0]:
                continue
            for octave in (0, 12, 24):
                voicing = _stack(order, bottom + octave)
                if voicing[0] >= low and voicing[-1] <= high:
                    out.append(voicing)
    return out


def movement(a: Sequence[int], b: Sequence[int]) -> float:
    """Total semitones moved from voicing a to voicing b (nearest-note matching when sizes differ)."""
    if len(a) == len(b):
        return float(sum(abs(x - y) for x, y in zip(sorted(a), sorted(b), strict=True)))
    return float(sum(min(abs(x - y) for y in a) for x in b))


def voice_lead(
    chords: Sequence[Chord],
    style: str,
    low: int,
    high: int,
    start_centre: float | None = None,
) -> list[tuple[int, ...]]:
    """Voicings for a chord sequence, each chosen to move least from the previous one.

    The register drifts back towards the centre of the range so long pieces do not creep upwards.
    """
    centre = start_centre if start_centre is not None else (low + high) / 2
    result: list[tuple[int, ...]] = []
    previous: tuple[int, ...] | None = None
    for chord in chords:
        classes = voicing_classes(chord, style)
        candidates = candidate_voicings(classes, low, high, spread=style == "spread")
        if not candidates:
            candidates = candidate_voicings(classes[:3], low, high) or [
                tuple(sorted({low + ((pc - low) % 12) for pc in classes}))
            ]

        def cost(voicing: tuple[int, ...], prev: tuple[int, ...] | None = previous) -> float:
            mean = sum(voicing) / len(voicing)
            drift = abs(mean - centre)
            if prev is None:
                return drift
            return movement(prev, voicing) + 0.35 * drift

        best = min(candidates, key=cost)
        result.append(best)
        previous = best
    return result
