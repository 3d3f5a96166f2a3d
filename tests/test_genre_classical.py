"""Classical: periodic melody, Alberti bass, functional cadences, clean outer voices; on the MIDI."""

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

SEEDS = range(5)
MOODS = ("happy", "sad", "calm", "energetic", "romantic")
LEAD_NAMES = ("Piano RH", "Violin 1")
BASS_NAMES = ("Piano LH bass", "Cello")


def _midi(score: Score) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(score)))


def _voice(midi: pretty_midi.PrettyMIDI, names: tuple[str, ...]) -> list[tuple[float, float, int]]:
    """(start beat, end beat, pitch) of the named track, read back from the MIDI."""
    spb = 60.0 / midi.get_tempo_changes()[1][0]
    instrument = next(i for i in midi.instruments if i.name in names)
    return sorted((n.start / spb, n.end / spb, n.pitch) for n in instrument.notes)


def _outer_voice_parallels(midi: pretty_midi.PrettyMIDI) -> list[float]:
    """Consecutive perfect fifths/octaves between the melody (top) and the bass (bottom).

    At every onset of either voice (on a 32nd grid, so humanising jitter does not split a
    simultaneous attack) take the highest melody note and lowest bass note sounding; a pair of
    successive moments where both voices move and both intervals are the same perfect one is a
    parallel (or contrary) fifth or octave.
    """
    melody = _voice(midi, LEAD_NAMES)
    bass = _voice(midi, BASS_NAMES)

    def snap(beat: float) -> float:
        return round(beat * 8) / 8

    def sounding(notes: list[tuple[float, float, int]], time: float) -> list[int]:
        return [p for s, e, p in notes if snap(s) <= time < snap(s) + (e - s) - 0.03]

    times = sorted({snap(s) for s, _, _ in melody} | {snap(s) for s, _, _ in bass})
    moments = []
    for time in times:
        top, low = sounding(melody, time), sounding(bass, time)
        moments.append((time, max(top) if top else None, min(low) if low else None))
    bad = []
    for (_, m1, b1), (time, m2, b2) in itertools.pairwise(moments):
        if None in (m1, b1, m2, b2) or m1 == m2 or b1 == b2:
            continue
        assert m1 is not None and b1 is not None and m2 is not None and b2 is not None
        if (m1 - b1) % 12 == (m2 - b2) % 12 and (m1 - b1) % 12 in (0, 7):
            bad.append(time)
    return bad


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("variant", [None, "quartet"])
def test_no_parallel_fifths_or_octaves_between_melody_and_bass(
    seed: int, variant: str | None
) -> None:
    mood = MOODS[seed % len(MOODS)]
    score = compose(CompositionRequest("classical", 60.0, mood=mood, variant=variant), seed)
    midi = _midi(score)
    assert len(_voice(midi, LEAD_NAMES)) > 30 and len(_voice(midi, BASS_NAMES)) > 10
    assert _outer_voice_parallels(midi) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_piano_has_no_drums_and_tempo_in_range(seed: int) -> None:
    score = compose(CompositionRequest("classical", 40.0), seed)
    midi = _midi(score)
    assert not any(i.is_drum for i in midi.instruments)
    assert {i.program for i in midi.instruments} == {0}
    assert 60.0 <= score.tempo_bpm <= 120.0
    report = check_score(score)
    assert report.passed, report.failures


def test_quartet_is_violins_viola_and_cello_with_the_melody_in_violin_1() -> None:
    score = compose(CompositionRequest("classical", 40.0, variant="quartet"), 3)
    programs = sorted(t.program for t in score.tracks)
    assert programs == [40, 40, 41, 42]
    lead, bass = score.track(Role.LEAD), score.track(Role.BASS)
    assert lead is not None and lead.program == 40 and bass is not None and bass.program == 42
    # Violin 1 sings above everyone; the cello is the floor.
    others = [
        n.pitch for t in score.tracks if t.role not in (Role.LEAD, Role.BASS) for n in t.notes
    ]
    assert statistics.mean(n.pitch for n in lead.notes) > statistics.mean(others)
    assert statistics.mean(n.pitch for n in bass.notes) < min(others)
    assert any(c.controller == 11 for c in lead.controls)  # bowed phrases swell


@pytest.mark.parametrize("seed", SEEDS)
def test_left_hand_plays_alberti_low_high_middle_high(seed: int) -> None:
    score = compose(CompositionRequest("classical", 60.0, mood="happy"), seed)
    midi = _midi(score)
    left = _voice(midi, ("Piano LH",)) + _voice(midi, BASS_NAMES)
    a_bars = [
        s.start_bar + i
        for s in score.sections
        if s.name in ("A", "A′") and s.bars >= 4
        for i in range(s.bars - 1)
    ]
    matches = 0
    for bar in a_bars:
        for half in (0.0, 2.0):
            group = bar * 4 + half
            notes = sorted(
                (round((s - group) * 2), p) for s, _, p in left if -0.1 < s - group < 1.9
            )
            pitches = [p for _, p in notes]
            if [step for step, _ in notes] == [0, 1, 2, 3] and (
                pitches[0] < pitches[2] < pitches[1] == pitches[3]
            ):
                matches += 1
    assert matches >= 0.8 * 2 * len(a_bars)


@pytest.mark.parametrize("seed", SEEDS)
def test_half_cadence_mid_period_and_authentic_cadence_at_the_end(seed: int) -> None:
    score = compose(CompositionRequest("classical", 60.0), seed)
    tonic = score.tonic
    dominant = (tonic + 7) % 12

    def chord_at(beat: float) -> tuple[int, str]:
        span = next(c for c in reversed(score.chords) if c.start <= beat + 1e-6)
        return span.chord.root, span.chord.quality

    first_a = next(s for s in score.sections if s.name == "A")
    antecedent_end = (first_a.start_bar + 3) * 4
    assert chord_at(antecedent_end + 2)[0] == dominant  # the question ends on V
    # The answer (the rest of the 8-bar period, or the A′ phrase after a 4-bar A) closes on I.
    answer = first_a if first_a.bars >= 8 else next(s for s in score.sections if s.name == "A′")
    last_bar = answer.start_bar + answer.bars - 1
    if last_bar < score.chords[-1].start // 4 - 1:  # else it is the final ii6–V7–I, below
        assert chord_at(last_bar * 4)[0] == tonic
    *_, penultimate, final = score.chords
    assert penultimate.chord.root == dominant and penultimate.chord.quality == "7"
    assert final.chord.root == tonic
    lead = score.track(Role.LEAD)
    assert lead is not None
    *_, leading, last = sorted(lead.notes)
    assert last.pitch % 12 == tonic
    assert abs(leading.pitch - last.pitch) <= 2  # 2̂ or 7̂ stepping into 1̂


@pytest.mark.parametrize("seed", SEEDS)
def test_ternary_form_motif_returns_and_b_contrasts(seed: int) -> None:
    score = compose(CompositionRequest("classical", 75.0), seed)
    names = [s.name for s in score.sections]
    b_at = names.index("B")
    assert "A" in names[:b_at] and "A′" in names[b_at:]
    lead = score.track(Role.LEAD)
    assert lead is not None

    def notes_in(section_name: str) -> list[tuple[float, int]]:
        # The first A and B; the A′ that returns after B.
        after = b_at if section_name == "A′" else 0
        section = next(s for s in score.sections[after:] if s.name == section_name)
        start, end = section.start_bar * 4, (section.start_bar + section.bars) * 4
        return [(n.start - start, n.pitch) for n in lead.notes if start - 0.1 <= n.start < end]

    a, b, a_again = notes_in("A"), notes_in("B"), notes_in("A′")
    # The A′ tune starts with the A motif (decorations may split its notes, not change its start).
    assert a[0][1] == a_again[0][1]
    head, head_again = {p for t, p in a if t < 4}, {p for t, p in a_again if t < 4}
    assert len(head & head_again) >= 2 * len(head) / 3  # (counterpoint may bend one note)
    # B sings higher and louder: register and dynamics contrast.
    assert statistics.mean(p for _, p in b) > statistics.mean(p for _, p in a)
    loud_b = statistics.mean(n.velocity for n in lead.notes if _in(score, "B", n.start))
    soft_a = statistics.mean(n.velocity for n in lead.notes if _in(score, "A", n.start))
    assert loud_b > soft_a


def _in(score: Score, name: str, beat: float) -> bool:
    section = next(s for s in score.sections if s.name == name)
    return section.start_bar * 4 <= beat < (section.start_bar + section.bars) * 4


def test_phrases_have_dynamic_arcs() -> None:
    rises = 0
    for seed in SEEDS:
        score = compose(CompositionRequest("classical", 60.0, mood="calm"), seed)
        bass = score.track(Role.BASS)
        assert bass is not None
        section = next(s for s in score.sections if s.name == "A")
        per_bar = [
            statistics.mean(
                n.velocity
                for n in bass.notes
                if (section.start_bar + i) * 4 <= n.start < (section.start_bar + i + 1) * 4
            )
            for i in range(4)
        ]
        rises += per_bar[2] > per_bar[0] and per_bar[2] > per_bar[3]
    assert rises == len(SEEDS)


def test_moods_change_mode_tempo_register_and_left_hand_density() -> None:
    def measure(mood: str) -> tuple[set[str], float, float, float]:
        modes, tempi, pitches, density = set(), [], [], []
        for seed in SEEDS:
            score = compose(CompositionRequest("classical", 60.0, mood=mood), seed)
            modes.add(score.mode)
            tempi.append(score.tempo_bpm)
            lead = score.track(Role.LEAD)
            chords = score.track(Role.CHORDS)
            assert lead is not None and chords is not None
            pitches += [n.pitch for n in lead.notes]
            density.append(len(chords.notes) / score.chords[-1].start)
        return modes, statistics.mean(tempi), statistics.mean(pitches), statistics.mean(density)

    sad, energetic = measure("sad"), measure("energetic")
    assert sad[0] == {"minor"} and energetic[0] == {"major"}
    assert sad[1] + 15 < energetic[1]
    assert sad[2] < energetic[2]
    assert sad[3] * 1.5 < energetic[3]  # 16th-note Alberti against a gentle broken chord


@pytest.mark.parametrize("seconds", [5.0, 30.0, 300.0])
@pytest.mark.parametrize("variant", [None, "quartet"])
def test_exact_length_and_quality(seconds: float, variant: str | None) -> None:
    score = compose(CompositionRequest("classical", seconds, variant=variant), 11)
    report = check_score(score)
    assert report.passed, report.failures
    end = max(score.seconds(n.end) for t in score.tracks for n in t.notes)
    assert seconds - 3.0 <= end <= seconds + 1e-6
    assert score.chords[-1].chord.root == score.tonic


def test_deterministic() -> None:
    request = CompositionRequest("classical", 45.0, mood="romantic", variant="quartet")
    assert midi_bytes(compose(request, 99)) == midi_bytes(compose(request, 99))
