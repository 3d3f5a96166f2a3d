"""ComposeQueue: admission limits, one FIFO line, exactly `running` slots, release on every exit.

Time is a fake clock; "later" in the loop means yielding to it a fixed number of times (`settle`),
never sleeping. `asyncio.wait_for` appears only as a guard against hangs.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from bot.fairness import (
    ComposeQueue,
    Limits,
    QueueRefused,
    Refusal,
    Ticket,
    TicketCancelled,
)
from generators.errors import TunesmithError

HANG_GUARD_S = 10.0  # only ever reached if something hangs; no test waits on real time


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def settle() -> None:
    """Let every task that can run do so until it blocks again.

    The loop is deterministic and the longest hand-off here (release, wake, report, enter) needs
    3 passes; 10 leave room.
    """
    for _ in range(10):
        await asyncio.sleep(0)


class Boom(Exception):
    pass


@dataclass
class BodyCount:
    """How many jobs are inside `turn()` now, and the most there ever were at once."""

    now: int = 0
    most: int = 0


class Job:
    """One job taking its ticket's turn: records positions, runs until told to finish or fail."""

    def __init__(
        self,
        ticket: Ticket,
        started: list[str] | None = None,
        bodies: BodyCount | None = None,
    ) -> None:
        self.ticket = ticket
        self.positions: list[int] = []
        self.in_body = False
        self.finish = asyncio.Event()
        self.fail = False
        self.started = started  # shared log of bodies entered, in order
        self.bodies = bodies or BodyCount()
        self.then_cancel: Job | None = None  # a job whose task to cancel right after our release
        self.task: asyncio.Task[None] | None = None

    async def _report(self, position: int) -> None:
        self.positions.append(position)

    async def _run(self) -> None:
        async with self.ticket.turn(self._report):
            self.in_body = True
            self.bodies.now += 1
            self.bodies.most = max(self.bodies.most, self.bodies.now)
            if self.started is not None:
                self.started.append(self.ticket.user)
            try:
                await self.finish.wait()
                if self.fail:
                    raise Boom(self.ticket.user)
            finally:
                self.in_body = False
                self.bodies.now -= 1
        if self.then_cancel is not None and self.then_cancel.task is not None:
            # Same step as our release: the head of the line may just have been handed the
            # slot and not resumed yet.
            self.then_cancel.task.cancel()

    def start(self) -> Job:
        self.task = asyncio.create_task(self._run())
        return self

    async def done(self) -> None:
        self.finish.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, HANG_GUARD_S)


def no_cooldown(**changes: int) -> Limits:
    return Limits(**{"cooldown_s": 0.0, **changes})  # type: ignore[arg-type]


# ---- Limits -------------------------------------------------------------------------------------


def test_default_limits_are_valid() -> None:
    limits = Limits()
    assert (limits.running, limits.waiting, limits.per_user, limits.per_guild) == (2, 50, 1, 4)
    assert limits.cooldown_s == 8.0


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"running": 0}, "running must be a whole number, at least 1"),
        ({"waiting": -1}, "waiting must be a whole number, at least 0"),
        ({"per_user": 0}, "per_user must be a whole number, at least 1"),
        ({"per_guild": 0}, "per_guild must be a whole number, at least 1"),
        ({"running": 1.5}, "running must be a whole number"),
        ({"running": True}, "running must be a whole number"),
        ({"cooldown_s": -1.0}, "cooldown_s must be a number of seconds, 0 or more"),
        ({"cooldown_s": float("nan")}, "cooldown_s must be a number of seconds, 0 or more"),
    ],
)
def test_bad_limits_say_what_would_be_right(changes: dict[str, object], says: str) -> None:
    with pytest.raises(ValueError, match=says) as caught:
        Limits(**changes)  # type: ignore[arg-type]
    assert repr(next(iter(changes.values()))) in str(caught.value)


# ---- admission ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_per_user_limit_refuses_until_the_piece_is_done() -> None:
    queue = ComposeQueue(no_cooldown())
    first = queue.admit("ana", "g1")
    with pytest.raises(QueueRefused) as caught:
        queue.admit("ana", "g2")  # another server does not help
    assert str(caught.value) == "You already have a piece being made; wait for it to finish."
    assert caught.value.reason is Refusal.USER_BUSY
    assert caught.value.retry_after_s is None
    assert isinstance(caught.value, TunesmithError)

    queue.admit("ben", "g1")  # others are not affected
    async with first.turn():
        pass
    queue.admit("ana", "g1")
    assert queue.user_jobs("ana") == 1


def test_per_user_limit_above_one_says_how_many() -> None:
    queue = ComposeQueue(no_cooldown(per_user=2))
    queue.admit("ana", None)
    queue.admit("ana", None)
    with pytest.raises(QueueRefused, match=r"^You already have 2 pieces being made; wait for one"):
        queue.admit("ana", None)


def test_per_guild_limit_counts_running_and_waiting_and_spares_other_places() -> None:
    queue = ComposeQueue(no_cooldown(running=1))
    for user in ("ana", "ben", "chloe", "dev"):
        queue.admit(user, "g1")
    assert (queue.running, queue.waiting, queue.guild_jobs("g1")) == (1, 3, 4)
    with pytest.raises(QueueRefused) as caught:
        queue.admit("eve", "g1")
    assert str(caught.value) == (
        "This server already has 4 pieces in the queue; try again when one is done."
    )
    assert caught.value.reason is Refusal.GUILD_BUSY
    assert caught.value.retry_after_s is None
    queue.admit("eve", "g2")
    queue.admit("fay", None)  # a DM has no guild limit
    assert queue.guild_jobs("g1") == 4


def test_full_queue_refuses_beyond_running_plus_waiting() -> None:
    queue = ComposeQueue(no_cooldown(per_guild=100))
    tickets = [queue.admit(f"user{n}", "g1") for n in range(52)]
    assert (queue.running, queue.waiting) == (2, 50)
    assert [t.position for t in tickets[:3]] == [0, 0, 1]
    assert tickets[-1].position == 50
    with pytest.raises(QueueRefused) as caught:
        queue.admit("late", "g2")
    assert str(caught.value) == "The queue is full (50 waiting); try again in a minute."
    assert caught.value.reason is Refusal.QUEUE_FULL
    assert caught.value.retry_after_s is None

    assert tickets[10].cancel()
    assert queue.admit("late", "g2").position == 50


def test_no_waiting_room_refuses_when_every_slot_is_busy() -> None:
    queue = ComposeQueue(no_cooldown(running=1, waiting=0))
    queue.admit("ana", None)
    with pytest.raises(QueueRefused, match=r"^The music generator is busy; try again in a minute"):
        queue.admit("ben", None)


@pytest.mark.asyncio
async def test_cooldown_counts_from_admission_and_a_refusal_does_not_restart_it() -> None:
    clock = FakeClock()
    queue = ComposeQueue(Limits(cooldown_s=8.0), clock)
    ticket = queue.admit("ana", "g1")
    clock.advance(1.0)
    async with ticket.turn():
        pass
    clock.advance(1.0)
    with pytest.raises(QueueRefused) as caught:
        queue.admit("ana", "g1")
    assert str(caught.value) == "Slow down a little: you can compose again in 6 s."
    assert caught.value.reason is Refusal.COOLDOWN
    assert caught.value.retry_after_s == pytest.approx(6.0)

    clock.advance(5.5)  # refused again at 7.5 s: half a second left, said as 1 s
    with pytest.raises(QueueRefused, match="again in 1 s") as caught:
        queue.admit("ana", "g1")
    assert caught.value.retry_after_s == pytest.approx(0.5)
    queue.admit("ben", "g1")  # the cooldown is per user

    clock.advance(0.5)  # 8 s after the admission, though only 1 s after the last refusal
    queue.admit("ana", "g1")


def test_a_busy_user_hears_about_the_piece_not_the_cooldown() -> None:
    queue = ComposeQueue(Limits(cooldown_s=8.0), FakeClock())
    queue.admit("ana", None)
    with pytest.raises(QueueRefused) as caught:
        queue.admit("ana", None)
    assert caught.value.reason is Refusal.USER_BUSY


def test_work_paced_elsewhere_skips_the_cooldown_but_not_the_other_limits() -> None:
    """A radio composes one piece per piece played: no cooldown, but one at a time, and the
    server's and the generator's limits hold."""
    clock = FakeClock()
    queue = ComposeQueue(Limits(cooldown_s=8.0, per_guild=2), clock)
    queue.admit("radio:g1", "g1", cooldown=False).cancel()
    clock.advance(0.1)
    first = queue.admit("radio:g1", "g1", cooldown=False)
    with pytest.raises(QueueRefused) as caught:
        queue.admit("radio:g1", "g1", cooldown=False)
    assert caught.value.reason is Refusal.USER_BUSY
    queue.admit("ana", "g1")
    with pytest.raises(QueueRefused) as caught:
        queue.admit("ben", "g1", cooldown=False)
    assert caught.value.reason is Refusal.GUILD_BUSY
    first.cancel()
    # An admission without the cooldown does not start one either.
    assert "radio:g1" not in queue._admitted_at


def test_cooldown_table_forgets_users_once_their_cooldown_is_over() -> None:
    clock = FakeClock()
    queue = ComposeQueue(Limits(cooldown_s=8.0, waiting=1000, per_guild=1000), clock)
    for n in range(100):
        queue.admit(f"user{n}", None).cancel()
        clock.advance(1.0)
    # Only the last 8 admissions can still refuse anyone; older ones must not pile up.
    assert len(queue._admitted_at) == 8
    with pytest.raises(QueueRefused, match="again in 7 s"):
        queue.admit("user99", None)
    with pytest.raises(QueueRefused, match="again in 1 s"):
        queue.admit("user93", None)
    queue.admit("user92", None)


# ---- turns --------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_positions_are_reported_in_order_down_to_zero() -> None:
    queue = ComposeQueue(no_cooldown(running=1))
    jobs = [Job(queue.admit(user, None)).start() for user in ("ana", "ben", "chloe", "dev")]
    await settle()
    assert [job.positions for job in jobs] == [[0], [1], [2], [3]]
    assert [job.in_body for job in jobs] == [True, False, False, False]

    for finished in range(4):
        await jobs[finished].done()
        await settle()
    assert [job.positions for job in jobs] == [[0], [1, 0], [2, 1, 0], [3, 2, 1, 0]]
    assert (queue.running, queue.waiting) == (0, 0)


@pytest.mark.asyncio
async def test_position_changes_during_a_slow_report_are_folded_into_the_next() -> None:
    queue = ComposeQueue(no_cooldown(running=1))
    holders = [queue.admit(user, None) for user in ("ana", "ben")]
    reported: list[int] = []
    report_may_return = asyncio.Event()

    async def slow_report(position: int) -> None:
        reported.append(position)
        await report_may_return.wait()

    async def take_turn() -> None:
        async with queue.admit("chloe", None).turn(slow_report):
            pass

    task = asyncio.create_task(take_turn())
    await settle()
    assert reported == [2]
    holders[1].cancel()  # chloe moves to 1 ...
    holders[0].cancel()  # ... and gets the slot, all while her report of 2 is still running
    report_may_return.set()
    await asyncio.wait_for(task, HANG_GUARD_S)
    assert reported == [2, 0]


@pytest.mark.asyncio
async def test_order_is_admission_order_across_users_not_who_awaits_first() -> None:
    queue = ComposeQueue(no_cooldown(running=1))
    started: list[str] = []
    users = ["ana", "ben", "chloe", "dev", "eve", "fay"]
    tickets = [queue.admit(user, f"g{n % 2}") for n, user in enumerate(users)]
    jobs = [Job(ticket, started) for ticket in tickets]
    for job in reversed(jobs):  # the last admitted is the first to ask for its turn
        job.start()
    for job in jobs:
        await settle()
        await job.done()
    assert started == users


@pytest.mark.asyncio
async def test_exactly_running_jobs_run_at_once() -> None:
    limits = no_cooldown(running=3, per_guild=100)
    queue = ComposeQueue(limits)
    rng = random.Random(7)
    in_body = 0
    most_in_body = 0
    finished = 0

    async def job(ticket: Ticket) -> None:
        nonlocal in_body, most_in_body, finished
        async with ticket.turn():
            in_body += 1
            most_in_body = max(most_in_body, in_body)
            assert in_body <= queue.running <= limits.running
            for _ in range(rng.randrange(1, 6)):
                await asyncio.sleep(0)
            in_body -= 1
        finished += 1

    tickets = [queue.admit(f"user{n}", f"g{n % 3}") for n in range(30)]
    await asyncio.wait_for(asyncio.gather(*(job(t) for t in tickets)), HANG_GUARD_S)
    assert most_in_body == limits.running
    assert finished == 30
    assert (queue.running, queue.waiting) == (0, 0)


@pytest.mark.asyncio
async def test_cancelling_a_waiter_leaves_no_hole() -> None:
    queue = ComposeQueue(no_cooldown(running=1))
    holder, ana, ben, chloe = (
        Job(queue.admit(u, "g1")).start() for u in ("holder", "ana", "ben", "chloe")
    )
    await settle()
    assert ana.task is not None
    ana.task.cancel()
    await settle()
    assert ana.task.cancelled()
    assert (ben.positions, chloe.positions) == ([2, 1], [3, 2])
    assert (queue.running, queue.waiting, queue.guild_jobs("g1")) == (1, 2, 3)
    assert queue.user_jobs("ana") == 0

    await holder.done()
    await settle()
    assert ben.in_body and ben.positions[-1] == 0
    assert chloe.positions == [3, 2, 1]


@pytest.mark.asyncio
async def test_cancelling_a_running_job_frees_its_slot() -> None:
    queue = ComposeQueue(no_cooldown(running=1))
    holder, ana = (Job(queue.admit(u, None)).start() for u in ("holder", "ana"))
    await settle()
    assert holder.in_body and holder.task is not None
    holder.task.cancel()
    await settle()
    assert holder.task.cancelled()
    assert ana.in_body
    assert ana.positions == [1, 0]
    assert (queue.running, queue.waiting, queue.user_jobs("holder")) == (1, 0, 0)


@pytest.mark.asyncio
async def test_a_waiter_cancelled_after_being_granted_but_before_resuming_passes_the_slot_on() -> (
    None
):
    queue = ComposeQueue(no_cooldown(running=1))
    holder_ticket = queue.admit("holder", None)
    ana, ben = (Job(queue.admit(u, None)).start() for u in ("ana", "ben"))
    await settle()
    release = asyncio.Event()
    ana_had_the_slot = False

    async def holder() -> None:
        nonlocal ana_had_the_slot
        async with holder_ticket.turn():
            await release.wait()
        # Same step as the release: ana has been handed the slot but her task has not run yet.
        ana_had_the_slot = ana.ticket.position == 0 and not ana.in_body
        assert ana.task is not None
        ana.task.cancel()

    holder_task = asyncio.create_task(holder())
    await settle()
    release.set()
    await asyncio.wait_for(holder_task, HANG_GUARD_S)
    await settle()
    assert ana_had_the_slot
    assert ana.task is not None and ana.task.cancelled()
    assert ben.in_body
    assert (queue.running, queue.waiting) == (1, 0)
    await ben.done()
    assert (queue.running, queue.waiting) == (0, 0)


@pytest.mark.asyncio
async def test_an_exception_in_the_job_releases_its_slot_and_propagates() -> None:
    queue = ComposeQueue(no_cooldown(running=1))
    failing, ana = (Job(queue.admit(u, "g1")).start() for u in ("failing", "ana"))
    await settle()
    failing.fail = True
    with pytest.raises(Boom):
        await failing.done()
    await settle()
    assert ana.in_body
    await ana.done()
    assert (queue.running, queue.waiting, queue.guild_jobs("g1")) == (0, 0, 0)


@pytest.mark.asyncio
async def test_an_exception_while_reporting_the_position_releases_the_place() -> None:
    queue = ComposeQueue(no_cooldown(running=1))
    holder = Job(queue.admit("holder", None)).start()
    behind = Job(queue.admit("behind", None)).start()

    async def broken_report(position: int) -> None:
        raise Boom("discord said no")

    with pytest.raises(Boom):
        async with queue.admit("ana", None).turn(broken_report):
            pytest.fail("the body must not run")
    assert (queue.running, queue.waiting, queue.user_jobs("ana")) == (1, 1, 0)
    await holder.done()
    await behind.done()


@pytest.mark.asyncio
async def test_cancel_gives_up_a_ticket_that_was_never_entered() -> None:
    queue = ComposeQueue(no_cooldown(running=1))
    granted = queue.admit("ana", "g1")
    waiting = queue.admit("ben", "g1")
    last = queue.admit("chloe", "g1")
    assert (granted.position, waiting.position, last.position) == (0, 1, 2)

    assert waiting.cancel()
    assert not waiting.cancel()  # idempotent
    assert waiting.done
    assert last.position == 1
    assert granted.cancel()
    assert last.position == 0  # the freed slot went to the head of the line at once
    assert (queue.running, queue.waiting, queue.guild_jobs("g1")) == (1, 0, 1)
    with pytest.raises(TicketCancelled):
        async with granted.turn():
            pytest.fail("a cancelled ticket has no turn")
    async with last.turn():
        assert not last.cancel()  # the job runs: only leaving turn() frees the slot
        assert queue.running == 1
    assert (queue.running, queue.guild_jobs("g1")) == (0, 0)


@pytest.mark.asyncio
async def test_cancel_takes_a_waiting_turn_out_of_line() -> None:
    queue = ComposeQueue(no_cooldown(running=1))
    holder, ana, ben = (Job(queue.admit(u, None)).start() for u in ("holder", "ana", "ben"))
    await settle()
    assert ana.ticket.cancel()
    await settle()
    assert ana.task is not None and ana.task.done()
    with pytest.raises(TicketCancelled, match="taken out of the queue"):
        ana.task.result()
    assert ben.positions == [2, 1]
    await holder.done()
    await ben.done()
    assert (queue.running, queue.waiting) == (0, 0)


@pytest.mark.asyncio
async def test_a_turn_is_taken_once() -> None:
    queue = ComposeQueue(no_cooldown())
    ticket = queue.admit("ana", None)
    async with ticket.turn():
        pass
    with pytest.raises(RuntimeError, match="only once"):
        async with ticket.turn():
            pass
    assert queue.running == 0


@pytest.mark.asyncio
async def test_counts_return_to_zero_and_the_tables_empty() -> None:
    queue = ComposeQueue(no_cooldown(running=2, per_user=2))
    jobs = [
        Job(queue.admit(user, guild)).start()
        for user, guild in [("ana", "g1"), ("ana", "g2"), ("ben", "g1"), ("ben", None)]
    ]
    await settle()
    assert (queue.user_jobs("ana"), queue.user_jobs("ben")) == (2, 2)
    assert (queue.guild_jobs("g1"), queue.guild_jobs("g2")) == (2, 1)
    for job in jobs:
        await job.done()
    assert (queue.user_jobs("ana"), queue.user_jobs("ben")) == (0, 0)
    assert (queue.guild_jobs("g1"), queue.guild_jobs("g2")) == (0, 0)
    # Reading a count must not leave an entry behind, or the tables would grow with every user.
    assert not queue._user_jobs and not queue._guild_jobs


# ---- random operations against a model ----------------------------------------------------------

USERS = ("ana", "ben", "chloe", "dev", "eve", "fay")
GUILDS = (None, "g1", "g2")


@dataclass(eq=False)
class ModelJob:
    job: Job
    user: str
    guild: str | None
    holds: str = "line"  # the model's view: "line", "slot" or "done"

    @property
    def entered(self) -> bool:
        return self.job.task is not None

    @property
    def live(self) -> bool:
        return self.holds != "done"


class QueueMachine(RuleBasedStateMachine):
    """Random admits, turns, finishes, failures and cancellations, checked against a model queue.

    Each rule runs on one event loop kept for the whole example and lets it settle afterwards.
    """

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.clock = FakeClock()
        self.limits = Limits()
        self.queue = ComposeQueue(self.limits, self.clock)
        self.jobs: list[ModelJob] = []
        self.last_admitted: dict[str, float] = {}
        self.bodies = BodyCount()

    @initialize(
        limits=st.builds(
            Limits,
            running=st.integers(1, 3),
            waiting=st.integers(0, 4),
            per_user=st.integers(1, 2),
            per_guild=st.integers(1, 3),
            cooldown_s=st.sampled_from([0.0, 5.0]),
        )
    )
    def choose_limits(self, limits: Limits) -> None:
        self.limits = limits
        self.queue = ComposeQueue(limits, self.clock)

    # -- the model

    def model_line(self) -> list[ModelJob]:
        return [j for j in self.jobs if j.holds == "line"]

    def model_running(self) -> int:
        return sum(j.holds == "slot" for j in self.jobs)

    def model_release(self, released: ModelJob) -> None:
        released.holds = "done"
        for head in self.model_line()[: self.limits.running - self.model_running()]:
            head.holds = "slot"

    def expected_refusal(self, user: str, guild: str | None) -> Refusal | None:
        live = [j for j in self.jobs if j.live]
        if sum(j.user == user for j in live) >= self.limits.per_user:
            return Refusal.USER_BUSY
        if guild is not None and sum(j.guild == guild for j in live) >= self.limits.per_guild:
            return Refusal.GUILD_BUSY
        runs_now = self.model_running() < self.limits.running
        if not runs_now and len(self.model_line()) >= self.limits.waiting:
            return Refusal.QUEUE_FULL
        last = self.last_admitted.get(user)
        if last is not None and self.clock.now - last < self.limits.cooldown_s:
            return Refusal.COOLDOWN
        return None

    def run(self, *jobs_to_start: ModelJob) -> None:
        async def step() -> None:
            for model_job in jobs_to_start:
                model_job.job.start()
            await settle()

        self.runner.run(step())

    def in_body_jobs(self) -> list[ModelJob]:
        return [j for j in self.jobs if j.live and j.job.in_body]

    # -- rules

    # A burst of commands at the same moment, so lines form often enough to matter.
    @rule(
        requests=st.lists(
            st.tuples(st.sampled_from(USERS), st.sampled_from(GUILDS), st.booleans()),
            min_size=1,
            max_size=3,
        )
    )
    def admit(self, requests: list[tuple[str, str | None, bool]]) -> None:
        for user, guild, take_turn in requests:
            expected = self.expected_refusal(user, guild)
            try:
                ticket = self.queue.admit(user, guild)
            except QueueRefused as refused:
                assert refused.reason is expected
                assert (refused.retry_after_s is not None) == (expected is Refusal.COOLDOWN)
                continue
            assert expected is None
            runs_now = self.model_running() < self.limits.running
            job = ModelJob(
                Job(ticket, bodies=self.bodies), user, guild, holds="slot" if runs_now else "line"
            )
            self.jobs.append(job)
            self.last_admitted[user] = self.clock.now
            if take_turn:
                self.run(job)

    @rule(seconds=st.sampled_from([0.5, 2.0, 5.0]))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: any(j.live and not j.entered for j in self.jobs))
    @rule(data=st.data())
    def take_turn(self, data: st.DataObject) -> None:
        job = data.draw(st.sampled_from([j for j in self.jobs if j.live and not j.entered]))
        self.run(job)

    @precondition(lambda self: bool(self.in_body_jobs()))
    @rule(data=st.data(), fail=st.booleans())
    def finish(self, data: st.DataObject, fail: bool) -> None:
        job = data.draw(st.sampled_from(self.in_body_jobs()))
        job.job.fail = fail
        job.job.finish.set()
        self.run()
        assert job.job.task is not None and job.job.task.done()
        if fail:
            assert isinstance(job.job.task.exception(), Boom)
        else:
            assert job.job.task.exception() is None
        self.model_release(job)

    @precondition(lambda self: any(j.live and j.entered for j in self.jobs))
    @rule(data=st.data())
    def cancel_task(self, data: st.DataObject) -> None:
        job = data.draw(st.sampled_from([j for j in self.jobs if j.live and j.entered]))
        assert job.job.task is not None
        job.job.task.cancel()
        self.run()
        assert job.job.task.cancelled()
        self.model_release(job)

    @precondition(lambda self: any(j.live for j in self.jobs))
    @rule(data=st.data())
    def cancel_ticket(self, data: st.DataObject) -> None:
        job = data.draw(st.sampled_from([j for j in self.jobs if j.live]))
        was_in_body = job.job.in_body
        released = job.job.ticket.cancel()
        self.run()
        assert released is not was_in_body
        if released:
            if job.entered:
                assert job.job.task is not None
                assert isinstance(job.job.task.exception(), TicketCancelled)
            self.model_release(job)

    @precondition(
        lambda self: bool(self.in_body_jobs()) and sum(j.live and j.entered for j in self.jobs) >= 2
    )
    @rule(data=st.data())
    def finish_then_cancel_another(self, data: st.DataObject) -> None:
        job = data.draw(st.sampled_from(self.in_body_jobs()))
        victim = data.draw(
            st.sampled_from([j for j in self.jobs if j.live and j.entered and j is not job])
        )
        job.job.then_cancel = victim.job
        job.job.finish.set()
        self.run()
        assert victim.job.task is not None and victim.job.task.cancelled()
        self.model_release(job)
        self.model_release(victim)

    # -- invariants (checked after every step, once the loop has settled)

    @invariant()
    def within_limits(self) -> None:
        queue, limits = self.queue, self.limits
        assert queue.running <= limits.running
        assert queue.waiting <= limits.waiting
        assert self.bodies.most <= limits.running
        assert self.bodies.now <= queue.running
        if queue.waiting:  # nobody waits while a slot is free
            assert queue.running == limits.running
        for user in USERS:
            assert queue.user_jobs(user) <= limits.per_user
        for guild in GUILDS[1:]:
            assert guild is not None
            assert queue.guild_jobs(guild) <= limits.per_guild

    @invariant()
    def agrees_with_the_model(self) -> None:
        queue = self.queue
        assert (queue.running, queue.waiting) == (self.model_running(), len(self.model_line()))
        for place, job in enumerate(self.model_line(), start=1):
            assert job.job.ticket.position == place  # FIFO in admission order, no holes
        live = [j for j in self.jobs if j.live]
        assert Counter(j.user for j in live) == Counter(
            {u: queue.user_jobs(u) for u in USERS if queue.user_jobs(u)}
        )
        assert Counter(j.guild for j in live if j.guild) == Counter(
            {g: queue.guild_jobs(g) for g in GUILDS if g and queue.guild_jobs(g)}
        )
        for job in self.jobs:
            assert job.job.ticket.done is not job.live
            if job.holds == "slot":
                assert job.job.ticket.position == 0
                # An entered ticket holding a slot has started its job by now.
                assert job.job.in_body is job.entered

    @invariant()
    def positions_only_go_down(self) -> None:
        for job in self.jobs:
            positions = job.job.positions
            assert all(a > b for a, b in itertools.pairwise(positions))
            if job.entered and job.live:  # everyone waiting has been told their current place
                assert positions[-1] == job.job.ticket.position

    def teardown(self) -> None:
        try:
            self.runner.run(asyncio.wait_for(self.drain(), HANG_GUARD_S))
            queue = self.queue
            assert (queue.running, queue.waiting) == (0, 0)
            assert not queue._user_jobs and not queue._guild_jobs
            assert all(j.job.ticket.done for j in self.jobs)
        finally:
            self.runner.close()

    async def drain(self) -> None:
        for job in self.jobs:
            if job.live and not job.entered:
                job.job.start()
        # Each round lets at least one job finish if the queue is sound; the loop is
        # deterministic, so running out of rounds means stuck (and shrinks fast, unlike a timeout).
        for _ in range(len(self.jobs) + 1):
            for job in self.jobs:
                job.job.finish.set()
            await settle()
        stuck = [j.job.ticket for j in self.jobs if not j.job.ticket.done]
        assert not stuck, f"the queue did not drain: {stuck}"


QueueMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    # Explaining a failure re-runs it many times over; the shrunk steps say enough here.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)
TestQueueMachine = QueueMachine.TestCase
