"""Which creation a piece of audio is: an inverted index of Chromaprint fingerprints in SQLite.

Each stored fingerprint adds one row per distinct *term*, the top 28 bits of a sub-fingerprint
(as AcoustID's index does: the low bits are the ones re-encoding flips most). A lookup counts
the query's terms per stored piece through the primary key, takes the pieces with the most
shared terms, and only those are aligned frame by frame (`generators.fingerprint.similarity`),
so its cost grows with how common the query's terms are, not with how many pieces are stored.

The functions take a plain `sqlite3.Connection` and never commit: the ledger calls them inside
its own transactions and migrations.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generators.fingerprint import (
    BITS_PER_FRAME,
    FRAME_SECONDS,
    SILENCE_FRAME,
    AudioFingerprint,
    Match,
    decode,
    from_frames,
    similarity,
)

__all__ = [
    "CANDIDATES",
    "MIN_SHARED_TERMS",
    "TERM_BITS",
    "Identification",
    "LookupBench",
    "add",
    "bench_lookup",
    "create_tables",
    "identify",
    "remove",
    "terms_of",
]

TERM_BITS = 28
_TERM_SHIFT = 32 - TERM_BITS
# Pieces aligned exactly per lookup. On 200 real pieces the right one always had the most shared
# terms, at least 2.5 times as many as any other; the rest are headroom for harsher re-encodes.
CANDIDATES = 16
# A file cut by 5 s and re-encoded at 96 kbps shared 16-120 terms with its piece (two grids);
# other pieces shared 0-8. One shared term is chance and not worth an alignment.
MIN_SHARED_TERMS = 2

_SCHEMA = (
    # `piece` is a compact integer key so that the many term rows stay small.
    """
    CREATE TABLE IF NOT EXISTS audio_fingerprints (
        piece INTEGER PRIMARY KEY,
        creation_id TEXT NOT NULL UNIQUE,
        frames INTEGER NOT NULL,
        fingerprint TEXT NOT NULL
    )
    """,
    # Postings keyed by term, so a lookup reads only the terms it asks for; removal goes through
    # the same key (the stored fingerprint says which terms to delete), so no second index.
    """
    CREATE TABLE IF NOT EXISTS audio_fingerprint_terms (
        term INTEGER NOT NULL,
        piece INTEGER NOT NULL,
        PRIMARY KEY (term, piece)
    ) WITHOUT ROWID
    """,
)


@dataclass(frozen=True, slots=True)
class Identification:
    """A stored creation the query was found to be, and how it lined up."""

    creation_id: str
    match: Match


def create_tables(conn: sqlite3.Connection) -> None:
    """Create the index tables if they are missing (safe to run again)."""
    for statement in _SCHEMA:
        conn.execute(statement)


def terms_of(fingerprint: AudioFingerprint) -> list[int]:
    """The distinct index terms of a fingerprint, silence left out, in ascending order."""
    frames = fingerprint.frames[fingerprint.frames != SILENCE_FRAME]
    return [int(term) for term in np.unique(frames >> np.uint32(_TERM_SHIFT))]


def add(conn: sqlite3.Connection, creation_id: str, fingerprint: AudioFingerprint) -> None:
    """Index `fingerprint` as `creation_id`, replacing what was indexed for it before."""
    remove(conn, creation_id)
    cursor = conn.execute(
        "INSERT INTO audio_fingerprints (creation_id, frames, fingerprint) VALUES (?, ?, ?)",
        (creation_id, len(fingerprint.frames), fingerprint.encoded),
    )
    piece = cursor.lastrowid
    conn.executemany(
        "INSERT INTO audio_fingerprint_terms (term, piece) VALUES (?, ?)",
        ((term, piece) for term in terms_of(fingerprint)),
    )


def remove(conn: sqlite3.Connection, creation_id: str) -> bool:
    """Take `creation_id` out of the index; False when it was not in it."""
    row = conn.execute(
        "SELECT piece, fingerprint FROM audio_fingerprints WHERE creation_id = ?", (creation_id,)
    ).fetchone()
    if row is None:
        return False
    piece, encoded = row
    conn.executemany(
        "DELETE FROM audio_fingerprint_terms WHERE term = ? AND piece = ?",
        ((term, piece) for term in terms_of(decode(encoded))),
    )
    conn.execute("DELETE FROM audio_fingerprints WHERE piece = ?", (piece,))
    return True


def identify(
    conn: sqlite3.Connection,
    query: AudioFingerprint | Sequence[AudioFingerprint],
    limit: int = 5,
) -> list[Identification]:
    """The stored pieces the query is, best first; empty when it is none of them.

    `query` is one fingerprint or several of the same audio on shifted frame grids
    (`generators.fingerprint.query_fingerprints`); each candidate keeps its best alignment.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    grids = (query,) if isinstance(query, AudioFingerprint) else tuple(query)
    terms = sorted({term for grid in grids for term in terms_of(grid)})
    if not terms:
        return []
    candidates = _most_shared(conn, terms, max(CANDIDATES, limit))
    found = []
    for creation_id, encoded in candidates:
        reference = decode(encoded).frames
        # A grid whose alignment counts as a match beats one that merely has fewer errors over
        # too short an overlap.
        best = min(
            (similarity(grid.frames, reference) for grid in grids),
            key=lambda match: (not match.is_match, match.bit_error_rate),
        )
        if best.is_match:
            found.append(Identification(creation_id, best))
    found.sort(key=lambda found_one: found_one.match.bit_error_rate)
    return found[:limit]


def _most_shared(conn: sqlite3.Connection, terms: list[int], count: int) -> list[tuple[str, str]]:
    """(creation_id, fingerprint) of the `count` pieces sharing the most of `terms`."""
    return conn.execute(
        """
        SELECT p.creation_id, p.fingerprint
        FROM (
            SELECT piece, count(*) AS shared
            FROM audio_fingerprint_terms
            WHERE term IN (SELECT value FROM json_each(?))
            GROUP BY piece
            HAVING shared >= ?
            ORDER BY shared DESC, piece
            LIMIT ?
        ) AS hits
        JOIN audio_fingerprints AS p USING (piece)
        ORDER BY hits.shared DESC, p.piece
        """,
        (json.dumps(terms), MIN_SHARED_TERMS, count),
    ).fetchall()


@dataclass(frozen=True, slots=True)
class LookupBench:
    """What the index costs at a given size (medians over the queries)."""

    pieces: int
    rows_per_piece: float  # term rows per stored piece, mean
    frames_per_piece: float
    database_bytes: int
    add_ms: float  # `add` of one piece, inside a transaction
    candidates_ms: float  # the term query alone
    identify_ms: float  # the whole lookup: terms, candidates, exact alignment
    found: int  # queries identified as the piece they were cut from
    queries: int


def bench_lookup(
    path: Path,
    pieces: int = 10_000,
    seconds: float = 30.0,
    queries: int = 20,
    like: Sequence[AudioFingerprint] = (),
    seed: int = 0,
) -> LookupBench:
    """Fill a fresh index at `path` with `pieces` synthetic fingerprints and time lookups.

    Without `like` the frames are random walks (a few bits change per frame, as in real
    fingerprints) and their terms hardly ever collide: the best case. With `like` each
    synthetic piece is a run of real fingerprints, each cut at a random point, with 6 of the
    top 28 bits flipped throughout (one of 50 such masks), so terms are as unevenly spread as
    real music's and many pieces share some: the heavy case. Each query is a stored piece cut
    by 40 frames (5 s) with 3% of its bits flipped.
    """
    rng = np.random.default_rng(seed)
    frames = max(1, round(seconds / FRAME_SECONDS))
    conn = sqlite3.connect(path)
    create_tables(conn)
    stored: list[np.ndarray] = []
    add_times = []
    with conn:
        for index in range(pieces):
            raw = _synthetic_frames(rng, frames, like)
            clock = time.perf_counter()
            add(conn, f"bench{index:06d}", from_frames(raw))
            add_times.append(time.perf_counter() - clock)
            stored.append(raw)
    conn.execute("ANALYZE")
    rows = conn.execute("SELECT count(*) FROM audio_fingerprint_terms").fetchone()[0]

    candidate_times, identify_times, found = [], [], 0
    for target in rng.choice(pieces, size=min(queries, pieces), replace=False):
        noise = (rng.random((len(stored[target]), BITS_PER_FRAME)) < 0.03) @ (
            1 << np.arange(BITS_PER_FRAME, dtype=np.uint64)
        )
        query = from_frames((stored[target] ^ noise.astype(np.uint32))[40:])
        clock = time.perf_counter()
        _most_shared(conn, terms_of(query), CANDIDATES)
        candidate_times.append(time.perf_counter() - clock)
        clock = time.perf_counter()
        result = identify(conn, query, limit=1)
        identify_times.append(time.perf_counter() - clock)
        found += bool(result) and result[0].creation_id == f"bench{target:06d}"
    conn.close()
    return LookupBench(
        pieces=pieces,
        rows_per_piece=rows / pieces,
        frames_per_piece=float(np.mean([len(raw) for raw in stored])),
        database_bytes=Path(path).stat().st_size,
        add_ms=1000 * statistics.median(add_times),
        candidates_ms=1000 * statistics.median(candidate_times),
        identify_ms=1000 * statistics.median(identify_times),
        found=found,
        queries=len(identify_times),
    )


def _synthetic_frames(
    rng: np.random.Generator, frames: int, like: Sequence[AudioFingerprint]
) -> np.ndarray:
    if not like:
        flips = rng.integers(0, BITS_PER_FRAME, size=(frames, 3))
        steps = np.bitwise_or.reduce(np.uint32(1) << flips.astype(np.uint32), axis=1)
        steps[0] = rng.integers(0, 2**32, dtype=np.uint32)
        return np.bitwise_xor.accumulate(steps.astype(np.uint32))
    parts, total = [], 0
    while total < frames:
        source = like[int(rng.integers(len(like)))].frames
        parts.append(source[int(rng.integers(len(source))) :])
        total += len(parts[-1])
    # One of 50 masks: pieces that share a mask and a source share terms, as pieces of one genre
    # and key do, so the candidate list fills up as it would with real music.
    mask_rng = np.random.default_rng(int(rng.integers(50)))
    mask = np.bitwise_or.reduce(
        np.uint32(1)
        << (mask_rng.choice(TERM_BITS, size=6, replace=False) + _TERM_SHIFT).astype(np.uint32)
    )
    return np.concatenate(parts)[:frames] ^ np.uint32(mask)
