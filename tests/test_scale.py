"""Scale-out on standard infrastructure, without Docker: two `tunesmith serve` replicas behind
Debian's nginx on loopback, configured from deploy/nginx.conf.template as compose.yaml does.

100 compositions go through nginx, two at a time as the bot would send them to two one-worker
replicas; both replicas must serve some (their own
/metrics say so); one replica is killed (SIGKILL) mid-run, and not one request may fail: nginx
hands what the dead replica had to the live one.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import string
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.client import GeneratorClient
from generators.request import CompositionRequest
from tests.conftest import GeneratorProcess, free_port, start_generator

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "deploy" / "nginx.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REQUESTS = 100
# As the bot sends them: at most TUNESMITH_GENERATOR_JOBS at once, set to replicas × workers.
AT_ONCE = 2
KILL_AFTER = 40  # requests finished before one replica is killed


@dataclass
class Balancer:
    url: str
    process: subprocess.Popen[bytes]
    error_log: Path


def render(listen: str, servers: list[str], state: Path) -> str:
    """The template as the test's nginx runs it (compose fills the same names with envsubst)."""
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (state / folder).mkdir(parents=True, exist_ok=True)
    # nginx's own $variables stay; every ${NAME} of ours must be filled.
    rendered = string.Template(TEMPLATE.read_text()).safe_substitute(
        LISTEN=listen,
        GENERATOR_SERVERS=" ".join(f"server {s} max_fails=1 fail_timeout=5s;" for s in servers),
        PID_FILE=state / "nginx.pid",
        ERROR_LOG=state / "error.log",
        ACCESS_LOG=state / "access.log",
        TEMP_DIR=state,
    )
    assert "${" not in rendered, rendered
    return rendered


@pytest.fixture
def replicas() -> Iterator[list[GeneratorProcess]]:
    started = [start_generator(), start_generator()]
    try:
        yield started
    finally:
        for replica in started:
            replica.stop()


@pytest.fixture
def balancer(tmp_path: Path, replicas: list[GeneratorProcess]) -> Iterator[Balancer]:
    port = free_port()
    servers = [replica.url.removeprefix("http://") for replica in replicas]
    config = tmp_path / "nginx.conf"
    config.write_text(render(f"127.0.0.1:{port}", servers, tmp_path))
    check = subprocess.run(
        [NGINX, "-t", "-c", str(config), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [
            NGINX,
            "-c", str(config),
            "-p", str(tmp_path),
            "-e", str(tmp_path / "error.log"),
            "-g", "daemon off;",
        ],
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{url}/nginx-health", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None:
                raise AssertionError((tmp_path / "error.log").read_text())
            subprocess.run(["sleep", "0.05"], check=True)
        yield Balancer(url, process, tmp_path / "error.log")
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pieces_made(replica: GeneratorProcess) -> float:
    """`tunesmith_pieces_total` from the replica's own /metrics (not through nginx)."""
    with urllib.request.urlopen(f"{replica.url}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    found = re.search(r"^tunesmith_pieces_total (\S+)$", text, re.MULTILINE)
    assert found, text[:2000]
    return float(found[1])


def test_two_replicas_behind_nginx_share_the_work_and_survive_losing_one(
    replicas: list[GeneratorProcess], balancer: Balancer
) -> None:
    """The bot's own client, with the bot's own retry settings, against nginx."""
    outcomes: list[tuple[int, str]] = []  # (request, "ok" or what went wrong)
    before_kill: list[tuple[int, str]] = []

    async def run() -> None:
        numbers = iter(range(REQUESTS))
        killed = asyncio.Event()
        async with aiohttp.ClientSession() as session:
            client = GeneratorClient(
                session,
                balancer.url,
                timeout=aiohttp.ClientTimeout(total=120),
                retries=3,  # as bot.discord_bot.app.studio_for builds it
                backoff_base_s=0.25,
                max_backoff_s=4.0,
            )

            async def one(number: int) -> None:
                request = CompositionRequest(genre="lofi", duration_s=5.0, text="lofi 5s")
                try:
                    piece = await client.compose(request, seed=number)
                    if not killed.is_set():
                        # Its MP3 through nginx: the replica that made it has it; the other
                        # 404s and nginx asks the next. (After the kill, a piece the dead
                        # replica made just before is gone with it: not a failed request.)
                        data = await client.artifact(piece, "mp3")
                        assert data.startswith(b"ID3")
                    outcomes.append((number, "ok"))
                except Exception as error:  # every failure is reported, none hidden
                    outcomes.append((number, f"{type(error).__name__}: {error}"))
                if len(outcomes) >= KILL_AFTER and not killed.is_set():
                    # Once both replicas have served (a replica nginx found slow on a busy
                    # machine sits out a few seconds), kill one while others are in flight.
                    served = [pieces_made(replica) for replica in replicas]
                    if all(served):
                        killed.set()
                        before_kill.extend(outcomes)
                        replicas[0].process.kill()
                    assert len(outcomes) < REQUESTS - 10, (
                        f"one replica did all: {served}; nginx said:\n"
                        + balancer.error_log.read_text()[-3000:]
                    )

            async def lane() -> None:
                for number in numbers:
                    await one(number)

            await asyncio.gather(*(lane() for _ in range(AT_ONCE)))

    asyncio.run(run())
    failed = [outcome for outcome in outcomes if outcome[1] != "ok"]
    assert len(outcomes) == REQUESTS
    assert failed == [], failed
    assert replicas[0].process.poll() is not None  # it really died mid-run
    survivor = pieces_made(replicas[1])
    assert survivor >= REQUESTS - len(before_kill)  # everything after the kill was made there
    # nginx saw the dead replica (refused or cut-off connections) and moved on.
    dead = replicas[0].url.removeprefix("http://")
    handed_over = [line for line in balancer.error_log.read_text().splitlines() if dead in line]
    print(
        f"killed after {len(before_kill)} requests; survivor made {survivor:.0f} pieces;"
        f" nginx logged {len(handed_over)} failures of the killed replica:",
        *handed_over[:2],
    )
    assert handed_over
