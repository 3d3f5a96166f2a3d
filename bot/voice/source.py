"""The audio a guild hears: its playlist as one gapless stream of Discord PCM frames.

discord.py's audio thread calls `QueueSource.read()` every 20 ms. The frame that ends one entry
is filled from the start of the next, so entries follow one another sample for sample, with no
silence and no restart of the player between them; the next entry's ffmpeg is started while the
current one plays, so it is ready when needed. The event loop changes the playlist (add, skip,
loop, volume) under the lock it shares with the thread; only the thread touches the decoders.
What happens is reported through `notify` (from the audio thread: hand it to the loop).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import discord
import numpy as np

from bot.voice.decoder import FRAME_BYTES, FRAME_SAMPLES, SAMPLE_RATE, DecodeError, PcmDecoder
from bot.voice.playlist import Playlist, Track

log = logging.getLogger(__name__)

MAX_VOLUME = 2.0


@dataclass(frozen=True, slots=True)
class Started:
    """`track` began playing."""

    track: Track


@dataclass(frozen=True, slots=True)
class Ended:
    """`track` stopped: played to its end, skipped, or failed to decode (`error` says why)."""

    track: Track
    how: Literal["played", "skipped", "failed"]
    samples: int  # how much of it was played, at 48 kHz
    error: str | None = None


PlaybackEvent = Started | Ended
Notify = Callable[[PlaybackEvent], None]
OpenDecoder = Callable[[Track], PcmDecoder]


def open_stored(track: Track) -> PcmDecoder:
    return PcmDecoder(track.path)


class QueueSource(discord.AudioSource):
    """A playlist as one stream of 20 ms PCM frames; returns b'' once the playlist runs out."""

    def __init__(
        self,
        playlist: Playlist,
        lock: threading.Lock,
        *,
        notify: Notify,
        volume: float = 1.0,
        open_decoder: OpenDecoder = open_stored,
    ) -> None:
        self._playlist = playlist
        self._lock = lock
        self._notify = notify
        self._open = open_decoder
        self._decoder: PcmDecoder | None = None  # playing `_track`
        self._track: Track | None = None
        self._preload: tuple[Track, PcmDecoder] | None = None
        self._skip = False
        self._announced = False  # Started was sent for `_track`
        self._volume = check_volume(volume)
        self._gain = self._volume  # what the last frame ended at; changes ramp over a frame
        self.ended = False  # the playlist ran out; a new source is needed to play more
        self.position_samples = 0  # of the entry playing now

    # -- the event loop's side (hold the lock) -------------------------------------------------

    @property
    def track(self) -> Track | None:
        """The entry playing now."""
        return self._track

    @property
    def position_s(self) -> float:
        return self.position_samples / SAMPLE_RATE

    def request_skip(self) -> None:
        """End the current entry at the next frame (call with the lock held)."""
        self._skip = True

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = check_volume(value)

    # -- the audio thread's side ---------------------------------------------------------------

    def is_opus(self) -> bool:
        return False

    def read(self) -> bytes:
        if self.ended:
            return b""
        parts: list[bytes] = []
        missing = FRAME_BYTES
        while missing:
            if self._decoder is None:
                if not self._begin():
                    break
                continue
            if self._skip:
                self._end("skipped")
                continue
            data = self._decoder.read(missing)
            if data:
                if not self._announced:
                    # Announced with its first audio: a file that fails to decode only fails.
                    self._announced = True
                    assert self._track is not None
                    self._notify(Started(self._track))
                parts.append(data)
                missing -= len(data)
                self.position_samples += len(data) // 4
            if self._decoder.finished:
                self._end("failed" if self._decoder.error else "played")
        if missing == FRAME_BYTES:
            return b""
        self._preload_next()
        if missing:
            parts.append(bytes(missing))  # the very end: pad the last frame with silence
        return self._at_volume(b"".join(parts))

    def cleanup(self) -> None:
        """Stop every ffmpeg this source started (discord.py calls this when the player ends)."""
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None
        self._drop_preload()

    def _begin(self) -> bool:
        """Start decoding the playlist's current entry; False when nothing is left."""
        with self._lock:
            # The entry `_end` moved on to; for a new source, the current entry over again or
            # the first in line; after a clear, whatever was added since.
            playlist = self._playlist
            track = playlist.current or playlist.advance()
            self._skip = False
            if track is None:
                self.ended = True
                return False
        try:
            self._decoder = self._decoder_for(track)
        except DecodeError as error:
            log.warning("cannot play %s: %s", track.label, error)
            with self._lock:
                if self._playlist.current is track:
                    self._playlist.advance(drop=True)
            self._notify(Ended(track, "failed", 0, str(error)))
            return True
        self._track = track
        self._announced = False
        self.position_samples = 0
        return True

    def _end(self, how: Literal["played", "skipped", "failed"]) -> None:
        """The current entry is over: move the playlist on and report it."""
        decoder, track = self._decoder, self._track
        assert decoder is not None and track is not None
        error = decoder.error if how == "failed" else None
        decoder.close()
        self._decoder = None
        self._track = None
        with self._lock:
            if self._playlist.current is track:
                self._playlist.advance(skipped=how == "skipped", drop=how == "failed")
            self._skip = False
        self._notify(Ended(track, how, decoder.samples_read, error))

    def _decoder_for(self, track: Track) -> PcmDecoder:
        if self._preload is not None and self._preload[0] is track:
            decoder = self._preload[1]
            self._preload = None
            return decoder
        return self._open(track)

    def _preload_next(self) -> None:
        """Start the next entry's ffmpeg now, so its first frame is there when it is due."""
        with self._lock:
            following = self._playlist.next_track()
        if self._preload is not None and self._preload[0] is following:
            return
        self._drop_preload()
        if following is not None:
            try:
                self._preload = (following, self._open(following))
            except DecodeError:
                self._preload = None  # reported when it is due

    def _drop_preload(self) -> None:
        if self._preload is not None:
            self._preload[1].close()
            self._preload = None

    def _at_volume(self, frame: bytes) -> bytes:
        target, start = self._volume, self._gain
        self._gain = target
        if start == target == 1.0:
            return frame  # untouched: what is stored is what is heard
        samples = np.frombuffer(frame, dtype="<i2").reshape(FRAME_SAMPLES, 2).astype(np.float32)
        # A change of volume glides over one frame instead of jumping (no click).
        gain = np.linspace(start, target, FRAME_SAMPLES, dtype=np.float32)[:, None]
        scaled = np.clip(np.rint(samples * gain), -32768, 32767)
        return scaled.astype("<i2").tobytes()


def check_volume(value: float) -> float:
    if not 0.0 <= value <= MAX_VOLUME:
        raise ValueError(f"volume must be from 0 to {MAX_VOLUME:g} (0 % to 200 %), got {value}")
    return float(value)
