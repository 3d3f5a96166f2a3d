"""Fingerprints and identification with real Chromaprint, FluidSynth, ffmpeg and SQLite files.

The query is a real piece from `PieceMaker` (real MP3), re-encoded at 96 kbps by ffmpeg and cut by
5 s; the index holds it and 200 other pieces of all 12 genres. The 200 are short (8-12 s),
rendered and mastered but not encoded, on two worker processes, once per module.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from bot import audio_index
from generators.catalog import GENRES, Catalog
from generators.compose import compose
from generators.fingerprint import (
    BITS_PER_FRAME,
    MIN_OVERLAP_FRAMES,
    SILENCE_FRAME,
    AudioFingerprint,
    FingerprintError,
    Match,
    decode,
    fingerprint_file,
    fingerprint_pcm,
    from_frames,
    max_bit_error_rate,
    query_fingerprints,
    similarity,
)
from generators.master import colour_for, master
from generators.pipeline import Piece, PieceMaker, filtered_intro
from generators.render import Renderer
from generators.request import CompositionRequest
from generators.score import Score

SR = 44100
QUERY_GENRE = "jazz"
QUERY_TONIC = 9  # A: every other jazz piece below is in A too, the hardest pieces to tell apart
OTHERS = 200
SAMPLES_KEPT = 5  # jazz pieces among the others whose audio comes back for the reverse check


@dataclass(frozen=True)
class Other:
    request: CompositionRequest
    seed: int
    fingerprint: AudioFingerprint
    samples: np.ndarray | None  # mastered audio, of the first SAMPLES_KEPT jazz pieces only


def _other_requests() -> list[tuple[CompositionRequest, int]]:
    durations = (8.0, 9.0, 10.0, 12.0)
    requests = []
    for index in range(OTHERS):
        genre = GENRES[index % len(GENRES)].name
        tonic = QUERY_TONIC if genre == QUERY_GENRE or index % 2 else (index * 5) % 12
        duration = durations[(index // len(GENRES)) % len(durations)]
        requests.append((CompositionRequest(genre, duration, tonic=tonic), 1000 + index))
    return requests


def _mastered(renderer: Renderer, score: Score) -> np.ndarray:
    """The mastered samples exactly as `PieceMaker` makes them before encoding."""
    audio = filtered_intro(score, renderer.render(score), renderer.sample_rate)
    return master(
        audio, renderer.sample_rate, colour_for(score.colour or score.genre), score.seed
    ).samples


def _render_batch(
    soundfont: Path, batch: list[tuple[int, CompositionRequest, int, bool]]
) -> list[tuple[int, str, np.ndarray | None]]:
    """Runs in a worker process: one warm renderer for the whole batch."""
    catalog = Catalog.default()
    out = []
    with Renderer(soundfont) as renderer:
        for index, request, seed, keep in batch:
            samples = _mastered(renderer, compose(request, seed, catalog))
            out.append((index, fingerprint_pcm(samples, SR).encoded, samples if keep else None))
    return out


@pytest.fixture(scope="module")
def others(soundfont: Path) -> list[Other]:
    requests = _other_requests()
    same_genre = [
        index for index, (request, _) in enumerate(requests) if request.genre == QUERY_GENRE
    ]
    numbered = [
        (index, request, seed, index in same_genre[:SAMPLES_KEPT])
        for index, (request, seed) in enumerate(requests)
    ]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        batches = pool.map(_render_batch, [soundfont] * 2, [numbered[0::2], numbered[1::2]])
        rendered = sorted(row for batch in batches for row in batch)
    return [
        Other(request, seed, decode(encoded), samples)
        for (request, seed), (_, encoded, samples) in zip(requests, rendered, strict=True)
    ]


@pytest.fixture(scope="module")
def piece(
    renderer: Renderer, catalog: Catalog, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Piece, AudioFingerprint]:
    """A real 30 s piece (MP3 on disk) and its fingerprint from the mastered PCM."""
    maker = PieceMaker(renderer, catalog)
    request = CompositionRequest(QUERY_GENRE, 30.0, tonic=QUERY_TONIC, text="jazz in A 30s")
    made = maker.make(request, 7, tmp_path_factory.mktemp("piece"), "query-piece")
    return made, fingerprint_pcm(_mastered(renderer, made.score), SR)


@pytest.fixture(scope="module")
def index(
    tmp_path_factory: pytest.TempPathFactory,
    others: list[Other],
    piece: tuple[Piece, AudioFingerprint],
) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(tmp_path_factory.mktemp("ledger") / "ledger.db")
    audio_index.create_tables(conn)
    with conn:
        for number, other in enumerate(others):
            audio_index.add(conn, f"other{number:03d}", other.fingerprint)
        audio_index.add(conn, "query-piece", piece[1])
    yield conn
    conn.close()


def reencode(source: Path, target: Path, *options: str) -> Path:
    """`source` through ffmpeg's LAME at 96 kbps; `options` go before the input (-ss) or after."""
    before = [option for option in options if option.startswith("-ss")]
    after = [option for option in options if not option.startswith("-ss")]
    command = ["ffmpeg", "-nostdin", "-y", "-v", "error"]
    command += [part for option in before for part in option.split()]
    command += ["-i", str(source)]
    command += [part for option in after for part in option.split()]
    command += ["-c:a", "libmp3lame", "-b:a", "96k", str(target)]
    subprocess.run(command, check=True)
    return target


# --- Chromaprint ------------------------------------------------------------------------------


def test_fingerprint_is_deterministic_and_round_trips(
    piece: tuple[Piece, AudioFingerprint], renderer: Renderer
) -> None:
    made, fingerprint = piece
    again = fingerprint_pcm(_mastered(renderer, made.score), SR)
    assert again == fingerprint
    assert np.array_equal(again.frames, fingerprint.frames)
    assert fingerprint.frames.dtype == np.uint32
    # ~8 frames a second, minus Chromaprint's ~2.6 s of warm-up
    assert 200 <= len(fingerprint.frames) <= 245
    assert np.array_equal(decode(fingerprint.encoded).frames, fingerprint.frames)
    assert from_frames(fingerprint.frames).encoded == fingerprint.encoded
    assert not fingerprint.frames.flags.writeable


def test_decoding_something_else_is_a_clear_error() -> None:
    for text in ("", "hello", "AQAAO1IiLUmUNMnwPJaG"):
        with pytest.raises(FingerprintError, match="not a Chromaprint fingerprint"):
            decode(text)


def test_fingerprint_of_the_mp3_is_close_to_the_one_from_pcm(
    piece: tuple[Piece, AudioFingerprint],
) -> None:
    made, fingerprint = piece
    match = similarity(fingerprint_file(made.files.mp3).frames, fingerprint.frames)
    assert match.offset_frames == 0
    assert match.bit_error_rate < 0.03
    assert match.is_match


def test_too_short_audio_is_a_clear_error() -> None:
    with pytest.raises(FingerprintError, match="too short"):
        fingerprint_pcm(np.full((SR, 2), 0.1, dtype=np.float32), SR)
    with pytest.raises(ValueError, match="shape"):
        fingerprint_pcm(np.zeros(SR, dtype=np.float32), SR)


def test_a_file_that_is_not_audio_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "notes.mp3"
    junk.write_text("not audio at all")
    with pytest.raises(FingerprintError, match=r"cannot read notes\.mp3 as audio"):
        query_fingerprints(junk)


# --- Alignment --------------------------------------------------------------------------------


def brute_force(query: np.ndarray, reference: np.ndarray, needed: int) -> tuple[float, int]:
    """The lowest bit error rate over every offset, one XOR-popcount pass per offset."""
    best = (1.0, 0)
    for offset in range(-len(query) + 1, len(reference)):
        q = query[max(0, -offset) : len(reference) - offset]
        r = reference[max(0, offset) : max(0, offset) + len(q)]
        sound = (q != SILENCE_FRAME) & (r != SILENCE_FRAME)
        if sound.sum() >= needed:
            rate = np.bitwise_count(q[sound] ^ r[sound]).sum() / (BITS_PER_FRAME * sound.sum())
            best = min(best, (float(rate), offset))
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_similarity_finds_the_offset_a_brute_force_search_finds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference = rng.integers(0, 2**32, 300, dtype=np.uint32)
    reference[rng.random(300) < 0.1] = SILENCE_FRAME
    flips = (rng.random((120, BITS_PER_FRAME)) < 0.05) @ (1 << np.arange(32, dtype=np.uint64))
    query = reference[70:190] ^ flips.astype(np.uint32)
    match = similarity(query, reference)
    sound = int((query != SILENCE_FRAME).sum())
    rate, offset = brute_force(query, reference, max(MIN_OVERLAP_FRAMES, -(-sound // 2)))
    assert match.offset_frames == offset == 70
    assert match.bit_error_rate == pytest.approx(rate, abs=1e-12)
    assert 0.03 < match.bit_error_rate < 0.07
    assert match.is_match


def test_similarity_of_unrelated_frames_is_chance_and_short_overlaps_do_not_count() -> None:
    rng = np.random.default_rng(5)
    reference = rng.integers(0, 2**32, 250, dtype=np.uint32)
    unrelated = similarity(rng.integers(0, 2**32, 200, dtype=np.uint32), reference)
    assert 0.4 < unrelated.bit_error_rate < 0.5
    assert not unrelated.is_match
    too_short = similarity(reference[10 : 10 + MIN_OVERLAP_FRAMES - 1], reference)
    assert too_short == Match(0.0, 0, 0, 0.5)
    assert not too_short.is_match
    silence = np.full(200, SILENCE_FRAME, dtype=np.uint32)
    assert similarity(silence, np.concatenate([silence, reference])).overlap_frames == 0


def test_threshold_is_stricter_for_short_overlaps() -> None:
    assert max_bit_error_rate(MIN_OVERLAP_FRAMES - 1) == 0.0
    assert max_bit_error_rate(MIN_OVERLAP_FRAMES) < max_bit_error_rate(200)
    assert max_bit_error_rate(64) == max_bit_error_rate(2400) == pytest.approx(0.10)


# --- The index ---------------------------------------------------------------------------------


def test_reencoded_piece_cut_at_the_start_is_identified_and_no_other_piece_matches(
    index: sqlite3.Connection,
    piece: tuple[Piece, AudioFingerprint],
    others: list[Other],
    tmp_path: Path,
) -> None:
    made, _ = piece
    query = query_fingerprints(reencode(made.files.mp3, tmp_path / "cut.mp3", "-ss 5"))
    found = audio_index.identify(index, query)
    assert [hit.creation_id for hit in found] == ["query-piece"]
    assert found[0].match.offset_s == pytest.approx(5.0, abs=0.15)
    # Not only the index's candidates: none of the 200 comes near the threshold.
    for other in others:
        for grid in query:
            assert not similarity(grid.frames, other.fingerprint.frames).is_match, other.request


def test_reencoded_piece_cut_at_the_end_is_identified(
    index: sqlite3.Connection, piece: tuple[Piece, AudioFingerprint], tmp_path: Path
) -> None:
    made, _ = piece
    query = query_fingerprints(reencode(made.files.mp3, tmp_path / "cut.mp3", "-t 25"))
    found = audio_index.identify(index, query)
    assert [hit.creation_id for hit in found] == ["query-piece"]
    assert found[0].match.offset_frames == 0
    assert found[0].match.bit_error_rate < 0.05


def test_other_pieces_of_the_same_genre_and_key_are_not_the_query(
    index: sqlite3.Connection, others: list[Other], tmp_path: Path
) -> None:
    kept = [(number, other) for number, other in enumerate(others) if other.samples is not None]
    assert len(kept) == SAMPLES_KEPT
    for number, other in kept:
        assert other.samples is not None
        wav = tmp_path / f"other{number}.wav"
        wavfile.write(wav, SR, other.samples)
        found = audio_index.identify(index, query_fingerprints(wav))
        assert [hit.creation_id for hit in found] == [f"other{number:03d}"], other.request


def test_noise_and_a_sweep_identify_as_nothing(index: sqlite3.Connection, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    t = np.arange(15 * SR) / SR
    sweep = np.sin(2 * np.pi * (50.0 * t + (8000.0 - 50.0) / (2 * 15.0) * t**2)) * 0.5
    sounds = {
        "noise": rng.uniform(-0.5, 0.5, (15 * SR, 2)),
        "sweep": np.column_stack([sweep, sweep]),
    }
    for name, samples in sounds.items():
        wav = tmp_path / f"{name}.wav"
        wavfile.write(wav, SR, samples.astype(np.float32))
        query = query_fingerprints(wav)
        assert len(query[0].frames) > 80
        assert audio_index.identify(index, query) == [], name


def test_silent_and_too_short_files_are_clear_errors(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    wavfile.write(silent, SR, np.zeros((15 * SR, 2), dtype=np.float32))
    with pytest.raises(FingerprintError, match=r"silent\.wav is silent"):
        query_fingerprints(silent)
    blip = tmp_path / "blip.wav"
    wavfile.write(blip, SR, np.full((6 * SR, 2), 0.2, dtype=np.float32))
    with pytest.raises(FingerprintError, match=r"6\.0 s long, too short to identify"):
        query_fingerprints(blip)


def test_silence_and_too_few_frames_find_nothing_in_the_index(
    index: sqlite3.Connection, piece: tuple[Piece, AudioFingerprint]
) -> None:
    """What `identify` does when handed such fingerprints directly rather than through a file."""
    silence = from_frames(np.full(200, SILENCE_FRAME, dtype=np.uint32))
    assert audio_index.terms_of(silence) == []
    assert audio_index.identify(index, silence) == []
    excerpt = from_frames(piece[1].frames[100 : 100 + MIN_OVERLAP_FRAMES - 1])
    assert audio_index.identify(index, excerpt) == []
    assert [hit.creation_id for hit in audio_index.identify(index, piece[1])] == ["query-piece"]


def test_add_replace_and_remove(tmp_path: Path, others: list[Other]) -> None:
    conn = sqlite3.connect(tmp_path / "ledger.db")
    audio_index.create_tables(conn)
    audio_index.create_tables(conn)  # idempotent
    first, second = others[0].fingerprint, others[1].fingerprint
    conn.execute("BEGIN")
    audio_index.add(conn, "abc", first)
    assert conn.in_transaction  # the ledger commits, not the index
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM audio_fingerprints").fetchone() == (0,)

    with conn:
        audio_index.add(conn, "abc", first)
    rows = conn.execute("SELECT count(*) FROM audio_fingerprint_terms").fetchone()[0]
    assert rows == len(audio_index.terms_of(first)) <= len(first.frames)
    assert [hit.creation_id for hit in audio_index.identify(conn, first)] == ["abc"]

    with conn:
        audio_index.add(conn, "abc", second)  # made again: the new fingerprint replaces the old
    assert audio_index.identify(conn, first) == []
    assert [hit.creation_id for hit in audio_index.identify(conn, second)] == ["abc"]

    with conn:
        assert audio_index.remove(conn, "abc")
        assert not audio_index.remove(conn, "abc")
    assert audio_index.identify(conn, second) == []
    assert conn.execute("SELECT count(*) FROM audio_fingerprint_terms").fetchone() == (0,)
    conn.close()
