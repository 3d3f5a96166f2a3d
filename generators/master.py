"""Mastering: per-genre colour, bus glue, loudness normalisation and a true-peak-safe limiter.

The input is FluidSynth's float32 stereo output at whatever level it came out; the output is the
same number of samples at -14 LUFS integrated with a true peak at or below -1.5 dBTP, which leaves
room for the overshoot MP3 encoding adds (the product promise after decoding is -14 ± 1 LUFS and
≤ -1 dBTP).

Everything works on planar ``(2, n)`` float32 internally because that is pedalboard's native layout
and scipy filters run along the last axis without copies. This module is on the hot path, so every
stage is a handful of whole-array numpy/scipy/pedalboard passes and nothing loops per sample.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pedalboard
from scipy import signal

from generators.errors import RenderError

__all__ = [
    "NEUTRAL",
    "TARGET_LUFS",
    "TRUE_PEAK_CEILING_DBTP",
    "Colour",
    "MasteredAudio",
    "colour_for",
    "integrated_loudness",
    "integrated_loudness_planar",
    "master",
    "true_peak_dbtp",
]

TARGET_LUFS = -14.0
TRUE_PEAK_CEILING_DBTP = -1.5
# Colour and glue settings are tuned for material at this level, so the input is brought here first;
# otherwise a -30 dBFS render would never touch the compressor and a +3 dBFS one would be crushed.
REFERENCE_LUFS = -20.0
# The limiter is sample-peak; asking for 0.5 dB below the true-peak ceiling leaves room for the
# inter-sample overshoot that the oversampled check then measures.
_LIMITER_CEILING_DBFS = -2.0
# Drive the limiter slightly hot: trimming down afterwards is free (no re-limit needed), while
# trimming up raises the peaks and may cost another pass.
_LIMITER_HEADROOM_DB = 0.4
_MAX_LIMIT_PASSES = 3
_LOUDNESS_TOLERANCE_LU = 0.2
_FADE_OUT_S = 0.020
_ABSOLUTE_GATE_LUFS = -70.0
_RELATIVE_GATE_LU = -10.0


@dataclass(frozen=True, slots=True)
class Colour:
    """How a genre's master is coloured before glue compression and loudness normalisation.

    Levels in dB are relative to the reference level the input is normalised to first, so a colour
    sounds the same whatever level the synthesiser produced.
    """

    name: str = "neutral"
    highpass_hz: float | None = None
    lowpass_hz: float | None = None  # 12 dB/octave Butterworth: gentle, like a worn tape head
    high_shelf_hz: float = 8000.0
    high_shelf_db: float = 0.0
    saturation_drive: float = 0.0  # tanh drive; 0 turns tape saturation off
    saturation_mix: float = 0.0
    wow_cents: float = 0.0
    wow_hz: float = 0.5
    flutter_cents: float = 0.0
    flutter_hz: float = 6.0
    crackle_db: float | None = None  # vinyl crackle + hiss loudness relative to the music
    reverb_room_size: float = 0.0
    reverb_wet: float = 0.0  # 0 turns the reverb off
    reverb_damping: float = 0.5
    reverb_width: float = 1.0
    compressor_threshold_db: float = -26.0
    compressor_ratio: float = 1.5
    compressor_attack_ms: float = 30.0
    compressor_release_ms: float = 250.0


NEUTRAL = Colour()

_COLOURS: Mapping[str, Colour] = MappingProxyType(
    {
        "lofi": Colour(
            name="lofi",
            highpass_hz=40.0,
            lowpass_hz=5000.0,
            saturation_drive=1.8,
            saturation_mix=0.5,
            wow_cents=5.0,
            flutter_cents=2.0,
            crackle_db=-37.0,
            compressor_threshold_db=-26.0,
            compressor_ratio=2.0,
            compressor_attack_ms=25.0,
            compressor_release_ms=300.0,
        ),
        "ambient": Colour(
            name="ambient",
            high_shelf_hz=6000.0,
            high_shelf_db=-3.0,
            reverb_room_size=0.9,
            reverb_wet=0.35,
            reverb_damping=0.4,
            reverb_width=1.0,
            compressor_threshold_db=-28.0,
            compressor_ratio=1.5,
            compressor_attack_ms=50.0,
            compressor_release_ms=400.0,
        ),
        "jazz": Colour(
            name="jazz",
            reverb_room_size=0.3,
            reverb_wet=0.08,
            reverb_damping=0.6,
            reverb_width=0.8,
            compressor_threshold_db=-26.0,
            compressor_ratio=1.8,
            compressor_attack_ms=30.0,
            compressor_release_ms=200.0,
        ),
        # A hall around the piano or quartet, no glue compression to flatten the dynamics.
        "classical": Colour(
            name="classical",
            reverb_room_size=0.7,
            reverb_wet=0.18,
            reverb_damping=0.5,
            compressor_threshold_db=-30.0,
            compressor_ratio=1.3,
            compressor_attack_ms=60.0,
            compressor_release_ms=400.0,
        ),
        # Big hall and a gentle top cut: strings and brass bloom, timpani don't bite.
        "cinematic": Colour(
            name="cinematic",
            high_shelf_hz=9000.0,
            high_shelf_db=-2.0,
            reverb_room_size=0.85,
            reverb_wet=0.22,
            reverb_damping=0.45,
            compressor_threshold_db=-26.0,
            compressor_ratio=1.6,
            compressor_attack_ms=40.0,
            compressor_release_ms=350.0,
        ),
        # Guitars pushed into the bus: saturation and firmer glue.
        "rock": Colour(
            name="rock",
            highpass_hz=35.0,
            saturation_drive=1.6,
            saturation_mix=0.35,
            compressor_threshold_db=-22.0,
            compressor_ratio=2.5,
            compressor_attack_ms=15.0,
            compressor_release_ms=150.0,
        ),
        # A punchy, bright club bus; the pumping is already in the score's CC11 side-chain.
        "edm": Colour(
            name="edm",
            highpass_hz=30.0,
            high_shelf_hz=9000.0,
            high_shelf_db=1.5,
            reverb_room_size=0.5,
            reverb_wet=0.1,
            compressor_threshold_db=-22.0,
            compressor_ratio=3.0,
            compressor_attack_ms=5.0,
            compressor_release_ms=120.0,
        ),
        # 808 grit from saturation, a short room, firm glue.
        "hiphop": Colour(
            name="hiphop",
            highpass_hz=25.0,
            saturation_drive=1.4,
            saturation_mix=0.3,
            reverb_room_size=0.35,
            reverb_wet=0.06,
            compressor_threshold_db=-24.0,
            compressor_ratio=2.5,
            compressor_attack_ms=15.0,
            compressor_release_ms=150.0,
        ),
        # Dry like a console: no reverb, no tape, just level.
        # Dry like a console: no reverb, no tape; a little extra brightness.
        "chiptune": Colour(
            name="chiptune",
            highpass_hz=30.0,
            high_shelf_hz=6000.0,
            high_shelf_db=2.0,
            compressor_threshold_db=-24.0,
            compressor_ratio=1.5,
        ),
        "synthwave": Colour(
            name="synthwave",
            reverb_room_size=0.75,
            reverb_wet=0.15,
            reverb_width=1.0,
            saturation_drive=1.2,
            saturation_mix=0.2,
            compressor_threshold_db=-22.0,
            compressor_ratio=2.2,
            compressor_attack_ms=20.0,
            compressor_release_ms=200.0,
        ),
        # Warm tape, a dry tight room, a little air on top.
        "funk": Colour(
            name="funk",
            highpass_hz=35.0,
            saturation_drive=1.2,
            saturation_mix=0.25,
            high_shelf_db=1.0,
            reverb_room_size=0.25,
            reverb_wet=0.05,
            compressor_threshold_db=-24.0,
            compressor_ratio=2.0,
            compressor_attack_ms=20.0,
            compressor_release_ms=150.0,
        ),
        "bossa": Colour(
            name="bossa",
            reverb_room_size=0.35,
            reverb_wet=0.1,
            reverb_damping=0.6,
            compressor_threshold_db=-28.0,
            compressor_ratio=1.5,
            compressor_attack_ms=40.0,
            compressor_release_ms=300.0,
        ),
    }
)


def colour_for(genre: str) -> Colour:
    """The mastering colour of a catalogue genre; other genres get the neutral colour."""
    return _COLOURS.get(genre.strip().lower(), NEUTRAL)


@dataclass(frozen=True, slots=True)
class MasteredAudio:
    """Float32 ``(n, 2)`` mastered samples, with the loudness and true peak measured on them."""

    samples: np.ndarray
    sample_rate: int
    integrated_lufs: float
    true_peak_dbtp: float


def master(audio: np.ndarray, sample_rate: int, colour: Colour, seed: int) -> MasteredAudio:
    """Colour, glue, normalise to -14 LUFS and limit to ≤ -1.5 dBTP; same length as the input.

    Deterministic for the same input, colour and seed (the seed drives crackle and wobble phases).
    Silent or near-silent input (below the BS.1770 absolute gate) is returned quiet, not amplified.
    """
    x = _planar_copy(audio, sample_rate)
    n = x.shape[1]
    if n == 0:
        return MasteredAudio(np.zeros((0, 2), np.float32), sample_rate, -math.inf, -math.inf)

    # Unweighted gated level: K-weighting costs a filter pass and this only sets the working level.
    block_levels = _block_levels(_block_mean_squares(x, sample_rate))
    level = _gated_loudness_from_levels(block_levels)
    if not level > _ABSOLUTE_GATE_LUFS:
        # Nothing audible to master; amplifying it would only raise the noise floor.
        _fade_out(x, sample_rate)
        return _finish(x, sample_rate, gain_db=0.0)

    reference_gain_db = REFERENCE_LUFS - level
    x *= np.float32(_db_to_gain(reference_gain_db))
    rng = np.random.default_rng(seed)
    if colour.crackle_db is not None:
        audible = block_levels[block_levels > _ABSOLUTE_GATE_LUFS] + reference_gain_db
        _add_crackle(x, sample_rate, colour.crackle_db, audible, rng)
    if colour.saturation_drive > 0.0 and colour.saturation_mix > 0.0:
        _saturate(x, colour.saturation_drive, colour.saturation_mix)
    if colour.wow_cents > 0.0 or colour.flutter_cents > 0.0:
        x = _wobble(x, sample_rate, colour, rng)
    x = _tone_filters(x, sample_rate, colour)
    glued = _glue_board(colour)(x, sample_rate)

    # Every other sample is enough to estimate loudness for the limiter's input gain: energy is
    # kept and music has next to nothing above 11 kHz to fold. The result is measured in full.
    estimate = integrated_loudness_planar(glued[:, ::2], sample_rate / 2)
    if not estimate > _ABSOLUTE_GATE_LUFS:
        _fade_out(glued, sample_rate)
        return _finish(glued, sample_rate, gain_db=0.0)

    gain_db = TARGET_LUFS - estimate + _LIMITER_HEADROOM_DB
    ceiling_db = _LIMITER_CEILING_DBFS
    for _ in range(_MAX_LIMIT_PASSES):
        limited = _limit(glued, sample_rate, gain_db, ceiling_db)
        _fade_out(limited, sample_rate)
        lufs = integrated_loudness_planar(limited, sample_rate)
        peak = _true_peak_planar(limited)
        # Loudness and true peak both scale exactly with a plain gain, so small loudness errors are
        # trimmed afterwards instead of re-running the limiter.
        trim_db = TARGET_LUFS - lufs
        excess_db = peak + trim_db - TRUE_PEAK_CEILING_DBTP
        if excess_db <= 0.0 and abs(trim_db) <= 2.0:
            return MasteredAudio(
                _interleave(limited, trim_db), sample_rate, lufs + trim_db, peak + trim_db
            )
        gain_db += trim_db
        ceiling_db -= max(excess_db, 0.0) + 0.1
    # Pathological input: keep the peak promise and give up loudness rather than the reverse.
    trim_db = min(TARGET_LUFS - lufs, TRUE_PEAK_CEILING_DBTP - peak)
    return MasteredAudio(_interleave(limited, trim_db), sample_rate, lufs + trim_db, peak + trim_db)


def integrated_loudness(audio: np.ndarray, sample_rate: float) -> float:
    """BS.1770-4 integrated loudness in LUFS of ``(n, channels)`` audio; -inf when all is gated."""
    if audio.ndim != 2:
        raise ValueError(f"audio must have shape (n_samples, channels), got {audio.shape}")
    return integrated_loudness_planar(np.asarray(audio, np.float32).T, sample_rate)


def true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak in dBTP of ``(n, channels)`` audio, by 4x oversampling; -inf for silence."""
    if audio.ndim != 2:
        raise ValueError(f"audio must have shape (n_samples, channels), got {audio.shape}")
    return _true_peak_planar(np.ascontiguousarray(np.asarray(audio, np.float32).T))


def integrated_loudness_planar(x: np.ndarray, sample_rate: float) -> float:
    """BS.1770-4 integrated loudness of planar ``(channels, n)`` audio (K-weighted, gated)."""
    weighted = signal.sosfilt(_k_weighting_sos(sample_rate), x, axis=-1)
    return _gated_loudness_from_levels(_block_levels(_block_mean_squares(weighted, sample_rate)))


# --- measurement -------------------------------------------------------------------------------


def _k_weighting_sos(sample_rate: float) -> np.ndarray:
    """BS.1770 K-weighting (pre-filter shelf + RLB high-pass) for any rate.

    These are the analogue-prototype formulas that reproduce the standard's published 48 kHz
    coefficients exactly (Brecht De Man's derivation, as used by pyloudnorm's "DeMan" class).
    """
    k = math.tan(math.pi * 1681.9744509555319 / sample_rate)
    q = 0.7071752369554193
    vh = 10.0 ** (3.99984385397 / 20.0)
    vb = vh**0.499666774155
    a0 = 1.0 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ]
    k = math.tan(math.pi * 38.13547087613982 / sample_rate)
    q = 0.5003270373253953
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float32)


def _block_mean_squares(x: np.ndarray, sample_rate: float) -> np.ndarray:
    """Channel-summed mean square of each 400 ms gating block, overlapping by 75 % (BS.1770)."""
    hop = round(0.1 * sample_rate)
    n = x.shape[-1]
    # Same block count and placement as pyloudnorm, so the two agree on short or ragged inputs.
    blocks = round((n / sample_rate - 0.4) / 0.1) + 1
    if blocks < 1:
        return np.zeros(0)
    hops = blocks + 3
    padded = x if hops * hop <= n else None
    if padded is None:
        padded = np.zeros((x.shape[0], hops * hop), np.float32)
        padded[:, :n] = x
    framed = padded[:, : hops * hop].reshape(x.shape[0], hops, hop)
    hop_energy = np.einsum("cij,cij->i", framed, framed, dtype=np.float64)
    window = np.convolve(hop_energy, np.ones(4))[3 : 3 + blocks]
    return np.asarray(window / (4 * hop))


def _block_levels(mean_squares: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.asarray(-0.691 + 10.0 * np.log10(mean_squares))


def _gated_loudness_from_levels(levels: np.ndarray) -> float:
    above_absolute = levels[levels > _ABSOLUTE_GATE_LUFS]
    if above_absolute.size == 0:
        return -math.inf
    relative_gate = _power_mean_lufs(above_absolute) + _RELATIVE_GATE_LU
    return _power_mean_lufs(above_absolute[above_absolute > relative_gate])


def _power_mean_lufs(levels: np.ndarray) -> float:
    if levels.size == 0:
        return -math.inf
    return float(-0.691 + 10.0 * np.log10(np.mean(10.0 ** ((levels + 0.691) / 10.0))))


# scipy's resample_poly default low-pass for 4x: what the tests and most tools use to measure.
_TRUE_PEAK_FILTER_TAPS = 81
_CHUNK = 32
_CHUNK_PAD = 12  # > half the filter length in input samples (81 taps / 4 phases / 2)
# Inter-sample peaks exceed the samples around them by 3 dB only for a full-scale tone at a quarter
# of the sample rate, so regions more than 4 dB below the sample peak cannot hold the true peak.
_CANDIDATE_MARGIN = 10.0 ** (-4.0 / 20.0)


def _true_peak_planar(x: np.ndarray) -> float:
    """4x-oversampled true peak in dBTP, computed only where the sample peak could be beaten.

    Oversampling the whole piece costs more than the rest of mastering, and after limiting only
    a few per cent of the audio is anywhere near the peak.
    """
    n = x.shape[-1]
    if n == 0:
        return -math.inf
    magnitude = np.maximum(np.abs(x[0]), np.abs(x[-1]))
    chunk_peaks = np.maximum.reduceat(magnitude, np.arange(0, n, _CHUNK))
    sample_peak = float(chunk_peaks.max())
    if sample_peak == 0.0:
        return -math.inf
    candidates = np.flatnonzero(chunk_peaks >= sample_peak * _CANDIDATE_MARGIN)
    width = _CHUNK + 2 * _CHUNK_PAD
    index = (candidates * _CHUNK - _CHUNK_PAD)[:, None] + np.arange(width)
    inside = (index >= 0) & (index < n)
    # Zeros outside the piece, as resample_poly assumes for the whole signal.
    segments = np.take(x, index.ravel(), axis=1, mode="clip")
    segments *= inside.ravel()
    upsampled = signal.resample_poly(segments, 4, 1, axis=-1).reshape(
        x.shape[0], candidates.size, 4 * width
    )
    core = upsampled[:, :, 4 * _CHUNK_PAD : 4 * (_CHUNK_PAD + _CHUNK)]
    peak = float(max(core.max(), -core.min()))
    return 20.0 * math.log10(peak) if peak > 0.0 else -math.inf


# --- colour ------------------------------------------------------------------------------------


def _add_crackle(
    x: np.ndarray,
    sample_rate: int,
    crackle_db: float,
    block_levels: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Add seeded vinyl crackle (sparse clicks) and faint hiss, in place.

    The level follows the music's loudness but stays 6 dB under its quiet passages (10th percentile
    of block loudness), so the crackle is a texture and never the loudest thing in a breakdown.
    """
    channels, n = x.shape
    quiet = float(np.percentile(block_levels, 10)) if block_levels.size else REFERENCE_LUFS
    level = min(REFERENCE_LUFS + crackle_db, quiet - 6.0)
    # Loudness-style level → mean square per channel (same -0.691 offset as BS.1770).
    mean_square = 10.0 ** ((level + 0.691) / 10.0) / channels

    clicks_per_second = 9.0
    count = int(rng.poisson(clicks_per_second * n / sample_rate))
    click_length = min(64, n)
    # Three quarters of the energy in clicks: crackle should read as pops, not as noise.
    hiss_gain = math.sqrt(0.25 * mean_square) / math.sqrt(1.0 / 12.0)
    hiss = np.asarray(rng.random(n, dtype=np.float32))
    hiss -= np.float32(0.5)
    hiss *= np.float32(hiss_gain)
    x[0] += hiss
    # The reversed noise is uncorrelated with the forward one: stereo hiss for one random draw.
    x[-1] += hiss[::-1]
    if count == 0 or click_length == 0:
        return
    starts = rng.integers(0, n, count)
    decay = rng.uniform(2.0, 12.0, count)  # samples: 45–270 µs, the snap of dust in a groove
    amplitude = 10.0 ** (rng.uniform(-20.0, 0.0, count) / 20.0)
    taps = np.arange(click_length)
    shapes = (
        amplitude[:, None]
        * np.exp(-taps[None, :] / decay[:, None])
        * rng.standard_normal((count, click_length))
    )
    click_mean_square = float(np.sum(shapes * shapes)) / n
    shapes *= math.sqrt(0.75 * mean_square / click_mean_square)
    positions = np.minimum(starts[:, None] + taps[None, :], n - 1).ravel()
    balance = rng.uniform(0.6, 1.0, (channels, count))
    for channel in range(channels):
        np.add.at(x[channel], positions, (shapes * balance[channel][:, None]).ravel())


def _saturate(x: np.ndarray, drive: float, mix: float) -> None:
    """Tape-style soft saturation, in place: a tanh curve mixed with the dry signal.

    Computed as dry + k * tanh, i.e. the mix scaled by 1 / (1 - mix); loudness normalisation
    follows, so the overall scale is free and this saves a pass over the audio.
    """
    wet = np.multiply(x, np.float32(drive))
    np.tanh(wet, out=wet)
    wet *= np.float32(mix / (drive * (1.0 - mix)))
    x += wet


def _wobble(
    x: np.ndarray, sample_rate: int, colour: Colour, rng: np.random.Generator
) -> np.ndarray:
    """Tape wow and flutter: read the audio through a slowly modulated fractional delay.

    The delay swings around zero so the piece is not shifted in time; depth in cents is the
    peak pitch deviation, since pitch follows the delay's rate of change.
    """
    n = x.shape[1]
    block = 512
    blocks = -(-n // block)
    coarse = np.arange(blocks, dtype=np.float64) * block
    fine = np.arange(block, dtype=np.float64)
    offset = np.zeros((blocks, block), np.float32)
    cents_to_rate = math.log(2.0) / 1200.0
    for cents, hz in ((colour.wow_cents, colour.wow_hz), (colour.flutter_cents, colour.flutter_hz)):
        if cents <= 0.0:
            continue
        omega = 2.0 * math.pi * hz / sample_rate
        depth = cents * cents_to_rate / omega  # samples; d(delay)/dt peaks at depth * omega
        start = coarse * omega + rng.uniform(0.0, 2.0 * math.pi)
        # sin(a + b) = sin a cos b + cos a sin b: two outer products instead of n sines.
        offset += np.outer(depth * np.sin(start), np.cos(fine * omega)).astype(np.float32)
        offset += np.outer(depth * np.cos(start), np.sin(fine * omega)).astype(np.float32)
    delay = offset.reshape(-1)[:n]
    whole = np.floor(delay)
    fraction = delay - whole
    index = np.arange(n, dtype=np.int64)
    index += whole.astype(np.int64)
    # np.take along an axis is several times faster than x[:, index] fancy indexing.
    left = np.take(x, index, axis=1, mode="clip")
    index += 1
    right = np.take(x, index, axis=1, mode="clip")
    right -= left
    right *= fraction
    left += right
    return left


def _tone_filters(x: np.ndarray, sample_rate: int, colour: Colour) -> np.ndarray:
    sections = []
    if colour.highpass_hz is not None:
        sections.append(
            signal.butter(2, colour.highpass_hz, "highpass", fs=sample_rate, output="sos")
        )
    if colour.lowpass_hz is not None:
        sections.append(
            signal.butter(2, colour.lowpass_hz, "lowpass", fs=sample_rate, output="sos")
        )
    if not sections:
        return x
    # One sosfilt call for all sections: its cost barely depends on the number of sections.
    return np.asarray(
        signal.sosfilt(np.vstack(sections).astype(np.float32), x, axis=-1), dtype=np.float32
    )


def _glue_board(colour: Colour) -> pedalboard.Pedalboard:
    plugins: list[pedalboard.Plugin] = []
    if colour.reverb_wet > 0.0:
        plugins.append(
            pedalboard.Reverb(
                room_size=colour.reverb_room_size,
                damping=colour.reverb_damping,
                wet_level=colour.reverb_wet,
                # JUCE scales dry by 2: 0.5 keeps the dry signal at unity.
                dry_level=0.5,
                width=colour.reverb_width,
            )
        )
    if colour.high_shelf_db != 0.0:
        plugins.append(
            pedalboard.HighShelfFilter(
                cutoff_frequency_hz=colour.high_shelf_hz, gain_db=colour.high_shelf_db
            )
        )
    plugins.append(
        pedalboard.Compressor(
            threshold_db=colour.compressor_threshold_db,
            ratio=colour.compressor_ratio,
            attack_ms=colour.compressor_attack_ms,
            release_ms=colour.compressor_release_ms,
        )
    )
    return pedalboard.Pedalboard(plugins)


# --- dynamics and output -----------------------------------------------------------------------


def _limit(x: np.ndarray, sample_rate: int, gain_db: float, ceiling_db: float) -> np.ndarray:
    # BrickwallLimiter rather than pedalboard.Limiter: the latter adds make-up gain and hard-clips
    # at 0 dBFS, so its output level cannot be set. Lookahead latency is compensated by pedalboard.
    board = pedalboard.Pedalboard(
        [
            pedalboard.Gain(gain_db=gain_db),
            pedalboard.BrickwallLimiter(ceiling_db=ceiling_db, release_ms=80.0, lookahead_ms=5.0),
        ]
    )
    return board(x, sample_rate)


def _fade_out(x: np.ndarray, sample_rate: int) -> None:
    """Fade the last 20 ms in place so cut reverb tails and ring-outs end without a click."""
    length = min(x.shape[1], round(_FADE_OUT_S * sample_rate))
    if length > 0:
        x[:, -length:] *= np.linspace(1.0, 0.0, length, dtype=np.float32)


def _finish(x: np.ndarray, sample_rate: int, gain_db: float) -> MasteredAudio:
    samples = _interleave(x, gain_db)
    planar = samples.T
    return MasteredAudio(
        samples,
        sample_rate,
        integrated_loudness_planar(planar, sample_rate),
        _true_peak_planar(planar),
    )


def _interleave(x: np.ndarray, gain_db: float) -> np.ndarray:
    out = np.empty((x.shape[1], x.shape[0]), np.float32)
    gain = np.float32(_db_to_gain(gain_db))
    # Channel by channel: contiguous reads, and 3x faster than one strided multiply of x.T.
    for channel in range(x.shape[0]):
        np.multiply(x[channel], gain, out=out[:, channel])
    return out


def _planar_copy(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if audio.ndim != 2 or audio.shape[1] != 2:
        raise ValueError(f"audio must have shape (n_samples, 2), got {audio.shape}")
    x = np.empty((2, audio.shape[0]), np.float32)
    x[0] = audio[:, 0]
    x[1] = audio[:, 1]
    # One reduction catches both: NaN and ±inf make the sum non-finite.
    if not math.isfinite(float(x.sum(dtype=np.float64))):
        raise RenderError("rendered audio contains NaN or infinite samples")
    return x


def _db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)
