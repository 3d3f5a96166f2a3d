"""Chromaprint fingerprints of pieces, and how well two fingerprints line up.

A fingerprint is one 32-bit sub-fingerprint per frame of ~0.124 s (Chromaprint's default
algorithm: 4096-sample frames at 11025 Hz, two-thirds overlap). Each bit compares two chroma
bands over a short window, so the bits survive lossy re-encoding, and a piece cut at the start
still lines up with its reference at some frame offset. Chromaprint runs in C through ctypes,
which lets go of the GIL, so fingerprinting overlaps with the MP3 encoder thread.

Pure audio analysis: no user data, safe to run in a generator worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import chromaprint
import numpy as np
from scipy import fft as sp_fft

from generators.encode import decode_audio
from generators.errors import TunesmithError

__all__ = [
    "BITS_PER_FRAME",
    "FRAME_SECONDS",
    "MATCH_MAX_BIT_ERROR_RATE",
    "MIN_OVERLAP_FRAMES",
    "MIN_QUERY_SECONDS",
    "QUERY_GRIDS",
    "SILENCE_FRAME",
    "AudioFingerprint",
    "FingerprintBench",
    "FingerprintError",
    "Match",
    "NotAudio",
    "bench_fingerprint",
    "decode",
    "fingerprint_file",
    "fingerprint_grids",
    "fingerprint_pcm",
    "from_frames",
    "max_bit_error_rate",
    "query_fingerprints",
    "similarity",
]

ALGORITHM = chromaprint.Fingerprinter.ALGORITHM_DEFAULT
FRAME_SECONDS = 4096 / 3 / 11025  # Chromaprint's hop between frames
SILENCE_FRAME = 627964279  # what Chromaprint's default algorithm gives for digital silence
BITS_PER_FRAME = 32
# Thresholds calibrated on 200 pieces across all 12 genres, queries re-encoded at 96 kbps and cut
# by 5 s at the start or the end, looked up on two grids (QUERY_GRIDS). True matches: bit error
# rate 0.001-0.045 (median 0.02). The closest *other* piece, usually the same genre and key:
# 0.15 at the lowest once 40+ frames overlap, but down to 0.09 over ~35 frames, where short
# pieces of one genre can share their closing bars. Random 40-frame excerpts against all other
# pieces: 0.109 at the lowest, 60 frames: 0.144, 80: 0.196.
#
# Frames that must line up before a bit error rate means anything (~5 s of frames, so a file
# needs ~7.5 s of the piece in it): shorter overlaps reach low rates by chance or by a shared
# cadence.
MIN_OVERLAP_FRAMES = 40
# The shortest file worth looking up: MIN_OVERLAP_FRAMES frames plus Chromaprint's warm-up
# (a file of T seconds gives ~8.07 * T - 22 frames).
MIN_QUERY_SECONDS = 8.0
# Longer overlaps earn a looser threshold: chance agreement shrinks with length, while a real
# match's error rate does not depend on it.
CONFIDENT_OVERLAP_FRAMES = 64
MATCH_MAX_BIT_ERROR_RATE = 0.10  # at CONFIDENT_OVERLAP_FRAMES or more
SHORT_MATCH_MAX_BIT_ERROR_RATE = 0.07  # at MIN_OVERLAP_FRAMES, linear in between
# A trimmed query lines up with only part of a longer reference, but it must line up with at
# least this share of the shorter of the two, or a few lucky seconds could pass for a match.
MIN_OVERLAP_SHARE = 0.5
# A file cut at an arbitrary point lands between two frames of the reference's grid, which costs
# up to ~0.08 in bit error rate at half a frame. Fingerprinting the query on two grids half a
# frame apart keeps every cut within a quarter frame of one of them (~0.04 at worst).
QUERY_GRIDS = 2
# Queries longer than any piece (5 min) with room for padding are cut: identification needs
# the piece, not an hour-long mix, in memory.
MAX_QUERY_SECONDS = 600.0


class FingerprintError(TunesmithError):
    """The audio cannot be fingerprinted (too short, silent, or not audio)."""


class NotAudio(FingerprintError):
    """The file is not audio ffmpeg can decode."""


@dataclass(frozen=True, slots=True)
class AudioFingerprint:
    """A Chromaprint fingerprint: the raw sub-fingerprints and the compressed text to store."""

    frames: np.ndarray = field(compare=False, repr=False)  # uint32, one per frame
    encoded: str  # Chromaprint's compressed, URL-safe base64 form: what the ledger keeps
    algorithm: int = ALGORITHM

    def __post_init__(self) -> None:
        if self.frames.dtype != np.uint32 or self.frames.ndim != 1:
            raise ValueError(
                f"frames must be a 1-d uint32 array, got {self.frames.dtype} {self.frames.shape}"
            )
        self.frames.setflags(write=False)  # a value: the frames must not change under the text

    @property
    def duration_s(self) -> float:
        """The stretch of audio the frames cover (a little shorter than the audio itself)."""
        return len(self.frames) * FRAME_SECONDS


@dataclass(frozen=True, slots=True)
class Match:
    """The best alignment of a query fingerprint against a reference.

    `offset_frames` is where the query's first frame falls in the reference (positive when the
    query was cut at the start). `score` is 1 for identical frames and 0 for no better than
    chance (a bit error rate of one half).
    """

    score: float
    offset_frames: int
    overlap_frames: int
    bit_error_rate: float

    @property
    def offset_s(self) -> float:
        return self.offset_frames * FRAME_SECONDS

    @property
    def is_match(self) -> bool:
        """Whether the two fingerprints are the same piece, by the calibrated thresholds."""
        if self.overlap_frames < MIN_OVERLAP_FRAMES:
            return False
        return self.bit_error_rate <= max_bit_error_rate(self.overlap_frames)


def max_bit_error_rate(overlap_frames: int) -> float:
    """The highest bit error rate that still counts as a match over this many frames."""
    if overlap_frames < MIN_OVERLAP_FRAMES:
        return 0.0
    confidence = min(
        1.0,
        (overlap_frames - MIN_OVERLAP_FRAMES) / (CONFIDENT_OVERLAP_FRAMES - MIN_OVERLAP_FRAMES),
    )
    return SHORT_MATCH_MAX_BIT_ERROR_RATE + confidence * (
        MATCH_MAX_BIT_ERROR_RATE - SHORT_MATCH_MAX_BIT_ERROR_RATE
    )


NO_MATCH = Match(score=0.0, offset_frames=0, overlap_frames=0, bit_error_rate=0.5)


def fingerprint_pcm(samples: np.ndarray, sample_rate: int) -> AudioFingerprint:
    """Fingerprint float ``(n, 2)`` samples in [-1, 1] (the whole piece).

    Raises FingerprintError when the audio is too short to give a single frame.
    """
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"samples must have shape (n_samples, 2), got {samples.shape}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    # Chromaprint folds channels to mono anyway; folding here halves what crosses into C. (Adding
    # the two columns is ~20x faster than numpy's mean along an axis of length 2.)
    mono = (samples[:, 0] + samples[:, 1]) * np.float32(0.5)
    pcm = np.rint(np.clip(mono, -1.0, 1.0) * 32767.0).astype("<i2")
    try:
        fingerprinter = chromaprint.Fingerprinter(ALGORITHM)
        fingerprinter.start(sample_rate, 1)
        fingerprinter.feed(pcm.tobytes())
        encoded = fingerprinter.finish()
    except chromaprint.FingerprintError as error:
        raise FingerprintError(
            f"Chromaprint could not fingerprint {len(samples) / sample_rate:.1f} s of audio"
        ) from error
    fingerprint = decode(encoded.decode("ascii"))
    if not len(fingerprint.frames):
        raise FingerprintError(
            f"{len(samples) / sample_rate:.1f} s of audio is too short to fingerprint;"
            " it needs at least 3 s"
        )
    return fingerprint


def fingerprint_file(path: Path, max_seconds: float = MAX_QUERY_SECONDS) -> AudioFingerprint:
    """Decode any audio file ffmpeg reads (MP3 at any bitrate, WAV, Ogg, ...) and fingerprint it.

    Only the first `max_seconds` are read. Raises FingerprintError when the file is not audio
    or is too short.
    """
    return fingerprint_pcm(*_decode_file(path, max_seconds))


def _decode_file(path: Path, max_seconds: float) -> tuple[np.ndarray, int]:
    try:
        samples, sample_rate = decode_audio(path, max_seconds=max_seconds)
    except TunesmithError as error:
        raise NotAudio(f"cannot read {Path(path).name} as audio: {error}") from error
    if not len(samples) or not sample_rate:
        raise NotAudio(f"{Path(path).name} has no audio in it")
    return samples, sample_rate


def fingerprint_grids(
    samples: np.ndarray, sample_rate: int, grids: int = QUERY_GRIDS
) -> tuple[AudioFingerprint, ...]:
    """The audio fingerprinted on `grids` frame grids, each started 1/`grids` of a frame later.

    The first is `fingerprint_pcm(samples, sample_rate)`; a later grid too short to fingerprint is
    left out. Used for queries: whichever grid lies closest to the reference's lines up best.
    """
    if grids < 1:
        raise ValueError(f"grids must be at least 1, got {grids}")
    first = fingerprint_pcm(samples, sample_rate)
    later = []
    for grid in range(1, grids):
        start = round(grid * FRAME_SECONDS * sample_rate / grids)
        try:
            later.append(fingerprint_pcm(samples[start:], sample_rate))
        except FingerprintError:
            break
    return (first, *later)


def query_fingerprints(
    path: Path, grids: int = QUERY_GRIDS, max_seconds: float = MAX_QUERY_SECONDS
) -> tuple[AudioFingerprint, ...]:
    """Fingerprints of an audio file to look up (see `fingerprint_grids`).

    Raises FingerprintError, with a message for the person who sent the file, when it is not
    audio, is digital silence, or is too short to be told apart from other pieces.
    """
    samples, sample_rate = _decode_file(path, max_seconds)
    name = Path(path).name
    if not np.any(samples):
        raise FingerprintError(f"{name} is silent: there is nothing to identify")
    seconds = len(samples) / sample_rate
    if seconds < MIN_QUERY_SECONDS:
        raise FingerprintError(
            f"{name} is {seconds:.1f} s long, too short to identify;"
            f" it needs at least {MIN_QUERY_SECONDS:g} s of the piece"
        )
    return fingerprint_grids(samples, sample_rate, grids)


def from_frames(frames: np.ndarray, algorithm: int = ALGORITHM) -> AudioFingerprint:
    """A fingerprint from raw sub-fingerprints, compressed the way Chromaprint stores them."""
    raw = np.asarray(frames, dtype=np.uint32)
    encoded = chromaprint.encode_fingerprint(raw.view(np.int32).tolist(), algorithm)
    return AudioFingerprint(raw.copy(), encoded.decode("ascii"), algorithm)


def decode(encoded: str) -> AudioFingerprint:
    """The fingerprint stored as Chromaprint's compressed base64 text."""
    try:
        frames, algorithm = chromaprint.decode_fingerprint(encoded.encode("ascii"))
    except (chromaprint.FingerprintError, UnicodeEncodeError) as error:
        raise FingerprintError("that is not a Chromaprint fingerprint") from error
    return AudioFingerprint(np.array(frames, dtype=np.uint32), encoded, algorithm)


def similarity(
    query: np.ndarray,
    reference: np.ndarray,
    min_overlap_frames: int = MIN_OVERLAP_FRAMES,
) -> Match:
    """The best alignment of `query` against `reference` (raw uint32 sub-fingerprints).

    Every offset is tried at which the two overlap by at least `min_overlap_frames` and by at
    least half of the shorter one; the offset with the lowest bit error rate wins. Silent
    frames on either side are left out: silence matches silence in every piece.
    """
    q = np.asarray(query, dtype=np.uint32)
    r = np.asarray(reference, dtype=np.uint32)
    if q.ndim != 1 or r.ndim != 1:
        raise ValueError(f"fingerprints must be 1-d frame arrays, got {q.shape} and {r.shape}")
    q_sound = q != SILENCE_FRAME
    r_sound = r != SILENCE_FRAME
    needed = max(
        min_overlap_frames,
        int(np.ceil(MIN_OVERLAP_SHARE * min(q_sound.sum(), r_sound.sum()))),
    )
    if min(q_sound.sum(), r_sound.sum()) < needed:
        return NO_MATCH

    errors, overlap = _errors_and_overlap(q, q_sound, r, r_sound)
    usable = overlap >= needed
    rates = np.full(len(errors), 1.0)
    rates[usable] = errors[usable] / (BITS_PER_FRAME * overlap[usable])
    best = int(np.argmin(rates))
    if not usable[best]:
        return NO_MATCH
    rate = float(rates[best])
    return Match(
        score=max(0.0, 1.0 - 2.0 * rate),
        offset_frames=best - (len(q) - 1),
        overlap_frames=int(overlap[best]),
        bit_error_rate=rate,
    )


_BIT_SHIFTS = np.arange(BITS_PER_FRAME, dtype=np.uint32)


def _errors_and_overlap(
    q: np.ndarray, q_sound: np.ndarray, r: np.ndarray, r_sound: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bit errors and frames compared at every offset, index k for offset k - (len(q) - 1).

    Each is a sum over the overlap of a product of a query term and a reference term, so every
    offset comes out of one FFT cross-correlation: popcount(a ^ b) = popcount(a) + popcount(b)
    - 2 * (bits in both). Exact (integers well inside float64) and O((m + n) log(m + n)): two
    5-minute pieces take ~4 ms against ~20 ms for one XOR-popcount pass per offset.
    """
    m, n = len(q), len(r)
    size = sp_fft.next_fast_len(m + n - 1, real=True)
    spectra = []
    for frames, sound in ((q, q_sound), (r, r_sound)):
        weight = sound.astype(np.float64)
        popcount = np.bitwise_count(frames) * weight
        bits = ((frames[:, None] >> _BIT_SHIFTS) & 1) * weight[:, None]
        spectra.append(sp_fft.rfft(np.column_stack([weight, popcount, bits]), n=size, axis=0))
    query = np.conj(spectra[0])
    reference = spectra[1]
    both = np.einsum("kb,kb->k", query[:, 2:], reference[:, 2:])
    errors = query[:, 1] * reference[:, 0] + query[:, 0] * reference[:, 1] - 2.0 * both
    overlap = query[:, 0] * reference[:, 0]
    # Circular correlation: negative offsets wrap round to the end.
    order = np.r_[size - (m - 1) : size, 0:n]
    return (
        np.rint(sp_fft.irfft(errors, n=size)[order]).astype(np.int64),
        np.rint(sp_fft.irfft(overlap, n=size)[order]).astype(np.int64),
    )


@dataclass(frozen=True, slots=True)
class FingerprintBench:
    """Median seconds over the runs: fingerprinting, MP3 encoding, and both at once as the
    pipeline runs them (encoder on a thread, fingerprint on the caller's)."""

    fingerprint_s: float
    encode_s: float
    together_s: float

    @property
    def overlap(self) -> float:
        """1 when the two ran fully in parallel, 0 when one waited for the other."""
        shorter = min(self.fingerprint_s, self.encode_s)
        saved = self.fingerprint_s + self.encode_s - self.together_s
        return max(0.0, min(1.0, saved / shorter)) if shorter > 0 else 0.0


def bench_fingerprint(
    samples: np.ndarray, sample_rate: int, scratch: Path, runs: int = 10
) -> FingerprintBench:
    """Time `fingerprint_pcm` alone, the MP3 encode alone, and the two side by side."""
    import statistics
    import threading
    import time

    from generators.encode import Tags, encode_mp3

    tags = Tags(
        title="bench", artist="bench", genre="bench", bpm=100, key="C", comment="", piece_id="b",
        year=2000,
    )  # fmt: skip
    mp3 = Path(scratch) / "bench.mp3"

    def encode() -> None:
        encode_mp3(samples, sample_rate, mp3, tags)

    timings: dict[str, list[float]] = {"fingerprint": [], "encode": [], "together": []}
    for _ in range(runs):
        clock = time.perf_counter()
        fingerprint_pcm(samples, sample_rate)
        timings["fingerprint"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        encode()
        timings["encode"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        encoder = threading.Thread(target=encode)
        encoder.start()
        fingerprint_pcm(samples, sample_rate)
        encoder.join()
        timings["together"].append(time.perf_counter() - clock)
    median = {name: statistics.median(values) for name, values in timings.items()}
    return FingerprintBench(median["fingerprint"], median["encode"], median["together"])
