"""Remix operations on a stored Score. Each keeps what makes the piece itself and changes one thing.

All are pure: a Score and a seed in, a new Score out. Times stay in beats, so a tempo change is
exact and everything else lines up bar for bar.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from generators.catalog import MODES, Catalog
from generators.compose.arrangement import (
    Band,
    ChordTimeline,
    assign_instruments,
    fit_range,
    pan_positions,
    playable_range,
)
from generators.compose.composer import compose
from generators.compose.form import TimePlan
from generators.compose.melody import Rhythm, Voice, make_motif
from generators.compose.mood import MOOD_PROFILES, MoodProfile, is_minor
from generators.compose.parts import close_on_tonic, phrase, soft_groove, sustained_part
from generators.compose.rhythm import Feel, humanise
from generators.compose.styles import STYLES, style_for
from generators.compose.theory import CHORD_QUALITIES, chord_pitch_classes, scale_pitch_classes
from generators.errors import BadRequest
from generators.remix.retarget import coloured_spans, retarget_track
from generators.request import MAX_DURATION_S, MIN_DURATION_S, CompositionRequest
from generators.score import Chord, ChordSpan, ControlChange, Note, Role, Score, Section, Track

COMMON_TIME = 4


# --- the piece's time frame -----------------------------------------------------------------------


def music_end(score: Score) -> float:
    """Beats from the start to the release of the final chord (the ring-out comes after)."""
    if score.chords:
        last = score.chords[-1]
        return last.start + last.duration
    ends = [note.end for track in score.tracks for note in track.notes]
    return max(ends, default=float(score.beats_per_bar))


def final_start(score: Score) -> float:
    """Where the final chord begins: the last section ("end") in pieces we compose."""
    if score.sections and score.sections[-1].name == "end":
        return float(score.sections[-1].start_bar * score.beats_per_bar)
    return score.chords[-1].start if score.chords else 0.0


def release_s(score: Score) -> float:
    """The ring-out after the final chord's release, in seconds."""
    return max(0.6, min(4.0, score.duration_s - score.seconds(music_end(score))))


def _checked_duration(seconds: float, what: str) -> float:
    seconds = round(seconds, 3)
    if not MIN_DURATION_S <= seconds <= MAX_DURATION_S:
        advice = (
            "Make it longer in the same request, e.g. 'to 30s'."
            if seconds < MIN_DURATION_S
            else "Ask for a smaller tempo change, or remix a shorter piece."
        )
        raise BadRequest(
            f"{what} would make the piece {seconds:.1f} s long; a piece lasts between"
            f" {MIN_DURATION_S:g} s and {MAX_DURATION_S / 60:g} min. {advice}"
        )
    return seconds


def swing_grid(genre: str) -> int:
    """Grid steps per beat that a genre's swing applies to: jazz swings 8ths, the rest 16ths."""
    return 2 if genre == "jazz" else 4


def reswing(beat: float, swing: float, grid: int, to_swing: float, to_grid: int) -> float:
    """Move a time from one swing feel to another: straighten it, then swing it anew."""
    if abs(swing - 0.5) < 1e-6 and abs(to_swing - 0.5) < 1e-6:
        return beat
    straight = _straighten(beat, swing, grid)
    pair = 2.0 / to_grid
    index, within = divmod(straight, pair)
    fraction = within / pair
    placed = (
        fraction * to_swing / 0.5
        if fraction < 0.5
        else to_swing + (fraction - 0.5) * (1 - to_swing) / 0.5
    )
    return index * pair + placed * pair


def _straighten(beat: float, swing: float, grid: int) -> float:
    pair = 2.0 / grid
    index, within = divmod(beat, pair)
    fraction = within / pair
    straight = (
        fraction * 0.5 / swing if fraction < swing else 0.5 + (fraction - swing) * 0.5 / (1 - swing)
    )
    return index * pair + straight * pair


def _map_notes(notes: Iterable[Note], when: Callable[[float], float]) -> list[Note]:
    out = []
    for note in notes:
        start, end = when(note.start), when(note.end)
        out.append(Note(max(0.0, start), max(0.05, end - start), note.pitch, note.velocity))
    return out


def common_time(score: Score) -> Score:
    """A piece in another metre, re-barred into 4/4, which every style writes in.

    3/4 becomes 4/4 the way arrangers turn a waltz into a ballad: the first beat takes two, so
    each bar keeps its downbeat and its shape. Other metres are stretched bar by bar.
    """
    bpb = score.beats_per_bar
    if bpb == COMMON_TIME:
        return score

    def when(beat: float) -> float:
        bar, within = divmod(beat, bpb)
        within = (
            (within * 2 if within < 1 else within + 1) if bpb == 3 else within * COMMON_TIME / bpb
        )
        return bar * COMMON_TIME + within

    tracks = tuple(
        replace(
            track,
            notes=tuple(sorted(_map_notes(track.notes, when))),
            controls=tuple(
                ControlChange(when(c.time), c.controller, c.value) for c in track.controls
            ),
        )
        for track in score.tracks
    )
    chords = tuple(
        ChordSpan(when(s.start), when(s.start + s.duration) - when(s.start), s.chord)
        for s in score.chords
    )
    tempo = score.tempo_bpm * COMMON_TIME / bpb  # bars keep their length in seconds
    return replace(
        score, beats_per_bar=COMMON_TIME, tracks=tracks, chords=chords, tempo_bpm=round(tempo, 4)
    )


# --- restyle --------------------------------------------------------------------------------------


def restyle(
    score: Score,
    genre: str,
    seed: int,
    catalog: Catalog,
    *,
    variant: str | None = None,
    mood: str | None = None,
    tempo_bpm: float | None = None,
    instruments: Sequence[str] = (),
    without: Sequence[str] = (),
) -> Score:
    """The same melody and harmony, arranged by another genre: its groove, drums, bass figures,
    voicings, instruments and mix, on the piece's own bar grid.

    The genre writes a piece of the same length over its own chords; every pitched part but the
    lead is then moved onto the piece's harmony (coloured as the genre speaks: sevenths for
    jazz, triads for rock), and the lead plays the piece's melody, re-swung to the new feel and
    moved by whole octaves into the new lead instrument's register.
    """
    if genre not in STYLES:
        raise BadRequest(f"unknown genre {genre!r}; genres: {', '.join(STYLES)}")
    score = common_time(score)
    style = style_for(genre)
    profile = _mood(mood or score.mood, style.default_moods)
    chosen_variant = style.variant(profile, variant, random.Random(f"{seed}:variant"))
    low, high = style.tempo_range(profile, chosen_variant)
    if tempo_bpm is not None:
        tempo = float(tempo_bpm)
    elif mood is not None:
        tempo = low + (high - low) * profile.tempo_position
    else:
        tempo = min(high, max(low, score.tempo_bpm))
    bpb = score.beats_per_bar
    body_bars = int(final_start(score) // bpb)
    final_beats = music_end(score) - body_bars * bpb
    music_s = final_beats * 60 / tempo + body_bars * bpb * 60 / tempo
    release = min(style.release_s, max(0.6, 0.22 * music_s))
    duration = _checked_duration(music_s + release, f"playing it as {genre} at {tempo:.0f} bpm")
    plan = TimePlan(tempo, bpb, body_bars, final_beats, release, duration)
    try:
        request = CompositionRequest(
            genre=genre,
            duration_s=duration,
            mood=profile.name,
            tonic=score.tonic,
            mode=score.mode if score.mode in MODES else None,
            tempo_bpm=tempo,
            instruments=tuple(instruments),
            without=tuple(without),
            variant=chosen_variant,
        )
    except ValueError as error:
        raise BadRequest(str(error)) from error
    donor = compose(request, seed, catalog, plan=plan)
    harmony = coloured_spans(score.chords, genre, score.tonic) if score.chords else donor.chords
    melody = score.track(Role.LEAD)
    if melody is not None and score.genre not in STYLES and harmony:
        # An uploaded tune may stop anywhere; the piece ends on its tonic, held over the
        # final chord the import added, as every piece here does.
        melody = replace(melody, notes=tuple(_closing(melody, harmony[-1], score.tonic)))
    tracks: list[Track] = []
    for track in donor.tracks:
        if track.is_drum:
            tracks.append(track)
        elif track.role == Role.LEAD and melody is not None:
            tracks.append(
                _melody_for(melody, track, score, swing_grid(score.genre), donor.swing, genre)
            )
        else:
            tracks.append(retarget_track(track, donor.chords, harmony, score.tonic, score.mode))
    return replace(
        donor,
        title=score.title,
        chords=harmony,
        tracks=tuple(tracks),
        request_text=score.request_text,
    )


def _closing(melody: Track, final: ChordSpan, tonic: int) -> list[Note]:
    notes = list(melody.notes)
    if any(n.pitch % 12 == tonic and n.start >= final.start - 0.01 for n in notes):
        return notes
    pitches = [n.pitch for n in notes]
    low, high = min(pitches) - 7, max(pitches) + 7
    velocity = statistics.median(n.velocity for n in notes)
    return close_on_tonic(notes, final, tonic, max(0, low), min(127, high), velocity)


def _mood(name: str, defaults: Sequence[str]) -> MoodProfile:
    return MOOD_PROFILES.get(name) or MOOD_PROFILES[defaults[0]]


def _melody_for(
    melody: Track, instrument: Track, score: Score, grid: int, to_swing: float, genre: str
) -> Track:
    """The piece's melody played by `instrument`: same pitches (moved by whole octaves only),
    same places in the bar, in the new genre's swing."""
    to_grid = swing_grid(genre)
    notes = _map_notes(
        melody.notes, lambda beat: reswing(beat, score.swing, grid, to_swing, to_grid)
    )
    pitches = [n.pitch for n in notes]
    program, name = instrument.program, instrument.name
    if not _fits(pitches, program):
        # The genre's lead can't play the whole tune in one octave (tubular bells span less
        # than two octaves): the piano can, and every genre here has a use for one.
        program, name = 0, "Piano"
    shift = octave_shift(pitches, program, instrument.notes)
    notes = [Note(n.start, n.duration, midi_pitch(n.pitch + shift), n.velocity) for n in notes]
    return replace(
        instrument, program=program, name=name, notes=tuple(sorted(fit_range(notes, program)))
    )


def midi_pitch(pitch: int) -> int:
    """`pitch` moved by octaves into MIDI's 0..127 (a line that spans the whole keyboard, as
    some uploaded files do, keeps its pitch classes)."""
    while pitch > 127:
        pitch -= 12
    while pitch < 0:
        pitch += 12
    return pitch


def _fits(pitches: Sequence[int], program: int) -> bool:
    """Whether some whole-octave shift puts every pitch in the instrument's range."""
    low, high = playable_range(program)
    return not pitches or any(
        low <= min(pitches) + 12 * k and max(pitches) + 12 * k <= high for k in range(-4, 5)
    )


def octave_shift(pitches: Sequence[int], program: int, reference: Sequence[Note] = ()) -> int:
    """Whole octaves that put a line where `program` plays it best (most notes in range, then
    closest to where the genre's own lead sang)."""
    if not pitches:
        return 0
    low, high = playable_range(program)
    middle = statistics.median(pitches)
    target = statistics.median(n.pitch for n in reference) if reference else (low + high) / 2

    def cost(octaves: int) -> tuple[int, float]:
        shifted = [p + 12 * octaves for p in pitches]
        outside = sum(1 for p in shifted if not low <= p <= high)
        return (outside, abs(middle + 12 * octaves - target))

    return 12 * min(range(-4, 5), key=cost)


# --- key and mode ---------------------------------------------------------------------------------


def pitch_map(tonic: int, mode: str, to_tonic: int, to_mode: str) -> Callable[[int], int]:
    """Pitch → pitch keeping each note's scale degree (and any chromatic step beside it), moved
    to the new tonic the shortest way round (never more than a tritone)."""
    steps, to_steps = MODES[mode], MODES[to_mode]
    shift = ((to_tonic - tonic + 6) % 12) - 6

    def mapped(pitch: int) -> int:
        relative = (pitch - tonic) % 12
        degree = max(i for i, step in enumerate(steps) if step <= relative)
        new_relative = to_steps[degree] + relative - steps[degree]
        return pitch + shift + new_relative - relative

    return mapped


def change_key(score: Score, tonic: int | None, mode: str | None) -> Score:
    """The piece in another key and/or mode: every note keeps its scale degree.

    In a minor key the dominant keeps its major third (harmonic minor), as a cadence needs; the
    melody's seventh degree is raised under it so the two agree.
    """
    to_tonic = score.tonic if tonic is None else tonic
    to_mode = mode or score.mode
    if to_mode not in MODES:
        raise BadRequest(f"unknown mode {to_mode!r}; modes: {', '.join(MODES)}")
    if (to_tonic, to_mode) == (score.tonic, score.mode):
        return score
    mapped = pitch_map(score.tonic, score.mode, to_tonic, to_mode)
    chords = tuple(
        ChordSpan(
            span.start, span.duration, _mapped_chord(span.chord, score, mapped, to_tonic, to_mode)
        )
        for span in score.chords
    )
    raised = _raised_sevenths(score, chords, to_tonic, to_mode)
    tracks = []
    for track in score.tracks:
        if track.is_drum:
            tracks.append(track)
            continue
        notes = []
        for note in track.notes:
            pitch = mapped(note.pitch)
            if raised(note.start) and (pitch - to_tonic) % 12 == 10:
                pitch += 1
            notes.append(Note(note.start, note.duration, midi_pitch(pitch), note.velocity))
        tracks.append(replace(track, notes=tuple(sorted(fit_range(notes, track.program)))))
    return replace(score, tonic=to_tonic, mode=to_mode, chords=chords, tracks=tuple(tracks))


def _mapped_chord(
    chord: Chord, score: Score, mapped: Callable[[int], int], tonic: int, mode: str
) -> Chord:
    root = mapped(chord.root + 60) % 12
    bass = None if chord.bass is None else mapped(chord.bass + 60) % 12
    intervals = CHORD_QUALITIES[chord.quality]
    major_third = 4 in intervals
    if is_minor(mode) and (root - tonic) % 12 == 7 and major_third:
        return Chord(root, chord.quality, bass)  # the dominant stays dominant
    tones = {mapped(chord.root + 60 + i) % 12 for i in intervals}
    return Chord(root, best_quality(root, tones, len(intervals)), bass)


def best_quality(root: int, tones: set[int], size: int) -> str:
    """The chord quality on `root` that best matches a set of pitch classes."""

    def cost(quality: str) -> tuple[float, int]:
        have = {(root + i) % 12 for i in CHORD_QUALITIES[quality]}
        return (len(have ^ tones) * 1.0, abs(len(CHORD_QUALITIES[quality]) - size))

    return min(CHORD_QUALITIES, key=cost)


def _raised_sevenths(
    score: Score, chords: Sequence[ChordSpan], tonic: int, mode: str
) -> Callable[[float], bool]:
    if not is_minor(mode) or not chords:
        return lambda beat: False
    timeline = ChordTimeline(chords)

    def under_dominant(beat: float) -> bool:
        chord = timeline(beat)
        return (chord.root - tonic) % 12 == 7 and 4 in CHORD_QUALITIES[chord.quality]

    return under_dominant


# --- tempo and mood -------------------------------------------------------------------------------


def change_tempo(score: Score, tempo_bpm: float, catalog: Catalog) -> Score:
    """The same notes at another tempo; the piece's length follows, the ring-out stays."""
    if not catalog.min_tempo_bpm <= tempo_bpm <= catalog.max_tempo_bpm:
        raise BadRequest(
            f"tempo must be between {catalog.min_tempo_bpm} and {catalog.max_tempo_bpm} bpm,"
            f" got {tempo_bpm:.0f}"
        )
    tempo = round(float(tempo_bpm), 4)
    duration = _checked_duration(
        music_end(score) * 60 / tempo + release_s(score), f"playing it at {tempo:g} bpm"
    )
    return replace(score, tempo_bpm=tempo, duration_s=duration)


def change_mood(score: Score, mood: str, catalog: Catalog) -> Score:
    """Mood moves mode, tempo within the genre's range, dynamics and space, never the genre."""
    profile = MOOD_PROFILES.get(mood)
    if profile is None:
        raise BadRequest(f"unknown mood {mood!r}; moods: {', '.join(MOOD_PROFILES)}")
    before = MOOD_PROFILES.get(score.mood, profile)
    if score.mode not in profile.modes:
        score = change_key(score, None, profile.modes[0])
    if score.genre in STYLES:
        style = style_for(score.genre)
        low, high = style.tempo_range(profile, score.variant or None)
        score = change_tempo(score, low + (high - low) * profile.tempo_position, catalog)
    scale = profile.dynamics / before.dynamics
    tracks = tuple(
        replace(
            track,
            notes=tuple(
                Note(n.start, n.duration, n.pitch, max(1, min(127, round(n.velocity * scale))))
                for n in track.notes
            ),
            effects=replace(
                track.effects,
                reverb=max(0.0, min(1.0, track.effects.reverb + profile.reverb - before.reverb)),
            ),
        )
        for track in score.tracks
    )
    return replace(score, mood=profile.name, tracks=tracks)


# --- instruments ----------------------------------------------------------------------------------


def band_of(score: Score) -> Band:
    def program(role: Role) -> int | None:
        track = score.track(role)
        return None if track is None else track.program

    return Band(
        lead=program(Role.LEAD),
        chords=program(Role.CHORDS),
        bass=program(Role.BASS),
        drums=program(Role.DRUMS),
        pad=program(Role.PAD),
        counter=program(Role.COUNTER),
    )


def change_instruments(
    score: Score, instruments: Sequence[str], without: Sequence[str], catalog: Catalog, seed: int
) -> Score:
    """Who plays what: a named instrument takes the part it suits ("with strings" → the pad,
    "with sax" → the melody); a part with nobody playing it yet is written over the harmony;
    "without drums" leaves a part out."""
    band = band_of(score)
    wanted = assign_instruments(band, instruments, without, catalog.instruments)
    names = {info.program: info.name for info in reversed(catalog.instruments)}
    rng = random.Random(f"{seed}:instruments")
    pans = pan_positions(list(Role))
    tracks: list[Track] = []
    for track in score.tracks:
        program = wanted.program(track.role) if track.role in _BAND_ROLES else track.program
        if program is None:
            continue
        if program != track.program and not track.is_drum:
            track = replace(
                track,
                program=program,
                name=names.get(program, track.name).capitalize(),
                notes=tuple(fit_range(track.notes, program)),
            )
        tracks.append(track)
    present = {track.role for track in tracks}
    if score.chords:
        if wanted.pad is not None and Role.PAD not in present:
            tracks.append(
                replace(
                    sustained_part(
                        "Pad",
                        Role.PAD,
                        wanted.pad,
                        score.chords,
                        "spread",
                        (48, 76),
                        52,
                        rng,
                        pan=pans[Role.PAD],
                    ),
                    name=names.get(wanted.pad, "Pad").capitalize(),
                )
            )
        if wanted.counter is not None and Role.COUNTER not in present:
            tracks.append(
                replace(
                    sustained_part(
                        "Counter",
                        Role.COUNTER,
                        wanted.counter,
                        score.chords,
                        "shell",
                        (55, 74),
                        58,
                        rng,
                        pan=pans[Role.COUNTER],
                    ),
                    name=names.get(wanted.counter, "Counter").capitalize(),
                )
            )
        if wanted.drums is not None and Role.DRUMS not in present:
            body_bars = int(final_start(score) // score.beats_per_bar)
            tracks.append(
                soft_groove(body_bars, score.beats_per_bar, final_start(score), wanted.drums)
            )
    if not any(track.notes for track in tracks):
        raise BadRequest("that would leave nothing playing; keep at least one part")
    return replace(score, tracks=tuple(tracks))


_BAND_ROLES = frozenset({Role.LEAD, Role.CHORDS, Role.BASS, Role.DRUMS, Role.PAD, Role.COUNTER})


# --- variation: a new melody, or new chords -------------------------------------------------------

_DEFAULT_RHYTHMS: tuple[Rhythm, ...] = (
    ((0, 4), (4, 2), (6, 2), (8, 8)),
    ((0, 2), (2, 2), (4, 4), (10, 2), (12, 4)),
    ((0, 6), (6, 2), (8, 6)),
    ((2, 2), (4, 2), (6, 2), (8, 4), (12, 4)),
)


def new_melody(score: Score, seed: int) -> Score:
    """A new melody over the same harmony, groove and form: new motifs in the same rhythmic
    language (rhythms taken from the old melody's bars), landing on chord tones on strong beats,
    and closing on the tonic over the final chord."""
    lead = score.track(Role.LEAD)
    if lead is None or not lead.notes:
        raise BadRequest("this piece has no melody to replace; ask for a style or new chords")
    written = write_melody(score, lead, seed, _sung_sections(score, lead))
    return _with_track(score, replace(lead, notes=tuple(written)))


def write_melody(
    score: Score, lead: Track, seed: int, sections: Sequence[Section], close: bool = True
) -> list[Note]:
    """Melody notes for `sections`, over the score's chords, in `lead`'s register."""
    if not score.chords:
        raise BadRequest("this piece has no harmony to write a melody over")
    rng = random.Random(f"{seed}:remix-melody")
    grid = swing_grid(score.genre)
    feel = Feel(swing=score.swing, steps_per_beat=4 if grid == 4 else 2, timing_sd_ms=4.0)
    pitches = [n.pitch for n in lead.notes]
    low, high = min(pitches), max(pitches)
    if high - low < 12:
        centre = (low + high) // 2
        low, high = centre - 7, centre + 7
    pl_low, pl_high = playable_range(lead.program)
    low, high = max(low, pl_low), min(high, pl_high)
    scale = scale_pitch_classes(score.tonic, score.mode)
    velocity = round(statistics.median(n.velocity for n in lead.notes))
    voice = Voice(low, high, scale, 4, velocity, legato=0.88)
    rhythms = _rhythms_of(lead, score) or _DEFAULT_RHYTHMS
    motif = make_motif(rng, rhythms, leap_chance=0.25)
    answer = make_motif(rng, rhythms, leap_chance=0.25)
    contrast = make_motif(rng, rhythms, leap_chance=0.35)
    plan = _plan_of(score)
    chord_at = ChordTimeline(score.chords)
    anchor = min(
        (p for p in range(low, high + 1) if p % 12 in scale),
        key=lambda p: abs(p - (low + high) / 2),
    )
    notes: list[Note] = []
    heard: set[str] = set()
    for section in sections:
        chosen = contrast if section.name in ("B", "chorus", "bridge", "drop") else motif
        shape = "MASC" if section.name not in heard else "MFSC"
        heard.add(section.name)
        written, _ = phrase(
            chosen, answer, section, plan, anchor, voice, feel, chord_at, rng, shape, 1.0
        )
        notes += written
    if close:
        notes = close_on_tonic(notes, score.chords[-1], score.tonic, low, high, velocity)
    return [humanise(n, feel, rng, score.tempo_bpm) for n in notes]


def _sung_sections(score: Score, lead: Track) -> list[Section]:
    """The sections where the old melody sang (the new one sings there too)."""
    bpb = score.beats_per_bar
    sung = []
    for section in score.sections:
        if section.name == "end":
            continue
        start, end = section.start_bar * bpb, (section.start_bar + section.bars) * bpb
        if any(start <= n.start < end for n in lead.notes):
            sung.append(section)
    return sung


def _rhythms_of(lead: Track, score: Score) -> list[Rhythm]:
    """One-bar rhythms (16th-grid steps) of the melody's bars, straightened: its rhythmic
    vocabulary, so a new melody still sounds like the piece."""
    bpb = score.beats_per_bar
    grid = swing_grid(score.genre)
    bars: dict[int, list[tuple[int, int]]] = {}
    for note in lead.notes:
        straight = _straighten(note.start, score.swing, grid)
        bar, within = divmod(straight, bpb)
        step = round(within * 4)
        length = max(1, round(note.duration * 4))
        if step < bpb * 4:
            bars.setdefault(int(bar), []).append((step, min(length, bpb * 4 - step)))
    rhythms: list[Rhythm] = []
    for steps in bars.values():
        cleaned = tuple(sorted(dict(steps).items()))
        if 2 <= len(cleaned) <= 10 and cleaned not in rhythms:
            rhythms.append(cleaned)
    return rhythms[:12]


def _plan_of(score: Score) -> TimePlan:
    bpb = score.beats_per_bar
    body_bars = int(final_start(score) // bpb)
    return TimePlan(
        score.tempo_bpm,
        bpb,
        body_bars,
        music_end(score) - body_bars * bpb,
        release_s(score),
        score.duration_s,
    )


def _with_track(score: Score, new: Track) -> Score:
    return replace(
        score,
        tracks=tuple(new if t.role == new.role and t.name == new.name else t for t in score.tracks),
    )


def reharmonise(score: Score, seed: int) -> Score:
    """The same melody over new chords: each chord before the closing cadence may give way to a
    diatonic substitute a third away (two notes in common) that still holds the melody's
    important notes; the accompaniment follows the new chords."""
    if len(score.chords) < 3:
        raise BadRequest("this piece is too short to reharmonise; extend it first, e.g. 'to 30s'")
    rng = random.Random(f"{seed}:reharmonise")
    lead = score.track(Role.LEAD)
    melody = lead.notes if lead is not None else ()
    scale = scale_pitch_classes(score.tonic, score.mode)
    keep_from = len(score.chords) - 2  # the cadence and the final chord stay
    # The substitute each chord could take (if any holds its melody about as well).
    choices: list[Chord | None] = []
    for index, span in enumerate(score.chords):
        if index >= keep_from:
            choices.append(None)
            continue
        heard = [n for n in melody if span.start <= n.start < span.start + span.duration]
        current = _fit(span.chord, heard, scale)
        options = [c for c in _substitutes(span.chord, scale) if c != span.chord]
        rng.shuffle(options)
        scored = sorted(options, key=lambda c: -_fit(c, heard, scale))
        choices.append(next((c for c in scored if _fit(c, heard, scale) >= current - 0.25), None))
    possible = [i for i, choice in enumerate(choices) if choice is not None]
    if not possible:
        raise BadRequest("no other chords fit this melody; try a new melody instead")
    # Most chords change, not all: the piece should still sound like itself. At least one does.
    chosen = {i for i in possible if rng.random() < 0.75} or {rng.choice(possible)}
    new_spans: list[ChordSpan] = []
    for index, span in enumerate(score.chords):
        substitute = choices[index] if index in chosen else None
        previous = new_spans[-1].chord if new_spans else None
        if substitute is not None and substitute != previous:
            new_spans.append(ChordSpan(span.start, span.duration, substitute))
        else:
            new_spans.append(span)
    if tuple(new_spans) == score.chords:
        # Every chosen substitute repeated its neighbour: take the first one that doesn't.
        for index in possible:
            substitute = choices[index]
            neighbours = {s.chord for s in score.chords[max(0, index - 1) : index + 2]}
            if substitute is not None and substitute not in neighbours:
                span = score.chords[index]
                new_spans[index] = ChordSpan(span.start, span.duration, substitute)
                break
        else:
            raise BadRequest("no other chords fit this melody; try a new melody instead")
    tracks = tuple(
        t
        if t.is_drum or t.role == Role.LEAD
        else retarget_track(t, score.chords, new_spans, score.tonic, score.mode)
        for t in score.tracks
    )
    return replace(score, chords=tuple(new_spans), tracks=tracks)


def diatonic_chord(root: int, scale: Sequence[int], seventh: bool) -> Chord | None:
    """The chord built in thirds from the scale on `root` (None when `root` is not in it)."""
    if root not in scale:
        return None
    ordered = list(scale)
    i = ordered.index(root)
    third, fifth, sev = (ordered[(i + k) % 7] for k in (2, 4, 6))
    intervals = ((third - root) % 12, (fifth - root) % 12, (sev - root) % 12)
    triads = {(4, 7): "maj", (3, 7): "min", (3, 6): "dim"}
    sevenths = {(4, 7, 11): "maj7", (4, 7, 10): "7", (3, 7, 10): "m7", (3, 6, 10): "m7b5"}
    quality = sevenths.get(intervals) if seventh else triads.get(intervals[:2])
    return None if quality is None else Chord(root, quality)


def _substitutes(chord: Chord, scale: Sequence[int]) -> list[Chord]:
    seventh = len(CHORD_QUALITIES[chord.quality]) >= 4
    out = []
    for step in (3, 4, -3, -4):
        candidate = diatonic_chord((chord.root + step) % 12, scale, seventh)
        if candidate is not None:
            out.append(candidate)
    return out


def _fit(chord: Chord, notes: Sequence[Note], scale: Sequence[int]) -> float:
    """How well a chord holds these melody notes: long and on-beat notes count most."""
    tones = set(chord_pitch_classes(chord))
    total = 0.0
    for note in notes:
        weight = note.duration * (1.5 if abs(note.start - round(note.start)) < 0.05 else 1.0)
        pc = note.pitch % 12
        total += weight * (1.0 if pc in tones else (0.2 if pc in scale else -1.0))
    return total


# --- extend ---------------------------------------------------------------------------------------


def extend(score: Score, duration_s: float, seed: int, *, keep_tempo: bool = False) -> Score:
    """The piece made longer with new sections from its own material, ending as before.

    Body sections are played again, in order, before the last one (so the closing cadence
    stays last); every other repeat gets a new melody over its chords, so the piece develops
    instead of looping. The length lands exactly: the tempo moves by a fraction of a bar's worth
    (or, when a tempo was asked for, the final chord is held a little longer).
    """
    duration_s = float(duration_s)
    if not MIN_DURATION_S <= duration_s <= MAX_DURATION_S:
        raise BadRequest(
            f"length must be between {MIN_DURATION_S:g} s and {MAX_DURATION_S / 60:g} min,"
            f" got {duration_s:g} s"
        )
    if duration_s < score.duration_s + 2:
        raise BadRequest(
            f"the piece is already {score.duration_s:.0f} s long; extending needs a longer"
            f" length, e.g. 'to {_round_up(score.duration_s + 15)}'"
        )
    score = common_time(score)
    bpb = score.beats_per_bar
    body_bars = int(final_start(score) // bpb)
    material = [
        s for s in score.sections if s.name not in ("intro", "outro", "end") and s.bars > 0
    ] or [s for s in score.sections if s.name != "end"]
    if body_bars == 0 or not material:
        raise BadRequest("this piece is a single chord; there is nothing to extend it from")
    release = release_s(score)
    final_beats = music_end(score) - body_bars * bpb
    wanted_beats = (duration_s - release) * score.tempo_bpm / 60 - final_beats
    add_bars = max(1, round((wanted_beats - body_bars * bpb) / bpb))
    copies: list[Section] = []
    bars = 0
    index = 0
    while bars < add_bars:
        source = material[index % len(material)]
        take = min(source.bars, add_bars - bars)
        copies.append(Section(source.name, source.start_bar, take))
        bars += take
        index += 1
    insert_bar = material[-1].start_bar
    shift = add_bars * bpb
    insert_at = float(insert_bar * bpb)

    def moved(beat: float) -> float:
        return beat + shift if beat >= insert_at - 1e-6 else beat

    new_sections: list[Section] = []
    for section in score.sections:
        if section.start_bar == insert_bar and section is material[-1]:
            at = insert_bar
            for copy in copies:
                new_sections.append(Section(copy.name, at, copy.bars))
                at += copy.bars
        start = section.start_bar + (add_bars if section.start_bar >= insert_bar else 0)
        new_sections.append(Section(section.name, start, section.bars))
    lead = score.track(Role.LEAD)
    # Every other repeat sings a new melody; a piece of one section keeps its opening as it was.
    first = 1 if insert_bar == material[0].start_bar else 0
    varied = [i for i in range(len(copies)) if i % 2 == first]
    fresh: list[Note] = []
    if lead is not None and lead.notes and score.chords:
        placed = [
            Section(copy.name, at, copy.bars) for copy, at in _copy_starts(copies, insert_bar)
        ]
        longer = replace(score, sections=tuple(new_sections))
        longer = replace(longer, chords=_extended_chords(score, copies, insert_bar, moved))
        fresh = write_melody(longer, lead, seed, [placed[i] for i in varied], close=False)
    tracks = []
    for track in score.tracks:
        notes = [_moved_note(n, moved, insert_at) for n in track.notes if n.start < insert_at]
        notes += [
            _moved_note(n, moved, insert_at) for n in track.notes if n.start >= insert_at - 1e-6
        ]
        for number, (copy, at) in enumerate(_copy_starts(copies, insert_bar)):
            if track.role == Role.LEAD and number in varied and fresh:
                start, end = at * bpb, (at + copy.bars) * bpb
                notes += [n for n in fresh if start <= n.start < end]
                continue
            notes += _section_notes(track.notes, copy, at, bpb)
        controls = [ControlChange(moved(c.time), c.controller, c.value) for c in track.controls]
        tracks.append(replace(track, notes=tuple(sorted(notes)), controls=tuple(sorted(controls))))
    chords = _extended_chords(score, copies, insert_bar, moved)
    new_body = (body_bars + add_bars) * bpb
    tempo = score.tempo_bpm
    if keep_tempo:
        final_beats = (duration_s - release) * tempo / 60 - new_body
        if final_beats < 1:
            raise BadRequest("that length does not fit whole bars at this tempo; try a second more")
        chords, tracks = _held_final(chords, tracks, new_body, final_beats)
    else:
        tempo = round((new_body + final_beats) * 60 / (duration_s - release), 4)
    return replace(
        score,
        sections=tuple(new_sections),
        chords=chords,
        tracks=tuple(tracks),
        tempo_bpm=tempo,
        duration_s=round(duration_s, 3),
    )


def _round_up(seconds: float) -> str:
    seconds = math.ceil(seconds / 15) * 15
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


def _copy_starts(copies: Sequence[Section], insert_bar: int) -> list[tuple[Section, int]]:
    out = []
    at = insert_bar
    for copy in copies:
        out.append((copy, at))
        at += copy.bars
    return out


def _moved_note(note: Note, moved: Callable[[float], float], insert_at: float) -> Note:
    if note.start < insert_at - 1e-6:
        if note.end <= insert_at:
            return note
        # A note ringing over the insertion point stops there; the repeat brings its own.
        return Note(note.start, max(0.05, insert_at - note.start), note.pitch, note.velocity)
    return Note(moved(note.start), note.duration, note.pitch, note.velocity)


def _section_notes(notes: Sequence[Note], copy: Section, at: int, bpb: int) -> list[Note]:
    start, end = copy.start_bar * bpb, (copy.start_bar + copy.bars) * bpb
    offset = (at - copy.start_bar) * bpb
    out = []
    for note in notes:
        if start - 1e-6 <= note.start < end - 1e-6:
            duration = min(note.duration, end - note.start)
            out.append(Note(note.start + offset, max(0.05, duration), note.pitch, note.velocity))
    return out


def _extended_chords(
    score: Score,
    copies: Sequence[Section],
    insert_bar: int,
    moved: Callable[[float], float],
) -> tuple[ChordSpan, ...]:
    bpb = score.beats_per_bar
    insert_at = insert_bar * bpb
    before = [s for s in score.chords if s.start < insert_at - 1e-6]
    after = [
        ChordSpan(moved(s.start), s.duration, s.chord)
        for s in score.chords
        if s.start >= insert_at - 1e-6
    ]
    # A chord held over the insertion point stops there.
    before = [ChordSpan(s.start, min(s.duration, insert_at - s.start), s.chord) for s in before]
    timeline = ChordTimeline(score.chords)
    inserted: list[ChordSpan] = []
    for copy, at in _copy_starts(copies, insert_bar):
        start, end = copy.start_bar * bpb, (copy.start_bar + copy.bars) * bpb
        spans = [s for s in score.chords if start - 1e-6 <= s.start < end - 1e-6]
        if not spans or spans[0].start > start + 1e-6:
            first_end = spans[0].start if spans else end
            spans.insert(0, ChordSpan(start, first_end - start, timeline(start)))
        offset = (at - copy.start_bar) * bpb
        for span in spans:
            length = min(span.duration, end - span.start)
            inserted.append(ChordSpan(span.start + offset, length, span.chord))
    return tuple(before + inserted + after)


def _held_final(
    chords: tuple[ChordSpan, ...], tracks: list[Track], final_at: float, final_beats: float
) -> tuple[tuple[ChordSpan, ...], list[Track]]:
    last = chords[-1]
    old_end = last.start + last.duration
    new_end = final_at + final_beats
    chords = (*chords[:-1], ChordSpan(last.start, new_end - last.start, last.chord))
    held = []
    for track in tracks:
        notes = tuple(
            Note(n.start, n.duration + new_end - old_end, n.pitch, n.velocity)
            if n.start >= final_at - 1e-6 and n.end >= old_end - 0.05 and not track.is_drum
            else n
            for n in track.notes
        )
        held.append(replace(track, notes=notes))
    return chords, held
