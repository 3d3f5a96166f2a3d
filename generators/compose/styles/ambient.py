"""Ambient: modal pads and drones, slow swells and sparse motifs in a big reverb; no drums."""

from __future__ import annotations

import random

from generators.compose.arrangement import Band, ChordTimeline, fit_range
from generators.compose.form import TimePlan
from generators.compose.harmony import voice_lead
from generators.compose.melody import Voice, make_motif
from generators.compose.mood import MoodProfile
from generators.compose.parts import bar_spans, harmony_with_ending, lead_register, phrase
from generators.compose.rhythm import Feel, clamp_velocity
from generators.compose.styles.base import PieceContext, Written
from generators.compose.theory import chord_core, nearest_pitch, scale_pitch_classes
from generators.score import ChordSpan, ControlChange, Effects, Note, Role, Section, Track

# One string per harmonic step; each lasts one or two bars.
PROGRESSIONS = {
    "lydian": (
        ("I:maj9", "II:add9", "vi:m9", "I:maj9"),
        ("I:add9", "II:add9", "I:add9", "V:sus2"),
        ("I:maj7#11", "vii:m7", "II:add9", "iii:m7"),
        ("vi:m9", "II:add9", "I:maj9", "V:sus2"),
    ),
    "major": (
        ("I:add9", "IV:maj9", "vi:m9", "IV:add9"),
        ("I:maj9", "iii:m7", "IV:maj9", "V:sus4"),
        ("IV:maj9", "I:add9", "V:sus2", "vi:m9"),
        ("I:add9", "V:sus4", "vi:m9", "iii:m7", "IV:maj9"),
    ),
    "dorian": (
        ("i:m9", "IV:add9", "i:m9", "bVII:add9"),
        ("i:m11", "ii:m7", "IV:add9", "i:m9"),
        ("i:m9", "bIII:maj7", "IV:add9", "v:m7"),
    ),
    "minor": (
        ("i:madd9", "bVI:maj7", "bIII:add9", "bVII:sus2"),
        ("i:m9", "bVI:maj9", "iv:m9", "i:m9"),
        ("i:madd9", "v:m7", "bVI:maj9", "bVII:sus2"),
        ("bVI:maj9", "bIII:add9", "bVII:sus2", "i:m9"),
    ),
    "phrygian": (
        ("i:m7", "bII:maj7", "i:m7", "bvii:m7"),
        ("i:madd9", "bII:add9", "bIII:sus2", "i:madd9"),
        ("i:m9", "bII:maj7", "bVI:maj7", "bII:maj7"),
    ),
    "mixolydian": (
        ("I:add9", "bVII:add9", "IV:add9", "I:add9"),
        ("I:sus2", "v:m7", "bVII:add9", "IV:add9"),
    ),
}
CADENCES = {
    "lydian": ("II:add9",),
    "major": ("IV:add9",),
    "dorian": ("IV:add9",),
    "minor": ("bVII:sus2",),
    "phrygian": ("bII:maj7",),
    "mixolydian": ("bVII:add9",),
}
FINALS = {
    "lydian": "I:maj9",
    "major": "I:add9",
    "mixolydian": "I:add9",
    "dorian": "i:m9",
    "minor": "i:madd9",
    "phrygian": "i:madd9",
}

# Long, spacious motif rhythms on a 16th grid: few notes, long values.
MOTIF_RHYTHMS = (
    ((0, 8), (8, 8)),
    ((0, 12), (12, 4)),
    ((4, 4), (8, 8)),
    ((0, 4), (4, 4), (8, 8)),
    ((2, 6), (8, 4), (12, 4)),
)


class AmbientStyle:
    genre = "ambient"
    beats_per_bar = 4
    release_s = 3.0
    phrase_bars = 4
    default_moods = ("calm", "dreamy", "mysterious", "sad")
    modes = ("lydian", "major", "dorian", "minor", "phrygian", "mixolydian")
    keys = tuple(range(12))

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        return None

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]:
        return (50.0, 80.0)

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band:
        return Band(
            lead=rng.choice((8, 8, 0, 11)),
            chords=None,
            bass=89,
            drums=None,
            pad=rng.choice((94, 91, 89)),
            counter=48,
        )

    def sections(
        self, plan: TimePlan, variant: str | None, rng: random.Random
    ) -> tuple[Section, ...]:
        """A through-composed arc: emergence, bloom, swell to a peak, return, then the final chord."""
        n = plan.body_bars
        if n <= 0:
            return (Section("end", 0, 1),)
        if n < 4:
            return (Section("A", 0, n), Section("end", n, 1))
        intro = max(1, round(n * 0.2))
        bloom = max(1, round(n * 0.3))
        swell = max(1, round(n * 0.3))
        back = n - intro - bloom - swell
        if back < 1:
            back, bloom = 1, bloom - 1
        names = (("intro", intro), ("A", bloom), ("B", swell), ("A", back))
        sections: list[Section] = []
        bar = 0
        for name, bars in names:
            sections.append(Section(name, bar, bars))
            bar += bars
        sections.append(Section("end", bar, 1))
        return tuple(sections)

    def write(self, ctx: PieceContext) -> Written:
        plan, band, mood = ctx.plan, ctx.band, ctx.mood
        bpb = plan.beats_per_bar
        rng = ctx.rng("harmony")
        mode = ctx.mode if ctx.mode in PROGRESSIONS else "major"
        progression = rng.choice(PROGRESSIONS[mode])
        bars_per_chord = 2 if plan.body_bars >= 8 else 1
        bars: list[str] = []
        for index in range(plan.body_bars):
            bars.append(progression[(index // bars_per_chord) % len(progression)])
        body = bar_spans(bars, ctx.tonic, 0, bpb)
        body = _merge_repeats(body)
        chords = harmony_with_ending(body, plan, ctx.tonic, CADENCES[mode], FINALS[mode])
        chord_at = ChordTimeline(chords)
        feel = Feel(swing=0.5, steps_per_beat=4, timing_sd_ms=12.0, velocity_sd=4.0)
        reverb = min(1.0, 0.75 + mood.reverb)
        tracks: list[Track] = []
        if band.bass is not None:
            tracks.append(self._drone(ctx, chords, band.bass))
        if band.pad is not None:
            tracks.append(self._pad(ctx, chords, band.pad, reverb))
        if band.counter is not None and plan.body_bars >= 4:
            tracks.append(self._strings(ctx, chords, band.counter, reverb))
        if band.lead is not None:
            tracks.append(self._motifs(ctx, chord_at, feel, band.lead, reverb))
        return Written(chords=chords, tracks=tuple(tracks), swing=0.5)

    def _drone(self, ctx: PieceContext, chords: tuple[ChordSpan, ...], program: int) -> Track:
        """Tonic and fifth held through each section, re-struck softly where sections meet."""
        tonic = nearest_pitch(40, (ctx.tonic,), 36, 47)
        end = chords[-1].start + chords[-1].duration
        bpb = ctx.plan.beats_per_bar
        notes: list[Note] = []
        for section in ctx.sections[:-1]:
            start = float(section.start_bar * bpb)
            length = section.bars * bpb + 0.5
            velocity = 58 if section.name != "B" else 66
            notes.append(Note(start, length, tonic, velocity))
            notes.append(Note(start, length, tonic + 7, velocity - 10))
        final = chords[-1].start
        notes.append(Note(final, end - final, tonic, 60))
        notes.append(Note(final, end - final, tonic + 7, 50))
        controls = _swell(0.0, min(8.0, end), 40, 100) + _swell(final, end, 100, 70)
        return Track(
            "Drone",
            Role.BASS,
            program,
            volume=0.7,
            effects=Effects(reverb=0.6, chorus=0.3),
            notes=tuple(notes),
            controls=tuple(controls),
        )

    def _pad(
        self, ctx: PieceContext, chords: tuple[ChordSpan, ...], program: int, reverb: float
    ) -> Track:
        voicings = voice_lead([span.chord for span in chords], "spread", 48, 79)
        rng = ctx.rng("pad")
        notes: list[Note] = []
        controls: list[ControlChange] = []
        for span, voicing in zip(chords, voicings, strict=True):
            section = _section_name(ctx.sections, span.start, ctx.plan.beats_per_bar)
            if section == "intro" and span.start == 0 and len(chords) > 2:
                voicing = voicing[:3]  # emerge thinly
            for pitch in voicing:
                velocity = clamp_velocity(
                    (60 if section != "B" else 72) * ctx.mood.dynamics + rng.gauss(0, 3)
                )
                notes.append(Note(span.start, span.duration + 0.25, pitch, velocity))
            # Each chord breathes: a swell up over its first half, easing back before the next.
            controls += _swell(span.start, span.start + span.duration / 2, 70, 110)
            controls += _swell(span.start + span.duration / 2, span.start + span.duration, 110, 85)
        return Track(
            "Halo pad" if program == 94 else ("Choir pad" if program == 91 else "Warm pad"),
            Role.PAD,
            program,
            pan=-0.2,
            volume=0.72,
            effects=Effects(reverb=reverb, chorus=0.4),
            notes=tuple(fit_range(notes, program)),
            controls=tuple(sorted(controls)),
        )

    def _strings(
        self, ctx: PieceContext, chords: tuple[ChordSpan, ...], program: int, reverb: float
    ) -> Track:
        """Strings enter for the swell: long chord tones high up, a crescendo then a fade."""
        bpb = ctx.plan.beats_per_bar
        notes: list[Note] = []
        controls: list[ControlChange] = [ControlChange(0.0, 11, 0)]
        for section in ctx.sections:
            if section.name != "B":
                continue
            start, end = (
                float(section.start_bar * bpb),
                float((section.start_bar + section.bars) * bpb),
            )
            pitch = 67 + ctx.mood.register
            for span in chords:
                if span.start + span.duration <= start or span.start >= end:
                    continue
                pitch = nearest_pitch(pitch, chord_core(span.chord), 60, 84)
                onset = max(span.start, start)
                notes.append(
                    Note(onset, min(span.start + span.duration, end) - onset + 0.5, pitch, 70)
                )
                notes.append(
                    Note(onset, min(span.start + span.duration, end) - onset + 0.5, pitch - 12, 62)
                )
            middle = (start + end) / 2
            controls += _swell(start, middle, 20, 115) + _swell(middle, end, 115, 30)
        return Track(
            "Strings",
            Role.COUNTER,
            program,
            pan=0.35,
            volume=0.6,
            effects=Effects(reverb=reverb),
            notes=tuple(fit_range(notes, program)),
            controls=tuple(sorted(controls)),
        )

    def _motifs(
        self, ctx: PieceContext, chord_at: ChordTimeline, feel: Feel, program: int, reverb: float
    ) -> Track:
        rng = ctx.rng("melody")
        centre = 76 + ctx.mood.register
        low, high = lead_register(program, centre, 9, 12)
        scale = scale_pitch_classes(ctx.tonic, ctx.mode)
        velocity = round(66 * ctx.mood.dynamics)
        voice = Voice(low, high, scale, 4, velocity, allow_tensions=True, legato=1.6)
        motif = make_motif(rng, MOTIF_RHYTHMS, leap_chance=0.4)
        answer = make_motif(rng, MOTIF_RHYTHMS, leap_chance=0.4)
        anchor = nearest_pitch(centre, scale, low, high)
        notes: list[Note] = []
        pitch = anchor
        seen_a = False
        for section in ctx.sections[:-1]:
            if section.name == "intro":
                continue
            if section.name == "A":
                shape = "MRAR" if not seen_a else "IRMR"
                seen_a = True
            else:
                shape = "ARMR"
            written, pitch = phrase(
                motif, answer, section, ctx.plan, anchor, voice, feel, chord_at, rng, shape
            )
            notes += written
        final = chord_at.spans[-1]
        notes = [n for n in notes if n.start < final.start - 0.5]
        tonic = nearest_pitch(pitch, (ctx.tonic,), low, high)
        notes.append(Note(final.start, final.duration, tonic, clamp_velocity(velocity)))
        names = {8: "Celesta", 0: "Piano", 11: "Vibraphone"}
        return Track(
            names.get(program, "Motif"),
            Role.LEAD,
            program,
            pan=0.15,
            volume=0.7,
            effects=Effects(reverb=reverb, chorus=0.2),
            notes=tuple(fit_range(notes, program)),
        )


def _swell(start: float, end: float, low: int, high: int, points: int = 8) -> list[ControlChange]:
    """Expression (CC11) ramping from `low` to `high` between two beats."""
    if end <= start:
        return []
    return [
        ControlChange(
            start + (end - start) * i / points, 11, round(low + (high - low) * i / points)
        )
        for i in range(points + 1)
    ]


def _merge_repeats(spans: list[ChordSpan]) -> list[ChordSpan]:
    """Join consecutive spans of the same chord so pads hold instead of re-striking."""
    merged: list[ChordSpan] = []
    for span in spans:
        if merged and merged[-1].chord == span.chord:
            prev = merged[-1]
            merged[-1] = ChordSpan(prev.start, prev.duration + span.duration, prev.chord)
        else:
            merged.append(span)
    return merged


def _section_name(sections: tuple[Section, ...], beat: float, beats_per_bar: int) -> str:
    bar = int(beat // beats_per_bar)
    for section in sections:
        if section.start_bar <= bar < section.start_bar + section.bars:
            return section.name
    return sections[-1].name
