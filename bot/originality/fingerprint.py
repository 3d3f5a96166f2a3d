"""A melody fingerprint that survives transposition and tempo: interval and rhythm-ratio tokens.

Each note from the third on becomes one token: the pitch interval from the previous note (semitones,
clipped to an octave either way) and the ratio of its inter-onset interval to the previous one
(2·log2 rounded, so the steps are ratios 1, 1.4, 2, 2.8, ..., clipped at 8 either way; intervals
are first counted in twelfths of the melody's median interval, which absorbs humanised timing).
Transposing changes no interval; playing faster or writing in halved or dotted note values changes
no ratio. Runs of `GRAM_TOKENS` consecutive tokens (eight notes: about two bars of a tune) are hashed
to signed 64-bit integers for the index.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import statistics
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.originality.melody import Melody

# Bump when tokens or grams change meaning: stored fingerprints of another version are not compared.
FINGERPRINT_VERSION = 1
GRAM_TOKENS = 6  # 6 tokens span 8 notes; 3-4 note figures are far shorter than a gram
INTERVAL_CLIP = 12
RHYTHM_CLIP = 6  # steps of 2 * log2(ratio): +-6 is a ratio of 8
GAP_STEPS = 12  # inter-onset intervals are counted in twelfths of the median interval
RHYTHM_VALUES = 2 * RHYTHM_CLIP + 1


def token_interval(token: int) -> int:
    """The pitch interval (semitones) a token carries."""
    return token // RHYTHM_VALUES - INTERVAL_CLIP


def token_rhythm(token: int) -> int:
    """The rhythm step a token carries: round(2 * log2(this gap / previous gap))."""
    return token % RHYTHM_VALUES - RHYTHM_CLIP


def make_token(interval: int, rhythm: int) -> int:
    interval = max(-INTERVAL_CLIP, min(INTERVAL_CLIP, interval))
    rhythm = max(-RHYTHM_CLIP, min(RHYTHM_CLIP, rhythm))
    return (interval + INTERVAL_CLIP) * RHYTHM_VALUES + rhythm + RHYTHM_CLIP


@dataclass(frozen=True, slots=True)
class MelodyFingerprint:
    """Tokens of a melody (token k describes note k + 2) and the bar of every note."""

    tokens: tuple[int, ...]
    bars: tuple[int, ...] = ()
    version: int = FINGERPRINT_VERSION
    grams: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "grams", hash_grams(self.tokens, self.version))

    @classmethod
    def of(cls, melody: Melody) -> MelodyFingerprint:
        """Fingerprint a melody."""
        pitches = melody.pitches
        gaps = quantised_gaps(melody.onsets)
        tokens = tuple(
            make_token(pitches[k] - pitches[k - 1], round(2 * math.log2(gaps[k - 1] / gaps[k - 2])))
            for k in range(2, len(pitches))
        )
        return cls(tokens, melody.bars)

    @property
    def distinct_grams(self) -> frozenset[int]:
        return frozenset(self.grams)

    def note_span(self, first_token: int, last_token: int) -> tuple[int, int]:
        """The notes (0-based, inclusive) that tokens first..last describe, with their context."""
        return first_token, last_token + 2

    def bar_span(self, first_token: int, last_token: int) -> tuple[int, int]:
        """The bars (1-based, inclusive) that tokens first..last lie in; (0, 0) if bars unknown."""
        first, last = self.note_span(first_token, last_token)
        if last >= len(self.bars):
            return (0, 0)
        return (self.bars[first], self.bars[last])

    def tokens_blob(self) -> bytes:
        return _pack(self.tokens)

    def bars_blob(self) -> bytes:
        return _pack(min(b, 65535) for b in self.bars)

    @classmethod
    def from_blobs(
        cls, tokens: bytes, bars: bytes, version: int = FINGERPRINT_VERSION
    ) -> MelodyFingerprint:
        return cls(_unpack(tokens), _unpack(bars), version)


def _pack(values: Iterable[int]) -> bytes:
    """Unsigned 16-bit little-endian: stored blobs and gram hashes read the same on any machine."""
    packed = array("H", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _unpack(blob: bytes) -> tuple[int, ...]:
    values = array("H", blob)
    if sys.byteorder == "big":
        values.byteswap()
    return tuple(values)


def quantised_gaps(onsets: tuple[float, ...]) -> list[int]:
    """Inter-onset intervals in twelfths of the median interval (at least one twelfth).

    Relative to the melody's own median, so scaling every duration changes nothing; twelfths hold
    both halves and thirds, and absorb humanised timing of a few hundredths of a beat.
    """
    gaps = [b - a for a, b in itertools.pairwise(onsets)]
    if not gaps:
        return []
    unit = statistics.median(gaps) / GAP_STEPS
    # Halves round up, and a hair of tolerance keeps a scaled copy's float error from flipping one.
    return [max(1, math.floor(gap / unit + 0.5 + 1e-9)) for gap in gaps]


def hash_grams(tokens: tuple[int, ...], version: int = FINGERPRINT_VERSION) -> tuple[int, ...]:
    """The hash of every run of GRAM_TOKENS tokens, in order, as signed 64-bit integers."""
    if len(tokens) < GRAM_TOKENS:
        return ()
    packed = _pack(tokens)
    salt = f"tunesmith-melody-v{version}".encode()[:16]
    width = 2 * GRAM_TOKENS
    return tuple(
        int.from_bytes(
            hashlib.blake2b(packed[2 * k : 2 * k + width], digest_size=8, person=salt).digest(),
            "little",
            signed=True,
        )
        for k in range(len(tokens) - GRAM_TOKENS + 1)
    )
