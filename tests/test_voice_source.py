"""Playback's audio path with real ffmpeg: stored MP3s in, one gapless stream of Discord frames out.

Each piece is a tone of its own pitch, so what is heard where can be told apart.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bot.ledger import Owner
from bot.voice.decoder import (
    FRAME_BYTES,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    PcmDecoder,
    decoder_command,
)
from bot.voice.playlist import LoopMode, Playlist, Track
from bot.voice.source import Ended, PlaybackEvent, QueueSource, Started
from generators.encode import Tags, encode_mp3

MP3_RATE = 44_100
ALICE = Owner("discord", "1", "alice")
TAGS = Tags(
    title="Tone",
    artist="Tunesmith tests",
    genre="test",
    bpm=120,
    key="A",
    comment="a tone",
    piece_id="tone",
    year=2026,
)


def tone_mp3(folder: Path, name: str, hz: float, seconds: float) -> Path:
    t = np.arange(round(seconds * MP3_RATE)) / MP3_RATE
    mono = 0.4 * np.sin(2 * np.pi * hz * t)
    return encode_mp3(
        np.column_stack([mono, mono]).astype(np.float32), MP3_RATE, folder / name, TAGS
    )


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, float, float]]:
    """name -> (MP3, pitch, seconds); 0.73 s is not a whole number of 20 ms frames."""
    folder = tmp_path_factory.mktemp("tones")
    wanted = {"low": (330.0, 0.5), "mid": (550.0, 0.73), "high": (880.0, 0.3)}
    return {
        name: (tone_mp3(folder, f"{name}.mp3", hz, seconds), hz, seconds)
        for name, (hz, seconds) in wanted.items()
    }


def track_of(tones: dict[str, tuple[Path, float, float]], name: str) -> Track:
    path, _, seconds = tones[name]
    return Track(name, name, seconds, path, ALICE)


def decoded(path: Path) -> bytes:
    with PcmDecoder(path) as decoder:
        return decoder.read(1 << 30)


class Recorder:
    def __init__(self) -> None:
        self.events: list[PlaybackEvent] = []

    def __call__(self, event: PlaybackEvent) -> None:
        self.events.append(event)

    def story(self) -> list[tuple[str, str]]:
        return [
            (e.how if isinstance(e, Ended) else "started", e.track.piece_id) for e in self.events
        ]


def drain(source: QueueSource, limit: int = 10_000) -> list[bytes]:
    frames = []
    for _ in range(limit):
        frame = source.read()
        if not frame:
            return frames
        frames.append(frame)
    raise AssertionError("the source never ended")


def as_samples(frames: list[bytes]) -> npt.NDArray[np.int16]:
    return np.frombuffer(b"".join(frames), dtype="<i2").reshape(-1, 2)


def pitch(samples: npt.NDArray[np.int16]) -> float:
    mono = samples[:, 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / SAMPLE_RATE)[int(np.argmax(spectrum))])


def test_a_stored_mp3_decodes_to_exactly_its_length_at_48_khz(
    tones: dict[str, tuple[Path, float, float]],
) -> None:
    for path, hz, seconds in tones.values():
        pcm = np.frombuffer(decoded(path), dtype="<i2").reshape(-1, 2)
        assert abs(len(pcm) - seconds * SAMPLE_RATE) <= 1, (path.name, len(pcm))
        assert abs(pitch(pcm) - hz) < 1000 / seconds / 20 + 3


def test_the_queue_plays_gaplessly_sample_for_sample(
    tones: dict[str, tuple[Path, float, float]],
) -> None:
    playlist, recorder = Playlist(), Recorder()
    playlist.add([track_of(tones, n) for n in ("low", "mid", "high")])
    source = QueueSource(playlist, threading.Lock(), notify=recorder)
    frames = drain(source)
    source.cleanup()

    assert all(len(f) == FRAME_BYTES for f in frames)
    # The stream is the three decodes joined end to end, then silence to the frame's end:
    # no gap, no overlap, nothing dropped at the odd 0.73 s boundary.
    joined = b"".join(decoded(tones[n][0]) for n in ("low", "mid", "high"))
    stream = b"".join(frames)
    assert stream[: len(joined)] == joined
    assert stream[len(joined) :] == bytes(len(stream) - len(joined))
    assert len(stream) - len(joined) < FRAME_BYTES
    assert recorder.story() == [
        ("started", "low"),
        ("played", "low"),
        ("started", "mid"),
        ("played", "mid"),
        ("started", "high"),
        ("played", "high"),
    ]
    ends = [e for e in recorder.events if isinstance(e, Ended)]
    assert [e.samples for e in ends] == [
        len(decoded(tones[n][0])) // 4 for n in ("low", "mid", "high")
    ]
    assert source.ended and source.read() == b""


def test_the_next_entry_is_decoding_before_it_is_due(
    tones: dict[str, tuple[Path, float, float]],
) -> None:
    opened: list[str] = []

    def open_decoder(track: Track) -> PcmDecoder:
        opened.append(track.piece_id)
        return PcmDecoder(track.path)

    playlist = Playlist()
    playlist.add([track_of(tones, "low"), track_of(tones, "high")])
    source = QueueSource(playlist, threading.Lock(), notify=Recorder(), open_decoder=open_decoder)
    source.read()
    assert opened == ["low", "high"]  # after the first frame of low, high's ffmpeg runs
    drain(source)
    source.cleanup()
    assert opened == ["low", "high"]  # and it was the one used


def test_skip_starts_the_next_entry_at_the_next_frame(
    tones: dict[str, tuple[Path, float, float]],
) -> None:
    lock, playlist, recorder = threading.Lock(), Playlist(), Recorder()
    playlist.add([track_of(tones, "mid"), track_of(tones, "high")])
    source = QueueSource(playlist, lock, notify=recorder)
    first = [source.read() for _ in range(5)]
    assert source.position_samples == 5 * FRAME_SAMPLES
    with lock:
        source.request_skip()
    rest = drain(source)
    source.cleanup()
    high = decoded(tones["high"][0])
    assert b"".join(rest)[: len(high)] == high
    assert b"".join(first) == decoded(tones["mid"][0])[: 5 * FRAME_BYTES]
    assert recorder.story() == [
        ("started", "mid"),
        ("skipped", "mid"),
        ("started", "high"),
        ("played", "high"),
    ]


def test_loop_one_repeats_the_entry_seamlessly_until_loop_is_off(
    tones: dict[str, tuple[Path, float, float]],
) -> None:
    lock, playlist, recorder = threading.Lock(), Playlist(), Recorder()
    playlist.add([track_of(tones, "high"), track_of(tones, "low")])
    playlist.loop = LoopMode.ONE
    source = QueueSource(playlist, lock, notify=recorder)
    high = decoded(tones["high"][0])
    frames = []
    while len(b"".join(frames)) < 2 * len(high) + FRAME_BYTES:
        frames.append(source.read())
    with lock:
        playlist.loop = LoopMode.OFF
    frames += drain(source)
    source.cleanup()
    stream = b"".join(frames)
    low = decoded(tones["low"][0])
    assert stream.startswith(high + high + high + low)
    assert [s for s in recorder.story() if s[0] == "started"] == [("started", "high")] * 3 + [
        ("started", "low")
    ]


def test_volume_scales_and_glides_over_one_frame(
    tones: dict[str, tuple[Path, float, float]],
) -> None:
    playlist = Playlist()
    playlist.add([track_of(tones, "mid")])
    source = QueueSource(playlist, threading.Lock(), notify=Recorder())
    reference = np.frombuffer(decoded(tones["mid"][0]), dtype="<i2").reshape(-1, 2).astype(float)
    first = as_samples([source.read()])
    assert np.array_equal(first, reference[:FRAME_SAMPLES])  # 100 %: untouched
    source.volume = 0.5
    glide, half = as_samples([source.read()]), as_samples([source.read()])
    source.cleanup()
    expected_half = reference[2 * FRAME_SAMPLES : 3 * FRAME_SAMPLES] * 0.5
    assert np.abs(half - expected_half).max() <= 1
    ramp = np.linspace(1.0, 0.5, FRAME_SAMPLES)[:, None]
    expected_glide = reference[FRAME_SAMPLES : 2 * FRAME_SAMPLES] * ramp
    assert np.abs(glide - expected_glide).max() <= 1
    with pytest.raises(ValueError, match="from 0 to 2"):
        source.volume = 2.5


def test_an_undecodable_piece_is_reported_and_the_queue_goes_on(
    tones: dict[str, tuple[Path, float, float]], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"this is not an mp3 at all" * 100)
    missing = tmp_path / "gone.mp3"
    playlist, recorder = Playlist(), Recorder()
    playlist.loop = LoopMode.ALL  # the failures must leave the queue, not go round forever
    playlist.add(
        [
            Track("broken", "Broken", 1.0, broken, ALICE),
            track_of(tones, "high"),
            Track("gone", "Gone", 1.0, missing, ALICE),
        ]
    )
    source = QueueSource(playlist, threading.Lock(), notify=recorder)
    frames = [source.read() for _ in range(40)]  # high twice round, and more
    source.cleanup()
    failures = [e for e in recorder.events if isinstance(e, Ended) and e.how == "failed"]
    assert [e.track.piece_id for e in failures] == ["broken", "gone"]
    assert all(e.error for e in failures)
    assert [t.piece_id for t in playlist.upcoming] + [playlist.current.piece_id] == ["high"]  # type: ignore[union-attr]
    high = decoded(tones["high"][0])
    assert b"".join(frames).startswith(high + high)
    assert isinstance(recorder.events[0], Ended)  # broken failed before anything started
    assert isinstance(recorder.events[1], Started)


def test_an_empty_playlist_ends_at_once() -> None:
    source = QueueSource(Playlist(), threading.Lock(), notify=Recorder())
    assert source.read() == b"" and source.ended


def test_the_decoder_command_is_fixed_and_held_to_local_files(tmp_path: Path) -> None:
    path = tmp_path / "ab" / "piece.mp3"
    command = decoder_command(path)
    assert command[command.index("-protocol_whitelist") + 1] == "file"
    assert command[command.index("-f") + 1] == "mp3"
    assert command[command.index("-i") + 1] == f"file:{path}"
    other = decoder_command(tmp_path / "cd" / "other.mp3")
    assert [a for a, b in zip(command, other, strict=True) if a != b] == [f"file:{path}"]
    with pytest.raises(ValueError, match="absolute path"):
        decoder_command(Path("relative.mp3"))


def test_a_playlist_file_in_disguise_does_not_make_ffmpeg_open_the_network(tmp_path: Path) -> None:
    """A file that is really an HLS playlist or an ffconcat list pointing at a listening socket:
    ffmpeg must not follow it (forced MP3 demuxer, file protocol only)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    sneaky = {
        "hls.mp3": f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nhttp://127.0.0.1:{port}/x.ts\n",
        "concat.mp3": f"ffconcat version 1.0\nfile 'http://127.0.0.1:{port}/y.mp3'\n",
    }
    try:
        for name, text in sneaky.items():
            path = tmp_path / name
            path.write_text(text)
            with PcmDecoder(path) as decoder:
                assert decoder.read(FRAME_BYTES) == b""
                assert decoder.error, name
            with pytest.raises(TimeoutError):
                listener.accept()
    finally:
        listener.close()
