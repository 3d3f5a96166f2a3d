"""The piano-roll picture: a valid PNG of the right size, deterministic, notes drawn as expected."""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generators.pianoroll import (
    BACKGROUND,
    ROLE_COLOURS,
    PianoRollLayout,
    layout_piano_roll,
    render_piano_roll,
    write_piano_roll,
)
from generators.score import Chord, ChordSpan, Note, Role, Score, Section, Track

Pixel = tuple[int, ...]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_score(
    tracks: tuple[Track, ...],
    *,
    sections: tuple[Section, ...] = (
        Section("intro", 0, 2),
        Section("A", 2, 4),
        Section("B", 6, 2),
    ),
    chords: tuple[ChordSpan, ...] = (),
    tempo_bpm: float = 90.0,
) -> Score:
    bars = sum(s.bars for s in sections)
    return Score(
        title="Test Piece",
        genre="lofi",
        mood="calm",
        tonic=0,
        mode="minor",
        tempo_bpm=tempo_bpm,
        beats_per_bar=4,
        duration_s=bars * 4 * 60 / tempo_bpm + 1.5,
        seed=7,
        swing=0.5,
        sections=sections,
        chords=chords,
        tracks=tracks,
    )


@pytest.fixture
def small_score() -> Score:
    """Eight bars: lead over bars 2-5, one long chord per bar, bass on each downbeat, a beat."""
    lead = Track(
        "Flute",
        Role.LEAD,
        73,
        notes=(
            Note(8.0, 8.0, 74, 120),  # bars 2-3, loud
            Note(16.0, 4.0, 77, 20),  # bar 4, quiet
            Note(20.0, 2.0, 79, 100),
        ),
    )
    chords_track = Track(
        "Rhodes",
        Role.CHORDS,
        4,
        notes=tuple(Note(bar * 4.0, 3.5, p, 70) for bar in range(8) for p in (60, 63, 67)),
    )
    bass = Track(
        "Bass", Role.BASS, 33, notes=tuple(Note(bar * 4.0, 2.0, 36, 100) for bar in range(8))
    )
    drums = Track(
        "Drums",
        Role.DRUMS,
        0,
        is_drum=True,
        notes=tuple(
            Note(bar * 4.0 + beat, 0.25, pitch, 100)
            for bar in range(8)
            for beat, pitch in ((0.0, 36), (1.0, 38), (2.0, 36), (3.0, 38))
        )
        + tuple(Note(beat * 0.5, 0.25, 42, 70) for beat in range(64)),
    )
    chords = tuple(
        ChordSpan(bar * 4.0, 4.0, Chord(root, quality))
        for bar, (root, quality) in enumerate([(0, "m7"), (5, "m7"), (7, "7"), (0, "m7")] * 2)
    )
    return make_score((lead, chords_track, bass, drums), chords=chords)


def dense_score(minutes: float = 5.0) -> Score:
    """About five minutes at 120 BPM, six tracks, thousands of notes."""
    rng = random.Random(1)
    bars = round(minutes * 60 * 120 / 60 / 4)
    beats = bars * 4

    def run(step: float, low: int, high: int) -> tuple[Note, ...]:
        count = int(beats / step)
        return tuple(
            Note(i * step, step * 0.9, rng.randint(low, high), rng.randint(30, 127))
            for i in range(count)
        )

    drums = tuple(
        Note(i * 0.25, 0.2, pitch, rng.randint(40, 127))
        for i in range(beats * 4)
        for pitch in ((42,) if i % 4 else (36, 42))
    )
    tracks = (
        Track("Pad", Role.PAD, 89, notes=run(8.0, 55, 67)),
        Track("Keys", Role.CHORDS, 4, notes=run(1.0, 55, 72)),
        Track("Bass", Role.BASS, 33, notes=run(0.5, 30, 48)),
        Track("Lead", Role.LEAD, 73, notes=run(0.25, 70, 90)),
        Track("Counter", Role.COUNTER, 71, notes=run(1.0, 62, 80)),
        Track("Drums", Role.DRUMS, 0, is_drum=True, notes=drums),
    )
    sections = tuple(Section(name, i * bars // 6, bars // 6) for i, name in enumerate("ABCDEF"))
    chords = tuple(ChordSpan(i * 2.0, 2.0, Chord(i % 12, "maj7")) for i in range(beats // 2))
    return make_score(tracks, sections=sections, chords=chords, tempo_bpm=120.0)


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


def is_shade_of(pixel: Pixel, colour: tuple[int, int, int], background: Pixel) -> bool:
    """True if `pixel` lies on the line from the background to `colour` (any brightness)."""
    direction = [c - b for c, b in zip(colour, background, strict=True)]
    offset = [p - b for p, b in zip(pixel[:3], background, strict=True)]
    t = sum(d * o for d, o in zip(direction, offset, strict=True)) / sum(d * d for d in direction)
    residual = max(abs(o - t * d) for o, d in zip(offset, direction, strict=True))
    return 0.3 <= t <= 1.05 and residual <= 6


def centre_of_note(
    layout: PianoRollLayout, start: float, duration: float, pitch: int
) -> tuple[int, int]:
    x = layout.x_of(start + duration / 2)
    y = layout.y_of_pitch(pitch) + layout.pitch_row_height / 2
    return round(x), round(y)


def test_renders_png_of_requested_size(small_score: Score) -> None:
    png = render_piano_roll(small_score)
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (1200, 630)
    assert image.mode in ("RGB", "RGBA")

    assert Image.open(io.BytesIO(render_piano_roll(small_score, 800, 420))).size == (800, 420)


def test_same_score_gives_identical_bytes(small_score: Score) -> None:
    assert render_piano_roll(small_score) == render_piano_roll(small_score)
    round_tripped = Score.from_json(small_score.to_json())
    assert render_piano_roll(round_tripped) == render_piano_roll(small_score)


def test_notes_are_drawn_in_their_track_colour(small_score: Score) -> None:
    image = decode(render_piano_roll(small_score))
    layout = layout_piano_roll(small_score)

    lead = image.getpixel(centre_of_note(layout, 8.0, 8.0, 74))
    assert isinstance(lead, tuple)
    assert is_shade_of(lead, ROLE_COLOURS[Role.LEAD], BACKGROUND)
    assert not is_shade_of(lead, ROLE_COLOURS[Role.BASS], BACKGROUND)

    bass = image.getpixel(centre_of_note(layout, 0.0, 2.0, 36))
    assert isinstance(bass, tuple)
    assert is_shade_of(bass, ROLE_COLOURS[Role.BASS], BACKGROUND)

    chord = image.getpixel(centre_of_note(layout, 0.0, 3.5, 63))
    assert isinstance(chord, tuple)
    assert is_shade_of(chord, ROLE_COLOURS[Role.CHORDS], BACKGROUND)


def test_velocity_shows_as_brightness(small_score: Score) -> None:
    image = decode(render_piano_roll(small_score))
    layout = layout_piano_roll(small_score)
    loud = image.getpixel(centre_of_note(layout, 8.0, 8.0, 74))
    quiet = image.getpixel(centre_of_note(layout, 16.0, 4.0, 77))
    assert isinstance(loud, tuple) and isinstance(quiet, tuple)
    assert is_shade_of(quiet, ROLE_COLOURS[Role.LEAD], BACKGROUND)
    assert sum(loud) > sum(quiet) + 60


def test_empty_region_is_background(small_score: Score) -> None:
    image = decode(render_piano_roll(small_score))
    layout = layout_piano_roll(small_score)
    # The intro (bars 0-1) has no lead; the top row of the roll is above every note.
    x = round(layout.x_of(1.5))
    y = round(layout.y_of_pitch(layout.high_pitch)) + 2
    assert image.getpixel((x, y)) == BACKGROUND


def test_pitch_axis_is_cropped_to_the_notes_played(small_score: Score) -> None:
    layout = layout_piano_roll(small_score)
    assert layout.low_pitch <= 36 < 79 <= layout.high_pitch
    assert layout.low_pitch >= 30 and layout.high_pitch <= 85


def test_drums_go_in_the_bottom_lane(small_score: Score) -> None:
    image = decode(render_piano_roll(small_score))
    layout = layout_piano_roll(small_score)
    assert layout.drums is not None
    assert layout.drums[1] >= layout.roll[3]
    assert layout.drums[3] <= image.height
    # Cymbals above, kick at the bottom.
    assert layout.drum_notes == (42, 38, 36)

    drum_colour = ROLE_COLOURS[Role.DRUMS]
    lane = image.getpixel(
        (round(layout.x_of(2.0)) + 1, round(layout.y_of_drum(36) + layout.drum_row_height / 2))
    )
    assert isinstance(lane, tuple)
    assert is_shade_of(lane, drum_colour, (28, 29, 37))
    # Nothing drum-coloured in the pitched roll over that kick.
    x = round(layout.x_of(2.0)) + 1
    for y in range(layout.roll[1], layout.roll[3]):
        pixel = image.getpixel((x, y))
        assert isinstance(pixel, tuple)
        assert not is_shade_of(pixel, drum_colour, BACKGROUND), (x, y, pixel)


def test_header_has_real_text(small_score: Score) -> None:
    image = decode(render_piano_roll(small_score))
    layout = layout_piano_roll(small_score)
    title_area = np.asarray(image.crop((0, 0, 400, layout.header[3] // 2)))
    bright = int((title_area.min(axis=2) > 200).sum())
    assert bright > 500  # a scalable font at ~44 px, not an 11 px bitmap fallback


def test_chord_labels_thin_out_or_disappear_when_dense(small_score: Score) -> None:
    sparse = layout_piano_roll(small_score)
    assert sparse.chords is not None
    assert sparse.chord_label_step == 1
    assert [symbol for _, symbol in sparse.chord_changes][:3] == ["Cm7", "Fm7", "G7"]

    dense = layout_piano_roll(dense_score())
    assert dense.chord_label_step == 0
    assert dense.chords is None


def test_score_without_notes_still_renders() -> None:
    empty = make_score(())
    image = decode(render_piano_roll(empty))
    assert image.size == (1200, 630)
    silent = make_score((Track("Lead", Role.LEAD, 0),), sections=())
    assert decode(render_piano_roll(silent)).size == (1200, 630)


def test_drums_only_score_renders() -> None:
    beat = Track("Kit", Role.DRUMS, 0, is_drum=True, notes=(Note(0.0, 0.25, 36, 100),))
    layout = layout_piano_roll(make_score((beat,)))
    assert layout.drums is not None and layout.drum_notes == (36,)
    assert decode(render_piano_roll(make_score((beat,)))).size == (1200, 630)


def test_dense_five_minute_score_renders() -> None:
    score = dense_score()
    assert sum(len(t.notes) for t in score.tracks) > 3000
    png = render_piano_roll(score)
    image = decode(png)
    assert image.size == (1200, 630)
    assert png == render_piano_roll(score)


def test_write_piano_roll_writes_the_png(small_score: Score, tmp_path: Path) -> None:
    path = write_piano_roll(small_score, tmp_path / "abc123.png")
    assert path == tmp_path / "abc123.png"
    assert path.read_bytes() == render_piano_roll(small_score)


def test_rejects_a_canvas_too_small_to_read(small_score: Score) -> None:
    with pytest.raises(ValueError, match="at least 300 x 160"):
        render_piano_roll(small_score, 100, 50)
