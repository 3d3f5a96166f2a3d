"""The aiohttp app: `create_app(settings)`; state under typed `web.AppKey`s, the pool in cleanup_ctx."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import secrets
import shutil
import tempfile
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest

from generators.catalog import NOTE_NAMES, Catalog
from generators.errors import BadRequest
from generators.remix.midi_import import ImportLimits, MidiRejected
from generators.remix.sandbox import SandboxLimits, import_midi
from generators.score import Role
from generators.service.openapi import ARTIFACT_KINDS, openapi_document
from generators.service.pool import (
    Job,
    JobFailed,
    JobResult,
    JobTimeout,
    PoolMetrics,
    QueueFull,
    Remix,
    ShuttingDown,
    WorkerCrashed,
    WorkerPool,
)
from generators.service.settings import ServiceSettings
from generators.service.validation import (
    FieldError,
    Names,
    RemixOrder,
    parse_order,
    parse_remix,
)

log = logging.getLogger("tunesmith.service")

METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_PIECE_ID_BYTES = 8
_SWEEP_INTERVAL_S = 30.0
# A replica that is stopping says "ask again in 2 s": by then a load balancer sends the request
# to another replica, and the bot's client (which waits at most 4 s) does ask again.
SHUTTING_DOWN_RETRY_S = 2


class ArtifactStore:
    """Finished pieces on local disk for a limited time and a bounded count (no user data)."""

    def __init__(self, root: Path, ttl_s: float, max_count: int) -> None:
        self.root = root
        self.ttl_s = ttl_s
        self.max_count = max_count
        self._pieces: OrderedDict[str, tuple[float, dict[str, Path]]] = OrderedDict()

    def folder(self, piece_id: str) -> Path:
        return self.root / piece_id

    def add(self, piece_id: str, files: dict[str, Path]) -> list[Path]:
        """Keep `files`; returns the folders of pieces pushed out, for the caller to delete."""
        self._pieces[piece_id] = (time.monotonic(), files)
        gone = self.expired()
        while len(self._pieces) > self.max_count:
            old_id, _ = self._pieces.popitem(last=False)
            gone.append(self.folder(old_id))
        return gone

    def get(self, piece_id: str, kind: str) -> Path | None:
        entry = self._pieces.get(piece_id)
        if entry is None or time.monotonic() - entry[0] > self.ttl_s:
            return None
        return entry[1].get(kind)

    def expired(self) -> list[Path]:
        now = time.monotonic()
        old = [pid for pid, (made, _) in self._pieces.items() if now - made > self.ttl_s]
        for piece_id in old:
            del self._pieces[piece_id]
        return [self.folder(piece_id) for piece_id in old]


@dataclass(frozen=True, slots=True)
class Running:
    """What exists while the app runs (set by the cleanup context)."""

    pool: WorkerPool
    artifacts: ArtifactStore
    executor: Executor


SETTINGS = web.AppKey("settings", ServiceSettings)
CATALOG = web.AppKey("catalog", Catalog)
NAMES = web.AppKey("names", Names)
REGISTRY = web.AppKey("registry", CollectorRegistry)
METRICS = web.AppKey("metrics", PoolMetrics)
OPENAPI = web.AppKey("openapi", bytes)
CATALOG_JSON = web.AppKey("catalog_json", bytes)
RUNNING = web.AppKey("running", Running)


def create_app(settings: ServiceSettings) -> web.Application:
    """The generator service app; its worker pool starts and stops with the app."""
    catalog = Catalog.default()
    if settings.max_duration_s is not None:
        # An operator (or the fuzzing run in CI) may cap piece length below the catalogue's.
        catalog = replace(catalog, max_duration_s=settings.max_duration_s)
    registry = CollectorRegistry()
    largest = max(settings.max_body_bytes, settings.max_source_bytes, settings.max_midi_bytes)
    app = web.Application(client_max_size=largest, middlewares=[_errors])
    app[SETTINGS] = settings
    app[CATALOG] = catalog
    app[NAMES] = Names.from_catalog(catalog)
    app[REGISTRY] = registry
    app[METRICS] = PoolMetrics(registry)
    app[OPENAPI] = json.dumps(openapi_document(catalog, settings)).encode()
    app[CATALOG_JSON] = json.dumps(catalog_body(catalog)).encode()
    app.cleanup_ctx.append(_running)
    app.on_shutdown.append(_stop_accepting)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/v1/catalog", catalog_view)
    app.router.add_post("/v1/pieces", create_piece)
    app.router.add_post("/v1/remixes", create_remix)
    app.router.add_post("/v1/imports", import_upload)
    app.router.add_get("/v1/pieces/{id}/{kind}", artifact)
    return app


def run_service(settings: ServiceSettings) -> int:
    """Serve until interrupted (SIGINT/SIGTERM), then shut down gracefully."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_grace_s,
        print=lambda text: log.info("%s", text),
    )
    return 0


async def _running(app: web.Application) -> AsyncIterator[None]:
    from generators.soundfonts import load_manifest, resolve_soundfont

    settings = app[SETTINGS]
    # Fail at start-up, with the install hint, rather than in every worker.
    soundfont = resolve_soundfont(settings.soundfont, load_manifest())
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tunesmith-service")
    loop = asyncio.get_running_loop()
    owned = settings.scratch_dir is None
    scratch = settings.scratch_dir or Path(
        await loop.run_in_executor(executor, lambda: tempfile.mkdtemp(prefix="tunesmith-"))
    )
    pool = WorkerPool(
        soundfont=soundfont,
        workers=settings.workers,
        pending_limit=settings.pending_limit,
        job_timeout_s=settings.job_timeout_s,
        metrics=app[METRICS],
        executor=executor,
    )
    store = ArtifactStore(scratch, settings.artifact_ttl_s, settings.max_artifacts)
    app[RUNNING] = Running(pool, store, executor)
    sweeper = asyncio.create_task(_sweep(store, executor))
    try:
        await pool.start()
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await pool.close(settings.shutdown_grace_s)
        if owned:
            await loop.run_in_executor(executor, lambda: shutil.rmtree(scratch, True))
        executor.shutdown(wait=False)


async def _sweep(store: ArtifactStore, executor: Executor) -> None:
    while True:
        await asyncio.sleep(_SWEEP_INTERVAL_S)
        await _remove(store.expired(), executor)


async def _remove(folders: list[Path], executor: Executor) -> None:
    if folders:
        await asyncio.get_running_loop().run_in_executor(executor, _remove_folders, folders)


def _remove_folders(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


async def _stop_accepting(app: web.Application) -> None:
    if RUNNING in app:
        app[RUNNING].pool.begin_shutdown()


# --- errors -------------------------------------------------------------------------------------


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    allowed: list[Any] | None = None,
    retry_after_s: int | None = None,
) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if status == 400:
        error["field"] = field
    if allowed:
        error["allowed"] = allowed
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
    return web.json_response({"error": error}, status=status, headers=headers)


_STATUS_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


@web.middleware
async def _errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """aiohttp's own errors (no route, wrong method) as our JSON errors; never a bare 500."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = _STATUS_CODES.get(error.status, "bad_request" if error.status < 500 else "internal")
        response = error_response(error.status, code, error.reason)
        if error.status == 405:
            response.headers["Allow"] = error.headers.get("Allow", "")
        return response
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected failure in %s %s", request.method, request.path)
        request.app[METRICS].count_error("internal")
        return error_response(500, "internal", "Something went wrong on our side.")


# --- handlers -----------------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    pool = request.app[RUNNING].pool
    ready = pool.ready_count
    body = {
        "workers": pool.size,
        "ready": ready,
        "queued": pool.queued,
        "in_flight": pool.in_flight,
        "accepting": pool.accepting,
    }
    if ready == pool.size and pool.accepting:
        return web.json_response({"status": "ok", **body})
    status = "degraded" if pool.warmed or not pool.accepting else "starting"
    return web.json_response({"status": status, **body}, status=503, headers={"Retry-After": "1"})


async def metrics(request: web.Request) -> web.Response:
    if RUNNING in request.app:
        request.app[RUNNING].pool.update_gauges()
    return web.Response(
        body=generate_latest(request.app[REGISTRY]),
        headers={"Content-Type": METRICS_CONTENT_TYPE},
    )


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")


async def catalog_view(request: web.Request) -> web.Response:
    return web.Response(body=request.app[CATALOG_JSON], content_type="application/json")


def catalog_body(catalog: Catalog) -> dict[str, Any]:
    return {
        "genres": [
            {
                "name": genre.name,
                "aliases": list(genre.aliases),
                "tempo_range": list(genre.tempo_range),
                "variants": sorted({variant for _, variant in genre.variants}),
                "description": genre.description,
            }
            for genre in catalog.genres
        ],
        "moods": [
            {"name": mood.name, "aliases": list(mood.aliases), "description": mood.description}
            for mood in catalog.moods
        ],
        "modes": list(catalog.modes),
        "keys": list(NOTE_NAMES),
        "instruments": [
            {"name": info.name, "aliases": list(info.aliases), "family": info.family}
            for info in catalog.instruments
        ],
        "duration_s": {"min": catalog.min_duration_s, "max": catalog.max_duration_s},
        "tempo_bpm": {"min": catalog.min_tempo_bpm, "max": catalog.max_tempo_bpm},
    }


async def create_piece(request: web.Request) -> web.Response:
    app = request.app
    settings, running, counters = app[SETTINGS], app[RUNNING], app[METRICS]
    body = await _json_body(request, settings.max_body_bytes)
    if isinstance(body, web.Response):
        return body
    try:
        order = parse_order(
            body, app[CATALOG], app[NAMES], allow_test_hooks=settings.allow_test_hooks
        )
    except FieldError as error:
        return _bad_field(counters, error)
    piece_id = secrets.token_hex(_PIECE_ID_BYTES)
    seed = order.seed if order.seed is not None else secrets.randbelow(2**31)
    job = Job(piece_id, order.request, seed, running.artifacts.folder(piece_id), order.hold_s)
    return await _run(app, job)


async def create_remix(request: web.Request) -> web.Response:
    """A stored piece's Score plus changes → a new piece, made like a composition."""
    app = request.app
    settings, running, counters = app[SETTINGS], app[RUNNING], app[METRICS]
    raw = await _read_body(request, settings.max_source_bytes, json_only=True)
    if isinstance(raw, web.Response):
        return raw
    # A long piece's Score is megabytes of JSON: read and check it off the event loop.
    read = functools.partial(_parse_remix, raw, app[CATALOG], app[NAMES])
    try:
        order = await asyncio.get_running_loop().run_in_executor(running.executor, read)
    except FieldError as error:
        return _bad_field(counters, error)
    except ValueError as error:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        counters.count_error("bad_request")
        return error_response(400, "bad_request", f"the body is not valid JSON: {error}")
    piece_id = secrets.token_hex(_PIECE_ID_BYTES)
    seed = order.seed if order.seed is not None else secrets.randbelow(2**31)
    job = Job(
        piece_id,
        None,
        seed,
        running.artifacts.folder(piece_id),
        remix=Remix(order.source, order.changes),
    )
    return await _run(app, job)


def _parse_remix(raw: bytes, catalog: Catalog, names: Names) -> RemixOrder:
    return parse_remix(json.loads(raw, parse_constant=_reject_constant), catalog, names)


async def import_upload(request: web.Request) -> web.Response:
    """An uploaded MIDI file (the body) → its melody and harmony as a Score, read in a
    throwaway process with time and memory limits."""
    app = request.app
    settings, running, counters = app[SETTINGS], app[RUNNING], app[METRICS]
    raw = await _read_body(request, settings.max_midi_bytes, what="a MIDI file")
    if isinstance(raw, web.Response):
        return raw
    title = request.query.get("title", "")[:100].strip() or "Uploaded MIDI"
    read = functools.partial(
        _imported_body,
        raw,
        ImportLimits(max_bytes=settings.max_midi_bytes),
        settings.import_sandbox,
        title,
    )
    try:
        body = await asyncio.get_running_loop().run_in_executor(running.executor, read)
    except MidiRejected as error:
        counters.count_error("bad_request")
        return error_response(400, "bad_request", str(error), field="midi")
    return web.Response(body=body, content_type="application/json")


def _imported_body(raw: bytes, limits: ImportLimits, sandbox: SandboxLimits, title: str) -> bytes:
    """Read the upload in the sandbox and write the answer's JSON (both blocking)."""
    score = import_midi(raw, limits, sandbox, title=title)
    lead = score.track(Role.LEAD)
    summary = {
        "key": score.key_name,
        "tempo_bpm": round(score.tempo_bpm, 2),
        "bars": score.total_bars,
        "duration_s": score.duration_s,
        "melody_notes": 0 if lead is None else len(lead.notes),
        "chords": [span.chord.symbol for span in score.chords[:64]],
    }
    return json.dumps({"score": score.to_dict(), "summary": summary}).encode()


def _bad_field(counters: PoolMetrics, error: FieldError) -> web.Response:
    counters.count_error("bad_request")
    return error_response(
        400, "bad_request", error.message, field=error.field, allowed=error.allowed
    )


async def _json_body(request: web.Request, limit: int) -> object | web.Response:
    """The request's JSON body, or the error response to send instead."""
    raw = await _read_body(request, limit, json_only=True)
    if isinstance(raw, web.Response):
        return raw
    try:
        body: object = json.loads(raw, parse_constant=_reject_constant)
    except ValueError as error:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        request.app[METRICS].count_error("bad_request")
        return error_response(400, "bad_request", f"the body is not valid JSON: {error}")
    return body


async def _read_body(
    request: web.Request, limit: int, *, json_only: bool = False, what: str = "the body"
) -> bytes | web.Response:
    """The request's body, at most `limit` bytes, or the error response to send instead."""
    app = request.app
    running, counters = app[RUNNING], app[METRICS]
    if not running.pool.accepting:
        return error_response(
            503,
            "shutting_down",
            "The generator is shutting down.",
            retry_after_s=SHUTTING_DOWN_RETRY_S,
        )
    if json_only and request.content_type != "application/json":
        counters.count_error("bad_request")
        return error_response(
            415,
            "unsupported_media_type",
            f"send the request as application/json, got {request.content_type or 'nothing'}",
        )
    if request.content_length is not None and request.content_length > limit:
        counters.count_error("bad_request")
        return _too_large(limit, what)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        counters.count_error("bad_request")
        return _too_large(limit, what)
    if len(raw) > limit:
        counters.count_error("bad_request")
        return _too_large(limit, what)
    return raw


async def _run(app: web.Application, job: Job) -> web.Response:
    running = app[RUNNING]
    try:
        result = await running.pool.run(job)
    except QueueFull as error:
        return error_response(503, "queue_full", str(error), retry_after_s=error.retry_after_s)
    except ShuttingDown as error:
        return error_response(503, "shutting_down", str(error), retry_after_s=SHUTTING_DOWN_RETRY_S)
    except WorkerCrashed as error:
        return error_response(503, "worker_crashed", str(error), retry_after_s=error.retry_after_s)
    except JobTimeout as error:
        return error_response(504, "timeout", str(error))
    except BadRequest as error:
        return error_response(400, "bad_request", str(error), field=None)
    except JobFailed as error:
        return error_response(500, "internal", str(error))
    await _remove(running.artifacts.add(job.piece_id, result.files), running.executor)
    return web.json_response(piece_body(result), status=201)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _too_large(limit: int, what: str = "the body") -> web.Response:
    return error_response(413, "payload_too_large", f"{what} must be at most {limit} bytes")


def piece_body(result: JobResult) -> dict[str, Any]:
    return {
        "id": result.piece_id,
        "title": result.title,
        "genre": result.genre,
        "variant": result.variant or None,
        "mood": result.mood,
        "key": result.key,
        "tempo_bpm": result.tempo_bpm,
        "duration_s": result.duration_s,
        "seed": result.seed,
        "quality": result.quality,
        "sha256": result.sha256,
        "artifacts": {kind: f"/v1/pieces/{result.piece_id}/{kind}" for kind in ARTIFACT_KINDS},
        "timings": {stage: round(seconds, 4) for stage, seconds in result.timings.items()},
        "fingerprint": result.fingerprint,
    }


async def artifact(request: web.Request) -> web.StreamResponse:
    piece_id, kind = request.match_info["id"], request.match_info["kind"]
    content_type = ARTIFACT_KINDS.get(kind)
    path = request.app[RUNNING].artifacts.get(piece_id, kind) if content_type else None
    if path is None or content_type is None:
        what = (
            f"kind {kind!r} (one of {', '.join(ARTIFACT_KINDS)})" if not content_type else "piece"
        )
        return error_response(404, "not_found", f"no such {what}: it may have expired")
    return web.FileResponse(path, headers={"Content-Type": content_type})
