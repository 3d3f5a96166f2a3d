"""Schemathesis against the real service's /openapi.json: valid and invalid requests generated from
the document itself, every response checked against it — no server errors, no response that breaks
the schema. Pieces are capped at 6 s here so CI stays quick; the reliability script runs far more
cases (scripts/reliability.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from generators.service import ServiceSettings, create_app

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def service_url(soundfont: object) -> Iterator[str]:
    """The real app (one warm worker) served on a loopback port from its own event-loop thread."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, object] = {}

    async def serve() -> None:
        app = create_app(ServiceSettings(workers=1, port=0, max_duration_s=6.0, job_timeout_s=60))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        box["runner"], box["url"] = runner, f"http://{host}:{port}"
        ready.set()

    thread = threading.Thread(target=loop.run_forever, name="fuzzed-service", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=60)
    ready.wait(60)
    url = str(box["url"])
    # Fuzz a warm service: while workers start, /healthz rightly answers 503.
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    try:
        yield str(box["url"])
    finally:
        runner = box["runner"]
        assert isinstance(runner, web.AppRunner)
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_every_operation_conforms(service_url: str, tmp_path: Path) -> None:
    """Positive and negative cases for every operation; all of schemathesis's checks."""
    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{service_url}/openapi.json",
            "--checks", "all",
            # Cross-field rules OpenAPI cannot state (a variant must belong to its genre; an
            # instrument cannot be both wanted and left out) make some schema-valid bodies a 400.
            "--exclude-checks", "positive_data_acceptance",
            "--mode", "all",
            "--max-examples", "10",
            "--seed", "1",
            "--request-timeout", "60",
            "--report", "junit",
            "--report-junit-path", str(tmp_path / "fuzz.xml"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-2000:]
    report = (tmp_path / "fuzz.xml").read_text()
    assert 'failures="0"' in report and 'errors="0"' in report
