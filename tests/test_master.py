"""Mastering with real pedalboard and scipy, checked by pyloudnorm and resample_poly."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from generators.errors import RenderError
from generators.master import (
    NEUTRAL,
    MasteredAudio,
    colour_for,
    integrated_loudness,
    master,
    true_peak_dbtp,
)

SR = 44100
QUIET = slice(21 * SR, 24 * SR)  # the synthetic piece's quiet passage: one soft sine, nothing else


def synthetic_piece(peak_dbfs: float, seconds: float = 30.0, seed: int = 1) -> np.ndarray:
    """Decaying chords every 2 s, noise bursts every second, and a quiet passage at 20–25 s."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    audio = np.zeros((n, 2))
    envelope = np.exp(-(t % 2.0) * 1.5)
    for i, hz in enumerate((110.0, 220.0, 277.18, 329.63, 440.0)):
        tone = np.sin(2 * np.pi * hz * t + i) * envelope / (1 + i)
        audio[:, 0] += tone * (0.6 + 0.1 * i)
        audio[:, 1] += tone * (1.0 - 0.1 * i)
    bursts = rng.standard_normal((n, 2)) * (((t % 1.0) < 0.05)[:, None] * 0.8)
    audio += bursts
    audio[20 * SR : 25 * SR] = 0.0
    soft = 0.02 * np.sin(2 * np.pi * 330.0 * t[20 * SR : 25 * SR])
    audio[20 * SR : 25 * SR] = soft[:, None]
    audio *= 10 ** (peak_dbfs / 20) / np.abs(audio).max()
    return audio.astype(np.float32)


def measured_true_peak(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.abs(signal.resample_poly(samples, 4, 1, axis=0)).max()))


def measured_lufs(samples: np.ndarray) -> float:
    return float(pyloudnorm.Meter(SR).integrated_loudness(samples.astype(np.float64)))


def high_band_energy(samples: np.ndarray, above_hz: float = 8000.0) -> float:
    spectrum = np.abs(np.fft.rfft(samples, axis=0)) ** 2
    freqs = np.fft.rfftfreq(samples.shape[0], 1 / SR)
    return float(spectrum[freqs > above_hz].sum() / spectrum.sum())


@pytest.fixture(scope="module")
def loud_piece() -> np.ndarray:
    return synthetic_piece(3.0)


@pytest.fixture(scope="module")
def mastered(loud_piece: np.ndarray) -> dict[str, MasteredAudio]:
    return {
        "neutral": master(loud_piece, SR, NEUTRAL, seed=5),
        "lofi": master(loud_piece, SR, colour_for("lofi"), seed=5),
    }


@pytest.mark.parametrize("peak_dbfs", [-30.0, 3.0])
@pytest.mark.parametrize("genre", ["neutral", "lofi"])
def test_loudness_and_true_peak_are_on_target(peak_dbfs: float, genre: str) -> None:
    piece = synthetic_piece(peak_dbfs)
    result = master(piece, SR, colour_for(genre), seed=3)

    assert result.samples.shape == piece.shape
    assert result.samples.dtype == np.float32
    assert result.sample_rate == SR
    assert abs(measured_lufs(result.samples) - -14.0) <= 0.5
    assert measured_true_peak(result.samples) <= -1.5
    # What master() reports is what an independent meter sees.
    assert result.integrated_lufs == pytest.approx(measured_lufs(result.samples), abs=0.1)
    assert result.true_peak_dbtp == pytest.approx(measured_true_peak(result.samples), abs=0.05)


@pytest.mark.parametrize("genre", ["ambient", "jazz", "rock"])
def test_other_colours_keep_length_and_targets(genre: str) -> None:
    piece = synthetic_piece(-6.0, seconds=8.0)
    result = master(piece, SR, colour_for(genre), seed=1)

    assert result.samples.shape == piece.shape
    assert abs(measured_lufs(result.samples) - -14.0) <= 0.5
    assert measured_true_peak(result.samples) <= -1.5


def test_output_ends_with_a_fade_not_a_click(mastered: dict[str, MasteredAudio]) -> None:
    for result in mastered.values():
        assert np.all(result.samples[-1] == 0.0)
        assert np.abs(result.samples[-10:]).max() < 0.01


def test_lofi_darkens_the_top_end(mastered: dict[str, MasteredAudio]) -> None:
    neutral = high_band_energy(mastered["neutral"].samples)
    lofi = high_band_energy(mastered["lofi"].samples)
    assert 10 * np.log10(lofi / neutral) < -6.0


def crackle_residual(samples: np.ndarray) -> np.ndarray:
    """What is left of the quiet passage above 2 kHz, where the soft 330 Hz sine has nothing."""
    highpass = signal.butter(4, 2000.0, "highpass", fs=SR, output="sos")
    return np.asarray(signal.sosfilt(highpass, samples[QUIET], axis=0))


def test_crackle_in_lofi_quiet_passage_only(mastered: dict[str, MasteredAudio]) -> None:
    lofi = crackle_residual(mastered["lofi"].samples)
    neutral = crackle_residual(mastered["neutral"].samples)
    lofi_rms = np.sqrt(np.mean(lofi**2))
    neutral_rms = np.sqrt(np.mean(neutral**2))

    assert 20 * np.log10(lofi_rms / max(neutral_rms, 1e-12)) > 20.0
    # Clicks, not steady noise: short transients well above the residual's RMS.
    assert np.abs(lofi).max() / lofi_rms > 6.0
    # ...and still below the music in that passage.
    music_rms = np.sqrt(np.mean(mastered["lofi"].samples[QUIET] ** 2))
    assert lofi_rms < music_rms


def test_same_seed_same_master(loud_piece: np.ndarray, mastered: dict[str, MasteredAudio]) -> None:
    again = master(loud_piece, SR, colour_for("lofi"), seed=5)
    other_seed = master(loud_piece, SR, colour_for("lofi"), seed=6)

    np.testing.assert_array_equal(again.samples, mastered["lofi"].samples)
    assert not np.array_equal(other_seed.samples, again.samples)


def test_input_is_not_modified(loud_piece: np.ndarray) -> None:
    before = loud_piece.copy()
    master(loud_piece[: SR * 2], SR, colour_for("lofi"), seed=1)
    np.testing.assert_array_equal(loud_piece, before)


@pytest.mark.parametrize("level", [0.0, 1e-6])
def test_silence_stays_quiet(level: float) -> None:
    piece = (np.random.default_rng(0).standard_normal((SR * 5, 2)) * level).astype(np.float32)
    result = master(piece, SR, colour_for("lofi"), seed=1)

    assert result.samples.shape == piece.shape
    assert np.all(np.isfinite(result.samples))
    assert np.abs(result.samples).max() <= max(np.abs(piece).max(), 0.0)
    assert result.integrated_lufs == -math.inf
    assert not math.isnan(result.true_peak_dbtp)


def test_empty_input() -> None:
    result = master(np.zeros((0, 2), np.float32), SR, NEUTRAL, seed=1)
    assert result.samples.shape == (0, 2)


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"\(n_samples, 2\)"):
        master(np.zeros((100,), np.float32), SR, NEUTRAL, seed=1)
    broken = np.zeros((SR, 2), np.float32)
    broken[10, 1] = np.nan
    with pytest.raises(RenderError, match="NaN"):
        master(broken, SR, NEUTRAL, seed=1)


def test_colour_table() -> None:
    assert colour_for("unheard-of") == NEUTRAL
    assert colour_for("LoFi") == colour_for("lofi")
    lofi = colour_for("lofi")
    assert lofi.lowpass_hz == pytest.approx(5000.0)
    assert lofi.crackle_db is not None and -40.0 <= lofi.crackle_db <= -35.0
    ambient = colour_for("ambient")
    assert ambient.reverb_room_size == pytest.approx(0.9)
    assert ambient.reverb_wet == pytest.approx(0.35)


def test_meters_agree_with_reference_implementations(loud_piece: np.ndarray) -> None:
    assert integrated_loudness(loud_piece, SR) == pytest.approx(measured_lufs(loud_piece), abs=0.1)
    assert true_peak_dbtp(loud_piece) == pytest.approx(measured_true_peak(loud_piece), abs=0.01)
