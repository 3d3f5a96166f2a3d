"""How fast the originality check is with a large melody index (100,000 pieces by default).

Composing is fast (about 10 ms a piece) but 100,000 pieces would still take minutes, so the index
holds `composed` really composed melodies and the rest derived from them the way a large catalogue
grows: each derived melody splices a phrase of one real melody onto another at a random point and
changes a few notes, so common figures stay common and every piece stays distinct.
"""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bot.originality.corpus import COLLECTIONS, corpus_files, corpus_root, read_melodies
from bot.originality.fingerprint import MelodyFingerprint, make_token, token_interval, token_rhythm
from bot.originality.index import add, check, create_tables, remove
from bot.originality.melody import Melody, melody_of
from bot.originality.reference import ReferenceIndex
from bot.originality.verdict import DEFAULT_POLICY, OriginalityResult, Source
from generators.score import Note, Role, Score, Track

_DURATIONS = (15.0, 30.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0)


@dataclass(frozen=True, slots=True)
class OriginalityBench:
    pieces: int
    composed: int
    fingerprint_rows: int
    gram_rows: int
    db_bytes: int
    compose_seconds: float
    build_seconds: float
    check_median_ms: float
    check_p95_ms: float
    check_with_reference_median_ms: float | None
    check_with_reference_p95_ms: float | None
    add_median_ms: float
    remove_median_ms: float
    queries: int
    flagged_queries: int  # fresh composed pieces found too close (against the whole index)


def compose_fingerprints(seeds: list[int]) -> list[MelodyFingerprint]:
    """Fingerprints of freshly composed pieces, all genres in turn (a worker-process task)."""
    from bot.originality.melody import melody_of
    from generators.catalog import Catalog
    from generators.compose import compose
    from generators.request import CompositionRequest

    catalog = Catalog.default()
    genres = [info.name for info in catalog.genres]
    fingerprints = []
    for seed in seeds:
        rng = random.Random(seed)
        request = CompositionRequest(genres[seed % len(genres)], rng.choice(_DURATIONS))
        fingerprints.append(MelodyFingerprint.of(melody_of(compose(request, seed, catalog))))
    return fingerprints


def _compose_many(seeds: list[int], workers: int) -> list[MelodyFingerprint]:
    chunks = [seeds[i : i + 250] for i in range(0, len(seeds), 250)]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return [fp for chunk in pool.map(compose_fingerprints, chunks) for fp in chunk]


def derive(
    real: list[MelodyFingerprint], rng: random.Random, mutations: int = 3
) -> MelodyFingerprint:
    """A new melody spliced from two real ones with a few notes changed."""
    first, second = rng.choice(real), rng.choice(real)
    cut_a = rng.randint(0, len(first.tokens))
    cut_b = rng.randint(0, len(second.tokens))
    tokens = list(first.tokens[:cut_a] + second.tokens[cut_b:])
    for _ in range(mutations if tokens else 0):
        k = rng.randrange(len(tokens))
        tokens[k] = make_token(
            token_interval(tokens[k]) + rng.choice((-2, -1, 1, 2)), token_rhythm(tokens[k])
        )
    bars = tuple(1 + i // 4 for i in range(len(tokens) + 2))
    return MelodyFingerprint(tuple(tokens), bars)


def bench_originality(
    n: int = 100_000,
    *,
    composed: int = 5_000,
    queries: int = 50,
    reference_path: str | None = None,
    db_path: str | None = None,
    workers: int = 2,
    seed: int = 7,
) -> OriginalityBench:
    """Build an index of `n` melodies and time `check`, `add` and `remove` against it."""
    composed = min(composed, n)
    started = time.perf_counter()
    real = _compose_many(list(range(1_000_000, 1_000_000 + composed)), workers)
    fresh = _compose_many(list(range(2_000_000, 2_000_000 + queries)), workers)
    compose_seconds = time.perf_counter() - started
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(db_path) if db_path else Path(scratch) / "melody-bench.sqlite"
        path.unlink(missing_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA cache_size = -131072")  # 128 MiB, as the ledger may use
        create_tables(conn)
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        for i in range(n):
            fingerprint = real[i] if i < len(real) else derive(real, rng)
            add(conn, f"b{i:07d}", fingerprint)
            if i % 10_000 == 9_999:
                conn.execute("COMMIT")
                conn.execute("BEGIN IMMEDIATE")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        build_seconds = time.perf_counter() - started
        fingerprint_rows = conn.execute("SELECT count(*) FROM melody_fingerprints").fetchone()[0]
        gram_rows = conn.execute("SELECT count(*) FROM melody_grams").fetchone()[0]
        db_bytes = path.stat().st_size

        timings: list[float] = []
        flagged = 0
        for fingerprint in fresh:
            t = time.perf_counter()
            result = check(conn, fingerprint)
            timings.append(time.perf_counter() - t)
            flagged += result.too_close
        with_reference: list[float] = []
        if reference_path is not None:
            with ReferenceIndex.open(reference_path) as reference:
                for fingerprint in fresh:
                    t = time.perf_counter()
                    check(conn, fingerprint, reference)
                    with_reference.append(time.perf_counter() - t)
        adds: list[float] = []
        removes: list[float] = []
        for i, fingerprint in enumerate(fresh):
            t = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            add(conn, f"q{i:04d}", fingerprint)
            conn.execute("COMMIT")
            adds.append(time.perf_counter() - t)
        for i in range(len(fresh)):
            t = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            remove(conn, f"q{i:04d}")
            conn.execute("COMMIT")
            removes.append(time.perf_counter() - t)
        conn.close()
    return OriginalityBench(
        pieces=n,
        composed=len(real),
        fingerprint_rows=fingerprint_rows,
        gram_rows=gram_rows,
        db_bytes=db_bytes,
        compose_seconds=round(compose_seconds, 1),
        build_seconds=round(build_seconds, 1),
        check_median_ms=_ms(statistics.median(timings)),
        check_p95_ms=_ms(_p95(timings)),
        check_with_reference_median_ms=_ms(statistics.median(with_reference))
        if with_reference
        else None,
        check_with_reference_p95_ms=_ms(_p95(with_reference)) if with_reference else None,
        add_median_ms=_ms(statistics.median(adds)),
        remove_median_ms=_ms(statistics.median(removes)),
        queries=len(fresh),
        flagged_queries=flagged,
    )


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def plant_copy(
    score: Score,
    melody: Melody,
    *,
    bars: int | None = 8,
    transpose: int = 5,
    stretch: float = 2.0,
    tempo_bpm: float | None = None,
    changed_note: int | None = -1,
    change: int = 2,
) -> Score:
    """`score` with its lead replaced by (the first `bars` bars of) another melody.

    The copy is disguised the ways a plagiarist would: transposed, note values stretched (and the
    tempo changed), and one note changed (`changed_note`: an index, -1 for the middle, None for
    none). A pickup bar does not count towards `bars`.
    """
    keep = len(melody)
    if bars is not None:
        wanted = sorted(set(melody.bars))[: bars + 1]
        keep = sum(1 for bar in melody.bars if bar in wanted)
    onsets, pitches = melody.onsets[:keep], list(melody.pitches[:keep])
    if changed_note is not None and pitches:
        index = len(pitches) // 2 if changed_note == -1 else changed_note
        pitches[index] += change
    lead = score.track(Role.LEAD)
    start = (
        float(
            score.beats_per_bar
            * int(min((n.start for n in lead.notes), default=0.0) // score.beats_per_bar)
        )
        if lead is not None
        else 0.0
    )
    notes = []
    for i, (onset, pitch) in enumerate(zip(onsets, pitches, strict=True)):
        gap = (onsets[i + 1] - onset) if i + 1 < len(onsets) else 1.0
        notes.append(
            Note(
                start + (onset - onsets[0]) * stretch,
                gap * stretch * 0.9,
                max(0, min(127, pitch + transpose)),
                90,
            )
        )
    copy = Track("Lead", Role.LEAD, lead.program if lead else 0, notes=tuple(notes))
    others = tuple(t for t in score.tracks if t.role != Role.LEAD)
    planted = score.with_tracks((*others, copy))
    if tempo_bpm is not None:
        from dataclasses import replace

        planted = replace(planted, tempo_bpm=tempo_bpm)
    return planted


@dataclass(frozen=True, slots=True)
class Calibration:
    """Best similarities of ordinary pieces, of planted corpus copies and of copied pieces."""

    pieces: int
    piece_similarity: dict[str, float]  # percentiles of the best match among earlier pieces
    reference_similarity: dict[str, float]  # ... and among the known melodies
    flagged_by_pieces: int
    flagged_by_reference: int
    flag_rate: float  # ordinary pieces found too close (either way)
    flagged_examples: tuple[str, ...]
    planted: int
    planted_flagged: int
    planted_similarity: dict[str, float]
    planted_missed: tuple[str, ...]
    copies: int
    copies_flagged: int
    copies_missed: tuple[str, ...]
    copy_similarity_min: float


def calibrate(
    reference_path: str,
    *,
    pieces: int = 1200,
    planted: int = 300,
    copies: int = 100,
    seed: int = 11,
) -> Calibration:
    """Measure what the thresholds separate: ordinary pieces against earlier ones and the corpus,
    planted corpus copies (8 bars, transposed, x2 note values, a note changed) and copies of
    earlier pieces (transposed, another tempo)."""
    from generators.catalog import Catalog
    from generators.compose import compose
    from generators.compose.mood import MOOD_PROFILES
    from generators.request import CompositionRequest

    catalog = Catalog.default()
    genres = [info.name for info in catalog.genres]
    moods = [None, None, *MOOD_PROFILES]
    rng = random.Random(seed)
    scores: list[Score] = []
    best_piece: list[float] = []
    best_reference: list[float] = []
    flagged_pieces = flagged_reference = 0
    examples: list[str] = []
    conn = sqlite3.connect(":memory:")
    create_tables(conn)
    with ReferenceIndex.open(reference_path) as reference:
        for i in range(pieces):
            genre = genres[i % len(genres)]
            request = CompositionRequest(genre, rng.choice(_DURATIONS), mood=rng.choice(moods))
            score = compose(request, seed * 100_000 + i, catalog)
            scores.append(score)
            fingerprint = MelodyFingerprint.of(melody_of(score))
            result = check(conn, fingerprint, reference)
            best_piece.append(_best(result, Source.PIECE))
            best_reference.append(_best(result, Source.REFERENCE))
            by_piece = any(m.too_close for m in result.matches if m.source is Source.PIECE)
            by_reference = any(m.too_close for m in result.matches if m.source is Source.REFERENCE)
            flagged_pieces += by_piece
            flagged_reference += by_reference
            if result.too_close and result.closest is not None:
                examples.append(f"{genre} seed {score.seed}: {result.closest.describe()}")
            add(conn, f"p{i:05d}", fingerprint)

        root = corpus_root()
        files = corpus_files(COLLECTIONS, root)
        planted_scores: list[float] = []
        missed: list[str] = []
        for _ in range(planted):
            collection, path = rng.choice(files)
            melodies = read_melodies(collection, path, root)
            if not melodies:
                continue
            work, melody = rng.choice(melodies)
            copy = plant_copy(
                rng.choice(scores),
                melody,
                transpose=rng.choice((-5, -3, 2, 4, 7)),
                stretch=rng.choice((0.5, 2.0, 1.5)),
            )
            result = check(conn, MelodyFingerprint.of(melody_of(copy)), reference)
            planted_scores.append(_best(result, Source.REFERENCE))
            if not result.too_close:
                missed.append(f"{work.source} ({len(melody)} notes): {result.describe()}")

        copy_scores: list[float] = []
        copies_missed: list[str] = []
        for _ in range(copies):
            original, host = rng.sample(scores, 2)
            melody = melody_of(original)
            copy = plant_copy(
                host,
                melody,
                bars=None,
                transpose=rng.choice((-4, 3, 5)),
                stretch=1.0,
                tempo_bpm=host.tempo_bpm * 1.3,
                changed_note=None,
            )
            result = check(conn, MelodyFingerprint.of(melody_of(copy)), reference)
            copy_scores.append(_best(result, Source.PIECE))
            if not result.too_close:
                copies_missed.append(
                    f"{original.genre} seed {original.seed} ({len(melody)} notes):"
                    f" {result.describe()}"
                )
    conn.close()
    flagged_any = sum(
        1
        for p, r in zip(best_piece, best_reference, strict=True)
        if p >= DEFAULT_POLICY.piece_threshold or r >= DEFAULT_POLICY.reference_threshold
    )
    return Calibration(
        pieces=pieces,
        piece_similarity=_percentiles(best_piece),
        reference_similarity=_percentiles(best_reference),
        flagged_by_pieces=flagged_pieces,
        flagged_by_reference=flagged_reference,
        flag_rate=round(flagged_any / pieces, 4),
        flagged_examples=tuple(examples),
        planted=len(planted_scores),
        planted_flagged=len(planted_scores) - len(missed),
        planted_similarity=_percentiles(planted_scores, low=True),
        planted_missed=tuple(missed),
        copies=copies,
        copies_flagged=copies - len(copies_missed),
        copies_missed=tuple(copies_missed),
        copy_similarity_min=round(min(copy_scores, default=0.0), 3),
    )


def _best(result: OriginalityResult, source: Source) -> float:
    return max((m.similarity for m in result.matches if m.source is source), default=0.0)


def _percentiles(values: list[float], *, low: bool = False) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    points = (0.0, 0.01, 0.05, 0.5) if low else (0.5, 0.9, 0.95, 0.99, 1.0)
    return {
        f"p{round(p * 100)}": round(
            ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))], 3
        )
        for p in points
    }
