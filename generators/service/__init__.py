"""The generator HTTP service: an aiohttp app in front of a pool of warm worker processes.

`create_app(settings)` builds the app; `run_service(settings)` serves it until interrupted.
"""

from __future__ import annotations

from generators.service.app import create_app, run_service
from generators.service.settings import ServiceSettings

__all__ = ["ServiceSettings", "create_app", "run_service"]
