"""The piano-roll picture of a piece: the image of the Discord embed and `<id>.png` beside the MP3.

Discord shows embed images about 400 px wide, a third of the 1200 x 630 canvas, so everything here
is drawn for that: thick note bars, a handful of large labels, strong colours on a dark background
(Discord's dark theme; still clear on the light one). Pitched tracks share one pitch axis cropped to
the notes actually played; drums get their own compact grid lane at the bottom.

Pure Pillow, no per-pixel Python, no clock or randomness: the same score gives the same bytes.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from generators.catalog import NOTE_NAMES
from generators.score import Role, Score, Track

Colour = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Box = tuple[int, int, int, int]  # left, top, right, bottom (right/bottom exclusive)

BACKGROUND: Colour = (22, 23, 29)
SECTION_BAND: Colour = (30, 32, 40)  # every other section, so the form reads at a glance
LANE_BACKGROUND: Colour = (28, 29, 37)
BAR_LINE: Colour = (44, 46, 57)
OCTAVE_LINE: Colour = (40, 42, 52)
SECTION_LINE: Colour = (128, 134, 152)
TEXT: Colour = (240, 242, 247)
MUTED_TEXT: Colour = (150, 156, 172)
CHORD_TEXT: Colour = (206, 210, 222)

ROLE_COLOURS: dict[Role, Colour] = {
    Role.LEAD: (255, 184, 48),  # amber: the tune is the first thing the eye finds
    Role.COUNTER: (255, 99, 146),  # pink
    Role.CHORDS: (64, 196, 255),  # sky blue
    Role.PAD: (154, 124, 255),  # violet
    Role.BASS: (72, 224, 138),  # green
    Role.DRUMS: (236, 236, 240),  # near white
    Role.TEXTURE: (120, 200, 190),  # sea green
}

# Background roles first so the lead is never hidden under a pad.
ROLE_DRAW_ORDER: dict[Role, int] = {
    Role.PAD: 0,
    Role.TEXTURE: 1,
    Role.CHORDS: 2,
    Role.BASS: 3,
    Role.COUNTER: 4,
    Role.LEAD: 5,
    Role.DRUMS: 6,
}

GM_DRUM_NAMES: dict[int, str] = {
    35: "kick",
    36: "kick",
    37: "rim",
    38: "snare",
    39: "clap",
    40: "snare",
    42: "hat",
    44: "hat",
    46: "open hat",
    49: "crash",
    57: "crash",
    51: "ride",
    59: "ride",
}

_BASE_WIDTH = 1200
_BASE_HEIGHT = 630
_MIN_PITCH_SPAN = 24  # semitones: a narrow tune must not turn into a few giant bricks
_PITCH_MARGIN = 2


@dataclass(frozen=True, slots=True)
class PianoRollLayout:
    """Where things go on the canvas; shared by the renderer and by anyone locating a note."""

    width: int
    height: int
    scale: float
    end_beat: float
    header: Box
    sections: Box  # the strip of section names above the roll
    roll: Box  # pitched tracks
    chords: Box | None  # chord symbols, when the score has any
    drums: Box | None  # drum grid lane, when the score has drum notes
    low_pitch: int  # lowest pitch shown at the bottom row of the roll
    high_pitch: int  # highest pitch shown at the top row of the roll
    drum_notes: tuple[int, ...]  # drum lane rows, top to bottom
    has_pitched_notes: bool
    chord_changes: tuple[tuple[float, str], ...]  # (beat, symbol) at each change of chord
    chord_label_step: int  # label every change (1), every other (2); 0: no chord strip

    @property
    def pixels_per_beat(self) -> float:
        return (self.roll[2] - self.roll[0]) / self.end_beat

    @property
    def pitch_row_height(self) -> float:
        return (self.roll[3] - self.roll[1]) / (self.high_pitch - self.low_pitch + 1)

    @property
    def drum_row_height(self) -> float:
        if self.drums is None or not self.drum_notes:
            return 0.0
        return (self.drums[3] - self.drums[1]) / len(self.drum_notes)

    def x_of(self, beat: float) -> float:
        return self.roll[0] + beat * self.pixels_per_beat

    def y_of_pitch(self, pitch: int) -> float:
        """Top edge of a pitch row in the roll."""
        return self.roll[1] + (self.high_pitch - pitch) * self.pitch_row_height

    def y_of_drum(self, drum_note: int) -> float:
        """Top edge of a drum row in the drum lane."""
        if self.drums is None:
            raise ValueError(f"drum note {drum_note} has no row: the score has no drum notes")
        return self.drums[1] + self.drum_notes.index(drum_note) * self.drum_row_height


@dataclass(frozen=True, slots=True)
class _Fonts:
    title: Font
    meta: Font
    section: Font
    legend: Font
    chord: Font
    small: Font


def render_piano_roll(score: Score, width: int = 1200, height: int = 630) -> bytes:
    """Draw `score` as a piano roll and return the PNG bytes (RGB, `width` x `height`)."""
    layout = layout_piano_roll(score, width, height)
    fonts = _load_fonts(layout.scale)
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    colours = _track_colours(score.tracks)

    _draw_grid(draw, score, layout, fonts)
    _draw_pitched_notes(draw, score, layout, colours)
    _draw_drums(draw, score, layout, fonts, colours)
    _draw_section_lines(draw, score, layout, fonts)
    _draw_chords(draw, layout, fonts)
    _draw_header(draw, score, layout, fonts, colours)
    if not any(track.notes for track in score.tracks):
        centre = ((layout.roll[0] + layout.roll[2]) // 2, (layout.roll[1] + layout.roll[3]) // 2)
        draw.text(centre, "no notes", font=fonts.section, fill=MUTED_TEXT, anchor="mm")

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def write_piano_roll(score: Score, path: Path) -> Path:
    """Render `score` at embed size and write it to `path` (normally `<id>.png`); returns `path`."""
    path.write_bytes(render_piano_roll(score))
    return path


def layout_piano_roll(score: Score, width: int = 1200, height: int = 630) -> PianoRollLayout:
    """Compute where the header, roll, chord strip and drum lane go for `score` on this canvas."""
    if width < 300 or height < 160:
        raise ValueError(f"piano roll must be at least 300 x 160 px, got {width} x {height}")
    scale = min(width / _BASE_WIDTH, height / _BASE_HEIGHT)

    def px(value: float) -> int:
        return max(1, round(value * scale))

    end_beat = _end_beat(score)
    pitches = [n.pitch for t in score.tracks if not t.is_drum for n in t.notes]
    low, high = _pitch_window(pitches)
    drum_notes = tuple(sorted({n.pitch for t in score.tracks if t.is_drum for n in t.notes}))
    # Cymbals on top, kick at the bottom, as drummers read a grid.
    drum_notes = tuple(reversed(drum_notes))

    left, right = px(78), width - px(22)
    header = (0, 0, width, px(104))
    sections = (left, header[3], right, header[3] + px(34))
    bottom = height - px(16)

    drums: Box | None = None
    if drum_notes:
        # A drums-only piece has the height to spare: let its rows grow.
        tallest = px(20) if pitches else px(48)
        row = min(tallest, max(3, (px(132) if pitches else px(360)) // len(drum_notes)))
        lane_top = bottom - row * len(drum_notes)
        drums = (left, lane_top, right, bottom)
        bottom = lane_top - px(6)

    chord_changes = _chord_changes(score)
    chord_font = _load_fonts(scale).chord
    chord_label_step = _chord_label_step(
        chord_changes, chord_font, (right - left) / end_beat, end_beat, scale
    )
    chords: Box | None = None
    if chord_label_step:
        chords = (left, bottom - px(30), right, bottom)
        bottom = chords[1] - px(4)

    roll = (left, sections[3], right, max(bottom, sections[3] + px(40)))
    return PianoRollLayout(
        width=width,
        height=height,
        scale=scale,
        end_beat=end_beat,
        header=header,
        sections=sections,
        roll=roll,
        chords=chords,
        drums=drums,
        low_pitch=low,
        high_pitch=high,
        drum_notes=drum_notes,
        has_pitched_notes=bool(pitches),
        chord_changes=chord_changes,
        chord_label_step=chord_label_step,
    )


# Layout helpers ---------------------------------------------------------------------------------


def _end_beat(score: Score) -> float:
    """The beat the picture ends at: the form, or the last sounding note if that runs over."""
    ends = [float(score.total_bars * score.beats_per_bar)]
    ends.extend(n.end for t in score.tracks for n in t.notes)
    ends.extend(c.start + c.duration for c in score.chords)
    return max(max(ends), 1.0)


def _chord_changes(score: Score) -> tuple[tuple[float, str], ...]:
    """(beat, symbol) at each change of chord; a chord held over several spans counts once."""
    changes: list[tuple[float, str]] = []
    for span in sorted(score.chords, key=lambda c: c.start):
        symbol = span.chord.symbol
        if not changes or changes[-1][1] != symbol:
            changes.append((span.start, symbol))
    return tuple(changes)


def _chord_label_step(
    changes: tuple[tuple[float, str], ...],
    font: Font,
    pixels_per_beat: float,
    end_beat: float,
    scale: float,
) -> int:
    """Label every change (1), every other one (2), or none (0) if even that is cramped.

    Thinning further would mislead: in a four-chord loop every 4th label is the same chord.
    """
    pad = 10 * scale
    for step in (1, 2):
        shown = changes[::step]
        starts = [beat * pixels_per_beat for beat, _ in shown] + [end_beat * pixels_per_beat]
        widths = [text_width(font, text) + pad for _, text in shown]
        if shown and all(starts[i] + widths[i] <= starts[i + 1] for i in range(len(shown))):
            return step
    return 0


def _pitch_window(pitches: list[int]) -> tuple[int, int]:
    if not pitches:
        return 48, 48 + _MIN_PITCH_SPAN - 1
    low, high = min(pitches) - _PITCH_MARGIN, max(pitches) + _PITCH_MARGIN
    missing = _MIN_PITCH_SPAN - (high - low + 1)
    if missing > 0:
        low -= missing // 2
        high += missing - missing // 2
    if low < 0:
        high, low = high - low, 0
    if high > 127:
        low, high = max(0, low - (high - 127)), 127
    return low, high


def _load_fonts(scale: float) -> _Fonts:
    def font(size: float) -> Font:
        return scalable_font(max(8, round(size * scale)))

    return _Fonts(
        title=font(44),
        meta=font(26),
        section=font(24),
        legend=font(21),
        chord=font(19),
        small=font(16),
    )


DEJAVU_SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # Debian fonts-dejavu-core


def scalable_font(size: int, path: str = DEJAVU_SANS) -> Font:
    """The font at `path` (DejaVu Sans by default) in `size` pixels.

    DejaVu covers accents and symbols in titles people type ("Café", "♯"); plain DejaVu Sans is
    the fallback for another face, then Pillow's bundled font (>= 10.1), and without FreeType a
    tiny bitmap one."""
    for candidate in dict.fromkeys((path, DEJAVU_SANS)):
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _track_colours(tracks: tuple[Track, ...]) -> list[Colour]:
    """The role colour per track; a second or third track of the same role gets a lighter tint."""
    seen: dict[Role, int] = {}
    colours: list[Colour] = []
    for track in tracks:
        index = seen.get(track.role, 0)
        seen[track.role] = index + 1
        base = ROLE_COLOURS[track.role]
        tint = (0.0, 0.45, 0.25, 0.6)[index % 4]
        colours.append(_mix(base, (255, 255, 255), tint))
    return colours


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _velocity_shade(colour: Colour, velocity: int, background: Colour) -> Colour:
    # Quiet notes fade toward the background but never vanish.
    return _mix(background, colour, 0.4 + 0.6 * velocity / 127)


def text_width(font: Font, text: str) -> int:
    left, _, right, _ = font.getbbox(text)
    return math.ceil(right - left)


def fit_text(font: Font, text: str, max_width: int) -> str:
    """`text`, or its longest prefix that fits with a trailing "…" ("" when not even that fits);
    a binary search, since titles can be long."""
    if text_width(font, text) <= max_width:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if text_width(font, text[:middle].rstrip() + "…") <= max_width:
            low = middle
        else:
            high = middle - 1
    if low == 0:
        return "…" if text_width(font, "…") <= max_width else ""
    return text[:low].rstrip() + "…"


def _format_duration(seconds: float) -> str:
    total = max(0, round(seconds))
    return f"{total // 60}:{total % 60:02d}"


def _format_tempo(bpm: float) -> str:
    return f"{bpm:.0f}" if abs(bpm - round(bpm)) < 0.05 else f"{bpm:.1f}"


def _drum_label(note: int, drum_notes: tuple[int, ...]) -> str:
    name = GM_DRUM_NAMES.get(note)
    if name is None:
        return str(note)
    # Two rows that would read "kick" (35 and 36) are told apart by number.
    clashes = sum(1 for other in drum_notes if GM_DRUM_NAMES.get(other) == name)
    return f"{name} {note}" if clashes > 1 else name


# Drawing ----------------------------------------------------------------------------------------


def _section_spans(score: Score, layout: PianoRollLayout) -> list[tuple[str, int, int]]:
    spans = []
    for section in score.sections:
        x0 = round(layout.x_of(section.start_bar * score.beats_per_bar))
        x1 = round(layout.x_of((section.start_bar + section.bars) * score.beats_per_bar))
        spans.append((section.name, x0, min(x1, layout.roll[2])))
    return spans


def _draw_grid(
    draw: ImageDraw.ImageDraw, score: Score, layout: PianoRollLayout, fonts: _Fonts
) -> None:
    left, top, right, bottom = layout.roll
    lanes = [box for box in (layout.chords, layout.drums) if box is not None]
    grid_bottom = max([bottom, *(box[3] for box in lanes)])

    for index, (_, x0, x1) in enumerate(_section_spans(score, layout)):
        if index % 2 == 1 and x1 > x0:
            draw.rectangle((x0, top, x1 - 1, bottom - 1), fill=SECTION_BAND)
    if layout.drums is not None:
        draw.rectangle(
            (layout.drums[0], layout.drums[1], layout.drums[2] - 1, layout.drums[3] - 1),
            fill=LANE_BACKGROUND,
        )

    # Octave lines at every C, labelled in the gutter: enough to read register, no clutter.
    row = layout.pitch_row_height
    for pitch in range(layout.low_pitch, layout.high_pitch + 1):
        if pitch % 12 != 0 or not layout.has_pitched_notes:
            continue
        y = round(layout.y_of_pitch(pitch) + row)
        draw.line((left, y, right - 1, y), fill=OCTAVE_LINE, width=1)
        label = f"{NOTE_NAMES[0]}{pitch // 12 - 1}"
        draw.text(
            (left - round(10 * layout.scale), y - row / 2),
            label,
            font=fonts.small,
            fill=MUTED_TEXT,
            anchor="rm",
        )

    # Faint bar lines; thinned to every 2nd, 4th... bar when bars get narrower than ~10 px.
    bar_px = score.beats_per_bar * layout.pixels_per_beat
    step = 1
    while bar_px * step < 10 * layout.scale:
        step *= 2
    bars = math.ceil(layout.end_beat / score.beats_per_bar)
    for bar in range(step, bars, step):
        x = round(layout.x_of(bar * score.beats_per_bar))
        draw.line((x, top, x, grid_bottom - 1), fill=BAR_LINE, width=1)


def _draw_pitched_notes(
    draw: ImageDraw.ImageDraw, score: Score, layout: PianoRollLayout, colours: list[Colour]
) -> None:
    row = layout.pitch_row_height
    ppb = layout.pixels_per_beat
    # Bars a little taller than their row: thick at embed size even across a wide range. Only
    # semitone neighbours sounding together overlap, and then the later track still shows.
    bar_height = max(6.0 * layout.scale, 3.0, min(row * 1.4, 26.0 * layout.scale))
    inset = (row - bar_height) / 2
    order = sorted(
        range(len(score.tracks)), key=lambda i: (ROLE_DRAW_ORDER[score.tracks[i].role], i)
    )
    for index in order:
        track = score.tracks[index]
        if track.is_drum:
            continue
        shades = {v: _velocity_shade(colours[index], v, BACKGROUND) for v in range(1, 128)}
        for note in track.notes:
            x0 = layout.x_of(note.start)
            width = note.duration * ppb
            # A hair of gap separates repeated notes once there is room for it.
            x1 = x0 + (width - 1 if width > 5 else max(width, 3.0 * layout.scale, 2.0))
            y0 = layout.y_of_pitch(note.pitch) + inset
            draw.rectangle(
                (round(x0), round(y0), round(x1) - 1, round(y0 + bar_height) - 1),
                fill=shades[note.velocity],
            )


def _draw_drums(
    draw: ImageDraw.ImageDraw,
    score: Score,
    layout: PianoRollLayout,
    fonts: _Fonts,
    colours: list[Colour],
) -> None:
    if layout.drums is None:
        return
    row = layout.drum_row_height
    ppb = layout.pixels_per_beat
    hit_width = max(3.0, min(0.25 * ppb - 1, 14.0 * layout.scale))
    gap = 1 if row >= 6 else 0
    for drum_note in layout.drum_notes:
        y = layout.y_of_drum(drum_note) + row / 2
        if row >= 9:
            draw.text(
                (layout.drums[0] - round(10 * layout.scale), y),
                _drum_label(drum_note, layout.drum_notes),
                font=fonts.small,
                fill=MUTED_TEXT,
                anchor="rm",
            )
    for index, track in enumerate(score.tracks):
        if not track.is_drum:
            continue
        shades = {v: _velocity_shade(colours[index], v, LANE_BACKGROUND) for v in range(1, 128)}
        for note in track.notes:
            x0 = layout.x_of(note.start)
            y0 = layout.y_of_drum(note.pitch)
            draw.rectangle(
                (round(x0), round(y0) + gap, round(x0 + hit_width) - 1, round(y0 + row) - 1 - gap),
                fill=shades[note.velocity],
            )


def _draw_section_lines(
    draw: ImageDraw.ImageDraw, score: Score, layout: PianoRollLayout, fonts: _Fonts
) -> None:
    lanes = [box[3] for box in (layout.chords, layout.drums) if box is not None]
    bottom = max([layout.roll[3], *lanes])
    line_width = max(1, round(2 * layout.scale))
    pad = round(8 * layout.scale)
    spans = _section_spans(score, layout)
    for index, (name, x0, _) in enumerate(spans):
        if index > 0 or x0 > layout.roll[0]:
            draw.line(
                (x0, layout.sections[1] + pad, x0, bottom - 1), fill=SECTION_LINE, width=line_width
            )
        next_start = spans[index + 1][1] if index + 1 < len(spans) else layout.roll[2]
        label = fit_text(fonts.section, name, next_start - x0 - 2 * pad)
        if label and label != "…":
            y = (layout.sections[1] + layout.sections[3]) / 2
            draw.text((x0 + pad, y), label, font=fonts.section, fill=TEXT, anchor="lm")


def _draw_chords(draw: ImageDraw.ImageDraw, layout: PianoRollLayout, fonts: _Fonts) -> None:
    if layout.chords is None:
        return
    top, bottom = layout.chords[1], layout.chords[3]
    tick = round(6 * layout.scale)
    # Every change gets a tick even when its label is skipped, so no chord silently disappears.
    for index, (beat, text) in enumerate(layout.chord_changes):
        x = round(layout.x_of(beat))
        labelled = index % layout.chord_label_step == 0
        # An unlabelled change gets a stub below the text line, clear of the previous label.
        y0 = top + tick if labelled else bottom - tick
        draw.line((x, y0, x, bottom - 1 - (tick if labelled else 0)), fill=MUTED_TEXT, width=1)
        if labelled:
            draw.text(
                (x + round(4 * layout.scale), (top + bottom) / 2),
                text,
                font=fonts.chord,
                fill=CHORD_TEXT,
                anchor="lm",
            )


def _draw_header(
    draw: ImageDraw.ImageDraw,
    score: Score,
    layout: PianoRollLayout,
    fonts: _Fonts,
    colours: list[Colour],
) -> None:
    margin = round(24 * layout.scale)
    legend_left = _draw_legend(draw, score, layout, fonts, colours, margin)
    text_width = legend_left - 2 * margin
    title = fit_text(fonts.title, score.title or "Untitled", text_width)
    draw.text(
        (margin, round(46 * layout.scale)),
        title,
        font=fonts.title,
        fill=TEXT,
        anchor="ls",
        stroke_width=round(layout.scale),  # the bundled font has no bold face
        stroke_fill=TEXT,
    )
    meta = " · ".join(
        part
        for part in (
            score.genre,
            score.key_name,
            f"{_format_tempo(score.tempo_bpm)} BPM",
            _format_duration(score.duration_s),
        )
        if part
    )
    draw.text(
        (margin, round(86 * layout.scale)),
        fit_text(fonts.meta, meta, text_width),
        font=fonts.meta,
        fill=MUTED_TEXT,
        anchor="ls",
    )


def _draw_legend(
    draw: ImageDraw.ImageDraw,
    score: Score,
    layout: PianoRollLayout,
    fonts: _Fonts,
    colours: list[Colour],
    margin: int,
) -> int:
    """Draw track names in their colours, right-aligned in the header; returns its left edge."""
    if not score.tracks:
        return layout.width - margin
    s = layout.scale
    rows = min(3, len(score.tracks))
    columns = math.ceil(len(score.tracks) / rows)
    swatch = round(14 * s)
    gap = round(8 * s)
    column_gap = round(22 * s)
    row_height = round(28 * s)
    max_name = round(200 * s)
    names = [fit_text(fonts.legend, t.name or t.role.value, max_name) for t in score.tracks]
    widths = [
        max(text_width(fonts.legend, n) for n in names[c * rows : (c + 1) * rows]) + swatch + gap
        for c in range(columns)
    ]
    x = layout.width - margin - sum(widths) - column_gap * (columns - 1)
    left = x
    top = round(14 * s) + (3 - rows) * row_height // 2
    for column in range(columns):
        for r in range(rows):
            index = column * rows + r
            if index >= len(score.tracks):
                break
            cy = top + r * row_height + row_height // 2
            draw.rectangle(
                (x, cy - swatch // 2, x + swatch - 1, cy - swatch // 2 + swatch - 1),
                fill=colours[index],
            )
            draw.text(
                (x + swatch + gap, cy),
                names[index],
                font=fonts.legend,
                fill=colours[index],
                anchor="lm",
            )
        x += widths[column] + column_gap
    return left
