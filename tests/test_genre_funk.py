"""Funk: ghost-noted backbeat, 16th syncopation, slap octaves, chops, horn calls and breaks."""

from __future__ import annotations

import io
from functools import cache

import pretty_midi
import pytest

from generators.compose import compose
from generators.midi import midi_bytes
from generators.quality import check_score
from generators.request import CompositionRequest
from generators.score import Role, Score, Section, Track

SEEDS = (0, 1, 2)
MOODS = ("energetic", "happy", "dark")
KICK, SNARE, CLOSED_HAT = 36, 38, 42


@cache
def _score(seconds: float, seed: int, mood: str | None = None) -> Score:
    return compose(CompositionRequest("funk", seconds, mood=mood), seed)


@cache
def _midi(seed: int) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(_score(60.0, seed, MOODS[seed]))))


def _beat(midi: pretty_midi.PrettyMIDI, seconds: float) -> float:
    return seconds * midi.get_tempo_changes()[1][0] / 60.0


def _track(score: Score, role: Role) -> Track:
    track = score.track(role)
    assert track is not None, f"no {role} track"
    return track


def _bars(score: Score, *names: str) -> list[int]:
    return [
        bar
        for s in score.sections
        if s.name in names
        for bar in range(s.start_bar, s.start_bar + s.bars)
    ]


def _sixteenth(beat: float) -> int:
    return round(beat * 4) % 16


@pytest.mark.parametrize("seed", SEEDS)
def test_tempo_programs_and_harmony(seed: int) -> None:
    score = _score(60.0, seed, MOODS[seed])
    assert 95 <= score.tempo_bpm <= 115
    programs = {t.role: t.program for t in score.tracks}
    assert programs[Role.BASS] in (36, 37)
    assert programs[Role.CHORDS] == 28 and programs[Role.LEAD] == 61
    assert programs[Role.COUNTER] == 7
    # The vamps: dominant 7/9 chords (minor 7s in the minor modes), the tonic chord first.
    qualities = {span.chord.quality for span in score.chords}
    assert qualities <= {"7", "9", "m7", "m9", "maj7", "7sus4", "7#9"}
    first_a = next(s for s in score.sections if s.name == "A")
    vamp = next(c for c in score.chords if c.start == first_a.start_bar * 4)
    assert vamp.chord.root == score.tonic and vamp.chord.quality in ("7", "9", "m7", "m9")


@pytest.mark.parametrize("seed", SEEDS)
def test_backbeat_on_two_and_four_with_ghost_notes(seed: int) -> None:
    score, midi = _score(60.0, seed, MOODS[seed]), _midi(seed)
    drums = next(i for i in midi.instruments if i.is_drum)
    snares = [(_beat(midi, n.start), n.velocity) for n in drums.notes if n.pitch == SNARE]
    bars = _bars(score, "A", "B")
    ghosted = 0
    for bar in bars:
        start = bar * 4.0
        in_bar = [(b - start, v) for b, v in snares if start - 0.05 <= b < start + 3.9]
        loud = [b for b, v in in_bar if v >= 80]
        assert any(abs(b - 1) < 0.05 for b in loud) and any(abs(b - 3) < 0.05 for b in loud)
        ghosted += any(v < 55 and min(abs(b - 1), abs(b - 3)) > 0.1 for b, v in in_bar)
    assert ghosted >= 0.6 * len(bars), "ghost notes around the backbeat are what make it funk"


@pytest.mark.parametrize("seed", SEEDS)
def test_sixteenth_hats_and_syncopated_kick_and_bass(seed: int) -> None:
    score, midi = _score(60.0, seed, MOODS[seed]), _midi(seed)
    drums = next(i for i in midi.instruments if i.is_drum)
    bars = _bars(score, "A")
    hats = [_beat(midi, n.start) for n in drums.notes if n.pitch == CLOSED_HAT]
    for bar in bars[:-1]:
        slots = {_sixteenth(h) for h in hats if bar * 4 - 0.05 <= h < bar * 4 + 3.95}
        assert len(slots) >= 12, "16th-note hats"
    kicks = [_beat(midi, n.start) for n in drums.notes if n.pitch == KICK]
    assert any(_sixteenth(k) % 2 == 1 for k in kicks), "a kick on an off 16th"
    bass = _track(score, Role.BASS)
    assert sum(_sixteenth(n.start) % 2 == 1 for n in bass.notes) >= len(bars) * 2


@pytest.mark.parametrize("seed", SEEDS)
def test_slap_bass_octaves_and_dead_notes(seed: int) -> None:
    score = _score(60.0, seed, MOODS[seed])
    bass = _track(score, Role.BASS)
    for bar in _bars(score, "A")[1:-1]:
        notes = [n for n in bass.notes if bar * 4 - 0.05 <= n.start < bar * 4 + 3.95]
        pitches = {n.pitch for n in notes if n.velocity > 50}
        assert any(p + 12 in pitches for p in pitches), f"no octave pop in bar {bar}"
        assert any(n.velocity <= 40 and n.duration <= 0.1 for n in notes), "no dead note"


@pytest.mark.parametrize("seed", SEEDS)
def test_muted_guitar_chops_16ths_and_horn_stabs(seed: int) -> None:
    score = _score(60.0, seed, MOODS[seed])
    guitar = _track(score, Role.CHORDS)
    final = score.chords[-1].start
    chops = [n for n in guitar.notes if n.start < final]
    assert all(n.duration <= 0.15 for n in chops)
    for bar in _bars(score, "A", "B")[:-1]:
        onsets = {_sixteenth(n.start) for n in chops if bar * 4 - 0.05 <= n.start < bar * 4 + 3.95}
        assert len(onsets) >= 6
    horns = _track(score, Role.LEAD)
    stabs = 0
    for bar in _bars(score, "B"):
        starts = [round(n.start, 2) for n in horns.notes if bar * 4 <= n.start < bar * 4 + 4]
        stabs += sum(starts.count(s) >= 3 for s in set(starts))
    assert stabs >= len(_bars(score, "B")), "horn-section chord stabs in the B section"


@pytest.mark.parametrize("seed", SEEDS)
def test_call_and_response_between_horns_and_clavinet(seed: int) -> None:
    score = _score(60.0, seed, MOODS[seed])
    horns, clav = _track(score, Role.LEAD), _track(score, Role.COUNTER)
    sections: list[Section] = [s for s in score.sections if s.name == "A"]
    assert sections
    calls = answers = overlap = 0
    for bar in _bars(score, "A"):
        horn = any(bar * 4 - 0.05 <= n.start < bar * 4 + 3.95 for n in horns.notes)
        keys = any(bar * 4 - 0.05 <= n.start < bar * 4 + 3.95 for n in clav.notes)
        calls += horn and not keys
        answers += keys and not horn
        overlap += horn and keys
    assert calls >= 2 and answers >= 2
    assert overlap <= (calls + answers) / 4


@pytest.mark.parametrize("seed", SEEDS)
def test_break_strips_down_to_drums_and_bass(seed: int) -> None:
    score = _score(60.0, seed, MOODS[seed])
    breaks = _bars(score, "break")
    assert breaks
    window = (breaks[0] * 4 + 0.05, (breaks[-1] + 1) * 4 - 0.05)
    for role in (Role.CHORDS, Role.LEAD, Role.COUNTER):
        track = _track(score, role)
        assert not [n for n in track.notes if window[0] <= n.start < window[1]]
    drums = _track(score, Role.DRUMS)
    assert [n for n in drums.notes if breaks[0] * 4 <= n.start < (breaks[-1] + 1) * 4]


def test_moods_change_density_and_register() -> None:
    def hats(mood: str) -> float:
        score = _score(40.0, 3, mood)
        drums = _track(score, Role.DRUMS)
        return sum(n.pitch == CLOSED_HAT for n in drums.notes) / score.total_bars

    assert hats("energetic") > 1.5 * hats("calm")

    def horn_mean(mood: str) -> float:
        pitches = [n.pitch for s in SEEDS for n in _track(_score(40.0, s, mood), Role.LEAD).notes]
        return sum(pitches) / len(pitches)

    assert horn_mean("dark") < horn_mean("happy")
    minor = _score(40.0, 1, "sad")
    assert minor.mode in ("dorian", "minor")
    assert any(span.chord.quality in ("m7", "m9") for span in minor.chords)


@pytest.mark.parametrize("seconds", [5.0, 30.0, 300.0])
def test_exact_length_and_quality(seconds: float) -> None:
    for seed in (0, 4):
        score = _score(seconds, seed)
        report = check_score(score)
        assert report.passed, report.failures
        end = max(score.seconds(n.end) for t in score.tracks for n in t.notes)
        assert seconds - 3.1 <= end <= seconds + 1e-6
        assert score.chords[-1].chord.root == score.tonic
        lead = _track(score, Role.LEAD)
        assert max(lead.notes).pitch % 12 == score.tonic


def test_deterministic() -> None:
    request = CompositionRequest("funk", 45.0, mood="energetic")
    assert midi_bytes(compose(request, 11)) == midi_bytes(compose(request, 11))
