"""Synthwave: what makes it synthwave, measured on the MIDI the composer writes."""

from __future__ import annotations

import io
import statistics
from collections import defaultdict

import pretty_midi
import pytest

from generators.compose import compose
from generators.midi import midi_bytes
from generators.quality import check_score
from generators.request import CompositionRequest
from generators.score import Role, Score

SEEDS = (0, 1, 2, 3, 4)
KICK, SNARE, CLOSED_HAT = 36, 38, 42
GROOVE = frozenset({"verse", "chorus", "bridge"})


def _midi(score: Score) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(score)))


def _groove_bars(score: Score, names: frozenset[str] = GROOVE) -> list[tuple[int, bool]]:
    return [
        (s.start_bar + i, i == s.bars - 1)
        for s in score.sections
        if s.name in names
        for i in range(s.bars)
    ]


@pytest.mark.parametrize("seed", SEEDS)
def test_kick_1_and_3_gated_snare_2_and_4_eighth_hats_on_the_grid(seed: int) -> None:
    score = compose(CompositionRequest("synthwave", 40.0), seed)
    midi = _midi(score)
    drums = next(i for i in midi.instruments if i.is_drum)
    assert drums.program in (16, 24)  # power or electronic kit
    spb = score.seconds_per_beat
    hits: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for note in drums.notes:
        hits[note.pitch].append((note.start / spb, (note.end - note.start) / spb))
    bars = _groove_bars(score)
    assert len(bars) >= 8

    def at(key: int, beat: float) -> bool:
        return any(abs(start - beat) < 1e-3 for start, _ in hits[key])

    for bar, last in bars:
        start = bar * 4
        assert at(KICK, start) and at(KICK, start + 2), f"bar {bar}: kick not on 1 and 3"
        assert at(SNARE, start + 1) and at(SNARE, start + 3), f"bar {bar}: snare not on 2 and 4"
        if not last:
            assert all(at(CLOSED_HAT, start + e / 2) for e in range(8)), f"bar {bar}: 8th hats"
    # Gated: the snare is a long, big hit, not a short tick.
    snares = [d for s, d in hits[SNARE] if s < score.chords[-1].start]
    assert statistics.median(snares) >= 0.75
    # Sequenced: every drum hit exactly on the 16th grid (pretty_midi rounds to ticks).
    assert all(abs(s * 4 - round(s * 4)) < 1e-3 for key in hits for s, _ in hits[key])


@pytest.mark.parametrize("seed", SEEDS)
def test_synth_bass_drives_8ths_with_octave_pulses(seed: int) -> None:
    score = compose(CompositionRequest("synthwave", 30.0), seed)
    bass = score.track(Role.BASS)
    assert bass is not None and bass.program in (38, 39)
    for bar, _ in _groove_bars(score):
        notes = sorted(n for n in bass.notes if bar * 4 <= n.start < bar * 4 + 4)
        if notes and notes[-1].start >= score.chords[-1].start:
            continue
        assert [n.start - bar * 4 for n in notes] == [e / 2 for e in range(8)], f"bar {bar}"
        pitches = [n.pitch for n in notes]
        # Low–high–low–high: each off-beat an octave above the down-beat before it.
        assert pitches[1::2] == [p + 12 for p in pitches[0::2]] or len(set(pitches)) > 2


@pytest.mark.parametrize("seed", SEEDS)
def test_minor_loops_on_pads_brass_and_a_saw_lead(seed: int) -> None:
    score = compose(CompositionRequest("synthwave", 45.0), seed)
    assert score.mode in ("minor", "dorian", "phrygian")
    degrees = {(span.chord.root - score.tonic) % 12 for span in score.chords}
    assert {0, 8, 10} <= degrees  # i, bVI, bVII: the outrun loop
    programs = {t.role: t.program for t in score.tracks}
    assert programs[Role.PAD] == 90 and programs[Role.LEAD] == 81 and programs[Role.CHORDS] == 62
    pad = score.track(Role.PAD)
    assert pad is not None
    # Pads hold whole chords: several voices sounding at once, each for most of a bar.
    assert statistics.median(n.duration for n in pad.notes) >= 3.5
    by_start: dict[float, int] = defaultdict(int)
    for note in pad.notes:
        by_start[round(note.start, 2)] += 1
    assert min(by_start.values()) >= 3


@pytest.mark.parametrize("seed", SEEDS)
def test_chorus_brings_brass_stabs_and_a_higher_louder_lead(seed: int) -> None:
    score = compose(CompositionRequest("synthwave", 60.0), seed)
    verse = {b for b, _ in _groove_bars(score, frozenset({"verse"}))}
    chorus = {b for b, _ in _groove_bars(score, frozenset({"chorus"}))}
    brass, lead = score.track(Role.CHORDS), score.track(Role.LEAD)
    assert brass is not None and lead is not None and verse and chorus

    def bar_of(start: float) -> int:
        return int((start + 0.1) // 4)

    assert not [n for n in brass.notes if bar_of(n.start) in verse]
    assert [n for n in brass.notes if bar_of(n.start) in chorus]
    verse_lead = [n for n in lead.notes if bar_of(n.start) in verse]
    chorus_lead = [n for n in lead.notes if bar_of(n.start) in chorus]
    assert statistics.mean(n.pitch for n in chorus_lead) > statistics.mean(
        n.pitch for n in verse_lead
    )
    assert statistics.mean(n.velocity for n in chorus_lead) > statistics.mean(
        n.velocity for n in verse_lead
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_tempo_in_range_quality_passes_and_deterministic(seed: int) -> None:
    request = CompositionRequest("synthwave", 30.0)
    score = compose(request, seed)
    assert 80 <= score.tempo_bpm <= 118
    report = check_score(score)
    assert report.passed, report.failures
    assert midi_bytes(score) == midi_bytes(compose(request, seed))


@pytest.mark.parametrize("seconds", [5.0, 30.0, 300.0])
def test_exact_length_and_tonic_ending(seconds: float) -> None:
    for seed in (1, 2):
        score = compose(CompositionRequest("synthwave", seconds), seed)
        report = check_score(score)
        assert report.passed, report.failures
        end = max(score.seconds(n.end) for t in score.tracks for n in t.notes)
        assert seconds - 3.1 <= end <= seconds + 1e-6
        lead = score.track(Role.LEAD)
        assert lead is not None and max(lead.notes).pitch % 12 == score.tonic


def test_moods_change_tempo_register_and_arp_density() -> None:
    def measure(mood: str) -> tuple[float, float, float]:
        tempos, pitches, arps = [], [], []
        for seed in (1, 2, 3):
            score = compose(CompositionRequest("synthwave", 40.0, mood=mood), seed)
            lead, arp = score.track(Role.LEAD), score.track(Role.COUNTER)
            assert lead is not None and arp is not None
            tempos.append(score.tempo_bpm)
            pitches.append(statistics.mean(n.pitch for n in lead.notes))
            arps.append(len(arp.notes))
        return statistics.mean(tempos), statistics.mean(pitches), statistics.mean(arps)

    sad, energetic = measure("sad"), measure("energetic")
    assert sad[0] < energetic[0] - 8
    assert sad[2] < energetic[2]
    dark, happy = measure("dark"), measure("happy")
    assert dark[1] < happy[1] - 3  # dark sings low, happy high
