"""Evocative titles, generated from the genre and mood, deterministic for a seed."""

from __future__ import annotations

import random

_NOUNS = {
    "lofi": (
        "Rain on the Window",
        "Late Bus Home",
        "Cassette Sunday",
        "Corner Café",
        "Radiator Hum",
        "Paper Lanterns",
        "Library Dust",
        "Blue Hour",
        "Laundromat Glow",
        "Tea Gone Cold",
        "Rooftop Static",
        "Notebook Margins",
        "Sleepy Tram",
        "Streetlight Halo",
        "Vinyl Afternoon",
    ),
    "jazz": (
        "Smoke and Brass",
        "Midnight at the Blue Door",
        "Velvet Corner",
        "Last Call Waltz",
        "Cobblestone Swing",
        "Neon on the River",
        "Brown Shoes",
        "Hotel Lobby",
        "Tuesday Standard",
        "Uptown Ferry",
        "Ashtray Moon",
        "The Long Way Round",
    ),
    "ambient": (
        "Glass Horizon",
        "Slow Tide",
        "Northern Hush",
        "Fog Over Water",
        "Cathedral of Air",
        "Weightless Hours",
        "Salt Flats at Dawn",
        "Distant Choirs",
        "Snowfield",
        "Tidal Memory",
        "Quiet Orbit",
        "Lichen and Light",
    ),
}
_ADJECTIVES = {
    "happy": ("Golden", "Sunlit", "Bright", "Lucky"),
    "sad": ("Faded", "Rainy", "Lonely", "Grey"),
    "calm": ("Soft", "Still", "Gentle", "Quiet"),
    "energetic": ("Electric", "Restless", "Quick", "Bold"),
    "dark": ("Shadowed", "Nocturnal", "Deep", "Midnight"),
    "dreamy": ("Hazy", "Floating", "Drifting", "Pastel"),
    "epic": ("Endless", "Towering", "Vast", "Rising"),
    "romantic": ("Tender", "Rose-Tinted", "Candlelit", "Warm"),
    "mysterious": ("Hidden", "Veiled", "Secret", "Strange"),
    "tense": ("Uneasy", "Wired", "Sleepless", "Sharp"),
}
_SUFFIXES = ("", "", "", " (Reprise)", " No. {n}", ", Slowly", " in Blue", " at 3 a.m.")


def make_title(genre: str, mood: str, rng: random.Random) -> str:
    nouns = _NOUNS.get(genre) or tuple(n for group in _NOUNS.values() for n in group)
    noun = rng.choice(nouns)
    pattern = rng.random()
    if pattern < 0.45:
        title = noun
    elif pattern < 0.8:
        title = f"{rng.choice(_ADJECTIVES.get(mood, ('Quiet',)))} {noun}"
    else:
        title = noun + rng.choice(_SUFFIXES).format(n=rng.randint(2, 9))
    return title
