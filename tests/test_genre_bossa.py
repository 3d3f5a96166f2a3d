"""Bossa nova, measured on the MIDI: root–fifth bass, the syncopated guitar, soft straight 8ths."""

from __future__ import annotations

import io

import pretty_midi
import pytest

from generators.compose import compose
from generators.compose.theory import chord_intervals
from generators.midi import midi_bytes
from generators.quality import check_score
from generators.request import CompositionRequest
from generators.score import Role, Score

SEEDS = range(5)


def _score(seed: int, seconds: float = 40.0, **kwargs: object) -> Score:
    return compose(CompositionRequest("bossa", seconds, **kwargs), seed)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", SEEDS)
def test_bass_alternates_root_and_fifth(seed: int) -> None:
    score = _score(seed)
    bass = score.track(Role.BASS)
    assert bass is not None and bass.program == 32
    final = score.chords[-1].start
    body = sorted((n for n in bass.notes if n.start < final - 0.1), key=lambda n: n.start)
    assert len(body) >= 8

    def chord_at(beat: float):  # type: ignore[no-untyped-def]
        return next(s.chord for s in reversed(score.chords) if s.start <= beat + 0.1)

    for index, note in enumerate(body):
        chord = chord_at(note.start)
        fifth = next((i for i in chord_intervals(chord.quality) if i in (6, 7, 8)), 7)
        expected = chord.root if index % 2 == 0 else (chord.root + fifth) % 12
        assert note.pitch % 12 == expected, f"note {index} at beat {note.start:.2f}"


@pytest.mark.parametrize("seed", SEEDS)
def test_guitar_comps_on_the_syncopated_figure_with_straight_eighths(seed: int) -> None:
    score = _score(seed)
    guitar = score.track(Role.CHORDS)
    assert guitar is not None and guitar.program == 24
    onsets = sorted({round(n.start * 2) / 2 for n in guitar.notes})
    off_beats = [o for o in onsets if o % 1 == 0.5]
    assert len(off_beats) >= len(onsets) // 3  # syncopation: many chords on the "and"
    midi = pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(score)))
    beats_per_second = midi.get_tempo_changes()[1][0] / 60
    positions = [
        (n.start * beats_per_second) % 1
        for i in midi.instruments
        if i.program == 24
        for n in i.notes
    ]
    swung = [p for p in positions if 0.55 < p < 0.75]
    assert len(swung) < len(positions) * 0.05  # straight, not swung


@pytest.mark.parametrize("seed", SEEDS)
def test_tempo_instruments_drums_and_quality(seed: int) -> None:
    score = _score(seed, 30.0)
    assert 120 <= score.tempo_bpm <= 145
    assert check_score(score).passed
    drums = score.track(Role.DRUMS)
    assert drums is not None
    assert any(n.pitch == 37 for n in drums.notes)  # cross-stick
    assert any(n.pitch == 70 for n in drums.notes)  # shaker
    assert max(n.velocity for n in drums.notes) < 100  # soft
    lead = score.track(Role.LEAD)
    assert lead is not None and lead.program in (73, 65, 66)
    assert score.chords[-1].chord.quality in ("maj7", "69", "maj9", "m9")


@pytest.mark.parametrize("seconds", [5.0, 30.0, 300.0])
def test_exact_length_and_aaba(seconds: float) -> None:
    score = _score(3, seconds)
    end = max(score.seconds(n.end) for t in score.tracks for n in t.notes)
    assert end <= seconds + 1e-6
    assert check_score(score).passed
    if seconds >= 60:
        names = [s.name for s in score.sections]
        assert names.count("A") >= 3 and "B" in names


def test_minor_mood_uses_minor_harmony() -> None:
    score = _score(2, 30.0, mood="sad", mode="minor")
    qualities = {span.chord.quality for span in score.chords}
    assert qualities & {"m7", "m6", "m9", "m7b5"}
