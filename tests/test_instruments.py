"""Requested instruments land in the role they suit, and are always heard."""

from __future__ import annotations

import pytest

from bot.grammar import GrammarError, parse_request
from generators.catalog import Catalog
from generators.compose import compose
from generators.quality import check_score
from generators.request import CompositionRequest
from generators.score import Role, Score


def _compose(text: str, catalog: Catalog, seed: int = 1) -> Score:
    return compose(parse_request(text, catalog), seed, catalog)


def _playable(score: Score) -> None:
    metrics = check_score(score).metrics
    assert metrics["notes_out_of_range"] == 0 and metrics["ends_on_tonic"] is True


def _programs(score: Score) -> dict[Role, int]:
    return {track.role: track.program for track in score.tracks if track.notes}


def test_winds_lead_keys_comp_strings_pad(catalog: Catalog) -> None:
    score = _compose("lofi 30s with flute and strings on nylon guitar", catalog)
    programs = _programs(score)
    assert programs[Role.LEAD] == 73
    assert programs[Role.CHORDS] == 24
    assert programs[Role.PAD] == 48  # lofi writes no pad itself: the requested strings still play
    _playable(score)
    names = {track.role: track.name for track in score.tracks}
    assert names[Role.LEAD] == "Flute" and names[Role.PAD] == "Strings"


def test_piano_and_sax_in_jazz(catalog: Catalog) -> None:
    programs = _programs(_compose("jazz 30s with piano and sax", catalog))
    assert programs[Role.CHORDS] == 0 and programs[Role.LEAD] == 66


@pytest.mark.parametrize("genre", ["lofi", "jazz", "bossa"])
def test_no_drums_leaves_them_out(catalog: Catalog, genre: str) -> None:
    score = _compose(f"{genre} 30s no drums", catalog)
    assert not any(track.is_drum for track in score.tracks)
    _playable(score)


def test_drums_asked_for_in_ambient_give_a_soft_pulse(catalog: Catalog) -> None:
    score = _compose("ambient 30s with drums", catalog)
    drums = score.track(Role.DRUMS)
    assert drums is not None and drums.notes
    assert max(n.velocity for n in drums.notes) <= 80
    assert not any(t.is_drum for t in _compose("ambient 30s", catalog).tracks)


def test_a_second_lead_instrument_becomes_the_counter_line(catalog: Catalog) -> None:
    score = _compose("lofi 30s with flute and trumpet", catalog)
    programs = _programs(score)
    assert programs[Role.LEAD] == 73 and programs[Role.COUNTER] == 56
    counter = score.track(Role.COUNTER)
    assert counter is not None and all(55 <= n.pitch <= 82 for n in counter.notes)


def test_unknown_instrument_is_a_clear_error(catalog: Catalog) -> None:
    with pytest.raises(GrammarError) as caught:
        parse_request("lofi 30s with vilon", catalog)
    message = str(caught.value)
    assert '"vilon"' in message and "violin" in message


@pytest.mark.parametrize("genre", [info.name for info in Catalog.default().genres])
def test_every_instrument_in_every_genre_composes_in_range(catalog: Catalog, genre: str) -> None:
    """Asking any genre for any instrument (high glockenspiel, low cello, …) gives a playable piece."""
    for index, instrument in enumerate(catalog.instruments):
        request = CompositionRequest(
            genre, 8.0, instruments=(instrument.name,), text=instrument.name
        )
        score = compose(request, index, catalog)
        _playable(score)
