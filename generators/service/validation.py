"""The `POST /v1/pieces` body → a `CompositionRequest`, or a `FieldError` naming what was wrong.

Names are matched like the chat grammar matches them: canonical names and aliases, any case.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generators.catalog import NOTE_NAMES, Catalog
from generators.errors import BadRequest
from generators.remix import RemixChanges
from generators.request import CompositionRequest
from generators.score import Score

ROLES = ("drums", "bass", "melody", "chords", "pad")  # parts that "without" may also name
MAX_TEXT_CHARS = 500
MAX_LIST_ITEMS = 8
MAX_SEED = 2**31 - 1
MAX_HOLD_S = 600.0
FIELDS = (
    "genre",
    "duration_s",
    "mood",
    "key",
    "mode",
    "tempo_bpm",
    "instruments",
    "without",
    "variant",
    "seed",
    "text",
)
TEST_HOOK_FIELD = "_test_hold_s"
_KEY_RE = re.compile(r"([A-Ga-g])([#b♯♭]?)")
_NATURALS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


class FieldError(ValueError):
    """One bad field: its name, what was wrong and, for a finite set, what is allowed."""

    def __init__(self, field: str | None, message: str, allowed: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.allowed = list(allowed)


@dataclass(frozen=True, slots=True)
class PieceOrder:
    request: CompositionRequest
    seed: int | None
    hold_s: float = 0.0


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass(frozen=True, slots=True)
class Names:
    """Lookup tables from every accepted spelling to the canonical name, built from a catalog."""

    genres: Mapping[str, str]
    genre_variants: Mapping[str, str]  # aliases that also pick a variant ("trap")
    moods: Mapping[str, str]
    modes: Mapping[str, str]
    instruments: Mapping[str, str]

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Names:
        genres: dict[str, str] = {}
        variants: dict[str, str] = {}
        for genre in catalog.genres:
            for phrase in (genre.name, *genre.aliases):
                genres.setdefault(_fold(phrase), genre.name)
            for phrase, variant in genre.variants:
                variants.setdefault(_fold(phrase), variant)
        moods = {_fold(p): m.name for m in catalog.moods for p in (m.name, *m.aliases)}
        modes = {_fold(name): name for name in catalog.modes}
        for alias, target in catalog.mode_aliases.items():
            modes.setdefault(_fold(alias), target)
        instruments = {_fold(i.name): i.name for i in catalog.instruments}
        for info in catalog.instruments:
            for alias in info.aliases:
                instruments.setdefault(_fold(alias), info.name)
        return cls(genres, variants, moods, modes, instruments)


def parse_order(
    body: object, catalog: Catalog, names: Names, *, allow_test_hooks: bool = False
) -> PieceOrder:
    """Check every field of a request body; raise `FieldError` on the first bad one."""
    if not isinstance(body, dict):
        raise FieldError(None, f"the body must be a JSON object, got {_kind(body)}")
    known = (*FIELDS, TEST_HOOK_FIELD) if allow_test_hooks else FIELDS
    for name in body:
        if name not in known:
            raise FieldError(
                name, f"unknown field {name!r}; the fields are {', '.join(FIELDS)}", FIELDS
            )
    if "genre" not in body:
        raise FieldError("genre", "genre is required", [g.name for g in catalog.genres])

    genre_word = _string(body, "genre", required=True)
    assert genre_word is not None
    genre = names.genres.get(_fold(genre_word))
    if genre is None:
        raise FieldError(
            "genre",
            f"unknown genre {genre_word!r}; choose one of "
            + ", ".join(g.name for g in catalog.genres),
            [g.name for g in catalog.genres],
        )
    info = catalog.genre(genre)
    allowed_variants = sorted({variant for _, variant in info.variants})
    variant = names.genre_variants.get(_fold(genre_word)) if allowed_variants else None
    variant_word = _string(body, "variant")
    if variant_word is not None:
        asked = dict((_fold(p), v) for p, v in info.variants).get(_fold(variant_word))
        if asked is None:
            choices = ", ".join(allowed_variants) if allowed_variants else "none"
            raise FieldError(
                "variant",
                f"{genre} has no variant {variant_word!r}; its variants: {choices}",
                allowed_variants,
            )
        if variant is not None and variant != asked:
            raise FieldError(
                "variant",
                f"genre {genre_word!r} already picks the variant {variant!r}, not {asked!r}",
                allowed_variants,
            )
        variant = asked

    duration = _number(body, "duration_s", catalog.min_duration_s, catalog.max_duration_s, "s")
    tempo = _number(body, "tempo_bpm", catalog.min_tempo_bpm, catalog.max_tempo_bpm, "bpm")
    mood = _choice(body, "mood", names.moods, [m.name for m in catalog.moods])
    mode = _choice(body, "mode", names.modes, list(catalog.modes))
    tonic = _tonic(body)
    instruments = _names(body, "instruments", names.instruments, catalog)
    leavable = {**names.instruments, **{role: role for role in ROLES}}
    without = _names(body, "without", leavable, catalog, roles=True)
    both = sorted(set(instruments) & set(without))
    if both:
        raise FieldError("without", f"{both[0]!r} is both in instruments and in without")
    seed = _seed(body)
    text = _string(body, "text") or ""
    if len(text) > MAX_TEXT_CHARS:
        raise FieldError(
            "text", f"text must be at most {MAX_TEXT_CHARS} characters, got {len(text)}"
        )
    hold = 0.0
    if allow_test_hooks and TEST_HOOK_FIELD in body:
        hold = _number(body, TEST_HOOK_FIELD, 0.0, MAX_HOLD_S, "s") or 0.0
    try:
        request = CompositionRequest(
            genre=genre,
            # The default length, within whatever cap this service runs with.
            duration_s=min(30.0, catalog.max_duration_s) if duration is None else duration,
            mood=mood,
            tonic=tonic,
            mode=mode,
            tempo_bpm=tempo,
            instruments=instruments,
            without=without,
            text=text,
            variant=variant,
        )
    except ValueError as error:  # the request's own limits, should they ever be stricter
        raise FieldError(None, str(error)) from error
    return PieceOrder(request, seed, hold)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _string(body: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        need = "a string" if required else "a string or null"
        raise FieldError(name, f"{name} must be {need}, got {_kind(value)}")
    return value


def _number(body: Mapping[str, Any], name: str, low: float, high: float, unit: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FieldError(
            name, f"{name} must be a number from {low:g} to {high:g}, got {_kind(value)}"
        )
    if not low <= value <= high:
        raise FieldError(name, f"{name} must be between {low:g} and {high:g} {unit}, got {value:g}")
    return float(value)


def _choice(
    body: Mapping[str, Any], name: str, table: Mapping[str, str], allowed: list[str]
) -> str | None:
    word = _string(body, name)
    if word is None:
        return None
    found = table.get(_fold(word))
    if found is None:
        raise FieldError(
            name, f"unknown {name} {word!r}; choose one of {', '.join(allowed)}", allowed
        )
    return found


def _tonic(body: Mapping[str, Any]) -> int | None:
    word = _string(body, "key")
    if word is None:
        return None
    match = _KEY_RE.fullmatch(word.strip())
    if match is None:
        raise FieldError(
            "key",
            f"key must be a note name such as C, F#, Bb (the mode goes in 'mode'), got {word!r}",
            NOTE_NAMES,
        )
    letter, accidental = match.groups()
    shift = {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(accidental, 0)
    return (_NATURALS[letter.lower()] + shift) % 12


def _names(
    body: Mapping[str, Any],
    name: str,
    table: Mapping[str, str],
    catalog: Catalog,
    *,
    roles: bool = False,
) -> tuple[str, ...]:
    value = body.get(name)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise FieldError(name, f"{name} must be an array of names, got {_kind(value)}")
    if len(value) > MAX_LIST_ITEMS:
        raise FieldError(name, f"{name} may list at most {MAX_LIST_ITEMS} names, got {len(value)}")
    allowed = [i.name for i in catalog.instruments] + (list(ROLES) if roles else [])
    found: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise FieldError(name, f"every item of {name} must be a string, got {_kind(item)}")
        canonical = table.get(_fold(item))
        if canonical is None:
            what = "an instrument or a part" if roles else "an instrument"
            raise FieldError(
                name,
                f"{item!r} is not {what}; choose from {', '.join(dict.fromkeys(allowed))}",
                list(dict.fromkeys(allowed)),
            )
        if canonical not in found:
            found.append(canonical)
    return tuple(found)


def _seed(body: Mapping[str, Any]) -> int | None:
    value = body.get("seed")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(
            "seed", f"seed must be a whole number from 0 to {MAX_SEED}, got {_kind(value)}"
        )
    if not 0 <= value <= MAX_SEED:
        raise FieldError("seed", f"seed must be between 0 and {MAX_SEED}, got {value}")
    return value


# --- remixes ----------------------------------------------------------------------------------

REMIX_FIELDS = ("source", "changes", "seed")


@dataclass(frozen=True, slots=True)
class RemixOrder:
    source: str  # the Score as JSON, checked readable
    changes: RemixChanges
    seed: int | None


def parse_remix(body: object, catalog: Catalog, names: Names) -> RemixOrder:
    """Check a `POST /v1/remixes` body; raise `FieldError` on the first bad field."""
    if not isinstance(body, dict):
        raise FieldError(None, f"the body must be a JSON object, got {_kind(body)}")
    for name in body:
        if name not in REMIX_FIELDS:
            raise FieldError(
                name,
                f"unknown field {name!r}; the fields are {', '.join(REMIX_FIELDS)}",
                REMIX_FIELDS,
            )
    for name in ("source", "changes"):
        if not isinstance(body.get(name), dict):
            raise FieldError(name, f"{name} is required: a JSON object")
    try:
        score = Score.from_dict(body["source"])
    except (ValueError, KeyError, TypeError) as error:
        raise FieldError("source", f"source is not a readable score: {error}") from None
    if len(score.tracks) > 15 + 1:
        raise FieldError("source", "source has more than 16 tracks")
    try:
        changes = RemixChanges.from_dict(_canonical_changes(body["changes"], names))
    except BadRequest as error:
        raise FieldError("changes", str(error)) from None
    if changes.duration_s is not None and not (
        catalog.min_duration_s <= changes.duration_s <= catalog.max_duration_s
    ):
        raise FieldError(
            "changes",
            f"changes.duration_s must be between {catalog.min_duration_s:g} and"
            f" {catalog.max_duration_s:g} s, got {changes.duration_s:g}",
        )
    if score.duration_s > catalog.max_duration_s:
        raise FieldError(
            "source", f"source lasts {score.duration_s:g} s, over {catalog.max_duration_s:g} s"
        )
    seed = body.get("seed")
    if seed is not None and (
        not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED
    ):
        raise FieldError("seed", f"seed must be a whole number 0..{MAX_SEED}")
    # The checked source as the worker reads it (the body's own object: serialising the Score
    # again would cost several times as much for the same text).
    return RemixOrder(json.dumps(body["source"], separators=(",", ":")), changes, seed)


def _canonical_changes(changes: dict[str, Any], names: Names) -> dict[str, Any]:
    """Names in `changes` as the catalog spells them (aliases and any letter case accepted)."""
    out = dict(changes)
    genre_word = out.get("genre")
    if isinstance(genre_word, str) and "variant" not in out:
        variant = names.genre_variants.get(_fold(genre_word))  # "swing", "trap": a variant too
        if variant is not None:
            out["variant"] = variant
    tables = {"genre": names.genres, "mood": names.moods, "mode": names.modes}
    for field_name, table in tables.items():
        value = out.get(field_name)
        if isinstance(value, str):
            canonical = table.get(_fold(value))
            if canonical is None:
                raise BadRequest(
                    f"unknown {field_name} {value!r}; choose one of {', '.join(sorted(set(table.values())))}"
                )
            out[field_name] = canonical
    for field_name in ("instruments", "without"):
        values = out.get(field_name)
        if isinstance(values, list):
            if len(values) > MAX_LIST_ITEMS:
                raise BadRequest(f"changes.{field_name} lists at most {MAX_LIST_ITEMS} names")
            out[field_name] = [
                names.instruments.get(_fold(v), v) if isinstance(v, str) else v for v in values
            ]
    text = out.get("text")
    if isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
        raise BadRequest(f"changes.text is at most {MAX_TEXT_CHARS} characters")
    return out
