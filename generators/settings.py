"""Configuration from the environment (and a `.env` file), read once in `main` and passed in."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path  # TUNESMITH_DATA_DIR: the ledger and media
    soundfont: str | None  # TUNESMITH_SOUNDFONT: an explicit SoundFont path, else the manifest
    generator_url: str | None = None  # GENERATOR_URL: a generator service; None -> embedded
    # TUNESMITH_REFERENCE_MELODIES: known public-domain melodies for the originality check,
    # built at set-up; default <data_dir>/reference-melodies.sqlite
    reference_melodies: Path | None = None

    @property
    def reference_melodies_path(self) -> Path:
        return self.reference_melodies or self.data_dir / "reference-melodies.sqlite"

    @property
    def installation(self) -> str:
        """Names this installation in its signing certificate (made once, on first run)."""
        return socket.gethostname()[:64] or "tunesmith"

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
    ) -> Settings:
        """Environment variables win over `.env`, which wins over the defaults."""
        values: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls(
            data_dir=Path(values.get("TUNESMITH_DATA_DIR") or "data"),
            soundfont=values.get("TUNESMITH_SOUNDFONT") or None,
            generator_url=values.get("GENERATOR_URL") or None,
            reference_melodies=Path(values["TUNESMITH_REFERENCE_MELODIES"])
            if values.get("TUNESMITH_REFERENCE_MELODIES")
            else None,
        )
