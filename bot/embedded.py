"""The generator service inside the bot's own process, on a loopback port (the default set-up).

The bot talks to it over the same `GeneratorClient` it would use for a remote service, so there is
one code path; the app's worker processes keep audio work off the bot's event loop.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from aiohttp import web

from generators.settings import Settings

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


@asynccontextmanager
async def embedded_generator(
    settings: Settings, *, workers: int | None = None
) -> AsyncIterator[str]:
    """Start the generator app on an ephemeral loopback port; yield its base URL, stop it on exit.

    `workers` defaults to the service's own default (one per core).
    """
    # Imported here: the service pulls in the worker pool, which a bot using GENERATOR_URL never needs.
    from generators.service import ServiceSettings, create_app

    service_settings = ServiceSettings(
        host=LOOPBACK,
        port=0,
        soundfont=Path(settings.soundfont) if settings.soundfont else None,
    )
    if workers is not None:
        service_settings = replace(service_settings, workers=workers)
    runner = web.AppRunner(create_app(service_settings))
    await runner.setup()
    try:
        site = web.TCPSite(runner, LOOPBACK, 0)
        await site.start()
        # runner.addresses lists the bound sockets' names; port 0 was replaced by the real one.
        host, port = runner.addresses[0][:2]
        url = f"http://{host}:{port}"
        log.info("embedded generator listening on %s", url)
        yield url
    finally:
        await runner.cleanup()


@asynccontextmanager
async def generator_url(settings: Settings, workers: int | None = None) -> AsyncIterator[str]:
    """`GENERATOR_URL` when set, else the URL of an embedded generator started for the block."""
    if settings.generator_url:
        yield settings.generator_url
        return
    async with embedded_generator(settings, workers=workers) as url:
        yield url
