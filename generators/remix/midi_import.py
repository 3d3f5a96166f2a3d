"""Standard MIDI File → Score: the melody and harmony of an upload, ready to be re-arranged.

Uploads are hostile until proven otherwise. The cheap checks (size, header, the chunk table) run on
the raw bytes before any parser sees them; each track is then parsed by mido on its own, so an event
that runs past its chunk cannot read into the next one; every parser failure becomes a
`MidiRejected` whose message says what was wrong. Run it through `generators.remix.sandbox` when
the bytes come from a person: that bounds its time and memory too.

What comes out is a Score in beats of the file's own tempo, with
- a monophonic `Role.LEAD` "Melody": the skyline of the most melody-like track;
- chord spans, one per bar (two where the harmony clearly changes mid-bar), from duration-weighted
  pitch-class histograms of every pitched note matched against chord templates;
- the key from Krumhansl–Kessler profiles;
- plain block "Chords" and root "Bass" tracks from those spans, so the result plays as it is;
- 4-bar (8-bar from 32 bars) phrases "A", "B", "A", … and a final bar "end" on the tonic chord.
"""

from __future__ import annotations

import heapq
import io
import itertools
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mido

from generators.compose.theory import CHORD_QUALITIES
from generators.errors import BadRequest
from generators.score import Chord, ChordSpan, Note, Role, Score, Section, Track

DRUM_CHANNEL = 9  # MIDI channel 10
MIN_TEMPO_BPM = 30.0
MAX_TEMPO_BPM = 300.0
MIN_DURATION_S = 5.0
MAX_DURATION_S = 300.0
RING_OUT_S = 1.5
DEFAULT_TEMPO_US = 500_000  # 120 BPM, the MIDI default before any tempo event
# The chord qualities we recognise; the richer ones in CHORD_QUALITIES are guesses a histogram
# cannot tell apart reliably from a triad with a passing note.
RECOGNISED_QUALITIES = ("maj", "min", "7", "maj7", "m7", "dim", "m7b5", "sus4")

_CHORDS_PROGRAM = 0  # acoustic grand piano
_BASS_PROGRAM = 32  # acoustic bass
_BAR_CAP_BEATS = 7  # beats_per_bar we accept from a time signature: 2..7

# Krumhansl & Kessler (1982) key profiles, C first.
_MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)

# Chord matching weights, chosen so that a passing tone in the melody does not turn a triad into a
# seventh chord, and a root sounding in the bass settles which of two overlapping chords it is.
_BASS_EXTRA = 1.0  # the lowest sounding note counts this much again
_OUTSIDE_PENALTY = 0.6  # per unit of weight on notes outside the chord
_MISSING_PENALTY = 0.12  # per chord tone that is (almost) silent
_MISSING_SHARE = 0.05  # below this share of the window a chord tone counts as missing
_ROOT_IN_BASS_BONUS = 0.08
_COMPLEXITY = {"maj": 0.0, "min": 0.0, "7": 0.05, "maj7": 0.05, "m7": 0.05}
_COMPLEXITY_DEFAULT = 0.07  # dim, m7b5, sus4: rarer, so they must fit clearly better
_SPLIT_MARGIN = 0.2  # how much better two half-bar chords must fit than one for the bar

_MELODY_WORDS = ("melod", "lead", "vocal", "voice", "solo", "sing", "theme", "tune", "canto")
_ACCOMPANIMENT_WORDS = ("bass", "drum", "perc", "chord", "pad", "accomp", "comp", "rhythm")

# What an upload that is not MIDI usually is, by its first bytes.
_OTHER_FORMATS = (
    (b"ID3", "an MP3 audio file"),
    (b"\xff\xfb", "an MP3 audio file"),
    (b"\xff\xf3", "an MP3 audio file"),
    (b"OggS", "an Ogg audio file"),
    (b"fLaC", "a FLAC audio file"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (a compressed MusicXML .mxl file?)"),
    (b"<?xml", "an XML file (MusicXML?)"),
)


class MidiRejected(BadRequest):
    """The upload cannot be remixed; the message, safe to show, says what was wrong and what would
    be right."""


@dataclass(frozen=True, slots=True)
class ImportLimits:
    max_bytes: int = 1_048_576
    max_tracks: int = 64
    max_notes: int = 20_000  # note-ons in the whole file, drums included
    max_seconds: float = 600.0  # of music, at the tempo the Score keeps
    min_melody_notes: int = 4

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_tracks, self.max_notes, self.min_melody_notes) < 1:
            raise ValueError(f"every import limit must be at least 1, got {self}")
        if not self.max_seconds > 0:
            raise ValueError(f"max_seconds must be positive, got {self.max_seconds}")


def check_upload_size(size: int, limits: ImportLimits = ImportLimits()) -> None:
    """Refuse an upload by its size alone (a front end can call this before downloading it)."""
    if size == 0:
        raise MidiRejected("the file is empty; upload a Standard MIDI File (.mid)")
    if size > limits.max_bytes:
        raise MidiRejected(
            f"the file is {_size_text(size)}; MIDI files up to {_size_text(limits.max_bytes)} "
            "can be remixed (a whole song is rarely over 200 kB)"
        )


def score_from_midi(
    data: bytes, limits: ImportLimits = ImportLimits(), *, title: str = "Uploaded MIDI"
) -> Score:
    """The melody, harmony, key, tempo and metre of a Standard MIDI File (format 0 or 1) as a Score.

    Beats are the file's quarter notes (ticks / ticks per beat), so later tempo changes do not
    move notes off the grid; the tempo is the one in force at the first note (the file's first
    tempo, as a rule) and must be 30..300 BPM. Leading silence is trimmed to the bar of the first
    note. The Score lasts its music, a final bar on the tonic chord and a 1.5 s ring-out, which
    must come to 5..300 s: a shorter piece holds its final chord longer, a longer one is cut at
    the last bar line that fits. Pure and deterministic; raises MidiRejected, with a message safe
    to show, for anything it cannot read.
    """
    layout = _read_layout(data, limits)
    source = _read_tracks(layout, limits)
    voices = [v for v in source.voices if v.channel != DRUM_CHANNEL and v.notes]
    if not voices:
        raise MidiRejected(_no_notes_reason(source))
    tpb = layout.ticks_per_beat
    first_tick = min(v.notes[0].start for v in voices)
    tempo_bpm = round(_tempo_at(source.tempos, first_tick), 3)
    beats_per_bar = _beats_per_bar_at(source.meters, first_tick)
    bar_ticks = beats_per_bar * tpb
    shift = first_tick // bar_ticks * bar_ticks
    seconds_per_beat = 60.0 / tempo_bpm

    last_tick = max(n.end for v in voices for n in v.notes)
    music_s = (last_tick - shift) / tpb * seconds_per_beat
    if music_s > limits.max_seconds:
        raise MidiRejected(
            f"this MIDI lasts {_duration_text(music_s)} from its first note; pieces up to "
            f"{_duration_text(limits.max_seconds)} can be remixed — upload a shorter part of it"
        )
    # The body: whole bars up to the last note, cut at the last bar line that leaves room for the
    # final bar and the ring-out within MAX_DURATION_S.
    max_body_bars = max(
        1, int((MAX_DURATION_S - RING_OUT_S) / seconds_per_beat / beats_per_bar) - 1
    )
    body_bars = min(max_body_bars, max(1, -(-(last_tick - shift) // bar_ticks)))
    body_end = float(body_bars * beats_per_bar)
    heard = [_in_beats(v, shift, tpb, body_end) for v in voices]

    lead = _choose_melody(heard, body_end, beats_per_bar, limits.min_melody_notes)
    melody = _skyline(lead.notes)
    if len(melody) < limits.min_melody_notes:
        raise MidiRejected(
            f"this MIDI has only {len(melody)} melody note{'s' if len(melody) != 1 else ''}; "
            f"at least {limits.min_melody_notes} are needed to remix it"
        )

    all_notes = [note for voice in heard for note in voice.notes]
    windows = _window_histograms(all_notes, body_bars, beats_per_bar)
    tonic, mode = _key(windows)
    spans = _chord_spans(windows, body_bars, beats_per_bar)

    final_chord = spans[-1].chord
    if not _is_tonic_chord(final_chord, tonic, mode):
        final_chord = Chord(tonic, "maj" if mode == "major" else "min")
    final_beats = float(beats_per_bar)
    shortest_music_beats = (MIN_DURATION_S - RING_OUT_S) / seconds_per_beat
    final_beats = max(final_beats, shortest_music_beats - body_end)
    spans = _merge([*spans, ChordSpan(body_end, final_beats, final_chord)])
    duration_s = max(MIN_DURATION_S, (body_end + final_beats) * seconds_per_beat + RING_OUT_S)

    tracks = (
        Track(
            name="Melody",
            role=Role.LEAD,
            program=lead.program,
            notes=tuple(
                Note(_beat(n.start), _beat(n.end - n.start), n.pitch, n.velocity) for n in melody
            ),
        ),
        Track(
            name="Chords",
            role=Role.CHORDS,
            program=_CHORDS_PROGRAM,
            pan=-0.2,
            notes=_accompaniment(spans, beats_per_bar, body_end, _chord_voicing, 64),
        ),
        Track(
            name="Bass",
            role=Role.BASS,
            program=_BASS_PROGRAM,
            notes=_accompaniment(spans, beats_per_bar, body_end, _bass_voicing, 80),
        ),
    )
    return Score(
        title=title,
        genre="imported",
        mood="calm",
        tonic=tonic,
        mode=mode,
        tempo_bpm=tempo_bpm,
        beats_per_bar=beats_per_bar,
        duration_s=round(duration_s, 6),
        seed=0,
        swing=0.5,
        sections=_sections(body_bars),
        chords=tuple(spans),
        tracks=tracks,
        request_text="uploaded MIDI",
        colour="classical",
    )


# --- the container: header and chunk table, before any parser ----------------------------------


@dataclass(frozen=True, slots=True)
class _Layout:
    format: int
    ticks_per_beat: int
    tracks: tuple[bytes, ...]  # the body of each MTrk chunk, in file order


def _read_layout(data: bytes, limits: ImportLimits) -> _Layout:
    check_upload_size(len(data), limits)
    data = _unwrap_riff(data)
    if not data.startswith(b"MThd"):
        raise MidiRejected(_not_midi_reason(data))
    if len(data) < 14:
        raise MidiRejected("the file is cut short: it ends inside the MIDI header")
    header_length, file_format, declared_tracks, division = struct.unpack(">IHHH", data[4:14])
    if header_length != 6:
        raise MidiRejected(
            f"the MIDI header is damaged: it says it is {header_length} bytes long, it should be 6"
        )
    if file_format == 2:
        raise MidiRejected(
            "this is a format-2 MIDI file (a set of independent patterns, not one song); only "
            "format 0 and 1 files can be remixed — export it again as format 1"
        )
    if file_format not in (0, 1):
        raise MidiRejected(
            f"the MIDI header says format {file_format}, which does not exist; "
            "MIDI files are format 0 or 1 — the file is damaged"
        )
    if division & 0x8000:
        raise MidiRejected(
            "this MIDI file counts time in SMPTE frames rather than beats; export it again "
            "with a musical time base (ticks per quarter note)"
        )
    if division == 0:
        raise MidiRejected("the MIDI header says a beat has 0 ticks, which is impossible")
    if declared_tracks == 0:
        raise MidiRejected("the MIDI header says the file has no tracks, so there is no music")
    if declared_tracks > limits.max_tracks:
        raise MidiRejected(
            f"the file has {declared_tracks} tracks; at most {limits.max_tracks} can be read"
        )
    if file_format == 0 and declared_tracks != 1:
        raise MidiRejected(
            f"the MIDI header is damaged: a format-0 file has one track, this one says "
            f"{declared_tracks}"
        )
    return _Layout(file_format, division, _track_chunks(data, declared_tracks))


def _track_chunks(data: bytes, declared: int) -> tuple[bytes, ...]:
    """The MTrk chunk bodies, after checking that each chunk's length fits in the file."""
    tracks: list[bytes] = []
    position = 14
    while len(tracks) < declared:
        number = len(tracks) + 1
        if position >= len(data):
            raise MidiRejected(
                f"the file is cut short: the header promises {declared} tracks but only "
                f"{len(tracks)} are there"
            )
        if position + 8 > len(data):
            raise MidiRejected(
                f"the file is cut short: it ends inside the header of track {number}"
            )
        kind = data[position : position + 4]
        (length,) = struct.unpack(">I", data[position + 4 : position + 8])
        if kind != b"MTrk" and not (kind.isascii() and kind.isalnum()):
            raise MidiRejected(
                f"the file is damaged: track {number} should start at byte {position}, "
                f"but there are unreadable bytes there"
            )
        available = len(data) - position - 8
        if length > available:
            what = f"track {number}" if kind == b"MTrk" else f"a {kind.decode()!r} chunk"
            raise MidiRejected(
                f"the file is cut short: {what} says it has {length} bytes "
                f"but only {available} follow"
            )
        if kind == b"MTrk":
            tracks.append(data[position + 8 : position + 8 + length])
        # Other chunk types are allowed by the standard and skipped by readers.
        position += 8 + length
    return tuple(tracks)


def _unwrap_riff(data: bytes) -> bytes:
    """The Standard MIDI File inside a RIFF RMID file (Windows' .rmi), or `data` itself."""
    if not (data.startswith(b"RIFF") and data[8:12] == b"RMID"):
        return data
    position = 12
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        (length,) = struct.unpack("<I", data[position + 4 : position + 8])
        if kind == b"data":
            return data[position + 8 : position + 8 + length]
        position += 8 + length + (length & 1)
    raise MidiRejected("this RIFF MIDI (.rmi) file has no MIDI data inside it")


def _not_midi_reason(data: bytes) -> str:
    for magic, what in _OTHER_FORMATS:
        if data.startswith(magic):
            return f"this looks like {what}, not a MIDI file; upload a Standard MIDI File (.mid)"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return (
            "this looks like a WAV audio file, not a MIDI file; upload a Standard MIDI File (.mid)"
        )
    return (
        "this is not a Standard MIDI File: it should start with 'MThd'; upload a .mid file saved "
        "by a sequencer or a notation program"
    )


# --- the events ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SourceNote:
    start: int  # ticks from the start of the file
    end: int
    pitch: int
    velocity: int


@dataclass(slots=True)
class _Voice:
    """The notes one track plays on one channel: a candidate for the melody."""

    track: int
    channel: int
    name: str
    program: int  # -1 until known
    notes: list[_SourceNote]


@dataclass(frozen=True, slots=True)
class _Source:
    voices: tuple[_Voice, ...]
    tempos: tuple[tuple[int, int, int], ...]  # (tick, order, microseconds per beat)
    meters: tuple[tuple[int, int, int, int], ...]  # (tick, order, numerator, denominator)
    pitched_note_ons: int
    drum_note_ons: int


def _read_tracks(layout: _Layout, limits: ImportLimits) -> _Source:
    """Every track's notes paired up (in ticks), its name and programs, and the tempo and time
    signature events. A note struck again while it sounds ends there; one never released is
    dropped, as pretty_midi does."""
    voices: list[_Voice] = []
    tempos: list[tuple[int, int, int]] = []
    meters: list[tuple[int, int, int, int]] = []
    pitched = drums = 0
    order = 0
    channel_programs: dict[int, int] = {}  # the first program change anywhere, per channel
    for index, chunk in enumerate(layout.tracks):
        tick = 0
        name = ""
        programs: dict[int, int] = {}
        notes: dict[int, list[_SourceNote]] = {}
        sounding: dict[tuple[int, int], tuple[int, int]] = {}  # (channel, pitch) → (start, vel)
        for message in _parse_track(index + 1, chunk, layout.ticks_per_beat):
            tick += message.time
            order += 1
            kind = message.type
            if kind == "note_on" and message.velocity > 0:
                if message.channel == DRUM_CHANNEL:
                    drums += 1
                else:
                    pitched += 1
                if pitched + drums > limits.max_notes:
                    raise MidiRejected(
                        f"this MIDI has more than {limits.max_notes} notes; songs up to "
                        f"{limits.max_notes} notes can be remixed"
                    )
                key = (message.channel, message.note)
                if key in sounding:  # struck again while sounding: the first one ends here
                    _close(notes, key, sounding.pop(key), tick)
                sounding[key] = (tick, message.velocity)
            elif kind in ("note_off", "note_on"):
                key = (message.channel, message.note)
                if key in sounding:
                    _close(notes, key, sounding.pop(key), tick)
            elif kind == "program_change":
                programs.setdefault(message.channel, message.program)
                channel_programs.setdefault(message.channel, message.program)
            elif kind == "set_tempo":
                tempos.append((tick, order, message.tempo))
            elif kind == "time_signature":
                meters.append((tick, order, message.numerator, message.denominator))
            elif kind in ("track_name", "instrument_name") and not name:
                name = message.name
        for channel, played in notes.items():
            played.sort(key=lambda n: (n.start, n.pitch))
            voices.append(_Voice(index, channel, name, programs.get(channel, -1), played))
    for voice in voices:
        if voice.program < 0:  # set in another track: it still applies to the channel
            voice.program = channel_programs.get(voice.channel, 0)
    voices.sort(key=lambda v: (v.track, v.channel))
    return _Source(tuple(voices), tuple(sorted(tempos)), tuple(sorted(meters)), pitched, drums)


def _close(
    notes: dict[int, list[_SourceNote]],
    key: tuple[int, int],
    opened: tuple[int, int],
    tick: int,
) -> None:
    start, velocity = opened
    if tick > start:  # a zero-length note is nothing to hear
        channel, pitch = key
        notes.setdefault(channel, []).append(_SourceNote(start, tick, pitch, velocity))


def _parse_track(number: int, chunk: bytes, ticks_per_beat: int) -> list[mido.Message]:
    """One track's messages, parsed by mido from a one-track file: nothing past its chunk."""
    alone = (
        b"MThd"
        + struct.pack(">IHHH", 6, 0, 1, ticks_per_beat)
        + b"MTrk"
        + struct.pack(">I", len(chunk))
        + chunk
    )
    try:
        midi = mido.MidiFile(file=io.BytesIO(alone))
        return list(midi.tracks[0])
    except EOFError:
        raise MidiRejected(
            f"track {number} is damaged: an event runs past the end of the track"
        ) from None
    except MemoryError:
        raise
    except (IndexError, struct.error):
        raise MidiRejected(
            f"track {number} is damaged: an event is shorter than its type needs; "
            "try exporting the MIDI file again"
        ) from None
    except Exception as error:
        detail = str(error).strip() or type(error).__name__
        raise MidiRejected(
            f"track {number} is damaged and cannot be read ({detail[:160]}); "
            "try exporting the MIDI file again"
        ) from None


def _no_notes_reason(source: _Source) -> str:
    if source.pitched_note_ons:
        return (
            "this MIDI's notes never end or last no time (note-ons without matching note-offs), "
            "so there is no melody to remix; try exporting the file again"
        )
    if source.drum_note_ons:
        return (
            "this MIDI has no notes outside the drum channel, so there is no melody to remix; "
            "upload a file with a melody or chords"
        )
    return "this MIDI has no notes, so there is nothing to remix"


def _tempo_at(tempos: Sequence[tuple[int, int, int]], tick: int) -> float:
    """The tempo in BPM where the music starts (the file's first tempo, in the usual case)."""
    microseconds = DEFAULT_TEMPO_US
    for at, _, value in tempos:
        if at > tick:
            break
        microseconds = value
    if microseconds == 0:
        raise MidiRejected(
            "this MIDI's tempo is impossible (a beat lasting 0 microseconds); the file is damaged"
        )
    bpm = 60_000_000 / microseconds
    if not MIN_TEMPO_BPM <= bpm <= MAX_TEMPO_BPM:
        shown = f"{bpm:.3g}" if bpm < 1000 else f"{bpm:,.0f}"
        raise MidiRejected(
            f"this MIDI's tempo is {shown} BPM where the music starts; tempos from "
            f"{MIN_TEMPO_BPM:g} to {MAX_TEMPO_BPM:g} BPM can be remixed"
        )
    return bpm


def _beats_per_bar_at(meters: Sequence[tuple[int, int, int, int]], tick: int) -> int:
    """Quarter notes per bar from the time signature where the music starts: 3/4 → 3, 6/8 → 3,
    2/2 → 4; 4 when there is none or its bar is not 2..7 whole quarter notes (5/8, 9/8, …)."""
    numerator, denominator = 4, 4
    for at, _, top, bottom in meters:
        if at > tick:
            break
        numerator, denominator = top, bottom
    quarters = numerator * 4 / denominator if denominator else 0.0
    if quarters.is_integer() and 2 <= quarters <= _BAR_CAP_BEATS:
        return int(quarters)
    return 4


# --- beats: the notes the Score keeps -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Heard:
    start: float  # beats from the first bar
    end: float
    pitch: int
    velocity: int


@dataclass(frozen=True, slots=True)
class _HeardVoice:
    name: str
    program: int
    notes: tuple[_Heard, ...]  # by start, then pitch


def _in_beats(voice: _Voice, shift: int, tpb: int, body_end: float) -> _HeardVoice:
    notes = []
    for note in voice.notes:
        start = (note.start - shift) / tpb
        if start >= body_end:
            break
        end = min(body_end, (note.end - shift) / tpb)
        notes.append(_Heard(start, end, note.pitch, note.velocity))
    return _HeardVoice(voice.name, max(0, voice.program), tuple(notes))


def _beat(value: float) -> float:
    return round(value, 6)


# --- the melody ----------------------------------------------------------------------------


def _choose_melody(
    voices: Sequence[_HeardVoice], body_end: float, beats_per_bar: int, min_notes: int
) -> _HeardVoice:
    """The voice most likely to carry the tune: high, one note at a time, busy enough, present
    through the piece, and named or voiced like a lead rather than an accompaniment."""
    candidates = [v for v in voices if len(v.notes) >= min_notes]
    if not candidates:
        return max(voices, key=lambda v: len(v.notes))
    bars = max(1.0, body_end / beats_per_bar)
    return max(candidates, key=lambda v: _melody_likeness(v, bars, body_end))


def _melody_likeness(voice: _HeardVoice, bars: float, body_end: float) -> float:
    notes = voice.notes
    mean_pitch = sum(n.pitch for n in notes) / len(notes)
    overlapping = 0
    covered = 0.0
    reach = -1.0
    for note in notes:  # sorted by start
        if note.start < reach:
            overlapping += 1
        covered += max(0.0, note.end - max(note.start, reach))
        reach = max(reach, note.end)
    polyphony = overlapping / len(notes)
    coverage = covered / body_end
    density = len(notes) / bars
    score = (mean_pitch - 60.0) / 12.0 - 2.0 * polyphony + coverage
    if density < 0.75 or density > 16.0:
        score -= 1.0
    name = voice.name.lower()
    if any(word in name for word in _MELODY_WORDS):
        score += 3.0
    elif any(word in name for word in _ACCOMPANIMENT_WORDS):
        score -= 3.0
    if 32 <= voice.program <= 39:  # basses
        score -= 3.0
    elif voice.program >= 112 or voice.program == 47:  # percussive, sound effects, timpani
        score -= 2.0
    elif 88 <= voice.program <= 103:  # pads and synth effects
        score -= 1.0
    return score


def _skyline(notes: Sequence[_Heard]) -> list[_Heard]:
    """The highest note of each onset, each cut where the next begins: one note at a time."""
    tops: list[_Heard] = []
    for note in notes:  # sorted by start, then pitch: the last of an onset is its highest
        if tops and tops[-1].start == note.start:
            tops[-1] = note
        else:
            tops.append(note)
    return [
        _Heard(note.start, min(note.end, following.start), note.pitch, note.velocity)
        for note, following in itertools.pairwise([*tops, _Heard(math.inf, math.inf, 0, 1)])
    ]


# --- the harmony ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Window:
    """How long each pitch class sounds in a stretch of the piece, and how long it is lowest."""

    start: float
    end: float
    weights: tuple[float, ...]  # 12 pitch classes, in beats of sounding
    lowest: tuple[float, ...]  # 12 pitch classes, in beats of being the lowest note

    @property
    def total(self) -> float:
        return sum(self.weights)


def _window_histograms(
    notes: Sequence[_Heard], bars: int, beats_per_bar: int
) -> list[list[_Window]]:
    """Per bar, its halves (whole bars when the bar has an odd number of beats): one sweep over
    the note starts and ends, so a hostile file of long notes costs no more than a tidy one."""
    parts = 2 if beats_per_bar % 2 == 0 else 1
    step = beats_per_bar / parts
    boundaries = [index * step for index in range(bars * parts + 1)]
    events: list[tuple[float, int, int]] = []  # (time, +1 start / -1 end, pitch)
    for note in notes:
        events.append((note.start, 1, note.pitch))
        events.append((note.end, -1, note.pitch))
    events.sort(key=lambda e: (e[0], e[1]))  # ends before starts at the same time
    active = [0] * 128
    low_heap: list[int] = []
    weights = [[0.0] * 12 for _ in range(len(boundaries) - 1)]
    lowest = [[0.0] * 12 for _ in range(len(boundaries) - 1)]
    window = 0
    now = 0.0
    counts = [0] * 12

    def advance(until: float) -> None:
        nonlocal now, window
        while now < until and window < len(weights):
            stop = min(until, boundaries[window + 1])
            span = stop - now
            if span > 0:
                row = weights[window]
                for pc in range(12):
                    if counts[pc]:
                        row[pc] += counts[pc] * span
                while low_heap and not active[low_heap[0]]:
                    heapq.heappop(low_heap)
                if low_heap:
                    lowest[window][low_heap[0] % 12] += span
            now = stop
            if stop >= boundaries[window + 1]:
                window += 1

    for time, change, pitch in events:
        advance(time)
        active[pitch] += change
        counts[pitch % 12] += change
        if change > 0 and active[pitch] == 1:
            heapq.heappush(low_heap, pitch)
    advance(boundaries[-1])
    windows = [
        _Window(boundaries[i], boundaries[i + 1], tuple(weights[i]), tuple(lowest[i]))
        for i in range(len(weights))
    ]
    return [windows[bar * parts : (bar + 1) * parts] for bar in range(bars)]


def _key(bars: Sequence[Sequence[_Window]]) -> tuple[int, str]:
    """Tonic and mode by Krumhansl–Kessler: the key profile best correlated with how long each
    pitch class sounds in the whole piece."""
    histogram = [0.0] * 12
    for bar in bars:
        for window in bar:
            for pc in range(12):
                histogram[pc] += window.weights[pc]
    best = (-2.0, 0, "major")
    for mode, profile in (("major", _MAJOR_PROFILE), ("minor", _MINOR_PROFILE)):
        for tonic in range(12):
            rotated = [profile[(pc - tonic) % 12] for pc in range(12)]
            correlation = _correlation(histogram, rotated)
            if correlation > best[0]:
                best = (correlation, tonic, mode)
    return best[1], best[2]


def _correlation(xs: Sequence[float], ys: Sequence[float]) -> float:
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var_x = sum((x - mean_x) ** 2 for x in xs)
    var_y = sum((y - mean_y) ** 2 for y in ys)
    if var_x <= 0 or var_y <= 0:
        return 0.0
    return cov / math.sqrt(var_x * var_y)


_TEMPLATES: tuple[tuple[int, str, frozenset[int]], ...] = tuple(
    (root, quality, frozenset((root + i) % 12 for i in CHORD_QUALITIES[quality]))
    for quality in RECOGNISED_QUALITIES
    for root in range(12)
)


def _profile(windows: Sequence[_Window]) -> tuple[float, ...] | None:
    """Pitch-class shares of the windows, the lowest notes counted extra; None if silent."""
    combined = [0.0] * 12
    for window in windows:
        for pc in range(12):
            combined[pc] += window.weights[pc] + _BASS_EXTRA * window.lowest[pc]
    total = sum(combined)
    if total <= 0:
        return None
    return tuple(w / total for w in combined)


def _bass_class(windows: Sequence[_Window]) -> int | None:
    lowest = [sum(w.lowest[pc] for w in windows) for pc in range(12)]
    top = max(lowest)
    return lowest.index(top) if top > 0 else None


def _fit(
    shares: Sequence[float], bass: int | None, root: int, quality: str, tones: frozenset[int]
) -> float:
    inside = sum(shares[pc] for pc in tones)
    missing = sum(1 for pc in tones if shares[pc] < _MISSING_SHARE)
    score = inside - _OUTSIDE_PENALTY * (1.0 - inside) - _MISSING_PENALTY * missing
    score -= _COMPLEXITY.get(quality, _COMPLEXITY_DEFAULT)
    if bass == root:
        score += _ROOT_IN_BASS_BONUS
    return score


def _best_chord(windows: Sequence[_Window]) -> tuple[Chord, float] | None:
    shares = _profile(windows)
    if shares is None:
        return None
    bass = _bass_class(windows)
    best_score = -math.inf
    best = _TEMPLATES[0]
    for template in _TEMPLATES:  # a tie keeps the simpler quality, then the lower root
        root, quality, tones = template
        score = _fit(shares, bass, root, quality, tones)
        if score > best_score + 1e-9:
            best_score, best = score, template
    return Chord(best[0], best[1]), best_score


def _fit_chord(windows: Sequence[_Window], chord: Chord) -> float:
    shares = _profile(windows)
    if shares is None:
        return 0.0
    tones = frozenset((chord.root + i) % 12 for i in CHORD_QUALITIES[chord.quality])
    return _fit(shares, _bass_class(windows), chord.root, chord.quality, tones)


def _chord_spans(
    bars: Sequence[Sequence[_Window]], body_bars: int, beats_per_bar: int
) -> list[ChordSpan]:
    """A chord per bar, or per half bar where the halves clearly want different chords; a silent
    bar keeps the chord before it (the first chord reaches back over silent bars before it)."""
    spans: list[ChordSpan] = []
    pending_silence = 0.0
    for index, windows in enumerate(bars):
        bar_start = float(index * beats_per_bar)
        whole = _best_chord(windows)
        if whole is None:
            if spans:
                spans.append(ChordSpan(bar_start, float(beats_per_bar), spans[-1].chord))
            else:
                pending_silence += beats_per_bar
            continue
        pieces = [(bar_start, float(beats_per_bar), whole[0])]
        if len(windows) == 2:
            halves = [_best_chord([w]) for w in windows]
            if halves[0] is not None and halves[1] is not None:
                first, second = halves[0][0], halves[1][0]
                split_fit = (halves[0][1] + halves[1][1]) / 2
                whole_fit = (
                    _fit_chord([windows[0]], whole[0]) + _fit_chord([windows[1]], whole[0])
                ) / 2
                if first != second and split_fit - whole_fit > _SPLIT_MARGIN:
                    half = beats_per_bar / 2
                    pieces = [(bar_start, half, first), (bar_start + half, half, second)]
        for start, duration, chord in pieces:
            spans.append(ChordSpan(start, duration, chord))
        if pending_silence:
            first_span = spans[0]
            spans[0] = ChordSpan(0.0, first_span.duration + pending_silence, first_span.chord)
            pending_silence = 0.0
    return _merge(spans)


def _merge(spans: Sequence[ChordSpan]) -> list[ChordSpan]:
    merged: list[ChordSpan] = []
    for span in spans:
        if merged and merged[-1].chord == span.chord:
            last = merged[-1]
            merged[-1] = ChordSpan(last.start, span.start + span.duration - last.start, last.chord)
        else:
            merged.append(span)
    return merged


def _is_tonic_chord(chord: Chord, tonic: int, mode: str) -> bool:
    qualities = ("maj", "maj7") if mode == "major" else ("min", "m7")
    return chord.root == tonic and chord.quality in qualities


# --- accompaniment and form ----------------------------------------------------------------


def _chord_voicing(chord: Chord) -> tuple[int, ...]:
    """Root position from the root's place in 48..59: every tone stays within 48..72."""
    bottom = 48 + (chord.root - 48) % 12
    return tuple(bottom + i for i in CHORD_QUALITIES[chord.quality] if i < 12)


def _bass_voicing(chord: Chord) -> tuple[int, ...]:
    return (36 + chord.root % 12,)


def _accompaniment(
    spans: Sequence[ChordSpan],
    beats_per_bar: int,
    body_end: float,
    voicing: Callable[[Chord], tuple[int, ...]],
    velocity: int,
) -> tuple[Note, ...]:
    """Each span's voicing struck at its start and again on every bar line inside it; the final
    chord (from `body_end`) is held, not struck again."""
    notes: list[Note] = []
    for span in spans:
        end = span.start + span.duration
        cuts = [span.start]
        bar = math.floor(span.start / beats_per_bar) + 1
        while bar * beats_per_bar < min(end, body_end) - 1e-9:
            cuts.append(float(bar * beats_per_bar))
            bar += 1
        if span.start < body_end < end - 1e-9 and body_end not in cuts:
            cuts.append(body_end)
        cuts.append(end)
        pitches = voicing(span.chord)
        for start, stop in itertools.pairwise(cuts):
            for pitch in pitches:
                notes.append(Note(_beat(start), _beat(stop - start), pitch, velocity))
    return tuple(notes)


def _sections(body_bars: int) -> tuple[Section, ...]:
    phrase = 8 if body_bars >= 32 else 4
    sections = [
        Section("AB"[index % 2], start, min(phrase, body_bars - start))
        for index, start in enumerate(range(0, body_bars, phrase))
    ]
    return (*sections, Section("end", body_bars, 1))


# --- wording ---------------------------------------------------------------------------------


def _size_text(size: int) -> str:
    if size >= 1_048_576:
        return f"{size / 1_048_576:.3g} MB"
    if size >= 1024:
        return f"{size / 1024:.3g} kB"
    return f"{size} bytes"


def _duration_text(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    minutes, rest = divmod(round(seconds), 60)
    if minutes == 0:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"
