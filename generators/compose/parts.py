"""Building blocks the genre styles share: harmony timelines, endings, comping and phrases."""

from __future__ import annotations

import random
from collections.abc import Sequence

from generators.compose.arrangement import fit_range, playable_range
from generators.compose.form import TimePlan
from generators.compose.harmony import voice_lead
from generators.compose.melody import ChordAt, Motif, Voice, cadence_note, realise
from generators.compose.rhythm import Feel, clamp_velocity, grid_time
from generators.compose.theory import chord_core, parse_numeral
from generators.score import ChordSpan, Effects, Note, Role, Section, Track


def bar_spans(
    bars: Sequence[str], tonic: int, first_bar: int, beats_per_bar: int
) -> list[ChordSpan]:
    """Chord spans from one string a bar: `"ii:m7 V:7"` splits the bar evenly between its chords."""
    spans: list[ChordSpan] = []
    for offset, bar in enumerate(bars):
        tokens = bar.split()
        length = beats_per_bar / len(tokens)
        for index, token in enumerate(tokens):
            start = (first_bar + offset) * beats_per_bar + index * length
            spans.append(ChordSpan(start, length, parse_numeral(token, tonic)))
    return spans


def loop_to(bars: Sequence[str], count: int) -> list[str]:
    return [bars[i % len(bars)] for i in range(count)]


def harmony_with_ending(
    body: list[ChordSpan],
    plan: TimePlan,
    tonic: int,
    cadence: Sequence[str],
    final: str,
) -> tuple[ChordSpan, ...]:
    """Replace the last body bars with a cadence into the final tonic chord, which lasts to the end.

    With no body bars at all (a sting), the final span opens on the cadence's last chord for half
    its length, so even five seconds end V–I.
    """
    bpb = plan.beats_per_bar
    final_chord = parse_numeral(final, tonic)
    if plan.body_bars == 0:
        half = max(1.0, round(plan.final_beats / 2))
        return (
            ChordSpan(0.0, half, parse_numeral(cadence[-1].split()[-1], tonic)),
            ChordSpan(half, plan.final_beats - half, final_chord),
        )
    cadence_bars = min(len(cadence), plan.body_bars)
    keep_until = (plan.body_bars - cadence_bars) * bpb
    spans = [span for span in body if span.start < keep_until - 1e-9]
    spans += bar_spans(cadence[-cadence_bars:], tonic, plan.body_bars - cadence_bars, bpb)
    spans.append(ChordSpan(plan.final_start, plan.final_beats, final_chord))
    return tuple(spans)


def final_span(chords: Sequence[ChordSpan]) -> ChordSpan:
    return chords[-1]


def held_chord(
    voicing: Sequence[int],
    start: float,
    duration: float,
    velocity: float,
    rng: random.Random,
    roll_beats: float = 0.0,
) -> list[Note]:
    """A chord held for `duration`, optionally rolled upwards like a pianist's hand."""
    notes = []
    for index, pitch in enumerate(voicing):
        offset = index * roll_beats
        notes.append(
            Note(
                start + offset,
                max(0.1, duration - offset),
                pitch,
                clamp_velocity(velocity + rng.gauss(0, 3)),
            )
        )
    return notes


def comp_track(
    chords: Sequence[ChordSpan],
    voicings: Sequence[Sequence[int]],
    rhythms: Sequence[Sequence[tuple[int, int]]],
    feel: Feel,
    steps_per_beat: int,
    velocity: float,
    rng: random.Random,
    roll_beats: float = 0.0,
    skip: Sequence[bool] | None = None,
) -> list[Note]:
    """Comp each chord span with a rhythm (grid steps relative to the span's start)."""
    notes: list[Note] = []
    for index, (span, voicing) in enumerate(zip(chords, voicings, strict=True)):
        if skip is not None and skip[index]:
            continue
        rhythm = rhythms[index]
        span_steps = round(span.duration * steps_per_beat)
        for step, length in rhythm:
            if step >= span_steps:
                continue
            end_step = min(step + length, span_steps)
            onset = span.start + grid_time(step, steps_per_beat, feel.swing)
            end = span.start + grid_time(end_step, steps_per_beat, feel.swing)
            accent = 1.06 if step == 0 else 0.94
            notes += held_chord(
                voicing, onset, max(0.15, (end - onset) * 0.95), velocity * accent, rng, roll_beats
            )
    return notes


def sectioned_voicings(
    chords: Sequence[ChordSpan], style: str, low: int, high: int
) -> list[tuple[int, ...]]:
    return voice_lead([span.chord for span in chords], style, low, high)


def phrase(
    motif: Motif,
    answer: Motif,
    section: Section,
    plan: TimePlan,
    anchor: int,
    voice: Voice,
    feel: Feel,
    chord_at: ChordAt,
    rng: random.Random,
    shape: Sequence[str],
    dynamics: float = 1.0,
) -> tuple[list[Note], int]:
    """Write a section's melody bar by bar following `shape`, one letter a bar, cycled.

    M states the motif, S sequences it two scale steps higher, s lower, A answers with the second
    motif, F plays a fragment, I inverts, C closes on a long chord tone, R rests.
    """
    notes: list[Note] = []
    bpb = plan.beats_per_bar
    pitch = anchor
    for offset in range(section.bars):
        bar = section.start_bar + offset
        letter = shape[offset % len(shape)]
        if offset == section.bars - 1 and section.bars > 1 and letter not in "CR":
            letter = "C"
        bar_start = float(bar * bpb)
        if letter == "R":
            continue
        if letter == "C":
            first, last_pitch = realise(
                motif.fragment(2), bar_start, bpb, pitch, voice, feel, chord_at, rng, dynamics
            )
            head = [n for n in first if n.start < bar_start + bpb / 2]
            notes += head
            chord = chord_at(bar_start + bpb / 2)
            start = bar_start + bpb / 2 if head else bar_start
            close = cadence_note(
                start,
                bar_start + bpb - start - 0.25,
                last_pitch if head else pitch,
                chord_core(chord),
                voice,
                round(voice.velocity * dynamics * 0.95),
            )
            notes.append(close)
            pitch = close.pitch
            continue
        chosen = {
            "M": motif,
            "S": motif,
            "s": motif,
            "A": answer,
            "F": motif.fragment(3),
            "I": motif.inverted(),
        }[letter]
        start_pitch = pitch
        ladder = [p for p in range(voice.low, voice.high + 1) if p % 12 in voice.scale]
        if letter in "Ss" and ladder:
            index = min(range(len(ladder)), key=lambda i: abs(ladder[i] - anchor))
            index = max(0, min(len(ladder) - 1, index + (2 if letter == "S" else -2)))
            start_pitch = ladder[index]
        elif letter == "M":
            start_pitch = anchor
        bar_notes, pitch = realise(
            chosen, bar_start, bpb, start_pitch, voice, feel, chord_at, rng, dynamics
        )
        notes += bar_notes
    return notes, pitch


def sustained_part(
    name: str,
    role: Role,
    program: int,
    chords: Sequence[ChordSpan],
    style: str,
    register: tuple[int, int],
    velocity: float,
    rng: random.Random,
    reverb: float = 0.35,
    pan: float = 0.0,
) -> Track:
    """Voice-led chords held through each span: a pad, or with "shell" a guide-tone counter line.

    Any style uses it for an instrument someone asked for in a role the style does not write itself
    ("lofi with strings"), so a requested instrument is always heard.
    """
    low, high = register
    voicings = voice_lead([span.chord for span in chords], style, low, high)
    notes: list[Note] = []
    for span, voicing in zip(chords, voicings, strict=True):
        notes += held_chord(voicing, span.start, span.duration * 0.98, velocity, rng, 0.02)
    return Track(
        name,
        role,
        program,
        pan=pan,
        volume=0.62,
        effects=Effects(reverb=reverb, chorus=0.2),
        notes=tuple(fit_range(notes, program)),
    )


def soft_groove(bars: int, beats_per_bar: int, final_start: float, kit: int) -> Track:
    """A quiet pulse for a style without drums when drums were asked for: kick, rim, soft hats."""
    notes: list[Note] = []
    for bar in range(bars):
        start = float(bar * beats_per_bar)
        notes.append(Note(start, 0.5, 36, 70))
        if beats_per_bar >= 4:
            notes.append(Note(start + 2, 0.5, 37, 52))
        for beat in range(beats_per_bar):
            notes.append(Note(start + beat, 0.25, 42, 40 if beat % 2 else 52))
    notes.append(Note(final_start, 0.5, 36, 66))
    return Track(
        "Drums",
        Role.DRUMS,
        kit,
        is_drum=True,
        volume=0.6,
        effects=Effects(reverb=0.25),
        notes=tuple(notes),
    )


def lead_register(program: int, centre: int, below: int, above: int) -> tuple[int, int]:
    """Where a melody sings: `below`/`above` semitones around `centre`, inside what the instrument
    plays."""
    low, high = playable_range(program)
    # An instrument that lives high or low (glockenspiel, contrabass) sings where it can.
    centre = (
        max(low + below, min(high - above, centre))
        if high - low >= below + above
        else (low + high) // 2
    )
    return max(low, centre - below), min(high, centre + above)


def closing_tonic(pitches: Sequence[int], tonic: int, low: int, high: int) -> int:
    """The tonic nearest the line's last note, unless another octave gives the line a better span
    (at least a fourth, at most two octaves)."""
    candidates = [p for p in range(low, high + 1) if p % 12 == tonic]
    if not candidates:
        raise ValueError(f"no tonic between {low} and {high}")
    if not pitches:
        return candidates[len(candidates) // 2]

    def cost(pitch: int) -> float:
        span = max(*pitches, pitch) - min(*pitches, pitch)
        return abs(pitch - pitches[-1]) + (100 if span < 5 or span > 24 else 0)

    return min(candidates, key=cost)


def pickup_run(
    end: float,
    ladder: Sequence[int],
    anchor: int,
    velocity: int,
    stride: int = 1,
    length: float = 0.45,
) -> list[Note]:
    """A sting has no room for a tune: four 8ths stepping (or with `stride` 2, leaping) down the
    scale `ladder` from above `anchor` into the final tonic at `end`."""
    top = min(len(ladder) - 1, ladder.index(anchor) + 4)
    return [
        Note(end - 2.0 + i / 2, length, ladder[max(0, top - stride * i)], velocity)
        for i in range(4)
        if end - 2.0 + i / 2 >= 0
    ]


def close_on_tonic(
    notes: Sequence[Note], final: ChordSpan, tonic: int, low: int, high: int, velocity: float
) -> list[Note]:
    """Drop what would still sound over the final chord and end the line on the tonic, held to
    the end: the melody's cadence."""
    kept = [n for n in notes if n.end <= final.start + 0.01]
    pitch = closing_tonic([n.pitch for n in kept], tonic, low, high)
    kept.append(Note(final.start, final.duration, pitch, clamp_velocity(velocity)))
    return kept
