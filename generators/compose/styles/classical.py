"""Classical: a periodic melody over an Alberti bass, functional harmony and A–B–A′ form.

Solo piano by default; the "quartet" variant gives the melody to violin 1, the inner voices to
violin 2 and viola, and the bass to the cello. The bass is always its own track so that the outer
voices (melody and bass) can be checked, and repaired, for parallel fifths and octaves.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from generators.compose.arrangement import Band, ChordTimeline, fit_range, playable_range
from generators.compose.form import TimePlan
from generators.compose.harmony import candidate_voicings, movement
from generators.compose.melody import Motif, Voice, cadence_note, make_motif, realise
from generators.compose.mood import MoodProfile, is_minor
from generators.compose.parts import bar_spans, harmony_with_ending, lead_register
from generators.compose.rhythm import Feel, clamp_velocity, humanise
from generators.compose.styles.base import PieceContext, Written
from generators.compose.theory import (
    chord_core,
    chord_pitch_classes,
    nearest_pitch,
    scale_pitch_classes,
)
from generators.score import Chord, ChordSpan, ControlChange, Effects, Note, Role, Section, Track

# Four-bar phrases, one string a bar. Antecedents end on V (half cadence), consequents on I
# (authentic cadence, usually through ii6–V7). "ii:min/IV" is ii6; "II:7" is V7/V, "I:7" V7/IV,
# "VI:7" V7/ii, "III:7" V7/vi: the secondary dominants.
ANTECEDENT_MAJOR = (
    ("I", "IV I", "ii:min/IV I", "V"),
    ("I", "V:7 I", "IV II:7", "V"),
    ("I", "vi IV", "I:maj/iii ii:min/IV", "V"),
    ("I IV", "I V", "vi II:7", "V"),
)
CONSEQUENT_MAJOR = (
    ("I", "IV I", "ii:min/IV V:7", "I"),
    ("I", "I:7 IV", "ii:min/IV V:7", "I"),
    ("I vi", "VI:7 ii", "I:maj/v V:7", "I"),
    ("I", "vi IV", "ii:min/IV V:7", "I"),
)
# The B section leans on the dominant and the relative minor, and ends on V to lead back to A′.
CONTRAST_MAJOR = (
    ("V", "II:7 V", "vi III:7", "vi"),
    ("vi", "III:7 vi", "IV ii:min/IV", "V"),
    ("IV", "ii V", "I:7 IV", "II:7"),
    ("V", "I:maj/iii IV", "ii:min/IV II:7", "V"),
)
ANTECEDENT_MINOR = (
    ("i", "iv i", "ii:dim/iv i", "V"),
    ("i", "V:7 i", "iv bVI", "V"),
    ("i bVI", "iv V", "i iv", "V"),
)
CONSEQUENT_MINOR = (
    ("i", "iv i", "ii:dim/iv V:7", "i"),
    ("i", "bVI iv", "ii:dim/iv V:7", "i"),
    ("i", "I:7 iv", "i:min/v V:7", "i"),
)
CONTRAST_MINOR = (
    ("bIII", "bVII:7 bIII", "iv", "V"),
    ("bVI", "iv", "ii:dim/iv", "V"),
    ("bIII", "bVI", "iv ii:dim/iv", "V:7"),
)

# Melody rhythms on an 8th grid (steps_per_beat=2): plain, singable, a long note to end on.
MELODY_RHYTHMS = (
    ((0, 2), (2, 2), (4, 2), (6, 2)),
    ((0, 3), (3, 1), (4, 2), (6, 2)),
    ((0, 2), (2, 1), (3, 1), (4, 4)),
    ((0, 4), (4, 2), (6, 2)),
    ((0, 1), (1, 1), (2, 2), (4, 2), (6, 2)),
)
BUSY_RHYTHMS = (
    ((0, 1), (1, 1), (2, 1), (3, 1), (4, 2), (6, 2)),
    ((0, 3), (3, 1), (4, 1), (5, 1), (6, 2)),
)
# One letter a bar: M motif, A answer, S motif a step higher, F fragment, H half cadence,
# P perfect (authentic) cadence, R rest. Antecedent then consequent: a parallel period.
# Forms of short pieces in 4-bar phrases (an A–A′ pair is one period).
SHORT_FORMS: Mapping[int, tuple[str, ...]] = MappingProxyType(
    {
        1: ("A",),
        2: ("A", "A′"),
        3: ("A", "B", "A′"),
        4: ("A", "A′", "B", "A′"),
        5: ("A", "A′", "B", "B", "A′"),
    }
)
PERIOD_SHAPES = ("MASH" + "MAFP", "MSAH" + "MSFP", "MAMH" + "MAFP")
CONTRAST_SHAPE = "MSAH" + "MsFH"


@dataclass(frozen=True, slots=True)
class Accompaniment:
    """How the left hand (or the inner strings) breaks each chord: a figure per group of beats."""

    group_beats: float  # the figure repeats every this many beats
    figure: tuple[int, ...]  # 0 bass, 1 middle, 2 top: which note sounds at each equal step


ALBERTI_8THS = Accompaniment(2.0, (0, 2, 1, 2))  # C G E G: the Alberti figure
ALBERTI_16THS = Accompaniment(1.0, (0, 2, 1, 2))
ARPEGGIO = Accompaniment(2.0, (0, 1, 2, 1))  # a gentler rising-falling broken chord
BLOCK = Accompaniment(1.0, (0,))  # quarter-note chords: the quartet's and B's contrast
REPEATED_8THS = Accompaniment(1.0, (1, 1))  # the quartet's inner voices, Haydn-style


class ClassicalStyle:
    genre = "classical"
    beats_per_bar = 4
    release_s = 2.2
    phrase_bars = 4
    default_moods = ("calm", "happy", "romantic", "sad")
    modes = ("major", "minor")
    keys = (0, 7, 2, 5, 10, 9, 4, 3)  # C, G, D, F, Bb, A, E, Eb: the sonatina keys

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        return requested

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]:
        return (60.0, 120.0)

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band:
        if variant == "quartet":
            return Band(lead=40, chords=41, bass=42, drums=None, counter=40)
        return Band(lead=0, chords=0, bass=0, drums=None)

    def sections(
        self, plan: TimePlan, variant: str | None, rng: random.Random
    ) -> tuple[Section, ...]:
        """A–B–A′: 8-bar periods in long pieces, 4-bar phrases in short ones; a left-hand intro
        and a 4-bar codetta when they fit."""
        n = plan.body_bars
        if n <= 0:
            return (Section("end", 0, 1),)
        intro = 0 if n < 14 else (1 if n < 30 else 2)
        phrase, coda = (8, 0) if n - intro >= 24 else (4, 0)
        count, rest = divmod(n - intro, phrase)
        if phrase == 8 and rest >= 4:
            coda, rest = 4, rest - 4
        if intro:
            intro, rest = intro + rest, 0
        lengths = [phrase] * count or [0]
        lengths[-1] += rest
        labels = _ternary_labels(len(lengths)) if phrase == 8 else SHORT_FORMS[len(lengths)]
        sections: list[Section] = []
        bar = 0
        for name, bars in (("intro", intro), *zip(labels, lengths, strict=True), ("coda", coda)):
            if bars:
                sections.append(Section(name, bar, bars))
                bar += bars
        sections.append(Section("end", bar, 1))
        return tuple(sections)

    def write(self, ctx: PieceContext) -> Written:
        plan, band, mood = ctx.plan, ctx.band, ctx.mood
        minor = is_minor(ctx.mode)
        rng = ctx.rng("harmony")
        antecedent = rng.choice(ANTECEDENT_MINOR if minor else ANTECEDENT_MAJOR)
        consequent = rng.choice(CONSEQUENT_MINOR if minor else CONSEQUENT_MAJOR)
        contrast = rng.choice(CONTRAST_MINOR if minor else CONTRAST_MAJOR)
        second_contrast = rng.choice(CONTRAST_MINOR if minor else CONTRAST_MAJOR)
        tonic_numeral = "i" if minor else "I"
        body: list[ChordSpan] = []
        for index, section in enumerate(ctx.sections[:-1]):
            kind = _phrase_kind(ctx.sections, index)
            bars = _section_harmony(
                section, kind, antecedent, consequent, contrast + second_contrast, tonic_numeral
            )
            if index == len(ctx.sections) - 2 and len(bars) >= 2:
                # The last bar becomes the closing ii6–V7 (below); the bar before it prepares
                # it with tonic-to-subdominant motion instead of stating the cadence twice.
                bars[-2] = "i:min/bIII iv" if minor else "I:maj/iii IV"
            body += bar_spans(bars, ctx.tonic, section.start_bar, plan.beats_per_bar)
        cadence = ("ii:dim/iv V:7",) if minor else ("ii:min/IV V:7",)
        chords = harmony_with_ending(body, plan, ctx.tonic, cadence, tonic_numeral)
        chord_at = ChordTimeline(chords)

        feel = Feel(swing=0.5, steps_per_beat=2, timing_sd_ms=4.0, velocity_sd=3.0)
        dynamics = _Dynamics(ctx.sections, plan.beats_per_bar, mood.dynamics)
        quartet = ctx.variant == "quartet"
        reverb = 0.3 + mood.reverb + (0.05 if quartet else 0.0)

        lead_program = band.lead if band.lead is not None else (40 if quartet else 0)
        melody = self._melody(ctx, chord_at, feel, lead_program, dynamics)
        bass_program = band.bass if band.bass is not None else (42 if quartet else 0)
        bass = self._bass(ctx, chords, bass_program, dynamics)
        melody = fit_range(melody, lead_program)
        melody = avoid_parallel_perfects(
            melody, bass, chord_at, ctx.tonic, ctx.mode, plan.beats_per_bar
        )
        melody = [humanise(n, feel, ctx.rng("melody-feel"), plan.tempo_bpm) for n in melody]
        bass = [humanise(n, feel, ctx.rng("bass-feel"), plan.tempo_bpm) for n in bass]

        tracks: list[Track] = []
        if band.lead is not None:
            name = (
                "Violin 1" if lead_program == 40 else ("Piano RH" if lead_program == 0 else "Lead")
            )
            tracks.append(_track(name, Role.LEAD, lead_program, 0.1, 0.85, reverb, melody, ctx))
        if band.chords is not None:
            for name, role, program, pan, notes in self._inner(
                ctx, chords, band.chords, band.counter, dynamics, feel
            ):
                tracks.append(_track(name, role, program, pan, 0.72, reverb, notes, ctx))
        if band.bass is not None:
            name = (
                "Cello"
                if bass_program == 42
                else ("Piano LH bass" if bass_program == 0 else "Bass")
            )
            pan = 0.3 if bass_program == 42 else -0.1
            tracks.append(_track(name, Role.BASS, bass_program, pan, 0.8, reverb, bass, ctx))
        return Written(chords=chords, tracks=tuple(tracks), swing=0.5)

    # parts ---------------------------------------------------------------------------------------

    def _melody(
        self,
        ctx: PieceContext,
        chord_at: ChordTimeline,
        feel: Feel,
        program: int,
        dynamics: _Dynamics,
    ) -> list[Note]:
        rng = ctx.rng("melody")
        centre = (
            76 if program == 40 else 74
        ) + 2 * ctx.mood.register  # mood's register, doubled: a tune is heard by where it sits
        low, high = lead_register(program, centre, 10, 10)
        scale = scale_pitch_classes(ctx.tonic, ctx.mode)
        voice = Voice(low, high, scale, 2, 80, allow_tensions=False, legato=0.95)
        bank = MELODY_RHYTHMS + (BUSY_RHYTHMS if ctx.mood.density > 1.05 else ())
        if ctx.mood.density < 0.85:
            bank = MELODY_RHYTHMS[1:4]
        motif = make_motif(rng, bank, leap_chance=0.2)
        answer = make_motif(rng, bank, leap_chance=0.25)
        contrast = make_motif(rng, bank, leap_chance=0.3)
        shape = rng.choice(PERIOD_SHAPES)
        anchor = nearest_pitch(centre, (ctx.tonic, (ctx.tonic + 4) % 12, (ctx.tonic + 3) % 12))
        anchor = nearest_pitch(anchor, scale, low, high)
        ladder = [p for p in range(low, high + 1) if p % 12 in scale]
        # B sings a fourth higher: a contrast of register, not just of notes.
        lifted = Voice(
            low + 4, min(playable_range(program)[1], high + 4), scale, 2, 80, False, False, 0.95
        )
        lifted_ladder = [p for p in range(lifted.low, lifted.high + 1) if p % 12 in scale]
        contrast_anchor = nearest_pitch(anchor + 5, scale, lifted.low, lifted.high)
        bpb = ctx.plan.beats_per_bar
        notes: list[Note] = []
        pitch = anchor
        seen: dict[str, int] = {}
        final_start = ctx.plan.final_start
        for section_index, section in enumerate(ctx.sections[:-1]):
            kind = _phrase_kind(ctx.sections, section_index)
            if kind == "intro":
                continue
            family = section.name.rstrip("′")
            repeat = seen.get(family, 0)
            seen[family] = repeat + 1
            is_contrast = kind == "contrast"
            contrast_motif = contrast.inverted() if repeat % 2 else contrast
            section_shape = {
                "period": shape,
                "antecedent": shape[:4],
                "consequent": shape[4:] if section.name != "coda" else "FMFP",
                "contrast": CONTRAST_SHAPE if section.bars >= 8 else CONTRAST_SHAPE[:4],
            }[kind]
            closing = "H" if kind in ("antecedent", "contrast") else "P"
            decorate = (repeat % 2 == 1 or section.name.endswith("′")) and not is_contrast
            line = lifted if is_contrast else voice
            steps = lifted_ladder if is_contrast else ladder
            for offset in range(section.bars):
                bar = section.start_bar + offset
                bar_start = float(bar * bpb)
                letter = section_shape[offset % len(section_shape)]
                if offset == section.bars - 1:
                    letter = closing
                if bar_start + bpb > final_start - 1e-6:
                    letter = "K"  # the final ii6–V7 bar: lead into the tonic
                level = dynamics.at(bar_start)
                if letter in "HPK":
                    head_source = (contrast_motif if is_contrast else motif).fragment(2)
                    head, last = realise(
                        head_source, bar_start, bpb, pitch, line, feel, chord_at, rng, level
                    )
                    head = [n for n in head if n.start < bar_start + bpb / 2]
                    notes += head
                    start = bar_start + bpb / 2 if head else bar_start
                    if letter == "H":
                        # 2̂, 7̂ or 5̂ over V: the question.
                        targets = tuple((ctx.tonic + i) % 12 for i in (2, 11, 7))
                    elif letter == "P":
                        targets = (ctx.tonic,)
                    else:
                        # 2̂ or 7̂: each resolves by step to 1̂ on the final chord.
                        targets = ((ctx.tonic + 2) % 12, (ctx.tonic + 11) % 12)
                    close = cadence_note(
                        start,
                        bar_start + bpb - start - (0.25 if letter != "K" else 0.05),
                        last if head else pitch,
                        targets,
                        line,
                        round(line.velocity * level),
                    )
                    notes.append(close)
                    pitch = close.pitch
                    continue
                if letter == "R":
                    continue
                chosen: Motif = {
                    "M": contrast_motif if is_contrast else motif,
                    "S": contrast_motif if is_contrast else motif,
                    "s": contrast_motif if is_contrast else motif,
                    "A": answer,
                    "F": (contrast_motif if is_contrast else motif).fragment(3),
                }[letter]
                base = contrast_anchor if is_contrast else anchor
                start_pitch = pitch
                if letter in "Ss":
                    index = steps.index(base) + (1 if letter == "S" else -1)
                    start_pitch = steps[max(0, min(len(steps) - 1, index))]
                elif letter == "M":
                    start_pitch = base
                elif letter == "A":
                    # The answer starts a fourth up: the phrase arches to its peak, then cadences.
                    start_pitch = steps[min(len(steps) - 1, steps.index(base) + 3)]
                bar_notes, pitch = realise(
                    chosen, bar_start, bpb, start_pitch, line, feel, chord_at, rng, level
                )
                if decorate:
                    bar_notes = _ornament(bar_notes, ladder)  # A′: the tune returns decorated
                notes += bar_notes
        notes = [n for n in notes if n.end <= final_start + 0.01]
        final = chord_at.spans[-1]
        if ctx.plan.body_bars <= 1:
            notes, pitch = _cadential_gesture(final.start, anchor, scale, voice, rng)
        tonic = nearest_pitch(pitch, (ctx.tonic,), low, high)
        notes.append(
            Note(final.start, final.duration, tonic, clamp_velocity(70 * ctx.mood.dynamics))
        )
        return _chromatic_chord_tones(notes, chord_at, scale)

    def _bass(
        self, ctx: PieceContext, chords: tuple[ChordSpan, ...], program: int, dynamics: _Dynamics
    ) -> list[Note]:
        """The lowest voice: the chord's bass note re-struck with each accompaniment group."""
        low, high = (36, 55) if program == 42 else (36, 52)
        pattern = _pattern(ctx)
        notes: list[Note] = []
        pitch = nearest_pitch(45, (ctx.tonic,), low, high)
        for span in chords[:-1]:
            pitch = nearest_pitch(pitch, (_bass_class(span.chord),), low, high)
            group = pattern.group_beats if span.duration >= pattern.group_beats else span.duration
            if program == 42:
                group = span.duration  # the cello sustains while the inner voices move
            beat = 0.0
            while beat < span.duration - 1e-6:
                onset = span.start + beat
                length = min(group, span.duration - beat)
                accent = 1.08 if onset % ctx.plan.beats_per_bar == 0 else 0.95
                velocity = 72 * dynamics.at(onset) * accent
                notes.append(Note(onset, length * 0.97, pitch, clamp_velocity(velocity)))
                beat += group
        last = chords[-1]
        pitch = nearest_pitch(pitch - 3, (ctx.tonic,), low, high)
        notes.append(Note(last.start, last.duration, pitch, clamp_velocity(70 * ctx.mood.dynamics)))
        return fit_range(notes, program)

    def _inner(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        program: int,
        counter: int | None,
        dynamics: _Dynamics,
        feel: Feel,
    ) -> list[tuple[str, Role, int, float, list[Note]]]:
        """The accompaniment above the bass: Alberti or broken chords on the piano, repeated 8ths
        shared by violin 2 and viola in the quartet."""
        rng = ctx.rng("inner")
        uppers = _upper_pairs(chords, 52, 69)
        pattern = _pattern(ctx)
        bpb = ctx.plan.beats_per_bar
        quartet = program != 0 and counter is not None
        scale = scale_pitch_classes(ctx.tonic, ctx.mode)
        middle: list[Note] = []
        top: list[Note] = []
        for span, (mid, hi) in zip(chords[:-1], uppers[:-1], strict=True):
            section = _section_name(ctx.sections, span.start, bpb)
            figure = pattern
            if section == "B" and pattern is not ARPEGGIO:
                figure = ARPEGGIO if not quartet else BLOCK
            if quartet:
                figure = BLOCK if section == "B" else REPEATED_8THS
            # A tone from outside the key (minor's leading tone, a secondary dominant's) is the
            # tension, not the pivot: it is struck once, while the stable tone repeats.
            held = {pitch for pitch in (mid, hi) if pitch % 12 not in scale}
            if held and not quartet and hi in held and figure.figure == (0, 2, 1, 2):
                figure = Accompaniment(figure.group_beats, (0, 1, 2, 1))
            if quartet:
                for pitch, voice in ((mid, middle), (hi, top)):
                    if pitch in held:
                        velocity = 56 * dynamics.at(span.start)
                        voice.append(
                            Note(span.start, span.duration * 0.97, pitch, clamp_velocity(velocity))
                        )
            steps = len(figure.figure)
            step_len = figure.group_beats / steps
            beat = 0.0
            while beat < span.duration - 1e-6:
                for index, which in enumerate(figure.figure):
                    onset = span.start + beat + index * step_len
                    if onset >= span.start + span.duration - 1e-6:
                        break
                    velocity = 56 * dynamics.at(onset) * (1.06 if index == 0 else 0.94)
                    if quartet:
                        # Violin 2 on the top note, viola on the middle: both in every step.
                        if mid not in held:
                            middle.append(
                                Note(onset, step_len * 0.9, mid, clamp_velocity(velocity))
                            )
                        if hi not in held:
                            top.append(Note(onset, step_len * 0.9, hi, clamp_velocity(velocity)))
                    elif which == 1:
                        middle.append(Note(onset, step_len * 0.95, mid, clamp_velocity(velocity)))
                    elif which == 2:
                        top.append(Note(onset, step_len * 0.95, hi, clamp_velocity(velocity * 0.9)))
                beat += figure.group_beats
        last = chords[-1]
        mid, hi = uppers[-1]
        closing = clamp_velocity(60 * ctx.mood.dynamics)
        middle.append(Note(last.start + 0.02, last.duration - 0.02, mid, closing))
        top.append(Note(last.start + 0.04, last.duration - 0.04, hi, closing))
        middle = [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in middle]
        top = [humanise(n, feel, rng, ctx.plan.tempo_bpm) for n in top]
        if quartet:
            assert counter is not None
            return [
                ("Viola", Role.CHORDS, program, -0.15, fit_range(middle, program)),
                ("Violin 2", Role.COUNTER, counter, -0.45, fit_range(top, counter)),
            ]
        name = "Piano LH" if program == 0 else "Accompaniment"
        return [(name, Role.CHORDS, program, -0.1, fit_range(sorted(middle + top), program))]


# helpers ------------------------------------------------------------------------------------------


def _ternary_labels(periods: int) -> list[str]:
    """A–B–A′: a third of the periods each, the returning A decorated (A′)."""
    if periods <= 1:
        return ["A"] * periods
    if periods == 2:
        return ["A", "A′"]
    first = periods // 3
    last = periods // 3
    middle = periods - first - last
    # Within the outer parts the period alternates plain and decorated, so it never just loops.
    outer = [("A", "A′")[i % 2] for i in range(first)]
    return outer + ["B"] * middle + ["A′"] * last


def _phrase_kind(sections: Sequence[Section], index: int) -> str:
    """What a section is in the period structure: intro, period, antecedent, consequent, contrast."""
    section = sections[index]
    if section.name in ("intro", "coda"):
        return "intro" if section.name == "intro" else "consequent"
    if section.name == "B":
        return "contrast"
    if section.bars >= 8:
        return "period"
    last = index == len(sections) - 2  # the section before "end"
    return "antecedent" if section.name == "A" and not last else "consequent"


def _section_harmony(
    section: Section,
    kind: str,
    antecedent: Sequence[str],
    consequent: Sequence[str],
    contrast: Sequence[str],
    tonic: str,
) -> list[str]:
    source = {
        "intro": [tonic],
        "period": [*antecedent, *consequent],
        "antecedent": list(antecedent),
        "consequent": list(consequent),
        "contrast": list(contrast),
    }[kind]
    bars = [source[i % len(source)] for i in range(section.bars)]
    if kind in ("period", "consequent") and (section.bars != len(source)):
        # An extended or shortened phrase still closes: its last two bars are the cadence.
        bars[-2:] = list(consequent[-2:])[-len(bars[-2:]) :]
    elif kind in ("antecedent", "contrast"):
        bars[-1] = "V"  # a half cadence: the question, and B's way back to A′
    return bars


def _pattern(ctx: PieceContext) -> Accompaniment:
    """Mood sets how busy the left hand is: 16th Alberti when energetic, broken chords when calm."""
    if ctx.mood.density >= 1.25:
        return ALBERTI_16THS
    if ctx.mood.density < 0.85:
        return ARPEGGIO
    return ALBERTI_8THS


def _bass_class(chord: Chord) -> int:
    return chord.bass if chord.bass is not None else chord.root


def _upper_pairs(chords: Sequence[ChordSpan], low: int, high: int) -> list[tuple[int, int]]:
    """The two chord tones above the bass for each chord, moving by the smallest steps.

    For seventh chords that is the 3rd and 7th (the tritone that wants to resolve); for triads the
    two tones the bass does not have, so an inverted chord still sounds its root.
    """
    out: list[tuple[int, int]] = []
    previous: tuple[int, ...] | None = None
    centre = (low + high) / 2
    for span in chords:
        tones = chord_pitch_classes(span.chord)
        if len(tones) >= 4:
            pair = (tones[1], tones[3])
        else:
            rest = [pc for pc in tones if pc != _bass_class(span.chord)]
            pair = (rest[0], rest[1]) if len(rest) >= 2 else (tones[1], tones[2])
        candidates = [v for v in candidate_voicings(pair, low, high) if v[1] - v[0] <= 9]
        if not candidates:
            candidates = candidate_voicings(pair, low, high)

        def cost(voicing: tuple[int, ...], prev: tuple[int, ...] | None = previous) -> float:
            drift = abs(sum(voicing) / 2 - centre)
            return drift if prev is None else movement(prev, voicing) + 0.3 * drift

        best = min(candidates, key=cost)
        out.append((best[0], best[1]))
        previous = best
    return out


SECTION_LEVEL = MappingProxyType(
    {"intro": 0.8, "A": 0.9, "B": 1.05, "A′": 1.0, "coda": 0.88, "end": 0.85}
)
PHRASE_ARC = (0.92, 1.0, 1.08, 0.94)


class _Dynamics:
    """Velocity arcs: each 4-bar phrase swells to its third bar and eases off; B is louder."""

    def __init__(self, sections: Sequence[Section], beats_per_bar: int, mood_dynamics: float):
        self._sections = tuple(sections)
        self._bpb = beats_per_bar
        self._mood = mood_dynamics

    def at(self, beat: float) -> float:
        bar = int(beat // self._bpb)
        section = next(
            (s for s in self._sections if s.start_bar <= bar < s.start_bar + s.bars),
            self._sections[-1],
        )
        arc = PHRASE_ARC[((bar - section.start_bar) % 4)]
        return self._mood * SECTION_LEVEL.get(section.name, 1.0) * arc


def _cadential_gesture(
    end: float, anchor: int, scale: Sequence[int], voice: Voice, rng: random.Random
) -> tuple[list[Note], int]:
    """A sting's melody: 5̂ 4̂ 3̂ 2̂ stepping down over the cadence, so the tonic after it closes."""
    pitch = nearest_pitch(anchor + 4, (scale[4],), voice.low, voice.high)
    step = end / 4
    notes = []
    for index, degree in enumerate((4, 3, 2, 1)):
        pitch = nearest_pitch(
            pitch - 1.5 if index else pitch, (scale[degree],), voice.low, voice.high
        )
        velocity = voice.velocity * (1.05 if index == 0 else 0.95) + rng.gauss(0, 3)
        notes.append(Note(index * step, step * 0.95, pitch, clamp_velocity(velocity)))
    return notes, pitch


def _ornament(notes: list[Note], ladder: list[int]) -> list[Note]:
    """Fill melodic thirds with a passing note: a quarter followed by a third becomes two 8ths."""
    out: list[Note] = []
    for index, note in enumerate(notes):
        nxt = notes[index + 1] if index + 1 < len(notes) else None
        if (
            nxt is not None
            and note.duration >= 0.9
            and abs(nxt.pitch - note.pitch) in (3, 4)
            and note.pitch in ladder
            and nxt.pitch in ladder
            and abs(ladder.index(nxt.pitch) - ladder.index(note.pitch)) == 2
        ):
            half = (nxt.start - note.start) / 2
            passing = ladder[(ladder.index(note.pitch) + ladder.index(nxt.pitch)) // 2]
            out.append(Note(note.start, half * 0.95, note.pitch, note.velocity))
            out.append(Note(note.start + half, half * 0.95, passing, max(1, note.velocity - 6)))
        else:
            out.append(note)
    return out


def _chromatic_chord_tones(
    notes: list[Note], chord_at: ChordTimeline, scale: Sequence[int]
) -> list[Note]:
    """Over a chord with a tone outside the key (a secondary dominant's leading tone, minor's
    raised 7th), a melody note a semitone from that tone takes it instead of clashing with it."""
    out = []
    for note in notes:
        tones = chord_pitch_classes(chord_at(note.start))
        chromatic = [pc for pc in tones if pc not in scale]
        pitch = note.pitch
        if pitch % 12 not in tones:
            for pc in chromatic:
                if (pitch + 1) % 12 == pc:
                    pitch += 1
                    break
                if (pitch - 1) % 12 == pc:
                    pitch -= 1
                    break
        out.append(
            note if pitch == note.pitch else Note(note.start, note.duration, pitch, note.velocity)
        )
    return out


# Outer-voice counterpoint ------------------------------------------------------------------------

GRID = 0.125  # beats: onsets are compared on a 32nd grid so humanising jitter does not matter

# One moment of the outer voices: time, and the index of the melody and bass note sounding.
Event = tuple[float, int | None, int | None]


def _snap(beat: float) -> float:
    return round(beat / GRID) * GRID


def _sounding(notes: Sequence[Note], starts: list[float], time: float, highest: bool) -> int | None:
    """The index of the highest (or lowest) note sounding at `time`; notes sorted by start."""
    found: int | None = None
    index = bisect.bisect_right(starts, time + 1e-9) - 1
    # Lines are nearly monophonic: only the last few notes begun can still be sounding.
    for i in range(index, max(-1, index - 4), -1):
        note = notes[i]
        sounding = starts[i] <= time < starts[i] + note.duration - 0.03
        if sounding and (found is None or (note.pitch > notes[found].pitch) == highest):
            found = i
    return found


def outer_voice_events(melody: Sequence[Note], bass: Sequence[Note]) -> list[Event]:
    """At every onset of either voice: which melody note (highest) and bass note (lowest) sound.

    Both note sequences must be sorted by start.
    """
    melody_starts = [_snap(n.start) for n in melody]
    bass_starts = [_snap(n.start) for n in bass]
    onsets = sorted(set(melody_starts) | set(bass_starts))
    return [
        (
            time,
            _sounding(melody, melody_starts, time, True),
            _sounding(bass, bass_starts, time, False),
        )
        for time in onsets
    ]


def _is_parallel(before: Event, after: Event, melody: Sequence[int], bass: Sequence[Note]) -> bool:
    """Both voices move and a fifth (or octave/unison) follows the same interval."""
    _, m1, b1 = before
    _, m2, b2 = after
    if m1 is None or b1 is None or m2 is None or b2 is None:
        return False
    top1, top2, low1, low2 = melody[m1], melody[m2], bass[b1].pitch, bass[b2].pitch
    if top1 == top2 or low1 == low2:
        return False
    first, second = (top1 - low1) % 12, (top2 - low2) % 12
    return first == second and first in (0, 7)


def parallel_perfects(melody: Sequence[Note], bass: Sequence[Note]) -> list[float]:
    """Times where the outer voices move in consecutive fifths or octaves (any direction)."""
    melody, bass = sorted(melody), sorted(bass)
    events = outer_voice_events(melody, bass)
    pitches = [n.pitch for n in melody]
    return [
        after[0]
        for before, after in itertools.pairwise(events)
        if _is_parallel(before, after, pitches, bass)
    ]


def avoid_parallel_perfects(
    melody: list[Note],
    bass: list[Note],
    chord_at: ChordTimeline,
    tonic: int,
    mode: str,
    beats_per_bar: int = 4,
) -> list[Note]:
    """Re-pitch melody notes that make consecutive fifths or octaves with the bass.

    The later note of the pair moves to the nearest other chord tone (a scale step off the beat)
    that is clean against its neighbours; the final tonic stays, so there the earlier note moves.
    """
    scale = scale_pitch_classes(tonic, mode)
    notes, bass = sorted(melody), sorted(bass)
    if not notes:
        return notes
    events = outer_voice_events(notes, bass)
    pitches = [n.pitch for n in notes]
    low, high = min(pitches), max(pitches)
    spans: dict[int, tuple[int, int]] = {}
    for position, (_, index, _) in enumerate(events):
        if index is not None:
            first, _ = spans.get(index, (position, position))
            spans[index] = (first, position)
    final = len(notes) - 1

    def clean(index: int) -> bool:
        first, last = spans[index]
        return not any(
            _is_parallel(events[k - 1], events[k], pitches, bass)
            for k in range(max(1, first), min(len(events), last + 2))
        )

    def repitch(index: int) -> bool:
        note = notes[index]
        on_beat = abs(note.start - round(note.start)) < 0.05
        pool = chord_core(chord_at(note.start)) if on_beat else tuple(scale)
        original = pitches[index]
        candidates = sorted(
            (p for p in range(low, high + 1) if p % 12 in pool and p != original),
            key=lambda p: abs(p - original),
        )
        for pitch in candidates[:8]:
            pitches[index] = pitch
            if clean(index):
                return True
        pitches[index] = original
        return False

    for k in range(1, len(events)):
        if not _is_parallel(events[k - 1], events[k], pitches, bass):
            continue
        later, earlier = events[k][1], events[k - 1][1]
        if later is not None and spans[later][0] != k:
            later = None  # held over a bass change: only the earlier note can move
        order = [later, earlier]
        if later is not None and abs(notes[later].start % beats_per_bar) < 0.05:
            # A downbeat note is the head of a motif or a cadence: bend the note before it.
            order.reverse()
        for index in order:
            if index is not None and index != final and repitch(index):
                break
    return [
        n if p == n.pitch else Note(n.start, n.duration, p, n.velocity)
        for n, p in zip(notes, pitches, strict=True)
    ]


def _section_name(sections: Sequence[Section], beat: float, beats_per_bar: int) -> str:
    bar = int(beat // beats_per_bar)
    for section in sections:
        if section.start_bar <= bar < section.start_bar + section.bars:
            return section.name
    return sections[-1].name


def _track(
    name: str,
    role: Role,
    program: int,
    pan: float,
    volume: float,
    reverb: float,
    notes: Sequence[Note],
    ctx: PieceContext,
) -> Track:
    controls: tuple[ControlChange, ...] = ()
    if program in (40, 41, 42, 48):
        controls = _phrase_swells(ctx)
    return Track(
        name,
        role,
        program,
        pan=pan,
        volume=volume,
        effects=Effects(reverb=min(1.0, reverb)),
        notes=tuple(sorted(fit_range(notes, program))),
        controls=controls,
    )


def _phrase_swells(ctx: PieceContext) -> tuple[ControlChange, ...]:
    """Bowed strings shape each 4-bar phrase with expression (CC11): a hairpin < >."""
    bpb = ctx.plan.beats_per_bar
    out: list[ControlChange] = []
    phrase = 4 * bpb
    beat = 0.0
    while beat < ctx.plan.final_start - 1e-6:
        for fraction, value in ((0.0, 92), (0.6, 118), (1.0, 96)):
            out.append(ControlChange(beat + fraction * phrase * 0.98, 11, value))
        beat += phrase
    out.append(ControlChange(ctx.plan.final_start, 11, 110))
    return tuple(sorted(out))
