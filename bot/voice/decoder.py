"""A stored MP3 as Discord's PCM: 48 kHz, stereo, 16-bit little endian, through ffmpeg.

The command line is fixed: only the path varies, and that path is a file of the ledger's
content-addressed media store (`media/<2 hex>/<sha256>.mp3`), never a name or URL a person
typed. ffmpeg is further held to local files (`-protocol_whitelist file`, an explicit `file:`
URL) and to the MP3 demuxer (`-f mp3`), so no input can make it open a network stream, a
playlist or another demuxer. The encoder delay and padding in our files' LAME header are
honoured, so a piece decodes to exactly its length.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
CHANNELS = 2
SAMPLE_BYTES = 2 * CHANNELS  # one stereo sample of s16le
FRAME_SAMPLES = 960  # Discord's 20 ms Opus frame
FRAME_BYTES = FRAME_SAMPLES * SAMPLE_BYTES
_ERROR_TAIL = 2000  # bytes of ffmpeg's complaints kept for the log


class DecodeError(Exception):
    """ffmpeg could not decode a stored piece (a damaged or missing file)."""


def decoder_command(path: Path, ffmpeg: str = "ffmpeg") -> list[str]:
    """The one ffmpeg command line playback uses; only `path` varies."""
    if not path.is_absolute():
        raise ValueError(f"the decoder takes an absolute path in the media store, got {path}")
    return [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-protocol_whitelist",
        "file",
        "-f",
        "mp3",
        "-i",
        f"file:{path}",
        "-map",
        "0:a:0",
        "-vn",
        "-sn",
        "-dn",
        "-ac",
        str(CHANNELS),
        "-ar",
        str(SAMPLE_RATE),
        "-f",
        "s16le",
        "-c:a",
        "pcm_s16le",
        "pipe:1",
    ]


class PcmDecoder:
    """One ffmpeg process streaming one stored MP3 as PCM; reads block (call them off the
    event loop: discord.py's audio thread does)."""

    def __init__(self, path: Path, *, ffmpeg: str = "ffmpeg") -> None:
        self.path = path
        self.samples_read = 0
        self.error: str | None = None  # set when the stream ended badly
        # ffmpeg's complaints go to a file, not a pipe: a damaged file can print more than a
        # pipe holds, and a full stderr pipe would stall the stdout we are reading.
        self._errors: IO[bytes] = tempfile.TemporaryFile(prefix="tunesmith-ffmpeg-")  # noqa: SIM115 (closed in close())
        try:
            self._process = subprocess.Popen(
                decoder_command(path, ffmpeg),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._errors,
                bufsize=FRAME_BYTES * 8,
            )
        except OSError as error:
            self._errors.close()
            raise DecodeError(f"cannot run ffmpeg: {error}") from error
        self._finished = False

    def read(self, size: int) -> bytes:
        """Up to `size` bytes of PCM (whole samples); fewer only at the end, b'' after it."""
        if self._finished:
            return b""
        size -= size % SAMPLE_BYTES
        stdout = self._process.stdout
        assert stdout is not None
        data = stdout.read(size)
        if len(data) < size:
            data = data[: len(data) - len(data) % SAMPLE_BYTES]
            self.samples_read += len(data) // SAMPLE_BYTES
            self._finish()
        else:
            self.samples_read += len(data) // SAMPLE_BYTES
        return data

    @property
    def finished(self) -> bool:
        return self._finished

    def _finish(self) -> None:
        self._finished = True
        code = self._process.wait()
        if code != 0 or self.samples_read == 0:
            self._errors.seek(0)
            said = self._errors.read()[-_ERROR_TAIL:].decode(errors="replace").strip()
            self.error = said or f"ffmpeg exited with status {code} and no audio"
            log.warning("decoding %s failed: %s", self.path, self.error)

    def close(self) -> None:
        """Stop ffmpeg (if it is still running) and free the pipe and the error file."""
        if self._errors.closed:
            return
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._errors.close()
        self._finished = True

    def __enter__(self) -> PcmDecoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
