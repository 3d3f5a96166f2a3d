"""Chiptune: what makes it chiptune, measured on the MIDI the composer writes."""

from __future__ import annotations

import io
import itertools
import statistics

import pretty_midi
import pytest

from generators.compose import compose
from generators.midi import midi_bytes
from generators.quality import check_score
from generators.request import CompositionRequest
from generators.score import Role, Score

SEEDS = (0, 1, 2, 3, 4)
TICK = 1e-6


def _midi(score: Score) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(score)))


def _max_polyphony(midi: pretty_midi.PrettyMIDI) -> int:
    """The most notes sounding at once, counting every track, drums included."""
    events = []
    for instrument in midi.instruments:
        for note in instrument.notes:
            events.append((note.start, 1))
            events.append((note.end, -1))
    # A note that ends exactly when another starts has stopped: ends sort first at a tie.
    events.sort(key=lambda e: (round(e[0], 6), e[1]))
    sounding = peak = 0
    for _, change in events:
        sounding += change
        peak = max(peak, sounding)
    return peak


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("mood", [None, "sad", "energetic"])
def test_never_more_than_four_voices_like_the_nes(seed: int, mood: str | None) -> None:
    score = compose(CompositionRequest("chiptune", 30.0, mood=mood), seed)
    midi = _midi(score)
    assert len(midi.instruments) == 4  # two pulses, a triangle, a noise channel
    assert _max_polyphony(midi) <= 4
    for instrument in midi.instruments:  # and each channel plays one note at a time
        notes = sorted(instrument.notes, key=lambda n: n.start)
        assert all(a.end <= b.start + TICK for a, b in itertools.pairwise(notes))


@pytest.mark.parametrize("seed", SEEDS)
def test_chords_are_fast_32nd_arpeggios_not_held(seed: int) -> None:
    score = compose(CompositionRequest("chiptune", 30.0), seed)
    arp = score.track(Role.CHORDS)
    assert arp is not None and arp.program in (80, 81)
    onsets = sorted(n.start for n in arp.notes)
    gaps = [b - a for a, b in itertools.pairwise(onsets)]
    assert statistics.median(gaps) == pytest.approx(0.125)  # a 32nd note
    assert max(n.duration for n in arp.notes) <= 0.125
    # Each chord span is spelled out: at least three different pitches inside every bar.
    for span in score.chords[:-1]:
        pitches = {n.pitch for n in arp.notes if span.start <= n.start < span.start + span.duration}
        assert len(pitches) >= 3


@pytest.mark.parametrize("seed", SEEDS)
def test_machine_tight_grid_and_short_noise_hits(seed: int) -> None:
    score = compose(CompositionRequest("chiptune", 30.0, mood="happy"), seed)
    for track in score.tracks:
        grid = 8 if track.role == Role.CHORDS else 4
        assert all(abs(n.start * grid - round(n.start * grid)) < 1e-9 for n in track.notes), (
            track.name
        )
    drums = score.track(Role.DRUMS)
    assert drums is not None
    body = [n for n in drums.notes if n.start < score.chords[-1].start]
    assert {n.pitch for n in body} >= {42, 38}
    assert max(n.duration for n in body) <= 0.25


@pytest.mark.parametrize("seed", SEEDS)
def test_square_lead_triangle_bass_in_8ths_bright_major_loops(seed: int) -> None:
    score = compose(CompositionRequest("chiptune", 30.0, mood="happy"), seed)
    assert score.mode in ("major", "mixolydian")
    programs = {t.role: t.program for t in score.tracks}
    assert programs[Role.LEAD] == 80 and programs[Role.BASS] in (38, 80)
    degrees = {(span.chord.root - score.tonic) % 12 for span in score.chords}
    assert {0, 5, 7} <= degrees or {0, 10, 5} <= degrees  # I–V–vi–IV or I–bVII–IV
    assert all(span.chord.quality in ("maj", "min") for span in score.chords)
    bass = score.track(Role.BASS)
    assert bass is not None
    body = [n for n in bass.notes if n.start < score.chords[-1].start]
    assert all(abs(n.start * 2 - round(n.start * 2)) < 1e-9 for n in body)
    assert len(body) >= 7 * (score.chords[-1].start // 4)


@pytest.mark.parametrize("seed", SEEDS)
def test_catchy_wide_interval_melody_and_a_loopable_a_b_form(seed: int) -> None:
    score = compose(CompositionRequest("chiptune", 45.0), seed)
    names = [s.name for s in score.sections if s.name in ("A", "B")]
    assert names[:4] == ["A", "B", "A", "B"]
    lead = score.track(Role.LEAD)
    assert lead is not None
    pitches = [n.pitch for n in sorted(lead.notes)]
    leaps = [abs(b - a) for a, b in itertools.pairwise(pitches)]
    assert statistics.mean(leaps) >= 3.0  # leaps of thirds and beyond, not stepwise
    assert max(leaps) >= 7
    # The A tune comes back: the second A starts exactly like the first.
    a_sections = [s for s in score.sections if s.name == "A"]
    first, second = a_sections[0], a_sections[1]

    def bar_tune(bar: int) -> list[tuple[float, int]]:
        return [
            (n.start - bar * 4, n.pitch) for n in lead.notes if bar * 4 <= n.start < bar * 4 + 4
        ]

    assert bar_tune(first.start_bar) == bar_tune(second.start_bar)
    # B sings higher than A.
    b_bars = {s.start_bar + i for s in score.sections if s.name == "B" for i in range(s.bars)}
    a_bars = {s.start_bar + i for s in a_sections for i in range(s.bars)}
    assert statistics.mean(n.pitch for n in lead.notes if int(n.start // 4) in b_bars) > (
        statistics.mean(n.pitch for n in lead.notes if int(n.start // 4) in a_bars)
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_tempo_in_range_quality_passes_and_deterministic(seed: int) -> None:
    request = CompositionRequest("chiptune", 30.0)
    score = compose(request, seed)
    assert 120 <= score.tempo_bpm <= 170
    report = check_score(score)
    assert report.passed, report.failures
    assert midi_bytes(score) == midi_bytes(compose(request, seed))
    assert all(t.effects.reverb == 0.0 for t in score.tracks)  # dry, like the hardware


@pytest.mark.parametrize("seconds", [5.0, 30.0, 300.0])
def test_exact_length_tonic_ending_and_four_voices_at_any_length(seconds: float) -> None:
    for seed in (1, 2) if seconds < 100 else (1,):
        score = compose(CompositionRequest("chiptune", seconds), seed)
        report = check_score(score)
        assert report.passed, report.failures
        end = max(score.seconds(n.end) for t in score.tracks for n in t.notes)
        assert seconds - 3.1 <= end <= seconds + 1e-6
        lead = score.track(Role.LEAD)
        assert lead is not None and max(lead.notes).pitch % 12 == score.tonic
        assert _max_polyphony(_midi(score)) <= 4


def test_moods_change_mode_tempo_and_drive() -> None:
    def measure(mood: str) -> tuple[float, float]:
        tempos, hits = [], []
        for seed in (1, 2, 3):
            score = compose(CompositionRequest("chiptune", 40.0, mood=mood), seed)
            drums = score.track(Role.DRUMS)
            assert drums is not None
            tempos.append(score.tempo_bpm)
            hits.append(len(drums.notes) / score.total_bars)
        return statistics.mean(tempos), statistics.mean(hits)

    sad, energetic = measure("sad"), measure("energetic")
    assert sad[0] < energetic[0] - 10
    assert sad[1] < energetic[1]
    assert compose(CompositionRequest("chiptune", 30.0, mood="dark"), 1).mode in (
        "minor",
        "dorian",
    )
