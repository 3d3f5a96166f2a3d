"""One guild's playback: its voice connection, its queue and the audio thread playing it.

`GuildPlayer` is the event loop's handle on what discord.py's audio thread plays. It starts a
`QueueSource` when there is something to play and nothing playing, forwards the controls
(skip, pause, loop, volume) under the lock the thread shares, hears back from the thread
through `loop.call_soon_threadsafe`, and leaves the channel after `idle_s` without music.
What should be said about it in chat is the front end's: a `PlayerListener`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import discord

from bot.voice.playlist import LoopMode, Playlist, Track
from bot.voice.radio import Radio
from bot.voice.source import Ended, PlaybackEvent, QueueSource, Started, check_volume
from generators.errors import TunesmithError

log = logging.getLogger(__name__)

OPUS_MAX_KBPS = 512


class NothingPlaying(TunesmithError):
    """A control that needs something playing (or paused), and nothing is."""


class LeaveReason(enum.StrEnum):
    STOPPED = "stopped"  # /stop
    IDLE = "idle"  # nothing played for idle_s
    ALONE = "alone"  # everyone else left the channel
    DISCONNECTED = "disconnected"  # Discord (or a moderator) took the bot out of voice
    SHUTDOWN = "shutdown"  # the bot is stopping
    MOVING = "moving"  # off to another channel of the server, where someone asked


class PlayerListener(Protocol):
    """What a front end hears from a player (called on the event loop)."""

    def track_started(self, player: GuildPlayer, track: Track) -> None: ...

    def track_failed(self, player: GuildPlayer, track: Track, error: str) -> None: ...

    def player_left(self, player: GuildPlayer, reason: LeaveReason) -> None: ...


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The queue as it is now, for /queue and /nowplaying."""

    current: Track | None
    position_s: float
    paused: bool
    upcoming: tuple[Track, ...]
    loop: LoopMode
    volume: float
    radio: str | None  # the radio's request, when it is on


class GuildPlayer:
    """Playback in one guild's voice channel. Built by the front end once it has connected."""

    def __init__(
        self,
        voice: discord.VoiceClient,
        *,
        listener: PlayerListener,
        idle_s: float,
        text_channel_id: int | None = None,
    ) -> None:
        self.voice = voice
        self.guild_id = voice.guild.id
        self.text_channel_id = text_channel_id  # where announcements go (the last command's)
        self.playlist = Playlist()
        self.radio: Radio | None = None
        self.closed = False
        self._listener = listener
        self._idle_s = idle_s
        self._lock = threading.Lock()  # shared with the audio thread's QueueSource
        self._loop = asyncio.get_running_loop()
        self._source: QueueSource | None = None
        self._starting = asyncio.Lock()
        self._no_thread = asyncio.Event()  # no audio thread is running for this player
        self._no_thread.set()
        self._volume = 1.0
        self._idle: asyncio.TimerHandle | None = None
        self._leaving: asyncio.Task[None] | None = None
        self._arm_idle()

    @property
    def channel(self) -> discord.abc.Connectable:
        return self.voice.channel

    # -- queueing ------------------------------------------------------------------------------

    async def add(self, tracks: Iterable[Track]) -> int:
        """Queue `tracks`; returns the first one's place in line (0: it plays now)."""
        self._check_open()
        with self._lock:
            place = self.playlist.add(tracks)
            playing = self._source is not None and not self._source.ended
        if playing:
            return place
        await self._start()
        return place - 1

    async def _start(self) -> None:
        """Play the queue, once the previous audio thread (if any) has finished."""
        async with self._starting:
            with self._lock:
                if self._source is not None and not self._source.ended:
                    return  # someone else started it meanwhile
            await self._no_thread.wait()
            self._check_open()
            if not self.voice.is_connected():
                raise NothingPlaying("I'm not connected to voice any more; /play again.")
            source = QueueSource(
                self.playlist, self._lock, notify=self._from_thread, volume=self._volume
            )
            self._source = source
            self._no_thread.clear()
            self._cancel_idle()
            channel_kbps = getattr(self.channel, "bitrate", 64_000) // 1000
            self.voice.play(
                source,
                after=lambda error: self._call_soon(self._after, source, error),
                bitrate=max(16, min(OPUS_MAX_KBPS, channel_kbps)),
                signal_type="music",
            )

    # -- controls ------------------------------------------------------------------------------

    def skip(self) -> Track:
        """End the current piece now; the next one (if any) starts. Returns the skipped one."""
        with self._lock:
            source = self._source
            if source is None or source.ended or source.track is None:
                raise NothingPlaying("Nothing is playing, so there is nothing to skip.")
            track = source.track
            source.request_skip()
        if self.voice.is_paused():
            self.voice.resume()
            self._cancel_idle()
        return track

    def pause(self) -> Track:
        track = self._playing_track()
        if self.voice.is_paused():
            raise NothingPlaying("It's paused already; /resume to carry on.")
        self.voice.pause()
        self._arm_idle()
        return track

    def resume(self) -> Track:
        track = self._playing_track()
        if not self.voice.is_paused():
            raise NothingPlaying("It isn't paused; it's playing.")
        self.voice.resume()
        self._cancel_idle()
        return track

    def set_loop(self, mode: LoopMode) -> None:
        if mode is not LoopMode.OFF and self.radio is not None:
            raise NothingPlaying(
                "The radio plays new pieces without end, so there is nothing to loop;"
                " /radio stop first."
            )
        with self._lock:
            self.playlist.loop = mode

    def set_volume(self, volume: float) -> None:
        volume = check_volume(volume)
        with self._lock:
            if self._source is not None:
                self._source.volume = volume
            self._volume = volume

    @property
    def volume(self) -> float:
        return self._volume

    def snapshot(self) -> Snapshot:
        with self._lock:
            source = self._source
            playing = source is not None and not source.ended and source.track is not None
            return Snapshot(
                current=source.track if playing and source is not None else None,
                position_s=source.position_s if playing and source is not None else 0.0,
                paused=self.voice.is_paused(),
                upcoming=self.playlist.upcoming,
                loop=self.playlist.loop,
                volume=self._volume,
                radio=None if self.radio is None else self.radio.text,
            )

    def forget_piece(self, piece_id: str) -> None:
        """A piece was deleted: take it out of the queue, and stop it if it is playing."""
        with self._lock:
            self.playlist.remove_piece(piece_id)
            source = self._source
            if (
                source is not None
                and source.track is not None
                and source.track.piece_id == piece_id
            ):
                source.request_skip()

    # -- the radio -----------------------------------------------------------------------------

    def tune(self, radio: Radio) -> Radio | None:
        """Put `radio` on (replacing the one that was on, returned) and ask for its first piece."""
        previous, self.radio = self.radio, radio
        if previous is not None:
            previous.stop()
        with self._lock:
            self.playlist.loop = LoopMode.OFF
        radio.want_more()
        return previous

    def radio_off(self) -> Radio | None:
        radio, self.radio = self.radio, None
        if radio is not None:
            radio.stop()
        return radio

    def _radio_has_one_ahead(self) -> bool:
        with self._lock:
            return any(track.radio for track in self.playlist.upcoming)

    # -- leaving -------------------------------------------------------------------------------

    async def leave(self, reason: LeaveReason) -> None:
        """Stop everything and leave the voice channel. Idempotent: a second call waits for the
        first to finish (a shutdown right after /stop must not disconnect twice: discord.py
        would wait out its timeout for a voice state update that never comes)."""
        self.leave_soon(reason)
        assert self._leaving is not None
        await asyncio.shield(self._leaving)

    def leave_soon(self, reason: LeaveReason) -> None:
        """`leave` without waiting; the task is kept until done."""
        if self._leaving is None:
            self.closed = True  # at once: nothing new is queued from here on
            self._cancel_idle()
            self._leaving = self._loop.create_task(self._leave(reason), name="voice-leave")

    async def _leave(self, reason: LeaveReason) -> None:
        self.radio_off()
        with self._lock:
            self.playlist.clear()
        try:
            self.voice.stop()  # a no-op when nothing plays
            await self.voice.disconnect(force=True)
        except Exception:  # leaving must not fail: the connection may be half gone already
            log.exception("leaving voice in guild %s", self.guild_id)
        self._listener.player_left(self, reason)

    # -- from the audio thread -----------------------------------------------------------------

    def _from_thread(self, event: PlaybackEvent) -> None:
        self._call_soon(self._on_event, event)

    def _call_soon(self, callback: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the bot is gone
            self._loop.call_soon_threadsafe(callback, *args)

    def _on_event(self, event: PlaybackEvent) -> None:
        if self.closed:
            return
        if isinstance(event, Started):
            self._cancel_idle()
            self._listener.track_started(self, event.track)
            if self.radio is not None and not self._radio_has_one_ahead():
                self.radio.want_more()
        elif isinstance(event, Ended) and event.how == "failed":
            self._listener.track_failed(self, event.track, event.error or "it could not be read")

    def _after(self, source: QueueSource, error: Exception | None) -> None:
        """discord.py's audio thread for `source` has finished."""
        if error is not None:
            log.error("playback in guild %s failed", self.guild_id, exc_info=error)
        if self._source is source:
            self._source = None
        self._no_thread.set()
        if self.closed:
            return
        if not self.voice.is_connected():
            self.leave_soon(LeaveReason.DISCONNECTED)
            return
        with self._lock:
            more = len(self.playlist) > 0
        if more:  # added while the old thread was finishing
            task = self._loop.create_task(self._start(), name="voice-restart")
            task.add_done_callback(_log_failure)
            return
        if self.radio is not None:
            self.radio.want_more()
        self._arm_idle()

    # -- idle ----------------------------------------------------------------------------------

    def _arm_idle(self) -> None:
        if self._idle is None and self._idle_s > 0 and not self.closed:
            self._idle = self._loop.call_later(self._idle_s, self.leave_soon, LeaveReason.IDLE)

    def _cancel_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _playing_track(self) -> Track:
        with self._lock:
            source = self._source
            if source is None or source.ended or source.track is None:
                raise NothingPlaying("Nothing is playing right now; /play something first.")
            return source.track

    def _check_open(self) -> None:
        if self.closed:
            raise NothingPlaying("I've just left the voice channel; /play again.")


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("restarting playback failed", exc_info=task.exception())
