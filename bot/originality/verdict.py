"""From an alignment to a number a musician would accept, and the verdict that asks for a re-take.

Evidence is the aligned length discounted for what does not identify a tune: a loop repeated four
times is one loop, a run of repeated notes is mostly rhythm, and a phrase many pieces share is
stock. Two ways to be too close: a long passage in common (evidence alone), or most of the new
melody matched note for note (coverage, once there is enough evidence):

    similarity = max(evidence / full, coverage * min(1, evidence / 8))

Thresholds come from measuring composed pieces against each other and the corpus, and planted
copies against both (the numbers are in the package docstring).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.originality.corpus import ReferenceWork
from bot.originality.fingerprint import GRAM_TOKENS, MelodyFingerprint, token_interval
from bot.originality.similarity import Alignment


class Source(StrEnum):
    PIECE = "piece"  # an earlier Tunesmith piece
    REFERENCE = "reference"  # a known public-domain melody


@dataclass(frozen=True, slots=True)
class Policy:
    """How similarity is measured and where 'too close' begins."""

    # Distinct notes in common that make a copy on their own: a known melody is recognised from
    # a few bars; our own pieces share a style's vocabulary, and among 100,000 of them a new piece
    # meets most four-bar phrases somewhere, so only a long note-for-note passage counts alone.
    reference_full_evidence: float = 20.0
    piece_full_evidence: float = 40.0
    coverage_evidence: float = 8.0  # notes in common needed before coverage counts fully
    repeated_note_weight: float = 0.5  # a repeated note is half a note of evidence
    reference_threshold: float = 0.6  # known melodies: composed pieces stay below 0.45
    piece_threshold: float = 0.7  # own pieces share a style, so allow more before a re-take
    candidates: int = 5  # per index, verified by alignment
    # A phrase many earlier pieces share is the style's stock (a genre's riff, a cadence), not
    # somebody's melody: notes covered only by such grams are no evidence of copying.
    common_share: float = 0.002
    common_min_pieces: int = 5

    def threshold(self, source: Source) -> float:
        return self.reference_threshold if source is Source.REFERENCE else self.piece_threshold

    def full_evidence(self, source: Source) -> float:
        if source is Source.REFERENCE:
            return self.reference_full_evidence
        return self.piece_full_evidence


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Evidence:
    aligned: float  # the alignment score: about the notes the melodies share in order
    variety: float  # distinct 3-token figures per token in the aligned span (1 = no repetition)
    repeated_notes: float  # share of repeated-note tokens in the span
    coverage: float  # share of the new melody matched note for note (alignment / its length)
    distinctive: float  # share of the span covered by a phrase that is not common stock
    evidence: float  # aligned notes, discounted
    similarity: float  # 0..1


def weigh(
    query: MelodyFingerprint,
    alignment: Alignment,
    source: Source,
    policy: Policy,
    common: frozenset[int] = frozenset(),
) -> Evidence:
    """How similar the new melody is to another, given their best alignment.

    `common` holds the query's grams that are stock phrases (found in many pieces or works).
    """
    if alignment.empty or not query.tokens:
        return Evidence(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    first, last = alignment.query_start, alignment.query_end
    span = query.tokens[first : last + 1]
    figures = {span[i : i + 3] for i in range(len(span) - 2)}
    variety = len(figures) / (len(span) - 2) if len(span) > 2 else 1.0
    repeated = sum(1 for token in span if token_interval(token) == 0) / len(span)
    distinctive = _distinctive_share(query.grams, first, last, common)
    evidence = (
        alignment.score * variety * (1.0 - policy.repeated_note_weight * repeated) * distinctive
    )
    coverage = min(1.0, alignment.score / len(query.tokens))
    similarity = max(
        min(1.0, evidence / policy.full_evidence(source)),
        coverage * min(1.0, evidence / policy.coverage_evidence),
    )
    return Evidence(alignment.score, variety, repeated, coverage, distinctive, evidence, similarity)


def _distinctive_share(
    grams: tuple[int, ...], first: int, last: int, common: frozenset[int]
) -> float:
    """The share of tokens first..last that some uncommon gram of the melody covers."""
    if not common or not grams:
        return 1.0
    covered = 0
    for k in range(first, last + 1):
        starts = range(max(0, k - GRAM_TOKENS + 1), min(k, len(grams) - 1) + 1)
        covered += any(grams[j] not in common for j in starts)
    return covered / (last - first + 1)


@dataclass(frozen=True, slots=True)
class MelodyMatch:
    """The new melody against one earlier piece or known melody, with where they agree."""

    source: Source
    creation_id: str | None  # for an earlier piece
    work: ReferenceWork | None  # for a known melody
    similarity: float  # 0..1
    too_close: bool
    shared_grams: float  # fraction of the new melody's distinct n-grams found in the other
    longest_run: int  # identical interval+rhythm tokens in a row
    evidence: Evidence
    notes: tuple[int, int]  # matched notes of the new melody, 0-based inclusive
    bars: tuple[int, int]  # the bars they lie in, 1-based inclusive
    other_notes: tuple[int, int]
    other_bars: tuple[int, int]

    @property
    def name(self) -> str:
        if self.work is not None:
            return self.work.describe()
        return f"piece {self.creation_id}"

    def describe(self) -> str:
        """One line for people: what it resembles, how much, and where."""
        where = f"bars {self.bars[0]}-{self.bars[1]}" if self.bars != (0, 0) else "notes"
        there = (
            f"bars {self.other_bars[0]}-{self.other_bars[1]}" if self.other_bars != (0, 0) else ""
        )
        count = self.notes[1] - self.notes[0] + 1
        return (
            f"{count} notes ({where}) follow {self.name}"
            + (f" ({there})" if there else "")
            + f": similarity {self.similarity:.2f}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "creation_id": self.creation_id,
            "work": None
            if self.work is None
            else {
                "title": self.work.title,
                "composer": self.work.composer,
                "collection": self.work.collection,
                "source": self.work.source,
            },
            "similarity": round(self.similarity, 4),
            "too_close": self.too_close,
            "shared_grams": round(self.shared_grams, 4),
            "longest_run": self.longest_run,
            "evidence": round(self.evidence.evidence, 2),
            "coverage": round(self.evidence.coverage, 4),
            "distinctive": round(self.evidence.distinctive, 4),
            "notes": list(self.notes),
            "bars": list(self.bars),
            "other_notes": list(self.other_notes),
            "other_bars": list(self.other_bars),
        }


@dataclass(frozen=True, slots=True)
class OriginalityResult:
    """How original a melody is: 1 = nothing in common with anything indexed."""

    originality: float
    too_close: bool
    closest: MelodyMatch | None  # the most similar verified match (the offending one if too close)
    matches: tuple[MelodyMatch, ...]  # every verified candidate, most similar first
    notes: int  # notes in the new melody
    checked_pieces: int  # earlier pieces in the index
    checked_works: int  # known melodies in the reference index (0 without one)

    @property
    def comparable(self) -> bool:
        """Whether the melody is long enough to compare: one phrase (8 notes) at least."""
        return self.notes >= GRAM_TOKENS + 2

    def describe(self) -> str:
        if not self.comparable:
            return f"originality {self.originality:.2f}: a melody of {self.notes} notes is too short to compare"
        if self.closest is None:
            return f"originality {self.originality:.2f}: no earlier melody shares a phrase"
        verdict = "too close to" if self.too_close else "closest:"
        return f"originality {self.originality:.2f}; {verdict} {self.closest.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "originality": round(self.originality, 4),
            "too_close": self.too_close,
            "closest": None if self.closest is None else self.closest.to_dict(),
            "notes": self.notes,
            "comparable": self.comparable,
            "checked_pieces": self.checked_pieces,
            "checked_works": self.checked_works,
        }
