"""Rendering with one warm FluidSynth synth: all tracks in one stereo pass.

`Renderer` loads the SoundFont once and is reused for every piece (one per worker process);
between pieces it is reset so nothing of the previous piece leaks into the next.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

import fluidsynth
import numpy as np

from generators.errors import RenderError
from generators.midi import DRUM_CHANNEL, channel_plan, channel_setup
from generators.score import Score

SAMPLE_RATE = 44100
_DRUM_BANK = 128

# pyfluidsynth only wraps the 16-bit writer; the float one keeps full headroom for mastering.
_write_float = fluidsynth._fl.fluid_synth_write_float
_write_float.argtypes = [
    ctypes.c_void_p,
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_void_p,
    ctypes.c_int,
    ctypes.c_int,
]
_write_float.restype = ctypes.c_int


@dataclass(frozen=True, slots=True)
class ReverbSettings:
    room_size: float
    damping: float
    width: float
    level: float


REVERBS = {
    "lofi": ReverbSettings(0.45, 0.6, 0.7, 0.55),
    "jazz": ReverbSettings(0.55, 0.4, 0.8, 0.6),
    "ambient": ReverbSettings(0.95, 0.2, 1.0, 0.9),
    "classical": ReverbSettings(0.75, 0.4, 0.9, 0.75),
    "cinematic": ReverbSettings(0.9, 0.35, 1.0, 0.85),
    "rock": ReverbSettings(0.4, 0.5, 0.7, 0.45),
    "edm": ReverbSettings(0.6, 0.4, 1.0, 0.55),
    "hiphop": ReverbSettings(0.35, 0.6, 0.6, 0.4),
    "chiptune": ReverbSettings(0.1, 0.8, 0.3, 0.1),
    "synthwave": ReverbSettings(0.85, 0.3, 1.0, 0.8),
    "funk": ReverbSettings(0.3, 0.6, 0.6, 0.35),
    "bossa": ReverbSettings(0.45, 0.5, 0.8, 0.5),
}
DEFAULT_REVERB = ReverbSettings(0.5, 0.4, 0.8, 0.6)

# Events: (sample, order, kind, channel, a, b); order puts note-offs before note-ons at one instant.
_NOTE_OFF, _CONTROL, _NOTE_ON = 0, 1, 2


class Renderer:
    """A warm stereo synth. Not thread-safe: one per worker process."""

    def __init__(
        self, soundfont: Path, sample_rate: int = SAMPLE_RATE, gain: float = 0.35, threads: int = 1
    ) -> None:
        """`threads` > 1 lets FluidSynth mix voices on several cores: for one piece at a time
        (the CLI); a service runs one single-threaded renderer per worker process instead."""
        self.sample_rate = sample_rate
        self.soundfont = soundfont
        options = {"synth.polyphony": 512, "synth.cpu-cores": max(1, threads)}
        self._synth = fluidsynth.Synth(gain=gain, samplerate=float(sample_rate), **options)
        self._synth.setting("synth.reverb.active", 1)
        self._synth.setting("synth.chorus.active", 1)
        self._rendered = 0  # samples rendered so far: FluidSynth works in 64-sample blocks
        self._sfid = self._synth.sfload(str(soundfont))
        if self._sfid < 0:
            raise RenderError(f"FluidSynth could not load the SoundFont {soundfont}")

    def close(self) -> None:
        self._synth.delete()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, score: Score) -> np.ndarray:
        """The piece as float32 stereo samples, exactly `score.duration_s` long."""
        total = round(score.duration_s * self.sample_rate)
        self._reset(score)
        events = self._events(score, total)
        out = np.zeros(total * 2, dtype=np.float32)
        base = out.ctypes.data
        synth = self._synth.synth
        position = 0
        for sample, _order, kind, channel, a, b in events:
            if sample > position:
                self._write(synth, base, position, sample - position)
                position = sample
            if kind == _NOTE_ON:
                self._synth.noteon(channel, a, b)
            elif kind == _NOTE_OFF:
                self._synth.noteoff(channel, a)
            else:
                self._synth.cc(channel, a, b)
        if position < total:
            self._write(synth, base, position, total - position)
        return out.reshape(total, 2)

    def _write(self, synth: int, base: int, start: int, count: int) -> None:
        """Render `count` frames into the interleaved float buffer at `base`, from frame `start`."""
        # FluidSynth renders in blocks of 64; asking for large spans is cheapest.
        offset = base + start * 2 * 4
        while count > 0:
            chunk = min(count, 1 << 16)
            _write_float(synth, chunk, offset, 0, 2, offset, 1, 2)
            self._rendered += chunk
            offset += chunk * 2 * 4
            count -= chunk

    def _reset(self, score: Score) -> None:
        synth = self._synth
        synth.system_reset()
        reverb = REVERBS.get(score.colour or score.genre, DEFAULT_REVERB)
        synth.set_reverb(reverb.room_size, reverb.damping, reverb.width, reverb.level)
        synth.set_chorus(3, 1.2, 0.3, 6.0, 0)
        for channel, track in zip(channel_plan(score), score.tracks, strict=True):
            if track.is_drum:
                synth.program_select(channel, self._sfid, _DRUM_BANK, track.program)
            else:
                synth.program_select(channel, self._sfid, 0, track.program)
        # Flush what the reverb and chorus still hold from the previous piece: render silence until
        # the effect tails have died away (a few hundred ms of cheap, voice-free rendering).
        flush = np.zeros(4096 * 2, dtype=np.float32)
        # First realign to a block boundary, so every piece's events fall on the same sub-block
        # offsets and the same Score renders the same audio, whatever was rendered before.
        self._write(synth.synth, flush.ctypes.data, 0, -self._rendered % 64)
        for _ in range(3 * self.sample_rate // 4096):
            self._write(synth.synth, flush.ctypes.data, 0, 4096)
            if float(np.abs(flush).max()) < 1e-6:
                break

    def _events(self, score: Score, total: int) -> list[tuple[int, int, int, int, int, int]]:
        rate = self.sample_rate * score.seconds_per_beat
        events: list[tuple[int, int, int, int, int, int]] = []
        for channel, track in zip(channel_plan(score), score.tracks, strict=True):
            for number, value in channel_setup(track):
                events.append((0, _CONTROL, _CONTROL, channel, number, value))
            for control in track.controls:
                events.append(
                    (
                        round(control.time * rate),
                        _CONTROL,
                        _CONTROL,
                        channel,
                        control.controller,
                        control.value,
                    )
                )
            for note in track.notes:
                on = round(note.start * rate)
                off = round(note.end * rate)
                if on >= total:
                    continue
                events.append((on, _NOTE_ON, _NOTE_ON, channel, note.pitch, note.velocity))
                if off < total:
                    events.append((off, _NOTE_OFF, _NOTE_OFF, channel, note.pitch, 0))
        events.sort()
        return events


__all__ = ["DRUM_CHANNEL", "SAMPLE_RATE", "Renderer"]
