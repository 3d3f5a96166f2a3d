"""The parallel MP3 encoder: the same bytes as one encoder, exact length after decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from generators.encode import Tags, decode_audio, encode_mp3
from generators.mp3 import FRAME_SAMPLES, frame_lengths, padding_period

TAGS = Tags(
    title="T", artist="A", genre="lofi", bpm=80, key="Dm", comment="c", piece_id="p", year=2026
)


def _music(seconds: float, seed: int = 0) -> np.ndarray:
    """Chords of decaying partials with noise bursts: enough transients to exercise LAME."""
    rng = np.random.default_rng(seed)
    n = round(seconds * 44100)
    out = np.zeros((n, 2), dtype=np.float32)
    window = np.arange(3 * 44100) / 44100
    envelope = np.exp(-window * 3)
    for start in range(0, n, 44100 // 2):
        freq = 110 * 2 ** (rng.integers(0, 24) / 12)
        length = min(len(window), n - start)
        out[start : start + length, 0] += (
            0.2 * np.sin(2 * np.pi * freq * window[:length]) * envelope[:length]
        )
        out[start : start + length, 1] += (
            0.2 * np.sin(3 * np.pi * freq * window[:length]) * envelope[:length]
        )
    out += (rng.standard_normal((n, 2)) * 0.01).astype(np.float32)
    return np.clip(out, -1, 1)


def _audio_frames(path: Path) -> bytes:
    data = path.read_bytes()
    size = data[6:10]
    offset = 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])
    return data[offset:]


@pytest.mark.parametrize("seconds", [7.3, 30.0, 65.5])
def test_parallel_parts_give_the_same_bytes_as_one_encoder(tmp_path: Path, seconds: float) -> None:
    audio = _music(seconds)
    one = encode_mp3(audio, 44100, tmp_path / "one.mp3", TAGS, parts=1)
    two = encode_mp3(audio, 44100, tmp_path / "two.mp3", TAGS, parts=2)
    three = encode_mp3(audio, 44100, tmp_path / "three.mp3", TAGS, parts=3)
    assert _audio_frames(one) == _audio_frames(two) == _audio_frames(three)


@pytest.mark.parametrize("samples", [5 * 44100, 5 * 44100 + 1, 30 * 44100 + 577, 90 * 44100 - 3])
def test_decoded_length_is_exact(tmp_path: Path, samples: int) -> None:
    audio = _music(samples / 44100)[:samples]
    path = encode_mp3(audio, 44100, tmp_path / "x.mp3", TAGS, parts=2)
    decoded, rate = decode_audio(path)
    assert rate == 44100
    assert decoded.shape == (samples, 2)
    # And it is the music, not shifted: the decoder trimmed exactly the encoder delay.
    correlation = np.corrcoef(decoded[:, 0], audio[:, 0])[0, 1]
    assert correlation > 0.99


def test_info_header_describes_the_whole_spliced_stream(tmp_path: Path) -> None:
    audio = _music(40.0)
    frames = _audio_frames(encode_mp3(audio, 44100, tmp_path / "x.mp3", TAGS, parts=2))
    lengths = frame_lengths(frames)
    info = frames[: lengths[0]]
    tag = info.find(b"Info")
    assert tag > 0
    count = int.from_bytes(info[tag + 8 : tag + 12], "big")
    size = int.from_bytes(info[tag + 12 : tag + 16], "big")
    assert count == len(lengths) - 1
    assert size == len(frames)
    delay_padding = int.from_bytes(info[tag + 141 : tag + 144], "big")
    assert delay_padding >> 12 == 576
    assert count * FRAME_SAMPLES - (delay_padding >> 12) - (delay_padding & 0xFFF) == len(audio)


def test_padding_period_of_common_rates() -> None:
    assert padding_period(44100, 192) == 49
    assert padding_period(48000, 192) == 1  # 576 bytes a frame, never padded
