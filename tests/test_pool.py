"""The worker pool on its own: real spawned workers with a warm synth, 5 s pieces."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from generators.request import CompositionRequest
from generators.service import ServiceSettings
from generators.service.app import ArtifactStore
from generators.service.pool import (
    Job,
    JobTimeout,
    PoolMetrics,
    QueueFull,
    ShuttingDown,
    WorkerCrashed,
    WorkerPool,
)

REQUEST = CompositionRequest(genre="lofi", duration_s=5.0)


def _pool(soundfont: Path, executor: ThreadPoolExecutor, **changes: float) -> WorkerPool:
    return WorkerPool(
        soundfont=soundfont,
        workers=1,
        pending_limit=int(changes.get("pending_limit", 0)),
        job_timeout_s=changes.get("job_timeout_s", 3.0),
        metrics=PoolMetrics(CollectorRegistry()),
        executor=executor,
    )


async def _until(condition: Callable[[], object], timeout_s: float = 30.0) -> None:
    """Poll `condition` (pool state has no event to wait on from the outside)."""
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool(soundfont: Path) -> AsyncIterator[WorkerPool]:
    executor = ThreadPoolExecutor(2)
    warm = _pool(soundfont, executor)
    await warm.start()
    await warm.wait_ready(60)
    yield warm
    await warm.close(5)
    executor.shutdown()


def _job(tmp_path: Path, name: str, hold_s: float = 0.0) -> Job:
    return Job(name, REQUEST, 3, tmp_path / name, hold_s)


@pytest.mark.slow
@pytest.mark.asyncio(loop_scope="module")
async def test_a_job_makes_every_file(pool: WorkerPool, tmp_path: Path) -> None:
    result = await pool.run(_job(tmp_path, "one"))
    assert set(result.files) == {"mp3", "midi", "png", "score"}
    assert all(path.is_file() for path in result.files.values())
    assert result.timings["total"] >= result.timings["render"] > 0
    assert result.key.endswith(("major", "minor", "dorian", "mixolydian", "lydian", "phrygian"))


@pytest.mark.slow
@pytest.mark.asyncio(loop_scope="module")
async def test_submit_raises_queue_full_at_once(pool: WorkerPool, tmp_path: Path) -> None:
    running = pool.submit(_job(tmp_path, "held", hold_s=0.5))
    with pytest.raises(QueueFull) as full:
        pool.submit(_job(tmp_path, "turned away"))
    assert full.value.retry_after_s >= 1
    await running


@pytest.mark.slow
@pytest.mark.asyncio(loop_scope="module")
async def test_a_job_over_time_is_killed_and_the_worker_replaced(
    pool: WorkerPool, tmp_path: Path
) -> None:
    before = pool.worker_pids()[0]
    clock = time.monotonic()
    with pytest.raises(JobTimeout):
        await pool.run(_job(tmp_path, "hung", hold_s=60))
    assert time.monotonic() - clock < 10
    await pool.wait_ready(30)
    assert pool.worker_pids()[0] != before
    await pool.run(_job(tmp_path, "after"))


@pytest.mark.slow
@pytest.mark.asyncio(loop_scope="module")
async def test_a_dead_worker_fails_its_job_and_is_replaced(
    pool: WorkerPool, tmp_path: Path
) -> None:
    job = pool.submit(_job(tmp_path, "victim", hold_s=20))
    await _until(lambda: pool.busy_pids())
    os.kill(pool.busy_pids()[0], signal.SIGKILL)
    with pytest.raises(WorkerCrashed):
        await job
    await pool.wait_ready(30)
    await pool.run(_job(tmp_path, "after crash"))


@pytest.mark.slow
@pytest.mark.asyncio
async def test_close_waits_for_the_job_in_flight(soundfont: Path, tmp_path: Path) -> None:
    executor = ThreadPoolExecutor(2)
    own = _pool(soundfont, executor)
    await own.start()
    await own.wait_ready(60)
    job = own.submit(_job(tmp_path, "last", hold_s=0.5))
    closing = asyncio.create_task(own.close(10))
    await asyncio.sleep(0.05)
    with pytest.raises(ShuttingDown):
        own.submit(_job(tmp_path, "too late"))
    assert (await job).files["mp3"].is_file()
    await closing
    assert own.ready_count == 0 and not own.worker_pids()
    executor.shutdown()


def test_artifacts_expire_and_are_bounded(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path, ttl_s=60, max_count=2)
    for name in ("a", "b"):
        assert store.add(name, {"mp3": tmp_path / f"{name}.mp3"}) == []
    assert store.add("c", {"mp3": tmp_path / "c.mp3"}) == [tmp_path / "a"]
    assert store.get("a", "mp3") is None
    assert store.get("c", "mp3") == tmp_path / "c.mp3"
    assert store.get("c", "png") is None
    store.ttl_s = 0.0
    time.sleep(0.01)
    assert sorted(store.expired()) == [tmp_path / "b", tmp_path / "c"]


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="workers"):
        ServiceSettings(workers=0)
    assert ServiceSettings(workers=3).pending_limit == 6
    assert ServiceSettings(workers=3, queue_size=0).pending_limit == 0
