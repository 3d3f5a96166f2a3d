"""Load test of the generator service on loopback (issue 4).

Starts `tunesmith serve` with 1 and with 2 workers, and for each:
- throughput: keeps exactly `workers` requests in flight for a fixed number of pieces and reports
  pieces per second (the 1-vs-2-worker ratio is the scaling figure);
- burst: fires 200 concurrent requests at once; every one must be served (201) or refused with 503
  and a Retry-After header — none may time out or fail otherwise; reports p50/p99 latency of the
  served ones;
- memory: the resident set size of each worker process after the burst.

Only loopback traffic, bounded in count and time. Usage:
    .venv/bin/python scripts/load_test.py [--burst 200] [--pieces 12] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parents[1]
TUNESMITH = ROOT / ".venv" / "bin" / "tunesmith"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def worker_rss_mb(self) -> list[float]:
        parent = psutil.Process(self.process.pid)
        return [child.memory_info().rss / 2**20 for child in parent.children(recursive=True)]


async def start(workers: int) -> Server:
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 - starting a process does not wait for it
        [
            str(TUNESMITH),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return Server(process, url)
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise SystemExit("the service did not become ready within 30 s")


def stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        server.process.kill()


async def one(
    session: aiohttp.ClientSession, url: str, seed: int, seconds: float
) -> tuple[int, float, bool]:
    body = {"genre": "lofi", "duration_s": seconds, "seed": seed}
    started = time.perf_counter()
    async with session.post(f"{url}/v1/pieces", json=body) as response:
        await response.read()
        return response.status, time.perf_counter() - started, "Retry-After" in response.headers


async def throughput(url: str, workers: int, pieces: int, seconds: float) -> float:
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        queue = list(range(pieces))
        started = time.perf_counter()

        async def lane() -> None:
            while queue:
                seed = queue.pop()
                status, _, _ = await one(session, url, seed, seconds)
                if status != 201:
                    raise SystemExit(f"throughput run got HTTP {status}")

        await asyncio.gather(*(lane() for _ in range(workers)))
        return pieces / (time.perf_counter() - started)


async def burst(url: str, count: int, seconds: float) -> dict[str, object]:
    timeout = aiohttp.ClientTimeout(total=300)
    connector = aiohttp.TCPConnector(limit=count)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        results = await asyncio.gather(
            *(one(session, url, 1000 + i, seconds) for i in range(count)), return_exceptions=True
        )
    served = [r for r in results if not isinstance(r, BaseException) and r[0] == 201]
    refused = [r for r in results if not isinstance(r, BaseException) and r[0] == 503 and r[2]]
    other = [
        r
        for r in results
        if isinstance(r, BaseException) or r[0] not in (201, 503) or (r[0] == 503 and not r[2])
    ]
    latencies = sorted(r[1] for r in served)
    return {
        "requests": count,
        "served_201": len(served),
        "refused_503_with_retry_after": len(refused),
        "other": len(other),
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p99_s": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 3)
        if latencies
        else None,
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--pieces", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    report: dict[str, object] = {
        "machine": f"{os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }
    rates = {}
    for workers in (1, 2):
        server = await start(workers)
        try:
            rates[workers] = await throughput(server.url, workers, args.pieces, args.seconds)
            if workers == 2:
                report["burst"] = await burst(server.url, args.burst, args.seconds)
                report["worker_rss_mb"] = [round(mb, 1) for mb in server.worker_rss_mb()]
        finally:
            stop(server)
    report["pieces_per_s"] = {str(k): round(v, 3) for k, v in rates.items()}
    report["scaling_2_vs_1"] = round(rates[2] / rates[1], 2)
    print(json.dumps(report, indent=2))
    burst_report = report["burst"]
    assert isinstance(burst_report, dict)
    return 0 if burst_report["other"] == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
