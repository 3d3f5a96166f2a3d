"""The reference index of known public-domain melodies: a separate SQLite file built at set-up.

Built from music21's bundled corpus (see `corpus.COLLECTIONS`) in two processes, written to a
temporary file and renamed into place, so a reader never sees half an index. The file records what
it was built from; `build_reference` does nothing when the file is current and rebuilds it when the
fingerprint, the collections or music21 changed.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from bot.originality.corpus import (
    COLLECTIONS,
    Collection,
    ReferenceWork,
    corpus_files,
    corpus_root,
    read_file,
)
from bot.originality.errors import ReferenceIndexError
from bot.originality.fingerprint import FINGERPRINT_VERSION, GRAM_TOKENS, MelodyFingerprint

REFERENCE_FORMAT = 1
STOP_SHARE = 0.01  # a gram in more than 1 % of the known melodies is a common figure
STOP_MIN_WORKS = 20

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """
    CREATE TABLE works (
        work INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        composer TEXT NOT NULL,
        collection TEXT NOT NULL,
        source TEXT NOT NULL,
        notes INTEGER NOT NULL,
        tokens BLOB NOT NULL,
        bars BLOB NOT NULL
    )
    """,
    "CREATE TABLE work_grams (gram INTEGER NOT NULL, work INTEGER NOT NULL,"
    " PRIMARY KEY (gram, work)) WITHOUT ROWID",
    "CREATE TABLE stop_grams (gram INTEGER PRIMARY KEY, works INTEGER NOT NULL)",
)


@dataclass(frozen=True, slots=True)
class ReferenceSummary:
    """What a reference index holds and how it was made."""

    path: str
    works: int
    grams: int
    stop_grams: int
    collections: dict[str, int]  # melodies per collection
    music21_version: str
    build_seconds: float
    built: bool  # False when the existing file was current and kept


def signature(collections: tuple[Collection, ...]) -> str:
    """What an index was built from; a different signature means the file is stale."""
    return json.dumps(
        {
            "format": REFERENCE_FORMAT,
            "fingerprint": FINGERPRINT_VERSION,
            "gram_tokens": GRAM_TOKENS,
            "collections": [asdict(c) for c in collections],
            "music21": _music21_version(),
        },
        sort_keys=True,
    )


def build_reference(
    path: str | os.PathLike[str],
    *,
    collections: tuple[Collection, ...] = COLLECTIONS,
    workers: int = 2,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ReferenceSummary:
    """Build (or keep, when current) the reference melody index at `path`."""
    target = Path(path)
    wanted = signature(collections)
    if not force and target.exists():
        try:
            with ReferenceIndex.open(target) as current:
                if current.meta.get("signature") == wanted:
                    return current.summary(built=False)
        except ReferenceIndexError:
            pass  # unreadable or stale: rebuild
    started = time.perf_counter()
    works = _read_corpus(collections, workers, progress)
    return write_reference(target, works, wanted, started)


def write_reference(
    path: Path,
    works: Iterable[tuple[ReferenceWork, MelodyFingerprint]],
    wanted_signature: str,
    started: float | None = None,
) -> ReferenceSummary:
    """Write an index of `works` atomically: a temporary file, then a rename over `path`."""
    started = time.perf_counter() if started is None else started
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        conn = sqlite3.connect(temporary)
        try:
            _write(conn, works, wanted_signature, started)
        finally:
            conn.close()
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    with ReferenceIndex.open(path) as index:
        return index.summary(built=True)


def _write(
    conn: sqlite3.Connection,
    works: Iterable[tuple[ReferenceWork, MelodyFingerprint]],
    wanted_signature: str,
    started: float,
) -> None:
    conn.execute("PRAGMA journal_mode = OFF")  # a temporary file: atomicity comes from the rename
    conn.execute("PRAGMA synchronous = OFF")
    for statement in _SCHEMA:
        conn.execute(statement)
    frequency: Counter[int] = Counter()
    per_collection: Counter[str] = Counter()
    count = 0
    with conn:
        for work, fingerprint in works:
            count += 1
            per_collection[work.collection] += 1
            conn.execute(
                "INSERT INTO works VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    count,
                    work.title,
                    work.composer,
                    work.collection,
                    work.source,
                    len(fingerprint.bars),
                    fingerprint.tokens_blob(),
                    fingerprint.bars_blob(),
                ),
            )
            grams = fingerprint.distinct_grams
            frequency.update(grams)
            conn.executemany(
                "INSERT INTO work_grams VALUES (?, ?)", ((gram, count) for gram in grams)
            )
        cap = max(STOP_MIN_WORKS, math.ceil(STOP_SHARE * count))
        conn.executemany(
            "INSERT INTO stop_grams VALUES (?, ?)",
            ((gram, n) for gram, n in frequency.items() if n > cap),
        )
        meta = {
            "signature": wanted_signature,
            "format": str(REFERENCE_FORMAT),
            "fingerprint_version": str(FINGERPRINT_VERSION),
            "music21_version": _music21_version(),
            "works": str(count),
            "grams": str(sum(frequency.values())),
            "stop_cap": str(cap),
            "collections": json.dumps(dict(per_collection), sort_keys=True),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": f"{time.perf_counter() - started:.1f}",
        }
        conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
    conn.execute("VACUUM")


def _read_corpus(
    collections: tuple[Collection, ...], workers: int, progress: Callable[[str], None] | None
) -> list[tuple[ReferenceWork, MelodyFingerprint]]:
    """Every melody of the collections, files parsed in `workers` processes, in a stable order."""
    root = corpus_root()
    files = corpus_files(collections, root)
    works: list[tuple[ReferenceWork, MelodyFingerprint]] = []
    if workers <= 1:
        for collection, file in files:
            works.extend(read_file(collection, file, root))
        return works
    # Fresh interpreters rather than forks: the caller may be a process with threads.
    context = multiprocessing.get_context("spawn")
    # Biggest files first keeps both workers busy to the end; results come back in file order.
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [
            (i, pool.submit(read_file, collection, file, root))
            for i, (collection, file) in sorted(
                enumerate(files), key=lambda item: -item[1][1].stat().st_size
            )
        ]
        results: dict[int, list[tuple[ReferenceWork, MelodyFingerprint]]] = {}
        for done, (i, future) in enumerate(futures, 1):
            results[i] = future.result()
            # About every quarter: enough to show it is moving during set-up, not a log.
            if progress is not None and (done % max(1, len(files) // 4) == 0):
                progress(f"{done}/{len(files)} corpus files read")
    for i in range(len(files)):
        works.extend(results[i])
    return works


def _music21_version() -> str:
    try:
        import music21
    except ImportError:  # pragma: no cover - reading an index needs no music21
        return "absent"
    return str(music21.__version__)


class ReferenceIndex:
    """An open reference index: a read-only connection, its stop list and its metadata.

    Open once where the ledger is opened and pass it to `check`. The connection is read-only and
    SQLite here is built serialized (threadsafety 3), so the ledger's owner thread may use it.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        if self.meta.get("format") != str(REFERENCE_FORMAT) or self.meta.get(
            "fingerprint_version"
        ) != str(FINGERPRINT_VERSION):
            raise ReferenceIndexError(
                f"the reference melody index {path} was built by another version;"
                " rebuild it with `tunesmith ledger build-reference`"
            )
        self.stop_grams = frozenset(row[0] for row in conn.execute("SELECT gram FROM stop_grams"))
        self.stop_cap = int(self.meta["stop_cap"])
        self.works = int(self.meta["works"])

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> ReferenceIndex:
        """Open an index read-only; ReferenceIndexError if it is missing, unreadable or stale."""
        where = Path(path)
        if not where.is_file():
            raise ReferenceIndexError(
                f"there is no reference melody index at {where};"
                " build it with `tunesmith ledger build-reference` (make setup does)"
            )
        conn = sqlite3.connect(
            f"{where.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
        )
        try:
            return cls(conn, where)
        except sqlite3.DatabaseError as error:
            conn.close()
            raise ReferenceIndexError(
                f"the reference melody index {where} is unreadable ({error});"
                " rebuild it with `tunesmith ledger build-reference`"
            ) from None
        except BaseException:
            conn.close()
            raise

    def work(self, work_id: int) -> tuple[ReferenceWork, MelodyFingerprint]:
        row = self.conn.execute(
            "SELECT title, composer, collection, source, tokens, bars FROM works WHERE work = ?",
            (work_id,),
        ).fetchone()
        if row is None:
            raise KeyError(work_id)
        return ReferenceWork(*row[:4]), MelodyFingerprint.from_blobs(row[4], row[5])

    def summary(self, *, built: bool) -> ReferenceSummary:
        return ReferenceSummary(
            path=str(self.path),
            works=self.works,
            grams=int(self.meta["grams"]),
            stop_grams=len(self.stop_grams),
            collections=json.loads(self.meta["collections"]),
            music21_version=self.meta["music21_version"],
            build_seconds=float(self.meta["build_seconds"]),
            built=built,
        )

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
