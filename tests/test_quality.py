"""Quality control: MusPy's metrics on hand-built scores with known answers, per-genre thresholds,
broken pieces caught, the retry path recorded, real pieces passing."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from generators import pipeline, quality
from generators.catalog import Catalog
from generators.compose import compose
from generators.midi import midi_bytes
from generators.pipeline import MAX_ATTEMPTS, PieceMaker, derived_seed
from generators.quality import (
    DEFAULT_THRESHOLDS,
    GENRE_THRESHOLDS,
    NoteGrid,
    QualityReport,
    check_audio,
    check_score,
    thresholds_for,
)
from generators.render import Renderer
from generators.request import CompositionRequest
from generators.score import Chord, ChordSpan, Note, Role, Score, Section, Track

C_MAJOR = (60, 62, 64, 65, 67, 69, 71)


def make_score(*tracks: Track, genre: str = "lofi", beats_per_bar: int = 4) -> Score:
    end = max((n.end for t in tracks for n in t.notes), default=1.0)
    bars = max(1, math.ceil(end / beats_per_bar))
    return Score(
        title="Test",
        genre=genre,
        mood="calm",
        tonic=0,
        mode="major",
        tempo_bpm=120.0,
        beats_per_bar=beats_per_bar,
        duration_s=end * 0.5 + 2.0,
        seed=1,
        swing=0.5,
        sections=(Section("A", 0, bars),),
        chords=(ChordSpan(0.0, end, Chord(0, "maj7")),),
        tracks=tracks,
    )


def lead(*notes: tuple[float, float, int]) -> Track:
    return Track("lead", Role.LEAD, 0, notes=tuple(Note(s, d, p, 90) for s, d, p in notes))


def drums(*starts: float) -> Track:
    return Track(
        "drums", Role.DRUMS, 0, is_drum=True, notes=tuple(Note(s, 0.25, 42, 80) for s in starts)
    )


def grid(*tracks: Track) -> NoteGrid:
    return NoteGrid.from_score(make_score(*tracks))


# The metrics on hand-built scores ------------------------------------------------------------


def test_scale_consistency_of_a_major_scale_is_one() -> None:
    assert quality.scale_consistency(grid(lead(*((i, 1, p) for i, p in enumerate(C_MAJOR))))) == 1.0


def test_scale_consistency_counts_notes_outside_the_best_scale() -> None:
    # Six notes of C major and two chromatic ones (C#, F#): no major or minor scale holds more
    # than 7 of the 8 (D major holds C# and F# but loses C and F), so 6/8 or better — exactly 6/8
    # because every scale containing C#, F# drops two of C, F, ...; check against the definition.
    pitches = (60, 62, 64, 67, 69, 71, 61, 66)
    value = quality.scale_consistency(grid(lead(*((i, 1, p) for i, p in enumerate(pitches)))))
    best = max(
        sum(1 for p in pitches if (p - root) % 12 in steps) / len(pitches)
        for root in range(12)
        for steps in ({0, 2, 4, 5, 7, 9, 11}, {0, 2, 3, 5, 7, 8, 10})
    )
    assert value == pytest.approx(best)
    assert value < 1.0


def test_pitch_class_entropy_of_a_chromatic_scale_is_log2_12() -> None:
    chromatic = grid(lead(*((i, 1, 60 + i) for i in range(12))))
    assert quality.pitch_class_entropy(chromatic) == pytest.approx(math.log2(12))
    one_pitch = grid(lead(*((i, 1, 60 + 12 * (i % 2)) for i in range(8))))
    assert quality.pitch_class_entropy(one_pitch) == 0.0
    two_equal = grid(lead((0, 1, 60), (1, 1, 67)))
    assert quality.pitch_class_entropy(two_equal) == pytest.approx(1.0)


def test_drums_are_ignored_by_the_pitch_metrics() -> None:
    g = grid(lead((0, 1, 60), (1, 1, 64)), drums(0, 1, 2))
    assert quality.scale_consistency(g) == 1.0
    assert quality.pitch_class_entropy(g) == pytest.approx(1.0)


def _bar(bar: int, offsets: tuple[float, ...]) -> list[tuple[float, float, int]]:
    return [(bar * 4 + o, 0.25, 60) for o in offsets]


def test_identical_bars_have_perfect_groove_consistency() -> None:
    notes = [n for bar in range(4) for n in _bar(bar, (0, 1, 2, 3))]
    assert quality.groove_consistency(grid(lead(*notes))) == 1.0


def test_a_bar_with_other_onsets_lowers_groove_consistency() -> None:
    offsets = {0: (0, 1, 2, 3), 1: (0.25, 1.5, 2.75), 2: (0, 1, 2, 3), 3: (0, 1, 2, 3)}
    notes = [n for bar, bar_offsets in offsets.items() for n in _bar(bar, bar_offsets)]
    # 96 ticks a bar; bar 1 shares no onset with its neighbours: 7 + 7 differing positions.
    assert quality.groove_consistency(grid(lead(*notes))) == pytest.approx(1 - 14 / (96 * 3))


def test_random_onsets_give_a_low_groove_consistency() -> None:
    rng = random.Random(3)
    notes = [(bar * 4 + rng.random() * 4, 0.1, 60) for bar in range(16) for _ in range(12)]
    assert quality.groove_consistency(grid(lead(*notes))) < 0.85


def test_groove_consistency_is_not_applicable_to_one_bar() -> None:
    assert math.isnan(quality.groove_consistency(grid(lead((0, 1, 60), (1, 1, 62)))))


def test_drums_on_the_sixteenth_or_triplet_grid_are_fully_consistent() -> None:
    assert quality.drum_pattern_consistency(grid(drums(*(i / 4 for i in range(32))))) == 1.0
    assert quality.drum_pattern_consistency(grid(drums(*(i / 3 for i in range(24))))) == 1.0


def test_drums_off_the_grids_lower_drum_pattern_consistency() -> None:
    # Half on the 16th grid, half at 0.1 beat past it (tick 2 or 8 + 2 of 24: on neither grid).
    hits = [i / 2 for i in range(8)] + [i / 2 + 0.1 for i in range(8)]
    assert quality.drum_pattern_consistency(grid(drums(*hits))) == pytest.approx(0.5)


def test_drum_pattern_consistency_is_not_applicable_without_drums() -> None:
    assert math.isnan(quality.drum_pattern_consistency(grid(lead((0, 1, 60)))))


def test_a_few_milliseconds_of_humanisation_stay_on_the_grid() -> None:
    # 4 ms early or late at 120 BPM is under half a tick of 24 per beat.
    hits = [i / 4 + (0.008 if i % 2 else -0.008) for i in range(1, 16)]
    assert quality.drum_pattern_consistency(grid(drums(*hits))) == 1.0


def test_empty_beat_rate_counts_silent_beats() -> None:
    # Notes in beat 0 and beat 7 only: beats 1–6 of 8 are empty.
    assert quality.empty_beat_rate(grid(lead((0, 0.5, 60), (7, 0.5, 60)))) == pytest.approx(0.75)
    busy = grid(lead(*((i, 1, 60) for i in range(8))))
    assert quality.empty_beat_rate(busy) == 0.0


def test_polyphony_and_polyphony_rate() -> None:
    chord_then_note = grid(lead((0, 1, 60), (0, 1, 64), (0, 1, 67), (1, 1, 72)))
    assert quality.polyphony(chord_then_note) == pytest.approx(2.0)  # (3 + 1) / 2
    assert quality.polyphony_rate(chord_then_note) == pytest.approx(
        0.5
    )  # > 2 pitches half the time


def test_a_pitch_doubled_by_two_tracks_sounds_once() -> None:
    doubled = grid(
        lead((0, 2, 60), (1, 2, 60)), replace(lead((0, 1, 60)), name="pad", role=Role.PAD)
    )
    assert quality.polyphony(doubled) == 1.0


def test_score_metrics_report_melodic_range_and_not_applicable_drums() -> None:
    score = make_score(lead((0, 1, 60), (1, 1, 67), (2, 1, 72)))
    metrics = quality.score_metrics(score)
    assert metrics["melodic_range"] == 12
    assert metrics["drum_pattern_consistency"] is None
    assert metrics["ends_on_tonic"] is True


# Thresholds -----------------------------------------------------------------------------------


def test_every_genre_has_thresholds_and_unknown_genres_get_the_defaults() -> None:
    genres = {info.name for info in Catalog.default().genres}
    assert genres <= set(GENRE_THRESHOLDS)
    assert thresholds_for("polka") is DEFAULT_THRESHOLDS
    # Jazz's approach tones and tritone substitutions are normal, a lofi melody is diatonic.
    assert (
        thresholds_for("jazz").min_scale_consistency < thresholds_for("lofi").min_scale_consistency
    )


def test_thresholds_are_applied_per_genre() -> None:
    # 12 bars of C, E, G with every fourth note a black key: scale consistency 0.75, low for
    # lofi, normal for jazz.
    black = (61, 63, 66, 68, 70)
    notes = [
        (i * 0.5, 0.5, black[i // 4 % 5] if i % 4 == 3 else (60, 64, 67)[i % 4]) for i in range(96)
    ]
    notes.append((48, 2, 60))
    track = lead(*notes)
    as_lofi, as_jazz = make_score(track, genre="lofi"), make_score(track, genre="jazz")
    assert any("scale consistency" in f for f in check_score(as_lofi).failures)
    assert not any("scale consistency" in f for f in check_score(as_jazz).failures)


@pytest.fixture(scope="module")
def lofi_score() -> Score:
    return compose(CompositionRequest("lofi", 30.0), 4)


def _with_lead(score: Score, notes: list[Note]) -> Score:
    return score.with_tracks(
        tuple(replace(t, notes=tuple(notes)) if t.role == Role.LEAD else t for t in score.tracks)
    )


def test_a_real_piece_passes_and_reports_every_metric(lofi_score: Score) -> None:
    report = check_score(lofi_score)
    assert report.passed, report.failures
    data = report.as_dict(attempts=1)
    for key in (
        "scale_consistency",
        "pitch_class_entropy",
        "groove_consistency",
        "drum_pattern_consistency",
        "empty_beat_rate",
        "polyphony",
        "polyphony_rate",
        "melodic_range",
        "notes_out_of_range",
        "ends_on_tonic",
        "final_chord_tonic",
    ):
        assert key in data
    assert data["passed"] is True and data["attempts"] == 1 and data["failures"] == []


def test_an_off_key_melody_fails_with_a_clear_message(lofi_score: Score) -> None:
    rng = random.Random(9)
    end = max(n.end for t in lofi_score.tracks for n in t.notes)
    noise = [Note(rng.random() * (end - 2), 0.2, rng.randrange(60, 84), 90) for _ in range(600)] + [
        Note(end - 2, 1.0, 60 + lofi_score.tonic, 90)
    ]
    report = check_score(_with_lead(lofi_score, noise))
    assert not report.passed
    assert any(f.startswith("scale consistency") for f in report.failures), report.failures
    assert any(f.startswith("groove consistency") for f in report.failures), report.failures
    assert "needs ≥" in " ".join(report.failures)


def test_a_stretch_of_silence_fails(lofi_score: Score) -> None:
    spb = lofi_score.beats_per_bar
    hole = (2 * spb, 6 * spb)
    tracks = tuple(
        replace(t, notes=tuple(n for n in t.notes if not hole[0] - 1 <= n.start < hole[1]))
        for t in lofi_score.tracks
    )
    report = check_score(lofi_score.with_tracks(tracks))
    assert any(f.startswith("empty beat rate") for f in report.failures), report.failures


def test_a_melody_ending_off_the_tonic_fails(lofi_score: Score) -> None:
    notes = list(lofi_score.track(Role.LEAD).notes)  # type: ignore[union-attr]
    last = max(notes, key=lambda n: (n.start, n.pitch))
    notes = [Note(n.start, n.duration, n.pitch + 2, n.velocity) if n is last else n for n in notes]
    report = check_score(_with_lead(lofi_score, notes))
    assert "the melody does not end on the tonic" in report.failures


def test_short_stings_are_not_held_to_the_statistical_checks() -> None:
    pad = Track("pad", Role.PAD, 89, notes=(Note(0, 4, 48, 60), Note(0, 4, 55, 60)))
    sting = make_score(lead((0, 1, 60), (1, 1, 60), (2, 2, 60)), pad, drums(0.1, 1.1, 2.1))
    report = check_score(sting)
    assert report.metrics["drum_pattern_consistency"] == 0.0
    assert report.passed, report.failures


def test_an_empty_piece_fails_without_crashing() -> None:
    report = check_score(make_score(drums(0, 1, 2, 3)))
    assert report.failures == ("the piece has no pitched notes",)


def test_reports_merge() -> None:
    a = QualityReport(True, {"x": 1.0})
    b = QualityReport(False, {"y": 2.0}, ("too loud",))
    merged = a.merged(b)
    assert not merged.passed and merged.metrics == {"x": 1.0, "y": 2.0}
    assert merged.failures == ("too loud",)


# Real pieces --------------------------------------------------------------------------------


@pytest.mark.parametrize("genre", ["lofi", "jazz", "ambient"])
def test_normal_pieces_pass(genre: str) -> None:
    for seed in range(12):
        for duration in (12.0, 30.0, 75.0):
            score = compose(CompositionRequest(genre, duration), seed)
            report = check_score(score)
            assert report.passed, (genre, seed, duration, report.failures)
            if genre == "ambient":
                assert report.metrics["drum_pattern_consistency"] is None


def test_our_metrics_agree_with_muspy_on_our_midi_files(tmp_path: Path) -> None:
    muspy = pytest.importorskip("muspy")
    for genre, seed in (("lofi", 1), ("jazz", 2), ("ambient", 3), ("jazz", 7)):
        score = compose(CompositionRequest(genre, 30.0), seed)
        path = tmp_path / f"{genre}-{seed}.mid"
        path.write_bytes(midi_bytes(score))
        music = muspy.read_midi(path).adjust_resolution(quality.TICKS_PER_BEAT)
        ours = NoteGrid.from_score(score)
        measure = quality.TICKS_PER_BEAT * score.beats_per_bar
        pairs = [
            (quality.scale_consistency(ours), muspy.scale_consistency(music)),
            (quality.pitch_class_entropy(ours), muspy.pitch_class_entropy(music)),
            (quality.groove_consistency(ours), muspy.groove_consistency(music, measure)),
            (quality.drum_pattern_consistency(ours), muspy.drum_pattern_consistency(music)),
            (quality.empty_beat_rate(ours), muspy.empty_beat_rate(music)),
            (quality.polyphony(ours), muspy.polyphony(music)),
            (quality.polyphony_rate(ours), muspy.polyphony_rate(music)),
        ]
        for mine, theirs in pairs:
            assert (math.isnan(mine) and math.isnan(theirs)) or mine == pytest.approx(theirs)


# Audio checks -------------------------------------------------------------------------------


def test_audio_checks_catch_a_silent_gap_and_a_wrong_length() -> None:
    rate = 8000
    t = np.arange(rate * 6) / rate
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    assert check_audio(tone, rate, 6.0, -14.0, -3.0).passed
    holed = tone.copy()
    holed[rate : rate * 3] = 0.0
    report = check_audio(holed, rate, 5.0, -14.0, -3.0)
    assert report.metrics["longest_silence_s"] == pytest.approx(2.0, abs=0.11)
    assert any("silent gap" in f for f in report.failures)
    assert any(f.startswith("length") for f in report.failures)
    assert not check_audio(tone, rate, 6.0, -18.0, -0.5).passed


# The retry path, with real rendering --------------------------------------------------------


@pytest.fixture(scope="module")
def maker(renderer: Renderer, catalog: Catalog) -> PieceMaker:
    return PieceMaker(renderer, catalog, cores=1)


STING = CompositionRequest("lofi", 5.0, text="lofi 5s")


@pytest.mark.slow
def test_a_failing_piece_is_composed_again_from_a_derived_seed(
    maker: PieceMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = quality.check_score

    def first_seed_fails(score: Score) -> QualityReport:
        report = real(score)
        if score.seed == 21:
            return QualityReport(False, report.metrics, ("the melody is off key",))
        return report

    monkeypatch.setattr(pipeline, "check_score", first_seed_fails)
    piece = maker.make(STING, 21, tmp_path, "retried")
    assert piece.quality["attempts"] == 2
    assert piece.quality["passed"] is True
    assert piece.score.seed == derived_seed(21, 1)
    assert piece.quality["rejected"] == ["seed 21: the melody is off key"]


@pytest.mark.slow
def test_an_audio_failure_is_retried_too(
    maker: PieceMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = quality.check_audio

    def first_render_clips(*args: object, **kwargs: object) -> QualityReport:
        report = real(*args, **kwargs)  # type: ignore[arg-type]
        calls.append(1)
        if len(calls) == 1:
            return QualityReport(False, report.metrics, ("412 clipped samples",))
        return report

    monkeypatch.setattr(pipeline, "check_audio", first_render_clips)
    piece = maker.make(STING, 5, tmp_path, "reaudio")
    assert piece.quality["attempts"] == 2 and piece.quality["passed"] is True
    assert piece.quality["rejected"] == ["seed 5: 412 clipped samples"]


@pytest.mark.slow
def test_when_every_attempt_fails_the_last_piece_is_kept_and_flagged(
    maker: PieceMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def always_fails(score: Score) -> QualityReport:
        return QualityReport(False, quality.score_metrics(score), ("the melody is off key",))

    monkeypatch.setattr(pipeline, "check_score", always_fails)
    piece = maker.make(STING, 8, tmp_path, "flagged")
    assert piece.quality["attempts"] == MAX_ATTEMPTS
    assert piece.quality["passed"] is False
    assert piece.quality["failures"] == ["the melody is off key"]
    assert len(piece.quality["rejected"]) == MAX_ATTEMPTS - 1  # type: ignore[arg-type]
    assert piece.files.mp3.exists() and "integrated_lufs" in piece.quality
