"""AsyncLedger: one owner thread holds the SQLite connection; every call is awaited from the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.ledger import AsyncLedger, EventKind, Ledger, NotOwner, Owner

ALICE = Owner("cli", "alice", "Alice")
BOB = Owner("discord", "1001", "Bob")


async def record(ledger: AsyncLedger, owner: Owner, tag: str, **extra: object) -> str:
    creation = await ledger.record_creation(
        owner,
        origin="discord:1/2",
        title=f"Piece {tag}",
        request="lofi 30s",
        seed=1,
        score_json="{}",
        media={"mp3": f"mp3:{tag}".encode(), "png": f"png:{tag}".encode()},
        generator_version="0.1.0",
        **extra,
    )
    return creation.id


PIECES = 40


def ledger_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ledger")]


@pytest.mark.asyncio
async def test_every_call_runs_on_one_owner_thread_that_closing_joins(tmp_path: Path) -> None:
    loop_thread = threading.get_ident()
    async with AsyncLedger.open(tmp_path / "ledger.db") as ledger:
        threads = {await ledger.run(lambda _: threading.get_ident()) for _ in range(5)}
        assert len(threads) == 1 and loop_thread not in threads
        seen: list[int] = []
        await record(
            ledger, ALICE, "a", on_insert=lambda conn, _: seen.append(threading.get_ident())
        )
        assert set(seen) == threads
        assert ledger.last_sweep.clean
        assert len(ledger_threads()) == 1
    assert ledger_threads() == []


@pytest.mark.asyncio
async def test_the_connection_cannot_be_used_from_another_thread(tmp_path: Path) -> None:
    async with AsyncLedger.open(tmp_path / "ledger.db") as ledger:
        piece = await record(ledger, ALICE, "a")
        sync: Ledger = await ledger.run(lambda inner: inner)
        with pytest.raises(sqlite3.ProgrammingError, match="thread"):
            sync.creation(piece)  # on the loop's thread: SQLite refuses
        assert (await ledger.creation(piece)).title == "Piece a"


@pytest.mark.asyncio
async def test_many_concurrent_writers_produce_a_chain_that_verifies(tmp_path: Path) -> None:
    async with AsyncLedger.open(tmp_path / "ledger.db") as ledger:
        ids = await asyncio.gather(
            *(record(ledger, ALICE if i % 2 else BOB, str(i)) for i in range(PIECES))
        )
        assert len(set(ids)) == PIECES
        owners = {piece: ALICE if i % 2 else BOB for i, piece in enumerate(ids)}

        async def churn(i: int, piece: str) -> None:
            owner = owners[piece]
            await ledger.rename(piece, owner, f"Renamed {i}")
            await ledger.like(piece, BOB if owner is ALICE else ALICE)
            await ledger.record_play(piece, None, "discord:1/voice")
            if i % 3 == 0:
                await ledger.relicense(piece, owner, "CC0-1.0")
            if i % 5 == 0:
                await record(ledger, BOB, f"remix-{i}", parents=[piece])

        await asyncio.gather(*(churn(i, piece) for i, piece in enumerate(ids)))
        report = await ledger.verify(check_media_content=True)
        assert report.ok, report.format()
        relicensed, remixes = len(range(0, PIECES, 3)), len(range(0, PIECES, 5))
        # created and renamed each, relicensed every third, remixed every fifth (2 events each)
        assert report.events == 2 * PIECES + relicensed + 2 * remixes
        assert (await ledger.head()).seq == report.events
        assert await ledger.likes(ids[0]) == 1 and await ledger.plays(ids[0]) == 1


@pytest.mark.asyncio
async def test_errors_reach_the_awaiting_task_and_nothing_is_written(tmp_path: Path) -> None:
    async with AsyncLedger.open(tmp_path / "ledger.db") as ledger:
        piece = await record(ledger, ALICE, "a")
        with pytest.raises(NotOwner, match="Only the owner"):
            await ledger.rename(piece, BOB, "Mine")
        events = await ledger.events(piece)
        assert [e.kind for e in events] == [EventKind.CREATED]


@pytest.mark.asyncio
async def test_what_the_async_ledger_wrote_the_sync_one_reads(tmp_path: Path) -> None:
    async with AsyncLedger.open(tmp_path / "ledger.db") as ledger:
        piece = await record(ledger, ALICE, "a")
        await ledger.offer_transfer(piece, ALICE, BOB)
        await ledger.accept_transfer(piece, BOB)
    with Ledger.open(tmp_path / "ledger.db") as sync:
        assert sync.creation(piece).owner == BOB
        assert sync.verify().ok
