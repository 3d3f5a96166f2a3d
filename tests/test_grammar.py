"""The chat command grammar: example phrases, error messages, and properties with hypothesis."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.grammar import (
    MAX_REQUEST_CHARS,
    ROLES,
    GrammarError,
    describe_request,
    parse_request,
    suggest_completions,
    vocabulary,
)
from generators.catalog import Catalog
from generators.errors import BadRequest
from generators.request import CompositionRequest

# One settings profile for every property here: enough examples to find edge cases, still fast.
GRAMMAR_PROFILE = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("grammar", GRAMMAR_PROFILE)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.default()


def request(genre: str, **fields: Any) -> dict[str, Any]:
    """The fields a phrase should produce; unspecified ones take the request defaults."""
    expected: dict[str, Any] = {
        "genre": genre,
        "duration_s": 30.0,
        "mood": None,
        "tonic": None,
        "mode": None,
        "tempo_bpm": None,
        "instruments": (),
        "without": (),
    }
    expected.update(fields)
    return expected


EXAMPLES: list[tuple[str, dict[str, Any]]] = [
    # genres and aliases, multi-word ones too
    ("lofi", request("lofi")),
    ("lo-fi", request("lofi")),
    ("lo fi", request("lofi")),
    ("Chillhop", request("lofi")),
    ("lofi hip hop", request("lofi")),
    ("chill ambient", request("ambient")),
    ("chill lofi", request("lofi", mood="calm")),
    ("bebop", request("jazz")),
    ("drone", request("ambient")),
    # moods and aliases
    ("melancholic jazz", request("jazz", mood="sad")),
    ("dreamy ambient", request("ambient", mood="dreamy")),
    ("UPBEAT lofi", request("lofi", mood="happy")),
    # lengths
    ("lofi 30s", request("lofi", duration_s=30.0)),
    ("lofi 30 s", request("lofi", duration_s=30.0)),
    ("lofi 30 sec", request("lofi", duration_s=30.0)),
    ("lofi 30 seconds", request("lofi", duration_s=30.0)),
    ("lofi 1m", request("lofi", duration_s=60.0)),
    ("lofi 2 min", request("lofi", duration_s=120.0)),
    ("lofi 2 minutes", request("lofi", duration_s=120.0)),
    ("lofi 1m30s", request("lofi", duration_s=90.0)),
    ("lofi 1m 30s", request("lofi", duration_s=90.0)),
    ("lofi 1:15", request("lofi", duration_s=75.0)),
    ("lofi 90s", request("lofi", duration_s=90.0)),
    ("lofi 1.5 min", request("lofi", duration_s=90.0)),
    ("lofi half a minute", request("lofi", duration_s=30.0)),
    ("lofi a minute", request("lofi", duration_s=60.0)),
    ("lofi one minute", request("lofi", duration_s=60.0)),
    ("lofi forty-five seconds", request("lofi", duration_s=45.0)),
    ("lofi forty five seconds", request("lofi", duration_s=45.0)),
    ("lofi sixty seconds", request("lofi", duration_s=60.0)),
    ("lofi a minute and a half", request("lofi", duration_s=90.0)),
    ("lofi 2 minutes and 30 seconds", request("lofi", duration_s=150.0)),
    ("lofi 30-second", request("lofi", duration_s=30.0)),
    ("lofi in a minute", request("lofi", duration_s=60.0)),
    ("lofi ３０ｓ", request("lofi", duration_s=30.0)),
    # keys and modes
    ("jazz in D minor", request("jazz", tonic=2, mode="minor")),
    ("jazz in F# major", request("jazz", tonic=6, mode="major")),
    ("jazz in Bb", request("jazz", tonic=10)),
    ("jazz in C# dorian", request("jazz", tonic=1, mode="dorian")),
    ("jazz in eb minor", request("jazz", tonic=3, mode="minor")),
    ("jazz in Am", request("jazz", tonic=9, mode="minor")),
    ("jazz in A minor", request("jazz", tonic=9, mode="minor")),
    ("jazz key of G", request("jazz", tonic=7)),
    ("jazz in the key of a", request("jazz", tonic=9)),
    ("jazz in F♯ minor", request("jazz", tonic=6, mode="minor")),
    ("jazz in B♭ major", request("jazz", tonic=10, mode="major")),
    ("jazz in F sharp aeolian", request("jazz", tonic=6, mode="minor")),
    ("jazz in D", request("jazz", tonic=2)),
    ("jazz in dorian", request("jazz", mode="dorian")),
    # tempo
    ("jazz at 96 bpm", request("jazz", tempo_bpm=96.0)),
    ("jazz 96bpm", request("jazz", tempo_bpm=96.0)),
    ("jazz 96 bpm", request("jazz", tempo_bpm=96.0)),
    ("jazz tempo 96", request("jazz", tempo_bpm=96.0)),
    ("jazz at 100 beats per minute", request("jazz", tempo_bpm=100.0)),
    # instruments
    ("jazz with piano and sax", request("jazz", instruments=("piano", "tenor sax"))),
    (
        "jazz with piano, strings and flute",
        request("jazz", instruments=("piano", "strings", "flute")),
    ),
    ("jazz on nylon guitar", request("jazz", instruments=("nylon guitar",))),
    ("jazz featuring vibes", request("jazz", instruments=("vibraphone",))),
    ("jazz with electric piano", request("jazz", instruments=("rhodes",))),
    ("jazz with bass guitar", request("jazz", instruments=("electric bass",))),
    ("jazz guitar jazz", request("jazz", instruments=("jazz guitar",))),
    ("lofi no drums", request("lofi", without=("drums",))),
    ("lofi without drums", request("lofi", without=("drums",))),
    ("lofi without bass", request("lofi", without=("bass",))),
    ("lofi w/o drums & bass", request("lofi", without=("drums", "bass"))),
    ("lofi without sax", request("lofi", without=("tenor sax",))),
    # whole requests
    ("30 seconds of sad jazz", request("jazz", mood="sad", duration_s=30.0)),
    (
        "sad jazz 1m30s in D minor at 96 bpm with piano and sax",
        request(
            "jazz",
            mood="sad",
            duration_s=90.0,
            tonic=2,
            mode="minor",
            tempo_bpm=96.0,
            instruments=("piano", "tenor sax"),
        ),
    ),
    (
        "ambient 1m30s in D minor at 70 bpm",
        request("ambient", duration_s=90.0, tonic=2, mode="minor", tempo_bpm=70.0),
    ),
    ("1:15 lofi", request("lofi", duration_s=75.0)),
    ("please make me a lofi beat", request("lofi")),
    ("  Compose some SAD Jazz, please!  ", request("jazz", mood="sad")),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES, ids=[text for text, _ in EXAMPLES])
def test_example_phrases(catalog: Catalog, text: str, expected: dict[str, Any]) -> None:
    parsed = parse_request(text, catalog)
    assert {name: getattr(parsed, name) for name in expected} == expected
    assert parsed.text == text.strip()


# --- errors ------------------------------------------------------------------------------------


def error_for(text: str, catalog: Catalog) -> GrammarError:
    with pytest.raises(GrammarError) as caught:
        parse_request(text, catalog)
    return caught.value


def test_unknown_word_names_it_suggests_and_lists_genres(catalog: Catalog) -> None:
    error = error_for("jaz 30s", catalog)
    assert error.unknown == ("jaz",)
    assert error.suggestions == {"jaz": "jazz"}
    assert error.understood == {"length": "30 s"}
    assert str(error) == (
        'I didn\'t understand "jaz" (did you mean "jazz"?). I understood: 30 s.'
        f" Genres: {', '.join(g.name for g in catalog.genres)}."
        ' Example: "sad jazz 45s in D minor at 96 bpm".'
    )


@pytest.mark.parametrize(
    ("text", "typo", "guess"),
    [
        ("lofy", "lofy", "lofi"),
        ("sda jazz", "sda", "sad"),
        ("melancolic lofi", "melancolic", "melancholic"),
        ("jazz with vibrafone", "vibrafone", "vibraphone"),
        ("ambient in D dorain", "dorain", "dorian"),
    ],
)
def test_typos_get_the_nearest_word(catalog: Catalog, text: str, typo: str, guess: str) -> None:
    error = error_for(text, catalog)
    assert typo in error.unknown
    assert error.suggestions[typo] == guess
    assert f'"{typo}" (did you mean "{guess}"?)' in str(error)


def test_unknown_word_after_genre_lists_moods(catalog: Catalog) -> None:
    message = str(error_for("sda jazz", catalog))
    assert "I understood: jazz." in message
    assert "Moods: happy, sad, calm" in message


def test_unknown_instrument_lists_instruments(catalog: Catalog) -> None:
    error = error_for("lofi with banjo", catalog)
    assert error.unknown == ("banjo",)
    assert "Instruments: piano, rhodes" in str(error)
    assert "drums, bass, melody, chords, pad" in str(error)


def test_bare_number_asks_for_a_unit(catalog: Catalog) -> None:
    assert error_for("lofi 45", catalog).suggestions == {"45": "45s"}
    assert error_for("jazz 120", catalog).suggestions == {"120": "120 bpm"}


def test_missing_genre_says_so_and_lists_genres(catalog: Catalog) -> None:
    error = error_for("sad 45s in D minor", catalog)
    message = str(error)
    assert "genre" in message
    assert ", ".join(g.name for g in catalog.genres) in message
    assert error.understood == {"mood": "sad", "length": "45 s", "key": "D minor"}
    assert error.unknown == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jazz 9 min", "length must be between 5 s and 5 min, got 9 min"),
        ("jazz 2s", "length must be between 5 s and 5 min, got 2 s"),
        ("jazz 1h", "length must be between 5 s and 5 min, got 60 min"),
        (
            "jazz 99999999999999999999s",
            "length must be between 5 s and 5 min, got 99999999999999999999s",
        ),
    ],
)
def test_length_out_of_range(catalog: Catalog, text: str, expected: str) -> None:
    assert expected in str(error_for(text, catalog))


def test_tempo_out_of_range_gives_allowed_and_usual_range(catalog: Catalog) -> None:
    message = str(error_for("jazz at 300 bpm", catalog))
    assert "tempo must be between 40 and 220 bpm, got 300 bpm" in message
    assert "jazz usually sits at 60-190 bpm" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lofi jazz", 'two genres, "lofi" and "jazz"'),
        ("lofi 30s 1m", "two lengths, 30 s and 1 min"),
        ("sad happy lofi", 'two moods, "sad" and "happy"'),
        ("lofi at 80 bpm at 90 bpm", "two tempos, 80 bpm and 90 bpm"),
        ("lofi in D in E", "two keys, D and E"),
        ("lofi with drums no drums", '"drums" both with and without'),
    ],
)
def test_conflicts(catalog: Catalog, text: str, expected: str) -> None:
    message = str(error_for(text, catalog))
    assert expected in message
    assert "pick one" in message


def test_repeating_the_same_thing_is_not_a_conflict(catalog: Catalog) -> None:
    parsed = parse_request("lofi lo-fi 30s 30 seconds with piano and keys", catalog)
    assert (parsed.genre, parsed.duration_s, parsed.instruments) == ("lofi", 30.0, ("piano",))


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_input_explains_with_an_example(catalog: Catalog, text: str) -> None:
    message = str(error_for(text, catalog))
    assert ", ".join(g.name for g in catalog.genres) in message
    assert 'Example: "sad jazz 45s in D minor at 96 bpm"' in message


def test_overlong_input_is_refused(catalog: Catalog) -> None:
    message = str(error_for("lofi " * 200, catalog))
    assert str(MAX_REQUEST_CHARS) in message


@pytest.mark.parametrize(
    "text",
    [
        "lofi nan bpm",
        "lofi inf s",
        "lofi 1e309s",
        "lofi 1e309 bpm",
        "lofi " + "9" * 400 + " bpm",
        "lofi 1m" + "9" * 400 + "s",
        "\x00\x01",
        "🎵🎶",
        "ﷺ" * 400,
        "-5s lofi",
        "lofi 0 bpm",
    ],
)
def test_weird_input_is_a_grammar_error(catalog: Catalog, text: str) -> None:
    error = error_for(text, catalog)
    assert isinstance(error, BadRequest)
    assert isinstance(error, ValueError)
    assert str(error)


def test_control_zero_width_and_surrogate_characters_separate_words(catalog: Catalog) -> None:
    assert parse_request("lofi\u200b30s\x00sad\ud800", catalog).mood == "sad"


# --- describe_request and completions -----------------------------------------------------------


def test_describe_request_reads_naturally() -> None:
    described = describe_request(
        CompositionRequest(
            genre="jazz",
            duration_s=90.0,
            mood="sad",
            tonic=2,
            mode="minor",
            tempo_bpm=96.0,
            instruments=("piano", "tenor sax"),
            without=("drums",),
        )
    )
    assert described == "sad jazz 90s in D minor at 96 bpm with piano and tenor sax without drums"
    assert describe_request(CompositionRequest(genre="lofi")) == "lofi 30s"


def test_completions(catalog: Catalog) -> None:
    assert suggest_completions("lo", catalog)[:3] == ["lofi", "lofi 30s", "lofi 45s"]
    assert "lofi 1m" in suggest_completions("lo", catalog)
    assert suggest_completions("sad j", catalog)[0] == "sad jazz"
    assert suggest_completions("lofi with p", catalog) == ["lofi with piano", "lofi with pad"]
    assert len(suggest_completions("", catalog, limit=4)) == 4
    assert suggest_completions("zzz", catalog) == []


@pytest.mark.parametrize("prefix", ["", "lo", "sad j", "jazz ", "ambient 1m w", "chillh"])
def test_completions_that_name_a_genre_parse(catalog: Catalog, prefix: str) -> None:
    completions = suggest_completions(prefix, catalog)
    assert completions == suggest_completions(prefix, catalog)  # deterministic
    for completion in completions:
        parse_request(completion, catalog)


# --- properties -------------------------------------------------------------------------------


@GRAMMAR_PROFILE
@given(text=st.text(max_size=600))
def test_any_text_parses_or_raises_grammar_error(catalog: Catalog, text: str) -> None:
    try:
        parse_request(text, catalog)
    except GrammarError as error:
        assert str(error)


def vocabulary_words(catalog: Catalog) -> list[str]:
    vocab = vocabulary(catalog)
    words = {
        " ".join(key) for table in (vocab.genres, vocab.moods, vocab.leavable) for key in table
    }
    words.update(vocab.modes)
    words.update(vocab.words)
    words.update(
        ("in", "key", "of", "at", "tempo", "bpm", "with", "without", "no", "on", "featuring"),
        ("and", "a", "an", "the", "half", "minute", "seconds", "sharp", "flat", "♯", "♭"),
        ("30s", "1m", "1m30s", "1:15", "90s", "96bpm", "1.5", "30", "96", "400"),
        ("D", "F#", "Bb", "eb", "Am", "C#", "99999999999999999999s", "1e309s", "nan", "inf"),
    )
    return sorted(words)


JUNK = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789#:.-", min_size=1, max_size=8)


@GRAMMAR_PROFILE
@given(data=st.data())
def test_vocabulary_and_junk_parse_or_raise_grammar_error(
    catalog: Catalog, data: st.DataObject
) -> None:
    words = st.sampled_from(vocabulary_words(catalog)) | JUNK
    text = " ".join(data.draw(st.lists(words, max_size=12), label="words"))
    try:
        parsed = parse_request(text, catalog)
    except GrammarError as error:
        assert str(error)
        assert set(error.suggestions) <= set(error.unknown)
        return
    instrument_names = {instrument.name for instrument in catalog.instruments}
    assert parsed.genre in {genre.name for genre in catalog.genres}
    assert parsed.mood is None or parsed.mood in {mood.name for mood in catalog.moods}
    assert parsed.mode is None or parsed.mode in catalog.modes
    assert set(parsed.instruments) <= instrument_names
    assert set(parsed.without) <= instrument_names | set(ROLES)
    assert catalog.min_duration_s <= parsed.duration_s <= catalog.max_duration_s


@st.composite
def requests(draw: st.DrawFn, catalog: Catalog) -> CompositionRequest:
    instrument_names = [instrument.name for instrument in catalog.instruments]
    instruments = draw(st.lists(st.sampled_from(instrument_names), unique=True, max_size=4))
    leavable = [name for name in [*ROLES, *instrument_names] if name not in instruments]
    low_bpm, high_bpm = catalog.min_tempo_bpm, catalog.max_tempo_bpm
    tempo = st.floats(low_bpm, high_bpm) | st.integers(low_bpm, high_bpm).map(float)
    shortest, longest = catalog.min_duration_s, catalog.max_duration_s
    duration = st.floats(shortest, longest) | st.integers(int(shortest), int(longest)).map(float)
    return CompositionRequest(
        genre=draw(st.sampled_from([genre.name for genre in catalog.genres])),
        duration_s=draw(duration),
        mood=draw(st.none() | st.sampled_from([mood.name for mood in catalog.moods])),
        tonic=draw(st.none() | st.integers(0, 11)),
        mode=draw(st.none() | st.sampled_from(sorted(catalog.modes))),
        tempo_bpm=draw(st.none() | tempo),
        instruments=tuple(instruments),
        without=tuple(draw(st.lists(st.sampled_from(leavable), unique=True, max_size=3))),
    )


@GRAMMAR_PROFILE
@given(data=st.data())
def test_describe_request_round_trips(catalog: Catalog, data: st.DataObject) -> None:
    original = data.draw(requests(catalog), label="request")
    described = describe_request(original)
    parsed = parse_request(described, catalog)
    assert parsed.text == described
    assert dataclasses.replace(parsed, text="") == original


@GRAMMAR_PROFILE
@given(prefix=st.text(max_size=80))
def test_completions_never_fail(catalog: Catalog, prefix: str) -> None:
    completions = suggest_completions(prefix, catalog, limit=10)
    assert len(completions) <= 10
    assert all(len(completion) <= 100 for completion in completions)
