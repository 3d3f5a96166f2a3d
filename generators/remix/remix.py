"""`remix(source, changes, seed) -> Score`: every asked-for change, in an order that makes sense."""

from __future__ import annotations

import re
from dataclasses import replace

from generators.catalog import Catalog
from generators.compose.styles import STYLES
from generators.errors import BadRequest
from generators.remix.changes import RemixChanges
from generators.remix.operations import (
    change_instruments,
    change_key,
    change_mood,
    change_tempo,
    extend,
    new_melody,
    reharmonise,
    restyle,
)
from generators.score import Score

MAX_TITLE = 120
_REMIX_SUFFIX = re.compile(r"\s*\((?:[\w #.-]+ )?remix\)\s*$", re.IGNORECASE)


def remix(source: Score, changes: RemixChanges, seed: int, catalog: Catalog | None = None) -> Score:
    """A new piece from `source` with `changes`. Pure: the same inputs give the same Score.

    Order: style (which re-arranges everything), key and mode, mood, tempo, instruments, a new
    melody or new chords, and the length last, so new sections repeat the finished material.
    """
    catalog = catalog or Catalog.default()
    if changes.empty:
        raise BadRequest(
            "say what to change, e.g. 'as jazz', 'faster', 'in E minor', 'with strings',"
            " 'new melody', 'new chords' or 'to 2m'"
        )
    if changes.genre is None and source.genre not in STYLES:
        raise BadRequest(
            "an uploaded MIDI needs a style to be arranged in; add one, e.g. 'as lofi' or"
            f" 'as jazz' (styles: {', '.join(STYLES)})"
        )
    score = source
    if changes.genre is not None:
        score = restyle(
            score,
            changes.genre,
            seed,
            catalog,
            variant=changes.variant,
            mood=changes.mood,
            tempo_bpm=changes.tempo_bpm,
            instruments=changes.instruments,
            without=changes.without,
        )
        if changes.mood is not None:
            score = replace(score, mood=changes.mood)
    if changes.tonic is not None or changes.mode is not None:
        score = change_key(score, changes.tonic, changes.mode)
    if changes.mood is not None and changes.genre is None:
        score = change_mood(score, changes.mood, catalog)
    if changes.tempo_bpm is not None and changes.genre is None:
        score = change_tempo(score, changes.tempo_bpm, catalog)
    if changes.tempo_factor is not None:
        score = change_tempo(score, round(score.tempo_bpm * changes.tempo_factor, 1), catalog)
    if (changes.instruments or changes.without) and changes.genre is None:
        score = change_instruments(score, changes.instruments, changes.without, catalog, seed)
    if changes.new_melody:
        score = new_melody(score, seed)
    if changes.new_harmony:
        score = reharmonise(score, seed)
    if changes.duration_s is not None:
        score = extend(
            score,
            changes.duration_s,
            seed,
            keep_tempo=changes.tempo_bpm is not None or changes.tempo_factor is not None,
        )
    return replace(
        score,
        title=remix_title(source.title, remix_label(changes)),
        seed=seed,
        request_text=changes.text or changes.describe(),
    )


def remix_label(changes: RemixChanges) -> str | None:
    """The one change that names a remix: its style, else its key, mood, tempo, instruments,
    melody, harmony or length ("jazz", "E minor", "faster", "extended")."""
    if changes.genre:
        return changes.variant or changes.genre
    if changes.tonic is not None or changes.mode:
        return changes.describe().split(", ")[0].removeprefix("in ")
    if changes.mood:
        return changes.mood
    if changes.tempo_bpm is not None:
        return f"{changes.tempo_bpm:g} bpm"
    if changes.tempo_factor is not None:
        return "faster" if changes.tempo_factor > 1 else "slower"
    if changes.instruments:
        return changes.instruments[0]
    if changes.new_melody:
        return "new melody"
    if changes.new_harmony:
        return "reharmonised"
    if changes.duration_s is not None:
        return "extended"
    return None


def remix_title(title: str, label: str | None) -> str:
    """ "Blue Hour" → "Blue Hour (jazz remix)"; a remix of a remix doesn't stack suffixes."""
    base = _REMIX_SUFFIX.sub("", title).strip() or "Untitled"
    suffix = f" ({label} remix)" if label else " (remix)"
    return base[: MAX_TITLE - len(suffix)].rstrip() + suffix
