"""Shared fixtures: one warm renderer per test session (as one worker process has), real files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from generators.catalog import Catalog
from generators.render import Renderer
from generators.soundfonts import load_manifest, resolve_soundfont


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.default()


@pytest.fixture(scope="session")
def soundfont() -> Path:
    return resolve_soundfont(os.environ.get("TUNESMITH_SOUNDFONT"), load_manifest())


@pytest.fixture(scope="session")
def renderer(soundfont: Path) -> Iterator[Renderer]:
    with Renderer(soundfont) as warm:
        yield warm
