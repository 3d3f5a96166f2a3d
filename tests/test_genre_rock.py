"""Rock: what makes it rock, measured on the MIDI the composer writes."""

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
KICK, SNARE, CRASH = 36, 38, 49
HATS = frozenset({42, 46, 51})  # closed hat, open hat, ride
TOMS = frozenset({41, 43, 45, 47, 48, 50})
GROOVE = frozenset({"verse", "chorus", "bridge"})


def _midi(score: Score) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(score)))


def _beat(score: Score, seconds: float) -> float:
    return seconds / score.seconds_per_beat


def _bars(score: Score, names: frozenset[str]) -> list[tuple[str, int, bool]]:
    """(section, bar, is the section's last bar) for every bar of the named sections."""
    return [
        (s.name, s.start_bar + i, i == s.bars - 1)
        for s in score.sections
        if s.name in names
        for i in range(s.bars)
    ]


def _drum_onsets(score: Score) -> dict[int, list[float]]:
    midi = _midi(score)
    drums = next(i for i in midi.instruments if i.is_drum)
    onsets: dict[int, list[float]] = defaultdict(list)
    for note in drums.notes:
        onsets[note.pitch].append(_beat(score, note.start))
    return onsets


@pytest.mark.parametrize("seed", SEEDS)
def test_every_groove_bar_has_kick_on_1_and_3_snare_on_2_and_4_and_8th_hats(seed: int) -> None:
    score = compose(CompositionRequest("rock", 40.0), seed)
    onsets = _drum_onsets(score)
    bars = _bars(score, GROOVE)
    assert len(bars) >= 8

    def hit(keys: frozenset[int], beat: float) -> bool:
        return any(abs(o - beat) < 0.06 for k in keys for o in onsets[k])

    for name, bar, last in bars:
        start = bar * 4
        assert hit(frozenset({KICK}), start) and hit(frozenset({KICK}), start + 2), bar
        assert hit(frozenset({SNARE}), start + 1), f"{name} bar {bar}: no snare on 2"
        assert hit(frozenset({SNARE}), start + 3), f"{name} bar {bar}: no snare on 4"
        if not last:  # the last bar of a phrase gives its second half to a fill
            eighths = [start + e / 2 for e in range(8)]
            assert all(hit(HATS, b) for b in eighths), f"{name} bar {bar}: hats not in 8ths"


@pytest.mark.parametrize("seed", SEEDS)
def test_crash_on_section_starts_tom_fill_at_phrase_ends_open_hat_or_ride_in_chorus(
    seed: int,
) -> None:
    score = compose(CompositionRequest("rock", 45.0), seed)
    onsets = _drum_onsets(score)
    for section in score.sections:
        if section.name not in GROOVE:
            continue
        start, end = section.start_bar * 4, (section.start_bar + section.bars) * 4
        assert any(abs(o - start) < 0.06 for o in onsets[CRASH]), f"no crash at bar {start // 4}"
        toms = [o for k in TOMS for o in onsets[k] if end - 2.05 <= o < end]
        assert len(toms) >= 2, f"no tom fill before beat {end}"
        cymbals = {k for k in (42, 46, 51) for o in onsets[k] if start <= o < end - 2}
        if section.name == "chorus":
            assert cymbals & {46, 51} and 42 not in cymbals
        elif section.name == "verse":
            assert cymbals == {42}


@pytest.mark.parametrize("seed", SEEDS)
def test_picked_bass_in_8ths_locks_with_every_kick(seed: int) -> None:
    score = compose(CompositionRequest("rock", 30.0), seed)
    midi = _midi(score)
    bass = next(i for i in midi.instruments if not i.is_drum and i.program == 34)
    bass_onsets = [_beat(score, n.start) for n in bass.notes]
    onsets = _drum_onsets(score)
    final = score.chords[-1].start
    grooves = {bar for _, bar, _ in _bars(score, GROOVE)}
    kicks = [k for k in onsets[KICK] if int(k // 4) in grooves and k < final - 0.1]
    assert kicks
    for kick in kicks:
        assert any(abs(kick - b) < 0.06 for b in bass_onsets), f"kick at {kick:.2f} without bass"
    # Straight 8ths: every onset sits on the 8th grid (within humanising), about 8 a bar.
    body = [b for b in bass_onsets if b < final - 0.1]
    assert all(abs(b * 2 - round(b * 2)) < 0.1 for b in body)
    assert len(body) >= 6 * len(grooves)


@pytest.mark.parametrize("seed", SEEDS)
def test_power_chords_on_distorted_guitar_and_the_rock_band(seed: int) -> None:
    score = compose(CompositionRequest("rock", 30.0), seed)
    assert all(span.chord.quality == "5" for span in score.chords)
    assert score.chords[-1].chord.root == score.tonic
    programs = {t.program for t in score.tracks if not t.is_drum}
    assert 34 in programs
    rhythm = [t for t in score.tracks if t.role == Role.CHORDS]
    assert rhythm and all(t.program in (29, 30) for t in rhythm)
    lead = score.track(Role.LEAD)
    assert lead is not None and lead.program in (27, 29, 30)
    # The main rhythm guitar plays root–fifth(–octave) stacks, never a third.
    by_onset: dict[float, list[int]] = defaultdict(list)
    for note in rhythm[0].notes:
        by_onset[round(note.start * 8) / 8].append(note.pitch)
    chords = [sorted(p) for p in by_onset.values() if len(p) >= 2]
    assert len(chords) > 20
    for pitches in chords:
        assert {p - pitches[0] for p in pitches} <= {0, 7, 12}, pitches


@pytest.mark.parametrize("seed", SEEDS)
def test_chorus_is_louder_higher_and_wider_than_the_verse(seed: int) -> None:
    score = compose(CompositionRequest("rock", 60.0), seed)
    verse = {bar for _, bar, _ in _bars(score, frozenset({"verse"}))}
    chorus = {bar for _, bar, _ in _bars(score, frozenset({"chorus"}))}
    assert verse and chorus
    lead = score.track(Role.LEAD)
    assert lead is not None

    def in_bars(notes: tuple, bars: set[int]) -> list:
        return [n for n in notes if int((n.start + 0.1) // 4) in bars]

    assert statistics.mean(n.pitch for n in in_bars(lead.notes, chorus)) > statistics.mean(
        n.pitch for n in in_bars(lead.notes, verse)
    )
    guitars = [t for t in score.tracks if t.role == Role.CHORDS]
    main = guitars[0]
    assert statistics.mean(n.velocity for n in in_bars(main.notes, chorus)) > statistics.mean(
        n.velocity for n in in_bars(main.notes, verse)
    )
    # The double-tracked guitar on the other side only plays in choruses (and the last hit).
    assert len(guitars) == 2 and guitars[0].pan * guitars[1].pan < 0
    assert not in_bars(guitars[1].notes, verse) and in_bars(guitars[1].notes, chorus)


def test_intro_riff_alone_then_a_final_hit() -> None:
    score = compose(CompositionRequest("rock", 45.0), 3)
    intro = score.sections[0]
    assert intro.name == "intro"
    guitar = next(t for t in score.tracks if t.role == Role.CHORDS)
    first_bar = [n for n in guitar.notes if n.start < 4]
    # A single-note riff: no two guitar notes start together in the first bar, nothing else plays.
    assert len(first_bar) >= 5
    assert len({round(n.start, 2) for n in first_bar}) == len(first_bar)
    others = [n for t in score.tracks if t is not guitar for n in t.notes if n.start < 3.9]
    assert not others
    final = score.chords[-1].start
    drums = score.track(Role.DRUMS)
    assert drums is not None
    assert {n.pitch for n in drums.notes if abs(n.start - final) < 1e-6} >= {KICK, SNARE, CRASH}


@pytest.mark.parametrize("seed", SEEDS)
def test_tempo_in_range_quality_passes_and_deterministic(seed: int) -> None:
    request = CompositionRequest("rock", 30.0)
    score = compose(request, seed)
    assert 100 <= score.tempo_bpm <= 150
    report = check_score(score)
    assert report.passed, report.failures
    assert midi_bytes(score) == midi_bytes(compose(request, seed))


@pytest.mark.parametrize("seconds", [5.0, 30.0, 300.0])
def test_exact_length_and_tonic_ending(seconds: float) -> None:
    for seed in (1, 2):
        score = compose(CompositionRequest("rock", seconds), seed)
        report = check_score(score)
        assert report.passed, report.failures
        end = max(score.seconds(n.end) for t in score.tracks for n in t.notes)
        assert seconds - 3.1 <= end <= seconds + 1e-6
        lead = score.track(Role.LEAD)
        assert lead is not None and max(lead.notes).pitch % 12 == score.tonic


def test_moods_change_tempo_density_and_dynamics() -> None:
    def measure(mood: str) -> tuple[float, float, float]:
        tempos, counts, velocities = [], [], []
        for seed in (1, 2, 3):
            score = compose(CompositionRequest("rock", 40.0, mood=mood), seed)
            guitar = next(t for t in score.tracks if t.role == Role.CHORDS)
            tempos.append(score.tempo_bpm)
            counts.append(len(guitar.notes) / score.total_bars)
            velocities.append(statistics.mean(n.velocity for n in guitar.notes))
        return statistics.mean(tempos), statistics.mean(counts), statistics.mean(velocities)

    sad, energetic = measure("sad"), measure("energetic")
    assert sad[0] < energetic[0] - 10
    assert sad[1] < energetic[1]
    assert sad[2] < energetic[2]
    assert compose(CompositionRequest("rock", 30.0, mood="sad"), 1).mode in ("minor", "dorian")
