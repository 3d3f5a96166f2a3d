"""Reliability run of the generator service: schemathesis with many cases (issue 4 asks ≥ 1,000).

Starts the real service (2 warm workers, pieces capped at 5 s) on a loopback port, runs schemathesis
against its /openapi.json with every check, positive and negative data, and prints schemathesis's
summary (the number of generated cases and any failure). Loopback only; bounded by --max-examples.
    .venv/bin/python scripts/reliability.py [--max-examples 250]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from aiohttp import web

from generators.service import ServiceSettings, create_app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=250)
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    box: dict[str, object] = {}

    async def serve() -> None:
        app = create_app(ServiceSettings(workers=2, port=0, max_duration_s=5.0))
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        box["runner"], box["url"] = runner, f"http://{host}:{port}"

    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(serve(), loop).result(60)
    url = str(box["url"])
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    started = time.perf_counter()
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")), "run", f"{url}/openapi.json",
            "--checks", "all", "--exclude-checks", "positive_data_acceptance",
            "--mode", "all", "--max-examples", str(args.max_examples), "--seed", "7",
            "--request-timeout", "120",
        ],
        check=False,
    )  # fmt: skip
    print(f"reliability run: exit {done.returncode} in {time.perf_counter() - started:.0f} s")
    runner = box["runner"]
    assert isinstance(runner, web.AppRunner)
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(120)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
