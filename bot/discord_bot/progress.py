"""Progress shown by editing one message, never faster than Discord's edit limits allow.

Discord allows about five edits of a message per five seconds; a piece passes through four or
five stages in about a second. `StatusLine` keeps only the latest text and edits at most once per
`min_interval_s`, so quick stages are skipped (the person sees where things are, never a stale
stage after a newer one) and the final message is never overwritten by a late progress edit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import discord

log = logging.getLogger(__name__)


class StatusLine:
    """Throttled progress edits through `edit(text)`; `close()` before the final edit."""

    def __init__(
        self,
        edit: Callable[[str], Awaitable[object]],
        *,
        min_interval_s: float = 1.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._edit = edit
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._lock = asyncio.Lock()
        self._last_at: float | None = None
        self._shown: str | None = None
        self._wanted: str | None = None
        self._pending: asyncio.Task[None] | None = None
        self._closed = False
        self._closing = asyncio.Event()
        self.edits = 0

    async def show(self, text: str) -> None:
        """Show `text` now if the last edit was long enough ago, else as soon as it is allowed
        (a newer text replaces one still waiting)."""
        if self._closed:
            return
        self._wanted = text
        wait = self._wait()
        if wait <= 0 and self._pending is None:
            await self._flush()
        elif self._pending is None:
            self._pending = asyncio.create_task(self._later(wait))

    async def close(self) -> None:
        """Stop showing progress: drop a waiting edit and let one in flight finish, so the
        caller's next edit of the message is the last.

        Nothing is cancelled: cancelling an edit while discord.py holds the route's rate-limit
        lock can leave later requests to the same route waiting.
        """
        self._closed = True
        self._closing.set()
        if self._pending is not None:
            await self._pending
        async with self._lock:
            pass

    def _wait(self) -> float:
        if self._last_at is None:
            return 0.0
        return self._last_at + self._min_interval_s - self._clock()

    async def _later(self, wait: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), wait)
        self._pending = None
        await self._flush()  # a no-op once closed

    async def _flush(self) -> None:
        async with self._lock:
            text = self._wanted
            if self._closed or text is None or text == self._shown:
                return
            self._last_at = self._clock()
            try:
                await self._edit(text)
            except discord.HTTPException as error:
                # Progress is a courtesy; the piece itself is still coming.
                log.warning("progress edit failed: %s", error)
                return
            self._shown = text
            self.edits += 1
