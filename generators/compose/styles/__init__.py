"""One module per genre style; `style_for(genre)` returns it."""

from __future__ import annotations

import importlib

from generators.compose.styles.base import Style

# Genre → "module.Class" under this package, imported when first asked for.
STYLES = {
    "lofi": "lofi.LofiStyle",
    "jazz": "jazz.JazzStyle",
    "ambient": "ambient.AmbientStyle",
    "classical": "classical.ClassicalStyle",
    "rock": "rock.RockStyle",
    "edm": "edm.EdmStyle",
    "hiphop": "hiphop.HiphopStyle",
    "chiptune": "chiptune.ChiptuneStyle",
    "cinematic": "cinematic.CinematicStyle",
    "synthwave": "synthwave.SynthwaveStyle",
    "funk": "funk.FunkStyle",
    "bossa": "bossa.BossaStyle",
}


def style_for(genre: str) -> Style:
    try:
        module_name, class_name = STYLES[genre].split(".")
    except KeyError:
        raise KeyError(f"no style for genre {genre!r}; styles: {', '.join(STYLES)}") from None
    module = importlib.import_module(f"{__name__}.{module_name}")
    style: Style = getattr(module, class_name)()
    return style
