"""Hip hop instrumentals: swung boom bap or half-time trap over a dark minor loop and an 808."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from generators.compose.arrangement import (
    Band,
    ChordTimeline,
    fit_range,
    pan_positions,
    playable_range,
)
from generators.compose.form import TimePlan, arrange_sections
from generators.compose.harmony import voice_lead
from generators.compose.melody import Voice, make_motif
from generators.compose.mood import MoodProfile, is_minor
from generators.compose.parts import (
    bar_spans,
    close_on_tonic,
    harmony_with_ending,
    lead_register,
    phrase,
)
from generators.compose.rhythm import (
    CLOSED_HAT,
    CRASH,
    KICK,
    OPEN_HAT,
    SNARE,
    DrumPattern,
    Feel,
    clamp_velocity,
    humanise,
    pattern,
    play_pattern,
)
from generators.compose.styles.base import PieceContext, Written
from generators.compose.theory import nearest_pitch, scale_pitch_classes
from generators.score import ChordSpan, Effects, Note, Role, Section, Track

BOOMBAP = "boombap"
TRAP = "trap"
TRAP_MOODS = frozenset({"energetic", "dark", "tense", "epic"})

# Dark minor loops of two to four chords; a two-chord loop holds each chord for two bars.
MINOR_LOOPS = (
    ("i:m7", "bVI:maj7"),
    ("i", "bVI", "iv", "V"),
    ("i", "iv", "bVI", "V"),
    ("i:m9", "iv:m7", "bVII", "bVI:maj7"),
    ("i", "iv"),
)
PHRYGIAN_LOOPS = (("i", "bII"), ("i", "bII", "bVII", "i"), ("i:m7", "bII:maj7", "i:m7", "bvii"))
DORIAN_LOOPS = (("i:m7", "IV:7"), ("i:m9", "ii:m7", "IV:9", "i:m9"))
MAJOR_LOOPS = (("I:maj7", "vi:m7"), ("IV:maj7", "iii:m7", "vi:m7", "I:maj7"), ("I:maj7", "IV:maj7"))

MOTIF_RHYTHMS = (
    ((0, 4), (6, 2), (8, 8)),
    ((0, 2), (3, 3), (8, 4)),
    ((0, 3), (3, 3), (6, 2), (12, 4)),
    ((4, 2), (6, 2), (8, 6)),
    ((0, 2), (2, 2), (4, 4), (10, 2), (12, 2)),
)

# Boom bap: heavy kick, snare on 2 and 4, hats with swung 16th ghosts (steps 3, 7, 11, 15).
BOOMBAP_VERSE = (
    pattern(kick="X......x..x.....", snare="....X.......X...", hat="x.ogx.o.x.ogx.o."),
    pattern(kick="X.x.......x..x..", snare="....X.......X...", hat="x.o.x.ogx.o.x.og"),
    pattern(kick="X......xX.......", snare="....X.......X..g", hat="x.ogx.ogx.ogx.og"),
)
BOOMBAP_HOOK = (
    pattern(kick="X..x...x..x..x..", snare="....X.......X...", hat="xgogxgoxxgogxgox"),
    pattern(kick="X.x....x..x.....", snare="....X..g....X...", hat="x.oxx.oxx.oxx.ox"),
)
# Trap: the kick is the 808; snare and clap together on beat 3 only (half time).
TRAP_KICKS = (
    pattern(kick="X......x..X....."),
    pattern(kick="X.....x...x..x.."),
    pattern(kick="X..x......X....x"),
    pattern(kick="X.......x.x....."),
)
TRAP_BACKBEAT = pattern(snare="........X.......", clap="........X.......")


@dataclass(frozen=True, slots=True)
class HatRoll:
    """Hi-hat notes per beat for a roll: 8 = 1/32, 6 = 1/16 triplets, 3 = 1/8 triplets."""

    per_beat: int
    beats: float


TRAP_ROLLS = (HatRoll(8, 0.5), HatRoll(6, 1.0), HatRoll(3, 1.0), HatRoll(8, 1.0), HatRoll(6, 0.5))


class HiphopStyle:
    genre = "hiphop"
    beats_per_bar = 4
    release_s = 2.0
    phrase_bars = 8
    default_moods = ("dark", "calm", "sad", "energetic", "tense")
    modes = ("minor", "dorian", "phrygian")  # a major key only when asked for
    keys = (0, 1, 2, 4, 5, 6, 7, 9, 11)

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        if requested in (BOOMBAP, TRAP):
            return requested
        return TRAP if mood.name in TRAP_MOODS else BOOMBAP

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]:
        return (130.0, 150.0) if variant == TRAP else (85.0, 95.0)

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band:
        if variant == TRAP:
            return Band(
                lead=rng.choice((14, 14, 0)),
                chords=None,
                bass=rng.choice((38, 39)),
                drums=25,  # the TR-808 kit
                pad=rng.choice((48, 52)),
            )
        lead = rng.choice((0, 14))
        return Band(
            lead=lead,
            chords=0 if lead != 0 else 48,
            bass=rng.choice((38, 39)),
            drums=rng.choice((0, 8)),
            pad=52 if lead != 0 else None,
        )

    def sections(
        self, plan: TimePlan, variant: str | None, rng: random.Random
    ) -> tuple[Section, ...]:
        n = plan.body_bars
        if n < 4:
            return ((Section("hook", 0, n),) if n else ()) + (Section("end", n, 1),)
        phrase_bars = 8 if n >= 20 else 4
        intro = 0 if n < 8 else (2 if n < 24 else 4)
        outro = 0 if n < 28 else 4
        return arrange_sections(n, phrase_bars, ("verse", "hook"), intro, outro)

    def write(self, ctx: PieceContext) -> Written:
        plan, band, mood = ctx.plan, ctx.band, ctx.mood
        bpb = plan.beats_per_bar
        trap = ctx.variant == TRAP
        minor = is_minor(ctx.mode)
        rng = ctx.rng("harmony")
        pool = {"phrygian": PHRYGIAN_LOOPS, "dorian": DORIAN_LOOPS}.get(
            ctx.mode, MINOR_LOOPS if minor else MAJOR_LOOPS
        )
        loop = rng.choice(pool)
        bars_per_chord = 2 if len(loop) == 2 else 1
        bar_chords = [chord for chord in loop for _ in range(bars_per_chord)]
        body: list[ChordSpan] = []
        for section in ctx.sections[:-1]:
            # Every section restarts the loop, so the hook lands on the loop's first chord.
            bars = [bar_chords[i % len(bar_chords)] for i in range(section.bars)]
            body += bar_spans(bars, ctx.tonic, section.start_bar, bpb)
        cadence = ("bVI V",) if minor else ("ii:m7 V:7",)
        if ctx.mode == "phrygian":
            cadence = ("bVII bII",)
        final = ("i:m7" if not trap else "i") if minor else "I:maj7"
        chords = harmony_with_ending(body, plan, ctx.tonic, cadence, final)
        chord_at = ChordTimeline(chords)

        if trap:
            feel = Feel(swing=0.5, steps_per_beat=4, timing_sd_ms=2.0, velocity_sd=4.0)
        else:
            swing = round(ctx.rng("feel").uniform(0.57, 0.62), 3)
            feel = Feel(swing, 4, timing_sd_ms=7.0, lay_back_ms=14.0, velocity_sd=6.0)
        kicks, dropouts, drum_notes = self._drum_notes(ctx, feel, trap)
        pans = pan_positions(list(Role))
        reverb = (0.22 if trap else 0.16) + mood.reverb
        tracks: list[Track] = []
        if band.chords is not None:
            tracks.append(self._keys(ctx, chords, feel, band.chords, pans[Role.CHORDS], reverb))
        if band.pad is not None:
            tracks.append(self._pad(ctx, chords, band.pad, pans[Role.PAD], reverb))
        if band.bass is not None:
            tracks.append(self._bass(ctx, chords, kicks, dropouts, band.bass, trap))
        if band.drums is not None:
            tracks.append(
                Track(
                    "808 drums" if trap else "Drums",
                    Role.DRUMS,
                    band.drums,
                    is_drum=True,
                    volume=0.86,
                    effects=Effects(reverb=0.1),
                    notes=tuple(sorted(drum_notes)),
                )
            )
        if band.lead is not None:
            tracks.append(self._lead(ctx, chord_at, feel, band.lead, pans[Role.LEAD], reverb))
        return Written(chords=chords, tracks=tuple(tracks), swing=feel.swing)

    # drums ---------------------------------------------------------------------------------------

    def _drum_notes(
        self, ctx: PieceContext, feel: Feel, trap: bool
    ) -> tuple[list[float], list[float], list[Note]]:
        """Kick onsets the 808 follows, the beats where drop-outs start, and the drum notes."""
        rng = ctx.rng("drums")
        bpb = ctx.plan.beats_per_bar
        tempo = ctx.plan.tempo_bpm
        scale = ctx.mood.dynamics
        busy = ctx.mood.density >= 1.0
        sections = ctx.sections[:-1]
        verse_kick: DrumPattern
        if trap:
            verse_kick, hook_kick = rng.sample(TRAP_KICKS, 2)
        else:
            verse_kick, hook_kick = rng.choice(BOOMBAP_VERSE), rng.choice(BOOMBAP_HOOK)
        notes: list[Note] = []
        dropouts: list[float] = []
        for index, section in enumerate(sections):
            following = sections[index + 1].name if index + 1 < len(sections) else "end"
            for offset in range(section.bars):
                bar_start = float((section.start_bar + offset) * bpb)
                if section.name == "intro":
                    # The loop plays alone; hats only creep in for the intro's last bar.
                    if offset == section.bars - 1:
                        hats_only = frozenset({CLOSED_HAT})
                        groove = TRAP_KICKS[0] if trap else verse_kick
                        notes += (
                            _hats(bar_start, 2, 0.6 * scale, rng, None)
                            if trap
                            else play_pattern(
                                groove,
                                bar_start,
                                bpb,
                                feel,
                                rng,
                                tempo,
                                0.7 * scale,
                                keep=hats_only,
                            )
                        )
                    continue
                groove = hook_kick if section.name == "hook" else verse_kick
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
                if trap:
                    bar += play_pattern(TRAP_BACKBEAT, bar_start, bpb, feel, rng, tempo, scale)
                    per_beat = 4 if section.name == "hook" or busy else 2
                    roll = rng.choice(TRAP_ROLLS) if offset % 2 == 1 or busy else None
                    bar += _hats(bar_start, per_beat, scale, rng, roll)
                    if offset % 4 == 3:
                        bar.append(Note(bar_start + 3.5, 0.5, OPEN_HAT, clamp_velocity(80 * scale)))
                if offset == 0 and section.name == "hook":
                    bar.append(Note(bar_start, 2.0, CRASH, clamp_velocity(92 * scale)))
                if offset == section.bars - 1 and following in ("hook", "outro"):
                    # Drop-out: everything but the hats stops for the last two beats.
                    cut = bar_start + 2.0 - 0.01
                    dropouts.append(bar_start + 2.0)
                    bar = [n for n in bar if n.start < cut or n.pitch in (CLOSED_HAT, OPEN_HAT)]
                if section.name == "outro" and offset >= section.bars // 2:
                    # The beat thins out under the outro's last bars: hats and snare only.
                    bar = [n for n in bar if n.pitch != KICK]
                notes += bar
        final = ctx.plan.final_start
        notes.append(Note(final, 1.0, KICK, clamp_velocity(110 * scale)))
        notes.append(Note(final, 2.0, CRASH, clamp_velocity(80 * scale)))
        kicks = sorted(n.start for n in notes if n.pitch == KICK)
        return kicks, dropouts, notes

    # pitched parts -------------------------------------------------------------------------------

    def _keys(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        feel: Feel,
        program: int,
        pan: float,
        reverb: float,
    ) -> Track:
        """The sampled-sounding chord loop: piano stabs on 1 and the "and" of 2, or held strings."""
        rng = ctx.rng("keys")
        bpb = ctx.plan.beats_per_bar
        voicings = voice_lead([s.chord for s in chords], "close", 52, 72)
        held = program != 0
        base = 66 * ctx.mood.dynamics
        notes: list[Note] = []
        for span, voicing in zip(chords, voicings, strict=True):
            section = _section_at(ctx.sections, span.start, bpb)
            hits = (
                ((0.0, span.duration),) if held or span is chords[-1] else ((0.0, 1.2), (1.5, 2.2))
            )
            for offset, length in hits:
                if offset >= span.duration:
                    continue
                level = 0.8 if section == "intro" else 1.0
                for pitch in voicing:
                    raw = Note(
                        span.start + offset,
                        min(length, span.duration - offset),
                        pitch,
                        clamp_velocity(base * level * (1.05 if offset == 0 else 0.9)),
                    )
                    notes.append(humanise(raw, feel, rng, ctx.plan.tempo_bpm))
        return Track(
            "Piano" if program == 0 else "Strings",
            Role.CHORDS,
            program,
            pan=pan,
            volume=0.7,
            effects=Effects(reverb=reverb),
            notes=tuple(fit_range(notes, program)),
        )

    def _pad(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        program: int,
        pan: float,
        reverb: float,
    ) -> Track:
        """Strings or choir: the hook's extra layer (and the intro's), silent under the verses."""
        rng = ctx.rng("pad")
        low, high = playable_range(program)
        voicings = voice_lead([s.chord for s in chords], "spread", max(low, 48), min(high, 74))
        base = 58 * ctx.mood.dynamics
        notes: list[Note] = []
        for span, voicing in zip(chords, voicings, strict=True):
            section = _section_at(ctx.sections, span.start, ctx.plan.beats_per_bar)
            if section == "verse" and ctx.variant != TRAP:
                continue
            level = 0.75 if section == "verse" else 1.0
            for pitch in voicing:
                velocity = clamp_velocity(base * level + rng.gauss(0, 2))
                notes.append(Note(span.start, span.duration, pitch, velocity))
        return Track(
            {48: "Strings", 52: "Choir"}.get(program, "Pad"),
            Role.PAD,
            program,
            pan=pan,
            volume=0.58,
            effects=Effects(reverb=reverb + 0.15),
            notes=tuple(fit_range(notes, program)),
        )

    def _bass(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        kicks: Sequence[float],
        dropouts: Sequence[float],
        program: int,
        trap: bool,
    ) -> Track:
        """The 808: a low root on every kick, held to the next one; trap slides into new notes."""
        rng = ctx.rng("bass")
        chord_at = ChordTimeline(chords)
        low = max(36, playable_range(program)[0])
        high = low + 12
        base = 100 * ctx.mood.dynamics
        final = chords[-1]
        body_kicks = [k for k in kicks if k < final.start - 1e-6]
        notes: list[Note] = []
        previous: int | None = None
        last_onset = 0.0
        for index, onset in enumerate(body_kicks):
            nxt = body_kicks[index + 1] if index + 1 < len(body_kicks) else final.start
            span = chord_at.span_at(onset)
            # Don't ring across a chord change or a drop-out: stop where the chord or the gap starts.
            gap = min((d for d in dropouts if d > onset), default=nxt)
            end = min(nxt, gap, span.start + span.duration, onset + (4.0 if trap else 1.5))
            pitch = nearest_pitch(previous or low + 5, (span.chord.root,), low, high)
            if trap and onset % 4 >= 2 and pitch + 12 <= 55 and rng.random() < 0.2:
                pitch += 12  # the 808 jumps the octave on the back half now and then
            velocity = clamp_velocity(base * (1.0 if onset % 4 == 0 else 0.9) + rng.gauss(0, 3))
            after_gap = any(last_onset < d <= onset for d in dropouts)
            if trap and previous is not None and previous != pitch and not after_gap:
                # A slide: a grace note from the old pitch's side, overlapping into the target.
                direction = 1 if previous > pitch else -1
                grace = pitch + 2 * direction
                if not low <= grace <= 55:
                    grace = pitch - 2 * direction
                if onset - 0.125 >= 0 and rng.random() < 0.6:
                    notes.append(Note(onset - 0.125, 0.16, grace, clamp_velocity(velocity * 0.8)))
            duration = max(0.2, end - onset) * (0.98 if trap else 0.85)
            notes.append(Note(onset, duration, pitch, velocity))
            previous, last_onset = pitch, onset
        root = nearest_pitch(previous or low + 5, (final.chord.root,), low, high)
        notes.append(Note(final.start, final.duration, root, clamp_velocity(base)))
        # A grace note must not collide with the note still ringing under it.
        notes = _trim_overlaps(sorted(notes))
        return Track(
            "808 bass",
            Role.BASS,
            program,
            volume=0.9,
            effects=Effects(reverb=0.0),
            notes=tuple(fit_range(notes, program)),
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
        """A sparse motif looped every two bars: stated in the intro, answered in the hook."""
        rng = ctx.rng("melody")
        centre = (69 if program == 14 else 72) + ctx.mood.register
        low, high = lead_register(program, centre, 10, 10)
        scale = scale_pitch_classes(ctx.tonic, ctx.mode)
        velocity = round(80 * ctx.mood.dynamics)
        voice = Voice(low, high, scale, 4, velocity, legato=0.8)
        motif = make_motif(rng, MOTIF_RHYTHMS, leap_chance=0.3)
        answer = make_motif(rng, MOTIF_RHYTHMS, leap_chance=0.3)
        anchor = nearest_pitch(centre, (ctx.tonic, (ctx.tonic + 7) % 12), low, high)
        ladder = [p for p in range(low, high + 1) if p % 12 in scale]
        notes: list[Note] = []
        for section in ctx.sections[:-1]:
            if section.name == "outro":
                continue
            if section.name == "hook":
                start = ladder[min(len(ladder) - 1, ladder.index(anchor) + 2)]
                shape, level = "MAMA", 1.0
            else:
                # Verses leave room for the rapper: the motif, then a bar of rest.
                start, shape, level = anchor, "MRMR", 0.85
            written, _ = phrase(
                motif, answer, section, ctx.plan, start, voice, feel, chord_at, rng, shape, level
            )
            notes += written
        notes = close_on_tonic(notes, chord_at.spans[-1], ctx.tonic, low, high, velocity)
        notes = [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in notes]
        return Track(
            {14: "Bells", 0: "Piano"}.get(program, "Lead"),
            Role.LEAD,
            program,
            pan=pan,
            volume=0.72,
            effects=Effects(reverb=reverb + 0.1),
            notes=tuple(fit_range(notes, program)),
        )


# helpers -------------------------------------------------------------------------------------------


def _hats(
    bar_start: float, per_beat: int, scale: float, rng: random.Random, roll: HatRoll | None
) -> list[Note]:
    """Trap hats: a straight 8th or 16th line, with one roll replacing the end of beat 2 or 4."""
    notes: list[Note] = []
    roll_start = -1.0
    if roll is not None:
        beat = rng.choice((1, 3))
        roll_start = bar_start + beat + 1.0 - roll.beats
    for step in range(4 * per_beat):
        onset = bar_start + step / per_beat
        if roll is not None and roll_start - 1e-9 <= onset < roll_start + roll.beats - 1e-9:
            continue
        velocity = (88 if step % per_beat == 0 else 68) * scale + rng.gauss(0, 4)
        notes.append(Note(onset, 0.5 / per_beat, CLOSED_HAT, clamp_velocity(velocity)))
    if roll is not None:
        count = round(roll.beats * roll.per_beat)
        for i in range(count):
            onset = roll_start + i / roll.per_beat
            velocity = (55 + 40 * i / max(1, count - 1)) * scale
            notes.append(Note(onset, 0.5 / roll.per_beat, CLOSED_HAT, clamp_velocity(velocity)))
    return notes


def _trim_overlaps(notes: Sequence[Note]) -> list[Note]:
    """End a held 808 note where the next one starts, keeping a short legato overlap for slides."""
    out: list[Note] = []
    for index, note in enumerate(notes):
        nxt = notes[index + 1] if index + 1 < len(notes) else None
        if nxt is not None and note.end > nxt.start + 0.04:
            note = Note(
                note.start, max(0.05, nxt.start + 0.04 - note.start), note.pitch, note.velocity
            )
        out.append(note)
    return out


def _section_at(sections: Sequence[Section], beat: float, beats_per_bar: int) -> str:
    bar = int(beat // beats_per_bar + 1e-9)
    for section in sections:
        if section.start_bar <= bar < section.start_bar + section.bars:
            return section.name
    return sections[-1].name
