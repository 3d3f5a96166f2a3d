"""Cinematic: orchestra in layers, minor epic harmony over pedals, hits and swells; on the MIDI."""

from __future__ import annotations

import io
import statistics

import pretty_midi
import pytest

from generators.compose import compose
from generators.midi import midi_bytes
from generators.quality import check_score
from generators.request import CompositionRequest
from generators.score import Role, Score

SEEDS = range(5)
CRASH, RIDE = 49, 51


def _midi(score: Score) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(score)))


def _beat(midi: pretty_midi.PrettyMIDI, seconds: float) -> float:
    return seconds * midi.get_tempo_changes()[1][0] / 60.0


def _section(score: Score, name: str) -> tuple[float, float]:
    section = next(s for s in score.sections if s.name == name)
    return section.start_bar * 4.0, (section.start_bar + section.bars) * 4.0


@pytest.mark.parametrize("seed", SEEDS)
def test_orchestra_tempo_and_quality(seed: int) -> None:
    score = compose(CompositionRequest("cinematic", 60.0), seed)
    midi = _midi(score)
    assert 70.0 <= score.tempo_bpm <= 110.0
    pitched = {i.program for i in midi.instruments if not i.is_drum}
    # contrabass, strings, pizzicato, harp, timpani, choir, trumpets, horns
    assert {43, 48, 45, 46, 47, 52, 56, 60} <= pitched
    drums = [i for i in midi.instruments if i.is_drum]
    assert len(drums) == 1 and drums[0].program == 48  # the orchestra kit
    lead = score.track(Role.LEAD)
    assert lead is not None and lead.program == 60  # horns carry the theme
    report = check_score(score)
    assert report.passed, report.failures


@pytest.mark.parametrize("seed", SEEDS)
def test_minor_epic_harmony_over_a_tonic_pedal(seed: int) -> None:
    score = compose(CompositionRequest("cinematic", 60.0, mood="epic", mode="minor"), seed)
    degrees = [(c.chord.root - score.tonic) % 12 for c in score.chords[:-1]]
    # i, iv, V, bIII, bVI, bVII only: the minor epic palette
    assert set(degrees) <= {0, 5, 7, 3, 8, 10}
    assert 8 in degrees  # bVI, the heart of i–VI–III–VII and i–iv–VI–V
    # In the intro the harmony moves while the basses hold the tonic: a pedal point.
    start, end = _section(score, "intro")
    bass = score.track(Role.BASS)
    assert bass is not None
    intro_bass = {n.pitch % 12 for n in bass.notes if start <= n.start < end}
    assert intro_bass == {score.tonic}
    intro_chords = {c.chord.root for c in score.chords if start <= c.start < end}
    assert len(intro_chords) > 1


def test_picardy_third_sometimes_brightens_the_last_chord() -> None:
    finals = []
    for seed in range(12):
        score = compose(CompositionRequest("cinematic", 30.0, mood="dark", mode="minor"), seed)
        final = score.chords[-1]
        assert final.chord.root == score.tonic
        finals.append(final.chord.quality)
        choir = score.track(Role.PAD)
        assert choir is not None
        last = {n.pitch % 12 for n in choir.notes if n.start >= final.start - 0.01}
        third = (score.tonic + (4 if final.chord.quality == "maj" else 3)) % 12
        assert third in last
    assert "maj" in finals and "min" in finals


@pytest.mark.parametrize("seed", SEEDS)
def test_builds_in_layers_to_a_louder_climax(seed: int) -> None:
    score = compose(CompositionRequest("cinematic", 60.0), seed)
    midi = _midi(score)

    def layer(name: str) -> tuple[int, float]:
        start, end = _section(score, name)
        playing = 0
        velocities: list[int] = []
        for instrument in midi.instruments:
            # (a hit on the next downbeat may be humanised a few ms early)
            notes = [n for n in instrument.notes if start - 0.1 <= _beat(midi, n.start) < end - 0.1]
            playing += bool(notes)
            velocities += [n.velocity for n in notes if not instrument.is_drum]
        return playing, statistics.mean(velocities)

    intro, build, climax = layer("intro"), layer("build"), layer("climax")
    assert intro[0] < build[0] < climax[0]
    assert intro[1] < build[1] < climax[1]


@pytest.mark.parametrize("seed", SEEDS)
def test_big_hit_and_cymbal_swell_on_the_climax_downbeat(seed: int) -> None:
    score = compose(CompositionRequest("cinematic", 60.0), seed)
    midi = _midi(score)
    downbeat, _ = _section(score, "climax")
    drums = next(i for i in midi.instruments if i.is_drum)
    timpani = next(i for i in midi.instruments if i.program == 47)

    def near(notes: list[pretty_midi.Note], beat: float) -> list[pretty_midi.Note]:
        return [n for n in notes if abs(_beat(midi, n.start) - beat) < 0.06]

    hit = near(drums.notes, downbeat)
    assert any(n.pitch == CRASH and n.velocity >= 90 for n in hit)
    assert any(n.pitch in (35, 36) for n in hit)
    assert near(timpani.notes, downbeat)
    # The bar before: a suspended-cymbal roll and a timpani roll, both getting louder.
    for notes in (
        [n for n in drums.notes if n.pitch == RIDE],
        timpani.notes,
    ):
        roll = sorted(
            (n for n in notes if downbeat - 4 - 0.05 <= _beat(midi, n.start) < downbeat - 0.05),
            key=lambda n: n.start,
        )
        assert len(roll) >= 12
        assert roll[-1].velocity > roll[0].velocity + 30


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_strings_swell_with_expression_through_the_build(seed: int) -> None:
    score = compose(CompositionRequest("cinematic", 60.0), seed)
    midi = _midi(score)
    strings = next(i for i in midi.instruments if i.program == 48)
    start, end = _section(score, "build")
    expression = [(_beat(midi, c.time), c.value) for c in strings.control_changes if c.number == 11]
    in_build = [v for t, v in expression if start - 0.01 <= t <= end - 0.5]
    assert len(in_build) >= 4
    assert in_build[-1] >= in_build[0] + 30
    assert in_build == sorted(in_build)  # a crescendo, not a wobble


def test_moods_change_ostinato_speed_tempo_and_register() -> None:
    def measure(mood: str) -> tuple[float, float, float]:
        tempi, rates, pitches = [], [], []
        for seed in SEEDS:
            score = compose(CompositionRequest("cinematic", 60.0, mood=mood), seed)
            tempi.append(score.tempo_bpm)
            strings = score.track(Role.CHORDS)
            lead = score.track(Role.LEAD)
            assert strings is not None and lead is not None
            start, end = _section(score, "build")
            notes = [n for n in strings.notes if start <= n.start < end]
            rates.append(len(notes) / (end - start))
            pitches += [n.pitch for n in lead.notes]
        return statistics.mean(tempi), statistics.mean(rates), statistics.mean(pitches)

    sad, epic, dark = measure("sad"), measure("epic"), measure("dark")
    assert sad[0] + 10 < epic[0]
    assert sad[1] * 1.6 < epic[1]  # 8th-note ostinato against 16ths
    assert dark[2] < epic[2]


@pytest.mark.parametrize("seconds", [5.0, 30.0, 300.0])
def test_exact_length_and_a_ringing_final_chord(seconds: float) -> None:
    score = compose(CompositionRequest("cinematic", seconds), 5)
    report = check_score(score)
    assert report.passed, report.failures
    end = max(score.seconds(n.end) for t in score.tracks for n in t.notes)
    assert seconds - 3.4 <= end <= seconds + 1e-6
    final = score.chords[-1]
    assert final.chord.root == score.tonic
    lead = score.track(Role.LEAD)
    assert lead is not None and max(lead.notes).pitch % 12 == score.tonic
    # The final chord is held by the whole orchestra until the ring-out.
    holders = [
        t for t in score.tracks if any(n.end >= final.start + final.duration - 0.1 for n in t.notes)
    ]
    assert len(holders) >= 5


def test_deterministic() -> None:
    request = CompositionRequest("cinematic", 45.0, mood="tense")
    assert midi_bytes(compose(request, 77)) == midi_bytes(compose(request, 77))
