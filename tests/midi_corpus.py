"""A generated corpus of malformed and hostile Standard MIDI Files, for a MIDI importer that must
never crash or hang on what people upload.

Every file is written by hand, byte by byte, with the small SMF writer below (``struct`` and
variable-length quantities, not mido or pretty_midi), so that it can be broken on purpose. The
corpus is deterministic (random bytes come from fixed seeds), needs no network and no files on
disk, and is built in well under a second.

    from tests.midi_corpus import hostile_midis
    for midi in hostile_midis(): ...

Run it as a script to look at the files by hand:

    .venv/bin/python tests/midi_corpus.py /tmp/hostile-midi
"""

from __future__ import annotations

import random
import re
import struct
import sys
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

KINDS = (
    "header",
    "truncated",
    "ticks",
    "length",
    "tracks",
    "notes",
    "events",
    "tempo",
    "valid-edge",
)
NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class HostileMidi:
    name: str  # unique, short, kebab-case, says what is wrong: "truncated-at-7", "huge-delta-vlq"
    data: bytes
    kind: str  # one of KINDS


# --- a small SMF writer -----------------------------------------------------------------------


def vlq(value: int) -> bytes:
    """A MIDI variable-length quantity: seven bits a byte, high bit set on all but the last.

    Values of 2**28 and above come out longer than the four bytes the standard allows, on purpose."""
    if value < 0:
        raise ValueError(value)
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def u32(value: int) -> bytes:
    return struct.pack(">I", value)


def chunk(tag: bytes, body: bytes, length: int | None = None) -> bytes:
    """A chunk: four-byte tag, 32-bit big-endian length (the true one unless told), body."""
    return tag + u32(len(body) if length is None else length) + body


def header(fmt: int = 1, ntrks: int = 1, division: int = 480) -> bytes:
    return chunk(b"MThd", struct.pack(">HHH", fmt, ntrks, division))


def smpte(fps: int, ticks_per_frame: int) -> int:
    """An SMPTE division: negative frames per second in the high byte, ticks per frame low."""
    return ((-fps & 0xFF) << 8) | ticks_per_frame


EOT = b"\x00\xff\x2f\x00"


def track(events: bytes, eot: bool = True, length: int | None = None) -> bytes:
    return chunk(b"MTrk", events + (EOT if eot else b""), length)


def smf(*bodies: bytes, fmt: int | None = None, division: int = 480, eot: bool = True) -> bytes:
    """A whole file from track bodies (events without the end-of-track, which is added)."""
    fmt = (0 if len(bodies) == 1 else 1) if fmt is None else fmt
    return header(fmt, len(bodies), division) + b"".join(track(b, eot) for b in bodies)


def on(delta: int, pitch: int, vel: int = 100, ch: int = 0) -> bytes:
    return vlq(delta) + bytes([0x90 | ch, pitch, vel])


def off(delta: int, pitch: int, vel: int = 64, ch: int = 0) -> bytes:
    return vlq(delta) + bytes([0x80 | ch, pitch, vel])


def note(pitch: int, length: int = 480, ch: int = 0, delta: int = 0, vel: int = 100) -> bytes:
    return on(delta, pitch, vel, ch) + off(length, pitch, 64, ch)


def meta(delta: int, kind: int, data: bytes, length: int | None = None) -> bytes:
    return vlq(delta) + bytes([0xFF, kind]) + vlq(len(data) if length is None else length) + data


def sysex(delta: int, data: bytes, status: int = 0xF0, length: int | None = None) -> bytes:
    return vlq(delta) + bytes([status]) + vlq(len(data) if length is None else length) + data


def tempo(delta: int, us_per_quarter: int) -> bytes:
    return meta(delta, 0x51, us_per_quarter.to_bytes(3, "big"))


def time_sig(delta: int, nn: int, dd: int, cc: int = 24, bb: int = 8) -> bytes:
    return meta(delta, 0x58, bytes([nn, dd, cc, bb]))


def key_sig(delta: int, sharps: int, mode: int) -> bytes:
    return meta(delta, 0x59, bytes([sharps & 0xFF, mode]))


def text(delta: int, words: str, kind: int = 0x01) -> bytes:
    return meta(delta, kind, words.encode())


def conductor(us_per_quarter: int = 500_000) -> bytes:
    return tempo(0, us_per_quarter) + time_sig(0, 4, 2) + key_sig(0, 0, 0)


def scale(n: int = 8, ch: int = 0, length: int = 240) -> bytes:
    return b"".join(note(60 + (i * 2) % 24, length, ch) for i in range(n))


# --- the base file every truncation cuts -------------------------------------------------------


def _base_parts() -> list[tuple[str, bytes]]:
    """The events of track 1 of the truncation base, labelled so cuts can land inside each."""
    return [
        ("program", b"\x00\xc0\x00"),
        ("sysex", sysex(0, b"\x7e\x7f\x09\x01\xf7")),  # GM system on
        ("text", text(0, "cut me anywhere")),
        ("tempo", tempo(0, 600_000)),
        ("note-1", on(0, 60) + off(480, 60)),
        ("vlq-3", on(20_000, 64) + off(480, 64)),  # a three-byte delta
        ("running", b"\x00\x90\x43\x50\x81\x70\x43\x00\x00\x48\x50\x83\x60\x48\x00"),
        ("bend", b"\x00\xe0\x00\x40\x00\xb0\x07\x64"),
        ("note-2", note(67, 960)),
    ]


def _base() -> tuple[bytes, int, dict[str, int]]:
    """The valid file the truncations cut, where track 1's events start, and each part's offset."""
    first = header(1, 2, 480) + track(text(0, "Tunesmith corpus", 0x03) + conductor())
    start = len(first) + 8
    offsets: dict[str, int] = {}
    body = b""
    for label, part in _base_parts():
        offsets[label] = start + len(body)
        body += part
    offsets["eot"] = start + len(body)
    return first + track(body), start, offsets


# --- the corpus ---------------------------------------------------------------------------------


class _Corpus:
    def __init__(self) -> None:
        self.items: list[HostileMidi] = []
        self.names: set[str] = set()

    def add(self, kind: str, name: str, data: bytes) -> None:
        if kind not in KINDS or not NAME.fullmatch(name) or name in self.names:
            raise ValueError(f"bad corpus entry {kind}/{name}")
        if len(data) > MAX_BYTES:
            raise ValueError(f"{name} is {len(data)} bytes")
        self.names.add(name)
        self.items.append(HostileMidi(name, bytes(data), kind))


def _headers(c: _Corpus) -> None:
    good = smf(scale())
    body = good[14:]
    add = c.add
    add("header", "empty-file", b"")
    for i, size in enumerate((1, 4, 13, 64, 1024, 65536)):
        add("header", f"random-bytes-{size}", random.Random(1000 + i).randbytes(size))
    add("header", "random-after-mthd", b"MThd" + random.Random(7).randbytes(200))
    add("header", "mthd-missing", body)
    add("header", "mthd-lowercase", b"mthd" + good[4:])
    add("header", "mthd-misspelt", b"MTHD" + good[4:])
    add("header", "mthd-only-tag", b"MThd")
    add("header", "mthd-tag-and-half-length", b"MThd\x00\x00")
    add("header", "mtrk-before-mthd", body + good[:14])
    add("header", "leading-garbage", b"\x00" * 16 + good)
    add("header", "utf8-bom", b"\xef\xbb\xbf" + good)
    add(
        "header",
        "riff-rmid-wrapped",
        b"RIFF"
        + struct.pack("<I", 12 + len(good))
        + b"RMID"
        + b"data"
        + struct.pack("<I", len(good))
        + good,
    )
    add("header", "riff-size-huge", b"RIFF\xff\xff\xff\xffRMIDdata\xff\xff\xff\xff" + good)
    add(
        "header",
        "riff-wav-header",
        b"RIFF"
        + struct.pack("<I", 36)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 44100, 88200, 2, 16)
        + b"data"
        + u32(0),
    )
    for length in (0, 5, 7, 2**16, 2**31, 2**32 - 1):
        hdr = b"MThd" + u32(length) + struct.pack(">HHH", 0, 1, 480)
        add("header", f"mthd-length-{length}", hdr + body)
    add("header", "mthd-length-0-no-fields", b"MThd" + u32(0) + body)
    for fmt in (3, 255, 65535):
        add("header", f"format-{fmt}", header(fmt, 1, 480) + body)
    add("header", "format-0-with-3-tracks", header(0, 3, 480) + body * 3)
    add("header", "division-0", header(0, 1, 0) + body)
    for fps, tpf in ((24, 4), (25, 40), (29, 80), (30, 100), (128, 0), (1, 255), (0, 1)):
        add("header", f"smpte-{fps}fps-{tpf}tpf", header(0, 1, smpte(fps, tpf)) + body)
    png_ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", png_ihdr)
        + u32(zlib.crc32(b"IHDR" + png_ihdr))
        + chunk(b"IEND", b"")
        + u32(zlib.crc32(b"IEND"))
    )
    add("header", "png-renamed", png)
    mp3_frame = b"\xff\xfb\x90\x64" + bytes(413)
    add("header", "mp3-renamed", b"ID3\x03\x00\x00\x00\x00\x00\x00" + mp3_frame * 3)
    add("header", "mp3-no-id3-renamed", mp3_frame * 3)
    add("header", "ogg-renamed", b"OggS\x00\x02" + bytes(22) + b"\x01\x1e\x01vorbis" + bytes(22))
    add("header", "zip-renamed", b"PK\x05\x06" + bytes(18))
    add("header", "text-renamed", b"This is not a MIDI file, it is a shopping list.\n")
    add("header", "text-starting-mthd", b"MThd is how a MIDI file starts, but this is prose.\n")
    add("header", "json-renamed", b'{"notes": [60, 62, 64], "tempo": 120}\n')
    add("header", "html-renamed", b"<!doctype html><html><body>404</body></html>\n")
    add("header", "header-then-nothing", header(0, 1, 480))
    add("header", "header-0-tracks-then-nothing", header(1, 0, 480))
    add("header", "header-then-zeros", header(0, 1, 480) + bytes(64))
    add("header", "header-twice", header(0, 1, 480) + header(0, 1, 480) + body)


def _truncated(c: _Corpus) -> None:
    base, start, at = _base()
    for cut in range(1, len(base), 3):
        c.add("truncated", f"cut-at-{cut}", base[:cut])
    c.add("truncated", "cut-last-byte", base[:-1])
    # The track's declared length made to match what is left: the chunk is whole, its events are not.
    head = base[: start - 8]
    for cut in range(start + 1, len(base), 4):
        c.add("truncated", f"body-cut-at-{cut}", head + track(base[start:cut], eot=False))
    named = {
        "inside-mthd-length": 6,
        "inside-mthd-fields": 11,
        "inside-mtrk-tag": start - 6,
        "inside-mtrk-length": start - 2,
        "inside-vlq": at["vlq-3"] + 1,
        "inside-vlq-2": at["vlq-3"] + 2,
        "inside-meta-after-ff": at["text"] + 2,
        "inside-meta-after-type": at["text"] + 3,
        "inside-meta-after-length": at["text"] + 4,
        "inside-meta-data": at["text"] + 9,
        "inside-tempo-data": at["tempo"] + 5,
        "inside-sysex-after-f0": at["sysex"] + 2,
        "inside-sysex-after-length": at["sysex"] + 3,
        "inside-sysex-data": at["sysex"] + 5,
        "inside-sysex-before-f7": at["sysex"] + 7,
        "inside-running-status": at["running"] + 6,
        "inside-eot": at["eot"] + 2,
    }
    for name, cut in named.items():
        c.add("truncated", name, base[:cut])
        if cut > start:
            c.add("truncated", f"{name}-fixed-length", head + track(base[start:cut], eot=False))


def _ticks(c: _Corpus) -> None:
    big = 0x0FFFFFFF
    for n in (1, 10, 100, 1000):
        c.add("ticks", f"delta-0fffffff-x{n}", smf((tempo(big, 500_000)) * n + note(60)))
    c.add("ticks", "note-off-2pow28-split", smf(on(0, 60) + tempo(big, 500_000) + off(1, 60)))
    c.add("ticks", "note-off-2pow28-5-byte-vlq", smf(on(0, 60) + off(2**28, 60)))
    c.add("ticks", "note-off-2pow35-vlq", smf(on(0, 60) + off(2**35, 60)))
    c.add("ticks", "note-off-2pow64-vlq", smf(on(0, 60) + off(2**64, 60)))
    c.add("ticks", "cumulative-over-2pow32", smf(b"".join(note(60, big) for _ in range(17))))
    c.add(
        "ticks",
        "cumulative-over-2pow32-one-note",
        smf(on(0, 60) + tempo(big, 500_000) * 16 + off(big, 60)),
    )
    c.add(
        "ticks",
        "cumulative-over-2pow32-two-tracks",
        smf(conductor(), tempo(big, 500_000) * 17 + note(60)),
    )
    c.add("ticks", "cumulative-over-2pow64", smf(tempo(2**63, 1) * 2 + note(60)))
    c.add("ticks", "note-starts-at-2pow32", smf(tempo(big, 500_000) * 16 + note(60, 10, delta=16)))
    c.add("ticks", "endless-vlq-to-end", smf(b"\xff" * 200, eot=False))
    for n in (5, 8, 100):
        c.add(
            "ticks",
            f"overlong-vlq-{n}-bytes",
            smf(b"\x80" * (n - 1) + b"\x00\x90\x3c\x40" + off(480, 60)),
        )
    c.add("ticks", "non-minimal-vlq-zero", smf(b"\x80\x80\x80\x00\x90\x3c\x40" + off(480, 60)))
    for tpq in (1, 2, 32767):
        c.add(
            "ticks", f"tpq-{tpq}", smf(conductor(), scale(8, length=max(1, tpq // 2)), division=tpq)
        )
    c.add("ticks", "tpq-1-huge-deltas", smf(conductor(), note(60, big) * 4, division=1))
    c.add("ticks", "tpq-1-slowest-tempo", smf(conductor(0xFFFFFF), note(60, big), division=1))
    c.add(
        "ticks", "tpq-32767-fastest-tempo", smf(conductor(1), scale(64, length=1), division=32767)
    )
    c.add("ticks", "division-ffff", smf(scale(), division=0xFFFF))
    c.add("ticks", "smpte-huge-deltas", smf(note(60, big) * 4, division=smpte(30, 1)))
    c.add(
        "ticks",
        "every-delta-max",
        smf(b"".join(note(60 + i % 12, big, delta=big) for i in range(64))),
    )


def _lengths(c: _Corpus) -> None:
    notes = scale(2)
    for length in (2**32 - 1, 2**31, 2**24, 1000):
        c.add("length", f"mtrk-length-{length}", header(0, 1, 480) + track(notes, length=length))
    c.add(
        "length",
        "mtrk-length-0-then-events",
        header(0, 1, 480) + track(b"", False, 0) + notes + EOT,
    )
    c.add(
        "length", "mtrk-length-short-by-1", header(0, 1, 480) + track(notes, length=len(notes) + 3)
    )
    c.add("length", "mtrk-length-mid-event", header(0, 1, 480) + track(notes, length=5))
    c.add(
        "length",
        "second-mtrk-length-ffffffff",
        header(1, 2, 480) + track(conductor()) + track(notes, length=2**32 - 1),
    )
    c.add(
        "length",
        "unknown-chunk-length-ffffffff",
        header(0, 1, 480) + chunk(b"XFIH", b"\x00" * 8, 2**32 - 1) + track(notes),
    )
    c.add(
        "length",
        "unknown-chunk-length-2pow31",
        header(0, 1, 480) + chunk(b"JUNK", b"", 2**31) + track(notes),
    )
    c.add(
        "length",
        "unknown-chunk-between-tracks",
        header(1, 2, 480) + track(conductor()) + chunk(b"XFKM", b"hi") + track(notes),
    )
    for kind, label in (
        (0x01, "text"),
        (0x51, "tempo"),
        (0x7F, "sequencer"),
        (0x60, "undefined"),
        (0x2F, "end-of-track"),
    ):
        c.add(
            "length",
            f"meta-{label}-length-2pow28",
            smf(meta(0, kind, b"abc", 2**28) + notes, eot=False),
        )
    c.add("length", "meta-length-2pow28-minus-1", smf(meta(0, 0x01, b"abc", 2**28 - 1)))
    c.add("length", "meta-length-5-byte-vlq", smf(meta(0, 0x01, b"abc", 2**34)))
    c.add("length", "meta-length-endless-vlq", smf(b"\x00\xff\x01" + b"\xff" * 64, eot=False))
    for status in (0xF0, 0xF7):
        c.add(
            "length",
            f"sysex-{status:x}-length-2pow28",
            smf(sysex(0, b"\x7e\x7f", status, 2**28) + notes, eot=False),
        )
    c.add("length", "sysex-length-2pow40", smf(sysex(0, b"\x7e\x7f", 0xF0, 2**40) + notes))
    for kind in range(0x01, 0x08):
        c.add(
            "length",
            f"text-{kind}-declared-100mb",
            smf(meta(0, kind, b"hello", 100_000_000) + notes),
        )
    c.add("length", "text-declared-100mb-many-tracks", smf(*[meta(0, 3, b"x", 100_000_000)] * 50))
    c.add("length", "meta-length-past-chunk-end", smf(meta(0, 0x01, b"ab", 40) + notes))


def _tracks(c: _Corpus) -> None:
    three = track(conductor()) + track(scale(4)) + track(scale(4, ch=1))
    c.add("tracks", "declared-65535-present-3", header(1, 65535, 480) + three)
    c.add("tracks", "declared-65535-present-0", header(1, 65535, 480))
    c.add("tracks", "declared-3-present-0", header(1, 3, 480))
    c.add("tracks", "declared-1-present-3", header(1, 1, 480) + three)
    c.add("tracks", "declared-0-present-3", header(1, 0, 480) + three)
    tiny = track(b"")
    c.add("tracks", "tracks-3000-tiny", header(1, 3000, 480) + tiny * 3000)
    c.add("tracks", "tracks-65535-tiny", header(1, 65535, 480) + tiny * 65535)
    c.add("tracks", "tracks-3000-length-0", header(1, 3000, 480) + track(b"", False) * 3000)
    one = b"".join(track(note(36 + i % 64, 120, ch=i % 16)) for i in range(2000))
    c.add("tracks", "tracks-2000-one-note-each", header(1, 2000, 480) + one)
    c.add("tracks", "format-0-2000-tracks", header(0, 2000, 480) + one)
    c.add("tracks", "format-2-2000-tracks", header(2, 2000, 480) + one)
    c.add("tracks", "tracks-2000-same-note", header(1, 2000, 480) + track(note(60)) * 2000)
    c.add(
        "tracks",
        "tracks-1000-with-tempo",
        header(1, 1000, 480) + track(tempo(0, 400_000) + note(60)) * 1000,
    )
    junk = b"".join(chunk(b"JUNK", b"\x00" * 4) + tiny for _ in range(1000))
    c.add("tracks", "tracks-1000-junk-between", header(1, 1000, 480) + junk)


def _notes(c: _Corpus) -> None:
    for n in (1, 100, 10_000):
        c.add("notes", f"zero-length-x{n}", smf(b"".join(note(60 + i % 12, 0) for i in range(n))))
    c.add(
        "notes",
        "zero-length-off-before-on",
        smf(b"".join(off(0, 60) + on(0, 60) for _ in range(100))),
    )
    for n in (1000, 20_000):
        c.add("notes", f"on-without-off-x{n}", smf(b"".join(on(1, i % 128) for i in range(n))))
    c.add(
        "notes",
        "on-without-off-same-pitch",
        smf(b"".join(on(1, 60) for _ in range(5000)) + off(1, 60)),
    )
    c.add("notes", "off-without-on-x1000", smf(b"".join(off(1, i % 128) for i in range(1000))))
    c.add("notes", "velocity-0-on-only", smf(b"".join(on(10, 60 + i % 12, 0) for i in range(100))))
    c.add(
        "notes",
        "velocity-0-on-as-off",
        smf(b"".join(on(0, 60) + on(480, 60, 0) for _ in range(16))),
    )
    for pitch, vel in ((0x80, 100), (0xFF, 100), (60, 0x80), (60, 0xFF), (0xFF, 0xFF)):
        c.add("notes", f"pitch-{pitch}-velocity-{vel}", smf(on(0, pitch, vel) + off(480, pitch)))
    c.add("notes", "off-velocity-255", smf(on(0, 60) + off(480, 60, 0xFF)))
    c.add(
        "notes",
        "high-bit-data-in-running-status",
        smf(b"\x00\x90\x3c\x40\x60\xbc\x40\x00\x60\x3c\x00"),
    )
    pattern = b"\x00\x90\x3c\x64\x01\x80\x3c\x40"
    run = b"\x00\x90" + (b"\x3c\x64\x01\x3c\x00\x00" * 200_000)[:-1]
    c.add("notes", "notes-200000-one-track", smf(run))
    c.add("notes", "notes-50000-no-running-status", smf(pattern * 50_000))
    all16 = b"".join(on(0, 60 + ch, 100, ch) for ch in range(16))
    all16 += b"".join(off(480 if ch == 0 else 0, 60 + ch, 64, ch) for ch in range(16))
    c.add("notes", "all-16-channels", smf(all16 * 8))
    c.add("notes", "all-16-channels-16-tracks", smf(*[scale(8, ch=ch) for ch in range(16)]))
    c.add("notes", "drums-only", smf(b"".join(note(35 + i % 47, 60, ch=9) for i in range(256))))
    c.add("notes", "drums-only-pitch-0-127", smf(b"".join(note(p, 30, ch=9) for p in range(128))))
    chord = (
        b"".join(on(0, p) for p in range(128))
        + off(960, 0)
        + b"".join(off(0, p) for p in range(1, 128))
    )
    c.add("notes", "chord-128", smf(chord))
    c.add("notes", "chord-128-x100", smf(chord * 100))
    chord16 = b"".join(on(0, p, 100, ch) for ch in range(16) for p in range(128))
    c.add("notes", "chord-128-on-16-channels", smf(chord16 + b"\x83\x60\xb0\x7b\x00"))
    c.add("notes", "chord-128-never-released", smf(b"".join(on(0, p) for p in range(128))))
    c.add(
        "notes",
        "overlapping-same-pitch",
        smf(on(0, 60) + on(240, 60) + off(240, 60) + off(240, 60)),
    )
    c.add("notes", "extreme-pitches", smf(note(0) + note(127)))
    c.add(
        "notes", "poly-aftertouch-flood", smf(on(0, 60) + b"\x00\xa0\x3c\x7f" * 10_000 + off(1, 60))
    )
    c.add("notes", "one-note-10000-quarters", smf(on(0, 60) + off(4_800_000, 60)))


def _events(c: _Corpus) -> None:
    notes = scale(2)
    add = c.add
    add("events", "running-status-at-start", smf(b"\x00\x3c\x40\x60\x3c\x00" + notes))
    add("events", "running-status-after-meta", smf(on(0, 60) + text(0, "x") + b"\x60\x3c\x00"))
    add(
        "events",
        "running-status-after-sysex",
        smf(on(0, 60) + sysex(0, b"\x01\xf7") + b"\x60\x3c\x00"),
    )
    add("events", "running-status-second-track", smf(on(0, 60), b"\x00\x3c\x40\x60\x3c\x00"))
    for status in (0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE):
        add("events", f"status-{status:x}", smf(notes + bytes([0, status]) + b"\x01\x02" + notes))
    add("events", "status-f4-at-start", smf(b"\x00\xf4" + notes))
    for length in (0, 1, 2, 4, 7, 255):
        data = bytes([7] * min(length, 3)) + bytes(max(0, length - 3))
        add("events", f"tempo-meta-length-{length}", smf(meta(0, 0x51, data) + notes))
    for length in (0, 2, 3, 5, 64):
        add(
            "events",
            f"time-sig-meta-length-{length}",
            smf(meta(0, 0x58, bytes([4] * length)) + notes),
        )
    for length in (0, 1, 3):
        add(
            "events",
            f"key-sig-meta-length-{length}",
            smf(meta(0, 0x59, bytes([1] * length)) + notes),
        )
    for length in (0, 4, 6):
        add(
            "events",
            f"smpte-offset-meta-length-{length}",
            smf(meta(0, 0x54, bytes(length)) + notes),
        )
    add("events", "end-of-track-length-5", smf(notes + meta(0, 0x2F, b"\x01" * 5), eot=False))
    add("events", "sequence-number-length-0", smf(meta(0, 0x00, b"") + notes))
    add("events", "channel-prefix-200", smf(meta(0, 0x20, b"\xc8") + notes))
    add("events", "port-prefix-255", smf(meta(0, 0x21, b"\xff") + notes))
    add("events", "meta-type-ff", smf(meta(0, 0xFF, b"\x00\x00") + notes))
    add("events", "meta-type-7e", smf(meta(0, 0x7E, b"hi") + notes))
    add("events", "meta-type-high-bit", smf(meta(0, 0x90, b"\x3c") + notes))
    add("events", "lone-ff-at-end", smf(notes + b"\x00\xff", eot=False))
    add("events", "text-invalid-utf8", smf(meta(0, 0x03, b"\xff\xfe\xc3\x28\x80") + notes))
    add("events", "text-nul-bytes", smf(meta(0, 0x03, b"a\x00b\x00" * 64) + notes))
    add("events", "lyric-10000", smf(b"".join(meta(1, 0x05, b"la") for _ in range(10_000))))
    add("events", "sysex-without-f7", smf(sysex(0, b"\x7e\x7f\x09\x01") + notes))
    add("events", "sysex-to-end-no-f7", smf(b"\x00\xf0\x7f" + b"\x7e" * 126, eot=False))
    add(
        "events",
        "sysex-status-bytes-inside",
        smf(sysex(0, b"\x90\x3c\x40\xff\x2f\x00\xf7") + notes),
    )
    add("events", "sysex-f7-first", smf(sysex(0, b"\x01\x02\xf7", 0xF7) + notes))
    add(
        "events",
        "sysex-packets-unfinished",
        smf(sysex(0, b"\x43\x10") + sysex(0, b"\x4c", 0xF7) + notes),
    )
    add("events", "sysex-10000", smf(sysex(1, b"\x7e\x7f\x09\x01\xf7") * 10_000))
    add("events", "end-of-track-missing", smf(notes, eot=False))
    add("events", "end-of-track-missing-empty", header(0, 1, 480) + track(b"", False))
    add("events", "end-of-track-missing-format-1", smf(conductor(), notes, eot=False))
    add("events", "notes-after-end-of-track", header(0, 1, 480) + track(EOT + notes, eot=False))
    add("events", "garbage-after-end-of-track", smf(notes + EOT + b"\xde\xad\xbe\xef" * 8))
    add("events", "end-of-track-twice", smf(EOT + EOT))
    add(
        "events",
        "end-of-track-at-huge-tick",
        smf(notes + meta(0x0FFFFFFF, 0x2F, b""), eot=False),
    )
    add("events", "data-after-last-chunk", smf(notes) + b"\x00" * 3)
    add("events", "data-after-last-chunk-random", smf(notes) + random.Random(3).randbytes(100))
    nested = track(notes)
    add("events", "nested-mtrk-in-text", smf(meta(0, 0x01, nested) + notes))
    add("events", "nested-mtrk-in-sysex", smf(sysex(0, nested + b"\xf7") + notes))
    add("events", "nested-mtrk-as-events", header(0, 1, 480) + track(nested, eot=False))
    add("events", "nested-mthd-in-track", header(0, 1, 480) + track(header(0, 1, 480) + nested))
    add(
        "events",
        "program-change-flood",
        smf(b"".join(bytes([0, 0xC0, i % 128]) for i in range(20_000)) + notes),
    )
    add(
        "events",
        "pitch-bend-extremes",
        smf(on(0, 60) + b"\x00\xe0\x00\x00\x60\xe0\x7f\x7f" + off(480, 60)),
    )
    add(
        "events",
        "controller-flood",
        smf(b"\x00\xb0" + (b"\x07\x7f\x00\x07\x00\x00" * 20_000)[:-1] + notes),
    )
    add("events", "all-notes-off-mid-note", smf(on(0, 60) + b"\x60\xb0\x7b\x00" + off(480, 60)))


def _tempos(c: _Corpus) -> None:
    notes = scale(4)
    for value in (0, 1, 2, 0xFFFFFF):
        c.add("tempo", f"tempo-{value}", smf(tempo(0, value) + notes))
    c.add("tempo", "tempo-0-format-1", smf(conductor(0), notes))
    c.add("tempo", "tempo-0-mid-song", smf(tempo(0, 500_000) + note(60) + tempo(0, 0) + notes))
    c.add(
        "tempo",
        "tempo-changes-10000",
        smf(b"".join(tempo(1, 200_000 + i) for i in range(10_000)) + notes),
    )
    c.add(
        "tempo",
        "tempo-changes-10000-same-tick",
        smf(b"".join(tempo(0, 300_000 + i) for i in range(10_000)) + notes),
    )
    c.add(
        "tempo",
        "tempo-alternating-1-ffffff",
        smf(b"".join(tempo(1, (1, 0xFFFFFF)[i % 2]) for i in range(10_000)) + notes),
    )
    c.add(
        "tempo",
        "tempo-in-every-track",
        smf(*[tempo(0, 400_000 + 1000 * i) + scale(2) for i in range(16)]),
    )
    c.add("tempo", "tempo-in-format-2", smf(conductor(), tempo(0, 1) + notes, fmt=2))
    c.add("tempo", "tempo-at-huge-tick", smf(notes + tempo(0x0FFFFFFF, 1) + notes))
    c.add("tempo", "tempo-with-smpte-division", smf(conductor(), notes, division=smpte(25, 40)))
    for nn, dd in ((0, 0), (255, 255), (4, 255), (0, 2), (4, 32), (7, 8)):
        c.add("tempo", f"time-sig-{nn}-{dd}", smf(time_sig(0, nn, dd) + notes))
    c.add("tempo", "time-sig-clocks-0", smf(time_sig(0, 4, 2, 0, 0) + notes))
    c.add(
        "tempo",
        "time-sig-changes-10000",
        smf(b"".join(time_sig(1, 1 + i % 15, i % 6) for i in range(10_000)) + notes),
    )
    for sharps, mode in ((-100, 7), (127, 0), (-128, 255), (8, 1), (-8, 0), (0, 2)):
        c.add(
            "tempo",
            f"key-sig-{sharps}-mode-{mode}".replace("--", "-minus-"),
            smf(key_sig(0, sharps, mode) + notes),
        )
    c.add(
        "tempo",
        "key-sig-changes-10000",
        smf(b"".join(key_sig(1, i % 15 - 7, i % 2) for i in range(10_000)) + notes),
    )


def _valid_edge(c: _Corpus) -> None:
    c.add("valid-edge", "truncation-base", _base()[0])
    c.add("valid-edge", "one-note", smf(note(60)))
    c.add("valid-edge", "only-tempo", smf(tempo(0, 500_000)))
    c.add("valid-edge", "only-end-of-track", smf(b""))
    c.add("valid-edge", "format-0", smf(conductor() + scale(8), fmt=0))
    c.add("valid-edge", "format-1", smf(conductor(), scale(8), scale(8, ch=1)))
    c.add(
        "valid-edge", "format-2", smf(conductor() + scale(4), conductor(300_000) + scale(4), fmt=2)
    )
    c.add("valid-edge", "format-1-one-track", smf(conductor() + scale(8), fmt=1))
    c.add("valid-edge", "one-tick-per-quarter", smf(conductor(), scale(8, length=1), division=1))
    c.add(
        "valid-edge",
        "tpq-32767-long-notes",
        smf(conductor(), scale(8, length=32767), division=32767),
    )
    c.add("valid-edge", "smpte-25fps", smf(scale(8), division=smpte(25, 40)))
    c.add("valid-edge", "long-silence-then-note", smf(note(60, 480, delta=480 * 4 * 600)))
    c.add("valid-edge", "velocity-0-note-offs", smf(on(0, 60) + on(480, 60, 0)))
    c.add(
        "valid-edge",
        "running-status",
        smf(b"\x00\x90\x3c\x64\x83\x60\x3c\x00\x00\x3e\x64\x83\x60\x3e\x00"),
    )
    c.add("valid-edge", "drum-note", smf(note(36, ch=9)))
    c.add(
        "valid-edge", "sixteen-channels", smf(b"".join(note(48 + ch, 120, ch) for ch in range(16)))
    )
    c.add("valid-edge", "rests-only", smf(b"\x83\x60\xff\x01\x04rest"))


def hostile_midis() -> list[HostileMidi]:
    """The whole corpus, in a fixed order, names unique. Every call builds it afresh."""
    corpus = _Corpus()
    for part in (
        _headers,
        _truncated,
        _ticks,
        _lengths,
        _tracks,
        _notes,
        _events,
        _tempos,
        _valid_edge,
    ):
        part(corpus)
    return corpus.items


def write_corpus(out: Path, midis: Iterable[HostileMidi]) -> Counter[str]:
    """Write each file as OUT/KIND/NAME.mid; the count per kind."""
    counts: Counter[str] = Counter()
    for midi in midis:
        folder = out / midi.kind
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{midi.name}.mid").write_bytes(midi.data)
        counts[midi.kind] += 1
    return counts


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUT_DIR", file=sys.stderr)
        return 2
    counts = write_corpus(Path(argv[1]), hostile_midis())
    for kind in KINDS:
        print(f"{kind:12} {counts[kind]:5}")
    print(f"{'total':12} {sum(counts.values()):5}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
