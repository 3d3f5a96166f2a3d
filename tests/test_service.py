"""The generator service over HTTP: real worker processes, real FluidSynth and ffmpeg, 5 s pieces."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from mutagen.mp3 import MP3
from openapi_spec_validator import validate

from generators.fingerprint import decode as decode_fingerprint
from generators.service import ServiceSettings, create_app
from generators.service.app import RUNNING, ArtifactStore
from generators.service.validation import FIELDS, TEST_HOOK_FIELD

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
PIECE = {"genre": "lofi", "duration_s": 5}


def _settings(tmp: Path, **changes: Any) -> ServiceSettings:
    base: dict[str, Any] = {
        "workers": 2,
        "queue_size": 1,
        "job_timeout_s": 4.0,
        "shutdown_grace_s": 10.0,
        "scratch_dir": tmp,
        "soundfont": Path(os.environ["TUNESMITH_SOUNDFONT"])
        if os.environ.get("TUNESMITH_SOUNDFONT")
        else None,
        "allow_test_hooks": True,
    }
    return ServiceSettings(**{**base, **changes})


async def _until(condition: Callable[[], object], timeout_s: float = 30.0) -> None:
    """Poll `condition` (pool state has no event to wait on from the outside)."""
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_app(_settings(tmp_path_factory.mktemp("service")))
    async with TestClient(TestServer(app)) as test_client:
        await app[RUNNING].pool.wait_ready(60)
        yield test_client


async def _ready(client: TestClient[Any, Any]) -> None:
    await client.app[RUNNING].pool.wait_ready(30)
    response = await client.get("/healthz")
    assert response.status == 200


async def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/json"
    error: dict[str, Any] = (await response.json())["error"]
    assert error["code"] == code
    assert error["message"]
    return error


async def _metric(client: TestClient[Any, Any], name: str) -> float:
    text = await (await client.get("/metrics")).text()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


async def test_healthz_is_ready_when_every_worker_is_warm(client: TestClient[Any, Any]) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok" and body["workers"] == 2 and body["ready"] == 2


async def test_catalog_lists_what_can_be_asked_for(client: TestClient[Any, Any]) -> None:
    response = await client.get("/v1/catalog")
    assert response.status == 200
    body = await response.json()
    genres = {genre["name"]: genre for genre in body["genres"]}
    assert "lofi" in genres and "chillhop" in genres["lofi"]["aliases"]
    assert genres["hiphop"]["variants"] == ["boombap", "trap"]
    assert genres["lofi"]["tempo_range"] == [70, 90]
    assert {"name", "aliases", "description"} <= set(body["moods"][0])
    assert "dorian" in body["modes"]
    assert body["keys"][:3] == ["C", "C#", "D"]
    assert any(i["name"] == "tenor sax" and i["family"] == "wind" for i in body["instruments"])
    assert body["duration_s"] == {"min": 5, "max": 300}
    assert body["tempo_bpm"] == {"min": 40, "max": 220}


async def test_openapi_is_valid_and_lists_every_route(client: TestClient[Any, Any]) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    validate(document)
    assert document["openapi"] == "3.0.3"
    routes = {
        (route.resource.canonical, route.method.lower())
        for route in client.app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    documented = {
        (path.replace("{id}", "{id}"), method)
        for path, item in document["paths"].items()
        for method in item
    }
    assert routes == documented
    request_schema = document["components"]["schemas"]["PieceRequest"]
    assert request_schema["additionalProperties"] is False
    assert set(request_schema["properties"]) == set(FIELDS)
    assert TEST_HOOK_FIELD not in json.dumps(document)
    post = document["paths"]["/v1/pieces"]["post"]["responses"]
    assert set(post) == {"201", "400", "413", "415", "503", "504", "500"}
    assert "Retry-After" in post["503"]["headers"]


async def test_compose_then_download_every_artifact(client: TestClient[Any, Any]) -> None:
    response = await client.post(
        "/v1/pieces",
        json={
            "genre": "Trap",
            "duration_s": 5,
            "key": "Db",
            "mode": "aeolian",
            "mood": "melancholy",
            "instruments": ["electric piano"],
            "without": ["melody"],
            "seed": 7,
            "text": "sad trap in Db",
        },
    )
    assert response.status == 201, await response.text()
    piece = await response.json()
    assert piece["genre"] == "hiphop" and piece["variant"] == "trap"
    assert piece["key"] == "C# minor" and piece["mood"] == "sad" and piece["seed"] == 7
    assert piece["quality"]["attempts"] >= 1
    assert {"compose", "render", "master", "encode", "picture", "total"} <= set(piece["timings"])
    assert len(decode_fingerprint(piece["fingerprint"]).frames) >= 10  # 5 s of Chromaprint
    types = {
        "mp3": "audio/mpeg",
        "midi": "audio/midi",
        "png": "image/png",
        "score": "application/json",
    }
    for kind, content_type in types.items():
        download = await client.get(piece["artifacts"][kind])
        assert download.status == 200, kind
        assert download.content_type == content_type
        data = await download.read()
        assert hashlib.sha256(data).hexdigest() == piece["sha256"][kind]
        if kind == "mp3":
            assert abs(MP3(io.BytesIO(data)).info.length - 5.0) < 0.25  # type: ignore[attr-defined]
        if kind == "png":
            assert data.startswith(b"\x89PNG")
        if kind == "midi":
            assert data.startswith(b"MThd")
        if kind == "score":
            assert json.loads(data)["seed"] == 7


async def test_the_same_seed_makes_the_same_piece(client: TestClient[Any, Any]) -> None:
    one, two = await asyncio.gather(
        client.post("/v1/pieces", json={**PIECE, "seed": 11}),
        client.post("/v1/pieces", json={**PIECE, "seed": 11}),
    )
    first, second = await one.json(), await two.json()
    assert first["id"] != second["id"]
    assert first["sha256"]["score"] == second["sha256"]["score"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"genre": "lofi", "colour": "red"}, "colour"),
        ({"genre": "lofi", TEST_HOOK_FIELD + "x": 1}, TEST_HOOK_FIELD + "x"),
        ({}, "genre"),
        ({"genre": 3}, "genre"),
        ({"genre": "lofi", "duration_s": "30"}, "duration_s"),
        ({"genre": "lofi", "duration_s": True}, "duration_s"),
        ({"genre": "lofi", "duration_s": 900}, "duration_s"),
        ({"genre": "lofi", "duration_s": 4.9}, "duration_s"),
        ({"genre": "lofi", "tempo_bpm": 10}, "tempo_bpm"),
        ({"genre": "lofi", "seed": -1}, "seed"),
        ({"genre": "lofi", "seed": 2**31}, "seed"),
        ({"genre": "lofi", "seed": 1.5}, "seed"),
        ({"genre": "lofi", "mood": "grumpy"}, "mood"),
        ({"genre": "lofi", "mode": "locrian"}, "mode"),
        ({"genre": "lofi", "key": "H"}, "key"),
        ({"genre": "lofi", "key": "D minor"}, "key"),
        ({"genre": "lofi", "variant": "trap"}, "variant"),
        ({"genre": "trap", "variant": "boombap"}, "variant"),
        ({"genre": "lofi", "instruments": "piano"}, "instruments"),
        ({"genre": "lofi", "instruments": ["kazoo"]}, "instruments"),
        ({"genre": "lofi", "instruments": [1]}, "instruments"),
        ({"genre": "lofi", "without": ["everything"]}, "without"),
        ({"genre": "lofi", "instruments": ["piano"], "without": ["keys"]}, "without"),
        ({"genre": "lofi", "text": "x" * 501}, "text"),
    ],
)
async def test_bad_fields_are_400_naming_the_field(
    client: TestClient[Any, Any], body: dict[str, Any], field: str
) -> None:
    error = await _error(await client.post("/v1/pieces", json=body), 400, "bad_request")
    assert error["field"] == field


async def test_unknown_genre_lists_the_allowed_ones(client: TestClient[Any, Any]) -> None:
    response = await client.post("/v1/pieces", json={"genre": "polka"})
    error = await _error(response, 400, "bad_request")
    assert "polka" in error["message"] and "lofi" in error["allowed"]
    assert len(error["allowed"]) == 12


@pytest.mark.parametrize(
    "raw", [b"{", b"[1, 2]", b'{"genre": "lofi", "duration_s": NaN}', b"\xff\xfe", b"null"]
)
async def test_malformed_bodies_are_400(client: TestClient[Any, Any], raw: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    response = await client.post("/v1/pieces", data=raw, headers=headers)
    await _error(response, 400, "bad_request")


async def test_body_too_large_is_413(client: TestClient[Any, Any]) -> None:
    body = json.dumps({"genre": "lofi", "text": "x" * 20000})
    response = await client.post(
        "/v1/pieces", data=body, headers={"Content-Type": "application/json"}
    )
    await _error(response, 413, "payload_too_large")


async def test_wrong_content_type_is_415(client: TestClient[Any, Any]) -> None:
    response = await client.post("/v1/pieces", data="genre=lofi")
    await _error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    "path", ["/v1/pieces/0123456789abcdef/mp3", "/v1/pieces/../etc/passwd", "/v2/catalog"]
)
async def test_unknown_pieces_and_routes_are_404(client: TestClient[Any, Any], path: str) -> None:
    await _error(await client.get(path), 404, "not_found")


async def test_a_bad_kind_is_404(client: TestClient[Any, Any]) -> None:
    piece = await (await client.post("/v1/pieces", json=PIECE)).json()
    await _error(await client.get(f"/v1/pieces/{piece['id']}/wav"), 404, "not_found")


async def test_wrong_method_is_405_json(client: TestClient[Any, Any]) -> None:
    await _error(await client.delete("/v1/catalog"), 405, "method_not_allowed")


async def test_metrics_count_pieces_and_errors(client: TestClient[Any, Any]) -> None:
    response = await client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    pieces = await _metric(client, "tunesmith_pieces_total")
    bad = await _metric(client, 'tunesmith_errors_total{kind="bad_request"}')
    await client.post("/v1/pieces", json={"genre": "polka"})
    assert (await client.post("/v1/pieces", json=PIECE)).status == 201
    assert await _metric(client, "tunesmith_pieces_total") == pieces + 1
    assert await _metric(client, 'tunesmith_errors_total{kind="bad_request"}') == bad + 1
    assert await _metric(client, 'tunesmith_job_duration_seconds_count{stage="render"}') >= 1
    assert await _metric(client, "tunesmith_workers_ready") == 2
    assert await _metric(client, "tunesmith_queue_depth") == 0
    assert await _metric(client, "tunesmith_jobs_in_flight") == 0


async def test_a_full_queue_is_503_with_retry_after(client: TestClient[Any, Any]) -> None:
    # Two workers + one queue place: three slow jobs fill it, the fourth is turned away at once.
    slow = {**PIECE, TEST_HOOK_FIELD: 1.5}
    held = [asyncio.create_task(client.post("/v1/pieces", json=slow)) for _ in range(3)]
    pool = client.app[RUNNING].pool
    await _until(lambda: pool.in_flight + pool.queued >= 3)
    clock = time.monotonic()
    response = await client.post("/v1/pieces", json=PIECE)
    error = await _error(response, 503, "queue_full")
    assert time.monotonic() - clock < 1.0
    assert int(response.headers["Retry-After"]) >= 1
    assert "busy" in error["message"]
    assert [r.status for r in await asyncio.gather(*held)] == [201, 201, 201]
    assert await _metric(client, 'tunesmith_errors_total{kind="queue_full"}') >= 1


async def test_a_killed_worker_fails_its_job_and_is_replaced(client: TestClient[Any, Any]) -> None:
    pool = client.app[RUNNING].pool
    before = set(pool.worker_pids().values())
    held = asyncio.create_task(client.post("/v1/pieces", json={**PIECE, TEST_HOOK_FIELD: 20}))
    await _until(lambda: pool.busy_pids())
    victim = pool.busy_pids()[0]
    os.kill(victim, signal.SIGKILL)
    response = await held
    await _error(response, 503, "worker_crashed")
    assert int(response.headers["Retry-After"]) >= 1
    assert (await client.post("/v1/pieces", json=PIECE)).status == 201
    await _ready(client)
    after = set(pool.worker_pids().values())
    assert victim not in after and len(after) == 2 and after != before
    assert await _metric(client, 'tunesmith_errors_total{kind="worker_crashed"}') >= 1


async def test_a_hung_job_is_504_and_the_service_keeps_serving(
    client: TestClient[Any, Any],
) -> None:
    response = await client.post("/v1/pieces", json={**PIECE, TEST_HOOK_FIELD: 60})
    await _error(response, 504, "timeout")
    assert (await client.post("/v1/pieces", json=PIECE)).status == 201
    await _ready(client)
    assert await _metric(client, 'tunesmith_errors_total{kind="timeout"}') >= 1


async def test_test_hooks_are_refused_unless_enabled(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, workers=1, allow_test_hooks=False))
    app.cleanup_ctx.clear()  # validation only: no workers needed
    app[RUNNING] = _idle_running(tmp_path)
    async with TestClient(TestServer(app)) as test_client:
        response = await test_client.post("/v1/pieces", json={**PIECE, TEST_HOOK_FIELD: 1})
        error = await _error(response, 400, "bad_request")
        assert error["field"] == TEST_HOOK_FIELD


def _idle_running(tmp_path: Path) -> Any:
    from concurrent.futures import ThreadPoolExecutor

    from generators.service.app import Running
    from generators.service.pool import PoolMetrics, WorkerPool

    registry = __import__("prometheus_client").CollectorRegistry()
    executor = ThreadPoolExecutor(1)
    pool = WorkerPool(
        soundfont=tmp_path / "none.sf2",
        workers=1,
        pending_limit=0,
        job_timeout_s=1,
        metrics=PoolMetrics(registry),
        executor=executor,
    )
    return Running(pool, ArtifactStore(tmp_path, 60, 5), executor)


async def test_shutdown_lets_the_job_in_flight_finish(tmp_path: Path) -> None:
    app = create_app(_settings(tmp_path, workers=1))
    server = TestServer(app)
    async with TestClient(server) as test_client:
        pool = app[RUNNING].pool
        await pool.wait_ready(60)
        held = asyncio.create_task(
            test_client.post("/v1/pieces", json={**PIECE, TEST_HOOK_FIELD: 1.5})
        )
        await _until(lambda: pool.in_flight)
        await app.shutdown()  # what the runner does on SIGTERM before waiting for handlers
        response = await test_client.post("/v1/pieces", json=PIECE)
        await _error(response, 503, "shutting_down")
        assert (await test_client.get("/healthz")).status == 503
        finished = await held
        assert finished.status == 201
    assert pool.ready_count == 0 and not pool.worker_pids()


# --- remixes and MIDI imports ---------------------------------------------------------------------


async def test_remix_a_stored_score_keeps_its_melody_in_another_style(
    client: TestClient[Any, Any],
) -> None:
    made = await client.post("/v1/pieces", json={"genre": "lofi", "duration_s": 8, "seed": 3})
    assert made.status == 201, await made.text()
    source = await (await client.get((await made.json())["artifacts"]["score"])).json()
    response = await client.post(
        "/v1/remixes",
        json={
            "source": source,
            "changes": {"genre": "Swing", "tonic": 4, "mode": "minor"},
            "seed": 5,
        },
    )
    assert response.status == 201, await response.text()
    remix = await response.json()
    assert remix["genre"] == "jazz" and remix["key"] == "E minor" and remix["seed"] == 5
    assert remix["title"].endswith("(swing remix)")
    score = await (await client.get(remix["artifacts"]["score"])).json()

    def melody(data: dict[str, Any]) -> list[int]:
        lead = next(t for t in data["tracks"] if t["role"] == "lead")
        return [row[2] for row in sorted(lead["notes"], key=lambda r: (r[0], -r[2]))]

    before, after = melody(source), melody(score)
    assert len(before) == len(after)  # the same tune, moved to E minor degree by degree
    mp3 = await (await client.get(remix["artifacts"]["mp3"])).read()
    assert abs(MP3(io.BytesIO(mp3)).info.length - remix["duration_s"]) < 0.25  # type: ignore[attr-defined]


async def test_remix_bodies_are_checked_field_by_field(client: TestClient[Any, Any]) -> None:
    made = await client.post("/v1/pieces", json={"genre": "rock", "duration_s": 5, "seed": 1})
    source = await (await client.get((await made.json())["artifacts"]["score"])).json()
    cases = [
        ({"changes": {"genre": "jazz"}}, "source", "source is required"),
        ({"source": {"title": "x"}, "changes": {"genre": "jazz"}}, "source", "not a readable"),
        ({"source": source, "changes": {"genre": "polka"}}, "changes", "unknown genre 'polka'"),
        ({"source": source, "changes": {"colour": 1}}, "changes", "unknown change 'colour'"),
        ({"source": source, "changes": {}}, None, "say what to change"),
        ({"source": source, "changes": {"tempo_bpm": 300}}, None, "between 40 and 220 bpm"),
        ({"source": source, "changes": {"genre": "jazz"}, "seed": -1}, "seed", "seed must be"),
    ]
    for body, field_name, words in cases:
        response = await client.post("/v1/remixes", json=body)
        assert response.status == 400, (body, await response.text())
        error = (await response.json())["error"]
        assert error["field"] == field_name and words in error["message"], error
    plain = await client.post("/v1/remixes", data=b"x", headers={"Content-Type": "text/plain"})
    assert plain.status == 415


async def test_imports_read_a_midi_and_refuse_hostile_files_clearly(
    client: TestClient[Any, Any],
) -> None:
    from tests.midi_corpus import hostile_midis
    from tests.midi_songs import song_midi

    good = await client.post(
        "/v1/imports?title=Night%20Song", data=song_midi(), headers={"Content-Type": "audio/midi"}
    )
    assert good.status == 200, await good.text()
    body = await good.json()
    assert body["score"]["title"] == "Night Song" and body["summary"]["key"] == "C major"
    assert body["summary"]["melody_notes"] == 32 and body["summary"]["tempo_bpm"] == 100
    # One hostile file of each kind through the service: a 400 naming the file, never a 500.
    kinds: dict[str, bytes] = {}
    for hostile in hostile_midis():
        if hostile.kind != "valid-edge" and len(hostile.data) <= 2**20:
            kinds.setdefault(hostile.kind, hostile.data)
    for kind, data in kinds.items():
        response = await client.post(
            "/v1/imports", data=data, headers={"Content-Type": "audio/midi"}
        )
        assert response.status in (200, 400), (kind, await response.text())
        if response.status == 400:
            error = (await response.json())["error"]
            assert error["field"] == "midi" and len(error["message"]) > 15, (kind, error)
    huge = await client.post(
        "/v1/imports", data=b"MThd" + bytes(2**20), headers={"Content-Type": "audio/midi"}
    )
    assert huge.status == 413
    assert (await client.get("/healthz")).status == 200
