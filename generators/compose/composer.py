"""`compose(request, seed) -> Score`: decide key, mode, tempo and form, then let the style write."""

from __future__ import annotations

import random

from generators.catalog import Catalog
from generators.compose.arrangement import assign_instruments
from generators.compose.form import plan_time
from generators.compose.mood import MOOD_PROFILES
from generators.compose.styles import style_for
from generators.compose.styles.base import PieceContext
from generators.compose.titles import make_title
from generators.errors import BadRequest
from generators.request import CompositionRequest
from generators.score import Score


def compose(request: CompositionRequest, seed: int, catalog: Catalog | None = None) -> Score:
    """Compose a piece. Pure: the same request and seed give the same Score, byte for byte."""
    catalog = catalog or Catalog.default()
    try:
        style = style_for(request.genre)
    except KeyError:
        genres = ", ".join(info.name for info in catalog.genres)
        raise BadRequest(f"unknown genre {request.genre!r}; genres: {genres}") from None
    rng = random.Random(f"{seed}:plan")
    mood_name = request.mood or rng.choice(style.default_moods)
    if mood_name not in MOOD_PROFILES:
        raise BadRequest(f"unknown mood {mood_name!r}; moods: {', '.join(MOOD_PROFILES)}")
    mood = MOOD_PROFILES[mood_name]
    mode = request.mode or next((m for m in mood.modes if m in style.modes), style.modes[0])
    if mode not in catalog.modes:
        raise BadRequest(f"unknown mode {mode!r}; modes: {', '.join(catalog.modes)}")
    tonic = request.tonic if request.tonic is not None else rng.choice(style.keys)
    variant = style.variant(mood, request.variant, random.Random(f"{seed}:variant"))
    low, high = style.tempo_range(mood, variant)
    if request.tempo_bpm is not None:
        tempo_target, fixed = float(request.tempo_bpm), True
    else:
        position = min(1.0, max(0.0, mood.tempo_position + rng.uniform(-0.12, 0.12)))
        tempo_target, fixed = low + (high - low) * position, False
    plan = plan_time(
        request.duration_s,
        style.beats_per_bar,
        tempo_target,
        fixed,
        (low, high),
        style.release_s,
        style.phrase_bars,
    )
    sections = style.sections(plan, variant, rng)
    band = assign_instruments(
        style.band(mood, variant, random.Random(f"{seed}:band")),
        request.instruments,
        request.without,
        catalog.instruments,
    )
    context = PieceContext(
        genre=style.genre,
        mood=mood,
        tonic=tonic,
        mode=mode,
        plan=plan,
        sections=sections,
        band=band,
        seed=seed,
        variant=variant,
    )
    written = style.write(context)
    return Score(
        title=make_title(style.genre, mood.name, random.Random(f"{seed}:title")),
        genre=style.genre,
        mood=mood.name,
        tonic=tonic,
        mode=mode,
        tempo_bpm=round(plan.tempo_bpm, 4),
        beats_per_bar=plan.beats_per_bar,
        duration_s=request.duration_s,
        seed=seed,
        swing=written.swing,
        sections=sections,
        chords=written.chords,
        tracks=written.tracks,
        request_text=request.text,
        colour=style.genre,
        variant=variant or "",
    )
