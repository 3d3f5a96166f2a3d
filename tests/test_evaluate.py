"""`tunesmith eval`: the independent estimator, the comparison rules, the aggregation, the command."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from generators.catalog import NOTE_NAMES, Catalog
from generators.errors import BadRequest
from generators.evaluate import (
    ANALYSIS_RATE,
    KeyMatch,
    Listener,
    PieceJob,
    TempoMatch,
    _Worker,
    choose_genres,
    chroma_distance,
    compare_key,
    compare_tempo,
    is_major_family,
    melody_distance,
    summarize,
    summarize_quality,
    true_peak_dbtp,
)

TUNESMITH = shutil.which("tunesmith") or str(
    Path(__file__).resolve().parents[1] / ".venv" / "bin" / "tunesmith"
)


def cadence(tonic: int, major: bool, bpm: float, bars: int = 8) -> np.ndarray:
    """I–IV–V–I (or i–iv–V–i) as organ-like tones, one chord a bar, with a click on every beat."""
    rate = ANALYSIS_RATE
    beat = 60.0 / bpm
    third = 4 if major else 3
    # Root-position triads over a bass note, the dominant always major (leading tone), as taught.
    chords = [(0, third, 7), (5, 5 + third, 12), (7, 11, 14), (0, third, 7)]
    audio = np.zeros(round(bars * 4 * beat * rate) + rate, np.float64)
    t = np.arange(round(4 * beat * rate)) / rate
    envelope = np.minimum(1.0, t / 0.02) * np.exp(-t / (3 * beat))
    for bar in range(bars):
        steps = chords[bar % 4]
        start = round(bar * 4 * beat * rate)
        tone = np.zeros_like(t)
        for pitch in [60 + tonic + step for step in steps] + [48 + tonic + steps[0]]:
            frequency = 440.0 * 2 ** ((pitch - 69) / 12)
            for harmonic in (1, 2, 3):
                tone += np.sin(2 * np.pi * frequency * harmonic * t) / harmonic**1.5
        audio[start : start + len(t)] += 0.08 * tone * envelope
    click_t = np.arange(round(0.03 * rate)) / rate
    rng = np.random.default_rng(0)
    for index in range(bars * 4):
        start = round(index * beat * rate)
        accent = 1.0 if index % 4 == 0 else 0.6
        click = rng.standard_normal(len(click_t)) * np.exp(-click_t / 0.005)
        audio[start : start + len(click)] += 0.5 * accent * click
    return np.asarray(audio / np.abs(audio).max() * 0.8, np.float32)


@pytest.fixture(scope="module")
def listener() -> Listener:
    return Listener()


@pytest.mark.parametrize(
    ("tonic", "major", "bpm"), [(2, True, 120.0), (6, False, 96.0), (10, True, 140.0)]
)
def test_listener_hears_the_key_and_tempo_of_a_cadence(
    listener: Listener, tonic: int, major: bool, bpm: float
) -> None:
    mono = cadence(tonic, major, bpm)
    key = listener.key(mono)
    assert (key.tonic, key.major) == (tonic, major), (key, NOTE_NAMES[tonic])
    tempo = listener.tempo(mono)
    assert compare_tempo(bpm, tempo.bpm) is TempoMatch.EXACT, tempo


def test_listener_is_deterministic_and_resamples(listener: Listener) -> None:
    mono = cadence(9, False, 110.0, bars=4)
    assert listener.key(mono) == listener.key(mono)
    assert listener.tempo(mono) == listener.tempo(mono)
    stereo_48k = np.repeat(mono[:, None], 2, axis=1)
    resampled = listener.mono(stereo_48k, 48000)
    assert resampled.dtype == np.float32
    assert abs(len(resampled) - len(mono) * ANALYSIS_RATE / 48000) <= 1


@pytest.mark.parametrize(
    ("asked", "heard", "expected"),
    [
        ((0, True), (0, True), KeyMatch.EXACT),  # C major heard as C major
        ((0, True), (7, True), KeyMatch.FIFTH),  # G major: the dominant
        ((0, True), (5, True), KeyMatch.FIFTH),  # F major: the subdominant
        ((0, True), (9, False), KeyMatch.RELATIVE),  # A minor
        ((9, False), (0, True), KeyMatch.RELATIVE),  # A minor heard as C major
        ((0, True), (0, False), KeyMatch.PARALLEL),  # C minor
        ((9, False), (4, False), KeyMatch.FIFTH),  # A minor heard as E minor
        (
            (9, False),
            (4, True),
            KeyMatch.OTHER,
        ),  # E major: the dominant's mode is not a fifth error
        ((0, True), (2, True), KeyMatch.OTHER),
        ((0, True), (4, False), KeyMatch.OTHER),  # E minor is not relative to C major
    ],
)
def test_compare_key(asked: tuple[int, bool], heard: tuple[int, bool], expected: KeyMatch) -> None:
    assert compare_key(*asked, *heard) is expected


@pytest.mark.parametrize(
    ("asked", "heard", "expected"),
    [
        (120.0, 120.0, TempoMatch.EXACT),
        (120.0, 124.7, TempoMatch.EXACT),  # 3.9 % off
        (120.0, 125.5, TempoMatch.OTHER),  # 4.6 % off
        (76.6, 153.0, TempoMatch.DOUBLE),  # lofi heard in double time
        (140.0, 70.3, TempoMatch.HALF),  # half-time trap
        (90.0, 135.0, TempoMatch.OTHER),  # 3:2 is not an octave error
    ],
)
def test_compare_tempo(asked: float, heard: float, expected: TempoMatch) -> None:
    match = compare_tempo(asked, heard)
    assert match is expected
    assert match.recovered is (expected is not TempoMatch.OTHER)


def test_mode_families() -> None:
    assert [is_major_family(m) for m in ("major", "lydian", "mixolydian")] == [True] * 3
    assert [is_major_family(m) for m in ("minor", "dorian", "phrygian")] == [False] * 3
    with pytest.raises(ValueError, match="mode must be one of"):
        is_major_family("locrian sharp 2")


def test_summarize_takes_the_worst_in_the_metric_direction() -> None:
    assert summarize("scale_consistency", [0.9, 1.0, 0.7]).worst == 0.7  # default: lower is worse
    assert summarize("some_new_metric", [3.0, 1.0, 2.0]).worst == 1.0
    assert summarize("empty_beat_rate", [0.0, 0.2, 0.1]).worst == 0.2
    assert summarize("true_peak_dbtp", [-2.5, -1.2, -3.0]).worst == -1.2
    loudness = summarize("integrated_lufs", [-14.0, -13.2, -14.5])
    assert (loudness.median, loudness.worst, loudness.count) == (-14.0, -13.2, 3)
    assert summarize("length_s", [30.0, 29.95, 30.02], target=30.0).worst == 29.95
    with pytest.raises(ValueError, match="no values"):
        summarize("x", [])


def test_summarize_quality_takes_every_numeric_key() -> None:
    qualities: list[dict[str, object]] = [
        {"passed": True, "failures": "", "attempts": 1, "empty_beat_rate": 0.0, "groove": 0.9},
        {"passed": False, "failures": "x", "attempts": 3, "empty_beat_rate": 0.25, "groove": 0.6},
        {"passed": True, "attempts": 1, "groove": math.nan, "notes": None},
    ]
    numbers, shares = summarize_quality(qualities)
    assert set(numbers) == {"attempts", "empty_beat_rate", "groove"}
    assert (numbers["attempts"].median, numbers["attempts"].worst) == (1.0, 3.0)
    assert numbers["empty_beat_rate"].worst == 0.25
    assert (numbers["groove"].worst, numbers["groove"].count) == (0.6, 2)  # NaN left out
    assert shares == {"passed": pytest.approx(2 / 3)}


def test_distances() -> None:
    tune = (2, 2, -4, 5, -1)
    assert melody_distance(tune, tune) == 0.0
    assert melody_distance(tune, (7, 7, 7, 7, 7)) == 1.0
    assert 0.0 < melody_distance(tune, (2, 2, -4, 3, -1)) < 0.5
    a = np.eye(12)[[0, 4, 7]]
    assert chroma_distance(a, a) == pytest.approx(0.0)
    assert chroma_distance(a, np.eye(12)[[1, 5, 8]]) == pytest.approx(1.0)


def test_true_peak_finds_the_peak_between_samples() -> None:
    # A quarter-rate sine sampled at ±45°: every sample is 0.707 of the true amplitude 1.0.
    n = np.arange(4096)
    tone = np.sin(np.pi / 2 * n + np.pi / 4)
    stereo = np.stack([tone, tone], axis=1) * 0.5
    sample_peak = 20 * math.log10(np.abs(stereo).max())
    assert sample_peak == pytest.approx(-9.03, abs=0.05)
    assert true_peak_dbtp(stereo) == pytest.approx(-6.02, abs=0.2)


def test_choose_genres_rejects_unknown_names(catalog: Catalog) -> None:
    with pytest.raises(BadRequest, match="valid genres: lofi, jazz"):
        choose_genres(catalog, ["lofi", "nope"])
    ready, skipped = choose_genres(catalog, ["lofi", "lofi"])
    assert (ready, skipped) == (["lofi"], {})


@pytest.mark.slow
def test_a_piece_measures_the_same_whatever_was_made_before(
    soundfont: Path, tmp_path: Path
) -> None:
    worker = _Worker(soundfont)
    first = worker.evaluate(PieceJob("lofi", 3, 8.0, tmp_path))
    worker.evaluate(PieceJob("jazz", 1, 8.0, tmp_path))
    again = worker.evaluate(PieceJob("lofi", 3, 8.0, tmp_path))
    assert (first.key, first.tempo, first.loudness_lufs, first.true_peak_dbtp) == (
        again.key,
        again.tempo,
        again.loudness_lufs,
        again.true_peak_dbtp,
    )
    assert np.array_equal(first.chroma, again.chroma)
    assert first.quality == again.quality and first.intervals == again.intervals
    assert abs(first.length_s - 8.0) <= 0.1 and first.length_ok
    assert not list(tmp_path.iterdir())  # the piece's files are removed once measured


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TUNESMITH_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "160"}
    return subprocess.run(
        [TUNESMITH, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_eval_end_to_end(tmp_path: Path) -> None:
    report = tmp_path / "quality.md"
    done = run(
        "eval", "--genres", "lofi", "--seeds", "2", "--seconds", "10", "--markdown", str(report),
        tmp_path=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for text in ("lofi: pieces", "lofi: metrics", "Summary", "key ok", "tempo ok", "2 pieces"):
        assert text in done.stdout, text
    markdown = report.read_text()
    assert markdown.startswith("# Tunesmith quality evaluation")
    for text in (
        "Machine:",
        "Command: `tunesmith eval --genres lofi",
        "Essentia",
        "| lofi | 2 |",
        "## Targets (all genres together)",
        "| key recovered | ≥ 90 % of pieces |",
    ):
        assert text in markdown, text
    assert "INFO" not in done.stderr


def test_eval_rejects_an_unknown_genre(tmp_path: Path) -> None:
    done = run("eval", "--genres", "nope", "--seeds", "1", tmp_path=tmp_path)
    assert done.returncode == 2
    assert "unknown genre 'nope'" in done.stderr and "valid genres: lofi" in done.stderr


def test_eval_rejects_a_bad_seed_count(tmp_path: Path) -> None:
    done = run("eval", "--seeds", "0", tmp_path=tmp_path)
    assert done.returncode == 2
    assert "seeds must be between 1 and 100" in done.stderr
