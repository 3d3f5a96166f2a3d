"""Uploaded MIDI → Score: real files written by pretty_midi, real child processes for the sandbox,
and the hostile corpus through the sandbox."""

from __future__ import annotations

import io
import multiprocessing
import struct
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pretty_midi
import pytest

from generators.compose.theory import CHORD_QUALITIES
from generators.remix import sandbox as sandbox_module
from generators.remix.midi_import import (
    ImportLimits,
    MidiRejected,
    check_upload_size,
    score_from_midi,
)
from generators.remix.sandbox import SandboxLimits, import_midi
from generators.score import Chord, Role, Score

# A melody as (pitch, beats) per bar; each bar's chord is (root pitch class, quality).
Bar = tuple[tuple[int, str], Sequence[tuple[int, float]]]

# C major, I–vi–IV–V: root, third, a passing tone on an eighth, fifth held.
C_MAJOR_BARS: tuple[Bar, ...] = (
    ((0, "maj"), ((72, 1.0), (76, 0.5), (77, 0.5), (79, 2.0))),
    ((9, "min"), ((69, 1.0), (72, 0.5), (74, 0.5), (76, 2.0))),
    ((5, "maj"), ((77, 1.0), (81, 0.5), (83, 0.5), (84, 2.0))),
    ((7, "maj"), ((79, 1.0), (83, 0.5), (84, 0.5), (86, 2.0))),
)
# A minor, i–iv–V7–i, the leading tone G♯ in the dominant.
A_MINOR_BARS: tuple[Bar, ...] = (
    ((9, "min"), ((69, 1.0), (72, 0.5), (74, 0.5), (76, 2.0))),
    ((2, "min"), ((74, 1.0), (77, 0.5), (79, 0.5), (81, 2.0))),
    ((4, "7"), ((76, 1.0), (80, 0.5), (81, 0.5), (83, 2.0))),
    ((9, "min"), ((81, 1.0), (76, 0.5), (72, 0.5), (69, 2.0))),
)


def arrangement(
    bars: Sequence[Bar],
    *,
    bpm: float = 100.0,
    time_signature: tuple[int, int] = (4, 4),
    beats_per_bar: float = 4.0,
    lead_in_beats: float = 0.0,
    melody_name: str = "Flute",
    drums: bool = True,
) -> bytes:
    """A small band as a Standard MIDI File: block chords on piano, a string pad inside them,
    bass roots, a flute melody on top and a drum kit, written by pretty_midi."""
    spb = 60.0 / bpm
    midi = pretty_midi.PrettyMIDI(initial_tempo=bpm, resolution=480)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(*time_signature, 0.0))
    piano = pretty_midi.Instrument(0, name="Piano")
    strings = pretty_midi.Instrument(48, name="Strings")
    bass = pretty_midi.Instrument(33, name="Bass")
    flute = pretty_midi.Instrument(73, name=melody_name)
    kit = pretty_midi.Instrument(0, is_drum=True, name="Drums")
    for index, ((root, quality), tune) in enumerate(bars):
        start = (lead_in_beats + index * beats_per_bar) * spb
        end = start + beats_per_bar * spb
        bottom = 48 + (root - 48) % 12
        for interval in CHORD_QUALITIES[quality]:
            piano.notes.append(pretty_midi.Note(70, bottom + interval, start, end))
        for interval in CHORD_QUALITIES[quality][1:3]:
            strings.notes.append(pretty_midi.Note(50, bottom + 12 + interval, start, end))
        bass.notes.append(pretty_midi.Note(90, 36 + root, start, end))
        at = start
        for pitch, beats in tune:
            flute.notes.append(pretty_midi.Note(96, pitch, at, at + beats * spb))
            at += beats * spb
        for beat in range(int(beats_per_bar)):
            hit = start + beat * spb
            kit.notes.append(pretty_midi.Note(100, 36 if beat % 2 == 0 else 38, hit, hit + 0.1))
    # The melody is not the first track: it has to be found.
    midi.instruments.extend([piano, strings, bass, flute, *([kit] if drums else [])])
    return write(midi)


def write(midi: pretty_midi.PrettyMIDI) -> bytes:
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def chord_at(score: Score, beat: float) -> Chord:
    return next(s.chord for s in score.chords if s.start <= beat < s.start + s.duration)


def melody_of(score: Score) -> list[tuple[float, float, int]]:
    lead = score.track(Role.LEAD)
    assert lead is not None
    return [(n.start, n.duration, n.pitch) for n in lead.notes]


def expected_melody(
    bars: Sequence[Bar], beats_per_bar: float = 4.0
) -> list[tuple[float, float, int]]:
    notes = []
    for index, (_, tune) in enumerate(bars):
        at = index * beats_per_bar
        for pitch, beats in tune:
            notes.append((at, beats, pitch))
            at += beats
    return notes


def patched(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


@pytest.fixture(scope="module")
def c_major() -> bytes:
    return arrangement(C_MAJOR_BARS * 4)


@pytest.fixture(scope="module")
def a_minor() -> bytes:
    return arrangement(A_MINOR_BARS * 4, bpm=84.0)


@pytest.fixture(scope="module")
def busy() -> bytes:
    """A valid file near the note limit: 700 bars of 16th notes over chords, 9 min 20 s."""
    bars: list[Bar] = []
    for index in range(700):
        chord = C_MAJOR_BARS[index % 4][0]
        bars.append((chord, [(72 + (index + step) % 12, 0.25) for step in range(16)]))
    return arrangement(bars, bpm=300.0, drums=False)


# --- the Score ---------------------------------------------------------------------------------


def test_c_major_melody_chords_key_tempo_and_metre(c_major: bytes) -> None:
    score = score_from_midi(c_major, title="Heart and Soul")
    assert melody_of(score) == expected_melody(C_MAJOR_BARS * 4)
    lead = score.track(Role.LEAD)
    assert lead is not None and lead.program == 73 and lead.name == "Melody"
    per_bar = [
        (chord_at(score, bar * 4.0).root, chord_at(score, bar * 4.0).quality) for bar in range(16)
    ]
    assert per_bar == [chord for chord, _ in C_MAJOR_BARS] * 4
    assert score.key_name == "C major"
    assert (score.tempo_bpm, score.beats_per_bar) == (100.0, 4)
    assert (score.title, score.genre, score.request_text) == (
        "Heart and Soul",
        "imported",
        "uploaded MIDI",
    )


def test_a_minor_with_a_dominant_seventh(a_minor: bytes) -> None:
    score = score_from_midi(a_minor)
    assert melody_of(score) == expected_melody(A_MINOR_BARS * 4)
    per_bar = [
        (chord_at(score, bar * 4.0).root, chord_at(score, bar * 4.0).quality) for bar in range(16)
    ]
    assert per_bar == [chord for chord, _ in A_MINOR_BARS] * 4
    assert (score.tonic, score.mode) == (9, "minor")
    assert score.tempo_bpm == 84.0


def test_identical_neighbouring_chords_are_one_span(a_minor: bytes) -> None:
    score = score_from_midi(a_minor)
    assert all(a.chord != b.chord for a, b in zip(score.chords, score.chords[1:], strict=False))
    # i at the end of one phrase and the start of the next: one span of two bars.
    assert [(s.start, s.duration) for s in score.chords[3:5]] == [(12.0, 8.0), (20.0, 4.0)]
    for a, b in zip(score.chords, score.chords[1:], strict=False):
        assert a.start + a.duration == pytest.approx(b.start)


@pytest.mark.parametrize(
    "chords",
    [
        [(2, "m7"), (7, "7"), (0, "maj7"), (0, "maj7")],
        [(11, "m7b5"), (4, "7"), (9, "min"), (9, "min")],
        [(0, "sus4"), (0, "maj"), (11, "dim"), (0, "maj")],
    ],
)
def test_every_recognised_quality(chords: list[tuple[int, str]]) -> None:
    bars: list[Bar] = []
    for root, quality in chords:
        tones = [72 + (root + i) % 12 for i in CHORD_QUALITIES[quality][:3]]
        bars.append(((root, quality), [(tones[0], 2.0), (tones[1], 1.0), (tones[2], 1.0)]))
    score = score_from_midi(arrangement(bars * 2))
    found = [
        (chord_at(score, bar * 4.0).root, chord_at(score, bar * 4.0).quality) for bar in range(8)
    ]
    assert found == chords * 2


def test_two_chords_in_a_bar_are_two_spans() -> None:
    halves = [(0, "maj"), (7, "maj"), (9, "min"), (5, "maj")]
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0, resolution=480)
    piano = pretty_midi.Instrument(0, name="Piano")
    flute = pretty_midi.Instrument(73, name="Flute")
    for half in range(16):
        root, quality = halves[half % 4]
        start, end = half * 1.0, half * 1.0 + 1.0  # two beats at 120 BPM
        for interval in CHORD_QUALITIES[quality]:
            piano.notes.append(pretty_midi.Note(70, 48 + (root - 48) % 12 + interval, start, end))
        piano.notes.append(pretty_midi.Note(80, 36 + root, start, end))
        for step, interval in enumerate(CHORD_QUALITIES[quality][1:]):
            at = start + step * 0.5
            flute.notes.append(pretty_midi.Note(90, 72 + (root + interval) % 12, at, at + 0.5))
    midi.instruments.extend([piano, flute])
    score = score_from_midi(write(midi))
    found = [
        (chord_at(score, half * 2.0).root, chord_at(score, half * 2.0).quality)
        for half in range(16)
    ]
    assert found == halves * 4
    assert {s.duration for s in score.chords[:-1]} == {2.0}


@pytest.mark.parametrize(
    ("signature", "beats_per_bar"),
    [((3, 4), 3), ((6, 8), 3), ((2, 4), 2), ((2, 2), 4), ((12, 8), 6), ((5, 8), 4), ((4, 4), 4)],
)
def test_beats_per_bar_from_the_time_signature(
    signature: tuple[int, int], beats_per_bar: int
) -> None:
    quarters = signature[0] * 4 / signature[1]
    bars: list[Bar] = [((0, "maj"), [(72, quarters / 2), (76, quarters / 2)])] * 8
    data = arrangement(bars, time_signature=signature, beats_per_bar=quarters, drums=False)
    assert score_from_midi(data).beats_per_bar == beats_per_bar


def test_sections_cover_every_bar_and_end_on_the_tonic(c_major: bytes) -> None:
    score = score_from_midi(c_major)
    assert [(s.name, s.start_bar, s.bars) for s in score.sections] == [
        ("A", 0, 4),
        ("B", 4, 4),
        ("A", 8, 4),
        ("B", 12, 4),
        ("end", 16, 1),
    ]
    # The piece ends on V: the final bar is the tonic chord instead, held a bar.
    final = score.chords[-1]
    assert (final.start, final.duration, final.chord) == (64.0, 4.0, Chord(0, "maj"))
    assert max(n.end for n in score.tracks[0].notes) <= 64.0
    music_end = final.start + final.duration
    assert all(n.end <= music_end for track in score.tracks for n in track.notes)
    assert score.duration_s == pytest.approx(68 * 0.6 + 1.5)


def test_phrases_are_eight_bars_from_32_bars() -> None:
    score = score_from_midi(arrangement(C_MAJOR_BARS * 9, bpm=140.0, drums=False))
    assert [(s.name, s.start_bar, s.bars) for s in score.sections] == [
        ("A", 0, 8),
        ("B", 8, 8),
        ("A", 16, 8),
        ("B", 24, 8),
        ("A", 32, 4),
        ("end", 36, 1),
    ]
    assert score.total_bars == 37


def test_accompaniment_plays_the_chords(c_major: bytes) -> None:
    score = score_from_midi(c_major)
    chords, bass = score.track(Role.CHORDS), score.track(Role.BASS)
    assert chords is not None and bass is not None
    assert all(48 <= n.pitch <= 72 for n in chords.notes)
    assert all(36 <= n.pitch <= 52 for n in bass.notes)
    for note in bass.notes:
        assert note.pitch % 12 == chord_at(score, note.start).root
    for note in chords.notes:
        chord = chord_at(score, note.start)
        assert (note.pitch - chord.root) % 12 in {i % 12 for i in CHORD_QUALITIES[chord.quality]}


def test_leading_silence_is_trimmed_to_the_bar() -> None:
    # Two empty bars and a beat before the first note: two bars go, the beat stays.
    score = score_from_midi(arrangement(C_MAJOR_BARS, lead_in_beats=9.0, drums=False))
    assert melody_of(score)[0] == (1.0, 1.0, 72)
    assert chord_at(score, 0.0) == Chord(0, "maj")


def test_round_trips_through_json_and_is_deterministic(c_major: bytes) -> None:
    score = score_from_midi(c_major)
    assert Score.from_json(score.to_json()) == score
    assert score_from_midi(c_major).to_json() == score.to_json()


def test_a_short_piece_holds_its_last_chord_to_5_s() -> None:
    # IV–V at 300 BPM: 1.6 s, then the tonic chord held until 3.5 s.
    score = score_from_midi(arrangement(C_MAJOR_BARS[2:], bpm=300.0, drums=False))
    assert score.key_name == "C major"
    assert score.duration_s == pytest.approx(5.0)
    final = score.chords[-1]
    assert (final.start, final.chord) == (8.0, Chord(0, "maj")) and final.duration > 4.0
    assert score.seconds(final.start + final.duration) + 1.5 == pytest.approx(5.0)


def test_a_long_piece_is_cut_at_a_bar_line_within_300_s() -> None:
    score = score_from_midi(arrangement(C_MAJOR_BARS * 70, bpm=120.0, drums=False))  # 560 s
    assert 5.0 <= score.duration_s <= 300.0
    body = score.sections[-1].start_bar
    assert score.sections[-1] == type(score.sections[-1])("end", body, 1)
    assert body == 148  # (300 − 1.5) s at 2 s a bar, less the final bar
    assert all(n.end <= body * 4.0 for n in score.tracks[0].notes)


def test_zero_length_notes_are_dropped() -> None:
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0, resolution=480)
    flute = pretty_midi.Instrument(73, name="Flute")
    for beat, pitch in enumerate((72, 74, 76, 77, 79)):
        flute.notes.append(pretty_midi.Note(90, pitch, beat * 0.5, beat * 0.5 + 0.5))
        flute.notes.append(pretty_midi.Note(90, pitch + 12, beat * 0.5 + 0.25, beat * 0.5 + 0.25))
    midi.instruments.append(flute)
    assert [n.pitch for n in score_from_midi(write(midi)).tracks[0].notes] == [72, 74, 76, 77, 79]


# --- refusals ----------------------------------------------------------------------------------


def refusal(data: bytes, limits: ImportLimits | None = None) -> str:
    with pytest.raises(MidiRejected) as caught:
        score_from_midi(data, limits or ImportLimits())
    return str(caught.value)


def test_drums_only_is_refused() -> None:
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    kit = pretty_midi.Instrument(0, is_drum=True)
    kit.notes.extend(pretty_midi.Note(100, 36 + i % 3, i * 0.25, i * 0.25 + 0.1) for i in range(64))
    midi.instruments.append(kit)
    message = refusal(write(midi))
    assert "drum" in message and "no melody" in message


def test_format_2_is_refused(c_major: bytes) -> None:
    message = refusal(patched(c_major, 8, struct.pack(">H", 2)))
    assert "format-2" in message and "format 1" in message


def test_truncated_file_is_refused_with_the_track_and_sizes(c_major: bytes) -> None:
    # Find the second track chunk and cut the file 10 bytes into it.
    first_length = struct.unpack(">I", c_major[18:22])[0]
    second = 14 + 8 + first_length
    declared = struct.unpack(">I", c_major[second + 4 : second + 8])[0]
    message = refusal(c_major[: second + 8 + 10])
    assert (
        message == f"the file is cut short: track 2 says it has {declared} bytes but only 10 follow"
    )


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"ID3\x04\x00" + bytes(100), "MP3"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(40), "WAV"),
        (b"MThd\x00\x00\x00\x06\x00\x01", "cut short"),
        (b"MThd\x00\x00\x00\x08\x00\x01\x00\x01\x01\xe0", "should be 6"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\x00", "0 ticks"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\xe7\x28", "SMPTE"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x00\x01\xe0", "no tracks"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x01\x00\x01\xe0", "256 tracks; at most 64"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x00\x00", "only 1 are there"),
        (
            b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x00\x03\x00\x90\x3c",
            "runs past",
        ),
    ],
)
def test_damaged_or_foreign_files_are_refused_clearly(data: bytes, words: str) -> None:
    assert words in refusal(data)


def test_limits_are_refused_with_what_would_be_right(c_major: bytes) -> None:
    assert "up to 100 bytes" in refusal(c_major, ImportLimits(max_bytes=100))
    assert "more than 50 notes" in refusal(c_major, ImportLimits(max_notes=50))
    assert "at most 2 can be read" in refusal(c_major, ImportLimits(max_tracks=2))
    assert "up to 30 s" in refusal(c_major, ImportLimits(max_seconds=30.0))
    assert "at least 99 are needed" in refusal(c_major, ImportLimits(min_melody_notes=99))
    with pytest.raises(MidiRejected, match="up to 1 MB"):
        check_upload_size(5 * 2**20)


def test_tempo_outside_30_to_300_bpm_is_refused() -> None:
    assert "20 BPM" in refusal(arrangement(C_MAJOR_BARS, bpm=20.0))
    assert "400 BPM" in refusal(arrangement(C_MAJOR_BARS, bpm=400.0))


def test_an_hour_of_silence_then_music_is_trimmed_but_a_ten_minute_note_is_refused() -> None:
    late = arrangement(C_MAJOR_BARS, lead_in_beats=4 * 1800.0, bpm=120.0, drums=False)
    assert melody_of(score_from_midi(late))[0] == (0.0, 1.0, 72)
    midi = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    flute = pretty_midi.Instrument(73)
    flute.notes.extend(pretty_midi.Note(90, 72 + i, i * 0.5, i * 0.5 + 0.5) for i in range(4))
    flute.notes.append(pretty_midi.Note(90, 60, 0.0, 3600.0))
    midi.instruments.append(flute)
    assert "1.0 hours" in refusal(write(midi))


# --- the sandbox -------------------------------------------------------------------------------


def test_sandbox_gives_the_same_score(c_major: bytes, a_minor: bytes) -> None:
    for data in (c_major, a_minor):
        assert import_midi(data, title="Upload") == score_from_midi(data, title="Upload")
    assert multiprocessing.active_children() == []


def test_sandbox_passes_refusals_through(c_major: bytes) -> None:
    with pytest.raises(MidiRejected, match="format-2"):
        import_midi(patched(c_major, 8, struct.pack(">H", 2)))


def test_sandbox_from_worker_threads(c_major: bytes, a_minor: bytes) -> None:
    with ThreadPoolExecutor(4) as threads:
        scores = list(threads.map(import_midi, [c_major, a_minor] * 4))
    assert [s.key_name for s in scores] == ["C major", "A minor"] * 4
    assert multiprocessing.active_children() == []


def test_oversize_is_refused_before_any_process_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_process() -> None:
        raise AssertionError("a process was started for an oversize upload")

    monkeypatch.setattr(sandbox_module, "_context", no_process)
    with pytest.raises(MidiRejected, match="up to 1 MB"):
        import_midi(b"MThd" + bytes(2**20))


def test_over_the_wall_clock_the_child_is_killed(busy: bytes) -> None:
    assert score_from_midi(busy).tracks[0].notes  # valid, and not quick to read
    with pytest.raises(MidiRejected, match=r"took too long to read \(over 0.001 s\)"):
        import_midi(busy, sandbox=SandboxLimits(wall_s=0.001))
    assert multiprocessing.active_children() == []


def test_over_the_memory_limit_is_a_clear_refusal(busy: bytes) -> None:
    with pytest.raises(MidiRejected, match=r"too big or too complicated .* \(16 MB of memory\)"):
        import_midi(busy, sandbox=SandboxLimits(memory_bytes=16 * 2**20))
    assert multiprocessing.active_children() == []


def test_over_the_cpu_limit_is_a_clear_refusal() -> None:
    # 1 MB of back-to-back notes, allowed by the limits but well over a second of parsing.
    events = b"\x00\x90\x3c\x40" + b"".join(
        bytes((1, 0x3C + n % 24, 0x40 if n % 2 == 0 else 0)) for n in range(340_000)
    )
    data = (
        b"MThd"
        + struct.pack(">IHHH", 6, 0, 1, 480)
        + b"MTrk"
        + struct.pack(">I", len(events))
        + events
    )
    with pytest.raises(MidiRejected, match="more than 1 s of computing"):
        import_midi(data, ImportLimits(max_notes=10**6), SandboxLimits(wall_s=30.0, cpu_s=1))
    assert multiprocessing.active_children() == []


def test_the_hostile_corpus_never_crashes_or_hangs() -> None:
    from tests.midi_corpus import hostile_midis

    outcomes: Counter[str] = Counter()
    for midi in hostile_midis():
        try:
            score = import_midi(midi.data, title=midi.name)
        except MidiRejected as error:
            assert str(error).strip(), midi.name
            outcomes["refused"] += 1
        else:
            assert score.title == midi.name and 5.0 <= score.duration_s <= 300.0
            outcomes["read"] += 1
    assert sum(outcomes.values()) >= 220
    assert multiprocessing.active_children() == []
