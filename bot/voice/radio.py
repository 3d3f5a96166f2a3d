"""An endless radio station: it composes the next piece while the current one plays.

The station keeps exactly one piece ahead. The player asks for more (`want_more`) when a radio
piece starts and none is waiting behind it; the piece is composed through the same studio,
fair queue and ledger as any other, then handed to the player (`deliver`), which plays it the
moment the current one ends. A busy generator is waited out; errors are reported and retried a
few times, then the station goes off the air with a message saying why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from bot.fairness import QueueRefused
from bot.ledger import Owner

if TYPE_CHECKING:
    from bot.voice.playlist import Track

log = logging.getLogger(__name__)

MakePiece = Callable[[], Awaitable["Track"]]
Deliver = Callable[["Track"], Awaitable[None]]
# (what went wrong, whether the station gave up)
Trouble = Callable[[BaseException, bool], Awaitable[None]]

RETRY_DELAYS_S = (2.0, 5.0, 15.0)  # after the 1st, 2nd, 3rd failure in a row; the 4th ends it
BUSY_WAIT_S = 3.0  # when the queue is full and says nothing about when to come back


class Radio:
    """One station: the request every piece is composed from, and who owns the pieces."""

    def __init__(
        self,
        text: str,
        owner: Owner,
        *,
        make: MakePiece,
        deliver: Deliver,
        trouble: Trouble,
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
    ) -> None:
        self.text = text
        self.owner = owner
        self.made = 0  # pieces delivered
        self.stopped = False
        self._make = make
        self._deliver = deliver
        self._trouble = trouble
        self._retry_delays_s = tuple(retry_delays_s)
        self._task: asyncio.Task[None] | None = None

    @property
    def composing(self) -> bool:
        return self._task is not None and not self._task.done()

    def want_more(self) -> None:
        """Compose the next piece, unless one is being composed already."""
        if self.stopped or self.composing:
            return
        self._task = asyncio.get_running_loop().create_task(self._next_piece(), name="radio")

    def stop(self) -> None:
        """Off the air: a piece being composed is abandoned (a made piece stays in the ledger)."""
        self.stopped = True
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def wait_idle(self) -> None:
        """Until no piece is being composed (for tests and shutdown)."""
        if self._task is not None:
            await asyncio.wait([self._task])

    async def _next_piece(self) -> None:
        failures = 0
        while not self.stopped:
            try:
                track = await self._make()
                if self.stopped:
                    return  # made meanwhile: it stays in the ledger, unplayed
                await self._deliver(track)
                self.made += 1
                return
            except QueueRefused as refused:
                log.info("radio %r waits for the queue: %s", self.text, refused)
                await asyncio.sleep(refused.retry_after_s or BUSY_WAIT_S)
                continue
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                giving_up = failures > len(self._retry_delays_s)
                if giving_up:
                    self.stopped = True
                await self._trouble(error, giving_up)
                if giving_up:
                    return
                await asyncio.sleep(self._retry_delays_s[failures - 1])
