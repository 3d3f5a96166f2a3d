"""The radio station's own logic: one piece at a time, a busy queue waited out, errors retried
and then given up with a message, and stopping."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.fairness import QueueRefused, Refusal
from bot.ledger import Owner
from bot.voice.playlist import Track
from bot.voice.radio import Radio
from generators.errors import TunesmithError

ALICE = Owner("discord", "1", "alice")


class Studio:
    """Makes pieces on demand, failing first with whatever `failures` holds."""

    def __init__(self, failures: list[BaseException] | None = None) -> None:
        self.failures = list(failures or [])
        self.calls = 0
        self.delivered: list[Track] = []
        self.troubles: list[tuple[str, bool]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def make(self) -> Track:
        self.calls += 1
        await self.release.wait()
        if self.failures:
            raise self.failures.pop(0)
        return Track(f"p{self.calls}", "Piece", 5.0, Path("/media/p.mp3"), ALICE, radio=True)

    async def deliver(self, track: Track) -> None:
        self.delivered.append(track)

    async def trouble(self, error: BaseException, giving_up: bool) -> None:
        self.troubles.append((str(error), giving_up))


def station(studio: Studio) -> Radio:
    return Radio(
        "lofi",
        ALICE,
        make=studio.make,
        deliver=studio.deliver,
        trouble=studio.trouble,
        retry_delays_s=(0.01, 0.01, 0.01),
    )


@pytest.mark.asyncio
async def test_one_piece_at_a_time() -> None:
    studio = Studio()
    studio.release.clear()
    radio = station(studio)
    radio.want_more()
    radio.want_more()  # already composing: no second piece
    await asyncio.sleep(0)
    assert radio.composing and studio.calls == 1
    studio.release.set()
    await radio.wait_idle()
    assert [t.piece_id for t in studio.delivered] == ["p1"] and radio.made == 1
    radio.want_more()
    await radio.wait_idle()
    assert [t.piece_id for t in studio.delivered] == ["p1", "p2"]


@pytest.mark.asyncio
async def test_a_full_queue_is_waited_out_without_troubling_anyone() -> None:
    busy = QueueRefused("busy", reason=Refusal.GUILD_BUSY, retry_after_s=0.01)
    studio = Studio([busy, busy])
    radio = station(studio)
    radio.want_more()
    await radio.wait_idle()
    assert studio.calls == 3 and len(studio.delivered) == 1 and studio.troubles == []


@pytest.mark.asyncio
async def test_errors_are_retried_then_the_radio_goes_off_the_air_saying_why() -> None:
    down = TunesmithError("The music generator isn't answering.")
    studio = Studio([down, down])
    radio = station(studio)
    radio.want_more()
    await radio.wait_idle()
    assert studio.troubles == [(str(down), False)] * 2 and len(studio.delivered) == 1

    studio = Studio([down] * 10)
    radio = station(studio)
    radio.want_more()
    await radio.wait_idle()
    assert studio.troubles == [(str(down), False)] * 3 + [(str(down), True)]
    assert radio.stopped and studio.delivered == []
    radio.want_more()  # off the air: asking does nothing
    assert not radio.composing


@pytest.mark.asyncio
async def test_stop_abandons_the_piece_being_composed() -> None:
    studio = Studio()
    studio.release.clear()
    radio = station(studio)
    radio.want_more()
    await asyncio.sleep(0)
    radio.stop()
    await radio.wait_idle()
    studio.release.set()
    await asyncio.sleep(0.01)
    assert studio.delivered == [] and radio.stopped and not radio.composing
