"""One module per genre style; `style_for(genre)` returns it."""

from __future__ import annotations

from generators.compose.styles.base import Style


def style_for(genre: str) -> Style:
    from generators.compose.styles import ambient, jazz, lofi

    styles: dict[str, Style] = {
        "lofi": lofi.LofiStyle(),
        "jazz": jazz.JazzStyle(),
        "ambient": ambient.AmbientStyle(),
    }
    try:
        return styles[genre]
    except KeyError:
        raise KeyError(f"no style for genre {genre!r}; styles: {', '.join(styles)}") from None
