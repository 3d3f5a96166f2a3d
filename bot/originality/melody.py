"""A piece's melody as one line of notes: the lead (or the most melodic track), highest note on top.

Three sources give the same `Melody`: a `Score` (beats), a music21 stream (quarter lengths) and
the tokens of music21's ABC reader (quarter lengths; ~25 times faster than building streams, which
is what makes indexing thousands of folk tunes at set-up affordable).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from generators.score import Role, Score, Track

if TYPE_CHECKING:
    from music21 import stream

# Notes starting this close together (beats) sound as one onset: humanised chord notes in a
# generated lead are a few hundredths of a beat apart; the fastest real notes, 32nds, an eighth.
_SAME_ONSET = 1 / 24
# A note followed within an eighth of a beat by the next one, and that much closer than the notes
# around it, is an ornament (grace note, flam), not a note of the tune; a pickup or a swung 16th
# is never that short. Tempo-invariance therefore holds for note values of an eighth of a beat
# and up, which covers 32nds copied at half their value.
_GRACE_BEATS = 1 / 8
_GRACE_RATIO = 0.15
_MIN_NOTES_FOR_A_TRACK = 4


@dataclass(frozen=True, slots=True)
class SoundingNote:
    """One note of any source, before the melody is drawn from it."""

    onset: float  # beats (quarter notes)
    duration: float  # beats
    pitch: int  # MIDI
    bar: int  # 1-based bar number, for reporting where a match is


@dataclass(frozen=True, slots=True)
class Melody:
    """A monophonic line: one pitch per onset, onsets strictly increasing, in beats.

    Onsets are as written or played (humanised timing included); the fingerprint quantises."""

    onsets: tuple[float, ...]
    pitches: tuple[int, ...]
    bars: tuple[int, ...]

    def __post_init__(self) -> None:
        if not len(self.onsets) == len(self.pitches) == len(self.bars):
            raise ValueError(
                "a melody needs one onset, pitch and bar per note, got"
                f" {len(self.onsets)}, {len(self.pitches)} and {len(self.bars)}"
            )
        if any(b <= a for a, b in zip(self.onsets, self.onsets[1:], strict=False)):
            raise ValueError("melody onsets must be strictly increasing")

    def __len__(self) -> int:
        return len(self.onsets)


def melody_of(score: Score) -> Melody:
    """The melody of a piece: its LEAD track, else its most melodic pitched track, as a skyline."""
    track = score.track(Role.LEAD)
    if track is None or not track.notes:
        track = _most_melodic(score.tracks)
    if track is None:
        return Melody((), (), ())
    bar_beats = float(score.beats_per_bar)
    return skyline(
        SoundingNote(n.start, n.duration, n.pitch, int(n.start // bar_beats) + 1)
        for n in track.notes
    )


def melody_from_stream(source: stream.Stream) -> Melody:
    """The melody of a music21 score, part or opus entry: its first part, as a skyline."""
    from music21 import stream as m21_stream

    part: m21_stream.Stream = source
    if isinstance(source, m21_stream.Score) and source.parts:
        part = source.parts[0]
    flat = part.flatten()
    notes: list[SoundingNote] = []
    for element in flat.notes:
        if element.duration.isGrace or element.quarterLength <= 0:
            continue
        if element.tie is not None and element.tie.type in ("stop", "continue"):
            continue  # a tied continuation is not a new onset
        pitches = [p.midi for p in element.pitches]
        if not pitches:
            continue
        bar = element.measureNumber or 0
        notes.append(
            SoundingNote(
                float(element.getOffsetBySite(flat)),
                float(element.quarterLength),
                max(pitches),
                int(bar),
            )
        )
    return skyline(notes)


def melody_from_abc_tokens(tokens: Sequence[Any]) -> Melody:
    """The melody of one ABC tune from music21's `ABCHandler` tokens (already `process`ed).

    Mirrors what music21's own translator does for notes, chords, tuplets, ties and grace notes,
    without building a stream.
    """
    from music21 import abcFormat

    notes: list[SoundingNote] = []
    time = 0.0
    bar_length: float | None = None  # quarter notes, from the first meter
    first_barline: float | None = None
    for token in tokens:
        if isinstance(token, abcFormat.ABCMetadata):
            if token.isMeter() and bar_length is None:
                meter = token.getTimeSignatureObject()
                bar_length = float(meter.barDuration.quarterLength) if meter else None
            continue
        if isinstance(token, abcFormat.ABCBar):
            if first_barline is None and time > 0:
                first_barline = time
            continue
        if not isinstance(token, abcFormat.ABCNote) or token.inGrace:
            continue
        length = float(token.quarterLength)
        if token.activeTuplet is not None:
            length *= float(token.activeTuplet.tupletMultiplier())
        if length <= 0:
            continue
        pitch: int | None = None
        if isinstance(token, abcFormat.ABCChord):
            names = [
                sub.pitchName
                for sub in token.subTokens
                if isinstance(sub, abcFormat.ABCNote) and sub.pitchName
            ]
            pitch = max((_midi(name) for name in names), default=None)
        elif not token.isRest and token.pitchName:
            pitch = _midi(token.pitchName)
        if pitch is not None:
            tied_on = token.tie in ("stop", "continue") and notes and notes[-1].pitch == pitch
            if tied_on:
                last = notes[-1]
                notes[-1] = SoundingNote(last.onset, last.duration + length, last.pitch, last.bar)
            else:
                notes.append(SoundingNote(time, length, pitch, 0))
        time += length
    return skyline(_number_bars(notes, bar_length, first_barline))


def _number_bars(
    notes: list[SoundingNote], bar_length: float | None, first_barline: float | None
) -> list[SoundingNote]:
    """Bar numbers from time and meter (ABC books often leave the barline at a line end out);
    an upbeat shorter than a bar is bar 0, as music21 numbers it."""
    if not bar_length:
        bar_length = first_barline or 4.0
    upbeat = first_barline if first_barline and first_barline < bar_length - 1e-6 else 0.0
    return [replace(n, bar=int((n.onset - upbeat + 1e-6) // bar_length) + 1) for n in notes]


def skyline(notes: Iterable[SoundingNote]) -> Melody:
    """One note per onset, the highest, with ornaments dropped."""
    ordered = sorted(notes, key=lambda n: (n.onset, -n.pitch))
    onsets: list[float] = []
    pitches: list[int] = []
    bars: list[int] = []
    for note in ordered:
        if onsets and note.onset - onsets[-1] < _SAME_ONSET:
            pitches[-1] = max(pitches[-1], note.pitch)
            continue
        onsets.append(note.onset)
        pitches.append(note.pitch)
        bars.append(note.bar)
    keep = _not_ornaments(onsets)
    return Melody(
        tuple(onsets[i] for i in keep),
        tuple(pitches[i] for i in keep),
        tuple(bars[i] for i in keep),
    )


def _not_ornaments(onsets: Sequence[float]) -> list[int]:
    """Indices of the onsets that are notes of the tune rather than grace notes before the next."""
    gaps = [b - a for a, b in itertools.pairwise(onsets)]
    keep = []
    for i in range(len(onsets)):
        before = gaps[i - 1] if i > 0 else None
        after = gaps[i + 1] if i + 1 < len(gaps) else None
        neighbours = [gap for gap in (before, after) if gap is not None]
        if (
            i < len(gaps)
            and gaps[i] < _GRACE_BEATS
            and neighbours
            and gaps[i] < _GRACE_RATIO * min(neighbours)
        ):
            continue
        keep.append(i)
    return keep


def _most_melodic(tracks: Sequence[Track]) -> Track | None:
    """The pitched track that most sounds like a tune: many single-note onsets, up high, and a
    role that carries tunes (an Alberti accompaniment has more notes than the melody above it)."""
    best: tuple[float, Track] | None = None
    for track in tracks:
        if track.is_drum or len(track.notes) < _MIN_NOTES_FOR_A_TRACK:
            continue
        by_onset: dict[float, int] = {}
        for note in track.notes:
            key = round(note.start * 8) / 8
            by_onset[key] = by_onset.get(key, 0) + 1
        single = sum(1 for count in by_onset.values() if count == 1)
        register = statistics.fmean(n.pitch for n in track.notes)
        weight = single * 2 ** ((register - 60) / 6) * _ROLE_WEIGHT.get(track.role, 1.0)
        if best is None or weight > best[0]:
            best = (weight, track)
    return best[1] if best else None


_ROLE_WEIGHT = {Role.COUNTER: 2.0, Role.CHORDS: 0.5, Role.PAD: 0.5, Role.BASS: 0.25}
_PITCH_CLASSES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def _midi(name: str) -> int:
    """MIDI number of a music21 pitch name such as 'C5', 'B-4', 'F##3'."""
    letter = name[0].upper()
    i = 1
    alter = 0
    while i < len(name) and name[i] in "#-~`n":
        alter += {"#": 1, "-": -1}.get(name[i], 0)
        i += 1
    octave = int(name[i:]) if i < len(name) else 4
    return max(0, min(127, 12 * (octave + 1) + _PITCH_CLASSES[letter] + alter))
