"""Getting a piece's MP3 under Discord's upload limit: a lower bitrate, never a failure.

The stored MP3 (signed, 192 kbps) is posted as it is when it fits. When it does not, ffmpeg makes
a smaller copy from it, with fixed arguments and only local files (no user input reaches the
command line). The copy carries the same credit tags; its C2PA manifest would no longer match
the audio, so it is left out, and the message links the copy to the stored, signed original
(the piece id; `/piece` and ⬇ buttons fetch the original).
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import discord
from mutagen.id3 import ID3, ID3NoHeaderError

# Lower bitrates tried in order; 32 kbps of a 5-minute piece is 1.2 MB, well under any limit.
BITRATES_KBPS = (160, 128, 112, 96, 80, 64, 48, 40, 32)
# Room for the MP3's own headers, the ID3 tags and the multipart envelope.
SAFETY = 0.94


@dataclass(frozen=True, slots=True)
class Upload:
    """The MP3 bytes to post, and the bitrate they were re-encoded at (None: the original)."""

    data: bytes
    bitrate_kbps: int | None

    @property
    def reduced(self) -> bool:
        return self.bitrate_kbps is not None


# Room left beside the files for the message's JSON and the multipart envelope.
ENVELOPE_BYTES = 64 * 1024


async def piece_files(
    mp3: Path, png: Path, names: tuple[str, str], limit_bytes: int, duration_s: float
) -> tuple[list[discord.File], Upload | None]:
    """The files of a piece's message: the MP3 (fitted under the upload limit, left out when
    not even 32 kbps fits) and the piano-roll picture, which counts against the same limit."""
    mp3_name, png_name = names
    picture = await asyncio.to_thread(png.read_bytes)
    upload = await fit_mp3(mp3, limit_bytes - len(picture) - ENVELOPE_BYTES, duration_s)
    files = [discord.File(io.BytesIO(picture), png_name)]
    if upload is not None:
        files.insert(0, discord.File(io.BytesIO(upload.data), mp3_name))
    return files, upload


async def fit_mp3(path: Path, limit_bytes: int, duration_s: float) -> Upload | None:
    """The MP3 at `path` if it fits in `limit_bytes`, else the best smaller copy that does;
    None when not even the lowest bitrate fits (the front end says so and posts the rest)."""
    return await asyncio.to_thread(_fit, path, limit_bytes, duration_s)


def _fit(path: Path, limit_bytes: int, duration_s: float) -> Upload | None:
    data = path.read_bytes()
    if len(data) <= limit_bytes:
        return Upload(data, None)
    budget_kbps = limit_bytes * SAFETY * 8 / 1000 / max(duration_s, 1.0)
    for kbps in BITRATES_KBPS:
        if kbps > budget_kbps:
            continue
        smaller = _reencode(path, kbps)
        if len(smaller) <= limit_bytes:
            return Upload(smaller, kbps)
    return None


def _reencode(source: Path, kbps: int) -> bytes:
    with tempfile.TemporaryDirectory(prefix="tunesmith-fit-") as folder:
        out = Path(folder) / "smaller.mp3"
        command = [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
            "-protocol_whitelist", "file",
            "-i", str(source),
            "-map", "0:a:0", "-map_metadata", "-1",
            "-c:a", "libmp3lame", "-b:a", f"{kbps}k",
            "-f", "mp3", str(out),
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        _copy_credit_tags(source, out)
        return out.read_bytes()


def _copy_credit_tags(source: Path, dest: Path) -> None:
    """The source's ID3 frames on the copy, except the C2PA manifest (GEOB), which describes
    the original's bytes and would be reported as tampered on the copy."""
    try:
        tags = ID3(str(source))
    except ID3NoHeaderError:
        return
    tags.delall("GEOB")
    tags.save(str(dest), v2_version=4)
