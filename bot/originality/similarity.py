"""How much of one melody another one contains: a local alignment of interval and rhythm tokens.

The alignment is Smith-Waterman over tokens: a note whose interval and rhythm both agree scores 1,
a note with the same interval in another rhythm scores a little, anything else costs. A copy with a
note changed or added still aligns end to end, and the aligned span tells the musician where.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.originality.fingerprint import RHYTHM_VALUES, token_interval, token_rhythm

MATCH = 1.0
SAME_INTERVAL = 0.25  # same step, other rhythm: a variation of the same line
SAME_RHYTHM = -0.5  # a changed note in the same rhythm: a variation, but not evidence
MISMATCH = -1.5
GAP = -1.5


@dataclass(frozen=True, slots=True)
class Alignment:
    """The best local alignment of two token sequences (token indices inclusive)."""

    score: float  # about the number of notes the melodies share in order
    query_start: int
    query_end: int
    other_start: int
    other_end: int
    longest_run: int  # the longest run of identical tokens

    @property
    def empty(self) -> bool:
        return self.score <= 0


_NO_ALIGNMENT = Alignment(0.0, 0, -1, 0, -1, 0)


def align(query: tuple[int, ...], other: tuple[int, ...]) -> Alignment:
    """The best local alignment of `query` within `other`."""
    if not query or not other:
        return _NO_ALIGNMENT
    if len(query) > len(other):
        # The scores are symmetric: loop over the shorter melody (one numpy row per note).
        turned = align(other, query)
        if turned.empty:
            return _NO_ALIGNMENT
        return Alignment(
            turned.score,
            turned.other_start,
            turned.other_end,
            turned.query_start,
            turned.query_end,
            turned.longest_run,
        )
    q = np.asarray(query, dtype=np.int32)
    o = np.asarray(other, dtype=np.int32)
    score, q_end, o_end, longest = _forward(q, o)
    if score <= 0:
        return _NO_ALIGNMENT
    # The start of the best local alignment is where the same alignment, run backwards from its
    # end, reaches its best score.
    _, q_back, o_back, _ = _forward(q[q_end::-1], o[o_end::-1])
    return Alignment(score, q_end - q_back, q_end, o_end - o_back, o_end, longest)


def _forward(q: npt.NDArray[np.int32], o: npt.NDArray[np.int32]) -> tuple[float, int, int, int]:
    """Best local score, where it ends (query, other) and the longest exact run."""
    o_interval = o // RHYTHM_VALUES
    o_rhythm = o % RHYTHM_VALUES
    columns = o.shape[0]
    steps = np.arange(columns, dtype=np.float64) * -GAP
    previous = np.zeros(columns + 1)
    previous_run = np.zeros(columns + 1, dtype=np.int32)
    best, best_q, best_o, longest = 0.0, 0, 0, 0
    for i in range(q.shape[0]):
        same_interval = o_interval == q[i] // RHYTHM_VALUES
        same_rhythm = o_rhythm == q[i] % RHYTHM_VALUES
        same = same_interval & same_rhythm
        substitution = np.where(
            same,
            MATCH,
            np.where(same_interval, SAME_INTERVAL, np.where(same_rhythm, SAME_RHYTHM, MISMATCH)),
        )
        candidate = np.maximum(0.0, np.maximum(previous[:-1] + substitution, previous[1:] + GAP))
        # Gaps along the row: H[j] = max_k<=j (T[k] + GAP * (j - k)), one running maximum.
        row = np.empty(columns + 1)
        row[0] = 0.0
        row[1:] = np.maximum.accumulate(candidate + steps) - steps
        j = int(np.argmax(row))
        if row[j] > best:
            best, best_q, best_o = float(row[j]), i, j - 1
        run = np.zeros(columns + 1, dtype=np.int32)
        run[1:] = np.where(same, previous_run[:-1] + 1, 0)
        longest = max(longest, int(run.max()))
        previous, previous_run = row, run
    return best, best_q, best_o, longest


def describe_token(token: int) -> str:
    """A token for people: '+2 ×1' is a whole step up at the same pace."""
    return f"{token_interval(token):+d} ×2^{token_rhythm(token) / 2:g}"
