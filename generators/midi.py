"""Score → Standard MIDI File, via pretty_midi. Deterministic: the same Score gives the same bytes."""

from __future__ import annotations

import io

import pretty_midi

from generators.score import Score, Track

DRUM_CHANNEL = 9


def channel_plan(score: Score) -> list[int]:
    """A MIDI channel per track: drums on channel 10 (index 9), the rest in order around it."""
    channels: list[int] = []
    free = [c for c in range(16) if c != DRUM_CHANNEL]
    for track in score.tracks:
        if track.is_drum:
            channels.append(DRUM_CHANNEL)
        else:
            if not free:
                raise ValueError("a score can have at most 15 pitched tracks")
            channels.append(free.pop(0))
    return channels


def channel_setup(track: Track) -> tuple[tuple[int, int], ...]:
    """The controllers that set a track's channel up: volume, pan, reverb and chorus sends."""
    return (
        (7, min(127, round(track.volume * 127))),
        (10, min(127, round((track.pan + 1) * 63.5))),
        (91, min(127, round(track.effects.reverb * 127))),
        (93, min(127, round(track.effects.chorus * 127))),
    )


def to_pretty_midi(score: Score) -> pretty_midi.PrettyMIDI:
    midi = pretty_midi.PrettyMIDI(initial_tempo=score.tempo_bpm, resolution=480)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(score.beats_per_bar, 4, 0.0))
    midi.key_signature_changes.append(
        pretty_midi.KeySignature(_key_number(score.tonic, score.mode), 0.0)
    )
    spb = score.seconds_per_beat
    for track in score.tracks:
        instrument = pretty_midi.Instrument(
            program=track.program, is_drum=track.is_drum, name=track.name
        )
        for number, value in channel_setup(track):
            instrument.control_changes.append(pretty_midi.ControlChange(number, value, 0.0))
        for control in track.controls:
            instrument.control_changes.append(
                pretty_midi.ControlChange(control.controller, control.value, control.time * spb)
            )
        for note in track.notes:
            instrument.notes.append(
                pretty_midi.Note(note.velocity, note.pitch, note.start * spb, note.end * spb)
            )
        midi.instruments.append(instrument)
    return midi


def midi_bytes(score: Score) -> bytes:
    buffer = io.BytesIO()
    to_pretty_midi(score).write(buffer)
    return buffer.getvalue()


def _key_number(tonic: int, mode: str) -> int:
    """pretty_midi key numbers: 0–11 major keys, 12–23 minor keys (modes map to their nearest)."""
    minor = mode in ("minor", "dorian", "phrygian")
    return tonic + (12 if minor else 0)
