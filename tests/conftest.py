"""Shared fixtures: one warm renderer per test session (as one worker process has), real files."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class GeneratorProcess:
    """A real `tunesmith serve` on loopback, as GENERATOR_URL points at in production."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_generator(workers: int = 1) -> GeneratorProcess:
    port = free_port()
    command = [str(Path(sys.executable).with_name("tunesmith")), "serve", "--port", str(port)]
    process = subprocess.Popen([*command, "--workers", str(workers)], stdin=subprocess.DEVNULL)
    service = GeneratorProcess(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tunesmith serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{service.url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return service
        except (OSError, urllib.error.HTTPError):
            pass
        time.sleep(0.2)
    service.stop()
    raise RuntimeError("tunesmith serve did not become ready within 60 s")


@pytest.fixture(scope="session")
def generator_service() -> Iterator[GeneratorProcess]:
    """One generator service (one warm worker) shared by the bot and studio tests."""
    service = start_generator()
    try:
        yield service
    finally:
        service.stop()
