"""The melody index of every piece, in the ledger's SQLite database, and the originality check.

`melody_grams` is an inverted index: one row per distinct n-gram of a piece, clustered by gram
(WITHOUT ROWID), so finding every piece that shares a phrase is one short range scan per gram. A
gram found in more than 1 % of the pieces (at least `STOP_MIN_PIECES`) is a common figure - a scale
run, a repeated-note riff - and does not pick candidates; neither do grams common in the corpus.
The few pieces sharing the most rare grams are then aligned note by note.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import Counter
from collections.abc import Collection, Iterable

from bot.originality.corpus import ReferenceWork
from bot.originality.fingerprint import FINGERPRINT_VERSION, MelodyFingerprint, hash_grams
from bot.originality.reference import ReferenceIndex
from bot.originality.similarity import align
from bot.originality.verdict import (
    DEFAULT_POLICY,
    MelodyMatch,
    OriginalityResult,
    Policy,
    Source,
    weigh,
)

STOP_SHARE = 0.01  # a gram in more than 1 % of the pieces is a common figure
STOP_MIN_PIECES = 50  # ... but a small index has no common figures yet
MIN_SHARED_GRAMS = 2

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS melody_fingerprints (
        piece INTEGER PRIMARY KEY,
        creation_id TEXT NOT NULL UNIQUE,
        version INTEGER NOT NULL,
        notes INTEGER NOT NULL,
        tokens BLOB NOT NULL,
        bars BLOB NOT NULL,
        originality REAL,
        closest_json TEXT
    )
    """,
    # One row per distinct gram of a piece; `piece` is melody_fingerprints.piece (an integer keeps
    # the 10-million-row table small; the creation id is one join away).
    """
    CREATE TABLE IF NOT EXISTS melody_grams (
        gram INTEGER NOT NULL,
        piece INTEGER NOT NULL,
        PRIMARY KEY (gram, piece)
    ) WITHOUT ROWID
    """,
)


def create_tables(conn: sqlite3.Connection) -> None:
    """Create the melody index tables if missing (idempotent DDL, no commit)."""
    for statement in _SCHEMA:
        conn.execute(statement)


def add(
    conn: sqlite3.Connection,
    creation_id: str,
    fingerprint: MelodyFingerprint,
    result: OriginalityResult | None = None,
) -> None:
    """Index a piece's melody (replacing an earlier entry), with its check result if given.

    Runs inside the caller's transaction: no commit.
    """
    remove(conn, creation_id)
    closest = None
    if result is not None and result.closest is not None:
        closest = json.dumps(result.closest.to_dict(), sort_keys=True)
    cursor = conn.execute(
        "INSERT INTO melody_fingerprints"
        " (creation_id, version, notes, tokens, bars, originality, closest_json)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            creation_id,
            fingerprint.version,
            len(fingerprint.bars),
            fingerprint.tokens_blob(),
            fingerprint.bars_blob(),
            None if result is None else result.originality,
            closest,
        ),
    )
    piece = cursor.lastrowid
    conn.executemany(
        "INSERT OR IGNORE INTO melody_grams (gram, piece) VALUES (?, ?)",
        ((gram, piece) for gram in fingerprint.distinct_grams),
    )


def remove(conn: sqlite3.Connection, creation_id: str) -> bool:
    """Drop a piece from the index (no commit); False if it was not indexed."""
    row = conn.execute(
        "SELECT piece, tokens, version FROM melody_fingerprints WHERE creation_id = ?",
        (creation_id,),
    ).fetchone()
    if row is None:
        return False
    piece, tokens, version = row
    grams = set(hash_grams(MelodyFingerprint.from_blobs(tokens, b"", version).tokens, version))
    conn.executemany(
        "DELETE FROM melody_grams WHERE gram = ? AND piece = ?", ((g, piece) for g in grams)
    )
    conn.execute("DELETE FROM melody_fingerprints WHERE piece = ?", (piece,))
    return True


def stale_pieces(conn: sqlite3.Connection) -> list[str]:
    """Creations fingerprinted by another fingerprint version: add them again from their scores."""
    rows = conn.execute(
        "SELECT creation_id FROM melody_fingerprints WHERE version != ? ORDER BY piece",
        (FINGERPRINT_VERSION,),
    )
    return [row[0] for row in rows]


def indexed_pieces(conn: sqlite3.Connection) -> int:
    """How many pieces the melody index holds."""
    return int(conn.execute("SELECT count(*) FROM melody_fingerprints").fetchone()[0])


def check(
    conn: sqlite3.Connection,
    fingerprint: MelodyFingerprint,
    reference: ReferenceIndex | None = None,
    *,
    exclude: str | Collection[str] | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> OriginalityResult:
    """How original a melody is against every indexed piece and the known melodies.

    `exclude` leaves creations out: one being re-checked, or a remix's own family (it shares
    its melody with them on purpose).
    """
    pieces = indexed_pieces(conn)
    grams = fingerprint.distinct_grams
    stock = frozenset[int]()
    if reference is not None:
        stock = reference.stop_grams & grams
        grams = grams - stock
    matches: list[MelodyMatch] = []
    if pieces and grams:
        cap = max(STOP_MIN_PIECES, math.ceil(STOP_SHARE * pieces))
        common_cap = max(policy.common_min_pieces, math.ceil(policy.common_share * pieces))
        holders, stop = _holders(
            conn, "SELECT piece FROM melody_grams WHERE gram = ? LIMIT ?", grams, cap
        )
        excluded = [exclude] if isinstance(exclude, str) else list(exclude or ())
        for creation_id in excluded:
            row = conn.execute(
                "SELECT piece FROM melody_fingerprints WHERE creation_id = ?", (creation_id,)
            ).fetchone()
            if row is not None:
                for pieces_holding in holders.values():
                    pieces_holding.discard(row[0])
        common = stock | stop | {g for g, held in holders.items() if len(held) > common_cap}
        shared = Counter(piece for held in holders.values() for piece in held)
        for piece, count in _candidates(shared, len(grams), policy):
            stored = conn.execute(
                "SELECT creation_id, version, tokens, bars FROM melody_fingerprints"
                " WHERE piece = ?",
                (piece,),
            ).fetchone()
            if stored is None or stored[1] != fingerprint.version:
                continue  # a fingerprint of another version cannot be compared
            other = MelodyFingerprint.from_blobs(stored[2], stored[3], stored[1])
            matches.append(
                _match(
                    fingerprint,
                    other,
                    Source.PIECE,
                    (stored[0], None),
                    count / len(fingerprint.distinct_grams),
                    common,
                    policy,
                )
            )
    if reference is not None and grams:
        holders, _ = _holders(
            reference.conn,
            "SELECT work FROM work_grams WHERE gram = ? LIMIT ?",
            grams,
            reference.stop_cap,
        )
        shared = Counter(work for held in holders.values() for work in held)
        for work_id, count in _candidates(shared, len(grams), policy):
            work, other = reference.work(work_id)
            matches.append(
                _match(
                    fingerprint,
                    other,
                    Source.REFERENCE,
                    (None, work),
                    count / len(fingerprint.distinct_grams),
                    stock,
                    policy,
                )
            )
    matches.sort(key=lambda m: (-m.similarity, m.source.value))
    closest = next((m for m in matches if m.too_close), matches[0] if matches else None)
    return OriginalityResult(
        originality=1.0 - max((m.similarity for m in matches), default=0.0),
        too_close=any(m.too_close for m in matches),
        closest=closest,
        matches=tuple(matches),
        notes=len(fingerprint.bars),
        checked_pieces=pieces,
        checked_works=reference.works if reference is not None else 0,
    )


def _candidates(shared: Counter[int], grams: int, policy: Policy) -> list[tuple[int, int]]:
    """The melodies worth aligning: those sharing the most phrases, and at least two of them
    (one eight-note phrase in common cannot make a copy unless the new melody is that short)."""
    least = min(MIN_SHARED_GRAMS, grams)
    return [(m, n) for m, n in shared.most_common(policy.candidates) if n >= least]


def _holders(
    conn: sqlite3.Connection, query: str, grams: Iterable[int], cap: int
) -> tuple[dict[int, set[int]], set[int]]:
    """The melodies holding each gram, and the stop grams: those held by more than `cap`.

    A stop gram costs one short index scan (LIMIT cap + 1), however many pieces hold it.
    """
    found: dict[int, set[int]] = {}
    stop: set[int] = set()
    for gram in grams:
        held = {row[0] for row in conn.execute(query, (gram, cap + 1))}
        if len(held) > cap:
            stop.add(gram)
        else:
            found[gram] = held
    return found, stop


def _match(
    query: MelodyFingerprint,
    other: MelodyFingerprint,
    source: Source,
    who: tuple[str | None, ReferenceWork | None],
    shared_grams: float,
    common: frozenset[int],
    policy: Policy,
) -> MelodyMatch:
    creation_id, work = who
    alignment = align(query.tokens, other.tokens)
    evidence = weigh(query, alignment, source, policy, common)
    found = not alignment.empty
    return MelodyMatch(
        source=source,
        creation_id=creation_id,
        work=work,
        similarity=evidence.similarity,
        too_close=evidence.similarity >= policy.threshold(source),
        shared_grams=shared_grams,
        longest_run=alignment.longest_run,
        evidence=evidence,
        notes=query.note_span(alignment.query_start, alignment.query_end) if found else (0, 0),
        bars=query.bar_span(alignment.query_start, alignment.query_end) if found else (0, 0),
        other_notes=other.note_span(alignment.other_start, alignment.other_end)
        if found
        else (0, 0),
        other_bars=other.bar_span(alignment.other_start, alignment.other_end) if found else (0, 0),
    )


__all__ = [
    "FINGERPRINT_VERSION",
    "add",
    "check",
    "create_tables",
    "indexed_pieces",
    "remove",
    "stale_pieces",
]
