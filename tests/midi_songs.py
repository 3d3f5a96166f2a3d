"""Small, valid MIDI songs for the import and remix tests."""

from __future__ import annotations

import io

import pretty_midi


def song_midi() -> bytes:
    """Eight bars of a tune over I–vi–IV–V in C major at 100 bpm."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=100)
    lead = pretty_midi.Instrument(program=73, name="Melody")
    chords = pretty_midi.Instrument(program=0, name="Piano")
    beat = 0.6
    tune = [64, 62, 60, 62, 64, 64, 64, 62, 62, 64, 67, 67, 64, 62, 60, 62]
    for index, pitch in enumerate(tune * 2):
        start = index * 2 * beat
        lead.notes.append(pretty_midi.Note(90, pitch, start, start + 1.8 * beat))
    for bar, root in enumerate([60, 57, 53, 55] * 2):
        third = 4 if root in (60, 53, 55) else 3
        for pitch in (root - 12, root, root + third, root + 7):
            chords.notes.append(pretty_midi.Note(70, pitch, bar * 4 * beat, (bar + 1) * 4 * beat))
    midi.instruments += [lead, chords]
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()
