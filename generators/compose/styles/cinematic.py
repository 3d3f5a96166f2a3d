"""Cinematic: string ostinati over low pedals, horns and trumpets, choir, harp, timpani and taiko,
building in layers to a climax with big hits on section downbeats."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from generators.compose.arrangement import Band, ChordTimeline, fit_range, playable_range
from generators.compose.form import TimePlan
from generators.compose.harmony import voice_lead
from generators.compose.melody import Voice, make_motif
from generators.compose.mood import MoodProfile, is_minor
from generators.compose.parts import bar_spans, harmony_with_ending, lead_register, phrase
from generators.compose.rhythm import (
    CRASH,
    LOW_TOM,
    RIDE,
    Feel,
    clamp_velocity,
    humanise,
    pattern,
    play_pattern,
)
from generators.compose.styles.base import PieceContext, Written
from generators.compose.theory import chord_core, chord_pitch_classes, nearest_pitch
from generators.compose.theory import scale_pitch_classes as scale_of
from generators.score import Chord, ChordSpan, ControlChange, Effects, Note, Role, Section, Track

# Extra GM programs every piece uses besides the band's roles (the orchestra's fixed seats).
TIMPANI = 47
HARP = 46
PIZZICATO = 45
LOW_BRASS = 57  # trombones: the brass pedal under the climax

BASS_DRUM = 35  # the orchestral kit's concert bass drum, under every big hit

# Four-bar loops, one chord a bar. Minor epic first; the others for moods that ask for them.
LOOPS: Mapping[str, tuple[tuple[str, ...], ...]] = MappingProxyType(
    {
        "minor": (
            ("i", "bVI", "bIII", "bVII"),
            ("i", "iv", "bVI", "V"),
            ("i", "bVI", "iv", "V"),
            ("i", "bVII", "bVI", "bVII"),
        ),
        "major": (("I", "V", "vi", "IV"), ("I", "bVII", "IV", "I"), ("vi", "IV", "I", "V")),
        "phrygian": (("i", "bII", "i", "bVII"), ("i", "bII", "bVII", "i")),
        "dorian": (("i", "IV", "bVII", "i"), ("i", "bIII", "IV", "i")),
    }
)
# Over a held tonic pedal in the bass: the quiet sections hover before anything moves.
PEDAL_LOOPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "minor": ("i", "bVI:maj/i", "iv:min/i", "i"),
        "major": ("I", "IV:maj/I", "V:maj/I", "I"),
        "phrygian": ("i", "bII:maj/i", "i", "bvii:min/i"),
        "dorian": ("i", "IV:maj/i", "i", "bVII:maj/i"),
    }
)
CADENCES: Mapping[str, tuple[tuple[str, ...], ...]] = MappingProxyType(
    {
        "minor": (("bVI bVII",), ("iv V",)),  # the Aeolian "epic" cadence, or the classical one
        "major": (("IV V",), ("bVI bVII",)),
        "phrygian": (("bII",),),
        "dorian": (("IV bVII",),),
    }
)

# Melody rhythms on an 8th grid: long notes, dotted heroic figures, pickups into the bar.
EPIC_RHYTHMS = (
    ((0, 3), (3, 1), (4, 4)),
    ((0, 2), (2, 2), (4, 4)),
    ((0, 6), (6, 1), (7, 1)),
    ((0, 4), (4, 2), (6, 2)),
    ((0, 3), (3, 1), (4, 2), (6, 2)),
)
SHAPES: Mapping[str, str] = MappingProxyType(
    {"build": "MRAR", "climax": "MSAC", "lull": "FRRR", "outro": "FRRR"}
)
# String ostinato figures: which voicing note on each step (0 lowest).
OSTINATI = ((0, 1, 2, 1), (0, 2, 1, 2), (0, 0, 2, 1), (2, 1, 0, 1))

# Kick = the orchestral kit's concert bass drum, toms = taiko.
TAIKO = pattern(
    kick="X..x..x.X...x.x.",
    low_tom="..o..o....o..o.o",
    mid_tom="............x...",
)
TAIKO_BUILD = pattern(kick="x.......x.......", low_tom="....o.......o...")


@dataclass(frozen=True, slots=True)
class Layer:
    """How loud a section is and who plays in it: the arrangement grows layer by layer."""

    level: float  # velocity multiplier
    expression: tuple[int, int]  # CC11 from the section's start to its end: a swell or a fade
    ostinato: bool
    pizzicato: bool
    horns: bool
    brass: bool  # trumpets doubling, trombone pedal
    choir: bool
    drums: bool
    pedal: bool  # low strings hold the tonic instead of following the roots


LAYERS: Mapping[str, Layer] = MappingProxyType(
    {
        "intro": Layer(0.62, (55, 80), False, True, False, False, False, False, True),
        "build": Layer(0.8, (70, 118), True, False, True, False, False, True, False),
        "climax": Layer(1.05, (112, 124), True, False, True, True, True, True, False),
        "lull": Layer(0.6, (90, 65), False, True, True, False, False, False, True),
        "outro": Layer(0.7, (100, 60), True, True, True, False, True, False, True),
        "end": Layer(1.0, (118, 100), True, False, True, True, True, True, False),
    }
)


class CinematicStyle:
    genre = "cinematic"
    beats_per_bar = 4
    release_s = 3.2
    phrase_bars = 4
    default_moods = ("epic", "dark", "tense", "sad", "mysterious")
    modes = ("minor", "major", "phrygian", "dorian")
    keys = (2, 9, 4, 0, 7, 5)  # D, A, E, C, G, F: open strings ring and timpani tune well

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        return None

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]:
        return (70.0, 110.0)

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band:
        return Band(lead=60, chords=48, bass=43, drums=48, pad=52, counter=56)

    def sections(
        self, plan: TimePlan, variant: str | None, rng: random.Random
    ) -> tuple[Section, ...]:
        """One arc (intro, build, climax, outro), or two with a lull between them in long pieces."""
        n = plan.body_bars
        if n <= 0:
            return (Section("end", 0, 1),)
        if n < 4:
            plan_: tuple[tuple[str, float], ...] = (("climax", 1.0),)
        elif n < 8:
            plan_ = (("build", 0.5), ("climax", 0.5))
        elif n < 16:
            plan_ = (("intro", 0.25), ("build", 0.3), ("climax", 0.45))
        elif n < 48:
            plan_ = (("intro", 0.2), ("build", 0.35), ("climax", 0.33), ("outro", 0.12))
        else:
            plan_ = (
                ("intro", 0.1),
                ("build", 0.18),
                ("climax", 0.2),
                ("lull", 0.1),
                ("build", 0.14),
                ("climax", 0.2),
                ("outro", 0.08),
            )
        lengths = [max(2, round(n * share / 2) * 2) for _, share in plan_]
        lengths[-1] = 0
        lengths[-1] = n - sum(lengths)
        while lengths[-1] < 2 and len(lengths) > 1:
            biggest = max(range(len(lengths) - 1), key=lambda i: lengths[i])
            lengths[biggest] -= 2
            lengths[-1] += 2
        sections: list[Section] = []
        bar = 0
        for (name, _), bars in zip(plan_, lengths, strict=True):
            sections.append(Section(name, bar, bars))
            bar += bars
        sections.append(Section("end", bar, 1))
        return tuple(sections)

    def write(self, ctx: PieceContext) -> Written:
        plan, band = ctx.plan, ctx.band
        bpb = plan.beats_per_bar
        mode = ctx.mode if ctx.mode in LOOPS else ("minor" if is_minor(ctx.mode) else "major")
        rng = ctx.rng("harmony")
        loop = rng.choice(LOOPS[mode])
        body: list[ChordSpan] = []
        for section in ctx.sections[:-1]:
            if LAYERS[section.name].pedal:
                # Two bars a chord over the pedal: the quiet sections breathe slowly.
                source = PEDAL_LOOPS[mode]
                bars = [source[(i // 2) % len(source)] for i in range(section.bars)]
            else:
                bars = [loop[i % len(loop)] for i in range(section.bars)]
            body += bar_spans(bars, ctx.tonic, section.start_bar, bpb)
        cadence = rng.choice(CADENCES[mode])
        picardy = mode == "minor" and rng.random() < 0.35
        final = "I" if picardy or mode == "major" else "i"
        chords = harmony_with_ending(body, plan, ctx.tonic, cadence, final)
        chord_at = ChordTimeline(chords)
        score = _Orchestra(ctx, chords, chord_at, mode)

        tracks: list[Track] = []
        if band.bass is not None:
            tracks.append(score.low_strings(band.bass))
            tracks.append(score.brass_pedal())
        if band.chords is not None:
            tracks.append(score.ostinato(band.chords))
            tracks.append(score.pizzicato())
        tracks.append(score.harp())
        if band.pad is not None:
            tracks.append(score.choir(band.pad))
        theme = score.melody(band.lead) if band.lead is not None else None
        if band.counter is not None:
            tracks.append(score.trumpets(band.counter, theme.notes if theme else ()))
        if band.drums is not None:
            tracks.append(score.timpani())
            tracks.append(score.drums(band.drums))
        if theme is not None:
            tracks.append(theme)
        return Written(chords=chords, tracks=tuple(t for t in tracks if t.notes), swing=0.5)


class _Orchestra:
    """The parts of one piece, written against its sections, chords and dynamics."""

    def __init__(
        self, ctx: PieceContext, chords: tuple[ChordSpan, ...], chord_at: ChordTimeline, mode: str
    ) -> None:
        self.ctx = ctx
        self.chords = chords
        self.chord_at = chord_at
        self.bpb = ctx.plan.beats_per_bar
        self.scale = scale_of(ctx.tonic, ctx.mode)
        self.feel = Feel(swing=0.5, steps_per_beat=4, timing_sd_ms=5.0, velocity_sd=4.0)
        self.reverb = min(1.0, 0.55 + ctx.mood.reverb)
        self.final = chords[-1]
        self.end = self.final.start + self.final.duration
        # Downbeats where a climax (or the final chord) lands: the big hits.
        self.arrivals = tuple(
            float(s.start_bar * self.bpb) for s in ctx.sections if s.name in ("climax", "end")
        )

    # helpers ---------------------------------------------------------------------------------

    def section_at(self, beat: float) -> Section:
        bar = int(beat // self.bpb)
        for section in self.ctx.sections:
            if section.start_bar <= bar < section.start_bar + section.bars:
                return section
        return self.ctx.sections[-1]

    def layer(self, beat: float) -> Layer:
        return LAYERS[self.section_at(beat).name]

    def level(self, beat: float) -> float:
        """Section loudness, rising through a build: the crescendo in the velocities."""
        section = self.section_at(beat)
        base = LAYERS[section.name].level
        if section.name == "build":
            progress = (beat - section.start_bar * self.bpb) / max(1, section.bars * self.bpb)
            base *= 0.85 + 0.3 * progress
        return base * self.ctx.mood.dynamics

    def body(self) -> tuple[ChordSpan, ...]:
        return self.chords[:-1]

    def expression(self) -> tuple[ControlChange, ...]:
        """CC11 per section: swells through builds, held high at the climax, fading in the outro."""
        out: list[ControlChange] = []
        for section in self.ctx.sections:
            start = float(section.start_bar * self.bpb)
            end = self.end if section.name == "end" else start + section.bars * self.bpb
            low, high = LAYERS[section.name].expression
            ramp = _swell(start, end, low, high)
            # The next section starts its own curve on the boundary: one value per moment.
            out += ramp if section.name == "end" else ramp[:-1]
        return tuple(out)

    def humanised(self, notes: Sequence[Note], part: str) -> list[Note]:
        rng = self.ctx.rng(part)
        return [humanise(n, self.feel, rng, self.ctx.plan.tempo_bpm) for n in notes]

    def track(
        self,
        name: str,
        role: Role,
        program: int,
        pan: float,
        volume: float,
        notes: Sequence[Note],
        swells: bool = False,
    ) -> Track:
        return Track(
            name,
            role,
            program,
            pan=pan,
            volume=volume,
            effects=Effects(reverb=self.reverb),
            notes=tuple(sorted(fit_range(notes, program))),
            controls=self.expression() if swells else (),
        )

    # parts -----------------------------------------------------------------------------------

    def low_strings(self, program: int) -> Track:
        """Contrabasses: a tonic pedal in the quiet sections, roots in the build, driving 8ths in
        the climax."""
        low, high = 36, 52
        tonic = nearest_pitch(40, (self.ctx.tonic,), low, high)
        notes: list[Note] = []
        pitch = tonic
        for span in self.body():
            layer = self.layer(span.start)
            velocity = 80 * self.level(span.start)
            if layer.pedal:
                notes.append(
                    Note(span.start, span.duration * 0.98, tonic, clamp_velocity(velocity))
                )
                continue
            pitch = nearest_pitch(pitch, (span.chord.root,), low, high)
            if self.section_at(span.start).name == "climax":
                for step in range(round(span.duration * 2)):
                    accent = 1.1 if step % 4 == 0 else (0.8 if step % 2 else 0.95)
                    notes.append(
                        Note(span.start + step / 2, 0.45, pitch, clamp_velocity(velocity * accent))
                    )
            else:
                notes.append(
                    Note(span.start, span.duration * 0.98, pitch, clamp_velocity(velocity))
                )
        root = nearest_pitch(pitch, (self.final.chord.root,), low, high)
        notes.append(Note(self.final.start, self.final.duration, root, clamp_velocity(100)))
        notes.append(Note(self.final.start, self.final.duration, root + 12, clamp_velocity(88)))
        return self.track(
            "Low strings", Role.BASS, program, -0.15, 0.9, self.humanised(notes, "low"), True
        )

    def brass_pedal(self) -> Track:
        """Trombones hold tonic and fifth under the climax, whatever the harmony does above."""
        tonic = nearest_pitch(45, (self.ctx.tonic,), 40, 52)
        notes: list[Note] = []
        for section in self.ctx.sections[:-1]:
            if not LAYERS[section.name].brass:
                continue
            for bar in range(section.start_bar, section.start_bar + section.bars, 2):
                start = float(bar * self.bpb)
                length = min(2 * self.bpb, (section.start_bar + section.bars) * self.bpb - start)
                velocity = clamp_velocity(84 * self.level(start))
                notes.append(Note(start, length * 0.97, tonic, velocity))
                notes.append(Note(start, length * 0.97, tonic + 7, velocity - 8))
        velocity = clamp_velocity(92 * self.ctx.mood.dynamics)
        root = nearest_pitch(tonic, (self.final.chord.root,), 40, 55)
        notes.append(Note(self.final.start, self.final.duration, root, velocity))
        notes.append(Note(self.final.start, self.final.duration, root + 7, velocity - 6))
        return self.track(
            "Low brass", Role.BASS, LOW_BRASS, 0.2, 0.72, self.humanised(notes, "brass-pedal"), True
        )

    def ostinato(self, program: int) -> Track:
        """Repeated string figures on the chord: the motor of the piece. 16ths when the mood is
        driven, 8ths when it is not; an octave higher at the climax."""
        rng = self.ctx.rng("ostinato")
        figure = rng.choice(OSTINATI)
        step = 0.25 if self.ctx.mood.density >= 1.0 else 0.5
        voicings = voice_lead([s.chord for s in self.chords], "close", 50, 69)
        notes: list[Note] = []
        for span, voicing in zip(self.body(), voicings, strict=False):
            section = self.section_at(span.start)
            if not LAYERS[section.name].ostinato:
                continue
            lift = 12 if section.name == "climax" else 0
            triad = sorted(voicing)[:3]
            count = round(span.duration / step)
            for index in range(count):
                onset = span.start + index * step
                beat_start = abs(onset - round(onset)) < 1e-6
                accent = (
                    1.12
                    if beat_start and round(onset) % self.bpb == 0
                    else (1.0 if beat_start else 0.85)
                )
                pitch = triad[figure[index % len(figure)] % len(triad)] + lift
                velocity = 70 * self.level(onset) * accent
                notes.append(Note(onset, step * 0.8, pitch, clamp_velocity(velocity)))
        last = voicings[-1]
        for pitch in last:
            notes.append(
                Note(self.final.start, self.final.duration, pitch + 12, clamp_velocity(96))
            )
        return self.track(
            "Strings ostinato",
            Role.CHORDS,
            program,
            -0.35,
            0.78,
            self.humanised(notes, "ostinato-feel"),
            True,
        )

    def pizzicato(self) -> Track:
        """Plucked 8ths on chord tones in the quiet sections: motion without weight."""
        notes: list[Note] = []
        pitch = nearest_pitch(55, (self.ctx.tonic,), 48, 67)
        for span in self.body():
            if not LAYERS[self.section_at(span.start).name].pizzicato:
                continue
            tones = chord_core(span.chord)
            for index in range(round(span.duration * 2)):
                onset = span.start + index * 0.5
                target = pitch + (3 if index % 4 in (1, 2) else -3)
                pitch = nearest_pitch(target, tones, 48, 67)
                velocity = 62 * self.level(onset) * (1.1 if index % 2 == 0 else 0.85)
                notes.append(Note(onset, 0.3, pitch, clamp_velocity(velocity)))
        return self.track(
            "Pizzicato strings",
            Role.TEXTURE,
            PIZZICATO,
            0.35,
            0.7,
            self.humanised(notes, "pizz"),
        )

    def harp(self) -> Track:
        """Rising arpeggios every two bars in the quiet sections, a sweep into each climax, and a
        rolled final chord."""
        notes: list[Note] = []
        for span in self.body():
            section = self.section_at(span.start)
            bar = int(span.start // self.bpb)
            quiet = section.name in ("intro", "lull", "outro")
            before_arrival = any(abs(a - (bar + 1) * self.bpb) < 1e-6 for a in self.arrivals)
            if quiet and (bar - section.start_bar) % 2 == 0:
                notes += _arpeggio(
                    span.chord, span.start, 0.25, 16, 48, 88, 52 * self.level(span.start)
                )
            elif before_arrival and span.start % self.bpb == 0:
                # A two-beat sweep up into the downbeat of the climax.
                notes += _arpeggio(span.chord, span.start + 2, 0.125, 16, 52, 96, 70)
        notes += _arpeggio(
            self.final.chord, self.final.start, 0.06, 9, 43, 84, 80, hold=self.final.duration
        )
        return self.track("Harp", Role.TEXTURE, HARP, 0.45, 0.65, self.humanised(notes, "harp"))

    def choir(self, program: int) -> Track:
        """Choir "aahs" hold the chords at the climax and on the final chord."""
        voicings = voice_lead([s.chord for s in self.chords], "close", 55, 76)
        notes: list[Note] = []
        for span, voicing in zip(self.body(), voicings, strict=False):
            if not LAYERS[self.section_at(span.start).name].choir:
                continue
            velocity = clamp_velocity(78 * self.level(span.start))
            notes += [Note(span.start, span.duration * 0.98, p, velocity) for p in voicing[:3]]
        velocity = clamp_velocity(86 * self.ctx.mood.dynamics)
        notes += [
            Note(self.final.start, self.final.duration, p, velocity) for p in voicings[-1][:3]
        ]
        return self.track("Choir", Role.PAD, program, 0.25, 0.7, notes, True)

    def trumpets(self, program: int, theme: Sequence[Note]) -> Track:
        """Trumpets join the horns' theme at the climax, and stab chords on its downbeats and on
        the final chord: the fanfare's weight."""
        notes: list[Note] = [
            Note(n.start, n.duration, n.pitch, clamp_velocity(n.velocity * 0.92))
            for n in theme
            if self.section_at(n.start).name == "climax"
        ]
        voicings = voice_lead([s.chord for s in self.chords], "close", 60, 79)
        for span, voicing in zip(self.chords, voicings, strict=True):
            if span.start not in self.arrivals and not (
                LAYERS[self.section_at(span.start).name].brass and span.start % (2 * self.bpb) == 0
            ):
                continue
            final = span is self.final
            length = span.duration if final else 1.5
            velocity = clamp_velocity(
                100 * (self.ctx.mood.dynamics if final else self.level(span.start))
            )
            notes += [Note(span.start, length, p, velocity) for p in voicing[:3]]
        return self.track(
            "Trumpets", Role.COUNTER, program, 0.3, 0.7, self.humanised(notes, "trumpets")
        )

    def timpani(self) -> Track:
        """Tonic and fifth: hits on section downbeats, a pulse at the climax, rolls into arrivals."""
        tonic = nearest_pitch(45, (self.ctx.tonic,), 40, 52)
        fifth = nearest_pitch(tonic - 5, ((self.ctx.tonic + 7) % 12,), 36, 52)
        notes: list[Note] = []
        for section in self.ctx.sections[:-1]:
            start = float(section.start_bar * self.bpb)
            if section.name != "intro":
                notes.append(Note(start, 1.0, tonic, clamp_velocity(100 * self.level(start))))
            if section.name == "climax":
                for bar in range(section.start_bar, section.start_bar + section.bars):
                    for beat, pitch in ((0, tonic), (2, fifth)):
                        onset = float(bar * self.bpb + beat)
                        if onset == start:
                            continue
                        notes.append(
                            Note(onset, 0.9, pitch, clamp_velocity(82 * self.level(onset)))
                        )
        for arrival in self.arrivals:
            # A one-bar roll in 16ths, crescendo from pianissimo into the hit.
            begin = max(0.0, arrival - self.bpb)
            rolls = [n for n in notes if begin <= n.start < arrival]
            for note in rolls:
                notes.remove(note)
            count = round((arrival - begin) * 4)
            for index in range(count):
                velocity = 30 + 80 * index / max(1, count)
                notes.append(Note(begin + index / 4, 0.22, tonic, clamp_velocity(velocity)))
        notes.append(
            Note(self.final.start, min(2.0, self.final.duration), tonic, clamp_velocity(112))
        )
        return self.track("Timpani", Role.TEXTURE, TIMPANI, 0.0, 0.85, notes)

    def drums(self, kit: int) -> Track:
        """Taiko and toms: pulses in the build, the full pattern at the climax, crashes and a
        cymbal swell into every arrival."""
        rng = self.ctx.rng("drums")
        notes: list[Note] = []
        tempo = self.ctx.plan.tempo_bpm
        for section in self.ctx.sections[:-1]:
            if not LAYERS[section.name].drums:
                continue
            groove = TAIKO if section.name == "climax" else TAIKO_BUILD
            for bar in range(section.start_bar, section.start_bar + section.bars):
                bar_start = float(bar * self.bpb)
                if section.name == "build" and bar - section.start_bar < section.bars // 2:
                    continue  # the drums enter halfway through the build: another layer
                notes += play_pattern(
                    groove, bar_start, self.bpb, self.feel, rng, tempo, self.level(bar_start)
                )
        for arrival in self.arrivals:
            begin = max(0.0, arrival - self.bpb)
            count = round((arrival - begin) * 4)
            for index in range(count):  # suspended-cymbal roll: 16ths swelling into the crash
                velocity = 20 + 70 * index / max(1, count)
                notes.append(Note(begin + index / 4, 0.25, RIDE, clamp_velocity(velocity)))
            scale = self.ctx.mood.dynamics
            notes.append(Note(arrival, 2.0, CRASH, clamp_velocity(112 * scale)))
            notes.append(Note(arrival, 1.0, BASS_DRUM, clamp_velocity(120 * scale)))
            notes.append(Note(arrival, 1.0, LOW_TOM, clamp_velocity(100 * scale)))
        notes = [n for n in notes if n.start < self.end - 0.25]
        return Track(
            "Taiko & cymbals",
            Role.DRUMS,
            kit,
            is_drum=True,
            volume=0.8,
            effects=Effects(reverb=self.reverb),
            notes=tuple(sorted(notes)),
        )

    def melody(self, program: int) -> Track:
        """The horn theme: stated in the build, sung higher at the climax, a fragment when quiet."""
        rng = self.ctx.rng("melody")
        centre = 64 + self.ctx.mood.register
        low, high = lead_register(program, centre, 9, 12)
        if playable_range(program)[0] < 53 < high - 12:  # horns: keep the theme out of the mud
            low = max(low, 53)
        voice = Voice(low, high, self.scale, 2, 88, allow_tensions=False, legato=0.98)
        motif = make_motif(rng, EPIC_RHYTHMS, leap_chance=0.45)
        answer = make_motif(rng, EPIC_RHYTHMS, leap_chance=0.45)
        ladder = [p for p in range(low, high + 1) if p % 12 in self.scale]
        anchor = nearest_pitch(centre, (self.ctx.tonic,), low, high)
        notes: list[Note] = []
        pitch = anchor
        for section in self.ctx.sections[:-1]:
            if not LAYERS[section.name].horns:
                continue
            section_anchor = anchor
            if section.name == "climax":
                section_anchor = ladder[min(len(ladder) - 1, ladder.index(anchor) + 4)]
            written, pitch = phrase(
                motif,
                answer,
                section,
                self.ctx.plan,
                section_anchor,
                voice,
                self.feel,
                self.chord_at,
                rng,
                SHAPES[section.name],
                self.level(section.start_bar * self.bpb) / max(0.1, self.ctx.mood.dynamics),
            )
            notes += written
        notes = [n for n in notes if n.end <= self.final.start + 0.01]
        if self.ctx.plan.body_bars == 0:
            # A sting: a horn call rising a fourth over the cadence chord.
            dominant = nearest_pitch(anchor - 5, ((self.ctx.tonic + 7) % 12,), low, high)
            notes = [Note(0.0, 0.75, dominant, 90), Note(0.75, 0.25, dominant, 80)]
            pitch = dominant
        notes = _chromatic_chord_tones(notes, self.chord_at, self.scale)
        notes = [n for n in notes if n.end <= self.final.start + 0.01]
        tonic = nearest_pitch(pitch, (self.ctx.tonic,), low, high)
        notes.append(
            Note(
                self.final.start,
                self.final.duration,
                tonic,
                clamp_velocity(100 * self.ctx.mood.dynamics),
            )
        )
        return self.track(
            "Horns", Role.LEAD, program, 0.1, 0.86, self.humanised(notes, "horn-feel"), True
        )


def _arpeggio(
    chord: Chord,
    start: float,
    step: float,
    count: int,
    low: int,
    high: int,
    velocity: float,
    hold: float | None = None,
) -> list[Note]:
    """Chord tones rising from `low` one `step` apart, ringing on (a harp lets strings ring)."""
    tones = chord_pitch_classes(chord)
    pitches = [p for p in range(low, high + 1) if p % 12 in tones][:count]
    notes = []
    for index, pitch in enumerate(pitches):
        onset = start + index * step
        length = hold - index * step if hold is not None else max(0.5, 2.0 - index * step)
        notes.append(Note(onset, max(0.2, length), pitch, clamp_velocity(velocity + index)))
    return notes


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


def _chromatic_chord_tones(
    notes: list[Note], chord_at: ChordTimeline, scale: Sequence[int]
) -> list[Note]:
    """A melody note a semitone from a chord tone outside the key (V's leading tone in minor, a
    Picardy third) takes that tone instead of clashing with it."""
    out = []
    for note in notes:
        tones = chord_pitch_classes(chord_at(note.start))
        pitch = note.pitch
        if pitch % 12 not in tones:
            for pc in (pc for pc in tones if pc not in scale):
                if (pitch + 1) % 12 == pc or (pitch - 1) % 12 == pc:
                    pitch += 1 if (pitch + 1) % 12 == pc else -1
                    break
        out.append(
            note if pitch == note.pitch else Note(note.start, note.duration, pitch, note.velocity)
        )
    return out
