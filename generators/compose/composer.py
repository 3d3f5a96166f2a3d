"""`compose(request, seed) -> Score`: decide key, mode, tempo and form, then let the style write."""

from __future__ import annotations

import random
from dataclasses import replace

from generators.catalog import Catalog
from generators.compose.arrangement import assign_instruments
from generators.compose.form import TimePlan, plan_time
from generators.compose.mood import MOOD_PROFILES
from generators.compose.parts import soft_groove, sustained_part
from generators.compose.styles import style_for
from generators.compose.styles.base import PieceContext, Written
from generators.compose.titles import make_title
from generators.errors import BadRequest
from generators.request import CompositionRequest
from generators.score import Role, Score, Track


def compose(
    request: CompositionRequest,
    seed: int,
    catalog: Catalog | None = None,
    *,
    plan: TimePlan | None = None,
) -> Score:
    """Compose a piece. Pure: the same request and seed give the same Score, byte for byte.

    `plan` fixes the bars and tempo instead of fitting them to the request's length: a remix
    re-arranges a piece on the bar grid it already has.
    """
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
    plan = plan or plan_time(
        request.duration_s,
        style.beats_per_bar,
        tempo_target,
        fixed,
        (low, high),
        style.release_s,
        style.phrase_bars,
    )
    sections = style.sections(plan, variant, rng)
    style_band = style.band(mood, variant, random.Random(f"{seed}:band"))
    band = assign_instruments(style_band, request.instruments, request.without, catalog.instruments)
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
    asked = {role for role in Role if band.program(role) not in (None, style_band.program(role))}
    written = _with_requested_parts(style.write(context), context, asked)
    written = _named_as_asked(written, asked, catalog)
    return Score(
        title=make_title(style.genre, mood.name, random.Random(f"{seed}:title")),
        genre=style.genre,
        mood=mood.name,
        tonic=tonic,
        mode=mode,
        tempo_bpm=round(plan.tempo_bpm, 4),
        beats_per_bar=plan.beats_per_bar,
        duration_s=plan.duration_s,
        seed=seed,
        swing=written.swing,
        sections=sections,
        chords=written.chords,
        tracks=written.tracks,
        request_text=request.text,
        colour=style.genre,
        variant=variant or "",
    )


def _with_requested_parts(written: Written, ctx: PieceContext, asked: set[Role]) -> Written:
    """Add a part for every instrument the band has in a role the style does not write.

    `lofi with strings` puts strings in the pad role, which lofi does not write: without this they
    would be silently dropped. They get a voice-led pad (or a guide-tone counter line).
    """
    present = {track.role for track in written.tracks} | (set(Role) - asked)
    extra: list[Track] = []
    rng = ctx.rng("requested")
    band, plan = ctx.band, ctx.plan
    if band.pad is not None and Role.PAD not in present:
        extra.append(
            sustained_part(
                "Pad", Role.PAD, band.pad, written.chords, "spread", (48, 76), 52, rng, pan=0.3
            )
        )
    if band.counter is not None and Role.COUNTER not in present:
        extra.append(
            sustained_part(
                "Counter",
                Role.COUNTER,
                band.counter,
                written.chords,
                "shell",
                (55, 74),
                58,
                rng,
                pan=-0.35,
            )
        )
    if band.drums is not None and Role.DRUMS not in present:
        extra.append(soft_groove(plan.body_bars, plan.beats_per_bar, plan.final_start, band.drums))
    if not extra:
        return written
    return replace(written, tracks=written.tracks + tuple(extra))


def _named_as_asked(written: Written, asked: set[Role], catalog: Catalog) -> Written:
    """Tracks playing an instrument someone asked for carry that instrument's name."""
    names = {
        info.program: info.name for info in reversed(catalog.instruments) if info.family != "drums"
    }
    tracks = tuple(
        replace(track, name=names[track.program].capitalize())
        if track.role in asked and not track.is_drum and track.program in names
        else track
        for track in written.tracks
    )
    return replace(written, tracks=tracks)
