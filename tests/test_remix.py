"""Remix operations on the Score: each keeps what makes the piece itself and changes one thing."""

from __future__ import annotations

import itertools
import statistics
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generators.catalog import MODES, Catalog
from generators.compose import compose
from generators.compose.styles import STYLES, style_for
from generators.compose.theory import chord_pitch_classes
from generators.errors import BadRequest
from generators.quality import check_score
from generators.remix import FASTER, RemixChanges, remix, remix_title
from generators.remix.operations import (
    common_time,
    final_start,
    music_end,
    pitch_map,
    release_s,
    reswing,
)
from generators.remix.retarget import coloured, retarget_pitch
from generators.request import CompositionRequest
from generators.score import Chord, ChordSpan, Note, Role, Score, Section, Track

CATALOG = Catalog.default()


def piece(genre: str = "lofi", seed: int = 7, seconds: float = 30, **request: object) -> Score:
    return compose(CompositionRequest(genre=genre, duration_s=seconds, **request), seed, CATALOG)  # type: ignore[arg-type]


def lead_pitches(score: Score) -> list[int]:
    lead = score.track(Role.LEAD)
    assert lead is not None
    return [n.pitch for n in sorted(lead.notes, key=lambda n: (n.start, -n.pitch))]


def intervals(pitches: list[int]) -> list[int]:
    return [b - a for a, b in itertools.pairwise(pitches)]


# --- restyle --------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", sorted(STYLES))
@pytest.mark.parametrize(("source_genre", "seed"), [("lofi", 7), ("rock", 3), ("classical", 11)])
def test_restyle_keeps_the_melody_up_to_transposition_and_the_harmony(
    source_genre: str, seed: int, target: str
) -> None:
    source = piece(source_genre, seed)
    result = remix(source, RemixChanges(genre=target), seed=99)

    before, after = lead_pitches(source), lead_pitches(result)
    assert len(after) == len(before)
    assert intervals(after) == intervals(before)  # the same tune, maybe in another octave
    assert (after[0] - before[0]) % 12 == 0
    # The same chord roots at the same places, in the new genre's colour.
    assert [(s.start, s.chord.root) for s in result.chords] == [
        (s.start, s.chord.root) for s in source.chords
    ]
    assert result.genre == target and result.colour == target
    low, high = style_for(target).tempo_range(_profile(result.mood), result.variant or None)
    assert low <= result.tempo_bpm <= high
    assert result.duration_s == pytest.approx(
        result.seconds(music_end(result)) + release_s(result), abs=0.01
    )
    assert result.track(Role.DRUMS) is None or result.track(Role.DRUMS) != source.track(Role.DRUMS)
    assert result.title == f"{source.title} ({target} remix)"


def _profile(name: str):  # type: ignore[no-untyped-def]
    from generators.compose.mood import MOOD_PROFILES

    return MOOD_PROFILES[name]


def test_restyle_moves_the_accompaniment_onto_the_pieces_chords() -> None:
    source = piece("rock", 3)
    result = remix(source, RemixChanges(genre="jazz"), seed=5)
    bass = result.track(Role.BASS)
    assert bass is not None
    # On every chord's downbeat the bass plays that chord's root (or its slash bass).
    hits = misses = 0
    for span in result.chords:
        at = [n for n in bass.notes if abs(n.start - span.start) < 0.1]
        if not at:
            continue
        wanted = span.chord.bass if span.chord.bass is not None else span.chord.root
        played = min(at, key=lambda n: abs(n.start - span.start)).pitch % 12
        hits += played == wanted
        misses += played != wanted
    assert hits >= 0.8 * (hits + misses) and hits > 4
    # Jazz speaks in sevenths: a plain rock triad comes back as a seventh chord.
    assert all(len(chord_pitch_classes(s.chord)) >= 4 for s in result.chords)


def test_restyle_re_swings_the_melody() -> None:
    source = piece("rock", 3)  # straight 8ths
    result = remix(source, RemixChanges(genre="jazz"), seed=5)
    assert result.swing > 0.6
    offbeats = [n.start % 1 for n in result.track(Role.LEAD).notes if 0.3 < n.start % 1 < 0.9]  # type: ignore[union-attr]
    assert offbeats and statistics.median(offbeats) > 0.6  # the "and" comes late


def test_reswing_round_trips_and_is_monotonic() -> None:
    for beat in [0.0, 0.25, 0.5, 0.58, 1.0, 3.75, 7.5]:
        there = reswing(beat, 0.5, 4, 0.6, 4)
        assert reswing(there, 0.6, 4, 0.5, 4) == pytest.approx(beat)
    times = [i / 16 for i in range(64)]
    swung = [reswing(t, 0.5, 2, 0.667, 2) for t in times]
    assert swung == sorted(swung)
    assert reswing(0.5, 0.5, 2, 0.667, 2) == pytest.approx(0.667)


# --- tempo, key, mood -----------------------------------------------------------------------------


def test_tempo_change_is_exact_and_keeps_every_note_in_place() -> None:
    source = piece("lofi", 7)
    result = remix(source, RemixChanges(tempo_bpm=120), seed=1)
    assert result.tempo_bpm == 120
    assert [t.notes for t in result.tracks] == [t.notes for t in source.tracks]
    expected = music_end(source) * 60 / 120 + release_s(source)
    assert result.duration_s == pytest.approx(expected, abs=0.001)

    faster = remix(source, RemixChanges(tempo_factor=FASTER), seed=1)
    assert faster.tempo_bpm == pytest.approx(round(source.tempo_bpm * FASTER, 1))
    assert faster.duration_s < source.duration_s


def test_tempo_outside_what_a_piece_can_be_is_refused_clearly() -> None:
    source = piece("lofi", 7, seconds=240)
    with pytest.raises(BadRequest, match="between 40 and 220 bpm"):
        remix(source, RemixChanges(tempo_bpm=400), seed=1)
    with pytest.raises(
        BadRequest,
        match=r"would make the piece 4\d\d.\d s long.*between 5 s and 5 min.*smaller tempo change",
    ):
        remix(source, RemixChanges(tempo_factor=0.5), seed=1)


def test_key_change_in_the_same_mode_transposes_every_pitched_note_exactly() -> None:
    source = piece("jazz", 4, tonic=0, mode="major")
    result = remix(source, RemixChanges(tonic=4), seed=1)  # C → E, up a major third
    assert (result.tonic, result.mode) == (4, "major")
    for before, after in zip(source.tracks, result.tracks, strict=True):
        if before.is_drum:
            assert after.notes == before.notes
            continue
        assert sorted((n.start, n.pitch % 12) for n in after.notes) == sorted(
            (n.start, (n.pitch + 4) % 12) for n in before.notes
        )
    lead_moves = {a - b for a, b in zip(lead_pitches(result), lead_pitches(source), strict=True)}
    assert lead_moves <= {4, 4 - 12, 4 + 12}  # by a third (an octave fold only at range edges)
    assert [s.chord.root for s in result.chords] == [(s.chord.root + 4) % 12 for s in source.chords]
    assert [s.chord.quality for s in result.chords] == [s.chord.quality for s in source.chords]


def test_mode_change_keeps_every_notes_scale_degree() -> None:
    source = piece("classical", 2, tonic=0, mode="major")
    result = remix(source, RemixChanges(tonic=4, mode="minor"), seed=1)  # C major → E minor
    assert result.key_name == "E minor"
    major, minor = MODES["major"], MODES["minor"]
    lead_before = sorted(source.track(Role.LEAD).notes)  # type: ignore[union-attr]
    lead_after = sorted(result.track(Role.LEAD).notes)  # type: ignore[union-attr]
    dominant_spans = [
        s for s in result.chords if (s.chord.root - 4) % 12 == 7 and s.chord.quality in ("maj", "7")
    ]
    for before, after in zip(lead_before, lead_after, strict=True):
        relative = (before.pitch - 0) % 12
        if relative not in major:
            continue
        degree = major.index(relative)
        wanted = (4 + minor[degree]) % 12
        under_v = any(s.start <= before.start < s.start + s.duration for s in dominant_spans)
        if under_v and degree == 6:
            wanted = (wanted + 1) % 12  # harmonic minor's leading tone under the dominant
        assert after.pitch % 12 == wanted
    tonic_chord = result.chords[-1].chord
    assert tonic_chord.root == 4 and 3 in _intervals(tonic_chord)


def _intervals(chord: Chord) -> set[int]:
    return {(pc - chord.root) % 12 for pc in chord_pitch_classes(chord)}


@given(
    tonic=st.integers(0, 11),
    mode=st.sampled_from(sorted(MODES)),
    to_tonic=st.integers(0, 11),
    to_mode=st.sampled_from(sorted(MODES)),
    pitch=st.integers(30, 100),
)
def test_pitch_map_keeps_scale_degrees_and_moves_at_most_a_tritone_and_a_step(
    tonic: int, mode: str, to_tonic: int, to_mode: str, pitch: int
) -> None:
    mapped = pitch_map(tonic, mode, to_tonic, to_mode)(pitch)
    relative = (pitch - tonic) % 12
    if relative in MODES[mode]:
        degree = MODES[mode].index(relative)
        assert (mapped - to_tonic) % 12 == MODES[to_mode][degree]
    assert abs(mapped - pitch) <= 6 + 2


def test_mood_change_moves_mode_tempo_and_dynamics_within_the_genre() -> None:
    source = piece("lofi", 7, mood="happy", mode="major")
    result = remix(source, RemixChanges(mood="sad"), seed=1)
    assert result.mood == "sad" and result.mode in ("minor", "dorian")
    assert 70 <= result.tempo_bpm <= 90 and result.tempo_bpm < source.tempo_bpm
    velocity = statistics.mean(n.velocity for n in result.track(Role.LEAD).notes)  # type: ignore[union-attr]
    assert velocity < statistics.mean(n.velocity for n in source.track(Role.LEAD).notes)  # type: ignore[union-attr]


# --- instruments ----------------------------------------------------------------------------------


def test_instruments_change_who_plays_and_add_or_drop_parts() -> None:
    source = piece("lofi", 7)
    strings = remix(source, RemixChanges(instruments=("strings",)), seed=1)
    pad = strings.track(Role.PAD)
    assert pad is not None and pad.program == 48 and pad.notes
    assert pad.name == "Strings"
    sax = remix(source, RemixChanges(instruments=("tenor sax",)), seed=1)
    assert sax.track(Role.LEAD).program == 66  # type: ignore[union-attr]
    assert intervals(lead_pitches(sax)) == intervals(lead_pitches(source))
    no_drums = remix(source, RemixChanges(without=("drums",)), seed=1)
    assert no_drums.track(Role.DRUMS) is None
    with pytest.raises(BadRequest, match="unknown instrument 'kazoo'"):
        remix(source, RemixChanges(instruments=("kazoo",)), seed=1)


# --- variation ------------------------------------------------------------------------------------


def test_new_melody_keeps_harmony_and_band_and_ends_on_the_tonic() -> None:
    source = piece("lofi", 7)
    result = remix(source, RemixChanges(new_melody=True), seed=3)
    assert result.chords == source.chords
    for role in (Role.CHORDS, Role.BASS, Role.DRUMS):
        assert result.track(role) == source.track(role)
    assert lead_pitches(result) != lead_pitches(source)
    last = max(result.track(Role.LEAD).notes, key=lambda n: n.start)  # type: ignore[union-attr]
    assert last.pitch % 12 == source.tonic
    assert last.start == pytest.approx(final_start(result), abs=0.1)
    # On strong beats the new line sits on chord tones, as a tune over its harmony does.
    from generators.compose.arrangement import ChordTimeline

    chord_at = ChordTimeline(result.chords)
    strong = [n for n in result.track(Role.LEAD).notes if abs(n.start % 2) < 0.05]  # type: ignore[union-attr]
    on_chord = [n for n in strong if n.pitch % 12 in chord_pitch_classes(chord_at(n.start))]
    assert len(on_chord) >= 0.7 * len(strong)


def test_reharmonise_keeps_the_melody_and_the_cadence_and_changes_chords() -> None:
    source = piece("jazz", 4, seconds=45)
    result = remix(source, RemixChanges(new_harmony=True), seed=3)
    assert result.track(Role.LEAD) == source.track(Role.LEAD)
    assert result.chords[-2:] == source.chords[-2:]
    changed = [a for a, b in zip(result.chords, source.chords, strict=True) if a != b]
    assert len(changed) >= 2
    for new, old in zip(result.chords, source.chords, strict=True):
        assert (new.start, new.duration) == (old.start, old.duration)
        if new != old:  # a substitute a third away, sharing two notes
            assert (new.chord.root - old.chord.root) % 12 in (3, 4, 8, 9)
            assert (
                len(set(chord_pitch_classes(new.chord)) & set(chord_pitch_classes(old.chord))) >= 2
            )


def test_new_melody_and_new_chords_together_are_refused() -> None:
    with pytest.raises(BadRequest, match="not both"):
        RemixChanges(new_melody=True, new_harmony=True)


# --- extend ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("genre", "seconds", "target"),
    [("lofi", 30, 120.0), ("jazz", 20, 47.5), ("edm", 30, 90.0), ("classical", 15, 300.0)],
)
def test_extend_reaches_the_new_length_exactly_with_a_proper_ending(
    genre: str, seconds: float, target: float
) -> None:
    source = piece(genre, 5, seconds=seconds)
    result = remix(source, RemixChanges(duration_s=target), seed=8)
    assert result.duration_s == target
    ring_out = result.duration_s - result.seconds(music_end(result))
    assert ring_out == pytest.approx(release_s(source), abs=0.01)
    assert abs(result.tempo_bpm / source.tempo_bpm - 1) < 0.1
    # Sections cover every bar in order and end with the final chord.
    bar = 0
    for section in result.sections:
        assert section.start_bar == bar
        bar += section.bars
    assert result.sections[-1].name == "end"
    assert final_start(result) == result.chords[-1].start
    # The ending is the original's: tonic chord, the melody resolving to the tonic on it.
    assert result.chords[-1].chord == source.chords[-1].chord
    assert result.chords[-1].chord.root == source.tonic
    lead = result.track(Role.LEAD)
    if lead is not None:
        last = max(lead.notes, key=lambda n: n.start)
        assert last.pitch % 12 == source.tonic and last.start >= final_start(result) - 0.1
    # The opening is unchanged, and the new bars repeat the piece's own chords.
    first_bar = sorted(n for n in result.tracks[0].notes if n.start < 4)
    assert first_bar == sorted(n for n in source.tracks[0].notes if n.start < 4)
    assert {s.chord for s in result.chords} <= {s.chord for s in source.chords}
    assert len(result.track(Role.LEAD).notes) > len(source.track(Role.LEAD).notes)  # type: ignore[union-attr]


def test_extend_with_an_asked_tempo_holds_the_final_chord_instead() -> None:
    source = piece("lofi", 5, seconds=30)
    result = remix(source, RemixChanges(tempo_bpm=84, duration_s=61), seed=8)
    assert result.tempo_bpm == 84 and result.duration_s == 61
    assert result.duration_s == pytest.approx(
        result.seconds(music_end(result)) + release_s(source), abs=0.01
    )


def test_extend_refuses_a_shorter_length_with_a_suggestion() -> None:
    source = piece("lofi", 5, seconds=30)
    with pytest.raises(BadRequest, match=r"already 30 s long.*'to 45s'"):
        remix(source, RemixChanges(duration_s=20), seed=8)


# --- several changes, the whole remix ------------------------------------------------------------


def test_several_changes_in_one_request_all_apply() -> None:
    source = piece("lofi", 7)
    changes = RemixChanges(
        genre="bossa", tonic=9, mode="minor", instruments=("flute",), duration_s=60, text="x"
    )
    result = remix(source, changes, seed=4)
    assert result.genre == "bossa" and result.key_name == "A minor"
    assert result.duration_s == 60 and result.track(Role.LEAD).program == 73  # type: ignore[union-attr]
    assert result.request_text == "x" and result.seed == 4
    assert remix(source, changes, seed=4) == result  # pure


def test_remix_is_good_enough_for_the_quality_checks_in_every_genre() -> None:
    source = piece("lofi", 7)
    passed = sum(
        check_score(remix(source, RemixChanges(genre=genre), seed=2)).passed for genre in STYLES
    )
    assert passed >= len(STYLES) - 1


def test_empty_changes_and_an_upload_without_a_style_are_refused_clearly() -> None:
    source = piece("lofi", 7)
    with pytest.raises(BadRequest, match="say what to change"):
        remix(source, RemixChanges(text="please"), seed=1)
    upload = replace(source, genre="imported")
    with pytest.raises(BadRequest, match=r"needs a style.*'as lofi'"):
        remix(upload, RemixChanges(tempo_factor=FASTER), seed=1)


def test_titles_name_the_remix_without_stacking() -> None:
    assert remix_title("Blue Hour", "jazz") == "Blue Hour (jazz remix)"
    assert remix_title("Blue Hour (jazz remix)", "rock") == "Blue Hour (rock remix)"
    assert remix_title("Blue Hour (remix)", None) == "Blue Hour (remix)"
    assert len(remix_title("x" * 200, "synthwave")) <= 120


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31 - 1),
    genre=st.sampled_from(sorted(STYLES)),
    target=st.sampled_from(sorted(STYLES)),
    tempo=st.one_of(st.none(), st.floats(0.7, 1.4)),
)
def test_any_restyle_keeps_the_tune_and_a_valid_length(
    seed: int, genre: str, target: str, tempo: float | None
) -> None:
    source = piece(genre, seed % 1000, seconds=20)
    try:
        result = remix(source, RemixChanges(genre=target, tempo_factor=tempo), seed=seed)
    except BadRequest as error:  # only ever because the length or tempo leaves what we make
        assert "long" in str(error) or "tempo must be between 40 and 220 bpm" in str(error)
        return
    assert intervals(lead_pitches(result)) == intervals(lead_pitches(source))
    assert 5 <= result.duration_s <= 300
    Score.from_json(result.to_json())


# --- the pieces underneath ------------------------------------------------------------------------


def test_retarget_moves_chord_tones_by_function() -> None:
    cmaj7, am7 = Chord(0, "maj7"), Chord(9, "m7")
    scale = (0, 2, 4, 5, 7, 9, 11)
    assert retarget_pitch(64, cmaj7, am7, scale) % 12 == 0  # E, the third of C → C, the third of Am
    assert retarget_pitch(71, cmaj7, am7, scale) % 12 == 7  # B, the 7th → G, the 7th
    assert retarget_pitch(48, cmaj7, am7, scale, bass=True) % 12 == 9  # the root stays the root
    assert abs(retarget_pitch(64, cmaj7, am7, scale) - 64) <= 6
    assert coloured(Chord(7, "maj"), "jazz", 0) == Chord(7, "7")
    assert coloured(Chord(2, "m9"), "rock", 0) == Chord(2, "min")


def test_common_time_turns_a_waltz_into_four_four_keeping_downbeats() -> None:
    notes = tuple(Note(bar * 3 + beat, 1.0, 60 + beat, 80) for bar in range(4) for beat in range(3))
    waltz = Score(
        title="Waltz",
        genre="imported",
        mood="calm",
        tonic=0,
        mode="major",
        tempo_bpm=90,
        beats_per_bar=3,
        duration_s=10,
        seed=0,
        swing=0.5,
        sections=(Section("A", 0, 3), Section("end", 3, 1)),
        chords=(ChordSpan(0, 9, Chord(0, "maj")), ChordSpan(9, 3, Chord(0, "maj"))),
        tracks=(Track("Melody", Role.LEAD, 0, notes=notes),),
    )
    four = common_time(waltz)
    assert four.beats_per_bar == 4 and four.tempo_bpm == 120
    starts = [n.start for n in four.tracks[0].notes]
    assert starts[:6] == [0, 2, 3, 4, 6, 7]
    assert four.seconds(music_end(four)) == pytest.approx(waltz.seconds(music_end(waltz)))


def test_changes_round_trip_through_json_and_refuse_bad_fields() -> None:
    changes = RemixChanges(genre="jazz", tonic=4, instruments=("strings",), tempo_factor=1.15)
    assert RemixChanges.from_dict(changes.to_dict()) == changes
    with pytest.raises(BadRequest, match="unknown change 'colour'"):
        RemixChanges.from_dict({"colour": "red"})
    with pytest.raises(BadRequest, match=r"changes\.tonic"):
        RemixChanges.from_dict({"tonic": "E"})
    with pytest.raises(BadRequest, match=r"between x0\.5 and x2"):
        RemixChanges(tempo_factor=9)
    assert RemixChanges(genre="jazz", tempo_factor=1.15).describe() == "as jazz, faster"


def test_every_readable_hostile_upload_remixes_or_is_refused_clearly() -> None:
    """The corpus files the importer accepts (odd metres, 16 channels, notes across the whole
    keyboard, one-tick beats…) go through remixes: a piece or a BadRequest, never a crash."""
    from generators.midi import midi_bytes
    from generators.remix.midi_import import MidiRejected, score_from_midi
    from tests.midi_corpus import hostile_midis

    remixes = [
        RemixChanges(genre="jazz"),
        RemixChanges(genre="edm", new_melody=True),
        RemixChanges(genre="lofi", duration_s=200),
        RemixChanges(genre="rock", new_harmony=True, tonic=2),
    ]
    made = refused = 0
    for hostile in hostile_midis():
        try:
            source = score_from_midi(hostile.data, title=hostile.name)
        except MidiRejected:
            continue
        for changes in remixes:
            try:
                result = remix(source, changes, seed=3)
            except BadRequest as error:
                assert str(error), hostile.name
                refused += 1
                continue
            assert 5 <= result.duration_s <= 300 and midi_bytes(result), hostile.name
            made += 1
    assert made >= 60 and made + refused >= 4 * 25
