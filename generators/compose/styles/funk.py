"""Funk: 16th-note syncopation, ghost-noted backbeat, slap bass riffs, guitar chops, horn calls."""

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
from generators.compose.form import TimePlan, arrange_sections
from generators.compose.harmony import voice_lead
from generators.compose.melody import Motif, Rhythm, Voice, make_motif
from generators.compose.mood import MoodProfile, is_minor
from generators.compose.parts import bar_spans, harmony_with_ending, lead_register, phrase
from generators.compose.rhythm import (
    CRASH,
    KICK,
    SNARE,
    Feel,
    clamp_velocity,
    grid_time,
    humanise,
    pattern,
    play_pattern,
)
from generators.compose.styles.base import PieceContext, Written
from generators.compose.theory import chord_core, nearest_pitch, scale_pitch_classes
from generators.score import ChordSpan, Effects, Note, Role, Section, Track

# Four-bar vamps, one string a bar. Dominant vamps sit on I7/I9; minor ones on i-7 (dorian IV9).
DOMINANT_A = (
    ("I:9", "I:9", "I:9", "I:9"),
    ("I:7", "I:7", "IV:9", "I:7"),
    ("I:9", "I:9", "bVII:9", "IV:9"),
)
DOMINANT_B = (("IV:9", "IV:9", "I:9", "I:9"), ("ii:m7", "V:7sus4", "ii:m7", "V:7#9"))
MINOR_A = (("i:m7", "i:m7", "i:m7", "IV:9"), ("i:m9", "IV:9", "i:m9", "IV:9"))
MINOR_B = (("iv:m9", "iv:m9", "bVII:9", "bVII:9"), ("bVI:maj7", "bVI:maj7", "V:7#9", "V:7#9"))

# Drum grooves: 16th hats, syncopated kick, snare on 2 and 4 with ghosts (g) and drags (f).
GROOVES_A = (
    pattern(kick="X.........X..x..", snare="....X..g.f..X..g", hat="x-o-x-o-x-o-x-o-"),
    pattern(kick="X..x......X.....", snare="....X.g..g..X.gf", hat="x-o-x-ooxo-ox-o-"),
    pattern(kick="X.X.......X..X..", snare="..f.X..g.g.gX..g", hat="x-o-x-o-x-o-x-oo"),
)
GROOVES_B = (
    pattern(
        kick="X.....x...X..x..",
        snare="....X..g.g..X...",
        hat="x-o-x-o-x-o-x-..",
        open="..............x.",
    ),
    pattern(
        kick="X..x..x...X.....",
        snare="..g.X..g....X.g.",
        hat="x-o-x-o-x-o-x-..",
        open="..............x.",
    ),
)
BREAK = pattern(kick="X.X.......X..X.x", snare="....X..g.g.gX..g", hat="x.o.x.o.x.o.x.o.")

# One-bar slap riffs on the 16th grid: (step, length, tone). R root, O octave pop, G dead note,
# 5 fifth, 7 flat seventh, A chromatic approach into the next bar's root.
BASS_RIFFS = (
    ((0, 2, "R"), (3, 1, "G"), (4, 1, "O"), (6, 1, "R"), (7, 1, "G"), (8, 1, "R"), (10, 1, "O"),
     (11, 1, "G"), (12, 2, "7"), (14, 1, "O"), (15, 1, "A")),
    ((0, 1, "R"), (1, 1, "G"), (2, 1, "O"), (3, 1, "R"), (6, 2, "R"), (8, 1, "5"), (9, 1, "G"),
     (10, 1, "O"), (13, 1, "R"), (14, 1, "7"), (15, 1, "A")),
    ((0, 3, "R"), (3, 1, "O"), (5, 1, "G"), (6, 1, "R"), (7, 1, "O"), (10, 2, "5"), (12, 1, "G"),
     (13, 1, "R"), (14, 1, "O"), (15, 1, "A")),
)  # fmt: skip
TONE_OFFSETS = {"R": 0, "G": 0, "O": 12, "5": 7, "7": 10}

# Muted-guitar chop patterns, one character a 16th: X accent, x chop, . rest.
CHOPS = ("x.Xx.xX.x.Xx.xX.", ".xX..xXx.xX..xX.", "xxX.xxX.xxX.xxXx", ".X.x.X.x.X.x.Xxx")
CLAV_COMP = ("..X..x.X..X..x.x", "X..x..X..x.X.x..", ".x.X.x..X.x.X..x")

# Horn lines and clav answers: short, punchy, on the 16th grid.
CALL_RHYTHMS = (
    ((0, 2), (3, 1), (4, 2), (6, 1), (7, 3)),
    ((2, 1), (3, 1), (4, 2), (10, 2), (12, 3)),
    ((0, 1), (2, 2), (6, 1), (7, 1), (8, 4)),
    ((0, 3), (3, 3), (6, 2), (9, 1), (10, 2)),
)
ANSWER_RHYTHMS = (
    ((8, 1), (10, 1), (11, 1), (12, 2), (14, 2)),
    ((6, 1), (7, 1), (8, 2), (11, 1), (12, 3)),
    ((0, 1), (2, 1), (3, 1), (4, 2)),
)
STAB_STEPS = ((0, 3, 10), (0, 6, 14), (3, 10), (0, 7, 10, 14))

# A piece's own horn call is spoken in one-beat cells on the 16th grid, (offset, length) pairs,
# and closed by an ending on the fourth beat: a handful of fixed calls made every funk tune's
# lead one of a few lines, so the call (and its varied second statement) is written per seed.
CALL_CELLS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 2), (3, 1)),
    ((0, 1), (2, 2)),
    ((1, 1), (2, 2)),
    ((0, 3), (3, 1)),
    ((2, 1), (3, 1)),
    ((0, 1), (1, 1), (2, 2)),
    ((0, 3),),
    ((3, 1),),
    (),
)
CALL_ENDINGS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 3),),
    ((0, 1), (2, 2)),
    ((2, 2),),
    ((0, 1),),
    (),
)
# How a section's four bars use the call: M the call, A its second statement with another ending,
# S the call a step higher; R leaves the bar to the clavinet's answer.
CALL_SHAPES = ("MRMR", "MRAR", "MRAR", "MRSR")
# Off-beat 16ths a stab may land on after the downbeat; a bar's stabs are 2–4 of them.
STAB_OFFBEATS = (3, 6, 7, 10, 11, 14)


class FunkStyle:
    genre = "funk"
    beats_per_bar = 4
    release_s = 1.6
    phrase_bars = 4
    default_moods = ("energetic", "happy", "tense", "dark")
    modes = ("mixolydian", "dorian", "minor", "major")
    keys = (4, 9, 2, 7, 0, 5, 10)  # E, A, D, G: open-string funk keys, then the horn keys

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        return requested

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]:
        return (95.0, 115.0)

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band:
        return Band(
            lead=61,
            chords=28,
            bass=rng.choice((36, 37)),
            drums=rng.choice((0, 8, 16)),
            counter=7,
        )

    def sections(
        self, plan: TimePlan, variant: str | None, rng: random.Random
    ) -> tuple[Section, ...]:
        n = plan.body_bars
        if n < 4:
            return ((Section("A", 0, n),) if n else ()) + (Section("end", n, 1),)
        phrase_bars = 8 if n >= 40 else 4
        intro = 0 if n < 8 else (2 if n < 24 else 4)
        outro = 4 if n >= 40 else 0
        labels = ("A", "B", "A", "break", "A", "B", "A", "break")
        raw = arrange_sections(n, phrase_bars, labels, intro, outro)
        # A break is a short shock: four bars at most, the groove comes back after it.
        out: list[Section] = []
        for section in raw:
            if section.name == "break" and section.bars > 4:
                out.append(Section("break", section.start_bar, 4))
                out.append(Section("A", section.start_bar + 4, section.bars - 4))
            else:
                out.append(section)
        return tuple(out)

    def write(self, ctx: PieceContext) -> Written:
        plan, band, mood = ctx.plan, ctx.band, ctx.mood
        bpb = plan.beats_per_bar
        minor = is_minor(ctx.mode)
        rng = ctx.rng("harmony")
        vamp_a = rng.choice(MINOR_A if minor else DOMINANT_A)
        vamp_b = rng.choice(MINOR_B if minor else DOMINANT_B)
        body: list[ChordSpan] = []
        for section in ctx.sections[:-1]:
            vamp: tuple[str, ...] = vamp_b if section.name == "B" else vamp_a
            if section.name == "intro":
                vamp = (vamp_a[0],)  # the intro sits on the one chord
            bars = [vamp[i % len(vamp)] for i in range(section.bars)]
            body += bar_spans(bars, ctx.tonic, section.start_bar, bpb)
        cadence = ("iv:m7 V:7#9",) if minor else ("ii:m7 V:7#9",)
        chords = harmony_with_ending(body, plan, ctx.tonic, cadence, "i:m9" if minor else "I:9")
        chord_at = ChordTimeline(chords)

        swing = round(ctx.rng("feel").uniform(0.5, 0.52), 3)
        feel = Feel(swing, 4, timing_sd_ms=3.0, lay_back_ms=4.0, velocity_sd=5.0)
        pans = pan_positions(list(Role))
        reverb = 0.12 + mood.reverb
        tracks: list[Track] = []
        if band.chords is not None:
            tracks.append(self._guitar(ctx, chords, feel, band.chords, pans[Role.CHORDS], reverb))
        if band.counter is not None:
            tracks.append(self._clav(ctx, chords, chord_at, feel, band.counter, reverb))
        if band.bass is not None:
            tracks.append(self._bass(ctx, chords, feel, band.bass))
        if band.drums is not None:
            tracks.append(self._drums(ctx, feel, band.drums))
        if band.lead is not None:
            tracks.append(self._horns(ctx, chords, chord_at, feel, band.lead, pans, reverb))
        return Written(chords=chords, tracks=tuple(tracks), swing=swing)

    # parts ---------------------------------------------------------------------------------------

    def _drums(self, ctx: PieceContext, feel: Feel, kit: int) -> Track:
        rng = ctx.rng("drums")
        bpb = ctx.plan.beats_per_bar
        tempo = ctx.plan.tempo_bpm
        scale = ctx.mood.dynamics
        groove_a, groove_b = rng.choice(GROOVES_A), rng.choice(GROOVES_B)
        sections = ctx.sections[:-1]
        notes: list[Note] = []
        for index, section in enumerate(sections):
            groove = {"B": groove_b, "break": BREAK}.get(section.name, groove_a)
            last_section = index == len(sections) - 1
            for offset in range(section.bars):
                bar_start = float((section.start_bar + offset) * bpb)
                bar = play_pattern(
                    groove,
                    bar_start,
                    bpb,
                    feel,
                    rng,
                    tempo,
                    scale,
                    lay_back_keys=frozenset({SNARE}),
                )
                if ctx.mood.density < 0.9:
                    # Laid-back moods: 8th-note hats, keep the ghosts.
                    bar = [n for n in bar if n.pitch != 42 or _step(n.start - bar_start) % 2 == 0]
                if offset == section.bars - 1 and not last_section and section.bars >= 2:
                    bar = [n for n in bar if n.start < bar_start + 3.0 - 0.05]
                    bar += _fill(bar_start + 3.0, feel, rng, scale)
                if offset == 0 and section.start_bar > 0 and section.name != "break":
                    bar.append(Note(bar_start, 1.5, CRASH, clamp_velocity(92 * scale)))
                notes += bar
        final = ctx.plan.final_start
        notes.append(Note(final, 1.0, KICK, clamp_velocity(112 * scale)))
        notes.append(Note(final, 2.0, CRASH, clamp_velocity(100 * scale)))
        return Track(
            "Drums",
            Role.DRUMS,
            kit,
            is_drum=True,
            volume=0.82,
            effects=Effects(reverb=0.08),
            notes=tuple(sorted(notes)),
        )

    def _bass(
        self, ctx: PieceContext, chords: tuple[ChordSpan, ...], feel: Feel, program: int
    ) -> Track:
        """The riff, transposed to each bar's chord: octave pops, dead notes, a walk into the one."""
        rng = ctx.rng("bass")
        bpb = ctx.plan.beats_per_bar
        riff = rng.choice(BASS_RIFFS)
        low = max(36, playable_range(program)[0])
        base = 96 * ctx.mood.dynamics
        body, final = chords[:-1], chords[-1]
        notes: list[Note] = []
        for index, span in enumerate(body):
            section = _section_at(ctx.sections, span.start, bpb)
            if section == "intro" and span.start < ctx.sections[0].bars * bpb - bpb:
                continue  # the intro's drums and guitar come first; the bass enters for its last bar
            nxt = body[index + 1].chord if index + 1 < len(body) else final.chord
            root = nearest_pitch(low + 6, (span.chord.root,), low, low + 11)
            target = nearest_pitch(root, (nxt.root,), low, low + 11)
            steps = round(span.duration * 4)
            for step, length, tone in riff:
                if step >= steps or (tone == "A" and step < steps - 1):
                    continue
                approach = target - 1 if target - 1 >= low else target + 1
                pitch = approach if tone == "A" else root + TONE_OFFSETS[tone]
                ghost = tone == "G" or (tone == "R" and step % 4 and rng.random() < 0.2)
                onset = span.start + grid_time(step, 4, feel.swing)
                duration = 0.08 if ghost else max(0.1, length / 4 * 0.8)
                accent = 1.1 if step == 0 else (1.0 if tone == "O" else 0.9)
                velocity = 34 if ghost else base * accent
                raw = Note(onset, duration, pitch, clamp_velocity(velocity))
                notes.append(humanise(raw, feel, rng, ctx.plan.tempo_bpm))
        root = nearest_pitch(low + 6, (final.chord.root,), low, low + 11)
        notes.append(Note(final.start, final.duration, root, clamp_velocity(base * 1.1)))
        return Track(
            "Slap bass",
            Role.BASS,
            program,
            volume=0.86,
            effects=Effects(reverb=0.03),
            notes=tuple(fit_range(notes, program)),
        )

    def _guitar(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        feel: Feel,
        program: int,
        pan: float,
        reverb: float,
    ) -> Track:
        """Muted 16th chops on a small high voicing; silent in the break, dead strums as ghosts."""
        rng = ctx.rng("guitar")
        bpb = ctx.plan.beats_per_bar
        chop = rng.choice(CHOPS)
        voicings = voice_lead([s.chord for s in chords], "shell", 60, 76)
        base = 78 * ctx.mood.dynamics
        ghost_chance = min(0.9, 0.45 * ctx.mood.density)
        notes: list[Note] = []
        for span, voicing in zip(chords[:-1], voicings[:-1], strict=True):
            if _section_at(ctx.sections, span.start, bpb) == "break":
                continue
            for step in range(round(span.duration * 4)):
                char = chop[step % 16]
                if char == "." and rng.random() > ghost_chance:
                    continue
                level = {"X": 1.1, "x": 0.85, ".": 0.4}[char]
                onset = span.start + grid_time(step, 4, feel.swing)
                # A ghost strum is just the top note, choked: a percussive "chk".
                tones = voicing if char != "." else voicing[-1:]
                for pitch in tones:
                    raw = Note(onset, 0.1, pitch, clamp_velocity(base * level))
                    notes.append(humanise(raw, feel, rng, ctx.plan.tempo_bpm))
        final = chords[-1]
        for pitch in voicings[-1]:
            notes.append(Note(final.start, final.duration, pitch, clamp_velocity(base)))
        return Track(
            "Muted guitar",
            Role.CHORDS,
            program,
            pan=pan,
            volume=0.68,
            effects=Effects(reverb=reverb, chorus=0.15),
            notes=tuple(fit_range(notes, program)),
        )

    def _clav(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        chord_at: ChordTimeline,
        feel: Feel,
        program: int,
        reverb: float,
    ) -> Track:
        """Clavinet: answers the horns' calls in the A sections, comps in 16ths under the B stabs."""
        rng = ctx.rng("clav")
        bpb = ctx.plan.beats_per_bar
        low, high = 55, 74 + max(0, ctx.mood.register)
        scale = scale_pitch_classes(ctx.tonic, ctx.mode)
        voice = Voice(low, high, scale, 4, round(82 * ctx.mood.dynamics), legato=0.6)
        answer = make_motif(rng, ANSWER_RHYTHMS, leap_chance=0.2)
        comp = rng.choice(CLAV_COMP)
        voicings = voice_lead([s.chord for s in chords], "shell", 58, 72)
        anchor = nearest_pitch(64, (ctx.tonic,), low, high)
        notes: list[Note] = []
        for section in ctx.sections[:-1]:
            if section.name == "A":
                written, _ = phrase(
                    answer, answer, section, ctx.plan, anchor, voice, feel, chord_at, rng, "RMRM"
                )
                notes += written
            elif section.name == "B":
                for span, voicing in zip(chords, voicings, strict=True):
                    bar = int(span.start // bpb)
                    if not section.start_bar <= bar < section.start_bar + section.bars:
                        continue
                    for step in range(round(span.duration * 4)):
                        if comp[step % 16] == ".":
                            continue
                        level = 1.0 if comp[step % 16] == "X" else 0.8
                        onset = span.start + grid_time(step, 4, feel.swing)
                        for pitch in voicing:
                            raw = Note(onset, 0.12, pitch, clamp_velocity(70 * level))
                            notes.append(humanise(raw, feel, rng, ctx.plan.tempo_bpm))
        final = chords[-1]
        # Clavinet speaks in short, percussive notes: the answer never rings into the next call.
        notes = [replace(n, duration=min(n.duration, 0.4)) for n in notes]
        notes = [n for n in notes if n.end <= final.start + 1e-6]
        return Track(
            "Clavinet",
            Role.COUNTER,
            program,
            pan=0.4,
            volume=0.62,
            effects=Effects(reverb=reverb),
            notes=tuple(fit_range(notes, program)),
        )

    def _horns(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        chord_at: ChordTimeline,
        feel: Feel,
        program: int,
        pans: dict[Role, float],
        reverb: float,
    ) -> Track:
        """The horn section: the riff's call in A (clav answers), chord stabs in B, a final hit."""
        rng = ctx.rng("horns")
        bpb = ctx.plan.beats_per_bar
        centre = 70 + ctx.mood.register
        low, high = lead_register(program, centre, 10, 10)
        scale = scale_pitch_classes(ctx.tonic, ctx.mode)
        velocity = round(96 * ctx.mood.dynamics)
        voice = Voice(low, high, scale, 4, velocity, legato=0.75)
        # The stock calls stay in the bank, but most pieces speak a call of their own.
        rhythms = (*CALL_RHYTHMS, *(_call_rhythm(rng) for _ in range(8)))
        call = make_motif(rng, rhythms, leap_chance=0.3)
        second = _varied_ending(call, rng)
        shape = rng.choice(CALL_SHAPES)
        # Stabs make a two-bar figure: the second bar answers the first with other hits, its
        # last hit lifted to the next inversion so the section's top line moves.
        bank = (*STAB_STEPS, *(_stab_steps(rng) for _ in range(4)))
        stab_figure = (rng.choice(bank), rng.choice(bank))
        stab_voicings = voice_lead([s.chord for s in chords], "close", low, high)
        anchor = nearest_pitch(centre, (ctx.tonic,), low, high)
        notes: list[Note] = []
        stab_notes: list[Note] = []
        pitch = anchor
        for section in ctx.sections[:-1]:
            if section.name == "A":
                written, pitch = phrase(
                    call, second, section, ctx.plan, anchor, voice, feel, chord_at, rng, shape
                )
                notes += [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in written]
            elif section.name == "B":
                for span, voicing in zip(chords, stab_voicings, strict=True):
                    bar = int(span.start // bpb)
                    if not section.start_bar <= bar < section.start_bar + section.bars:
                        continue
                    answering = (bar - section.start_bar) % 2 == 1
                    stabs = [s for s in stab_figure[answering] if s < round(span.duration * 4)]
                    for step in stabs:
                        onset = span.start + grid_time(step, 4, feel.swing)
                        accent = 1.1 if step == 0 else 0.95
                        tones = voicing[-3:]
                        if answering and step == stabs[-1] and len(stabs) > 1:
                            tones = _lifted(tones, high)
                        # A section hits together: one onset for the whole stab.
                        for tone in tones:
                            stab = Note(onset, 0.2, tone, clamp_velocity(velocity * accent))
                            stab_notes.append(stab)
        final = chords[-1]
        notes = [n for n in notes + stab_notes if n.end <= final.start + 1e-6]
        # The final hit: the tonic on top, chord tones under it, held to the end.
        top = nearest_pitch(pitch, (ctx.tonic,), low + 7, high)
        under = [
            nearest_pitch(
                top - 4, [pc for pc in chord_core(final.chord) if pc != ctx.tonic], low, top - 1
            )
        ]
        for tone in (*under, top):
            notes.append(Note(final.start, final.duration, tone, clamp_velocity(velocity)))
        return Track(
            "Horn section" if program == 61 else "Horns",
            Role.LEAD,
            program,
            pan=pans[Role.LEAD],
            volume=0.76,
            effects=Effects(reverb=reverb + 0.05),
            notes=tuple(fit_range(notes, program)),
        )


# helpers -------------------------------------------------------------------------------------------


def _fill(start: float, feel: Feel, rng: random.Random, scale: float) -> list[Note]:
    """A one-beat 16th snare fill with a kick on the "a", into the next section's downbeat."""
    notes = []
    for step in range(4):
        key = KICK if step == 3 and rng.random() < 0.5 else SNARE
        onset = start + grid_time(step, 4, feel.swing)
        # The first hit is still the backbeat on 4; the 16ths after it climb into the one.
        velocity = 104 if step == 0 else 66 + 12 * step
        notes.append(Note(onset, 0.2, key, clamp_velocity(velocity * scale)))
    return notes


def _call_rhythm(rng: random.Random) -> Rhythm:
    """A horn call of four to seven notes: three beats of 16th cells, then an ending on beat 4."""
    while True:
        slots: list[tuple[int, int]] = []
        for beat in range(3):
            slots += [(4 * beat + offset, length) for offset, length in rng.choice(CALL_CELLS)]
        slots += [(12 + offset, length) for offset, length in rng.choice(CALL_ENDINGS)]
        if slots and slots[0][0] < 4 and 4 <= len(slots) <= 7:
            return tuple(slots)


def _varied_ending(call: Motif, rng: random.Random) -> Motif:
    """The call again with its tail bent: the last one or two moves go somewhere new."""
    tail = min(2, len(call.steps) - 1)
    steps = list(call.steps)
    for k in range(len(steps) - tail, len(steps)):
        steps[k] = rng.choice([move for move in (-3, -2, -1, 1, 2, 3) if move != steps[k]])
    return Motif(call.rhythm, tuple(steps))


def _stab_steps(rng: random.Random) -> tuple[int, ...]:
    """Where a bar's horn stabs land: on the one, then one to three off-beat 16ths."""
    count = rng.choice((1, 2, 2, 3))
    return (0, *sorted(rng.sample(STAB_OFFBEATS, count)))


def _lifted(voicing: Sequence[int], high: int) -> tuple[int, ...]:
    """The next inversion up (the bottom tone an octave higher), or down if that is too high."""
    if voicing[0] + 12 <= high:
        return (*voicing[1:], voicing[0] + 12)
    return (voicing[-1] - 12, *voicing[:-1])


def _step(beat_offset: float) -> int:
    return round(beat_offset * 4)


def _section_at(sections: Sequence[Section], beat: float, beats_per_bar: int) -> str:
    bar = int(beat // beats_per_bar + 1e-9)
    for section in sections:
        if section.start_bar <= bar < section.start_bar + section.bars:
            return section.name
    return sections[-1].name
