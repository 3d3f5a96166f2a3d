"""`AsyncLedger`: the ledger behind an async API, on one owner thread.

The SQLite connection is created on that thread and used only there; every method hands the
call to the thread and awaits it, so the event loop never blocks on SQLite or fsync. Calls run
one at a time in the order they were awaited. Cancelling an await does not cancel a call the
thread has already started (a write either commits or rolls back whole).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlite_utils import Migrations

from bot.ledger.store import Ledger, SweepReport

P = ParamSpec("P")
T = TypeVar("T")


def _on_owner_thread(
    method: Callable[Concatenate[Ledger, P], T],
) -> Callable[Concatenate[AsyncLedger, P], Coroutine[Any, Any, T]]:
    """An async twin of a `Ledger` method that runs it on the owner thread."""

    @functools.wraps(method)
    async def call(self: AsyncLedger, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.run(lambda ledger: method(ledger, *args, **kwargs))

    return call


class AsyncLedger:
    """The `Ledger` API, every method awaitable. Open with `async with AsyncLedger.open(path)`."""

    def __init__(self, ledger: Ledger, executor: ThreadPoolExecutor) -> None:
        self._ledger = ledger
        self._executor = executor

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        db_path: Path,
        media_dir: Path | None = None,
        *,
        extra_migrations: Sequence[Migrations] = (),
    ) -> AsyncIterator[AsyncLedger]:
        """Start the owner thread, open the ledger on it; on exit close it and join the thread."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
        loop = asyncio.get_running_loop()
        try:
            ledger = await loop.run_in_executor(
                executor,
                functools.partial(
                    Ledger.open, db_path, media_dir, extra_migrations=extra_migrations
                ),
            )
            try:
                yield cls(ledger, executor)
            finally:
                await loop.run_in_executor(executor, ledger.close)
        finally:
            # Joining waits only for the (now idle) thread to exit; do it off the loop anyway.
            await asyncio.to_thread(executor.shutdown, True)

    async def run(self, work: Callable[[Ledger], T]) -> T:
        """Run `work(ledger)` on the owner thread: for queries the methods below do not cover
        (index lookups by other modules). `work` must not keep the ledger for later."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, work, self._ledger)

    @property
    def last_sweep(self) -> SweepReport:
        """What the media sweep at open found (a frozen value: safe to read from any thread)."""
        return self._ledger.last_sweep

    new_id = _on_owner_thread(Ledger.new_id)
    record_creation = _on_owner_thread(Ledger.record_creation)
    licence_for = _on_owner_thread(Ledger.licence_for)
    rename = _on_owner_thread(Ledger.rename)
    relicense = _on_owner_thread(Ledger.relicense)
    offer_transfer = _on_owner_thread(Ledger.offer_transfer)
    accept_transfer = _on_owner_thread(Ledger.accept_transfer)
    decline_transfer = _on_owner_thread(Ledger.decline_transfer)
    withdraw_transfer = _on_owner_thread(Ledger.withdraw_transfer)
    delete = _on_owner_thread(Ledger.delete)
    like = _on_owner_thread(Ledger.like)
    unlike = _on_owner_thread(Ledger.unlike)
    toggle_like = _on_owner_thread(Ledger.toggle_like)
    record_play = _on_owner_thread(Ledger.record_play)
    creation = _on_owner_thread(Ledger.creation)
    creations_of = _on_owner_thread(Ledger.creations_of)
    find_by_sha256 = _on_owner_thread(Ledger.find_by_sha256)
    likes = _on_owner_thread(Ledger.likes)
    likes_it = _on_owner_thread(Ledger.likes_it)
    plays = _on_owner_thread(Ledger.plays)
    lineage = _on_owner_thread(Ledger.lineage)
    events = _on_owner_thread(Ledger.events)
    head = _on_owner_thread(Ledger.head)
    verify = _on_owner_thread(Ledger.verify)
    path_for = _on_owner_thread(Ledger.path_for)
    open_media = _on_owner_thread(Ledger.open_media)
    sweep = _on_owner_thread(Ledger.sweep)
    applied_migrations = _on_owner_thread(Ledger.applied_migrations)
