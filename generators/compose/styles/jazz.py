"""Jazz: swing (or a brushed ballad) with walking bass, ride cymbal, rootless comping and a head melody."""

from __future__ import annotations

import random

from generators.compose.arrangement import (
    Band,
    ChordTimeline,
    fit_range,
    pan_positions,
    playable_range,
)
from generators.compose.form import TimePlan, arrange_sections
from generators.compose.harmony import voice_lead
from generators.compose.melody import Voice, approach_tones, make_motif
from generators.compose.mood import MoodProfile, is_minor
from generators.compose.parts import (
    bar_spans,
    close_on_tonic,
    comp_track,
    harmony_with_ending,
    held_chord,
    phrase,
)
from generators.compose.rhythm import (
    CRASH,
    KICK,
    LOW_TOM,
    MID_TOM,
    RIDE,
    SNARE,
    Feel,
    clamp_velocity,
    grid_time,
    humanise,
    pattern,
    play_pattern,
)
from generators.compose.styles.base import PieceContext, Written
from generators.compose.theory import (
    chord_core,
    chord_pitch_classes,
    nearest_pitch,
    scale_pitch_classes,
)
from generators.score import ChordSpan, Effects, Note, Role, Section, Track

BALLAD_MOODS = frozenset({"sad", "calm", "romantic", "dreamy"})

# Eight-bar sections, one string a bar.
MAJOR_A = (
    (
        "I:maj7 vi:m7",
        "ii:m7 V:7",
        "I:maj7 vi:m7",
        "ii:m7 V:7",
        "iii:m7 VI:7b9",
        "ii:m7 V:7",
        "I:maj7 VI:7b9",
        "ii:m7 V:7",
    ),
    ("I:maj7", "I:maj7", "ii:m7", "V:7", "ii:m7", "V:7", "I:maj7", "ii:m7 V:7"),
    ("I:maj7", "vi:m7", "ii:m7", "V:7", "I:maj7", "bII:7", "I:maj7 vi:m7", "ii:m7 V:7"),
    ("I:maj7", "I:7", "IV:maj7", "iv:m7 bVII:7", "iii:m7", "VI:7b9", "ii:m7", "V:7"),
)
MAJOR_B = (
    ("III:7", "III:7", "VI:7", "VI:7", "II:7", "II:7", "ii:m7", "V:7"),
    ("IV:maj7", "IV:maj7", "iv:m7", "bVII:7", "iii:m7", "VI:7b9", "ii:m7", "bII:7"),
    ("v:m7", "I:7", "IV:maj7", "IV:maj7", "iv:m7", "bVII:7", "iii:m7 VI:7b9", "ii:m7 V:7"),
)
MINOR_A = (
    ("i:m7", "i:m7", "iv:m7", "iv:m7", "ii:m7b5", "V:7b9", "i:m6", "ii:m7b5 V:7b9"),
    ("i:m7", "ii:m7b5 V:7b9", "i:m7", "bVI:7", "ii:m7b5", "V:7b9", "i:m6", "ii:m7b5 V:7b9"),
)
MINOR_B = (
    ("bVI:maj7", "bVI:maj7", "ii:m7b5", "V:7b9", "i:m7", "iv:m7", "ii:m7b5", "V:7b9"),
    ("iv:m7", "bVII:7", "bIII:maj7", "bVI:maj7", "ii:m7b5", "V:7b9", "i:m7", "V:7b9"),
)
BLUES = (
    "I:7",
    "IV:7",
    "I:7",
    "v:m7 I:7",
    "IV:7",
    "#iv:dim7",
    "I:7",
    "VI:7b9",
    "ii:m7",
    "V:7",
    "I:7 VI:7",
    "ii:m7 V:7",
)
INTRO_MAJOR = ("I:maj7 vi:m7", "ii:m7 V:7")
INTRO_MINOR = ("i:m7 bVI:7", "ii:m7b5 V:7b9")

# 8th-note grid (steps_per_beat=2), eight steps a bar.
HEAD_RHYTHMS = (
    ((0, 1), (1, 1), (2, 1), (3, 2), (5, 1), (6, 2)),
    ((1, 1), (2, 1), (3, 1), (4, 3), (7, 1)),
    ((0, 2), (2, 1), (3, 1), (4, 4)),
    ((0, 3), (3, 1), (4, 1), (5, 1), (6, 2)),
    ((0, 1), (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 2)),
    ((2, 1), (3, 1), (4, 2), (6, 1), (7, 1)),
)
BALLAD_RHYTHMS = (
    ((0, 3), (3, 1), (4, 4)),
    ((0, 2), (2, 2), (4, 4)),
    ((1, 1), (2, 2), (4, 3), (7, 1)),
    ((0, 4), (4, 2), (6, 2)),
)
COMP_RHYTHMS = (((0, 1), (3, 1)), ((0, 2),), ((3, 2),), ((1, 1), (4, 1)), ((0, 1), (5, 1)))
HALF_BAR_COMP = (((0, 1),), ((1, 2),), ((0, 2),))

SWING_RIDE = pattern(steps=8, ride="x.xxx.xx", pedal="..x...x.", kick="f.f.f.f.")
BRUSHES = pattern(steps=8, brush="x.x.x.x.", snare="..o...o.", pedal="..x...x.", kick="g...g...")


class JazzStyle:
    genre = "jazz"
    beats_per_bar = 4
    release_s = 1.6
    phrase_bars = 8
    default_moods = ("happy", "calm", "romantic", "energetic", "sad")
    modes = ("major", "minor", "dorian", "mixolydian")
    keys = (5, 10, 3, 0, 7, 8, 2)  # F, Bb, Eb, C, G, Ab, D: the keys horn players call

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        if requested is not None:
            return requested
        if mood.name in BALLAD_MOODS:
            return "ballad"
        return "bebop" if mood.name == "energetic" else "swing"

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]:
        if variant == "ballad":
            return (60.0, 80.0)
        if variant == "bebop":
            return (160.0, 190.0)
        return (110.0, 180.0)

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band:
        ballad = variant == "ballad"
        lead = rng.choice((66, 66, 56, 65) if not ballad else (66, 65, 59, 0))
        kit = 40 if ballad else 32
        return Band(lead=lead, chords=0 if lead != 0 else 26, bass=32, drums=kit)

    def sections(
        self, plan: TimePlan, variant: str | None, rng: random.Random
    ) -> tuple[Section, ...]:
        n = plan.body_bars
        intro = 0 if n < 10 else (2 if n < 40 else 4)
        if rng.random() < 0.3 and n >= 14:
            return arrange_sections(n, 12, ("blues", "blues", "solo", "blues"), intro, 0)
        labels = ("A", "A", "B", "A", "solo", "solo", "solo", "solo", "A", "A", "B", "A")
        return arrange_sections(n, 8, labels, intro, 0)

    def write(self, ctx: PieceContext) -> Written:
        plan, band, mood = ctx.plan, ctx.band, ctx.mood
        bpb = plan.beats_per_bar
        minor = is_minor(ctx.mode)
        ballad = ctx.variant == "ballad"
        rng = ctx.rng("harmony")
        tune_a = rng.choice(MINOR_A if minor else MAJOR_A)
        tune_b = rng.choice(MINOR_B if minor else MAJOR_B)
        solo_form = tune_a[:4] + tune_b[4:]
        body: list[ChordSpan] = []
        for section in ctx.sections[:-1]:
            if section.name == "intro":
                source: tuple[str, ...] = INTRO_MINOR if minor else INTRO_MAJOR
                bars = [source[i % len(source)] for i in range(section.bars)]
            else:
                source = {"A": tune_a, "B": tune_b, "blues": BLUES, "solo": solo_form}[section.name]
                if section.name == "solo" and any(s.name == "blues" for s in ctx.sections):
                    source = BLUES
                bars = [source[i % len(source)] for i in range(section.bars)]
            body += bar_spans(bars, ctx.tonic, section.start_bar, bpb)
        body = [_tritone_sub(span, rng) for span in body]
        cadence = ("ii:m7b5 V:7b9",) if minor else ("ii:m7 V:7",)
        final = "i:m6" if minor else rng.choice(("I:6", "I:maj7", "I:69"))
        chords = harmony_with_ending(body, plan, ctx.tonic, cadence, final)
        chord_at = ChordTimeline(chords)

        tempo = plan.tempo_bpm
        swing = 0.667 if ballad else round(max(0.6, min(0.667, 0.667 - (tempo - 120) * 0.0009)), 3)
        feel = Feel(
            swing=swing, steps_per_beat=2, timing_sd_ms=5.0, lay_back_ms=6.0, velocity_sd=5.0
        )
        pans = pan_positions(list(Role))
        reverb = 0.22 + mood.reverb
        tracks: list[Track] = []
        if band.chords is not None:
            tracks.append(
                self._comping(ctx, chords, feel, band.chords, pans[Role.CHORDS], reverb, ballad)
            )
        if band.bass is not None:
            tracks.append(self._walking_bass(ctx, chords, feel, band.bass))
        if band.drums is not None:
            tracks.append(self._drums(ctx, feel, band.drums, ballad))
        if band.lead is not None:
            tracks.append(
                self._head(ctx, chord_at, feel, band.lead, pans[Role.LEAD], reverb, ballad)
            )
        return Written(chords=chords, tracks=tuple(tracks), swing=swing)

    def _comping(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        feel: Feel,
        program: int,
        pan: float,
        reverb: float,
        ballad: bool,
    ) -> Track:
        rng = ctx.rng("comping")
        voicings = voice_lead([span.chord for span in chords], "rootless", 48, 70)
        body = chords[:-1]
        rhythms: list[tuple[tuple[int, int], ...]] = []
        for span in body:
            if ballad:
                rhythms.append(((0, round(span.duration * 2)),))
            elif span.duration >= 4:
                rhythms.append(rng.choice(COMP_RHYTHMS))
            else:
                rhythms.append(rng.choice(HALF_BAR_COMP))
        velocity = (58 if ballad else 66) * ctx.mood.dynamics
        notes = comp_track(
            body, voicings[:-1], rhythms, feel, 2, velocity, rng, roll_beats=0.04 if ballad else 0.0
        )
        last = chords[-1]
        root = nearest_pitch(48, (last.chord.root,), 40, 55)
        notes += held_chord(
            (root, *voicings[-1]), last.start, last.duration, velocity, rng, roll_beats=0.08
        )
        notes = [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in notes]
        name = "Piano" if program == 0 else "Guitar"
        return Track(
            name,
            Role.CHORDS,
            program,
            pan=pan,
            volume=0.72,
            effects=Effects(reverb=reverb),
            notes=tuple(fit_range(notes, program)),
        )

    def _walking_bass(
        self, ctx: PieceContext, chords: tuple[ChordSpan, ...], feel: Feel, program: int
    ) -> Track:
        """Quarter notes: the root on each chord change, chord tones on strong beats, a chromatic
        or diatonic approach into the next chord's root on the last beat before it."""
        rng = ctx.rng("bass")
        low, high = 28, 52
        scale = scale_pitch_classes(ctx.tonic, ctx.mode)
        body, last = chords[:-1], chords[-1]
        notes: list[Note] = []
        pitch = nearest_pitch(38, (body[0].chord.root,), low, high) if body else 40
        velocity = 86 * ctx.mood.dynamics
        for index, span in enumerate(body):
            next_chord = body[index + 1].chord if index + 1 < len(body) else last.chord
            beats = round(span.duration)
            for beat in range(beats):
                start = span.start + beat
                if beat == 0:
                    pitch = nearest_pitch(pitch, (span.chord.root,), low, high)
                elif beat == beats - 1:
                    target = nearest_pitch(pitch, (next_chord.root,), low, high)
                    choice = rng.random()
                    if choice < 0.55:
                        pitch = target + rng.choice((-1, 1))
                    elif choice < 0.8:
                        pitch = nearest_pitch(target + 7, ((next_chord.root + 7) % 12,), low, high)
                    else:
                        candidates = [
                            p
                            for p in range(target - 2, target + 3)
                            if p % 12 in scale and p != target
                        ]
                        pitch = rng.choice(candidates) if candidates else target - 1
                elif beat == 2:
                    pitch = nearest_pitch(
                        pitch + rng.choice((-5, -3, 3, 5)), chord_core(span.chord), low, high
                    )
                else:
                    tones = chord_pitch_classes(span.chord) + scale
                    step = rng.choice((-2, -1, 1, 2, 3, 4))
                    pitch = nearest_pitch(pitch + step, tones, low, high)
                pitch = max(low, min(high, pitch))
                accent = 1.05 if beat % 2 == 0 else 0.95
                notes.append(Note(start, 0.9, pitch, clamp_velocity(velocity * accent)))
        root = nearest_pitch(pitch, (last.chord.root,), low, high)
        notes.append(Note(last.start, last.duration, root, clamp_velocity(velocity)))
        notes = [
            humanise(n, Feel(timing_sd_ms=4.0, velocity_sd=4.0), rng, ctx.plan.tempo_bpm)
            for n in notes
        ]
        return Track(
            "Upright bass",
            Role.BASS,
            program,
            volume=0.9,
            effects=Effects(reverb=0.1),
            notes=tuple(notes),
        )

    def _drums(self, ctx: PieceContext, feel: Feel, kit: int, ballad: bool) -> Track:
        rng = ctx.rng("drums")
        bpb = ctx.plan.beats_per_bar
        groove = BRUSHES if ballad else SWING_RIDE
        scale = ctx.mood.dynamics * (0.8 if ballad else 1.0)
        notes: list[Note] = []
        for section in ctx.sections[:-1]:
            for offset in range(section.bars):
                bar_start = float((section.start_bar + offset) * bpb)
                keep = frozenset({RIDE, 44}) if section.name == "intro" and not ballad else None
                bar = play_pattern(
                    groove, bar_start, bpb, feel, rng, ctx.plan.tempo_bpm, scale, keep=keep
                )
                if not ballad and section.name != "intro":
                    # Snare comping: a few soft swung off-beat chatters, never on every bar.
                    for step in (3, 5, 7):
                        if rng.random() < 0.18:
                            onset = bar_start + grid_time(step, 2, feel.swing)
                            bar.append(
                                Note(onset, 0.2, SNARE, clamp_velocity(rng.randint(34, 52) * scale))
                            )
                if offset == section.bars - 1 and not ballad and section.bars >= 4:
                    bar = [n for n in bar if n.start < bar_start + 2]
                    bar += _fill(bar_start, feel, rng, scale)
                if offset == 0 and section.name not in ("intro",) and section.start_bar > 0:
                    bar.append(Note(bar_start, 1.0, CRASH, clamp_velocity(70 * scale)))
                    bar.append(Note(bar_start, 0.5, KICK, clamp_velocity(64 * scale)))
                notes += bar
        final = ctx.plan.final_start
        notes.append(Note(final, 2.0, CRASH if not ballad else RIDE, clamp_velocity(80 * scale)))
        notes.append(Note(final, 0.5, KICK, clamp_velocity(72 * scale)))
        return Track(
            "Drums",
            Role.DRUMS,
            kit,
            is_drum=True,
            volume=0.75,
            effects=Effects(reverb=0.2),
            notes=tuple(sorted(notes)),
        )

    def _head(
        self,
        ctx: PieceContext,
        chord_at: ChordTimeline,
        feel: Feel,
        program: int,
        pan: float,
        reverb: float,
        ballad: bool,
    ) -> Track:
        rng = ctx.rng("melody")
        low, high = playable_range(program)
        # Sit above the comping: a horn's singing middle, a keyboard's right hand.
        centre = (72 if program in (0, 4, 26) else max(66, min(76, low + 22))) + ctx.mood.register
        low, high = max(low, centre - 12), min(high, centre + 10)
        scale = scale_pitch_classes(ctx.tonic, ctx.mode)
        velocity = round((78 if ballad else 90) * ctx.mood.dynamics)
        voice = Voice(low, high, scale, 2, velocity, legato=0.95)
        bank = BALLAD_RHYTHMS if ballad else HEAD_RHYTHMS
        motif = make_motif(rng, bank, leap_chance=0.3)
        answer = make_motif(rng, bank, leap_chance=0.3)
        bridge = make_motif(rng, bank, leap_chance=0.35)
        solo_bank = HEAD_RHYTHMS[3:] if not ballad else BALLAD_RHYTHMS
        notes: list[Note] = []
        anchor = nearest_pitch(centre, (ctx.tonic,), low, high)
        pitch = anchor
        for section in ctx.sections[:-1]:
            if section.name == "intro":
                continue
            if section.name == "solo":
                lick = make_motif(rng, solo_bank, leap_chance=0.3)
                written, pitch = phrase(
                    lick,
                    make_motif(rng, solo_bank),
                    section,
                    ctx.plan,
                    pitch,
                    voice,
                    feel,
                    chord_at,
                    rng,
                    "MAMS",
                    0.95,
                )
            elif section.name == "B":
                written, pitch = phrase(
                    bridge,
                    answer,
                    section,
                    ctx.plan,
                    anchor + 4,
                    voice,
                    feel,
                    chord_at,
                    rng,
                    "MSAC",
                    1.0,
                )
            else:
                written, pitch = phrase(
                    motif,
                    answer,
                    section,
                    ctx.plan,
                    anchor,
                    voice,
                    feel,
                    chord_at,
                    rng,
                    "MAsFMAFC",
                    1.0,
                )
            notes += approach_tones(written, rng, 0.35, low, high)
        notes = close_on_tonic(notes, chord_at.spans[-1], ctx.tonic, low, high, velocity * 0.9)
        notes = [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in notes]
        names = {66: "Tenor sax", 65: "Alto sax", 56: "Trumpet", 59: "Muted trumpet", 0: "Piano"}
        return Track(
            names.get(program, "Lead"),
            Role.LEAD,
            program,
            pan=pan,
            volume=0.82,
            effects=Effects(reverb=reverb + 0.05),
            notes=tuple(fit_range(notes, program)),
        )


def _tritone_sub(span: ChordSpan, rng: random.Random) -> ChordSpan:
    """Now and then play a dominant a tritone away (bII7 for V7): same guide tones, chromatic bass."""
    chord = span.chord
    if chord.quality == "7" and rng.random() < 0.15:
        from generators.score import Chord

        return ChordSpan(span.start, span.duration, Chord((chord.root + 6) % 12, "7"))
    return span


def _fill(bar_start: float, feel: Feel, rng: random.Random, scale: float) -> list[Note]:
    """A short fill on beats 3–4 at a phrase end: snare triplet feel into the toms."""
    notes = []
    choices = (
        (SNARE, SNARE, MID_TOM, LOW_TOM),
        (SNARE, MID_TOM, SNARE, LOW_TOM),
        (SNARE, SNARE, SNARE, MID_TOM),
    )
    for index, key in enumerate(rng.choice(choices)):
        onset = bar_start + 2 + grid_time(index, 2, feel.swing)
        notes.append(Note(onset, 0.25, key, clamp_velocity((60 + index * 8) * scale)))
    return notes
