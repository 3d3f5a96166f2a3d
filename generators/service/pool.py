"""A pool of worker processes, each with one warm synth, fed from a bounded queue.

The event loop never waits on a worker: results and deaths arrive through `loop.add_reader` on
each worker's pipe (a dead worker's pipe reads as EOF), and the few calls that can block (starting
and joining processes) run on a small executor the app owns. A job over its time limit has its
worker killed (SIGKILL: a synth stuck in C code ignores anything gentler) and replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import multiprocessing
import os
import signal
import time
from collections import deque
from concurrent.futures import Executor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from generators.errors import BadRequest, TunesmithError
from generators.processes import reap
from generators.remix import RemixChanges
from generators.request import CompositionRequest

log = logging.getLogger("tunesmith.service")

STAGES = ("compose", "render", "master", "encode", "picture", "total")
ERROR_KINDS = ("bad_request", "queue_full", "timeout", "worker_crashed", "internal")
_RESPAWN_DELAY_S = 1.0


class PoolError(TunesmithError):
    """The pool could not run a job; the message is safe to show."""


class QueueFull(PoolError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__("The generator is busy: every worker is taken and the queue is full.")
        self.retry_after_s = retry_after_s


class JobTimeout(PoolError):
    pass


class WorkerCrashed(PoolError):
    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ShuttingDown(PoolError):
    pass


class JobFailed(PoolError):
    """The worker raised an unexpected error while making the piece."""


@dataclass(frozen=True, slots=True)
class Remix:
    """A job's remix: the stored piece's Score (as JSON) and what to change."""

    source: str
    changes: RemixChanges


@dataclass(frozen=True, slots=True)
class Job:
    piece_id: str
    request: CompositionRequest | None  # None for a remix
    seed: int
    out_dir: Path
    hold_s: float = 0.0  # tests only: the worker sleeps this long first
    remix: Remix | None = None

    def __post_init__(self) -> None:
        if (self.request is None) == (self.remix is None):
            raise ValueError("a job composes a request or remixes a piece: give exactly one")


@dataclass(frozen=True, slots=True)
class JobResult:
    piece_id: str
    title: str
    genre: str
    variant: str
    mood: str
    key: str
    tempo_bpm: float
    duration_s: float
    seed: int
    quality: dict[str, Any]
    sha256: dict[str, str]  # mp3, midi, png, score
    files: dict[str, Path]  # mp3, midi, png, score
    timings: dict[str, float]  # the pipeline's stages plus "total"
    fingerprint: str | None = None  # Chromaprint, compressed base64: the ledger identifies copies


class PoolMetrics:
    """The pool's Prometheus metrics, registered in a registry the app owns."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.queue_depth = Gauge(
            "tunesmith_queue_depth", "Jobs waiting for a worker", registry=registry
        )
        self.in_flight = Gauge(
            "tunesmith_jobs_in_flight", "Jobs running in a worker", registry=registry
        )
        self.workers_ready = Gauge(
            "tunesmith_workers_ready", "Worker processes with a warm synth", registry=registry
        )
        self.duration = Histogram(
            "tunesmith_job_duration_seconds",
            "Time per pipeline stage of finished jobs",
            ["stage"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0),
            registry=registry,
        )
        self.errors = Counter(
            "tunesmith_errors", "Failed requests by kind", ["kind"], registry=registry
        )
        self.pieces = Counter("tunesmith_pieces", "Pieces made", registry=registry)
        for stage in STAGES:
            self.duration.labels(stage=stage)
        for kind in ERROR_KINDS:
            self.errors.labels(kind=kind)

    def count_error(self, kind: str) -> None:
        self.errors.labels(kind=kind).inc()


# --- the worker process -------------------------------------------------------------------------


def _worker_main(conn: Connection, soundfont: str) -> None:
    """Entry point of a worker process: warm up once, then make pieces until told to stop."""
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from generators.catalog import Catalog
    from generators.pipeline import PieceMaker
    from generators.render import Renderer

    try:
        renderer = Renderer(Path(soundfont))
    except Exception as error:
        conn.send(("failed", f"{type(error).__name__}: {error}"))
        return
    with renderer:
        maker = PieceMaker(renderer, Catalog.default(), cores=1)
        conn.send(("ready", os.getpid()))
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return  # the parent went away
            if job is None:
                return
            conn.send(_make(maker, job))


def _make(maker: Any, job: Job) -> tuple[str, Any]:
    try:
        if job.hold_s:
            time.sleep(job.hold_s)
        clock = time.perf_counter()
        if job.remix is not None:
            from generators.score import Score

            try:
                source = Score.from_json(job.remix.source)
            except (ValueError, KeyError, TypeError) as error:
                raise BadRequest(f"the source piece's score can't be read: {error}") from error
            piece = maker.make_remix(source, job.remix.changes, job.seed, job.out_dir, job.piece_id)
        else:
            assert job.request is not None
            piece = maker.make(job.request, job.seed, job.out_dir, job.piece_id)
        score_path = job.out_dir / f"{job.piece_id}.json"
        score_bytes = piece.score.to_json().encode()
        score_path.write_bytes(score_bytes)
        score = piece.score
        result = JobResult(
            piece_id=job.piece_id,
            title=score.title,
            genre=score.genre,
            variant=score.variant,
            mood=score.mood,
            key=score.key_name,
            tempo_bpm=round(score.tempo_bpm, 2),
            duration_s=score.duration_s,
            seed=score.seed,
            quality=dict(piece.quality),
            sha256={**piece.sha256, "score": hashlib.sha256(score_bytes).hexdigest()},
            files={
                "mp3": piece.files.mp3,
                "midi": piece.files.midi,
                "png": piece.files.png,
                "score": score_path,
            },
            timings={**piece.timings, "total": time.perf_counter() - clock},
            fingerprint=piece.fingerprint,
        )
        return ("done", result)
    except BadRequest as error:
        return ("bad_request", str(error))
    except Exception as error:
        log.exception("job %s failed", job.piece_id)
        return ("internal", f"{type(error).__name__}: {error}")


# --- the parent side ----------------------------------------------------------------------------


@dataclass(eq=False)
class _Pending:
    job: Job
    future: asyncio.Future[JobResult]


@dataclass(eq=False)
class _Worker:
    slot: int
    process: SpawnProcess
    conn: Connection
    pid: int | None = None
    ready: bool = False
    job: _Pending | None = None
    deadline: asyncio.TimerHandle | None = None
    started: float = field(default_factory=time.monotonic)


class WorkerPool:
    """N worker processes behind a bounded queue. Build it, `await start()`, `await close()`."""

    def __init__(
        self,
        *,
        soundfont: Path,
        workers: int,
        pending_limit: int,
        job_timeout_s: float,
        metrics: PoolMetrics,
        executor: Executor,
    ) -> None:
        self.size = workers
        self.pending_limit = pending_limit
        self.job_timeout_s = job_timeout_s
        self.metrics = metrics
        self._soundfont = soundfont
        self._executor = executor
        self._context = multiprocessing.get_context("spawn")
        self._workers: dict[int, _Worker] = {}
        self._queue: deque[_Pending] = deque()
        self._respawns: set[asyncio.Task[None]] = set()
        self._reaps: set[asyncio.Future[None]] = set()
        self._accepting = True
        self._stopped = False
        self._idle = asyncio.Event()  # nothing queued or running
        self._idle.set()
        self._warmed = False  # every worker was ready at least once
        self._job_seconds = 2.0  # running mean of a job's time, for Retry-After

    # -- state ---------------------------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        return self._accepting

    @property
    def warmed(self) -> bool:
        """True once every worker has been ready: a later shortfall is degraded, not starting."""
        return self._warmed

    @property
    def ready_count(self) -> int:
        return sum(1 for worker in self._workers.values() if worker.ready)

    @property
    def in_flight(self) -> int:
        return sum(1 for worker in self._workers.values() if worker.job is not None)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def worker_pids(self) -> dict[int, int]:
        """slot → pid of each warm worker (operators and tests use it to find a worker)."""
        return {w.slot: w.pid for w in self._workers.values() if w.pid is not None}

    def busy_pids(self) -> list[int]:
        return [w.pid for w in self._workers.values() if w.job is not None and w.pid is not None]

    def retry_after_s(self) -> int:
        """A fair guess of when a slot frees up: the queue ahead divided over the workers."""
        waves = (len(self._queue) + self.in_flight) / self.size
        return max(1, min(120, math.ceil(self._job_seconds * max(1.0, waves))))

    # -- life cycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start every worker; they warm up in the background (`ready_count` says how far)."""
        for slot in range(self.size):
            await self._spawn(slot)

    async def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.ready_count < self.size:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.ready_count} of {self.size} workers ready")
            await asyncio.sleep(0.05)

    def begin_shutdown(self) -> None:
        """Refuse new jobs; accepted ones still run."""
        self._accepting = False

    async def close(self, grace_s: float) -> None:
        """Stop accepting, let accepted jobs finish within `grace_s`, then stop every worker."""
        self.begin_shutdown()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace_s)
        self._stopped = True
        for task in list(self._respawns):
            task.cancel()
        for pending in self._queue:
            self._fail(pending, ShuttingDown("The generator is shutting down."))
        self._queue.clear()
        loop = asyncio.get_running_loop()
        stopping = []
        for worker in list(self._workers.values()):
            if worker.job is not None:
                self._fail(worker.job, ShuttingDown("The generator is shutting down."))
                worker.process.kill()
            self._detach(worker)
            with contextlib.suppress(OSError):
                worker.conn.send(None)
            worker.conn.close()
            stopping.append(loop.run_in_executor(self._executor, reap, worker.process))
        self._workers.clear()
        await asyncio.gather(*stopping, *self._reaps, *self._respawns, return_exceptions=True)
        self.update_gauges()

    # -- jobs ----------------------------------------------------------------------------------

    async def run(self, job: Job) -> JobResult:
        """Run `job` on a worker; raises QueueFull, ShuttingDown, JobTimeout, WorkerCrashed,
        BadRequest or JobFailed."""
        return await self.submit(job)

    def submit(self, job: Job) -> asyncio.Future[JobResult]:
        """Queue `job` or raise at once: ShuttingDown, or QueueFull when every slot is taken."""
        if not self._accepting:
            raise ShuttingDown("The generator is shutting down.")
        if len(self._queue) + self.in_flight >= self.size + self.pending_limit:
            self.metrics.count_error("queue_full")
            raise QueueFull(self.retry_after_s())
        future: asyncio.Future[JobResult] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(job, future))
        self._dispatch()
        return future

    def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            worker = next((w for w in self._workers.values() if w.ready and w.job is None), None)
            if worker is None:
                break
            pending = self._queue.popleft()
            if pending.future.done():
                continue  # its caller went away while it waited
            try:
                # A job is a few hundred bytes into an idle worker's empty pipe: never blocks.
                worker.conn.send(pending.job)
            except OSError:
                self._queue.appendleft(pending)
                self._lost(worker, "its pipe broke")
                continue
            worker.job = pending
            worker.deadline = loop.call_later(self.job_timeout_s, self._expired, worker, pending)
        self.update_gauges()

    def _on_readable(self, worker: _Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError):
            self._lost(worker, f"exited (code {worker.process.exitcode})")
            return
        kind = message[0]
        if kind == "ready":
            worker.ready, worker.pid = True, message[1]
            log.info("worker %d (pid %d) ready", worker.slot, worker.pid)
            self._warmed = self._warmed or self.ready_count == self.size
        elif kind == "failed":
            log.error("worker %d could not start: %s", worker.slot, message[1])
            self._lost(worker, "could not start")
            return
        else:
            pending, worker.job = worker.job, None
            if worker.deadline is not None:
                worker.deadline.cancel()
                worker.deadline = None
            if pending is not None:
                self._finish(pending, kind, message[1])
        self._dispatch()

    def _finish(self, pending: _Pending, kind: str, payload: Any) -> None:
        if kind == "done":
            result: JobResult = payload
            self.metrics.pieces.inc()
            for stage, seconds in result.timings.items():
                if stage in STAGES:
                    self.metrics.duration.labels(stage=stage).observe(seconds)
            self._job_seconds = 0.8 * self._job_seconds + 0.2 * result.timings["total"]
            if not pending.future.done():
                pending.future.set_result(result)
        elif kind == "bad_request":
            self.metrics.count_error("bad_request")
            self._fail(pending, BadRequest(payload))
        else:
            self.metrics.count_error("internal")
            self._fail(pending, JobFailed(f"The piece could not be made: {payload}"))

    def _expired(self, worker: _Worker, pending: _Pending) -> None:
        if worker.job is not pending:
            return
        log.warning(
            "job %s ran over %g s: killing worker %d",
            pending.job.piece_id,
            self.job_timeout_s,
            worker.slot,
        )
        worker.job = None
        worker.process.kill()
        self.metrics.count_error("timeout")
        self._fail(
            pending,
            JobTimeout(f"The piece took longer than {self.job_timeout_s:g} s and was stopped."),
        )
        self._lost(worker, "killed after its job ran over time")

    def _lost(self, worker: _Worker, reason: str) -> None:
        """`worker` is gone (or must go): fail its job, reap it and start a replacement."""
        if self._workers.get(worker.slot) is not worker:
            return
        log.warning("worker %d (pid %s) %s", worker.slot, worker.pid, reason)
        self._detach(worker)
        worker.conn.close()
        del self._workers[worker.slot]
        if worker.job is not None:
            self.metrics.count_error("worker_crashed")
            self._fail(
                worker.job,
                WorkerCrashed(
                    "The worker making this piece stopped unexpectedly; please try again.",
                    self.retry_after_s(),
                ),
            )
            worker.job = None
        loop = asyncio.get_running_loop()
        reaping = loop.run_in_executor(self._executor, reap, worker.process)
        self._reaps.add(reaping)
        reaping.add_done_callback(self._reaps.discard)
        if not self._stopped:
            # A worker that never got warm waits a moment, so a broken set-up cannot spin.
            delay = 0.0 if worker.pid is not None else _RESPAWN_DELAY_S
            respawn = loop.create_task(self._respawn(worker.slot, delay))
            self._respawns.add(respawn)
            respawn.add_done_callback(self._respawns.discard)
        self.update_gauges()
        self._dispatch()

    async def _respawn(self, slot: int, delay: float) -> None:
        await asyncio.sleep(delay)
        if not self._stopped:
            await self._spawn(slot)

    async def _spawn(self, slot: int) -> None:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_worker_main,
            args=(child_end, str(self._soundfont)),
            name=f"tunesmith-worker-{slot}",
            daemon=True,
        )
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, process.start)
        child_end.close()  # so that the worker's death reads as EOF here
        if self._stopped:
            process.kill()
            parent_end.close()
            await loop.run_in_executor(self._executor, reap, process)
            return
        worker = _Worker(slot, process, parent_end)
        self._workers[slot] = worker
        loop.add_reader(parent_end.fileno(), self._on_readable, worker)

    def _detach(self, worker: _Worker) -> None:
        if worker.deadline is not None:
            worker.deadline.cancel()
            worker.deadline = None
        with contextlib.suppress(OSError, ValueError):
            asyncio.get_running_loop().remove_reader(worker.conn.fileno())
        worker.ready = False

    def _fail(self, pending: _Pending, error: BaseException) -> None:
        if not pending.future.done():
            pending.future.set_exception(error)

    def update_gauges(self) -> None:
        self.metrics.queue_depth.set(len(self._queue))
        self.metrics.in_flight.set(self.in_flight)
        self.metrics.workers_ready.set(self.ready_count)
        if self._queue or self.in_flight:
            self._idle.clear()
        else:
            self._idle.set()
