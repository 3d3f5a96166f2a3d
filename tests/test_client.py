"""GeneratorClient: retries, back-off, Retry-After and error mapping against a small fake service,
then the real embedded generator end to end.

The fake below stands in for the generator service only to produce its failure modes on demand
(busy, rejected, gone, too slow, dropped connections); each scenario lives under its own path
prefix, which the client keeps when it resolves `v1/...` against its base URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

import generators
from bot.client import (
    TOO_SLOW,
    GeneratedPiece,
    GeneratorClient,
    RetryNotice,
    request_body,
    retry_after_s,
)
from bot.embedded import embedded_generator, generator_url
from bot.errors import GeneratorUnavailable, NotFound, RequestRejected
from generators.errors import BadRequest, TunesmithError
from generators.request import CompositionRequest
from generators.settings import Settings

MP3_BYTES = b"ID3\x04\x00fake mp3 frames" * 10
MP3_SHA = hashlib.sha256(MP3_BYTES).hexdigest()


def piece_json(piece_id: str = "p1", mp3_href: str = "/v1/pieces/p1/mp3") -> dict[str, Any]:
    return {
        "id": piece_id,
        "title": "Rainy Window",
        "genre": "lofi",
        "variant": None,
        "mood": "calm",
        "key": "D minor",
        "tempo_bpm": 80,
        "duration_s": 30.0,
        "seed": 7,
        "quality": {"passed": True, "attempts": 1},
        "sha256": {"mp3": MP3_SHA, "midi": "0" * 64, "png": "0" * 64, "score": "0" * 64},
        "artifacts": {"mp3": mp3_href, "midi": "/v1/pieces/p1/midi"},
        "timings": {"compose": 0.01, "total": 0.2},
    }


@dataclass
class Recorder:
    """What the fake saw: when each scenario was hit, and the JSON bodies it got."""

    hits: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    bodies: list[dict[str, Any]] = field(default_factory=list)


RECORDER = web.AppKey("recorder", Recorder)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


async def pieces(request: web.Request) -> web.StreamResponse:
    """POST /{scenario}/v1/pieces; scenarios that fail N times encode N after a dash."""
    recorder = request.app[RECORDER]
    scenario = request.match_info["scenario"]
    hits = recorder.hits[scenario]
    hits.append(time.monotonic())
    name, _, count = scenario.partition("-")
    failures = int(count) if count.isdigit() else 10**9
    failing = len(hits) <= failures
    if request.can_read_body:
        recorder.bodies.append(await request.json())
    match name:
        case "ok":
            return web.json_response(piece_json(), status=201)
        case "busy" if failing:  # 503 with Retry-After: 1 (the client must wait at least 1 s)
            return web.json_response(
                error_body("queue_full", "queue is full"), status=503, headers={"Retry-After": "1"}
            )
        case "busy":
            return web.json_response(piece_json(), status=201)
        case "throttled" if failing:  # 429 with Retry-After: 0
            return web.json_response({}, status=429, headers={"retry-after": "0"})
        case "throttled":
            return web.json_response(piece_json(), status=201)
        case "overloaded":  # always 503, Retry-After: 0
            return web.json_response(
                error_body("queue_full", "full"), status=503, headers={"Retry-After": "0"}
            )
        case "later":  # asks for a wait far over the client's cap
            return web.json_response(
                error_body("queue_full", "full"), status=503, headers={"Retry-After": "60"}
            )
        case "bad":
            return web.json_response(
                error_body(
                    "bad_request",
                    "mood 'grumpy' is not one I know; try calm, happy or sad",
                    field="mood",
                    allowed=["calm", "happy", "sad"],
                ),
                status=400,
            )
        case "gone":
            return web.json_response(error_body("not_found", "no such thing"), status=404)
        case "slowjob":
            return web.json_response(error_body("timeout", "job over 60 s"), status=504)
        case "broken":
            return web.Response(status=500, text="Traceback: secret internals")
        case "garbled":
            return web.json_response({"id": "p1", "title": 3}, status=201)
        case "drop" if failing:
            assert request.transport is not None
            request.transport.close()  # the client sees the connection die mid-request
            await asyncio.sleep(0.05)
            return web.Response(status=201)
        case "drop":
            return web.json_response(piece_json(), status=201)
        case "slow":
            await asyncio.sleep(5)
            return web.json_response(piece_json(), status=201)
    raise web.HTTPNotFound


async def artifact(request: web.Request) -> web.Response:
    piece_id, kind = request.match_info["id"], request.match_info["kind"]
    request.app[RECORDER].hits[f"artifact:{piece_id}"].append(time.monotonic())
    if piece_id == "p1" and kind == "mp3":
        return web.Response(body=MP3_BYTES, content_type="audio/mpeg")
    if piece_id == "p1" and kind == "midi":
        return web.Response(body=b"MThd damaged", content_type="audio/midi")
    return web.json_response(error_body("not_found", "unknown or expired"), status=404)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response(
        {"status": "starting", "workers": 1, "ready": 0}, status=503, headers={"Retry-After": "1"}
    )


async def catalog(request: web.Request) -> web.Response:
    return web.json_response({"genres": [{"name": "lofi"}], "keys": ["C", "C#"]})


def fake_service() -> web.Application:
    app = web.Application()
    app[RECORDER] = Recorder()
    app.router.add_post("/{scenario}/v1/pieces", pieces)
    app.router.add_get("/v1/pieces/{id}/{kind}", artifact)
    app.router.add_get("/{scenario}/v1/pieces/{id}/{kind}", artifact)
    app.router.add_get("/{scenario}/healthz", healthz)
    app.router.add_get("/{scenario}/v1/catalog", catalog)
    return app


@pytest_asyncio.fixture
async def server() -> AsyncIterator[TestServer]:
    test_server = TestServer(fake_service(), host="127.0.0.1")
    await test_server.start_server()
    try:
        yield test_server
    finally:
        await test_server.close()


@pytest_asyncio.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def recorder(server: TestServer) -> Recorder:
    return server.app[RECORDER]


def make_client(
    session: aiohttp.ClientSession,
    server: TestServer,
    scenario: str,
    *,
    retries: int = 3,
    total_s: float = 5.0,
    max_backoff_s: float = 2.0,
) -> GeneratorClient:
    return GeneratorClient(
        session,
        str(server.make_url(f"/{scenario}")),
        timeout=aiohttp.ClientTimeout(total=total_s, connect=1.0),
        retries=retries,
        backoff_base_s=0.01,  # tiny back-off so the waits measured are the server's Retry-After
        max_backoff_s=max_backoff_s,
        rng=random.Random(4),
    )


LOFI = CompositionRequest("lofi", 30.0)


# -- happy path and request conversion ----------------------------------------------------------


@pytest.mark.asyncio
async def test_compose_returns_a_frozen_piece_and_artifact_bytes_match(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "ok")
    piece = await client.compose(LOFI, seed=7)
    assert piece == GeneratedPiece.from_json(piece_json())
    assert (piece.key, piece.tempo_bpm, piece.seed, piece.variant) == ("D minor", 80.0, 7, None)
    with pytest.raises(AttributeError):
        piece.title = "changed"  # type: ignore[misc]
    # The artifact URL is host-relative ("/v1/..."), resolved against the base URL's origin.
    assert await client.artifact(piece, "mp3") == MP3_BYTES
    assert len(recorder(server).hits["artifact:p1"]) == 1


@pytest.mark.asyncio
async def test_relative_artifact_url_keeps_the_base_path(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "ok")
    piece = GeneratedPiece.from_json(piece_json(mp3_href="v1/pieces/p1/mp3"))
    assert await client.artifact(piece, "mp3") == MP3_BYTES


@pytest.mark.asyncio
async def test_damaged_artifact_is_refused_unless_verification_is_off(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "ok")
    piece = await client.compose(LOFI, seed=None)
    with pytest.raises(GeneratorUnavailable, match="damaged"):
        await client.artifact(piece, "midi")
    assert await client.artifact(piece, "midi", verify=False) == b"MThd damaged"


@pytest.mark.asyncio
async def test_unknown_artifact_kind_and_expired_piece(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "ok")
    piece = await client.compose(LOFI, seed=None)
    with pytest.raises(BadRequest, match="available: midi, mp3"):
        await client.artifact(piece, "wav")
    expired = GeneratedPiece.from_json({**piece_json("old", "/v1/pieces/old/mp3")})
    with pytest.raises(NotFound, match="compose it again"):
        await client.artifact(expired, "mp3")


@pytest.mark.asyncio
async def test_request_is_sent_as_the_spec_body(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "ok")
    request = CompositionRequest(
        "jazz",
        90.0,
        mood="sad",
        tonic=10,
        mode="minor",
        tempo_bpm=96.0,
        instruments=("piano", "sax"),
        without=("drums",),
        text="sad jazz " * 100,
        variant="ballad",
    )
    await client.compose(request, seed=123)
    (body,) = recorder(server).bodies
    assert body == {
        "genre": "jazz",
        "duration_s": 90.0,
        "mood": "sad",
        "key": "Bb",
        "mode": "minor",
        "tempo_bpm": 96.0,
        "instruments": ["piano", "sax"],
        "without": ["drums"],
        "variant": "ballad",
        "seed": 123,
        "text": ("sad jazz " * 100)[:500],
    }


def test_request_body_defaults_and_seed_range() -> None:
    body = request_body(CompositionRequest("lofi"), None)
    assert body["key"] is None and body["seed"] is None and body["instruments"] == []
    assert request_body(CompositionRequest("lofi", tonic=6), 0)["key"] == "F#"
    with pytest.raises(BadRequest, match="seed must be between 0 and 2147483647, got -1"):
        request_body(CompositionRequest("lofi"), -1)


@pytest.mark.asyncio
async def test_catalog_and_health(server: TestServer, session: aiohttp.ClientSession) -> None:
    client = make_client(session, server, "ok")
    assert (await client.catalog())["keys"] == ["C", "C#"]
    # A starting service answers 503 with its status; health reports it rather than raising.
    assert (await client.health())["status"] == "starting"


# -- retries and Retry-After --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_503_retry_after_is_honoured_then_succeeds(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "busy-1", retries=2, max_backoff_s=2.0)
    piece = await client.compose(LOFI, seed=None)
    assert piece.id == "p1"
    first, second = recorder(server).hits["busy-1"]
    # The back-off alone would be ~0.01 s; the gap shows the server's Retry-After: 1 was obeyed.
    assert second - first >= 1.0


@pytest.mark.asyncio
async def test_429_with_retry_after_zero_is_retried(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "throttled-2", retries=2)
    assert (await client.compose(LOFI, seed=None)).id == "p1"
    assert len(recorder(server).hits["throttled-2"]) == 3


@pytest.mark.asyncio
async def test_each_retry_is_announced_before_the_wait(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "throttled-2", retries=2)
    notices: list[RetryNotice] = []

    async def told(notice: RetryNotice) -> None:
        # Announced before the retry goes out: the server has seen exactly the failed attempts.
        assert len(recorder(server).hits["throttled-2"]) == notice.failed_attempt
        notices.append(notice)

    assert (await client.compose(LOFI, seed=None, on_retry=told)).id == "p1"
    assert [(n.failed_attempt, n.attempts, n.busy) for n in notices] == [(1, 3, True), (2, 3, True)]
    assert notices[0].describe().startswith("The music generator is busy; trying again")
    assert "attempt 2 of 3" in notices[0].describe()


@pytest.mark.asyncio
async def test_a_refused_connection_is_announced_as_unreachable(
    session: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    client = GeneratorClient(
        session,
        f"http://127.0.0.1:{unused_tcp_port}",
        timeout=aiohttp.ClientTimeout(total=2, connect=1.0),
        retries=1,
        backoff_base_s=0.01,
    )
    notices: list[RetryNotice] = []

    async def told(notice: RetryNotice) -> None:
        notices.append(notice)

    with pytest.raises(GeneratorUnavailable, match="can't be reached"):
        await client.compose(LOFI, seed=None, on_retry=told)
    assert [(n.failed_attempt, n.busy) for n in notices] == [(1, False)]
    assert "didn't answer" in notices[0].describe()


@pytest.mark.asyncio
async def test_attempts_are_bounded_then_busy(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "overloaded", retries=3)
    with pytest.raises(GeneratorUnavailable, match="busy right now"):
        await client.compose(LOFI, seed=None)
    assert len(recorder(server).hits["overloaded"]) == 4


@pytest.mark.asyncio
async def test_retry_after_over_the_cap_gives_up_at_once(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "later", retries=3, max_backoff_s=0.5)
    started = time.monotonic()
    with pytest.raises(GeneratorUnavailable, match="busy right now"):
        await client.compose(LOFI, seed=None)
    assert len(recorder(server).hits["later"]) == 1
    assert time.monotonic() - started < 30  # never sat out the server's 60 s


@pytest.mark.asyncio
async def test_dropped_connections_are_retried(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "drop-2", retries=2)
    assert (await client.compose(LOFI, seed=None)).id == "p1"
    assert len(recorder(server).hits["drop-2"]) == 3


@pytest.mark.asyncio
async def test_connections_that_keep_dropping_become_unavailable(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "drop", retries=2)
    with pytest.raises(GeneratorUnavailable, match="can't be reached"):
        await client.compose(LOFI, seed=None)
    assert len(recorder(server).hits["drop"]) == 3


@pytest.mark.asyncio
async def test_refused_connection_is_retried_then_unavailable(
    session: aiohttp.ClientSession,
) -> None:
    async with TestServer(web.Application(), host="127.0.0.1") as gone:
        url = str(gone.make_url("/"))
    client = GeneratorClient(
        session,
        url,
        timeout=aiohttp.ClientTimeout(total=2),
        retries=2,
        backoff_base_s=0.01,
        max_backoff_s=0.05,
    )
    with pytest.raises(GeneratorUnavailable, match="can't be reached"):
        await client.catalog()


@pytest.mark.asyncio
async def test_client_timeout_is_not_retried(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "slow", retries=3, total_s=0.3)
    with pytest.raises(GeneratorUnavailable) as raised:
        await client.compose(LOFI, seed=None)
    assert str(raised.value) == TOO_SLOW
    assert len(recorder(server).hits["slow"]) == 1


# -- error mapping ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_400_is_a_bad_request_with_the_servers_message_and_field(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "bad")
    with pytest.raises(BadRequest) as raised:
        await client.compose(LOFI, seed=None)
    error = raised.value
    assert isinstance(error, RequestRejected)
    assert str(error) == "mood 'grumpy' is not one I know; try calm, happy or sad"
    assert (error.field, error.allowed) == ("mood", ("calm", "happy", "sad"))
    assert len(recorder(server).hits["bad"]) == 1  # bad input is never retried


@pytest.mark.asyncio
async def test_404_is_not_found(server: TestServer, session: aiohttp.ClientSession) -> None:
    client = make_client(session, server, "gone")
    with pytest.raises(NotFound):
        await client.compose(LOFI, seed=None)


@pytest.mark.asyncio
async def test_504_is_unavailable_took_too_long_and_not_retried(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "slowjob")
    with pytest.raises(GeneratorUnavailable, match="took too long"):
        await client.compose(LOFI, seed=None)
    assert len(recorder(server).hits["slowjob"]) == 1


@pytest.mark.asyncio
async def test_unexpected_status_is_unavailable_with_a_safe_message_and_logged(
    server: TestServer, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(session, server, "broken")
    with (
        caplog.at_level(logging.ERROR, logger="bot.client"),
        pytest.raises(GeneratorUnavailable) as raised,
    ):
        await client.compose(LOFI, seed=None)
    assert "secret" not in str(raised.value)
    assert "500" in caplog.text and "secret internals" in caplog.text


@pytest.mark.asyncio
async def test_malformed_success_is_unavailable(
    server: TestServer, session: aiohttp.ClientSession
) -> None:
    client = make_client(session, server, "garbled")
    with pytest.raises(GeneratorUnavailable, match="had a problem"):
        await client.compose(LOFI, seed=None)


def test_errors_are_tunesmith_errors_with_friendly_messages() -> None:
    assert issubclass(GeneratorUnavailable, TunesmithError)
    assert issubclass(NotFound, TunesmithError)
    assert issubclass(RequestRejected, BadRequest)
    assert "try again" in str(GeneratorUnavailable())


# -- pure helpers -------------------------------------------------------------------------------


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_s("3", now) == 3.0
    assert retry_after_s("-4", now) == 0.0
    assert retry_after_s(format_datetime(now + timedelta(seconds=20), usegmt=True), now) == 20.0
    assert retry_after_s(format_datetime(now - timedelta(seconds=20), usegmt=True), now) == 0.0
    assert retry_after_s("soon", now) is None
    assert retry_after_s(None, now) is None


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    client = GeneratorClient(
        None,  # type: ignore[arg-type]  # the back-off never touches the session
        "http://127.0.0.1:1",
        timeout=aiohttp.ClientTimeout(total=1),
        retries=5,
        backoff_base_s=0.5,
        max_backoff_s=3.0,
        rng=random.Random(1),
    )
    for attempt, ceiling in enumerate([0.5, 1.0, 2.0, 3.0, 3.0]):
        waits = {client._backoff(attempt, None) for _ in range(50)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1  # jittered, so clients that failed together do not retry together
    assert client._backoff(0, 2.5) == 2.5  # Retry-After wins over a shorter back-off


def test_client_rejects_bad_configuration() -> None:
    timeout = aiohttp.ClientTimeout(total=1)
    with pytest.raises(ValueError, match="http"):
        GeneratorClient(None, "ftp://x", timeout=timeout, retries=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="retries must be 0 or more, got -1"):
        GeneratorClient(None, "http://x", timeout=timeout, retries=-1)  # type: ignore[arg-type]


# -- configuration and the embedded generator ---------------------------------------------------


def test_generator_url_comes_from_the_environment() -> None:
    env = {"GENERATOR_URL": "http://gen.internal:8080"}
    assert Settings.from_env(env, dotenv=None).generator_url == "http://gen.internal:8080"
    assert Settings.from_env({}, dotenv=None).generator_url is None


@pytest.mark.asyncio
async def test_generator_url_prefers_the_configured_service() -> None:
    settings = Settings(data_dir=Path("data"), soundfont=None, generator_url="http://gen:8080")
    async with generator_url(settings) as url:
        assert url == "http://gen:8080"


SERVICE_MISSING = not (Path(generators.__file__).parent / "service" / "app.py").is_file()


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.skipif(
    SERVICE_MISSING,
    reason="generators/service/app.py (the server side of issue 4) is not there yet",
)
async def test_embedded_generator_end_to_end(session: aiohttp.ClientSession) -> None:
    settings = Settings.from_env(dotenv=None)
    settings = Settings(data_dir=settings.data_dir, soundfont=settings.soundfont)
    async with generator_url(settings, workers=1) as url:
        assert url.startswith("http://127.0.0.1:")
        client = GeneratorClient(
            session,
            url,
            timeout=aiohttp.ClientTimeout(total=120, connect=5),
            retries=5,
            backoff_base_s=0.5,
            max_backoff_s=10.0,
        )
        known = await client.catalog()
        assert "lofi" in {genre["name"] for genre in known["genres"]}
        piece = await client.compose(CompositionRequest("lofi", 5.0, text="lofi 5s"), seed=11)
        assert (piece.genre, piece.seed, piece.duration_s) == ("lofi", 11, 5.0)
        mp3 = await client.artifact(piece, "mp3")
        assert hashlib.sha256(mp3).hexdigest() == piece.sha256["mp3"]
        assert mp3[:3] == b"ID3" or mp3[:2] == b"\xff\xfb"
        with pytest.raises(BadRequest) as raised:
            await client.compose(CompositionRequest("polka-noise"), seed=None)
        assert isinstance(raised.value, RequestRejected) and raised.value.field == "genre"


@pytest.mark.asyncio
@pytest.mark.skipif(
    SERVICE_MISSING,
    reason="generators/service/app.py (the server side of issue 4) is not there yet",
)
async def test_embedded_generator_yields_a_loopback_url_and_stops() -> None:
    settings = Settings(data_dir=Path("data"), soundfont=None)
    async with embedded_generator(settings, workers=1) as url:
        host_port = url.removeprefix("http://")
        host, port = host_port.split(":")
        assert host == "127.0.0.1" and int(port) > 0
    with pytest.raises(OSError):
        _, writer = await asyncio.open_connection(host, int(port))
        writer.close()
