"""Scales, chord qualities and roman-numeral progressions."""

from __future__ import annotations

import re
from collections.abc import Sequence

from generators.catalog import MODES
from generators.score import Chord

# Intervals above the root, in the order a voicing would stack them.
CHORD_QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dim": (0, 3, 6),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "5": (0, 7),
    "add9": (0, 4, 7, 14),
    "madd9": (0, 3, 7, 14),
    "6": (0, 4, 7, 9),
    "m6": (0, 3, 7, 9),
    "69": (0, 4, 7, 9, 14),
    "maj7": (0, 4, 7, 11),
    "maj9": (0, 4, 7, 11, 14),
    "maj7#11": (0, 4, 7, 11, 18),
    "m7": (0, 3, 7, 10),
    "m9": (0, 3, 7, 10, 14),
    "m11": (0, 3, 7, 10, 14, 17),
    "mmaj7": (0, 3, 7, 11),
    "7": (0, 4, 7, 10),
    "9": (0, 4, 7, 10, 14),
    "13": (0, 4, 7, 10, 14, 21),
    "7b9": (0, 4, 7, 10, 13),
    "7#9": (0, 4, 7, 10, 15),
    "7sus4": (0, 5, 7, 10),
    "9sus4": (0, 5, 7, 10, 14),
    "m7b5": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
}


def chord_intervals(quality: str) -> tuple[int, ...]:
    try:
        return CHORD_QUALITIES[quality]
    except KeyError:
        raise ValueError(
            f"unknown chord quality {quality!r}; known: {', '.join(CHORD_QUALITIES)}"
        ) from None


def chord_pitch_classes(chord: Chord) -> tuple[int, ...]:
    return tuple((chord.root + i) % 12 for i in chord_intervals(chord.quality))


def chord_core(chord: Chord) -> tuple[int, ...]:
    """Root, third (or sus), fifth and seventh: the tones a melody can land on anywhere."""
    return tuple((chord.root + i) % 12 for i in chord_intervals(chord.quality) if i < 12)


def guide_tones(chord: Chord) -> tuple[int, int]:
    """The 3rd and 7th (6th when there is no 7th) as pitch classes: what defines the chord."""
    ints = chord_intervals(chord.quality)
    third = next((i for i in ints if i in (3, 4, 2, 5)), 4)
    seventh = next((i for i in ints if i in (10, 11, 9)), 7)
    return ((chord.root + third) % 12, (chord.root + seventh) % 12)


def tensions(chord: Chord) -> tuple[int, ...]:
    """Colour tones above the seventh (9, 11, 13) as pitch classes."""
    return tuple((chord.root + i) % 12 for i in chord_intervals(chord.quality) if i >= 12)


def scale_pitch_classes(tonic: int, mode: str) -> tuple[int, ...]:
    return tuple((tonic + step) % 12 for step in MODES[mode])


def pentatonic(tonic: int, mode: str) -> tuple[int, ...]:
    """The pentatonic inside the mode: major pentatonic for bright modes, minor for dark ones."""
    steps = MODES[mode]
    if steps[2] == 4:  # major third: major, lydian, mixolydian
        return tuple((tonic + s) % 12 for s in (0, 2, 4, 7, 9))
    return tuple((tonic + s) % 12 for s in (0, 3, 5, 7, 10))


_ROMAN = {"i": 0, "ii": 2, "iii": 4, "iv": 5, "v": 7, "vi": 9, "vii": 11}
_NUMERAL = re.compile(
    r"^(?P<acc>[b#]?)(?P<rn>[ivIV]+)(?::(?P<q>[^/]+))?(?:/(?P<bass>[b#]?[ivIV]+))?$"
)


def _degree(acc: str, numeral: str) -> int:
    try:
        base = _ROMAN[numeral.lower()]
    except KeyError:
        raise ValueError(f"not a roman numeral: {numeral!r}") from None
    return (base + {"b": -1, "#": 1, "": 0}[acc]) % 12


def parse_numeral(token: str, tonic: int) -> Chord:
    """`"ii:m9"`, `"bVII:maj7"`, `"V:7b9"`, `"I:maj7/iii"` → a Chord in the key of `tonic`.

    Degrees count semitones from the tonic as in the major scale, with b/# for the borrowed ones;
    the quality after the colon is explicit (default: major for upper case, minor for lower).
    """
    match = _NUMERAL.match(token)
    if match is None:
        raise ValueError(f"not a chord numeral: {token!r} (write e.g. 'ii:m7', 'bVII:maj7')")
    numeral = match["rn"]
    quality = match["q"] or ("maj" if numeral.isupper() else "min")
    chord_intervals(quality)
    root = (tonic + _degree(match["acc"], numeral)) % 12
    bass = None
    if match["bass"]:
        bass_match = re.match(r"([b#]?)([ivIV]+)", match["bass"])
        assert bass_match is not None
        bass = (tonic + _degree(bass_match[1], bass_match[2])) % 12
    return Chord(root=root, quality=quality, bass=bass)


def parse_progression(text: str, tonic: int) -> tuple[Chord, ...]:
    return tuple(parse_numeral(token, tonic) for token in text.split())


def nearest_pitch(
    target: float, pitch_classes: Sequence[int], low: int = 0, high: int = 127
) -> int:
    """The pitch with one of `pitch_classes` closest to `target`, inside [low, high]."""
    best = None
    best_distance = 1e9
    centre = round(target)
    for candidate in range(max(low, centre - 12), min(high, centre + 12) + 1):
        if candidate % 12 in pitch_classes:
            distance = abs(candidate - target)
            if distance < best_distance:
                best, best_distance = candidate, distance
    if best is None:
        # Nothing of those classes within an octave of the target: take the nearest in range.
        candidates = [p for p in range(low, high + 1) if p % 12 in pitch_classes]
        if not candidates:
            raise ValueError(f"no pitch of classes {tuple(pitch_classes)} between {low} and {high}")
        best = min(candidates, key=lambda p: abs(p - target))
    return best


def pitches_in_range(pitch_classes: Sequence[int], low: int, high: int) -> list[int]:
    return [p for p in range(low, high + 1) if p % 12 in pitch_classes]
