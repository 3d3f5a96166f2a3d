"""The fair queue in front of the music generator: who may compose now, and who waits where.

`main` builds one `ComposeQueue` and passes it to every command that sends work to the generator
(compose, variation, remix, radio):

    ticket = queue.admit(user_id, guild_id)          # synchronous; raises QueueRefused
    async with ticket.turn(on_position=show_place):  # waits its turn, then holds a generator slot
        piece = await client.compose(request)

Rules. Admission is checked and reserved in one synchronous call, so two commands arriving
together cannot both pass a limit. An admitted ticket either runs at once (position 0) or joins
one global line, first admitted first served across all users (position n = n-th in line). A slot
that frees goes to the head of the line at once, even before that waiter's task resumes, and the
ticket releases everything it holds whichever way it ends: the body returns or raises, the task is
cancelled while waiting or running (also between being granted a slot and resuming), or a ticket
never entered is cancelled with `Ticket.cancel()`. Whoever was behind moves up.

Used from one event loop; no threads.
"""

from __future__ import annotations

import asyncio
import enum
import math
import time
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from generators.errors import TunesmithError

PositionListener = Callable[[int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of the generator one user, one guild and everyone together may hold."""

    running: int = 2  # jobs sent to the generator at once (its worker count)
    waiting: int = 50  # jobs waiting globally beyond those running; more are refused
    per_user: int = 1  # a user's jobs admitted and not finished (running + waiting)
    per_guild: int = 4  # a guild's jobs admitted and not finished
    cooldown_s: float = 8.0  # minimum time between two admissions of the same user

    def __post_init__(self) -> None:
        _require_count("running", self.running, 1, "the generator's worker count")
        _require_count("waiting", self.waiting, 0, "0 refuses whenever every worker is busy")
        _require_count("per_user", self.per_user, 1, "pieces one person may have in the queue")
        _require_count("per_guild", self.per_guild, 1, "pieces one server may have in the queue")
        cooldown = self.cooldown_s
        if (
            isinstance(cooldown, bool)
            or not isinstance(cooldown, int | float)
            or not math.isfinite(cooldown)
            or cooldown < 0
        ):
            raise ValueError(
                f"cooldown_s must be a number of seconds, 0 or more (0 turns it off), got {cooldown!r}"
            )


def _require_count(name: str, value: object, least: int, meaning: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(
            f"{name} must be a whole number, at least {least} ({meaning}), got {value!r}"
        )


class Refusal(enum.StrEnum):
    """Which limit refused an admission."""

    USER_BUSY = "user_busy"
    GUILD_BUSY = "guild_busy"
    QUEUE_FULL = "queue_full"
    COOLDOWN = "cooldown"


class QueueRefused(TunesmithError):
    """The queue will not take this job now; the message says when to try again.

    `retry_after_s` is the seconds left for a cooldown; None when the answer is "when a piece is
    done" (nobody knows how long that takes).
    """

    def __init__(
        self, message: str, *, reason: Refusal, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after_s = retry_after_s


class TicketCancelled(TunesmithError):
    """The ticket was cancelled (`Ticket.cancel()`) before its job started."""

    def __init__(
        self, message: str = "Your piece was taken out of the queue before it started."
    ) -> None:
        super().__init__(message)


class _State(enum.Enum):
    WAITING = "waiting"  # in line
    GRANTED = "granted"  # holds a slot; its job has not started yet
    RUNNING = "running"  # holds a slot; inside `turn()`'s body
    DONE = "done"  # holds nothing


class ComposeQueue:
    """Admission limits, one FIFO line and `Limits.running` generator slots, for one event loop."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._line: deque[Ticket] = deque()
        self._running = 0
        self._user_jobs: Counter[str] = Counter()
        self._guild_jobs: Counter[str] = Counter()
        # user -> time of their last admission, oldest first, so expired entries come off the front.
        self._admitted_at: OrderedDict[str, float] = OrderedDict()

    @property
    def limits(self) -> Limits:
        return self._limits

    @property
    def waiting(self) -> int:
        """Tickets in line (admitted, not yet holding a slot)."""
        return len(self._line)

    @property
    def running(self) -> int:
        """Tickets holding a generator slot (their job runs or is about to start)."""
        return self._running

    def user_jobs(self, user: str) -> int:
        """The user's tickets admitted and not finished."""
        return self._user_jobs[user]

    def guild_jobs(self, guild: str) -> int:
        """The guild's tickets admitted and not finished."""
        return self._guild_jobs[guild]

    def admit(self, user: str, guild: str | None, *, cooldown: bool = True) -> Ticket:
        """Admit one job for `user` in `guild` (None: a DM or the terminal, no guild limit).

        Checks every limit and reserves the place without awaiting, so concurrent commands cannot
        both pass. Raises `QueueRefused`; a refusal does not restart the user's cooldown.
        `cooldown=False` is for work paced by something else (a radio composes one piece per
        piece played): every other limit still applies.
        """
        limits = self._limits
        now = self._clock()
        self._forget_cooldowns(now)
        # The limits that last "until a piece is done" come before the cooldown: telling someone
        # to come back in 6 s when they would then be refused for another reason helps nobody.
        if self._user_jobs[user] >= limits.per_user:
            raise QueueRefused(_user_busy_message(limits.per_user), reason=Refusal.USER_BUSY)
        if guild is not None and self._guild_jobs[guild] >= limits.per_guild:
            raise QueueRefused(_guild_busy_message(limits.per_guild), reason=Refusal.GUILD_BUSY)
        # While anyone waits every slot is taken (slots go to the line first), so this also
        # means nobody is in line.
        runs_now = self._running < limits.running
        if not runs_now and len(self._line) >= limits.waiting:
            raise QueueRefused(_queue_full_message(limits), reason=Refusal.QUEUE_FULL)
        last = self._admitted_at.get(user) if cooldown else None
        if last is not None and now - last < limits.cooldown_s:
            left = last + limits.cooldown_s - now
            raise QueueRefused(
                f"Slow down a little: you can compose again in {_whole_seconds(left)} s.",
                reason=Refusal.COOLDOWN,
                retry_after_s=left,
            )

        ticket = Ticket(self, user, guild)
        self._user_jobs[user] += 1
        if guild is not None:
            self._guild_jobs[guild] += 1
        if cooldown and limits.cooldown_s > 0:
            self._admitted_at[user] = now
            self._admitted_at.move_to_end(user)
        if runs_now:
            ticket._state = _State.GRANTED
            self._running += 1
        else:
            self._line.append(ticket)
        return ticket

    def _forget_cooldowns(self, now: float) -> None:
        # Keeps the table as small as the admissions of the last `cooldown_s` seconds.
        cooldown = self._limits.cooldown_s
        while self._admitted_at:
            user, admitted = next(iter(self._admitted_at.items()))
            if now - admitted < cooldown:
                break
            del self._admitted_at[user]

    def _position(self, ticket: Ticket) -> int:
        if ticket._state is _State.WAITING:
            return self._line.index(ticket) + 1
        return 0

    def _release(self, ticket: Ticket) -> None:
        """Give back everything `ticket` holds and hand freed slots to the head of the line."""
        if ticket._state is _State.DONE:
            return
        if ticket._state is _State.WAITING:
            moved_from = self._line.index(ticket)
            del self._line[moved_from]
        else:
            self._running -= 1
            moved_from = len(self._line)
        ticket._state = _State.DONE
        ticket._moved.set()  # a turn() still waiting on a cancelled ticket has to find out
        _take_one(self._user_jobs, ticket.user)
        if ticket.guild is not None:
            _take_one(self._guild_jobs, ticket.guild)

        while self._running < self._limits.running and self._line:
            head = self._line.popleft()
            # The slot is the head's from now on, whether or not its task ever resumes: if it is
            # cancelled before it does, its turn() releases a GRANTED ticket and the slot moves on.
            head._state = _State.GRANTED
            self._running += 1
            head._moved.set()
            moved_from = 0
        for behind in list(self._line)[moved_from:]:
            behind._moved.set()

    def __repr__(self) -> str:
        return f"<ComposeQueue running={self._running} waiting={len(self._line)} {self._limits}>"


class Ticket:
    """One admitted job's place: in line, holding a generator slot, or done.

    Made by `ComposeQueue.admit`. Take its turn once with `turn()`, or give up a ticket that will
    not be used with `cancel()`; a ticket that does neither keeps its place (and maybe a slot).
    """

    __slots__ = ("_entered", "_moved", "_queue", "_state", "guild", "user")

    def __init__(self, queue: ComposeQueue, user: str, guild: str | None) -> None:
        self._queue = queue
        self.user = user
        self.guild = guild
        self._state = _State.WAITING
        self._entered = False
        # Set whenever this ticket's position or state changes; its turn() clears it and waits.
        self._moved = asyncio.Event()

    @property
    def position(self) -> int:
        """0 = holding a slot (running now) or done; n >= 1 = n-th in line."""
        return self._queue._position(self)

    @property
    def done(self) -> bool:
        """True once the ticket has released its place (finished or cancelled)."""
        return self._state is _State.DONE

    @asynccontextmanager
    async def turn(self, on_position: PositionListener | None = None) -> AsyncIterator[None]:
        """Wait for this ticket's slot, then hold it for the body; release it however we leave.

        `on_position(p)` is awaited first with the current position, then whenever it changes
        (changes during a call are folded into the next one, so positions only go down), and last
        with 0 just before the body runs. A slot granted meanwhile stays reserved but idle while
        the call runs, so keep it quick. If it raises, that exception leaves `turn()` and the
        ticket is released. Raises `TicketCancelled` if `cancel()` took the ticket out first.
        """
        if self._entered:
            raise RuntimeError("a ticket's turn can be taken only once; admit a new ticket")
        self._entered = True
        try:
            reported: int | None = None
            while True:
                if self._state is _State.DONE:
                    raise TicketCancelled()
                position = self.position
                if position != reported:
                    reported = position
                    if on_position is not None:
                        await on_position(position)
                    continue  # the position may have moved while we were reporting it
                if position == 0:
                    break
                self._moved.clear()
                await self._moved.wait()
            self._state = _State.RUNNING
            yield
        finally:
            self._queue._release(self)

    def cancel(self) -> bool:
        """Give up this ticket if its job has not started; True if that released it.

        Works on a ticket never entered and on one whose `turn()` is still waiting (that
        `turn()` then raises `TicketCancelled`). Once the body runs, only leaving `turn()` (e.g.
        cancelling its task) frees the slot, and this returns False. Idempotent.
        """
        if self._state in (_State.DONE, _State.RUNNING):
            return False
        self._queue._release(self)
        return True

    def __repr__(self) -> str:
        return f"<Ticket user={self.user!r} guild={self.guild!r} {self._state.value}>"


def _take_one(counts: Counter[str], key: str) -> None:
    counts[key] -= 1
    if counts[key] <= 0:
        del counts[key]  # so the table holds only people and servers with pieces in the queue


def _whole_seconds(seconds: float) -> int:
    # Rounded up, so "again in 6 s" is never too early; rounded to ms first so 6.0000001 says 6.
    return max(1, math.ceil(round(seconds, 3)))


def _user_busy_message(per_user: int) -> str:
    if per_user == 1:
        return "You already have a piece being made; wait for it to finish."
    return f"You already have {per_user} pieces being made; wait for one to finish."


def _guild_busy_message(per_guild: int) -> str:
    if per_guild == 1:
        return "This server already has a piece in the queue; try again when it is done."
    return f"This server already has {per_guild} pieces in the queue; try again when one is done."


def _queue_full_message(limits: Limits) -> str:
    if limits.waiting == 0:
        return "The music generator is busy; try again in a minute."
    return f"The queue is full ({limits.waiting} waiting); try again in a minute."
