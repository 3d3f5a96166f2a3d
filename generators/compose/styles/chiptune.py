"""Chiptune: four voices like the NES (two pulses, a triangle, a noise channel), 1/32 arpeggios
instead of held chords, a leaping square-wave tune and a loopable A–B form, dead on the grid."""

from __future__ import annotations

import random
from collections.abc import Sequence

from generators.compose.arrangement import Band, ChordTimeline, fit_range, playable_range
from generators.compose.form import TimePlan, arrange_sections, section_at
from generators.compose.harmony import voice_lead
from generators.compose.melody import Motif, Rhythm, Voice
from generators.compose.mood import MoodProfile, is_minor
from generators.compose.parts import (
    bar_spans,
    closing_tonic,
    harmony_with_ending,
    loop_to,
    phrase,
    pickup_run,
)
from generators.compose.rhythm import CLOSED_HAT, CRASH, KICK, SNARE, Feel, clamp_velocity
from generators.compose.styles.base import PieceContext, Written
from generators.compose.theory import nearest_pitch, scale_pitch_classes
from generators.score import ChordSpan, Effects, Note, Role, Section, Track

# A loops on the tonic; B wanders and turns around on V so the piece can loop back to A.
MAJOR_A = (("I:maj", "V:maj", "vi:min", "IV:maj"), ("I:maj", "bVII:maj", "IV:maj", "I:maj"))
MAJOR_B = (("IV:maj", "V:maj", "iii:min", "vi:min", "ii:min", "IV:maj", "V:maj", "V:maj"),
           ("vi:min", "IV:maj", "I:maj", "V:maj"))  # fmt: skip
MINOR_A = (("i:min", "bVI:maj", "bVII:maj", "i:min"), ("i:min", "bVII:maj", "bVI:maj", "bVII:maj"))
MINOR_B = (("iv:min", "bVII:maj", "bIII:maj", "bVI:maj", "iv:min", "bVI:maj", "V:maj", "V:maj"),
           ("bVI:maj", "bVII:maj", "i:min", "V:maj"))  # fmt: skip
INTRO = ("V:maj",)

# 16th grid: bouncy, syncopated game-tune rhythms with room for leaps.
LEAD_RHYTHMS: tuple[Rhythm, ...] = (
    ((0, 2), (2, 2), (4, 2), (6, 2), (8, 4), (12, 4)),
    ((0, 3), (3, 3), (6, 2), (8, 2), (10, 2), (12, 4)),
    ((0, 2), (2, 1), (3, 1), (4, 4), (8, 2), (10, 6)),
    ((0, 4), (4, 2), (6, 2), (8, 3), (11, 1), (12, 4)),
    ((0, 1), (1, 1), (2, 2), (4, 2), (6, 2), (8, 8)),
)
# Scale-step moves a catchy chip tune leaps by: thirds, fourths, fifths and the odd octave.
LEAPS = (-7, -4, -3, -2, -1, 1, 2, 3, 4, 5, 7)
LEAP_WEIGHTS = (1, 3, 4, 3, 2, 2, 3, 4, 3, 2, 1)

# The noise channel, one hit at a time on the 8th grid: k kick, s snare, h hat, . rest.
NOISE_A = "khshkhsh"
NOISE_B = "khshkkshkhshkhsh"  # 16ths in B: busier
NOISE_INTRO = "h.h.h.hh"
NOISE_KEYS = {"k": KICK, "s": SNARE, "h": CLOSED_HAT}
NOISE_LENGTH = {KICK: 0.12, SNARE: 0.2, CLOSED_HAT: 0.06}

# Machine-tight: no timing jitter anywhere, accents only where written.
TIGHT = Feel(swing=0.5, steps_per_beat=4, timing_sd_ms=0.0, velocity_sd=0.0)
ARP_STEP = 0.125  # a 32nd note, in beats


class ChiptuneStyle:
    genre = "chiptune"
    beats_per_bar = 4
    release_s = 0.9  # the 2A03 has no reverb: a short, dry ring-out
    phrase_bars = 4
    default_moods = ("happy", "energetic", "epic", "happy", "tense")
    modes = ("major", "mixolydian", "minor", "dorian")
    keys = (0, 2, 7, 9, 5, 4)

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        return None

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]:
        return (120.0, 170.0)

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band:
        # Four channels and no more: no pad, no counter-melody.
        return Band(lead=80, chords=81, bass=rng.choice((38, 80)), drums=rng.choice((24, 25)))

    def sections(
        self, plan: TimePlan, variant: str | None, rng: random.Random
    ) -> tuple[Section, ...]:
        n = plan.body_bars
        phrase_bars = 8 if n >= 40 else 4
        intro = 1 if n >= 10 else 0
        return arrange_sections(n, phrase_bars, ("A", "B"), intro, 0)

    def write(self, ctx: PieceContext) -> Written:
        plan, band, bpb = ctx.plan, ctx.band, ctx.plan.beats_per_bar
        minor = is_minor(ctx.mode)
        rng = ctx.rng("harmony")
        loops = {
            "intro": INTRO,
            "A": rng.choice(MINOR_A if minor else MAJOR_A),
            "B": rng.choice(MINOR_B if minor else MAJOR_B),
        }
        body: list[ChordSpan] = []
        for section in ctx.sections[:-1]:
            body += bar_spans(
                loop_to(loops[section.name], section.bars), ctx.tonic, section.start_bar, bpb
            )
        cadence = ("bVI:maj bVII:maj",) if minor else ("IV:maj V:maj",)
        chords = harmony_with_ending(body, plan, ctx.tonic, cadence, "i:min" if minor else "I:maj")
        tracks: list[Track] = []
        if band.chords is not None:
            tracks.append(self._arpeggio(ctx, chords, band.chords))
        if band.bass is not None:
            tracks.append(self._triangle(ctx, chords, band.bass))
        if band.drums is not None:
            tracks.append(self._noise(ctx, chords, band.drums))
        if band.lead is not None:
            tracks.append(self._lead(ctx, ChordTimeline(chords), band.lead))
        return Written(chords=chords, tracks=tuple(tracks), swing=0.5)

    # the four channels -------------------------------------------------------------------------

    def _arpeggio(self, ctx: PieceContext, chords: tuple[ChordSpan, ...], program: int) -> Track:
        """Pulse 2: each chord as a 1/32 arpeggio under the tune, spanning two octaves in B; the
        final chord keeps spinning until its ring-out."""
        bpb, dyn = ctx.plan.beats_per_bar, ctx.mood.dynamics
        voicings = voice_lead([span.chord for span in chords], "close", 50, 67)
        notes: list[Note] = []
        for span, voicing in zip(chords, voicings, strict=True):
            name = section_at(ctx.sections, int(span.start // bpb)).name
            tones = list(voicing)
            if name == "B":
                tones += [p + 12 for p in voicing]
            # Up and back down, the way a tracker's arpeggio table spins through a chord.
            cycle = [*tones, tones[0] + 12 * (len(tones) // len(voicing)), *tones[:0:-1]]
            count = round(span.duration / ARP_STEP)
            for index in range(count):
                start = span.start + index * ARP_STEP
                accent = 1.15 if abs(start - round(start)) < 1e-9 else 1.0
                velocity = 70 * dyn * accent * (1.08 if name == "B" else 1.0)
                notes.append(
                    Note(start, ARP_STEP * 0.9, cycle[index % len(cycle)], clamp_velocity(velocity))
                )
        return Track(
            "Pulse 2 arpeggio",
            Role.CHORDS,
            program,
            pan=-0.2,
            volume=0.55,
            effects=Effects(reverb=0.0, chorus=0.0),
            notes=tuple(_monophonic(fit_range(notes, program))),
        )

    def _triangle(self, ctx: PieceContext, chords: tuple[ChordSpan, ...], program: int) -> Track:
        """Triangle: 8ths jumping root–octave in A, root–fifth–octave–fifth in B."""
        bpb, dyn = ctx.plan.beats_per_bar, ctx.mood.dynamics
        low, high = max(36, playable_range(program)[0]), 62
        notes: list[Note] = []
        root = 43
        for span in chords[:-1]:
            name = section_at(ctx.sections, int(span.start // bpb)).name
            root = nearest_pitch(root, (span.chord.root,), low, low + 11)
            figure: tuple[int, ...] = (0, 7, 12, 7) if name == "B" else (0, 12)
            if name == "intro":
                figure = (0,)
            for eighth in range(round(span.duration * 2)):
                pitch = min(high, root + figure[eighth % len(figure)])
                accent = 1.1 if eighth % 2 == 0 else 0.95
                notes.append(
                    Note(span.start + eighth / 2, 0.42, pitch, clamp_velocity(96 * dyn * accent))
                )
        last = chords[-1]
        root = nearest_pitch(root, (last.chord.root,), low, low + 11)
        notes.append(Note(last.start, last.duration, root, clamp_velocity(100 * dyn)))
        return Track(
            "Triangle bass",
            Role.BASS,
            program,
            pan=0.0,
            volume=0.85,
            effects=Effects(reverb=0.0, chorus=0.0),
            notes=tuple(_monophonic(fit_range(notes, program))),
        )

    def _noise(self, ctx: PieceContext, chords: tuple[ChordSpan, ...], kit: int) -> Track:
        """Noise: one short hit at a time; kick and snare take the hat's place, a snare roll ends
        each section."""
        bpb, dyn = ctx.plan.beats_per_bar, ctx.mood.dynamics
        notes: list[Note] = []
        for section in ctx.sections[:-1]:
            lane = {"intro": NOISE_INTRO, "B": NOISE_B}.get(section.name, NOISE_A)
            if section.name == "A" and ctx.mood.density >= 1.2:
                lane = NOISE_B
            step = bpb / len(lane)
            for offset in range(section.bars):
                bar_start = float((section.start_bar + offset) * bpb)
                roll = offset == section.bars - 1 and section.bars >= 2
                for index, char in enumerate(lane):
                    at = index * step
                    if char == "." or (roll and at >= 3.0):
                        continue
                    key = NOISE_KEYS[char]
                    accent = 1.15 if at in (0.0, 2.0) or key == SNARE else 0.85
                    notes.append(
                        Note(
                            bar_start + at,
                            NOISE_LENGTH[key],
                            key,
                            clamp_velocity(90 * dyn * accent),
                        )
                    )
                if roll:  # a 16th snare roll into the next section, getting louder
                    for sixteenth in range(4):
                        velocity = (80 + sixteenth * 10) * dyn
                        notes.append(
                            Note(
                                bar_start + 3 + sixteenth / 4, 0.1, SNARE, clamp_velocity(velocity)
                            )
                        )
        final = chords[-1]
        notes.append(Note(final.start, min(1.0, final.duration), CRASH, clamp_velocity(100 * dyn)))
        return Track(
            "Noise drums",
            Role.DRUMS,
            kit,
            is_drum=True,
            pan=0.0,
            volume=0.7,
            effects=Effects(reverb=0.0, chorus=0.0),
            notes=tuple(_monophonic(notes)),
        )

    def _lead(self, ctx: PieceContext, chord_at: ChordTimeline, program: int) -> Track:
        """Pulse 1: a leaping, catchy square-wave tune; A states it, B answers higher, A returns."""
        rng = ctx.rng("melody")
        dyn = ctx.mood.dynamics
        low, high = playable_range(program)
        centre = 74 + ctx.mood.register
        scale = scale_pitch_classes(ctx.tonic, ctx.mode)
        home = (
            ctx.tonic,
            (ctx.tonic + (3 if is_minor(ctx.mode) else 4)) % 12,
            (ctx.tonic + 7) % 12,
        )
        anchor = nearest_pitch(centre, home, low, high)
        low, high = max(low, anchor - 9), min(high, anchor + 14)
        voice = Voice(low, high, scale, 4, round(96 * dyn), allow_tensions=False, legato=0.85)
        motif = _catchy_motif(rng)
        answer = _catchy_motif(rng)
        b_motif = _catchy_motif(rng)
        ladder = [p for p in range(low, high + 1) if p % 12 in scale]
        b_anchor = ladder[min(len(ladder) - 1, ladder.index(anchor) + 3)]
        notes: list[Note] = []
        for section in ctx.sections[:-1]:
            if section.name == "intro":
                continue
            if section.name == "B":
                written, _ = phrase(
                    b_motif, answer, section, ctx.plan, b_anchor, voice, TIGHT, chord_at, rng,
                    "MSAC", 1.05,
                )  # fmt: skip
            else:
                written, _ = phrase(
                    motif, answer, section, ctx.plan, anchor, voice, TIGHT, chord_at, rng,
                    "MAMC", 1.0,
                )  # fmt: skip
            notes += written
        final = chord_at.spans[-1]
        notes = [n for n in notes if n.end <= final.start + 1e-6]
        if not notes:
            notes = pickup_run(final.start, ladder, anchor, round(96 * dyn), stride=2, length=0.4)
        tonic = closing_tonic([n.pitch for n in notes], ctx.tonic, low, high)
        notes.append(Note(final.start, final.duration, tonic, clamp_velocity(100 * dyn)))
        return Track(
            "Pulse 1 lead",
            Role.LEAD,
            program,
            pan=0.15,
            volume=0.8,
            effects=Effects(reverb=0.0, chorus=0.0),
            notes=tuple(_monophonic(fit_range(notes, program))),
        )


def _catchy_motif(rng: random.Random) -> Motif:
    """A one-bar game tune: a bouncy rhythm and a contour of leaps (a leap is followed by a step
    back the other way, so it stays singable)."""
    rhythm = rng.choice(LEAD_RHYTHMS)
    steps = [0]
    for _ in rhythm[1:]:
        if abs(steps[-1]) >= 3:
            steps.append(-rng.choice((1, 2)) if steps[-1] > 0 else rng.choice((1, 2)))
        else:
            steps.append(rng.choices(LEAPS, weights=LEAP_WEIGHTS)[0])
    return Motif(rhythm, tuple(steps))


def _monophonic(notes: Sequence[Note]) -> list[Note]:
    """One channel, one voice: each note stops before the next starts (the 2A03 cannot chord)."""
    ordered = sorted(notes, key=lambda n: (n.start, -n.velocity))
    out: list[Note] = []
    for note in ordered:
        if out and note.start - out[-1].start < 1e-6:
            continue  # two notes at one instant: the louder one wins the channel
        if out and out[-1].end > note.start - 0.01:
            previous = out[-1]
            out[-1] = Note(
                previous.start,
                max(0.02, note.start - previous.start - 0.01),
                previous.pitch,
                previous.velocity,
            )
        out.append(note)
    return out
