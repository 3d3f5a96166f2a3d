"""Bossa nova: nylon-guitar comping on the syncopated bossa figure, root–fifth bass, cross-stick and
shaker, maj7/m7/9th harmony in ii–V chains with chromatic lines, and a soft, lyrical melody."""

from __future__ import annotations

import random

from generators.compose.arrangement import (
    Band,
    ChordTimeline,
    fit_range,
    pan_positions,
)
from generators.compose.form import TimePlan, arrange_sections
from generators.compose.harmony import voice_lead
from generators.compose.melody import Voice, make_motif
from generators.compose.mood import MoodProfile, is_minor
from generators.compose.parts import (
    bar_spans,
    close_on_tonic,
    harmony_with_ending,
    held_chord,
    lead_register,
    phrase,
)
from generators.compose.rhythm import (
    KICK,
    SIDE_STICK,
    Feel,
    clamp_velocity,
    grid_time,
    humanise,
    pattern,
    play_pattern,
)
from generators.compose.styles.base import PieceContext, Written
from generators.compose.theory import chord_intervals, nearest_pitch, scale_pitch_classes
from generators.score import ChordSpan, Effects, Note, Role, Section, Track

# Eight-bar sections, one string a bar.
MAJOR_A = (
    ("I:maj7", "I:maj7", "II:7", "II:7", "ii:m7", "bII:7", "I:maj7", "ii:m7 V:7"),
    ("I:maj9", "#i:dim7", "ii:m7", "V:9", "iii:m7", "bIII:dim7", "ii:m7", "V:7b9"),
    (
        "I:maj7",
        "vii:m7b5 III:7b9",
        "vi:m7",
        "v:m7 I:7",
        "IV:maj7",
        "iv:m6",
        "iii:m7 VI:7b9",
        "ii:m7 V:7",
    ),
    ("I:maj7", "I:6", "ii:m7", "V:7b9", "iii:m7", "VI:7b9", "ii:m9", "V:9"),
)
MAJOR_B = (
    ("bII:maj7", "bII:maj7", "bv:m7", "VII:7", "bIII:maj7", "bIII:maj7", "ii:m7", "V:7b9"),
    ("IV:maj7", "iv:m6", "iii:m7", "VI:7b9", "ii:m7", "V:7", "iii:m7 VI:7", "ii:m7 V:7b9"),
)
MINOR_A = (
    ("i:m7", "i:m6", "iv:m7", "bVII:7", "bIII:maj7", "bVI:maj7", "ii:m7b5", "V:7b9"),
    ("i:m9", "i:m7", "ii:m7b5", "V:7b9", "i:m7", "iv:m9", "ii:m7b5", "V:7b9"),
)
MINOR_B = (
    ("iv:m7", "bVII:9", "bIII:maj7", "bVI:maj7", "ii:m7b5", "V:7b9", "i:m7", "V:7b9"),
    ("bVI:maj7", "bVI:maj7", "iv:m9", "bVII:7", "bIII:maj7", "bII:maj7", "ii:m7b5", "V:7b9"),
)
INTRO_MAJOR = ("ii:m7", "V:7")
INTRO_MINOR = ("ii:m7b5", "V:7b9")

# The guitar's bossa figure over two bars of 8ths (the comping "clave"); step 16+ is bar two.
GUITAR_FIGURE = ((0, 2), (3, 2), (6, 2), (10, 2), (13, 2))
GUITAR_FIGURE_B = ((0, 3), (3, 2), (6, 1), (8, 2), (11, 2), (14, 2))

MELODY_RHYTHMS = (
    ((0, 3), (3, 1), (4, 4)),
    ((1, 2), (3, 3), (6, 2)),
    ((0, 2), (2, 1), (3, 3), (6, 2)),
    ((2, 2), (4, 2), (6, 2)),
    ((0, 6), (6, 2)),
    ((0, 1), (1, 2), (3, 1), (4, 4)),
)

# Cross-stick on the bossa clave across two bars; kick on 1 and the "and" of 2, as a surdo would.
DRUMS = (
    pattern(steps=8, kick="o..oo..o", rim="x..x..x.", shaker="gogogogo"),
    pattern(steps=8, kick="o..oo..o", rim="..x..x..", shaker="gogogogo"),
)


class BossaStyle:
    genre = "bossa"
    beats_per_bar = 4
    release_s = 1.8
    phrase_bars = 8
    default_moods = ("calm", "romantic", "happy", "dreamy", "sad")
    modes = ("major", "minor", "dorian", "lydian")
    keys = (0, 5, 7, 2, 10, 3, 9)

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        return None

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]:
        return (120.0, 145.0)

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band:
        lead = rng.choice((73, 73, 65, 66))
        pad = 0 if rng.random() < 0.5 else None  # soft piano colour in the bridge
        return Band(lead=lead, chords=24, bass=32, drums=rng.choice((0, 40)), pad=pad)

    def sections(
        self, plan: TimePlan, variant: str | None, rng: random.Random
    ) -> tuple[Section, ...]:
        n = plan.body_bars
        intro = 0 if n < 10 else (2 if n < 40 else 4)
        return arrange_sections(n, 8, ("A", "A", "B", "A"), intro, 0)

    def write(self, ctx: PieceContext) -> Written:
        plan, band, mood = ctx.plan, ctx.band, ctx.mood
        bpb = plan.beats_per_bar
        minor = is_minor(ctx.mode)
        rng = ctx.rng("harmony")
        tune_a = rng.choice(MINOR_A if minor else MAJOR_A)
        tune_b = rng.choice(MINOR_B if minor else MAJOR_B)
        body: list[ChordSpan] = []
        for section in ctx.sections[:-1]:
            if section.name == "intro":
                source: tuple[str, ...] = INTRO_MINOR if minor else INTRO_MAJOR
            else:
                source = tune_b if section.name == "B" else tune_a
            bars = [source[i % len(source)] for i in range(section.bars)]
            body += bar_spans(bars, ctx.tonic, section.start_bar, bpb)
        cadence = ("ii:m7b5 V:7b9",) if minor else ("ii:m7 V:7b9",)
        final = "i:m9" if minor else rng.choice(("I:maj7", "I:69", "I:maj9"))
        chords = harmony_with_ending(body, plan, ctx.tonic, cadence, final)
        chord_at = ChordTimeline(chords)

        feel = Feel(swing=0.5, steps_per_beat=2, timing_sd_ms=6.0, lay_back_ms=8.0, velocity_sd=4.0)
        pans = pan_positions(list(Role))
        reverb = 0.3 + mood.reverb
        tracks: list[Track] = []
        if band.chords is not None:
            tracks.append(self._guitar(ctx, chords, feel, band.chords, pans[Role.CHORDS], reverb))
        if band.bass is not None:
            tracks.append(self._bass(ctx, chords, feel, band.bass))
        if band.drums is not None:
            tracks.append(self._drums(ctx, feel, band.drums))
        if band.pad is not None:
            tracks.append(self._piano(ctx, chords, band.pad, pans[Role.PAD], reverb))
        if band.lead is not None:
            tracks.append(self._melody(ctx, chord_at, feel, band.lead, pans[Role.LEAD], reverb))
        return Written(chords=chords, tracks=tuple(tracks), swing=0.5)

    def _guitar(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        feel: Feel,
        program: int,
        pan: float,
        reverb: float,
    ) -> Track:
        """The bossa figure, two bars long, re-voiced on every chord it lands in."""
        rng = ctx.rng("guitar")
        voicings = voice_lead([span.chord for span in chords], "close", 50, 71)
        timeline = ChordTimeline(chords)
        index_of = {id(span): i for i, span in enumerate(chords)}
        bpb = ctx.plan.beats_per_bar
        velocity = 56 * ctx.mood.dynamics
        notes: list[Note] = []
        final = chords[-1]
        body_bars = ctx.plan.body_bars
        for pair_start in range(0, body_bars, 2):
            figure = GUITAR_FIGURE if (pair_start // 2) % 2 == 0 else GUITAR_FIGURE_B
            for step, length in figure:
                onset = pair_start * bpb + grid_time(step, 2, feel.swing)
                if onset >= final.start - 1e-6:
                    break
                end = min(onset + length / 2, final.start)
                span = timeline.span_at(onset + 0.01)
                voicing = voicings[index_of[id(span)]]
                accent = 1.08 if step in (0, 3) else 0.95
                notes += held_chord(
                    voicing, onset, (end - onset) * 0.9, velocity * accent, rng, 0.012
                )
        notes += held_chord(voicings[-1], final.start, final.duration, velocity, rng, 0.05)
        notes = [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in notes]
        return Track(
            "Nylon guitar",
            Role.CHORDS,
            program,
            pan=pan,
            volume=0.8,
            effects=Effects(reverb=reverb),
            notes=tuple(fit_range(notes, program)),
        )

    def _bass(
        self, ctx: PieceContext, chords: tuple[ChordSpan, ...], feel: Feel, program: int
    ) -> Track:
        """Root on the beat, fifth on the "and" of the next: 1 … 2+, 3 … 4+ — root, fifth, root, fifth."""
        rng = ctx.rng("bass")
        low, high = 31, 50
        timeline = ChordTimeline(chords)
        final = chords[-1]
        velocity = 80 * ctx.mood.dynamics
        notes: list[Note] = []
        previous = 40
        for bar in range(ctx.plan.body_bars):
            for half in (0, 2):
                onset = float(bar * ctx.plan.beats_per_bar + half)
                chord = timeline(onset)
                root = nearest_pitch(previous, (chord.root,), low, high)
                fifth_interval = next(
                    (i for i in chord_intervals(chord.quality) if i in (6, 7, 8)), 7
                )
                fifth = (
                    root + fifth_interval
                    if root + fifth_interval <= high
                    else root + fifth_interval - 12
                )
                notes.append(Note(onset, 1.4, root, clamp_velocity(velocity)))
                notes.append(Note(onset + 1.5, 0.45, fifth, clamp_velocity(velocity * 0.85)))
                previous = root
        root = nearest_pitch(previous, (final.chord.root,), low, high)
        notes.append(Note(final.start, final.duration, root, clamp_velocity(velocity)))
        notes = [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in notes]
        return Track(
            "Acoustic bass",
            Role.BASS,
            program,
            volume=0.85,
            effects=Effects(reverb=0.1),
            notes=tuple(fit_range(notes, program)),
        )

    def _drums(self, ctx: PieceContext, feel: Feel, kit: int) -> Track:
        rng = ctx.rng("drums")
        bpb = ctx.plan.beats_per_bar
        scale = ctx.mood.dynamics * 0.8  # bossa is soft
        notes: list[Note] = []
        for section in ctx.sections[:-1]:
            for offset in range(section.bars):
                bar = section.start_bar + offset
                groove = DRUMS[bar % 2]
                keep = frozenset({SIDE_STICK, 70}) if section.name == "intro" else None
                notes += play_pattern(
                    groove, float(bar * bpb), bpb, feel, rng, ctx.plan.tempo_bpm, scale, keep=keep
                )
        final = ctx.plan.final_start
        notes.append(Note(final, 1.0, KICK, clamp_velocity(60 * scale)))
        notes.append(Note(final, 1.0, SIDE_STICK, clamp_velocity(64 * scale)))
        return Track(
            "Drums",
            Role.DRUMS,
            kit,
            is_drum=True,
            volume=0.62,
            effects=Effects(reverb=0.2),
            notes=tuple(sorted(notes)),
        )

    def _piano(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        program: int,
        pan: float,
        reverb: float,
    ) -> Track:
        """A soft piano that enters only in the bridge, high and sustained: contrast of colour."""
        rng = ctx.rng("piano")
        bpb = ctx.plan.beats_per_bar
        bridge = [
            (s.start_bar * bpb, (s.start_bar + s.bars) * bpb) for s in ctx.sections if s.name == "B"
        ]
        voicings = voice_lead([span.chord for span in chords], "shell", 60, 79)
        notes: list[Note] = []
        for span, voicing in zip(chords, voicings, strict=True):
            if any(start <= span.start < end for start, end in bridge):
                notes += held_chord(
                    voicing, span.start, span.duration * 0.95, 44 * ctx.mood.dynamics, rng, 0.03
                )
        return Track(
            "Piano",
            Role.PAD,
            program,
            pan=pan,
            volume=0.6,
            effects=Effects(reverb=reverb + 0.1),
            notes=tuple(fit_range(notes, program)),
        )

    def _melody(
        self,
        ctx: PieceContext,
        chord_at: ChordTimeline,
        feel: Feel,
        program: int,
        pan: float,
        reverb: float,
    ) -> Track:
        rng = ctx.rng("melody")
        centre = (74 if program == 73 else 66) + ctx.mood.register
        low, high = lead_register(program, centre, 9, 10)
        scale = scale_pitch_classes(ctx.tonic, ctx.mode)
        velocity = round(70 * ctx.mood.dynamics)
        voice = Voice(low, high, scale, 2, velocity, legato=0.97)
        motif = make_motif(rng, MELODY_RHYTHMS, leap_chance=0.25)
        answer = make_motif(rng, MELODY_RHYTHMS, leap_chance=0.25)
        bridge = make_motif(rng, MELODY_RHYTHMS, leap_chance=0.3)
        anchor = nearest_pitch(centre, scale, low, high)
        notes: list[Note] = []
        for section in ctx.sections[:-1]:
            if section.name == "intro":
                continue
            if section.name == "B":
                written, _ = phrase(
                    bridge,
                    answer,
                    section,
                    ctx.plan,
                    anchor + 3,
                    voice,
                    feel,
                    chord_at,
                    rng,
                    "MSAC",
                )
            else:
                written, _ = phrase(
                    motif, answer, section, ctx.plan, anchor, voice, feel, chord_at, rng, "MAsCMAFC"
                )
            notes += written
        notes = close_on_tonic(notes, chord_at.spans[-1], ctx.tonic, low, high, velocity * 0.9)
        notes = [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in notes]
        names = {73: "Flute", 65: "Alto sax", 66: "Tenor sax"}
        return Track(
            names.get(program, "Lead"),
            Role.LEAD,
            program,
            pan=pan,
            volume=0.78,
            effects=Effects(reverb=reverb + 0.05),
            notes=tuple(fit_range(notes, program)),
        )
