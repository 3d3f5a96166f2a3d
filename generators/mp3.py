"""MP3 encoding with LAME (through ffmpeg), split across cores and spliced frame-exactly.

LAME is single-threaded and is the slowest stage of a piece. With the bit reservoir off, every
MP3 frame carries its own bits, so the piece can be encoded in parts on several cores and the
frames joined: each part starts a few frames early so the encoder's state (psychoacoustic
history, MDCT overlap) has settled by the first frame we keep, which makes the kept frames the
same bytes a single encoder would write. The file gets one Info/LAME header for the whole, with
the encoder delay and padding, so decoders give back exactly the input length.
"""

from __future__ import annotations

import math
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import fastcrc
import numpy as np

from generators.errors import RenderError

FRAME_SAMPLES = 1152  # MPEG-1 Layer III
LAME_DELAY = 576  # encoder delay LAME writes in its tag; decoders add 529 of their own
DECODER_DELAY = 529
LEAD_FRAMES = 16  # frames each part encodes before (and after) the frames it keeps
MIN_FRAMES_PER_PART = 4 * LEAD_FRAMES

_BITRATES_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0)
_SAMPLE_RATES = (44100, 48000, 32000, 0)


@dataclass(frozen=True, slots=True)
class _Part:
    input_start: int  # first input sample this encoder sees
    input_end: int
    keep_from: int  # index of the first output frame of this encoder that we keep
    keep_to: int | None  # one past the last kept frame; None = to the end


def frame_lengths(data: bytes, offset: int = 0) -> list[int]:
    """Byte lengths of the consecutive MPEG-1 Layer III frames in `data` from `offset`."""
    lengths = []
    position = offset
    while position + 4 <= len(data):
        b1, b2 = data[position + 1], data[position + 2]
        if data[position] != 0xFF or (b1 & 0xFE) != 0xFA:  # sync, MPEG-1, Layer III
            raise RenderError(
                f"the encoder produced something that is not an MP3 frame at byte {position}"
            )
        bitrate = _BITRATES_KBPS[b2 >> 4]
        sample_rate = _SAMPLE_RATES[(b2 >> 2) & 3]
        if not bitrate or not sample_rate:
            raise RenderError(f"invalid MP3 frame header at byte {position}")
        length = 144_000 * bitrate // sample_rate + ((b2 >> 1) & 1)
        lengths.append(length)
        position += length
    if position != len(data):
        raise RenderError("the encoder's output ends in the middle of a frame")
    return lengths


def _ffmpeg(sample_rate: int, bitrate: str, output: str, xing: bool) -> list[str]:
    return [
        "ffmpeg", "-nostdin", "-v", "error", "-y",
        "-f", "s16le", "-ar", str(sample_rate), "-ac", "2", "-i", "pipe:0",
        "-c:a", "libmp3lame", "-b:a", bitrate,
        # Without the reservoir each frame is self-contained, so parts can be spliced.
        "-reservoir", "0",
        "-write_xing", "1" if xing else "0", "-id3v2_version", "0", "-write_id3v1", "0",
        "-threads", "1", "-f", "mp3", output,
    ]  # fmt: skip


def padding_period(sample_rate: int, bitrate_kbps: int) -> int:
    """Frames after which LAME's pattern of padded (one byte longer) frames repeats.

    A part must start on this grid: then its frames get the same sizes, hence the same bits and
    the same bytes, as the single-encoder stream would give them.
    """
    remainder = (144_000 * bitrate_kbps) % sample_rate
    return sample_rate // math.gcd(remainder, sample_rate) if remainder else 1


def _plan(samples: int, parts: int, period: int) -> list[_Part]:
    total_frames = -(-(samples + LAME_DELAY + DECODER_DELAY) // FRAME_SAMPLES)
    parts = max(1, min(parts, total_frames // (MIN_FRAMES_PER_PART + period)))
    cuts = [round(k * total_frames / parts) for k in range(parts + 1)]
    plan = []
    for index in range(parts):
        first = max(0, (cuts[index] - LEAD_FRAMES) // period * period)
        last = index == parts - 1
        plan.append(
            _Part(
                input_start=first * FRAME_SAMPLES,
                input_end=samples
                if last
                else min(samples, (cuts[index + 1] + LEAD_FRAMES) * FRAME_SAMPLES),
                keep_from=cuts[index] - first,
                keep_to=None if last else cuts[index + 1] - first,
            )
        )
    return plan


def encode_frames(pcm: np.ndarray, sample_rate: int, path: Path, bitrate: str, parts: int) -> None:
    """Encode interleaved int16 stereo `pcm` (shape (n, 2)) to `path` on up to `parts` cores."""
    plan = _plan(len(pcm), parts, padding_period(sample_rate, int(bitrate.rstrip("k"))))
    outputs: list[bytes] = [b""] * len(plan)
    errors: list[str] = []
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".mp3-") as scratch:
        head_file = Path(scratch) / "part0.mp3"

        def run(index: int) -> None:
            part = plan[index]
            # The first part goes to a seekable file so ffmpeg writes its Info/LAME header,
            # which we reuse as the header of the whole file.
            target = str(head_file) if index == 0 else "pipe:1"
            command = _ffmpeg(sample_rate, bitrate, target, xing=index == 0)
            data = pcm[part.input_start : part.input_end].tobytes()
            try:
                done = subprocess.run(command, input=data, capture_output=True, check=False)
            except OSError as error:
                errors.append(f"cannot run ffmpeg: {error}")
                return
            if done.returncode != 0:
                errors.append(
                    done.stderr.decode(errors="replace").strip()
                    or f"ffmpeg exited {done.returncode}"
                )
                return
            outputs[index] = head_file.read_bytes() if index == 0 else done.stdout

        threads = [
            threading.Thread(target=run, args=(i,), name=f"mp3-part-{i}")
            for i in range(1, len(plan))
        ]
        for thread in threads:
            thread.start()
        run(0)
        for thread in threads:
            thread.join()
        if errors:
            raise RenderError(f"cannot encode MP3: {errors[0]}")

    head = outputs[0]
    head_lengths = frame_lengths(head)
    info_length = head_lengths[0]
    info = bytearray(head[:info_length])
    tag = info.find(b"Info")
    if tag < 0:
        tag = info.find(b"Xing")
    if tag < 0:
        raise RenderError("the encoder wrote no Info header; cannot make a gapless MP3")

    frames: list[bytes] = []
    for index, (part, output) in enumerate(zip(plan, outputs, strict=True)):
        start = info_length if index == 0 else 0
        lengths = head_lengths[1:] if index == 0 else frame_lengths(output)
        offsets = np.concatenate(([start], start + np.cumsum(lengths))).tolist()
        stop = len(lengths) if part.keep_to is None else part.keep_to
        frames += [output[offsets[k] : offsets[k + 1]] for k in range(part.keep_from, stop)]
    audio = b"".join(frames)
    _finish_info(info, tag, frames, audio, len(pcm))
    path.write_bytes(bytes(info) + audio)


def _finish_info(
    info: bytearray, tag: int, frames: list[bytes], audio: bytes, samples: int
) -> None:
    """Rewrite the Info/LAME header for the spliced stream, as ffmpeg's muxer does for its own."""
    count = len(frames)
    size = len(info) + len(audio)
    info[tag : tag + 4] = b"Info"  # constant bitrate
    info[tag + 8 : tag + 12] = count.to_bytes(4, "big")
    info[tag + 12 : tag + 16] = size.to_bytes(4, "big")
    # Seek table: where each percent of the duration starts, as a fraction of the file.
    ends = np.cumsum([len(info)] + [len(f) for f in frames])
    toc = bytearray(100)
    for i in range(1, 100):
        toc[i] = min(255, 256 * int(ends[i * count // 100]) // size)
    info[tag + 16 : tag + 116] = toc
    # Decoders skip delay + 529 at the start and trim padding - 529 at the end.
    padding = count * FRAME_SAMPLES - samples - LAME_DELAY
    if not 0 <= padding < 1 << 12:
        raise RenderError(f"unexpected MP3 padding of {padding} samples")
    info[tag + 141 : tag + 144] = ((LAME_DELAY << 12) + padding).to_bytes(3, "big")
    info[tag + 148 : tag + 152] = len(audio).to_bytes(4, "big")
    info[tag + 152 : tag + 154] = fastcrc.crc16.arc(audio).to_bytes(2, "big")
    info[tag + 154 : tag + 156] = fastcrc.crc16.arc(bytes(info[:190])).to_bytes(2, "big")
