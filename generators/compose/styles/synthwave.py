"""Synthwave: gated snare on 2 and 4, octave-pulsing 8th synth bass, poly-synth pads and a
nostalgic saw lead over minor i–VI–III–VII loops."""

from __future__ import annotations

import random

from generators.compose.arrangement import Band, ChordTimeline, fit_range, playable_range
from generators.compose.form import TimePlan, arrange_sections, section_at
from generators.compose.harmony import voice_lead
from generators.compose.melody import Voice, make_motif
from generators.compose.mood import MoodProfile, is_minor
from generators.compose.parts import (
    bar_spans,
    closing_tonic,
    harmony_with_ending,
    held_chord,
    loop_to,
    phrase,
    pickup_run,
)
from generators.compose.rhythm import (
    CLAP,
    CRASH,
    HIGH_TOM,
    KICK,
    LOW_TOM,
    MID_TOM,
    SNARE,
    Feel,
    clamp_velocity,
    humanise,
    pattern,
    play_pattern,
)
from generators.compose.styles.base import PieceContext, Written
from generators.compose.theory import chord_pitch_classes, nearest_pitch, scale_pitch_classes
from generators.score import ChordSpan, Effects, Note, Role, Section, Track

MINOR_VERSES = (
    ("i:min", "bVI:maj", "bIII:maj", "bVII:maj"),
    ("i:madd9", "bVI:maj7", "bVII:maj", "bVII:maj"),
    ("i:min", "bVI:maj", "bVII:maj", "i:min"),
)
MINOR_CHORUSES = (
    ("bVI:maj7", "bVII:maj", "i:min", "i:min"),
    ("i:min", "bVI:maj", "bIII:maj", "bVII:maj"),
    ("bVI:maj", "bIII:maj", "bVII:maj", "i:madd9"),
)
MAJOR_VERSES = (("vi:min", "IV:maj", "I:maj", "V:maj"), ("I:maj", "V:maj", "vi:min", "IV:maj"))
MAJOR_CHORUSES = (("IV:maj7", "V:maj", "vi:min", "I:add9"), ("vi:min", "IV:maj", "I:maj", "V:maj"))
BRIDGE_MINOR = ("iv:min", "bVI:maj7", "iv:min", "bVII:maj")
BRIDGE_MAJOR = ("ii:min", "IV:maj7", "ii:min", "V:maj")

# 16th grid, sixteen steps a bar; the melody sings in long nostalgic notes.
LEAD_RHYTHMS = (
    ((0, 6), (6, 2), (8, 8)),
    ((0, 4), (4, 4), (8, 6), (14, 2)),
    ((2, 2), (4, 6), (10, 6)),
    ((0, 8), (8, 4), (12, 4)),
    ((0, 3), (3, 3), (6, 2), (8, 8)),
)
BRASS_STABS = ((0, 3), (6, 2), (10, 2), (12, 4))  # 16th steps: the 3-3-2 push

VERSE_DRUMS = pattern(kick="x.......x.......", snare="....x.......x...", hat="x.o.x.o.x.o.x.o.")
CHORUS_DRUMS = pattern(
    kick="x.......x.......", snare="....X.......X...", clap="....x.......x...",
    hat="x.o.x.o.x.o.x.o.", open="..............o.",
)  # fmt: skip
INTRO_DRUMS = pattern(kick="x.......x.......", hat="x.o.x.o.x.o.x.o.")
FILLS = (
    ((8, HIGH_TOM), (10, HIGH_TOM), (12, SNARE), (13, MID_TOM), (14, LOW_TOM), (15, LOW_TOM)),
    ((8, HIGH_TOM), (9, HIGH_TOM), (10, MID_TOM), (11, MID_TOM), (12, SNARE), (14, LOW_TOM)),
)

# The band is a sequencer: drums, bass and arps dead on the grid; only the lead is played.
SEQUENCED = Feel(swing=0.5, steps_per_beat=4, timing_sd_ms=0.0, velocity_sd=3.0)
PLAYED = Feel(swing=0.5, steps_per_beat=4, timing_sd_ms=5.0, velocity_sd=5.0)
GROOVE = frozenset({"verse", "chorus", "bridge"})


class SynthwaveStyle:
    genre = "synthwave"
    beats_per_bar = 4
    release_s = 2.4
    phrase_bars = 4
    default_moods = ("dreamy", "energetic", "dark", "romantic", "epic", "sad")
    modes = ("minor", "dorian", "phrygian")  # major only when asked for
    keys = (9, 4, 2, 11, 6, 1)  # A, E, D, B, F#, C#: the minor keys the analogue records sat in

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        return None

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]:
        return (80.0, 118.0)

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band:
        return Band(
            lead=81,
            chords=62,
            bass=rng.choice((38, 39)),
            drums=rng.choice((16, 24)),
            pad=90,
            counter=81,
        )

    def sections(
        self, plan: TimePlan, variant: str | None, rng: random.Random
    ) -> tuple[Section, ...]:
        n = plan.body_bars
        phrase_bars = 8 if n >= 40 else 4
        intro = 0 if n < 8 else (2 if n < 24 else 4)
        return arrange_sections(n, phrase_bars, _song_labels(n - intro, phrase_bars), intro, 0)

    def write(self, ctx: PieceContext) -> Written:
        plan, band, bpb = ctx.plan, ctx.band, ctx.plan.beats_per_bar
        minor = is_minor(ctx.mode)
        rng = ctx.rng("harmony")
        verse = rng.choice(MINOR_VERSES if minor else MAJOR_VERSES)
        chorus = rng.choice(MINOR_CHORUSES if minor else MAJOR_CHORUSES)
        loops = {
            "intro": verse,
            "verse": verse,
            "chorus": chorus,
            "bridge": BRIDGE_MINOR if minor else BRIDGE_MAJOR,
        }
        body: list[ChordSpan] = []
        for section in ctx.sections[:-1]:
            body += bar_spans(
                loop_to(loops[section.name], section.bars), ctx.tonic, section.start_bar, bpb
            )
        cadence = ("bVI:maj7 bVII:maj",) if minor else ("IV:maj7 V:maj",)
        chords = harmony_with_ending(
            body, plan, ctx.tonic, cadence, "i:madd9" if minor else "I:add9"
        )
        chord_at = ChordTimeline(chords)
        reverb = 0.35 + ctx.mood.reverb
        tracks: list[Track] = []
        if band.pad is not None:
            tracks.append(self._pad(ctx, chords, band.pad, reverb))
        if band.chords is not None:
            tracks.append(self._brass(ctx, chords, band.chords, reverb))
        if band.counter is not None:
            tracks.append(self._arp(ctx, chords, band.counter, reverb))
        if band.bass is not None:
            tracks.append(self._bass(ctx, chords, band.bass))
        if band.drums is not None:
            tracks.append(self._drums(ctx, chords, band.drums))
        if band.lead is not None:
            tracks.append(self._lead(ctx, chord_at, band.lead, reverb))
        # A part with nothing to play in this form (the arp in a chorus-only sting) is left out.
        return Written(chords=chords, tracks=tuple(t for t in tracks if t.notes), swing=0.5)

    # parts ---------------------------------------------------------------------------------------

    def _pad(
        self, ctx: PieceContext, chords: tuple[ChordSpan, ...], program: int, reverb: float
    ) -> Track:
        """Whole-bar poly-synth chords, voice-led; soft in verses, full in choruses."""
        rng = ctx.rng("pad")
        bpb, dyn = ctx.plan.beats_per_bar, ctx.mood.dynamics
        voicings = voice_lead([span.chord for span in chords], "close", 52, 76)
        notes: list[Note] = []
        for span, voicing in zip(chords, voicings, strict=True):
            name = section_at(ctx.sections, int(span.start // bpb)).name
            velocity = {"chorus": 84, "bridge": 70, "intro": 62}.get(name, 68) * dyn
            notes += held_chord(voicing, span.start, span.duration * 0.98, velocity, rng)
        return Track(
            "Poly synth pad",
            Role.PAD,
            program,
            pan=-0.25,
            volume=0.62,
            effects=Effects(reverb=reverb + 0.1, chorus=0.5),
            notes=tuple(fit_range(notes, program)),
        )

    def _brass(
        self, ctx: PieceContext, chords: tuple[ChordSpan, ...], program: int, reverb: float
    ) -> Track:
        """Synth-brass stabs in a 3-3-2 push, only in choruses and on the final chord."""
        rng = ctx.rng("brass")
        bpb, dyn = ctx.plan.beats_per_bar, ctx.mood.dynamics
        voicings = voice_lead([span.chord for span in chords], "close", 55, 79)
        notes: list[Note] = []
        for span, voicing in zip(chords[:-1], voicings[:-1], strict=True):
            if section_at(ctx.sections, int(span.start // bpb)).name not in ("chorus", "end"):
                continue
            for step, length in BRASS_STABS:
                if step / 4 < span.duration:
                    accent = 1.1 if step == 0 else 0.95
                    notes += held_chord(
                        voicing, span.start + step / 4, length / 4 * 0.8, 88 * dyn * accent, rng
                    )
        last = chords[-1]
        notes += held_chord(voicings[-1], last.start, min(2.0, last.duration), 92 * dyn, rng)
        return Track(
            "Brass synth",
            Role.CHORDS,
            program,
            pan=0.3,
            volume=0.6,
            effects=Effects(reverb=reverb, chorus=0.3),
            notes=tuple(fit_range(notes, program)),
        )

    def _arp(
        self, ctx: PieceContext, chords: tuple[ChordSpan, ...], program: int, reverb: float
    ) -> Track:
        """A quiet 16th-note arpeggiator under the intro, verses and bridge: the sequencer's sparkle
        that the brass replaces in choruses."""
        bpb, dyn = ctx.plan.beats_per_bar, ctx.mood.dynamics
        notes: list[Note] = []
        for span in chords[:-1]:
            if section_at(ctx.sections, int(span.start // bpb)).name not in (
                "intro",
                "verse",
                "bridge",
            ):
                continue
            # Up and down the chord from its root, an octave below the lead.
            root = nearest_pitch(57, (span.chord.root,), 52, 63)
            classes = chord_pitch_classes(span.chord)
            third = nearest_pitch(root + 3.5, classes, root + 2, root + 5)
            fifth = nearest_pitch(root + 7, classes, root + 6, root + 8)
            cycle = (root, third, fifth, root + 12, fifth, third)
            step_count = round(span.duration * 4)
            density = 1 if ctx.mood.density >= 1.0 else 2
            for step in range(0, step_count, density):
                accent = 1.15 if step % 4 == 0 else 0.9
                notes.append(
                    Note(
                        span.start + step / 4,
                        0.2,
                        cycle[step // density % len(cycle)],
                        clamp_velocity(58 * dyn * accent),
                    )
                )
        return Track(
            "Arp synth",
            Role.COUNTER,
            program,
            pan=0.4,
            volume=0.45,
            effects=Effects(reverb=reverb, chorus=0.2),
            notes=tuple(fit_range(notes, program)),
        )

    def _bass(self, ctx: PieceContext, chords: tuple[ChordSpan, ...], program: int) -> Track:
        """Driving 8ths that jump between the root and its octave, dead on the grid."""
        bpb, dyn = ctx.plan.beats_per_bar, ctx.mood.dynamics
        low, high = max(36, playable_range(program)[0]), 62
        notes: list[Note] = []
        root = 40
        for span in chords[:-1]:
            name = section_at(ctx.sections, int(span.start // bpb)).name
            root = nearest_pitch(root, (span.chord.root,), low, low + 11)
            for eighth in range(round(span.duration * 2)):
                octave = eighth % 2 == 1 if name != "intro" else False
                accent = 1.12 if eighth % 4 == 0 else 1.0
                velocity = (92 if name == "chorus" else 84) * dyn * accent
                notes.append(
                    Note(
                        span.start + eighth / 2,
                        0.4,
                        min(high, root + 12 * octave),
                        clamp_velocity(velocity),
                    )
                )
        last = chords[-1]
        root = nearest_pitch(root, (last.chord.root,), low, low + 11)
        notes.append(Note(last.start, last.duration, root, clamp_velocity(96 * dyn)))
        return Track(
            "Synth bass",
            Role.BASS,
            program,
            pan=0.0,
            volume=0.82,
            effects=Effects(reverb=0.05),
            notes=tuple(fit_range(notes, program)),
        )

    def _drums(self, ctx: PieceContext, chords: tuple[ChordSpan, ...], kit: int) -> Track:
        rng = ctx.rng("drums")
        bpb, tempo, scale = ctx.plan.beats_per_bar, ctx.plan.tempo_bpm, ctx.mood.dynamics
        notes: list[Note] = []
        for section in ctx.sections[:-1]:
            groove = {"intro": INTRO_DRUMS, "chorus": CHORUS_DRUMS}.get(section.name, VERSE_DRUMS)
            for offset in range(section.bars):
                bar_start = float((section.start_bar + offset) * bpb)
                bar = play_pattern(groove, bar_start, bpb, SEQUENCED, rng, tempo, scale)
                if offset == section.bars - 1 and section.bars >= 2:
                    bar = [n for n in bar if n.start < bar_start + 2 or n.pitch == KICK]
                    for step, key in FILLS[(section.start_bar // 4) % len(FILLS)]:
                        velocity = (84 + (step - 8) * 3) * scale
                        bar.append(Note(bar_start + step / 4, 0.25, key, clamp_velocity(velocity)))
                if offset == 0 and section.name in ("chorus", "bridge"):
                    bar.append(Note(bar_start, 1.0, CRASH, clamp_velocity(96 * scale)))
                # The gated snare: a big hit cut off by the gate after about a beat.
                notes += [
                    Note(n.start, 0.9, n.pitch, n.velocity) if n.pitch in (SNARE, CLAP) else n
                    for n in bar
                ]
        final = chords[-1]
        for key, velocity in ((KICK, 112), (SNARE, 100), (CRASH, 108)):
            notes.append(
                Note(final.start, min(2.0, final.duration), key, clamp_velocity(velocity * scale))
            )
        return Track(
            "Drum machine",
            Role.DRUMS,
            kit,
            is_drum=True,
            pan=0.0,
            volume=0.8,
            effects=Effects(reverb=0.32),
            notes=tuple(sorted(notes)),
        )

    def _lead(
        self, ctx: PieceContext, chord_at: ChordTimeline, program: int, reverb: float
    ) -> Track:
        """A nostalgic saw lead: long notes, the verse low and spare, the chorus up high."""
        rng = ctx.rng("melody")
        dyn, tempo = ctx.mood.dynamics, ctx.plan.tempo_bpm
        low, high = playable_range(program)
        centre = 67 + ctx.mood.register
        scale = scale_pitch_classes(ctx.tonic, ctx.mode)
        # Any tone of the tonic triad, so the mood's register shift is not rounded to an octave.
        home = (
            ctx.tonic,
            (ctx.tonic + (3 if is_minor(ctx.mode) else 4)) % 12,
            (ctx.tonic + 7) % 12,
        )
        anchor = nearest_pitch(centre, home, low, high)
        verse_voice = Voice(
            max(low, anchor - 8), anchor + 8, scale, 4, round(80 * dyn), legato=0.95
        )
        chorus_voice = Voice(
            anchor - 1, min(high, anchor + 14), scale, 4, round(94 * dyn), legato=0.97
        )
        motif = make_motif(rng, LEAD_RHYTHMS, leap_chance=0.35)
        answer = make_motif(rng, LEAD_RHYTHMS, leap_chance=0.3)
        hook = make_motif(rng, LEAD_RHYTHMS, leap_chance=0.45)
        ladder = [p for p in range(low, high + 1) if p % 12 in scale]
        high_anchor = ladder[min(len(ladder) - 1, ladder.index(anchor) + 4)]
        notes: list[Note] = []
        for section in ctx.sections[:-1]:
            if section.name == "intro":
                continue
            if section.name == "chorus":
                written, _ = phrase(
                    hook, motif, section, ctx.plan, high_anchor, chorus_voice, PLAYED, chord_at,
                    rng, "MAMC", 1.0,
                )  # fmt: skip
            elif section.name == "bridge":
                written, _ = phrase(
                    motif.inverted(), answer, section, ctx.plan, anchor, verse_voice, PLAYED,
                    chord_at, rng, "MRSC", 0.9,
                )  # fmt: skip
            else:
                written, _ = phrase(
                    motif, answer, section, ctx.plan, anchor, verse_voice, PLAYED, chord_at, rng,
                    "MRAC", 0.92,
                )  # fmt: skip
            notes += written
        final = chord_at.spans[-1]
        notes = [n for n in notes if n.end <= final.start + 0.01]
        if not notes:
            notes = pickup_run(final.start, ladder, anchor, round(88 * dyn))
        tonic = closing_tonic([n.pitch for n in notes], ctx.tonic, low, high)
        notes = [humanise(n, PLAYED, rng, tempo) for n in notes]
        notes.append(Note(final.start, final.duration, tonic, clamp_velocity(92 * dyn)))
        return Track(
            "Saw lead",
            Role.LEAD,
            program,
            pan=0.05,
            volume=0.8,
            effects=Effects(reverb=reverb + 0.1, chorus=0.35),
            notes=tuple(fit_range(notes, program)),
        )


def _song_labels(bars: int, phrase_bars: int) -> tuple[str, ...]:
    """Verse–chorus order that always ends on a chorus, with a bridge in longer songs."""
    count = max(1, bars // phrase_bars + (1 if bars % phrase_bars >= phrase_bars // 2 else 0))
    cycle = ("verse", "chorus", "verse", "chorus", "bridge", "chorus")
    labels = [cycle[i % len(cycle)] for i in range(count)]
    labels[-1] = "chorus"
    return tuple(labels)
