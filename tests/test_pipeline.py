"""The whole piece with real FluidSynth and ffmpeg, checked on the decoded MP3 as a listener gets it."""

from __future__ import annotations

import io
from pathlib import Path

import mido
import numpy as np
import pyloudnorm
import pytest
from PIL import Image
from scipy.signal import resample_poly

from generators.catalog import Catalog
from generators.encode import decode_audio, read_tags
from generators.pipeline import Piece, PieceMaker
from generators.render import Renderer
from generators.request import CompositionRequest


@pytest.fixture(scope="module")
def maker(renderer: Renderer, catalog: Catalog) -> PieceMaker:
    return PieceMaker(renderer, catalog, cores=2)


@pytest.fixture(scope="module")
def pieces(maker: PieceMaker, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Piece]:
    out = tmp_path_factory.mktemp("pieces")
    requests = {
        "lofi": CompositionRequest("lofi", 30.0, text="lofi 30s"),
        "jazz": CompositionRequest("jazz", 30.0, mood="happy", text="happy jazz 30s"),
        "ambient": CompositionRequest("ambient", 30.0, text="ambient 30s"),
        "sting": CompositionRequest("lofi", 5.0, text="lofi 5s"),
    }
    return {
        name: maker.make(request, 11, out, f"piece-{name}") for name, request in requests.items()
    }


def _true_peak_dbtp(audio: np.ndarray) -> float:
    return float(20 * np.log10(np.abs(resample_poly(audio, 4, 1, axis=0)).max()))


@pytest.mark.parametrize("name", ["lofi", "jazz", "ambient", "sting"])
def test_decoded_mp3_has_exact_length_loudness_and_true_peak(
    pieces: dict[str, Piece], name: str
) -> None:
    piece = pieces[name]
    audio, rate = decode_audio(piece.files.mp3)
    assert audio.shape[0] / rate == pytest.approx(piece.score.duration_s, abs=0.1)
    assert abs(audio.shape[0] / rate - piece.score.duration_s) < 0.001  # in fact sample-exact
    loudness = pyloudnorm.Meter(rate).integrated_loudness(audio)
    assert loudness == pytest.approx(-14.0, abs=1.0)
    assert _true_peak_dbtp(audio) <= -1.0
    assert piece.quality["passed"] is True, piece.quality
    assert piece.quality["attempts"] >= 1


@pytest.mark.parametrize("name", ["lofi", "jazz", "ambient"])
def test_the_piece_ends_with_a_ring_out_not_a_cut(pieces: dict[str, Piece], name: str) -> None:
    audio, rate = decode_audio(pieces[name].files.mp3)
    level = np.sqrt(np.mean(audio**2, axis=1))
    body = level[: -rate * 3].mean()
    last = level[-rate // 20 :].mean()
    assert last < body * 0.25  # decayed by the end
    assert level[-rate * 2 : -rate].mean() > 1e-4  # but still sounding in the last seconds


def test_id3_tags_read_back(pieces: dict[str, Piece]) -> None:
    piece = pieces["jazz"]
    tags = read_tags(piece.files.mp3)
    assert tags["title"] == piece.score.title
    assert tags["genre"] == "jazz"
    assert tags["bpm"] == str(round(piece.score.tempo_bpm))
    assert tags["tunesmith_id"] == "piece-jazz"
    assert "seed: 11" in tags["comment"] and "happy jazz 30s" in tags["comment"]
    assert tags["key"].rstrip("m") in (
        "C",
        "C#",
        "D",
        "Eb",
        "E",
        "F",
        "F#",
        "G",
        "Ab",
        "A",
        "Bb",
        "B",
    )


def test_midi_and_png_are_written(pieces: dict[str, Piece]) -> None:
    piece = pieces["lofi"]
    midi = mido.MidiFile(piece.files.midi)
    assert 25.0 < midi.length <= 30.0
    assert {msg.channel for t in midi.tracks for msg in t if msg.type == "note_on"} >= {9}
    with Image.open(io.BytesIO(piece.files.png.read_bytes())) as image:
        assert image.size == (1200, 630)
    assert len(piece.sha256["mp3"]) == 64 and len(piece.sha256["midi"]) == 64


def test_lofi_intro_is_filtered(pieces: dict[str, Piece]) -> None:
    piece = pieces["lofi"]
    audio, rate = decode_audio(piece.files.mp3)
    intro = piece.score.sections[0]
    assert intro.name == "intro"
    intro_end = round(piece.score.seconds(intro.bars * piece.score.beats_per_bar) * rate)

    def high_share(chunk: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(chunk.mean(axis=1)))
        freqs = np.fft.rfftfreq(len(chunk), 1 / rate)
        return float(spectrum[freqs > 2000].sum() / spectrum.sum())

    assert (
        high_share(audio[: intro_end - rate // 2])
        < high_share(audio[intro_end : intro_end * 2]) * 0.7
    )


def test_same_seed_same_midi_through_the_pipeline(maker: PieceMaker, tmp_path: Path) -> None:
    request = CompositionRequest("ambient", 8.0)
    first = maker.make(request, 5, tmp_path, "a")
    second = maker.make(request, 5, tmp_path, "b")
    assert first.sha256["midi"] == second.sha256["midi"]


def test_every_piece_carries_a_fingerprint_of_its_own_audio(pieces: dict[str, Piece]) -> None:
    from generators.fingerprint import decode, fingerprint_file, similarity

    for name in ("lofi", "jazz"):
        encoded = pieces[name].fingerprint
        assert encoded is not None
        stored = decode(encoded)
        # The fingerprint made from the mastered PCM matches the MP3 a listener gets ...
        assert similarity(fingerprint_file(pieces[name].files.mp3).frames, stored.frames).is_match
    # ... and not another piece.
    other = decode(pieces["jazz"].fingerprint or "")
    assert not similarity(other.frames, decode(pieces["lofi"].fingerprint or "").frames).is_match
