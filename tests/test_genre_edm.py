"""EDM: four-on-the-floor, side-chain pumping, risers into drops — measured on the MIDI."""

from __future__ import annotations

import bisect
import io
from functools import cache

import pretty_midi
import pytest

from generators.compose import compose
from generators.compose.mood import MOOD_PROFILES
from generators.compose.styles import style_for
from generators.midi import midi_bytes
from generators.quality import check_score
from generators.request import CompositionRequest
from generators.score import Role, Score, Section

SEEDS = (0, 1, 2)
MOODS = ("energetic", "sad", "dark")
KICK, CLAP, SNARE, OPEN_HAT, SHAKER = 36, 39, 38, 46, 70


@cache
def _score(seconds: float, seed: int, mood: str | None = None) -> Score:
    return compose(CompositionRequest("edm", seconds, mood=mood), seed)


@cache
def _midi(seconds: float, seed: int, mood: str | None = None) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(_score(seconds, seed, mood))))


def _beat(midi: pretty_midi.PrettyMIDI, seconds: float) -> float:
    return seconds * midi.get_tempo_changes()[1][0] / 60.0


def _drum_onsets(midi: pretty_midi.PrettyMIDI, key: int) -> list[float]:
    drums = next(i for i in midi.instruments if i.is_drum)
    return sorted(_beat(midi, n.start) for n in drums.notes if n.pitch == key)


def _instrument(midi: pretty_midi.PrettyMIDI, score: Score, role: Role) -> pretty_midi.Instrument:
    index = next(i for i, t in enumerate(score.tracks) if t.role == role)
    return midi.instruments[index]


def _bars(score: Score, name: str) -> list[int]:
    return [
        bar
        for s in score.sections
        if s.name == name
        for bar in range(s.start_bar, s.start_bar + s.bars)
    ]


def _has(onsets: list[float], beat: float) -> bool:
    """Is there an onset on this beat? The drums are machine-tight, so on the 1/32 grid exactly."""
    return round(beat * 32) in _on_grid(tuple(onsets))


@cache
def _on_grid(onsets: tuple[float, ...]) -> frozenset[int]:
    return frozenset(round(o * 32) for o in onsets)


@pytest.mark.parametrize("seed", SEEDS)
def test_kick_on_every_beat_outside_the_break(seed: int) -> None:
    score, midi = _score(60.0, seed, MOODS[seed]), _midi(60.0, seed, MOODS[seed])
    kicks = _drum_onsets(midi, KICK)
    for section in score.sections[:-1]:
        for bar in range(section.start_bar, section.start_bar + section.bars):
            for beat in range(4):
                position = bar * 4 + beat
                if section.name == "break":
                    assert not _has(kicks, position), f"kick in the break at beat {position}"
                else:
                    assert _has(kicks, position), f"no kick on beat {position} ({section.name})"


@pytest.mark.parametrize("seed", SEEDS)
def test_drop_drums_clap_two_and_four_open_hat_off_beats_shaker_16ths(seed: int) -> None:
    score, midi = _score(60.0, seed, MOODS[seed]), _midi(60.0, seed, MOODS[seed])
    claps, hats = _drum_onsets(midi, CLAP), _drum_onsets(midi, OPEN_HAT)
    shakers, closed = _drum_onsets(midi, SHAKER), _drum_onsets(midi, 42)
    drop_bars = _bars(score, "drop")
    assert drop_bars
    for bar in drop_bars:
        start = bar * 4
        assert _has(claps, start + 1) and _has(claps, start + 3)
        assert not _has(claps, start) and not _has(claps, start + 2)
        assert all(_has(hats, start + beat + 0.5) for beat in range(4))
        assert sum(start - 0.01 <= s < start + 4 - 0.01 for s in shakers) == 16
        ticks = sum(start - 0.01 <= h < start + 4 - 0.01 for h in closed)
        # Busy moods tick a closed hat between the shakers; calmer ones leave the space.
        assert ticks == (8 if MOODS[seed] == "energetic" else 0)
    # Open hats only ever sit on the off-beat.
    assert all(abs(h % 1 - 0.5) < 0.01 for h in hats)


@pytest.mark.parametrize("seed", SEEDS)
def test_machine_tight_drums_sit_exactly_on_the_grid(seed: int) -> None:
    midi = _midi(60.0, seed, MOODS[seed])
    drums = next(i for i in midi.instruments if i.is_drum)
    for note in drums.notes:
        beat = _beat(midi, note.start) * 8  # 32nds (the riser) are the finest grid
        assert abs(beat - round(beat)) < 0.02


@pytest.mark.parametrize("seed", SEEDS)
def test_snare_roll_rises_into_every_drop(seed: int) -> None:
    score, midi = _score(60.0, seed, MOODS[seed]), _midi(60.0, seed, MOODS[seed])
    snares = _drum_onsets(midi, SNARE)
    drums = next(i for i in midi.instruments if i.is_drum)
    for drop in (s for s in score.sections if s.name == "drop" and s.start_bar > 0):
        downbeat = drop.start_bar * 4.0
        last_beat = [s for s in snares if downbeat - 1 <= s < downbeat]
        first_beat = [s for s in snares if downbeat - 8 <= s < downbeat - 7]
        assert len(last_beat) == 8, "the riser ends in 32nds"
        assert len(last_beat) > len(first_beat)
        rising = sorted(
            (n for n in drums.notes if n.pitch == SNARE and downbeat - 8 <= _beat(midi, n.start)),
            key=lambda n: n.start,
        )
        assert rising[0].velocity < rising[-1].velocity


@pytest.mark.parametrize("seed", SEEDS)
def test_side_chain_ducks_pad_and_bass_on_every_kick(seed: int) -> None:
    score, midi = _score(60.0, seed, MOODS[seed]), _midi(60.0, seed, MOODS[seed])
    kicks = _drum_onsets(midi, KICK)
    for role in (Role.PAD, Role.BASS):
        expression = sorted(
            (_beat(midi, c.time), c.value)
            for c in _instrument(midi, score, role).control_changes
            if c.number == 11
        )
        assert len(expression) >= 3 * (len(kicks) - 1)

        times = [t for t, _ in expression]

        def value_at(
            beat: float, curve: list[tuple[float, int]] = expression, times: list[float] = times
        ) -> int:
            return curve[bisect.bisect_right(times, beat + 1e-6) - 1][1]

        for kick in kicks[:-1]:
            assert value_at(kick) <= 90, f"{role} not ducked on the kick at {kick}"
            assert value_at(kick + 0.5) >= 120, f"{role} not recovered by the off-beat"
        for bar in _bars(score, "break"):
            assert value_at(bar * 4 + 0.1) == 127, "no pumping without a kick"


def test_harder_moods_pump_deeper() -> None:
    def deepest(mood: str) -> int:
        score, midi = _score(30.0, 1, mood), _midi(30.0, 1, mood)
        pad = _instrument(midi, score, Role.PAD)
        return min(c.value for c in pad.control_changes if c.number == 11)

    assert deepest("energetic") < deepest("sad")


@pytest.mark.parametrize("seed", SEEDS)
def test_off_beat_synth_bass_and_band_programs(seed: int) -> None:
    score, midi = _score(60.0, seed, MOODS[seed]), _midi(60.0, seed, MOODS[seed])
    programs = {t.role: t.program for t in score.tracks}
    assert programs[Role.LEAD] == 81 and programs[Role.PAD] == 90
    assert programs[Role.CHORDS] in (45, 46) and programs[Role.BASS] in (38, 39)
    assert score.track(Role.DRUMS) is not None
    bass = _instrument(midi, score, Role.BASS)
    final = score.chords[-1].start
    onsets = [_beat(midi, n.start) for n in bass.notes if _beat(midi, n.start) < final - 0.01]
    assert onsets
    # The bass never plays on the kick: that is the side-chain's space.
    assert all(abs(o - round(o)) > 0.1 for o in onsets)


@pytest.mark.parametrize("seed", SEEDS)
def test_pluck_arpeggio_runs_in_16ths_in_the_drop(seed: int) -> None:
    score, midi = _score(60.0, seed, MOODS[seed]), _midi(60.0, seed, MOODS[seed])
    pluck = _instrument(midi, score, Role.CHORDS)
    for bar in _bars(score, "drop")[:-1]:
        onsets = {round(_beat(midi, n.start), 3) for n in pluck.notes}
        in_bar = [o for o in onsets if bar * 4 <= o < bar * 4 + 4]
        assert len(in_bar) >= 12
        assert all(abs(o * 4 - round(o * 4)) < 0.01 for o in in_bar)


@pytest.mark.parametrize("seed", SEEDS)
def test_minor_loops_are_the_edm_ones(seed: int) -> None:
    score = compose(CompositionRequest("edm", 30.0, mood="sad", mode="minor"), seed)
    roots = [(span.chord.root - score.tonic) % 12 for span in score.chords[:4]]
    loops = {(0, 8, 3, 10), (0, 10, 8, 10), (0, 5, 8, 10), (8, 10, 0, 0)}
    assert tuple(roots) in loops


def test_form_is_intro_build_drop_break_build_drop_outro_in_blocks() -> None:
    score = _score(300.0, 2)
    names = [s.name for s in score.sections[:-1]]
    assert names == ["intro", "build", "drop", "break", "build", "drop", "outro"]
    assert all(s.bars % 8 == 0 for s in score.sections[1:-1])
    assert [s.name for s in _score(30.0, 2).sections[:-1]][-2:] == ["build", "drop"]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_hook_returns_in_the_second_drop(seed: int) -> None:
    score = _score(60.0, seed, MOODS[seed])
    lead = score.track(Role.LEAD)
    assert lead is not None
    drops: list[Section] = [s for s in score.sections if s.name == "drop"]
    rhythms = [
        [
            round(n.start - d.start_bar * 4, 3)
            for n in lead.notes
            if 0 <= n.start - d.start_bar * 4 < 4
        ]
        for d in drops
    ]
    assert len(rhythms) == 2 and rhythms[0] and rhythms[0] == rhythms[1]


@pytest.mark.parametrize("seconds", [5.0, 30.0, 300.0])
@pytest.mark.parametrize("seed", (0, 5))
def test_exact_length_and_quality(seconds: float, seed: int) -> None:
    score = _score(seconds, seed)
    report = check_score(score)
    assert report.passed, report.failures
    end = max(score.seconds(n.end) for t in score.tracks for n in t.notes)
    assert seconds - 3.1 <= end <= seconds + 1e-6
    assert score.chords[-1].chord.root == score.tonic
    lead = score.track(Role.LEAD)
    assert lead is not None and max(lead.notes).pitch % 12 == score.tonic


def test_tempo_range_and_moods() -> None:
    tempos = {mood: [_score(40.0, s, mood).tempo_bpm for s in SEEDS] for mood in MOODS}
    assert all(120 <= t <= 128 for ts in tempos.values() for t in ts)
    assert sum(tempos["energetic"]) > sum(tempos["sad"])
    assert style_for("edm").tempo_range(MOOD_PROFILES["calm"], None) == (120.0, 128.0)
    dreamy = compose(CompositionRequest("edm", 30.0, mood="dreamy"), 3)
    assert all(span.chord.quality in ("add9", "madd9") for span in dreamy.chords)


def test_deterministic() -> None:
    request = CompositionRequest("edm", 45.0, mood="dark")
    assert midi_bytes(compose(request, 99)) == midi_bytes(compose(request, 99))
