"""Moving an accompaniment written over one chord sequence onto another.

Arranger keyboards have done this for forty years: a style's patterns are written once and each
note is re-aimed at the chord being played by what it is *in* its chord (root, third, fifth,
seventh, tension), not by its pitch. A remix uses the same idea: the new genre writes its groove,
voicings and bass figures over its own chords, and every note is moved to the same chord function
in the piece's harmony, by the smallest step.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

from generators.compose.arrangement import ChordTimeline, fit_range
from generators.compose.theory import CHORD_QUALITIES, chord_intervals, scale_pitch_classes
from generators.score import Chord, ChordSpan, Note, Role, Track

# Chord functions by interval above the root (mod 12).
_FUNCTION = {
    0: "root",
    1: "ninth",
    2: "ninth",
    3: "third",
    4: "third",
    5: "fourth",
    6: "fifth",
    7: "fifth",
    8: "fifth",
    9: "sixth",
    10: "seventh",
    11: "seventh",
}
# What a function falls back to when the target chord lacks it.
_FALLBACK = {
    "ninth": ("root",),
    "fourth": ("third", "fifth"),
    "sixth": ("seventh", "fifth"),
    "seventh": ("sixth", "root"),
    "third": ("fourth", "ninth", "root"),
    "fifth": ("root",),
}
_SPLIT_MIN_BEATS = 0.25
_EARLY_BEATS = 0.06  # a note crossing a chord change by less than this is just shortened


def functions_of(chord: Chord) -> dict[str, int]:
    """The chord's tones by function, as pitch classes."""
    tones: dict[str, int] = {}
    for interval in chord_intervals(chord.quality):
        function = _FUNCTION[interval % 12]
        tones.setdefault(function, (chord.root + interval) % 12)
    tones.setdefault("root", chord.root)
    return tones


def retarget_pitch(
    pitch: int, written_over: Chord, target: Chord, scale: Sequence[int], bass: bool = False
) -> int:
    """The pitch that plays the same part in `target` as `pitch` played in `written_over`."""
    if written_over == target:
        return pitch
    shift = ((target.root - written_over.root + 6) % 12) - 6  # the nearest way round
    moved = pitch + shift
    written_root = written_over.bass if written_over.bass is not None else written_over.root
    if bass and (pitch - written_root) % 12 == 0:
        wanted = target.bass if target.bass is not None else target.root
        return _nearest_of(moved, {wanted})
    source = functions_of(written_over)
    interval = (pitch - written_over.root) % 12
    function = _FUNCTION[interval]
    if source.get(function) != pitch % 12:
        # Not a chord tone of what it was written over (a passing or approach note): keep its
        # shape and settle it in the piece's scale.
        return _nearest_of(moved, set(scale) | set(functions_of(target).values()))
    tones = functions_of(target)
    for candidate in (function, *_FALLBACK.get(function, ())):
        if candidate in tones:
            return _nearest_of(moved, {tones[candidate]})
    return _nearest_of(moved, set(tones.values()))


def _nearest_of(pitch: int, classes: set[int]) -> int:
    for distance in range(0, 7):
        for candidate in (pitch - distance, pitch + distance):
            if candidate % 12 in classes and 0 <= candidate <= 127:
                return candidate
    return max(0, min(127, pitch))


def retarget_track(
    track: Track,
    written_over: Sequence[ChordSpan],
    target: Sequence[ChordSpan],
    tonic: int,
    mode: str,
) -> Track:
    """`track`'s notes moved from the harmony they were written over onto `target`.

    A note held across a change of the target harmony is struck again on the new chord, the way
    a player would; drums are returned as they are.
    """
    if track.is_drum or not track.notes:
        return track
    before, after = ChordTimeline(written_over), ChordTimeline(target)
    changes = sorted({span.start for span in target} | {span.start for span in written_over})
    scale = scale_pitch_classes(tonic, mode)
    bass = track.role == Role.BASS
    notes: list[Note] = []
    arrivals = [span.start for span in target]
    onsets = sorted(note.start for note in track.notes)
    for note in track.notes:
        for start, duration in _pieces(note, changes, onsets):
            # Humanised notes land a few milliseconds either side of the beat they belong to.
            probe = start + _EARLY_BEATS
            pitch = retarget_pitch(note.pitch, before(probe), after(probe), scale, bass)
            if bass and _arrives(start, arrivals):
                # Whatever the written line did here, a bass states the new chord's root.
                chord = after(probe)
                pitch = _nearest_of(pitch, {chord.bass if chord.bass is not None else chord.root})
            velocity = note.velocity if start == note.start else max(1, round(note.velocity * 0.85))
            notes.append(Note(start, duration, pitch, velocity))
    return Track(
        track.name,
        track.role,
        track.program,
        track.is_drum,
        track.pan,
        track.volume,
        track.effects,
        tuple(sorted(fit_range(notes, track.program))),
        track.controls,
    )


def _arrives(beat: float, arrivals: Sequence[float]) -> bool:
    index = bisect.bisect_left(arrivals, beat - 0.1)
    return index < len(arrivals) and abs(arrivals[index] - beat) <= 0.1


def _pieces(
    note: Note, changes: Sequence[float], onsets: Sequence[float]
) -> list[tuple[float, float]]:
    """The note cut at every chord change it crosses by a meaningful amount: struck again on
    the new chord, or just ended there when the part plays a note of its own at that point."""
    cuts = [c for c in changes if note.start + _SPLIT_MIN_BEATS < c < note.end - _SPLIT_MIN_BEATS]
    edges = [note.start]
    for cut in cuts:
        edges.append(cut)
        if _arrives(cut, onsets):
            return [(a, b - a) for a, b in itertools.pairwise(edges) if b - a > 1e-6]
    edges.append(note.end)
    return [(a, b - a) for a, b in itertools.pairwise(edges) if b - a > 1e-6]


# Chord colour by genre: the same harmony spoken in the new genre's accent -------------------------

_SEVENTHS = {"maj": "maj7", "min": "m7", "dim": "m7b5", "5": "maj7", "sus4": "7sus4"}
_TRIADS = {
    "maj7": "maj",
    "maj9": "maj",
    "maj7#11": "maj",
    "6": "maj",
    "69": "maj",
    "add9": "maj",
    "7": "maj",
    "9": "maj",
    "13": "maj",
    "7b9": "maj",
    "7#9": "maj",
    "m7": "min",
    "m9": "min",
    "m11": "min",
    "m6": "min",
    "madd9": "min",
    "mmaj7": "min",
    "m7b5": "dim",
    "dim7": "dim",
    "7sus4": "sus4",
    "9sus4": "sus4",
}
_JAZZY = frozenset({"jazz", "lofi", "bossa", "funk"})
_PLAIN = frozenset({"rock", "chiptune", "synthwave", "edm", "hiphop"})


def coloured(chord: Chord, genre: str, tonic: int) -> Chord:
    """`chord` as the genre would voice it: sevenths for the jazz family, triads for rock and
    electronic styles; root and basic quality (major, minor, diminished) never change."""
    quality = chord.quality
    if genre in _JAZZY:
        if quality in _SEVENTHS:
            dominant = (chord.root - tonic) % 12 == 7 and quality == "maj"
            quality = "7" if dominant else _SEVENTHS[quality]
            if quality == "maj7" and chord.quality == "5":
                quality = "7" if (chord.root - tonic) % 12 == 7 else "maj7"
    elif genre in _PLAIN:
        quality = _TRIADS.get(quality, quality)
    return Chord(chord.root, quality, chord.bass) if quality in CHORD_QUALITIES else chord


def coloured_spans(spans: Sequence[ChordSpan], genre: str, tonic: int) -> tuple[ChordSpan, ...]:
    return tuple(
        ChordSpan(span.start, span.duration, coloured(span.chord, genre, tonic)) for span in spans
    )
