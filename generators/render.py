"""Rendering with FluidSynth: all tracks in one stereo pass, with a warm SoundFont.

`Renderer` loads the SoundFont once (the slow part: ~150 ms for FluidR3) and is reused for every
piece, one per worker process. Each piece gets a fresh synth (a few ms) that shares the loaded
SoundFont, so no state of the previous piece survives — not even the chorus and reverb
modulation phases, which a reset leaves running: the same Score always renders the same audio.
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
_get_sfont = fluidsynth._fl.fluid_synth_get_sfont_by_id
_get_sfont.argtypes = [ctypes.c_void_p, ctypes.c_int]
_get_sfont.restype = ctypes.c_void_p
_add_sfont = fluidsynth._fl.fluid_synth_add_sfont
_add_sfont.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
_add_sfont.restype = ctypes.c_int
_remove_sfont = fluidsynth._fl.fluid_synth_remove_sfont
_remove_sfont.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
_remove_sfont.restype = ctypes.c_int
_set_log_function = fluidsynth._fl.fluid_set_log_function
_set_log_function.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
_set_log_function.restype = ctypes.c_void_p
_FLUID_WARN = 2


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
    """A warm SoundFont and a fresh synth per piece. Not thread-safe: one per worker process."""

    def __init__(
        self, soundfont: Path, sample_rate: int = SAMPLE_RATE, gain: float = 0.35, threads: int = 1
    ) -> None:
        """`threads` > 1 lets FluidSynth mix voices on several cores: for one piece at a time
        (the CLI); a service runs one single-threaded renderer per worker process instead."""
        self.sample_rate = sample_rate
        self.soundfont = soundfont
        self._options: dict[str, int | float] = {
            "synth.polyphony": 512,
            "synth.cpu-cores": max(1, threads),
            "synth.reverb.active": 1,
            "synth.chorus.active": 1,
        }
        self._gain = gain
        # Handing the shared SoundFont back resets every channel's program, and FluidSynth warns
        # once per channel about the missing preset; those warnings are expected, not news.
        _set_log_function(_FLUID_WARN, None, None)
        # Dynamic sample loading: a preset's samples are read when a piece selects it, not all
        # 148 MB of FluidR3 up front — a worker stays near 100 MB instead of over 200 MB, and
        # re-reading a few presets from the page cache costs nothing measurable per piece.
        self._home = fluidsynth.Synth(
            gain=gain,
            samplerate=float(sample_rate),
            channels=16,
            **{"synth.dynamic-sample-loading": 1},
        )
        home_id = self._home.sfload(str(soundfont))
        if home_id < 0:
            raise RenderError(f"FluidSynth could not load the SoundFont {soundfont}")
        self._sfont = _get_sfont(self._home.synth, home_id)

    def close(self) -> None:
        self._home.delete()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, score: Score) -> np.ndarray:
        """The piece as float32 stereo samples, exactly `score.duration_s` long.

        Every event is inside the piece (`_events` drops later ones): the synth writes straight
        into the output buffer, so an event past the end would write past it.
        """
        total = round(score.duration_s * self.sample_rate)
        synth = fluidsynth.Synth(
            gain=self._gain, samplerate=float(self.sample_rate), channels=16, **self._options
        )
        sfid = _add_sfont(synth.synth, self._sfont)
        try:
            self._set_up(synth, sfid, score)
            out = np.zeros(total * 2, dtype=np.float32)
            base = out.ctypes.data
            position = 0
            for sample, _order, kind, channel, a, b in self._events(score, total):
                if sample > position:
                    _write(synth.synth, base, position, sample - position, total)
                    position = sample
                if kind == _NOTE_ON:
                    synth.noteon(channel, a, b)
                elif kind == _NOTE_OFF:
                    synth.noteoff(channel, a)
                else:
                    synth.cc(channel, a, b)
            if position < total:
                _write(synth.synth, base, position, total - position, total)
        finally:
            # The SoundFont belongs to the home synth: take it back before this one is deleted.
            _remove_sfont(synth.synth, self._sfont)
            synth.delete()
        return out.reshape(total, 2)

    @staticmethod
    def _set_up(synth: fluidsynth.Synth, sfid: int, score: Score) -> None:
        reverb = REVERBS.get(score.colour or score.genre, DEFAULT_REVERB)
        synth.set_reverb(reverb.room_size, reverb.damping, reverb.width, reverb.level)
        synth.set_chorus(3, 1.2, 0.3, 6.0, 0)
        for channel, track in zip(channel_plan(score), score.tracks, strict=True):
            bank = _DRUM_BANK if track.is_drum else 0
            synth.program_select(channel, sfid, bank, track.program)

    def _events(self, score: Score, total: int) -> list[tuple[int, int, int, int, int, int]]:
        rate = self.sample_rate * score.seconds_per_beat
        events: list[tuple[int, int, int, int, int, int]] = []
        for channel, track in zip(channel_plan(score), score.tracks, strict=True):
            for number, value in channel_setup(track):
                events.append((0, _CONTROL, _CONTROL, channel, number, value))
            for control in track.controls:
                at = round(control.time * rate)
                if at >= total:  # automation past the end has nothing left to shape
                    continue
                events.append(
                    (
                        at,
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


def _write(synth: int, base: int, start: int, count: int, capacity: int) -> None:
    """Render `count` frames into the interleaved float buffer at `base` (`capacity` frames long),
    from frame `start`. FluidSynth writes through a raw pointer: the bounds are checked here."""
    if start < 0 or count < 0 or start + count > capacity:
        raise RenderError(f"render window {start}+{count} outside the {capacity}-frame buffer")
    offset = base + start * 2 * 4
    while count > 0:
        chunk = min(count, 1 << 16)
        _write_float(synth, chunk, offset, 0, 2, offset, 1, 2)
        offset += chunk * 2 * 4
        count -= chunk


__all__ = ["DRUM_CHANNEL", "SAMPLE_RATE", "Renderer"]
