"""Lofi hip hop: dusty swung boom-bap under Rhodes jazz chords and a sparse pentatonic lead."""

from __future__ import annotations

import random

from generators.compose.arrangement import (
    Band,
    ChordTimeline,
    fit_range,
    pan_positions,
)
from generators.compose.form import TimePlan, arrange_sections
from generators.compose.melody import Voice, make_motif
from generators.compose.mood import MoodProfile, is_minor
from generators.compose.parts import (
    bar_spans,
    close_on_tonic,
    comp_track,
    harmony_with_ending,
    held_chord,
    lead_register,
    loop_to,
    phrase,
    sectioned_voicings,
)
from generators.compose.rhythm import (
    CRASH,
    KICK,
    OPEN_HAT,
    SIDE_STICK,
    Feel,
    clamp_velocity,
    grid_time,
    humanise,
    pattern,
    play_pattern,
)
from generators.compose.styles.base import PieceContext, Written
from generators.compose.theory import pentatonic, scale_pitch_classes
from generators.score import ChordSpan, Effects, Note, Role, Section, Track

# Two- to four-bar loops, one string a bar.
MAJOR_LOOPS = (
    ("ii:m9", "V:9", "I:maj9", "I:maj9"),
    ("I:maj7", "vi:m7", "ii:m7", "V:7b9"),
    ("IV:maj7", "iii:m7", "ii:m9", "I:maj7"),
    ("I:maj9", "iii:m7", "IV:maj7", "iv:m6"),
    ("IV:maj9", "I:maj9"),
    ("ii:m9", "V:13", "iii:m7", "vi:m9"),
)
MINOR_LOOPS = (
    ("iv:m9", "i:m9"),
    ("i:m9", "iv:m9", "bVII:9", "bIII:maj7"),
    ("ii:m7b5", "V:7b9", "i:m9", "i:m9"),
    ("bVI:maj7", "V:7b9", "i:m9", "i:m7"),
    ("i:m9", "bVI:maj7", "iv:m9", "V:7b9"),
)
DORIAN_LOOPS = (("i:m9", "IV:9"), ("i:m9", "ii:m7", "IV:9", "i:m9"))
PHRYGIAN_LOOPS = (
    ("i:m9", "bII:maj7"),
    ("i:m9", "bII:maj7", "i:m9", "bvii:m7"),
    ("i:m7", "bVI:maj7", "bII:maj7", "i:m7"),
)
CADENCE_MAJOR = (("ii:m9 V:13",), ("IV:maj7 iv:m6",))
CADENCE_MINOR = (("ii:m7b5 V:7b9",), ("iv:m9",))

LEAD_RHYTHMS = (
    ((0, 2), (2, 2), (4, 4)),
    ((2, 2), (4, 2), (6, 6)),
    ((0, 3), (3, 1), (4, 4), (10, 2), (12, 4)),
    ((6, 2), (8, 2), (10, 6)),
    ((0, 6), (6, 2), (8, 6)),
    ((3, 1), (4, 2), (6, 2), (8, 4)),
    ((0, 2), (3, 1), (4, 2), (8, 2), (10, 4)),
)
SHAPES = ("MRSC", "MASC", "MRIC", "MFSC")

KEYS_RHYTHMS = (
    ((0, 16),),
    ((0, 6), (10, 6)),
    ((0, 10), (14, 2)),
    ((0, 4), (6, 10)),
)

DRUMS_A = (
    pattern(kick="x......x..x.....", snare="....x.......x...", hat="o.ogo.o.o.ogo.og"),
    pattern(kick="x.........xx....", snare="....x.......x...", hat="o.o.o.ogo.o.o.og"),
    pattern(kick="x..x......x.....", snare="....x.......x..g", hat="o.ogo.o.o.o.o.o."),
)
DRUMS_B = (
    pattern(kick="x......x..x....x", rim="....x.......x...", hat="o.o.o.o.o.o.o.o."),
    pattern(kick="x.....x...x.....", snare="....x.......x...", hat="ogo.ogo.ogo.o.og"),
)
DRUMS_INTRO = pattern(hat="o.g.o.g.o.g.o.g.", rim="............o...")


class LofiStyle:
    genre = "lofi"
    beats_per_bar = 4
    release_s = 1.8
    phrase_bars = 4
    default_moods = ("calm", "sad", "dreamy", "happy")
    modes = ("major", "minor", "dorian", "lydian", "mixolydian", "phrygian")
    keys = (0, 2, 3, 5, 7, 8, 9, 10)

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        return None

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]:
        return (70.0, 90.0)

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band:
        chords = rng.choices((4, 0, 26), weights=(6, 3, 1))[0]
        lead_options = [11, 73, 0, 26] if chords != 0 else [11, 73, 4]
        lead = rng.choice([p for p in lead_options if p != chords])
        return Band(lead=lead, chords=chords, bass=rng.choice((33, 32)), drums=rng.choice((0, 8)))

    def sections(
        self, plan: TimePlan, variant: str | None, rng: random.Random
    ) -> tuple[Section, ...]:
        n = plan.body_bars
        phrase_bars = 8 if n >= 40 else 4
        intro = 0 if n < 6 else (2 if n < 20 else 4)
        outro = 0 if n < 14 else (2 if n < 30 else 4)
        return arrange_sections(n, phrase_bars, ("A", "B", "A", "B", "A"), intro, outro)

    def write(self, ctx: PieceContext) -> Written:
        plan, band, mood = ctx.plan, ctx.band, ctx.mood
        bpb = plan.beats_per_bar
        minor = is_minor(ctx.mode)
        harmony_rng = ctx.rng("harmony")
        pool: tuple[tuple[str, ...], ...] = MINOR_LOOPS if minor else MAJOR_LOOPS
        if ctx.mode == "dorian":
            pool = DORIAN_LOOPS + MINOR_LOOPS[:2]
        elif ctx.mode == "phrygian":
            pool = PHRYGIAN_LOOPS
        loop_a = harmony_rng.choice(pool)
        loop_b = harmony_rng.choice([loop for loop in pool if loop != loop_a] or [loop_a])
        body: list[ChordSpan] = []
        for section in ctx.sections[:-1]:
            loop = loop_b if section.name == "B" else loop_a
            body += bar_spans(loop_to(loop, section.bars), ctx.tonic, section.start_bar, bpb)
        cadence = harmony_rng.choice(CADENCE_MINOR if minor else CADENCE_MAJOR)
        final = "i:m9" if minor else "I:maj9"
        chords = harmony_with_ending(body, plan, ctx.tonic, cadence, final)
        chord_at = ChordTimeline(chords)

        swing = round(ctx.rng("feel").uniform(0.56, 0.6), 3)
        feel = Feel(
            swing=swing, steps_per_beat=4, timing_sd_ms=6.0, lay_back_ms=16.0, velocity_sd=6.0
        )
        tracks: list[Track] = []
        pans = pan_positions(list(Role))
        reverb = 0.25 + mood.reverb

        if band.chords is not None:
            tracks.append(self._keys(ctx, chords, feel, band.chords, pans[Role.CHORDS], reverb))
        if band.bass is not None:
            tracks.append(self._bass(ctx, chords, feel, band.bass))
        if band.drums is not None:
            tracks.append(self._drums(ctx, feel, band.drums))
        if band.lead is not None:
            tracks.append(self._lead(ctx, chord_at, feel, band.lead, pans[Role.LEAD], reverb))
        return Written(chords=chords, tracks=tuple(tracks), swing=swing)

    # parts ---------------------------------------------------------------------------------------

    def _keys(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        feel: Feel,
        program: int,
        pan: float,
        reverb: float,
    ) -> Track:
        rng = ctx.rng("keys")
        low, high = 50, 77
        voicings = sectioned_voicings(chords, "close", low, high)
        body, last = chords[:-1], chords[-1]
        rhythms = []
        for span in body:
            section = _section_of(ctx.sections, span.start, ctx.plan.beats_per_bar)
            options = KEYS_RHYTHMS[:2] if section == "intro" else KEYS_RHYTHMS
            rhythm = rng.choice(options) if span.duration >= 4 else ((0, round(span.duration * 4)),)
            rhythms.append(rhythm)
        velocity = 62 * ctx.mood.dynamics
        notes = comp_track(body, voicings[:-1], rhythms, feel, 4, velocity, rng, roll_beats=0.02)
        notes += held_chord(
            voicings[-1], last.start, last.duration, velocity * 0.95, rng, roll_beats=0.06
        )
        notes = [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in notes]
        return Track(
            "Rhodes" if program == 4 else ("Piano" if program == 0 else "Guitar"),
            Role.CHORDS,
            program,
            pan=pan,
            volume=0.78,
            effects=Effects(reverb=reverb, chorus=0.25 if program == 4 else 0.05),
            notes=tuple(fit_range(notes, program)),
        )

    def _bass(
        self, ctx: PieceContext, chords: tuple[ChordSpan, ...], feel: Feel, program: int
    ) -> Track:
        rng = ctx.rng("bass")
        notes: list[Note] = []
        low = 33
        velocity = 88 * ctx.mood.dynamics
        body, last = chords[:-1], chords[-1]
        previous_root = 40
        for index, span in enumerate(body):
            section = _section_of(ctx.sections, span.start, ctx.plan.beats_per_bar)
            if section == "intro" and index < len(body) - 1:
                continue
            root_class = span.chord.bass if span.chord.bass is not None else span.chord.root
            root = min(
                (p for p in range(low, low + 24) if p % 12 == root_class),
                key=lambda p: abs(p - previous_root),
            )
            previous_root = root
            fifth = root + 7 if root + 7 <= 52 else root - 5
            steps = round(span.duration * 4)
            figure = (
                rng.choice(
                    (
                        ((0, 6, root), (10, 4, root)),
                        ((0, 7, root), (7, 3, fifth), (10, 4, root)),
                        ((0, 10, root), (14, 2, fifth)),
                    )
                )
                if steps >= 16
                else ((0, steps - 1, root),)
            )
            for step, length, pitch in figure:
                if step >= steps:
                    continue
                onset = span.start + grid_time(step, 4, feel.swing)
                end = span.start + grid_time(min(step + length, steps), 4, feel.swing)
                notes.append(
                    Note(
                        onset,
                        max(0.2, (end - onset) * 0.9),
                        pitch,
                        clamp_velocity(velocity * (1.0 if step == 0 else 0.85)),
                    )
                )
        root = min(
            (p for p in range(low, low + 24) if p % 12 == last.chord.root),
            key=lambda p: abs(p - previous_root),
        )
        notes.append(Note(last.start, last.duration, root, clamp_velocity(velocity)))
        notes = [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in notes]
        return Track(
            "Bass",
            Role.BASS,
            program,
            pan=0.0,
            volume=0.85,
            effects=Effects(reverb=0.05),
            notes=tuple(fit_range(notes, program)),
        )

    def _drums(self, ctx: PieceContext, feel: Feel, kit: int) -> Track:
        rng = ctx.rng("drums")
        bpb = ctx.plan.beats_per_bar
        groove_a = rng.choice(DRUMS_A)
        groove_b = rng.choice(DRUMS_B)
        notes: list[Note] = []
        scale = ctx.mood.dynamics * (0.9 if ctx.mood.name in ("calm", "sad", "dreamy") else 1.0)
        lazy = frozenset({38, 37, 40})
        for section in ctx.sections[:-1]:
            for offset in range(section.bars):
                bar = section.start_bar + offset
                bar_start = float(bar * bpb)
                if section.name == "intro":
                    notes += play_pattern(
                        DRUMS_INTRO, bar_start, bpb, feel, rng, ctx.plan.tempo_bpm, scale * 0.8
                    )
                    continue
                groove = groove_b if section.name == "B" else groove_a
                last_bar = offset == section.bars - 1
                bar_notes = play_pattern(
                    groove, bar_start, bpb, feel, rng, ctx.plan.tempo_bpm, scale, lay_back_keys=lazy
                )
                if last_bar:
                    # A small fill: drop the last hats, open hat on the "and" of four.
                    bar_notes = [
                        n for n in bar_notes if not (n.pitch == 42 and n.start >= bar_start + 3.4)
                    ]
                    bar_notes.append(
                        Note(bar_start + 3.5, 0.5, OPEN_HAT, clamp_velocity(70 * scale))
                    )
                if offset == 0 and section.name == "B":
                    bar_notes.append(Note(bar_start, 1.0, CRASH, clamp_velocity(62 * scale)))
                notes += bar_notes
        final = ctx.plan.final_start
        notes.append(Note(final, 1.0, KICK, clamp_velocity(96 * scale)))
        notes.append(
            Note(final, 1.0, SIDE_STICK if ctx.plan.body_bars else KICK, clamp_velocity(55 * scale))
        )
        return Track(
            "Drums",
            Role.DRUMS,
            kit,
            is_drum=True,
            pan=0.0,
            volume=0.8,
            effects=Effects(reverb=0.12),
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
        scale = pentatonic(ctx.tonic, ctx.mode)
        voice = Voice(low, high, scale, 4, round(84 * ctx.mood.dynamics), legato=0.85)
        motif = make_motif(rng, LEAD_RHYTHMS, leap_chance=0.25)
        answer = make_motif(rng, LEAD_RHYTHMS, leap_chance=0.25)
        contrast = make_motif(rng, LEAD_RHYTHMS, leap_chance=0.35)
        shape = rng.choice(SHAPES)
        anchor = min(
            (p for p in range(low, high) if p % 12 in scale), key=lambda p: abs(p - centre)
        )
        notes: list[Note] = []
        heard: set[str] = set()
        for section in ctx.sections[:-1]:
            if section.name in ("intro", "outro"):
                continue
            is_b = section.name == "B"
            # B sings higher: a contrast of register, not just of notes.
            ladder = [p for p in range(low, high + 1) if p % 12 in scale]
            section_anchor = (
                ladder[min(len(ladder) - 1, ladder.index(anchor) + 3)] if is_b else anchor
            )
            # The motif returns; on a repeat the rests are filled with a fragment, so A' answers A.
            section_shape = shape if section.name not in heard else shape.replace("R", "F")
            heard.add(section.name)
            written, _ = phrase(
                contrast if is_b else motif,
                answer,
                section,
                ctx.plan,
                section_anchor,
                voice,
                feel,
                chord_at,
                rng,
                "MASC" if is_b else section_shape,
                ctx.mood.dynamics,
            )
            notes += written
        notes = close_on_tonic(
            notes, chord_at.spans[-1], ctx.tonic, low, high, 80 * ctx.mood.dynamics
        )
        notes = [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in notes]
        names = {11: "Vibraphone", 73: "Flute", 0: "Piano", 4: "Rhodes", 26: "Guitar"}
        return Track(
            names.get(program, "Lead"),
            Role.LEAD,
            program,
            pan=pan,
            volume=0.8,
            effects=Effects(reverb=reverb + 0.1, chorus=0.1),
            notes=tuple(fit_range(notes, program)),
        )


def _section_of(sections: tuple[Section, ...], beat: float, beats_per_bar: int) -> str:
    bar = int(beat // beats_per_bar)
    for section in sections:
        if section.start_bar <= bar < section.start_bar + section.bars:
            return section.name
    return sections[-1].name


__all__ = ["LofiStyle", "scale_pitch_classes"]
