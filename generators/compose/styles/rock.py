"""Rock: a straight-8ths backbeat, picked bass locked to the kick, power chords and a pentatonic hook."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

from generators.compose.arrangement import Band, ChordTimeline, fit_range, playable_range
from generators.compose.form import TimePlan, arrange_sections, section_at
from generators.compose.harmony import voice_lead
from generators.compose.melody import Motif, Rhythm, Voice, make_motif
from generators.compose.mood import MoodProfile, is_minor
from generators.compose.parts import (
    bar_spans,
    closing_tonic,
    harmony_with_ending,
    lead_register,
    loop_to,
    phrase,
    pickup_run,
)
from generators.compose.rhythm import (
    CRASH,
    HIGH_TOM,
    KICK,
    LOW_TOM,
    MID_TOM,
    SNARE,
    DrumPattern,
    Feel,
    clamp_velocity,
    humanise,
    pattern,
    play_pattern,
)
from generators.compose.styles.base import PieceContext, Written
from generators.compose.theory import nearest_pitch, pentatonic, scale_pitch_classes
from generators.score import ChordSpan, Effects, Note, Role, Section, Track

# Four-bar loops of power chords, one string a bar.
MAJOR_LOOPS = (
    ("I:5", "V:5", "vi:5", "IV:5"),
    ("I:5", "IV:5", "V:5", "IV:5"),
    ("bVII:5", "IV:5", "I:5", "I:5"),
    ("I:5", "I:5", "IV:5", "V:5"),
    ("vi:5", "IV:5", "I:5", "V:5"),
)
MINOR_LOOPS = (
    ("i:5", "bVI:5", "bIII:5", "bVII:5"),
    ("i:5", "bVII:5", "bVI:5", "bVII:5"),
    ("i:5", "iv:5", "bVII:5", "i:5"),
    ("bVI:5", "bVII:5", "i:5", "i:5"),
)
PHRYGIAN_LOOPS = (("i:5", "bII:5", "i:5", "bVII:5"), ("i:5", "bII:5", "bIII:5", "bII:5"))
BRIDGE_MAJOR = ("vi:5", "IV:5", "I:5", "V:5")
BRIDGE_MINOR = ("bVI:5", "bVII:5", "iv:5", "V:5")
INTRO = ("I:5", "I:5", "I:5", "V:5")
CADENCE_MAJOR = ("IV:5 V:5",)
CADENCE_MINOR = ("bVI:5 bVII:5",)

# Riffs are written per piece from one-beat cells on the 8th grid, (offset, length) pairs: two
# 8ths, a quarter, an off-beat push. A handful of fixed riffs made every rock hook one of a few
# tunes; cells, a walk over the pentatonic and a chosen landing give each seed its own.
Riff = tuple[tuple[int, int, int], ...]  # (step, length, pentatonic degree above the chord root)
RIFF_CELLS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 1), (1, 1)),
    ((0, 1), (1, 1)),
    ((0, 2),),
    ((1, 1),),
)
# Where a riff may come to rest on its last beat: a quarter on 4, 8ths that pick up into the next
# bar, a push on the "and", or a note held over beats 3–4 (which replaces the third beat's cell).
RIFF_ENDINGS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 2),),
    ((0, 1), (1, 1)),
    ((1, 1),),
    ((-2, 4),),
)
# Pentatonic degrees a riff starts and lands on: the root (degree 0 or its octave, 5), the fifth
# (degree 3 in both pentatonics), the flat seventh or sixth below the root, the third or fourth.
RIFF_STARTS = (0, 0, 0, 3, 5)
RIFF_LANDINGS = (0, 0, 3, -1, 2)
RIFF_MOVES = (-2, -1, -1, 0, 0, 1, 1, 2, 3)

# Melody rhythms on the 8th grid (eight steps a bar): the stock verse lines, and the one-beat
# cells a seed's own verse lines are spoken in (sparser than the riff: rests and long notes).
VERSE_RHYTHMS = (
    ((0, 2), (2, 1), (3, 1), (4, 4)),
    ((1, 1), (2, 1), (3, 1), (4, 2), (6, 2)),
    ((0, 1), (1, 1), (2, 2), (4, 1), (5, 3)),
    ((2, 2), (4, 2), (6, 2)),
)
VERSE_CELLS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 2),),
    ((0, 1), (1, 1)),
    ((1, 1),),
    ((0, 4),),
    (),
)
# Phrase shapes (see `parts.phrase`): a verse may step down but never up, a chorus may climb but
# never sink, so the chorus stays above the verse.
VERSE_SHAPES = ("MRAC", "MRAC", "MARC", "MRsC", "MFAC")
CHORUS_SHAPES = ("MAMC", "MAMC", "MASC", "MSAC", "MMAC")
BRIDGE_RHYTHMS = (((0, 4), (4, 4)), ((0, 3), (3, 3), (6, 2)), ((0, 2), (2, 2), (4, 4)))

VERSE_GROOVES = (
    pattern(kick="x.......x.......", snare="....x.......x...", hat="x.o.x.o.x.o.x.o."),
    pattern(kick="x.......x.x.....", snare="....x.......x...", hat="x.o.x.o.x.o.x.o."),
    pattern(kick="x.....x.x.......", snare="....x.......x...", hat="x.o.x.o.x.o.x.o."),
)
CHORUS_GROOVES = (
    pattern(kick="x.......x.x.....", snare="....X.......X...", open="x.o.x.o.x.o.x.o."),
    pattern(kick="x.......x.......", snare="....X.......X...", ride="x.o.x.o.x.o.x.o."),
    pattern(kick="x.....x.x.x.....", snare="....X.......X...", open="x.o.x.o.x.o.x.o."),
)
BRIDGE_GROOVE = pattern(kick="x.......x.......", snare="....o.......o...", ride="x.o.x.o.x.o.x.o.")

# Fills over beats 3–4 on the 16th grid; each keeps the snare on beat 4 so the backbeat survives.
FILLS = (
    ((8, SNARE), (9, SNARE), (10, HIGH_TOM), (11, HIGH_TOM), (12, SNARE), (13, MID_TOM),
     (14, LOW_TOM), (15, LOW_TOM)),
    ((8, HIGH_TOM), (10, MID_TOM), (12, SNARE), (13, SNARE), (14, LOW_TOM), (15, LOW_TOM)),
    ((8, SNARE), (10, SNARE), (11, SNARE), (12, SNARE), (13, HIGH_TOM), (14, MID_TOM),
     (15, LOW_TOM)),
)  # fmt: skip

GROOVE_SECTIONS = frozenset({"verse", "chorus", "bridge"})
FEEL = Feel(swing=0.5, steps_per_beat=4, timing_sd_ms=4.0, lay_back_ms=0.0, velocity_sd=5.0)


class RockStyle:
    genre = "rock"
    beats_per_bar = 4
    release_s = 1.6
    phrase_bars = 4
    default_moods = ("energetic", "happy", "epic", "sad", "dark")
    modes = ("major", "mixolydian", "minor", "dorian", "phrygian")
    keys = (4, 9, 2, 7, 0, 11)  # E, A, D, G, C, B: open-string guitar keys

    def variant(self, mood: MoodProfile, requested: str | None, rng: random.Random) -> str | None:
        return None

    def tempo_range(self, mood: MoodProfile, variant: str | None) -> tuple[float, float]:
        return (100.0, 150.0)

    def band(self, mood: MoodProfile, variant: str | None, rng: random.Random) -> Band:
        rhythm = rng.choice((30, 30, 29))
        lead = rng.choice((27, 29) if mood.density < 0.9 else (29, 27, 30))
        return Band(lead=lead, chords=rhythm, bass=34, drums=rng.choice((0, 0, 16)))

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
        pool: tuple[tuple[str, ...], ...] = MINOR_LOOPS if minor else MAJOR_LOOPS
        if ctx.mode == "phrygian":
            pool = PHRYGIAN_LOOPS
        elif ctx.mode == "mixolydian":
            pool = (MAJOR_LOOPS[2], MAJOR_LOOPS[1], ("I:5", "bVII:5", "IV:5", "I:5"))
        verse = rng.choice(pool)
        chorus = rng.choice([loop for loop in pool if loop != verse])
        loops = {
            "intro": INTRO,
            "verse": verse,
            "chorus": chorus,
            "bridge": BRIDGE_MINOR if minor else BRIDGE_MAJOR,
        }
        body: list[ChordSpan] = []
        for section in ctx.sections[:-1]:
            body += bar_spans(
                loop_to(loops[section.name], section.bars), ctx.tonic, section.start_bar, bpb
            )
        cadence = CADENCE_MINOR if minor else CADENCE_MAJOR
        chords = harmony_with_ending(body, plan, ctx.tonic, cadence, "I:5")
        chord_at = ChordTimeline(chords)
        riff = _make_riff(ctx.rng("riff"))

        tracks: list[Track] = []
        if band.chords is not None:
            tracks.append(self._rhythm_guitar(ctx, chords, band.chords, riff, -0.45, False))
            tracks.append(self._rhythm_guitar(ctx, chords, band.chords, riff, 0.45, True))
        if band.bass is not None:
            tracks.append(self._bass(ctx, chords, band.bass))
        if band.drums is not None:
            tracks.append(self._drums(ctx, chords, band.drums))
        if band.lead is not None:
            tracks.append(self._lead(ctx, chord_at, band.lead, riff))
        return Written(chords=chords, tracks=tuple(tracks), swing=0.5)

    # parts ---------------------------------------------------------------------------------------

    def _rhythm_guitar(
        self,
        ctx: PieceContext,
        chords: tuple[ChordSpan, ...],
        program: int,
        riff: Riff,
        pan: float,
        double: bool,
    ) -> Track:
        """Palm-muted 8th chugs in verses, open ringing power chords in choruses; the double-tracked
        second guitar only joins in choruses and the final hit, which is what makes them wider."""
        rng = ctx.rng("rhythm-double" if double else "rhythm")
        bpb, tempo, dyn = ctx.plan.beats_per_bar, ctx.plan.tempo_bpm, ctx.mood.dynamics
        # Root-position power chords (root + fifth), each chosen to move least from the last.
        voicings = voice_lead([span.chord for span in chords], "spread", 40, 60, start_centre=48)
        sparse = ctx.mood.density < 0.85
        notes: list[Note] = []
        for span, voicing in zip(chords[:-1], voicings[:-1], strict=True):
            name = section_at(ctx.sections, int(span.start // bpb)).name
            eighths = round(span.duration * 2)
            if name == "intro":
                if not double:
                    notes += _riff_notes(riff, span, ctx.mode, 40, 64, 92 * dyn, rng, tempo)
                continue
            if double and name not in ("chorus", "end"):
                continue
            if name == "verse":
                step = 2 if sparse else 1
                for eighth in range(0, eighths, step):
                    accent = 1.12 if eighth % 4 == 0 else 1.0
                    notes += _strum(
                        voicing, span.start + eighth / 2, 0.3, 70 * dyn * accent, rng, tempo
                    )
            elif name == "bridge":
                for eighth in range(0, eighths, 4):
                    notes += _strum(
                        (*voicing, voicing[0] + 12),
                        span.start + eighth / 2,
                        1.9,
                        78 * dyn,
                        rng,
                        tempo,
                    )
            else:
                full = (*voicing, voicing[0] + 12)
                if double:
                    # The second guitar rings open chords: the key's third on top of the fifth.
                    full = (*full, _diatonic_third(voicing[0], ctx.tonic, ctx.mode))
                for eighth in range(eighths):
                    accent = 1.1 if eighth % 2 == 0 else 0.95
                    notes += _strum(
                        full, span.start + eighth / 2, 0.46, 96 * dyn * accent, rng, tempo
                    )
        last, voicing = chords[-1], voicings[-1]
        # The final hit: one big strum, let ring to the end.
        notes += _strum(
            (*voicing, voicing[0] + 12), last.start, last.duration, 112 * dyn, rng, tempo
        )
        name = "Distortion guitar" if program == 30 else "Overdrive guitar"
        return Track(
            f"{name} {'R' if double else 'L'}",
            Role.CHORDS,
            program,
            pan=pan,
            volume=0.66 if double else 0.72,
            effects=Effects(reverb=0.12 + ctx.mood.reverb / 2, chorus=0.0),
            notes=tuple(fit_range(notes, program)),
        )

    def _bass(self, ctx: PieceContext, chords: tuple[ChordSpan, ...], program: int) -> Track:
        """Picked 8ths on the root, accented where the kick lands, an octave pop in choruses."""
        rng = ctx.rng("bass")
        bpb, tempo, dyn = ctx.plan.beats_per_bar, ctx.plan.tempo_bpm, ctx.mood.dynamics
        low, high = max(36, playable_range(program)[0]), 55
        kicks = _kick_steps(ctx)
        notes: list[Note] = []
        root = 40
        body = chords[:-1]
        for index, span in enumerate(body):
            bar = int(span.start // bpb)
            name = section_at(ctx.sections, bar).name
            if name == "intro" and bar == ctx.sections[0].start_bar:
                continue  # the riff plays alone first
            root = nearest_pitch(root, (span.chord.root,), low, low + 11)
            following = (
                body[index + 1].chord.root if index + 1 < len(body) else chords[-1].chord.root
            )
            eighths = round(span.duration * 2)
            for eighth in range(eighths):
                start = span.start + eighth / 2
                pitch = root
                if name == "chorus" and eighth % 4 == 3 and rng.random() < 0.5 * ctx.mood.density:
                    pitch = root + 12  # octave pop on the off-beat
                elif eighth == eighths - 1 and following != span.chord.root and rng.random() < 0.5:
                    target = nearest_pitch(root, (following,), low, high)
                    pitch = target + (2 if target < root else -2)  # a step into the next root
                step16 = round((start % bpb) * 4)
                locked = step16 in kicks.get(name, frozenset())
                velocity = (100 if locked else 82) * dyn * (1.06 if name == "chorus" else 1.0)
                notes.append(
                    Note(start, 0.42, max(low, min(high, pitch)), clamp_velocity(velocity))
                )
        last = chords[-1]
        notes.append(
            Note(last.start, last.duration, nearest_pitch(root, (last.chord.root,), low, low + 11),
                 clamp_velocity(108 * dyn))
        )  # fmt: skip
        notes = [humanise(n, FEEL, rng, tempo) for n in notes]
        return Track(
            "Picked bass",
            Role.BASS,
            program,
            pan=0.0,
            volume=0.86,
            effects=Effects(reverb=0.04),
            notes=tuple(fit_range(notes, program)),
        )

    def _drums(self, ctx: PieceContext, chords: tuple[ChordSpan, ...], kit: int) -> Track:
        rng = ctx.rng("drums")
        bpb, tempo = ctx.plan.beats_per_bar, ctx.plan.tempo_bpm
        grooves = _grooves(ctx)
        scale = ctx.mood.dynamics
        notes: list[Note] = []
        for section in ctx.sections[:-1]:
            groove = grooves[section.name]
            loud = 1.08 if section.name == "chorus" else 1.0
            for offset in range(section.bars):
                bar_start = float((section.start_bar + offset) * bpb)
                if section.name == "intro" and offset == 0 and section.bars > 1:
                    continue  # the riff alone, then the band comes in with a crash
                bar = play_pattern(groove, bar_start, bpb, FEEL, rng, tempo, scale * loud)
                if offset == section.bars - 1 and section.bars >= 2:
                    bar = [n for n in bar if n.start < bar_start + 1.95 or n.pitch == KICK]
                    for step, key in rng.choice(FILLS):
                        velocity = (78 + (step - 8) * 4) * scale
                        note = Note(bar_start + step / 4, 0.25, key, clamp_velocity(velocity))
                        bar.append(humanise(note, FEEL, rng, tempo))
                if offset == 0 and (section.name != "intro" or section.bars > 1):
                    bar.append(Note(bar_start, 1.0, CRASH, clamp_velocity(104 * scale)))
                notes += bar
        final = chords[-1]
        # The final hit: kick, snare and crash together, left to ring.
        for key, velocity in ((KICK, 118), (SNARE, 110), (CRASH, 120)):
            notes.append(
                Note(final.start, min(2.0, final.duration), key, clamp_velocity(velocity * scale))
            )
        return Track(
            "Drums",
            Role.DRUMS,
            kit,
            is_drum=True,
            pan=0.0,
            volume=0.84,
            effects=Effects(reverb=0.16),
            notes=tuple(sorted(notes)),
        )

    def _lead(
        self,
        ctx: PieceContext,
        chord_at: ChordTimeline,
        program: int,
        riff: Riff,
    ) -> Track:
        """A pentatonic guitar melody: low and spoken in verses, the riff turned hook up high in
        choruses, long notes in the bridge, always closing on the tonic."""
        rng = ctx.rng("melody")
        dyn, tempo = ctx.mood.dynamics, ctx.plan.tempo_bpm
        centre = 66 + ctx.mood.register
        low, high = lead_register(program, centre, 9, 16)
        scale = pentatonic(ctx.tonic, ctx.mode)
        # Any tone of the tonic triad, so the mood's register shift is not rounded to an octave.
        home = (
            ctx.tonic,
            (ctx.tonic + (3 if is_minor(ctx.mode) else 4)) % 12,
            (ctx.tonic + 7) % 12,
        )
        anchor = nearest_pitch(centre, home, low, high)
        # Verses talk low in the whole mode; the chorus sings the pentatonic hook above them.
        voice = Voice(
            low, anchor + 9, scale_pitch_classes(ctx.tonic, ctx.mode), 2, round(86 * dyn),
            legato=0.9,
        )  # fmt: skip
        loud = Voice(anchor - 2, high, scale, 2, round(98 * dyn), legato=0.95)
        # Each piece speaks its verse in rhythms of its own as well as the stock ones.
        spoken = (*VERSE_RHYTHMS, *(_verse_rhythm(rng) for _ in range(4)))
        verse = make_motif(rng, spoken, leap_chance=0.25)
        answer = make_motif(rng, spoken, leap_chance=0.3)
        verse_shape, chorus_shape = rng.choice(VERSE_SHAPES), rng.choice(CHORUS_SHAPES)
        hook = _riff_motif(riff)
        bridge = make_motif(rng, BRIDGE_RHYTHMS, leap_chance=0.4)
        ladder = [p for p in range(low, high + 1) if p % 12 in scale]
        # The chorus sits four pentatonic steps (about an octave) above the verse.
        high_anchor = ladder[min(len(ladder) - 3, ladder.index(anchor) + 4)]
        notes: list[Note] = []
        for section in ctx.sections[:-1]:
            if section.name == "intro":
                continue
            if section.name == "chorus":
                written, _ = phrase(
                    hook, answer, section, ctx.plan, high_anchor, loud, FEEL, chord_at, rng,
                    chorus_shape, 1.0,
                )  # fmt: skip
            elif section.name == "bridge":
                written, _ = phrase(
                    bridge, answer, section, ctx.plan, anchor + 3, voice, FEEL, chord_at, rng,
                    "MSsC", 0.95,
                )  # fmt: skip
            else:
                written, _ = phrase(
                    verse, answer, section, ctx.plan, anchor, voice, FEEL, chord_at, rng,
                    verse_shape, 0.92,
                )  # fmt: skip
            notes += written
        final = chord_at.spans[-1]
        notes = [n for n in notes if n.end <= final.start + 0.01]
        if not notes:
            notes = pickup_run(final.start, ladder, anchor, round(92 * dyn))
        tonic = closing_tonic([n.pitch for n in notes], ctx.tonic, low, high)
        notes = [humanise(n, FEEL, rng, tempo) for n in notes]
        notes.append(Note(final.start, final.duration, tonic, clamp_velocity(100 * dyn)))
        names = {27: "Clean guitar", 29: "Lead guitar", 30: "Lead guitar"}
        return Track(
            names.get(program, "Lead"),
            Role.LEAD,
            program,
            pan=0.1,
            volume=0.84,
            effects=Effects(reverb=0.22 + ctx.mood.reverb, chorus=0.15 if program == 27 else 0.0),
            notes=tuple(fit_range(notes, program)),
        )


def _song_labels(bars: int, phrase_bars: int) -> tuple[str, ...]:
    """Verse–chorus order that always ends on a chorus, with a bridge in longer songs."""
    count = max(1, bars // phrase_bars + (1 if bars % phrase_bars >= phrase_bars // 2 else 0))
    cycle = ("verse", "chorus", "verse", "chorus", "bridge", "chorus")
    labels = [cycle[i % len(cycle)] for i in range(count)]
    labels[-1] = "chorus"
    return tuple(labels)


def _grooves(ctx: PieceContext) -> dict[str, DrumPattern]:
    rng = ctx.rng("grooves")
    verse = rng.choice(VERSE_GROOVES)
    return {
        "intro": verse,
        "verse": verse,
        "chorus": rng.choice(CHORUS_GROOVES),
        "bridge": BRIDGE_GROOVE,
    }


def _kick_steps(ctx: PieceContext) -> dict[str, frozenset[int]]:
    """Where the kick lands in each section's groove, so the bass can lean on the same 8ths."""
    return {
        name: frozenset(hit.step for hit in groove.hits if hit.key == KICK)
        for name, groove in _grooves(ctx).items()
    }


def _strum(
    voicing: Sequence[int],
    start: float,
    duration: float,
    velocity: float,
    rng: random.Random,
    tempo: float,
) -> list[Note]:
    """One downstroke: the whole chord moves together by a few ms, strings a hair apart."""
    onset = humanise(Note(start, duration, voicing[0], clamp_velocity(velocity)), FEEL, rng, tempo)
    return [
        Note(onset.start + index * 0.008, max(0.1, duration - index * 0.008), pitch,
             clamp_velocity(onset.velocity - index * 3))
        for index, pitch in enumerate(voicing)
    ]  # fmt: skip


def _make_riff(rng: random.Random) -> Riff:
    """A one-bar pentatonic riff: three beats of cells and an ending, a walk from a start degree
    that comes to rest on a landing degree, at least five notes so it reads as a riff."""
    while True:
        slots: list[tuple[int, int]] = []
        for beat in range(3):
            slots += [(2 * beat + offset, length) for offset, length in rng.choice(RIFF_CELLS)]
        ending = rng.choice(RIFF_ENDINGS)
        if ending[0][0] < 0:  # held over beats 3–4: it takes the third beat's place
            slots = [slot for slot in slots if slot[0] < 4]
        slots += [(6 + offset, length) for offset, length in ending]
        if slots[0][0] != 0:
            slots.insert(0, (0, 1))  # a riff states its downbeat
        if len(slots) >= 5:
            break
    start = degree = rng.choice(RIFF_STARTS)
    degrees = [degree]
    for _ in slots[1:-1]:
        move = rng.choice(RIFF_MOVES)
        # Turn back at the edges of the riff's range: a step below the start, four above it. The
        # riff becomes the chorus hook, which must not sink under the verse.
        degree += move if start - 1 <= degree + move <= start + 4 else -move
        degrees.append(degree)
    landing = rng.choice(RIFF_LANDINGS)
    # Land on the landing's octave nearest the walk, not a leap of an octave and more to reach it.
    octaves = (landing + 5 * k for k in range(-1, 3))
    degrees.append(min(octaves, key=lambda d: (d < start - 1, abs(d - degree))))
    return tuple((step, length, d) for (step, length), d in zip(slots, degrees, strict=True))


def _verse_rhythm(rng: random.Random) -> Rhythm:
    """A sparse one-bar verse rhythm from beat cells: three to six notes, rests allowed."""
    while True:
        slots: list[tuple[int, int]] = []
        beat = 0
        while beat < 4:
            cell = rng.choice(VERSE_CELLS)
            if cell and cell[0][1] == 4 and beat == 3:
                continue  # a half note needs two beats
            slots += [(2 * beat + offset, length) for offset, length in cell]
            beat += 2 if cell and cell[0][1] == 4 else 1
        if 3 <= len(slots) <= 6:
            return tuple(slots)


def _riff_notes(
    riff: Riff,
    span: ChordSpan,
    mode: str,
    low: int,
    high: int,
    velocity: float,
    rng: random.Random,
    tempo: float,
) -> list[Note]:
    """The riff moved to the chord's root, in the guitar's low register."""
    ladder = [p for p in range(low, high + 1) if p % 12 in pentatonic(span.chord.root, mode)]
    base = ladder.index(nearest_pitch(low + 6, (span.chord.root,), low, high))
    notes = []
    for step, length, degree in riff:
        if step / 2 >= span.duration:
            continue
        pitch = ladder[max(0, min(len(ladder) - 1, base + degree))]
        accent = 1.1 if step % 4 == 0 else 1.0
        raw = Note(
            span.start + step / 2, length / 2 * 0.85, pitch, clamp_velocity(velocity * accent)
        )
        notes.append(humanise(raw, FEEL, rng, tempo))
    return notes


def _riff_motif(riff: Riff) -> Motif:
    """The intro riff as a melodic motif, so it comes back as the chorus hook."""
    degrees = [degree for _, _, degree in riff]
    steps = (0, *(b - a for a, b in itertools.pairwise(degrees)))
    return Motif(tuple((step, length) for step, length, _ in riff), steps)


def _diatonic_third(root: int, tonic: int, mode: str) -> int:
    """The pitch a diatonic third above `root` in the mode (major or minor as the key has it)."""
    scale = scale_pitch_classes(tonic, mode)
    third = 4 if (root + 4) % 12 in scale else 3
    return root + third + 12
