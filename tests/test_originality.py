"""The originality check: melody fingerprints, the SQLite melody index and the known-melody index.

Real components: composed pieces, real SQLite files in tmp_path, music21's real corpus files. The
module's reference index is built from a handful of corpus files so the tests stay fast; one test
uses the full set-up index (`data/reference-melodies.sqlite`) when it is there and current.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.originality import (
    DEFAULT_REFERENCE_PATH,
    Collection,
    Melody,
    MelodyFingerprint,
    ReferenceIndex,
    ReferenceIndexError,
    Source,
    add,
    build_reference,
    check,
    create_tables,
    fingerprint_of,
    indexed_pieces,
    melody_from_stream,
    melody_of,
    remove,
    stale_pieces,
)
from bot.originality.bench import plant_copy
from bot.originality.corpus import corpus_root, read_melodies
from bot.originality.melody import SoundingNote, skyline
from bot.originality.reference import signature
from generators.catalog import Catalog
from generators.compose import compose
from generators.request import CompositionRequest
from generators.score import Note, Role, Score

ALL_GENRES = tuple(info.name for info in Catalog.default().genres)

ESSEN = Collection("Essen folksong collection", "essenFolksong", "erk5.abc", "abc", "test subset")
CHORALES = Collection("Bach chorales", "bach", "bwv26[09].mxl", "stream", "test subset")
LEAD_SHEETS = Collection("Lead sheets", "leadSheet", "*.mxl", "stream", "test subset")
SMALL = (ESSEN, CHORALES, LEAD_SHEETS)
# For the second reference test: tunes that are in the full set-up index too.
FIDDLE = (
    Collection("Ryan's Mammoth Collection", "ryansMammoth", "Acacia*.abc", "abc", "test subset"),
    Collection("O'Neill's Music of Ireland", "oneills1850", "0001-0050.abc", "abc", "test subset"),
)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceIndex]:
    path = tmp_path_factory.mktemp("reference") / "reference-melodies.sqlite"
    build_reference(path, collections=SMALL, workers=1)
    with ReferenceIndex.open(path) as index:
        yield index


@pytest.fixture(scope="module")
def setup_reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceIndex]:
    """The set-up index when `make setup` built it; else a small one with the same fiddle tunes."""
    try:
        index = ReferenceIndex.open(Path(__file__).parent.parent / DEFAULT_REFERENCE_PATH)
    except ReferenceIndexError:
        path = tmp_path_factory.mktemp("reference") / "fiddle-tunes.sqlite"
        build_reference(path, collections=FIDDLE, workers=1)
        index = ReferenceIndex.open(path)
    with index:
        yield index


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(tmp_path / "ledger.sqlite", isolation_level=None)
    create_tables(connection)
    yield connection
    connection.close()


def _piece(genre: str, seed: int, seconds: float = 30.0) -> Score:
    return compose(CompositionRequest(genre, seconds), seed)


def _with_lead(score: Score, notes: list[Note]) -> Score:
    lead = score.track(Role.LEAD)
    assert lead is not None
    return score.with_tracks(
        tuple(replace(t, notes=tuple(notes)) if t is lead else t for t in score.tracks)
    )


def _tune(collection: Collection, file: str, index: int = 0) -> tuple[str, Melody]:
    root = corpus_root()
    melodies = read_melodies(collection, root / collection.directory / file, root)
    work, melody = melodies[index]
    return work.source, melody


# Fingerprints ------------------------------------------------------------------------------------


def test_transposed_and_tempo_scaled_copies_have_the_same_fingerprint() -> None:
    score = _piece("jazz", 3, 45.0)
    lead = score.track(Role.LEAD)
    assert lead is not None
    original = fingerprint_of(score)
    assert len(original.tokens) > 20
    transposed = _with_lead(score, [replace(n, pitch=n.pitch - 5) for n in lead.notes])
    assert fingerprint_of(transposed).tokens == original.tokens
    for factor in (0.5, 1.5, 2.0):
        scaled = _with_lead(
            score,
            [replace(n, start=n.start * factor, duration=n.duration * factor) for n in lead.notes],
        )
        assert fingerprint_of(scaled).tokens == original.tokens, factor
    faster = replace(score, tempo_bpm=score.tempo_bpm * 1.37)
    assert fingerprint_of(faster) == original


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(1, 12), min_size=3, max_size=40),
    pitches=st.lists(st.integers(40, 90), min_size=4, max_size=41),
    shift=st.integers(-12, 12),
    factor=st.sampled_from((0.25, 0.5, 1.5, 2.0, 3.0, 0.75)),
)
def test_fingerprint_is_invariant_for_any_melody(
    gaps: list[int], pitches: list[int], shift: int, factor: float
) -> None:
    count = min(len(gaps) + 1, len(pitches))
    onsets = [0.0]
    for gap in gaps[: count - 1]:
        onsets.append(onsets[-1] + gap / 4)
    melody = Melody(tuple(onsets), tuple(pitches[:count]), tuple(range(1, count + 1)))
    moved = Melody(
        tuple(o * factor for o in onsets),
        tuple(p + shift for p in pitches[:count]),
        melody.bars,
    )
    assert MelodyFingerprint.of(moved).tokens == MelodyFingerprint.of(melody).tokens


@settings(max_examples=60, deadline=None)
@given(
    notes=st.lists(
        st.tuples(st.integers(0, 160), st.integers(1, 8), st.integers(40, 90)),
        min_size=8,
        max_size=60,
    ),
    chords=st.lists(st.integers(0, 59), max_size=6),
    graces=st.lists(st.integers(0, 59), max_size=4),
    factor=st.sampled_from((0.5, 1.0, 1.5, 2.0)),
    shift=st.integers(-7, 7),
)
def test_a_melody_drawn_from_a_copy_of_a_melody_is_the_same(
    notes: list[tuple[int, int, int]],
    chords: list[int],
    graces: list[int],
    factor: float,
    shift: int,
) -> None:
    """A played line (16th grid, humanised chord notes, grace notes before long notes) in; a copy of
    its melody out (another key and start, note values x0.5 to x2): same melody, same fingerprint."""
    sounding = [SoundingNote(start / 4, length / 4, pitch, 1) for start, length, pitch in notes]
    onsets = sorted({n.onset for n in sounding})
    for i in chords:  # a chord note strummed a hundredth of a beat late
        start, length, pitch = notes[i % len(notes)]
        sounding.append(SoundingNote(start / 4 + 0.01, length / 4, pitch - 4, 1))
    for i in graces:  # a grace note just before a note that has room around it
        k = i % len(onsets)
        if (
            0 < k < len(onsets) - 1
            and min(onsets[k] - onsets[k - 1], onsets[k + 1] - onsets[k]) >= 1
        ):
            sounding.append(SoundingNote(onsets[k] - 0.06, 0.05, 95, 1))
    melody = skyline(sounding)
    copy = skyline(
        SoundingNote(
            8 + (onset - melody.onsets[0]) * factor,
            0.9 * factor * (melody.onsets[i + 1] - onset if i + 1 < len(melody) else 1.0),
            pitch + shift,
            1,
        )
        for i, (onset, pitch) in enumerate(zip(melody.onsets, melody.pitches, strict=True))
    )
    assert 95 not in melody.pitches  # grace notes are not part of the tune
    assert len(copy) == len(melody)
    assert MelodyFingerprint.of(copy).tokens == MelodyFingerprint.of(melody).tokens


def test_a_different_melody_has_different_grams() -> None:
    a, b = fingerprint_of(_piece("lofi", 1)), fingerprint_of(_piece("lofi", 2))
    assert a.grams and b.grams
    assert len(a.distinct_grams & b.distinct_grams) < len(a.distinct_grams) / 2
    assert all(-(2**63) <= gram < 2**63 for gram in a.grams)


def test_skyline_keeps_the_top_note_of_chords_and_drops_grace_notes() -> None:
    notes = [
        SoundingNote(0.0, 1.0, 60, 1),
        SoundingNote(0.01, 1.0, 67, 1),  # a humanised chord: one onset, the top note
        SoundingNote(0.95, 0.05, 70, 1),  # a grace note into the next
        SoundingNote(1.0, 1.0, 69, 1),
        SoundingNote(2.0, 1.0, 65, 1),
        SoundingNote(3.0, 1.0, 64, 1),
    ]
    melody = skyline(notes)
    assert melody.pitches == (67, 69, 65, 64)
    assert melody.onsets == (0.0, 1.0, 2.0, 3.0)


def test_without_a_lead_the_most_melodic_track_is_used() -> None:
    score = _piece("classical", 5)
    lead = score.track(Role.LEAD)
    assert lead is not None
    as_counter = replace(lead, role=Role.COUNTER)
    others = tuple(t for t in score.tracks if t.role != Role.LEAD)
    without_lead = score.with_tracks((*others, as_counter))
    assert melody_of(without_lead) == melody_of(score)


def test_the_fast_abc_reader_agrees_with_music21_streams() -> None:
    from music21 import converter

    root = corpus_root()
    path = root / ESSEN.directory / ESSEN.pattern
    compared = 0
    for work, melody in read_melodies(ESSEN, path, root)[:6]:
        number = int(work.source.rsplit("#", 1)[1])
        parsed = converter.parse(path, number=number, forceSource=True)
        from_stream = MelodyFingerprint.of(melody_from_stream(parsed))
        assert from_stream.tokens == MelodyFingerprint.of(melody).tokens
        # Bars are counted from time and meter; music21 numbers some full first bars 0.
        assert all(abs(a - b) <= 1 for a, b in zip(from_stream.bars, melody.bars, strict=True))
        compared += 1
    assert compared == 6


# The index of pieces -----------------------------------------------------------------------------


def test_an_empty_index_finds_everything_original(
    conn: sqlite3.Connection, reference: ReferenceIndex
) -> None:
    fingerprint = fingerprint_of(_piece("bossa", 9))
    result = check(conn, fingerprint)
    assert result.originality == 1.0
    assert not result.too_close
    assert result.closest is None and result.matches == ()
    assert result.checked_pieces == 0
    with_reference = check(conn, fingerprint, reference)
    assert not with_reference.too_close
    assert with_reference.checked_works == reference.works > 20


def test_a_copy_of_an_earlier_piece_is_flagged(conn: sqlite3.Connection) -> None:
    earlier = {f"p{genre}": _piece(genre, 40) for genre in ("jazz", "classical", "synthwave")}
    for creation_id, score in earlier.items():
        add(conn, creation_id, fingerprint_of(score))
    # Another piece's backing with the classical melody: transposed, slower, in longer notes.
    copy = plant_copy(
        _piece("lofi", 41),
        melody_of(earlier["pclassical"]),
        bars=None,
        transpose=-3,
        stretch=2.0,
        tempo_bpm=71.0,
        changed_note=None,
    )
    result = check(conn, fingerprint_of(copy))
    assert result.too_close
    assert result.closest is not None
    assert result.closest.source is Source.PIECE
    assert result.closest.creation_id == "pclassical"
    assert result.closest.similarity > 0.9
    assert result.originality < 0.1
    # A copy with a note changed is still a copy.
    altered = plant_copy(
        _piece("lofi", 41), melody_of(earlier["pjazz"]), bars=None, transpose=4, stretch=0.5
    )
    closest = check(conn, fingerprint_of(altered)).closest
    assert closest is not None and closest.too_close and closest.creation_id == "pjazz"


def test_ordinary_pieces_of_every_genre_are_not_too_close_to_each_other(
    conn: sqlite3.Connection, reference: ReferenceIndex
) -> None:
    flagged = []
    checked = 0
    for genre in ALL_GENRES:
        for seed in range(5):
            score = _piece(genre, 1000 + seed, (30.0, 45.0, 60.0)[seed % 3])
            fingerprint = fingerprint_of(score)
            result = check(conn, fingerprint, reference)
            if result.too_close:
                flagged.append(f"{genre} {seed}: {result.describe()}")
            add(conn, f"{genre}-{seed}", fingerprint, result)
            checked += 1
    assert checked == 60
    assert indexed_pieces(conn) == 60
    assert flagged == []
    stored = conn.execute(
        "SELECT count(*) FROM melody_fingerprints WHERE originality IS NOT NULL"
    ).fetchone()[0]
    assert stored == 60


def test_remove_takes_a_piece_out_of_the_index(conn: sqlite3.Connection) -> None:
    score = _piece("funk", 12, 45.0)
    fingerprint = fingerprint_of(score)
    add(conn, "gone", fingerprint)
    add(conn, "kept", fingerprint_of(_piece("bossa", 12)))
    copy = plant_copy(_piece("rock", 13), melody_of(score), bars=None, changed_note=None)
    assert check(conn, fingerprint_of(copy)).too_close
    assert remove(conn, "gone")
    assert not remove(conn, "gone")
    result = check(conn, fingerprint_of(copy))
    assert not result.too_close
    assert all(m.creation_id != "gone" for m in result.matches)
    assert indexed_pieces(conn) == 1
    piece_rows = conn.execute("SELECT count(DISTINCT piece) FROM melody_grams").fetchone()[0]
    assert piece_rows == 1


def test_adding_twice_replaces_and_tables_are_created_idempotently(
    conn: sqlite3.Connection,
) -> None:
    create_tables(conn)
    fingerprint = fingerprint_of(_piece("edm", 3))
    add(conn, "same", fingerprint)
    add(conn, "same", fingerprint)
    assert indexed_pieces(conn) == 1
    grams = conn.execute("SELECT count(*) FROM melody_grams").fetchone()[0]
    assert grams == len(fingerprint.distinct_grams)
    # Checking a piece that is indexed finds itself unless it is excluded.
    assert check(conn, fingerprint).too_close
    assert not check(conn, fingerprint, exclude="same").too_close


def test_fingerprints_of_another_version_are_listed_and_not_compared(
    conn: sqlite3.Connection,
) -> None:
    current = fingerprint_of(_piece("jazz", 21))
    old = MelodyFingerprint(current.tokens, current.bars, version=0)
    add(conn, "old", old)
    add(conn, "new", fingerprint_of(_piece("lofi", 21)))
    assert stale_pieces(conn) == ["old"]
    assert all(m.creation_id != "old" for m in check(conn, current).matches)


# Known melodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collection", "file", "index"),
    [(ESSEN, "erk5.abc", 3), (ESSEN, "erk5.abc", 17), (CHORALES, "bwv260.mxl", 0)],
)
def test_a_planted_corpus_melody_is_flagged(
    conn: sqlite3.Connection,
    reference: ReferenceIndex,
    collection: Collection,
    file: str,
    index: int,
) -> None:
    source, melody = _tune(collection, file, index)
    add(conn, "earlier", fingerprint_of(_piece("lofi", 77)))
    # Eight bars of the tune in another key, in doubled note values, one note changed.
    planted = plant_copy(_piece("lofi", 78), melody, bars=8, transpose=5, stretch=2.0)
    result = check(conn, fingerprint_of(planted), reference)
    assert result.too_close, result.describe()
    closest = result.closest
    assert closest is not None and closest.work is not None
    assert closest.source is Source.REFERENCE
    assert closest.work.source == source
    assert closest.bars[0] >= 1 and closest.bars[1] > closest.bars[0]
    assert closest.notes[1] - closest.notes[0] >= 8
    assert result.originality < 0.4
    assert closest.work.title in result.describe()


def test_a_planted_fiddle_tune_is_flagged_against_the_setup_index(
    conn: sqlite3.Connection, setup_reference: ReferenceIndex
) -> None:
    source, melody = _tune(FIDDLE[1], "0001-0050.abc", 4)
    planted = plant_copy(_piece("chiptune", 5), melody, bars=8, transpose=-2, stretch=0.5)
    result = check(conn, fingerprint_of(planted), setup_reference)
    assert result.too_close, result.describe()
    flagged = [m.work.source for m in result.matches if m.too_close and m.work is not None]
    assert source in flagged


def test_the_reference_index_is_rebuilt_only_when_stale(tmp_path: Path) -> None:
    path = tmp_path / "ref.sqlite"
    first = build_reference(path, collections=(LEAD_SHEETS,), workers=1)
    assert first.built and first.works == 2
    assert set(first.collections) == {"Lead sheets"}
    again = build_reference(path, collections=(LEAD_SHEETS,), workers=1)
    assert not again.built
    # Another selection makes the file stale: it is rebuilt in place, atomically.
    other = build_reference(path, collections=(ESSEN,), workers=1)
    assert other.built and other.works > 20
    assert [p.name for p in tmp_path.iterdir()] == ["ref.sqlite"]
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE meta SET value = 'old' WHERE key = 'signature'")
    assert signature((ESSEN,)) != "old"
    assert build_reference(path, collections=(ESSEN,), workers=1).built


def test_the_reference_index_answers_from_another_thread(
    conn: sqlite3.Connection, reference: ReferenceIndex
) -> None:
    # The ledger's owner thread checks pieces against an index opened where the app starts.
    _, melody = _tune(ESSEN, "erk5.abc", 3)
    planted = fingerprint_of(plant_copy(_piece("jazz", 4), melody))
    results: list[bool] = []
    worker = threading.Thread(
        target=lambda: results.append(_flagged_by_reference(planted, reference))
    )
    worker.start()
    worker.join()
    assert results == [True]


def _flagged_by_reference(fingerprint: MelodyFingerprint, reference: ReferenceIndex) -> bool:
    with closing(sqlite3.connect(":memory:")) as conn:
        create_tables(conn)
        return check(conn, fingerprint, reference).too_close


def test_a_missing_or_foreign_reference_index_says_how_to_build_one(tmp_path: Path) -> None:
    with pytest.raises(ReferenceIndexError, match="build-reference"):
        ReferenceIndex.open(tmp_path / "absent.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(ReferenceIndexError, match="build-reference"):
        ReferenceIndex.open(junk)
