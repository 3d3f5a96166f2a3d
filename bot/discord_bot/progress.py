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
    """Throttled progress edits through `edit(text)`, made in the background so the work being
    reported on never waits for Discord; `close()` before the final edit."""

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
        self._last_at: float | None = None
        self._shown: str | None = None
        self._wanted: str | None = None
        self._pump: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self.edits = 0

    async def show(self, text: str) -> None:
        """Show `text` as soon as the last edit is long enough ago (a newer text replaces one
        still waiting). Returns at once."""
        if self._closing.is_set():
            return
        self._wanted = text
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run())

    async def close(self) -> None:
        """Stop showing progress: drop a waiting edit and let one in flight finish, so the
        caller's next edit of the message is the last.

        Nothing is cancelled: cancelling an edit while discord.py holds the route's rate-limit
        lock can leave later requests to the same route waiting.
        """
        self._closing.set()
        if self._pump is not None:
            await self._pump

    async def _run(self) -> None:
        while not self._closing.is_set() and self._wanted != self._shown:
            if self._last_at is not None:
                wait = self._last_at + self._min_interval_s - self._clock()
                if wait > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), wait)
                    continue  # closed meanwhile, or the interval is over: look again
            text = self._wanted
            assert text is not None
            self._last_at = self._clock()
            try:
                await self._edit(text)
            except discord.HTTPException as error:
                # Progress is a courtesy; the piece itself is still coming.
                log.warning("progress edit failed: %s", error)
                return
            self._shown = text
            self.edits += 1
