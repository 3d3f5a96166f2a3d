"""Hip hop: boom bap and half-time trap, 808s that follow the kick, hat rolls, drop-outs."""

from __future__ import annotations

import io
import itertools
import random
import statistics
from functools import cache

import pretty_midi
import pytest

from generators.compose import compose
from generators.compose.mood import MOOD_PROFILES
from generators.compose.styles import style_for
from generators.midi import midi_bytes
from generators.quality import check_score
from generators.request import CompositionRequest
from generators.score import Role, Score

SEEDS = (0, 1, 2)
KICK, SNARE, CLAP, CLOSED_HAT, CRASH = 36, 38, 39, 42, 49


@cache
def _score(variant: str | None, seconds: float, seed: int, mood: str | None = None) -> Score:
    return compose(CompositionRequest("hiphop", seconds, mood=mood, variant=variant), seed)


@cache
def _midi(variant: str | None, seconds: float, seed: int) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes(_score(variant, seconds, seed))))


def _beat(midi: pretty_midi.PrettyMIDI, seconds: float) -> float:
    return seconds * midi.get_tempo_changes()[1][0] / 60.0


def _drums(midi: pretty_midi.PrettyMIDI, *keys: int) -> list[float]:
    drums = next(i for i in midi.instruments if i.is_drum)
    return sorted(_beat(midi, n.start) for n in drums.notes if n.pitch in keys)


def _groove_bars(score: Score) -> list[int]:
    """Bars where the full beat plays: verses and hooks, minus the drop-out bar before a hook."""
    body = score.sections[:-1]
    bars: list[int] = []
    for index, section in enumerate(body):
        if section.name not in ("verse", "hook"):
            continue
        following = body[index + 1].name if index + 1 < len(body) else "end"
        last = section.start_bar + section.bars - (1 if following in ("hook", "outro") else 0)
        bars += range(section.start_bar, last)
    return bars


def _near(onsets: list[float], beat: float, tolerance: float = 0.05) -> bool:
    return any(abs(o - beat) < tolerance for o in onsets)


def test_variant_follows_the_request_then_the_mood() -> None:
    style = style_for("hiphop")
    rng = random.Random(0)
    assert style.variant(MOOD_PROFILES["calm"], "trap", rng) == "trap"
    assert style.variant(MOOD_PROFILES["dark"], None, rng) == "trap"
    assert style.variant(MOOD_PROFILES["sad"], None, rng) == "boombap"
    assert style.tempo_range(MOOD_PROFILES["sad"], "trap") == (130.0, 150.0)
    assert style.tempo_range(MOOD_PROFILES["dark"], "boombap") == (85.0, 95.0)
    for seed in SEEDS:
        assert 130 <= _score("trap", 60.0, seed).tempo_bpm <= 150
        assert 85 <= _score("boombap", 60.0, seed).tempo_bpm <= 95
        assert _score(None, 40.0, seed, "energetic").variant == "trap"
        assert _score(None, 40.0, seed, "calm").variant == "boombap"


@pytest.mark.parametrize("seed", SEEDS)
def test_trap_is_half_time_snare_and_clap_on_three(seed: int) -> None:
    score, midi = _score("trap", 60.0, seed), _midi("trap", 60.0, seed)
    backbeat = _drums(midi, SNARE, CLAP)
    bars = _groove_bars(score)
    assert len(bars) >= 8
    for bar in bars:
        start = bar * 4.0
        assert _near(backbeat, start + 2), f"no snare on beat 3 of bar {bar}"
        assert not _near(backbeat, start + 1) and not _near(backbeat, start + 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_trap_hats_roll_in_32nds_and_triplets(seed: int) -> None:
    midi = _midi("trap", 60.0, seed)
    hats = _drums(midi, CLOSED_HAT)
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(hats)]
    thirty_seconds = sum(abs(g - 1 / 8) < 0.02 for g in gaps)
    triplets = sum(abs(g - 1 / 6) < 0.02 or abs(g - 1 / 3) < 0.02 for g in gaps)
    assert thirty_seconds >= 3, "no 1/32 hi-hat rolls"
    assert triplets >= 2, "no triplet hi-hat rolls"


@pytest.mark.parametrize("seed", SEEDS)
def test_boombap_snare_on_two_and_four_with_swung_hats(seed: int) -> None:
    score, midi = _score("boombap", 60.0, seed), _midi("boombap", 60.0, seed)
    snares = _drums(midi, SNARE)
    for bar in _groove_bars(score):
        assert _near(snares, bar * 4 + 1) and _near(snares, bar * 4 + 3)
        assert not _near(snares, bar * 4 + 2, 0.1)
    assert score.swing >= 0.56
    hats = _drums(midi, CLOSED_HAT)
    off_16ths = [h % 0.5 for h in hats if 0.1 < h % 0.5 < 0.4]
    assert off_16ths, "no 16th hats to swing"
    # The off-beat 16ths are pushed late towards the triplet (straight would centre on 0.25).
    assert statistics.median(off_16ths) >= 0.275


@pytest.mark.parametrize("variant", ["trap", "boombap"])
@pytest.mark.parametrize("seed", SEEDS)
def test_808_bass_is_low_and_follows_the_kick(variant: str, seed: int) -> None:
    score, midi = _score(variant, 60.0, seed), _midi(variant, 60.0, seed)
    bass_track = score.track(Role.BASS)
    assert bass_track is not None and bass_track.program in (38, 39)
    bass = midi.instruments[score.tracks.index(bass_track)]
    kicks = _drums(midi, KICK)
    final = score.chords[-1].start
    main = [n for n in bass.notes if n.end - n.start > 0.12]
    assert main
    for note in main:
        assert 36 <= note.pitch <= 55, "an 808 sits low"
        beat = _beat(midi, note.start)
        if beat < final - 0.01:
            assert _near(kicks, beat, 0.03), f"a bass note at {beat} without a kick"


@pytest.mark.parametrize("seed", SEEDS)
def test_trap_808_slides_into_new_notes(seed: int) -> None:
    bass_track = _score("trap", 60.0, seed).track(Role.BASS)
    assert bass_track is not None
    notes = sorted(bass_track.notes)
    slides = [
        (a, b)
        for a, b in itertools.pairwise(notes)
        if a.duration <= 0.2
        and a.end > b.start
        and a.pitch != b.pitch
        and abs(a.pitch - b.pitch) <= 3
    ]
    assert len(slides) >= 2


@pytest.mark.parametrize("variant", ["trap", "boombap"])
@pytest.mark.parametrize("seed", SEEDS)
def test_drop_out_before_every_hook(variant: str, seed: int) -> None:
    score, midi = _score(variant, 60.0, seed), _midi(variant, 60.0, seed)
    hits = _drums(midi, KICK, SNARE, CLAP)
    bass_track = score.track(Role.BASS)
    assert bass_track is not None
    hooks = [s for s in score.sections if s.name == "hook" and s.start_bar > 0]
    assert hooks
    for hook in hooks:
        downbeat = hook.start_bar * 4.0
        assert not [h for h in hits if downbeat - 2 + 0.05 < h < downbeat - 0.05]
        assert not [n for n in bass_track.notes if downbeat - 2 + 0.05 < n.start < downbeat - 0.05]
        assert _near(_drums(midi, KICK), downbeat) and _near(_drums(midi, CRASH), downbeat)


@pytest.mark.parametrize("variant", ["trap", "boombap"])
def test_instruments_and_eight_bar_sections(variant: str) -> None:
    for seed in SEEDS:
        score = _score(variant, 60.0, seed)
        pitched = {t.program for t in score.tracks if not t.is_drum and t.role != Role.BASS}
        assert pitched <= {0, 14, 48, 52}
        assert score.track(Role.LEAD) is not None
        body = [s for s in score.sections if s.name in ("verse", "hook")]
        assert all(s.bars == 8 for s in body)
        if variant == "trap":
            drums = score.track(Role.DRUMS)
            assert drums is not None and drums.program == 25


@pytest.mark.parametrize("seed", SEEDS)
def test_dark_minor_loop_of_two_to_four_chords(seed: int) -> None:
    score = _score("trap", 60.0, seed, "dark")
    verse = next(s for s in score.sections if s.name == "verse")
    spans = [c for c in score.chords if verse.start_bar * 4 <= c.start < (verse.start_bar + 4) * 4]
    distinct = {(c.chord.root, c.chord.quality) for c in spans}
    assert 2 <= len(distinct) <= 4
    tonic_chord = next(c.chord for c in score.chords if c.chord.root == score.tonic)
    assert tonic_chord.quality in ("min", "m7", "m9")


@pytest.mark.parametrize("seconds", [5.0, 30.0, 300.0])
@pytest.mark.parametrize("variant", ["trap", "boombap"])
def test_exact_length_and_quality(seconds: float, variant: str) -> None:
    for seed in (0, 4):
        score = _score(variant, seconds, seed)
        report = check_score(score)
        assert report.passed, report.failures
        end = max(score.seconds(n.end) for t in score.tracks for n in t.notes)
        assert seconds - 3.1 <= end <= seconds + 1e-6
        assert score.chords[-1].chord.root == score.tonic
        lead = score.track(Role.LEAD)
        assert lead is not None and max(lead.notes).pitch % 12 == score.tonic


def test_moods_change_register_and_density() -> None:
    def lead_mean(mood: str) -> float:
        pitches = []
        for seed in SEEDS:
            lead = _score("boombap", 40.0, seed, mood).track(Role.LEAD)
            assert lead is not None
            pitches += [n.pitch for n in lead.notes]
        return sum(pitches) / len(pitches)

    assert lead_mean("dark") < lead_mean("happy")

    def hats(mood: str) -> int:
        drums = _score("trap", 40.0, 1, mood).track(Role.DRUMS)
        assert drums is not None
        return sum(n.pitch == CLOSED_HAT for n in drums.notes)

    assert hats("energetic") > hats("sad")


def test_deterministic() -> None:
    for variant in ("trap", "boombap"):
        request = CompositionRequest("hiphop", 45.0, mood="dark", variant=variant)
        assert midi_bytes(compose(request, 7)) == midi_bytes(compose(request, 7))
