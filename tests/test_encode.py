"""MP3 encoding and ID3 tags with real ffmpeg/LAME and mutagen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from mutagen.id3 import ID3
from scipy import signal

from generators.encode import Tags, decode_audio, encode_mp3, read_tags
from generators.errors import RenderError
from generators.master import NEUTRAL, master

SR = 44100


def tags(**changes: object) -> Tags:
    fields: dict[str, object] = {
        "title": "Rainy Window",
        "artist": "Tunesmith for @ada",
        "genre": "lofi",
        "bpm": 84,
        "key": "F#m",
        "comment": "lofi 30s in F# minor — seed 1234",
        "piece_id": "ts_01J9Z3",
        "year": 2026,
        "extra": (("licence", "CC BY 4.0"), ("owner", "ada#0001")),
    }
    fields.update(changes)
    return Tags(**fields)  # type: ignore[arg-type]


def piece(seconds: float, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    tone = sum(np.sin(2 * np.pi * hz * t) for hz in (196.0, 246.94, 293.66, 392.0))
    audio = np.stack([tone, np.roll(tone, 50)], axis=1) * np.exp(-(t % 1.5) * 2)[:, None]
    audio += rng.standard_normal((n, 2)) * ((t % 0.5) < 0.03)[:, None]
    return (audio / np.abs(audio).max() * 1.4).astype(np.float32)  # peaks at +3 dBFS


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, Path]:
    mastered = master(piece(20.0), SR, NEUTRAL, seed=1).samples
    path = encode_mp3(mastered, SR, tmp_path_factory.mktemp("mp3") / "piece.mp3", tags())
    return mastered, path


def test_decoded_length_matches_input(round_trip: tuple[np.ndarray, Path]) -> None:
    mastered, path = round_trip
    decoded, rate = decode_audio(path)
    assert rate == SR
    assert decoded.shape[1] == 2
    assert abs(decoded.shape[0] - mastered.shape[0]) / SR <= 0.02


def test_loudness_and_true_peak_survive_mp3(round_trip: tuple[np.ndarray, Path]) -> None:
    _, path = round_trip
    decoded, _ = decode_audio(path)
    lufs = pyloudnorm.Meter(SR).integrated_loudness(decoded.astype(np.float64))
    true_peak = 20 * np.log10(np.abs(signal.resample_poly(decoded, 4, 1, axis=0)).max())
    assert abs(lufs - -14.0) <= 1.0
    assert true_peak <= -1.0


def test_id3v24_frames_read_back_exactly(round_trip: tuple[np.ndarray, Path]) -> None:
    _, path = round_trip
    id3 = ID3(str(path))
    assert id3.version[:2] == (2, 4)
    assert id3["TIT2"].text == ["Rainy Window"]
    assert id3["TPE1"].text == ["Tunesmith for @ada"]
    assert id3["TALB"].text == ["Tunesmith"]
    assert id3["TCON"].text == ["lofi"]
    assert id3["TBPM"].text == ["84"]
    assert id3["TKEY"].text == ["F#m"]
    assert str(id3["TDRC"].text[0]) == "2026"
    (comment,) = id3.getall("COMM")
    assert (comment.lang, comment.desc, comment.text) == (
        "eng",
        "",
        ["lofi 30s in F# minor — seed 1234"],
    )
    assert id3["TXXX:tunesmith_id"].text == ["ts_01J9Z3"]
    assert id3["TXXX:licence"].text == ["CC BY 4.0"]
    assert id3["TXXX:owner"].text == ["ada#0001"]

    assert read_tags(path) == {
        "title": "Rainy Window",
        "artist": "Tunesmith for @ada",
        "album": "Tunesmith",
        "genre": "lofi",
        "bpm": "84",
        "key": "F#m",
        "comment": "lofi 30s in F# minor — seed 1234",
        "year": "2026",
        "tunesmith_id": "ts_01J9Z3",
        "TXXX:licence": "CC BY 4.0",
        "TXXX:owner": "ada#0001",
    }


def test_short_clip_keeps_its_length(tmp_path: Path) -> None:
    audio = piece(1.3) * 0.5
    path = encode_mp3(audio, SR, tmp_path / "short.mp3", tags(), bitrate="128k")
    decoded, _ = decode_audio(path)
    assert abs(decoded.shape[0] - audio.shape[0]) / SR <= 0.02


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="does not exist"):
        encode_mp3(piece(1.0), SR, tmp_path / "nowhere" / "x.mp3", tags())


def test_unwritable_target_is_a_render_error(tmp_path: Path) -> None:
    target = tmp_path / "taken.mp3"
    target.mkdir()  # a folder where the file should go
    with pytest.raises(RenderError):
        encode_mp3(piece(1.0), SR, target, tags())


def test_decode_of_non_audio_is_a_render_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"not audio at all")
    with pytest.raises(RenderError, match="cannot decode"):
        decode_audio(junk)


@pytest.mark.parametrize("key", ["D minor", "dm", "H", "Dmm", ""])
def test_key_must_use_id3_notation(key: str) -> None:
    with pytest.raises(ValueError, match="ID3 notation"):
        tags(key=key)


@pytest.mark.parametrize("key", ["D", "Dm", "F#m", "Bb", "Ebm", "o"])
def test_id3_keys_accepted(key: str) -> None:
    assert tags(key=key).key == key


def test_bad_bitrate_and_shape() -> None:
    with pytest.raises(ValueError, match="bitrate"):
        encode_mp3(piece(1.0), SR, Path("x.mp3"), tags(), bitrate="loud")
    with pytest.raises(ValueError, match="shape"):
        encode_mp3(np.zeros(10, np.float32), SR, Path("x.mp3"), tags())
