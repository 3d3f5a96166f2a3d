"""The service on a loopback port in a background thread, for tools that drive it synchronously
(the fuzzing test, the reliability script): `with background_service(settings) as url: ...`."""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from generators.service.app import create_app
from generators.service.settings import ServiceSettings


@contextmanager
def background_service(settings: ServiceSettings, ready_timeout_s: float = 60.0) -> Iterator[str]:
    """Serve `settings` on 127.0.0.1 (an ephemeral port) from its own event-loop thread and yield
    the base URL once every worker is warm; shut it down cleanly on exit."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="tunesmith-service", daemon=True)
    thread.start()

    async def start() -> tuple[web.AppRunner, str]:
        runner = web.AppRunner(create_app(settings))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        return runner, f"http://{host}:{port}"

    runner, url = asyncio.run_coroutine_threadsafe(start(), loop).result(ready_timeout_s)
    try:
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:  # /healthz answers 503 until the workers are warm
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(120)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
