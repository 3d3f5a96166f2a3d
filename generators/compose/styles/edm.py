"""EDM / house: machine-tight four-on-the-floor, side-chained bass and pads, builds and drops."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace

from generators.compose.arrangement import (
    Band,
    ChordTimeline,
    fit_range,
    pan_positions,
    playable_range,
)
from generators.compose.form import TimePlan
from generators.compose.harmony import voice_lead
from generators.compose.melody import Voice, make_motif
from generators.compose.mood import MoodProfile, is_minor
from generators.compose.parts import (
    bar_spans,
    close_on_tonic,
    harmony_with_ending,
    lead_register,
    loop_to,
    phrase,
)
from generators.compose.rhythm import (
    CRASH,
    KICK,
    SNARE,
    Feel,
    clamp_velocity,
    humanise,
    pattern,
    play_pattern,
)
from generators.compose.styles.base import PieceContext, Written
from generators.compose.theory import nearest_pitch, scale_pitch_classes
from generators.score import ChordSpan, ControlChange, Effects, Note, Role, Section, Track

EXPRESSION = 11  # CC11: the side-chain "pump" is written as expression automation

# Four-bar loops, one chord a bar. Major moods get the "minor-sounding" vi–IV–I–V family.
MAJOR_LOOPS = (
    ("vi", "IV", "I", "V"),
    ("I", "V", "vi", "IV"),
    ("vi", "IV", "V", "I"),
    ("IV", "V", "vi", "vi"),
)
MINOR_LOOPS = (
    ("i", "bVI", "bIII", "bVII"),
    ("i", "bVII", "bVI", "bVII"),
    ("i", "iv", "bVI", "bVII"),
    ("bVI", "bVII", "i", "i"),
)
MODE_LOOPS = {
    "dorian": (("i", "bVII", "IV", "i"), ("i", "IV", "bVII", "i")),
    "phrygian": (("i", "bII", "bVII", "i"), ("i", "bII", "i", "bVII")),
    "mixolydian": (("I", "bVII", "IV", "I"), ("I", "V", "bVII", "IV")),
    "lydian": (("I", "II", "vi", "V"), ("I", "II", "IV", "I")),
}

# One bar of lead hook on the 16th grid: syncopated, repetitive, made to be sung back.
HOOK_RHYTHMS = (
    ((0, 2), (3, 2), (6, 2), (8, 2), (10, 2), (12, 3)),
    ((0, 1), (2, 1), (3, 2), (6, 2), (8, 4), (14, 2)),
    ((0, 3), (3, 3), (6, 2), (10, 2), (12, 4)),
    ((2, 2), (4, 2), (6, 2), (8, 1), (10, 2), (13, 3)),
    ((0, 2), (2, 2), (4, 1), (6, 3), (10, 3), (14, 2)),
)
HOOK_SHAPES = ("MAMF", "MAMS", "MFMA")

# Bass figures on the 16th grid: (step, length, octave up?) — never on the kick itself.
BASS_FIGURES = {
    "offbeat": ((2, 2, 0), (6, 2, 0), (10, 2, 0), (14, 2, 0)),
    "octave": ((2, 1, 0), (3, 1, 1), (6, 1, 0), (7, 1, 1), (10, 1, 0), (11, 1, 1), (14, 2, 1)),
    "rolling": ((2, 1, 0), (3, 1, 0), (6, 1, 0), (7, 1, 0), (10, 1, 0), (11, 1, 0), (14, 2, 1)),
}
# Arpeggio orders over the pad voicing's tones, one index a 16th.
ARP_ORDERS = ((0, 1, 2, 3), (0, 2, 1, 3), (0, 1, 2, 3, 2, 1), (3, 2, 1, 0), (0, 2, 3, 1))

# Drum grooves per section (16 steps a bar); the kick is on every beat wherever there is a kick.
GROOVES = {
    "intro": pattern(kick="X...x...x...x...", shaker="-o-o-o-o-o-o-o-o", hat="..o...o...o...o."),
    "build": pattern(kick="X...x...x...x...", clap="....x.......x...", shaker="-o-o-o-o-o-o-o-o"),
    "drop": pattern(
        kick="X...X...X...X...",
        clap="....X.......X...",
        open="..x...x...x...x.",
        shaker="ooxoooxoooxoooxo",
    ),
    "break": pattern(shaker="f.-.f.-.f.-.f.-."),
    "outro": pattern(kick="X...x...x...x...", open="..o...o...o...o.", shaker="-o-o-o-o-o-o-o-o"),
}

DROP_TICKS = pattern(hat=".-.-.-.-.-.-.-.-")

# Relative lengths of the classic club form, shortened for short pieces.
FULL_FORM = (
    ("intro", 1),
    ("build", 1),
    ("drop", 2),
    ("break", 1),
    ("build", 1),
    ("drop", 2),
    ("outro", 1),
)
MEDIUM_FORM = FULL_FORM[:-1]
SHORT_FORM = (("intro", 1), ("build", 1), ("drop", 2))
TINY_FORM = (("build", 1), ("drop", 1))

KICKLESS = frozenset({"break"})


class EdmStyle:
    genre = "edm"
    beats_per_bar = 4
    release_s = 2.2
    phrase_bars = 8
    default_moods = ("energetic", "happy", "epic", "dark", "dreamy")
    modes = ("minor", "major", "dorian", "phrygian", "mixolydian", "lydian")
    keys = (9, 5, 7, 0, 2, 10, 4)

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        return requested

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]:
        return (120.0, 128.0)

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band:
        return Band(
            lead=81,
            chords=rng.choice((45, 46)),
            bass=rng.choice((38, 39)),
            drums=rng.choice((24, 25)),
            pad=90,
        )

    def sections(
        self, plan: TimePlan, variant: str | None, rng: random.Random
    ) -> tuple[Section, ...]:
        n = plan.body_bars
        end = Section("end", n, 1)
        if n < 4:
            return ((Section("drop", 0, n),) if n else ()) + (end,)
        form = (
            FULL_FORM
            if n >= 56
            else MEDIUM_FORM
            if n >= 28
            else SHORT_FORM
            if n >= 12
            else TINY_FORM
        )
        bars = _allocate(n, form)
        out: list[Section] = []
        start = 0
        for (name, _), length in zip(form, bars, strict=True):
            out.append(Section(name, start, length))
            start += length
        return (*out, end)

    def write(self, ctx: PieceContext) -> Written:
        plan, band, mood = ctx.plan, ctx.band, ctx.mood
        bpb = plan.beats_per_bar
        rng = ctx.rng("harmony")
        minor = is_minor(ctx.mode)
        pool = MODE_LOOPS.get(ctx.mode) or (MINOR_LOOPS if minor else MAJOR_LOOPS)
        loop = rng.choice(pool)
        # The break borrows another loop from the pool: harmonic contrast before the last drop.
        break_loop = rng.choice([other for other in pool if other != loop] or [loop])
        body: list[ChordSpan] = []
        for section in ctx.sections[:-1]:
            source = break_loop if section.name == "break" else loop
            body += bar_spans(loop_to(source, section.bars), ctx.tonic, section.start_bar, bpb)
        cadence = ("IV V",) if not minor and ctx.mode != "mixolydian" else ("bVI bVII",)
        if ctx.mode in ("mixolydian", "dorian"):
            cadence = ("IV bVII",)
        chords = harmony_with_ending(body, plan, ctx.tonic, cadence, "i" if minor else "I")
        if mood.name == "dreamy":
            # Dreamy: add9 colour on every chord, the supersaw shimmer of melodic house.
            chords = tuple(_add_nine(span) for span in chords)
        chord_at = ChordTimeline(chords)
        # Machine-tight: no timing jitter at all, only a little velocity life.
        feel = Feel(swing=0.5, steps_per_beat=4, timing_sd_ms=0.0, velocity_sd=3.0)
        kicks = [*_kick_beats(ctx.sections, bpb), plan.final_start]
        # Harder moods pump harder.
        depth = round(70 * min(1.25, max(0.7, mood.density)))
        pump = _side_chain(kicks, depth, plan.final_start)
        pans = pan_positions(list(Role))
        reverb = 0.2 + mood.reverb
        tracks: list[Track] = []
        if band.pad is not None:
            tracks.append(self._pad(ctx, chords, band.pad, pump, reverb))
        if band.chords is not None:
            tracks.append(self._arp(ctx, chords, feel, band.chords, pans[Role.CHORDS], reverb))
        if band.bass is not None:
            tracks.append(self._bass(ctx, chords, feel, band.bass, pump))
        if band.drums is not None:
            tracks.append(self._drums(ctx, feel, band.drums))
        if band.lead is not None:
            tracks.append(self._lead(ctx, chord_at, feel, band.lead, pans[Role.LEAD], reverb))
        return Written(chords=chords, tracks=tuple(tracks), swing=0.5)

    # parts ---------------------------------------------------------------------------------------

    def _pad(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        program: int,
        pump: list[ControlChange],
        reverb: float,
    ) -> Track:
        rng = ctx.rng("pad")
        low, high = playable_range(program)
        voicings = voice_lead([s.chord for s in chords], "close", max(low, 55), min(high, 77))
        notes: list[Note] = []
        base = 70 * ctx.mood.dynamics
        for span, voicing in zip(chords, voicings, strict=True):
            section = _section_at(ctx.sections, span.start, ctx.plan.beats_per_bar)
            level = {"intro": 0.75, "build": 0.9, "break": 1.0, "outro": 0.8}.get(section, 1.0)
            # The drop fattens the pad with the root an octave below.
            extra = (voicing[0] - 12,) if section == "drop" and voicing[0] - 12 >= low else ()
            for pitch in (*extra, *voicing):
                velocity = clamp_velocity(base * level + rng.gauss(0, 2))
                notes.append(Note(span.start, span.duration, pitch, velocity))
        return Track(
            "Supersaw pad",
            Role.PAD,
            program,
            pan=0.0,
            volume=0.62,
            effects=Effects(reverb=reverb + 0.15, chorus=0.45),
            notes=tuple(fit_range(notes, program)),
            controls=tuple(pump),
        )

    def _arp(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        feel: Feel,
        program: int,
        pan: float,
        reverb: float,
    ) -> Track:
        """A plucked 16th-note arpeggio over the chord; 8ths in the intro, silent in the outro."""
        rng = ctx.rng("arp")
        low, high = playable_range(program)
        register = 64 + max(-3, min(3, ctx.mood.register))
        voicings = voice_lead(
            [s.chord for s in chords], "close", max(low, register - 4), min(high, register + 14)
        )
        order = rng.choice(ARP_ORDERS)
        bpb = ctx.plan.beats_per_bar
        notes: list[Note] = []
        base = 74 * ctx.mood.dynamics
        # Sparse moods thin the arp by leaving out a few 16ths (never the beat).
        gap_chance = max(0.0, 0.9 - ctx.mood.density) * 0.8
        for span, voicing in zip(chords[:-1], voicings[:-1], strict=True):
            section = _section_at(ctx.sections, span.start, bpb)
            if section == "outro":
                continue
            step_length = 0.5 if section == "intro" else 0.25
            tones = [*voicing, voicing[0] + 12]
            count = round(span.duration / step_length)
            for index in range(count):
                onset = span.start + index * step_length
                on_beat = abs(onset - round(onset)) < 1e-9
                if not on_beat and rng.random() < gap_chance:
                    continue
                pitch = tones[order[index % len(order)] % len(tones)]
                accent = 1.12 if on_beat else (0.95 if index % 2 == 0 else 0.82)
                raw = Note(onset, step_length * 0.8, pitch, clamp_velocity(base * accent))
                notes.append(humanise(raw, feel, rng, ctx.plan.tempo_bpm))
        final = chords[-1]
        notes += [
            Note(final.start, min(1.0, final.duration), p, clamp_velocity(base))
            for p in voicings[-1]
        ]
        return Track(
            "Pluck",
            Role.CHORDS,
            program,
            pan=pan,
            volume=0.66,
            effects=Effects(reverb=reverb + 0.1, chorus=0.1),
            notes=tuple(fit_range(notes, program)),
        )

    def _bass(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        feel: Feel,
        program: int,
        pump: list[ControlChange],
    ) -> Track:
        rng = ctx.rng("bass")
        bpb = ctx.plan.beats_per_bar
        low = max(36, playable_range(program)[0])
        drop_figure = rng.choice(("offbeat", "octave", "rolling"))
        notes: list[Note] = []
        base = 96 * ctx.mood.dynamics
        for span in chords[:-1]:
            section = _section_at(ctx.sections, span.start, bpb)
            if section in ("intro", "break"):
                continue
            figure = BASS_FIGURES[drop_figure if section == "drop" else "offbeat"]
            root = nearest_pitch(low + 7, (span.chord.root,), low, low + 11)
            for bar_offset in range(0, round(span.duration), bpb):
                bar_start = span.start + bar_offset
                for step, length, up in figure:
                    if bar_offset + step / 4 >= span.duration:
                        continue
                    accent = 1.0 if step % 4 == 2 else 0.86
                    raw = Note(
                        bar_start + step / 4,
                        length / 4 * 0.85,
                        root + 12 * up,
                        clamp_velocity(base * accent),
                    )
                    notes.append(humanise(raw, feel, rng, ctx.plan.tempo_bpm))
        final = chords[-1]
        root = nearest_pitch(low + 7, (final.chord.root,), low, low + 11)
        notes.append(Note(final.start, final.duration, root, clamp_velocity(base)))
        return Track(
            "Synth bass",
            Role.BASS,
            program,
            pan=0.0,
            volume=0.85,
            effects=Effects(reverb=0.0),
            notes=tuple(fit_range(notes, program)),
            controls=tuple(pump),
        )

    def _drums(self, ctx: PieceContext, feel: Feel, kit: int) -> Track:
        rng = ctx.rng("drums")
        bpb = ctx.plan.beats_per_bar
        tempo = ctx.plan.tempo_bpm
        scale = ctx.mood.dynamics
        busy = ctx.mood.density >= 1.0
        notes: list[Note] = []
        sections = ctx.sections[:-1]
        for index, section in enumerate(sections):
            groove = GROOVES.get(section.name, GROOVES["drop"])
            next_name = sections[index + 1].name if index + 1 < len(sections) else "end"
            for offset in range(section.bars):
                bar_start = float((section.start_bar + offset) * bpb)
                keep = None
                if section.name == "intro" and offset < section.bars // 2:
                    # The first half of the intro is kick and shaker only: room to build into.
                    keep = frozenset({KICK, 70})
                notes += play_pattern(groove, bar_start, bpb, feel, rng, tempo, scale, keep=keep)
                if section.name == "drop" and busy:
                    # Busy moods add a ticking closed hat between the shakers.
                    notes += play_pattern(DROP_TICKS, bar_start, bpb, feel, rng, tempo, scale)
                if offset == 0 and section.name in ("drop", "break") and section.start_bar > 0:
                    notes.append(Note(bar_start, 2.0, CRASH, clamp_velocity(100 * scale)))
            if section.name == "build" and next_name == "drop":
                roll_bars = min(section.bars, 8 if section.bars >= 16 else 4)
                roll_start = float((section.start_bar + section.bars - roll_bars) * bpb)
                notes += _snare_roll(roll_start, roll_bars * bpb, scale)
        final = ctx.plan.final_start
        notes.append(Note(final, 1.0, KICK, clamp_velocity(118 * scale)))
        notes.append(Note(final, 2.0, CRASH, clamp_velocity(100 * scale)))
        return Track(
            "Drums",
            Role.DRUMS,
            kit,
            is_drum=True,
            pan=0.0,
            volume=0.86,
            effects=Effects(reverb=0.08),
            notes=tuple(sorted(notes)),
        )

    def _lead(
        self,
        ctx: PieceContext,
        chord_at: ChordTimeline,
        feel: Feel,
        program: int,
        pan: float,
        reverb: float,
    ) -> Track:
        rng = ctx.rng("melody")
        centre = 74 + ctx.mood.register
        low, high = lead_register(program, centre, 10, 12)
        scale = scale_pitch_classes(ctx.tonic, ctx.mode)
        velocity = round(92 * ctx.mood.dynamics)
        voice = Voice(low, high, scale, 4, velocity, legato=0.9)
        hook = make_motif(rng, HOOK_RHYTHMS, leap_chance=0.3)
        answer = make_motif(rng, HOOK_RHYTHMS, leap_chance=0.3)
        shape = rng.choice(HOOK_SHAPES)
        anchor = nearest_pitch(centre, (ctx.tonic,), low, high)
        ladder = [p for p in range(low, high + 1) if p % 12 in scale]
        notes: list[Note] = []
        drops_seen = 0
        for section in ctx.sections[:-1]:
            if section.name in ("intro", "build", "outro"):
                continue
            if section.name == "break":
                # The hook, softer and a third lower, half the notes: a memory of the drop.
                start = ladder[max(0, ladder.index(anchor) - 2)]
                written, _ = phrase(
                    hook.fragment(3), answer, section, ctx.plan, start, voice, feel,
                    chord_at, rng, "MRFR", 0.72,
                )  # fmt: skip
            else:
                # The second drop lifts the hook two scale steps: same tune, more energy.
                start = ladder[min(len(ladder) - 1, ladder.index(anchor) + 2 * drops_seen)]
                drops_seen += 1
                written, _ = phrase(
                    hook, answer, section, ctx.plan, start, voice, feel, chord_at, rng, shape, 1.0
                )
            notes += written
        notes = close_on_tonic(notes, chord_at.spans[-1], ctx.tonic, low, high, velocity)
        notes = [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in notes]
        return Track(
            "Saw lead" if program == 81 else "Lead",
            Role.LEAD,
            program,
            pan=pan,
            volume=0.74,
            effects=Effects(reverb=reverb + 0.1, chorus=0.2),
            notes=tuple(fit_range(notes, program)),
        )


# helpers -------------------------------------------------------------------------------------------


def _allocate(total: int, form: Sequence[tuple[str, int]]) -> list[int]:
    """Bars per section in blocks (8 or 16 bars when there is room), proportional to the weights.

    Whole blocks go where the proportional share was cut most (drops first on ties); the few
    bars that make no block lengthen the intro, so every drop starts on a block boundary.
    """
    weight = sum(w for _, w in form)
    unit = total / weight
    grain = 8 if unit >= 7 else 4 if unit >= 3 else 2
    targets = [w * unit for _, w in form]
    bars = [max(grain, int(t // grain) * grain) for t in targets]
    while sum(bars) > total:
        largest = max(range(len(bars)), key=lambda i: bars[i])
        bars[largest] -= min(grain, sum(bars) - total)
    order = sorted(
        range(len(form)),
        key=lambda i: (-(targets[i] - bars[i]), form[i][0] != "drop", -i),
    )
    for i in order:
        if total - sum(bars) < grain:
            break
        bars[i] += grain
    bars[0] += total - sum(bars)
    return bars


def _kick_beats(sections: Sequence[Section], beats_per_bar: int) -> list[float]:
    return [
        float(bar * beats_per_bar + beat)
        for section in sections[:-1]
        if section.name not in KICKLESS
        for bar in range(section.start_bar, section.start_bar + section.bars)
        for beat in range(beats_per_bar)
    ]


def _side_chain(kicks: Sequence[float], depth: int, final_start: float) -> list[ControlChange]:
    """CC11 pumping: duck hard on each kick, recover along a curve by the off-beat.

    Where there is no kick (the break), expression rests at full so the pads bloom.
    """
    floor = 127 - depth
    curve = ((0.0, floor), (0.25, floor + depth * 0.7))
    kick_set = set(kicks)
    events = [] if 0.0 in kick_set else [ControlChange(0.0, EXPRESSION, 127)]
    for beat in kicks:
        for offset, value in curve:
            events.append(ControlChange(beat + offset, EXPRESSION, round(value)))
        if beat + 1.0 not in kick_set or beat >= final_start:
            # Recover fully after the last kick of a run, so a break sustains undamped.
            events.append(ControlChange(beat + 0.5, EXPRESSION, 127))
        else:
            events.append(ControlChange(beat + 0.5, EXPRESSION, 124))
    return sorted({(e.time, e.value): e for e in events}.values())


def _snare_roll(start: float, beats: float, scale: float) -> list[Note]:
    """The riser: quarters, 8ths, 16ths then 32nds, crescendo into the drop."""
    notes: list[Note] = []
    quarter = beats / 4
    for part, per_beat in enumerate((1, 2, 4, 8)):
        part_start = start + part * quarter
        count = round(quarter * per_beat)
        for i in range(count):
            onset = part_start + i / per_beat
            progress = (onset - start) / beats
            velocity = clamp_velocity((40 + 80 * progress) * scale)
            notes.append(Note(onset, 0.5 / per_beat, SNARE, velocity))
    return notes


def _add_nine(span: ChordSpan) -> ChordSpan:
    quality = {"maj": "add9", "min": "madd9"}.get(span.chord.quality, span.chord.quality)
    return replace(span, chord=replace(span.chord, quality=quality))


def _section_at(sections: Sequence[Section], beat: float, beats_per_bar: int) -> str:
    bar = int(beat // beats_per_bar + 1e-9)
    for section in sections:
        if section.start_bar <= bar < section.start_bar + section.bars:
            return section.name
    return sections[-1].name
