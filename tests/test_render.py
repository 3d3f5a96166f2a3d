"""Rendering with the real FluidSynth and the real SoundFont."""

from __future__ import annotations

import numpy as np

from generators.compose import compose
from generators.render import SAMPLE_RATE, Renderer
from generators.request import CompositionRequest


def test_render_is_stereo_exact_length_and_not_silent(renderer: Renderer) -> None:
    score = compose(CompositionRequest("lofi", 12.5), 3)
    audio = renderer.render(score)
    assert audio.dtype == np.float32
    assert audio.shape == (round(12.5 * SAMPLE_RATE), 2)
    assert np.abs(audio).max() > 0.01
    # Panned tracks: the two channels differ.
    assert np.abs(audio[:, 0] - audio[:, 1]).max() > 1e-3


def test_the_final_chord_rings_out_to_the_end(renderer: Renderer) -> None:
    score = compose(CompositionRequest("jazz", 10.0, mood="happy"), 4)
    audio = renderer.render(score)
    final_start = round(score.seconds(score.chords[-1].start) * SAMPLE_RATE)
    ring = np.abs(audio[final_start:]).max(axis=1)
    assert ring[: SAMPLE_RATE // 2].max() > 0.01  # the chord sounds
    tail = ring[-SAMPLE_RATE // 10 :]
    assert tail.max() < ring.max() * 0.5  # and is decaying by the end, not cut at full level


def test_the_same_score_renders_the_same_audio_whatever_came_before(renderer: Renderer) -> None:
    loud = compose(CompositionRequest("jazz", 8.0, mood="energetic"), 1)
    quiet = compose(CompositionRequest("ambient", 8.0), 2)
    first = renderer.render(quiet)
    renderer.render(loud)
    again = renderer.render(quiet)
    # Nothing of the loud piece (notes, reverb or chorus state) reaches the next one.
    assert np.array_equal(first, again)
    silence = renderer.render(
        loud.with_tracks(tuple(t.__class__(t.name, t.role, t.program) for t in loud.tracks))
    )
    assert np.abs(silence).max() < 1e-6  # FluidSynth leaves a ~1e-8 offset, nothing audible


def test_drums_use_the_drum_bank(renderer: Renderer) -> None:
    score = compose(CompositionRequest("lofi", 6.0), 1)
    drums_only = score.with_tracks(tuple(t for t in score.tracks if t.is_drum))
    audio = renderer.render(drums_only)
    assert np.abs(audio).max() > 0.01


def test_automation_past_the_end_is_ignored_not_written_past_the_buffer(renderer: Renderer) -> None:
    from dataclasses import replace

    from generators.score import ControlChange

    score = compose(CompositionRequest("ambient", 6.0), 3)
    late = (ControlChange(1000.0, 11, 30),)  # beat 1000: long after a 6 s piece ends
    tracks = tuple(replace(t, controls=t.controls + late) for t in score.tracks)
    audio = renderer.render(score.with_tracks(tracks))
    assert audio.shape == (round(6.0 * 44100), 2)
    assert np.array_equal(audio, renderer.render(score.with_tracks(tracks)))
