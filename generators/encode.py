"""MP3 encoding with ID3v2.4 tags, and decoding helpers for checks and `tunesmith verify`."""

from __future__ import annotations

import re
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mutagen.id3 import (
    COMM,
    ID3,
    TALB,
    TBPM,
    TCON,
    TDRC,
    TIT2,
    TKEY,
    TPE1,
    TXXX,
    ID3NoHeaderError,
)

from generators.errors import RenderError
from generators.mp3 import encode_frames

__all__ = ["PIECE_ID_FRAME", "Tags", "decode_audio", "encode_mp3", "read_tags"]

PIECE_ID_FRAME = "tunesmith_id"  # TXXX description that ties a file to its ledger record
# ID3v2.4 TKEY: a ground key A–G, optional b or #, optional m for minor; "o" means off key.
_ID3_KEY = re.compile(r"^(?:[A-G][b#]?m?|o)$")
_BITRATE = re.compile(r"^[1-9][0-9]{1,2}k$")
_UTF8 = 3  # mutagen's text encoding id for UTF-8, the v2.4 default


@dataclass(frozen=True, slots=True, kw_only=True)
class Tags:
    """What an MP3 says about itself: ID3v2.4 frames written by `encode_mp3`."""

    title: str
    artist: str
    album: str = "Tunesmith"
    genre: str
    bpm: int
    key: str  # ID3 TKEY notation: "D", "Dm", "F#m", "Bb"
    comment: str  # the request and the seed, so the piece can be made again
    piece_id: str
    year: int
    extra: tuple[tuple[str, str], ...] = ()  # written as TXXX:<name>

    def __post_init__(self) -> None:
        if not _ID3_KEY.match(self.key):
            raise ValueError(
                f'key must use ID3 notation like "D", "Dm", "F#m" or "Bb", got {self.key!r}'
            )
        if not 1 <= self.bpm <= 999:
            raise ValueError(f"bpm must be between 1 and 999, got {self.bpm}")
        names = [name for name, _ in self.extra]
        if PIECE_ID_FRAME in names or len(set(names)) != len(names):
            raise ValueError(
                f"extra tag names must be unique and not {PIECE_ID_FRAME!r}, got {names}"
            )


def encode_mp3(
    samples: np.ndarray,
    sample_rate: int,
    path: Path,
    tags: Tags,
    bitrate: str = "192k",
    parts: int = 1,
) -> Path:
    """Encode float ``(n, 2)`` samples in [-1, 1] to an MP3 at `path` with ID3v2.4 tags.

    The file carries a LAME/Xing header with encoder delay and padding, so decoders give back
    exactly the input length. `parts` > 1 encodes on that many cores (see `generators.mp3`);
    the audio frames are the same either way. Raises RenderError when the file cannot be written.
    """
    if samples.ndim != 2 or samples.shape[1] != 2:
        raise ValueError(f"samples must have shape (n_samples, 2), got {samples.shape}")
    if not _BITRATE.match(bitrate):
        raise ValueError(f'bitrate must look like "192k", got {bitrate!r}')
    path = Path(path)
    if not path.parent.is_dir():
        raise RenderError(f"cannot write {path}: folder {path.parent} does not exist")

    pcm = np.rint(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2")
    try:
        encode_frames(pcm, sample_rate, path, bitrate, parts)
    except OSError as error:
        raise RenderError(f"cannot encode MP3 to {path}: {error}") from error
    _write_tags(path, tags)
    return path


def _write_tags(path: Path, tags: Tags) -> None:
    id3 = ID3()
    id3.add(TIT2(encoding=_UTF8, text=tags.title))
    id3.add(TPE1(encoding=_UTF8, text=tags.artist))
    id3.add(TALB(encoding=_UTF8, text=tags.album))
    id3.add(TCON(encoding=_UTF8, text=tags.genre))
    id3.add(TBPM(encoding=_UTF8, text=str(tags.bpm)))
    id3.add(TKEY(encoding=_UTF8, text=tags.key))
    id3.add(COMM(encoding=_UTF8, lang="eng", desc="", text=tags.comment))
    id3.add(TXXX(encoding=_UTF8, desc=PIECE_ID_FRAME, text=tags.piece_id))
    id3.add(TDRC(encoding=_UTF8, text=str(tags.year)))
    for name, value in tags.extra:
        id3.add(TXXX(encoding=_UTF8, desc=name, text=value))
    try:
        id3.save(str(path), v2_version=4)
    except OSError as error:
        raise RenderError(f"cannot write tags to {path}: {error}") from error


def read_tags(path: Path) -> dict[str, str]:
    """The Tunesmith tags of an MP3: title, artist, album, genre, bpm, key, comment, year,
    tunesmith_id, and every other TXXX frame as ``"TXXX:<name>"``. Missing frames are absent."""
    try:
        id3 = ID3(str(path))
    except ID3NoHeaderError:
        return {}
    except OSError as error:
        raise RenderError(f"cannot read tags of {path}: {error}") from error
    names = {
        "TIT2": "title",
        "TPE1": "artist",
        "TALB": "album",
        "TCON": "genre",
        "TBPM": "bpm",
        "TKEY": "key",
        "TDRC": "year",
    }
    tags: dict[str, str] = {}
    for frame_id, name in names.items():
        frame = id3.get(frame_id)
        if frame is not None:
            tags[name] = str(frame.text[0])
    for frame in id3.getall("COMM"):
        if frame.desc == "":
            tags["comment"] = str(frame.text[0])
    for frame in id3.getall("TXXX"):
        name = PIECE_ID_FRAME if frame.desc == PIECE_ID_FRAME else f"TXXX:{frame.desc}"
        tags[name] = str(frame.text[0])
    return tags


def decode_audio(path: Path, max_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Decode any audio file ffmpeg reads to float32 ``(n, 2)`` samples and its sample rate.

    Mono files come back with the channel doubled; `max_seconds` stops after that much audio.
    """
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    limit = [] if max_seconds is None else ["-t", f"{max_seconds:g}"]
    command = [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        *limit,
        "-ac",
        "2",
        "-c:a",
        "pcm_f32le",
        "-f",
        "wav",
        "-",
    ]
    try:
        result = subprocess.run(command, capture_output=True, check=False)
    except OSError as error:
        raise RenderError(f"cannot run ffmpeg to decode {path}: {error}") from error
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise RenderError(f"cannot decode {path}: {message}")
    sample_rate, data = _parse_streamed_wav(result.stdout)
    return data.reshape(-1, 2), sample_rate


def _parse_streamed_wav(blob: bytes) -> tuple[int, np.ndarray]:
    # Piped WAV has placeholder sizes, so read chunk by chunk and take the rest as data.
    if blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise RenderError("ffmpeg did not produce WAV output")
    offset = 12
    sample_rate = 0
    while offset + 8 <= len(blob):
        chunk_id = blob[offset : offset + 4]
        (size,) = struct.unpack_from("<I", blob, offset + 4)
        body = offset + 8
        if chunk_id == b"fmt ":
            (sample_rate,) = struct.unpack_from("<I", blob, body + 4)
        elif chunk_id == b"data":
            data = np.frombuffer(blob, dtype="<f4", offset=body)
            usable = data.size - data.size % 2
            return sample_rate, np.array(data[:usable], dtype=np.float32)
        offset = body + size + (size & 1)
    raise RenderError("ffmpeg output has no audio data")
