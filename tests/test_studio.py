"""The studio (bot services shared by every front end) with a real generator service, a real
ledger file, real signing and the real fair queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.discord_bot.app import studio_for
from bot.errors import GeneratorUnavailable
from bot.fairness import Limits, QueueRefused
from bot.grammar import GrammarError
from bot.ledger import Licence, LicenceConflict, NotOwner, Owner
from bot.posts import Place
from bot.provenance import read_provenance
from bot.studio import Progress, Studio
from generators.settings import Settings
from tests.conftest import GeneratorProcess, free_port

ALICE = Owner("discord", "1001", "Alice")
BOB = Owner("discord", "1002", "Bob")
HERE = Place("discord", "500", "600")
ELSEWHERE = Place("discord", "501", "601")


def settings_for(tmp_path: Path, url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", soundfont=None, generator_url=url)


@pytest_asyncio.fixture
async def studio(tmp_path: Path, generator_service: GeneratorProcess) -> AsyncIterator[Studio]:
    async with (
        aiohttp.ClientSession() as session,
        studio_for(
            settings_for(tmp_path, generator_service.url), Limits(cooldown_s=0, per_user=2), session
        ) as made,
    ):
        yield made


@pytest.mark.asyncio
async def test_compose_records_a_signed_piece_owned_by_who_asked(studio: Studio) -> None:
    stages: list[str] = []

    async def progress(stage: Progress) -> None:
        stages.append(stage.stage)

    published = await studio.compose(ALICE, "lofi 6s", place=HERE, seed=11, progress=progress)
    creation = published.creation
    assert creation.owner == ALICE
    assert (creation.genre, creation.duration_s, creation.request) == ("lofi", 6.0, "lofi 6s")
    assert creation.licence is Licence.CC_BY
    assert creation.origin == "discord"
    assert stages[:3] == ["composing", "checking", "saving"]
    assert published.attempts == 1 and creation.originality is not None
    # The stored MP3 is the signed one and its manifest names the owner.
    manifest = read_provenance(published.mp3, studio.identity)
    assert manifest.intact and manifest.trusted
    assert published.mp3.read_bytes()[:3] == b"ID3"
    assert published.png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert published.midi.read_bytes()[:4] == b"MThd"
    card = await studio.card(creation.id)
    assert (card.likes, card.plays, card.originality) == (0, 0, creation.originality["score"])


@pytest.mark.asyncio
async def test_bad_words_are_refused_before_taking_a_place_in_line(studio: Studio) -> None:
    with pytest.raises(GrammarError, match="Genres: lofi"):
        studio.order(ALICE, "something nice please", place=HERE)
    assert (studio.queue.running, studio.queue.waiting) == (0, 0)


@pytest.mark.asyncio
async def test_cooldown_refuses_a_second_request_with_when_to_retry(
    tmp_path: Path, generator_service: GeneratorProcess
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        studio_for(
            settings_for(tmp_path, generator_service.url),
            Limits(cooldown_s=60, per_user=2),
            session,
        ) as studio,
    ):
        order = studio.order(ALICE, "lofi 5s", place=HERE)
        with pytest.raises(QueueRefused, match="compose again in") as refused:
            studio.order(ALICE, "jazz 5s", place=HERE)
        assert refused.value.retry_after_s is not None and refused.value.retry_after_s > 50
        order.cancel()
        # Someone else is not held up by Alice's cooldown.
        studio.order(BOB, "jazz 5s", place=HERE).cancel()
        assert (studio.queue.running, studio.queue.waiting) == (0, 0)


@pytest.mark.asyncio
async def test_variation_is_a_child_and_respects_the_parent_licence(studio: Studio) -> None:
    original = (await studio.compose(ALICE, "chiptune 5s", place=HERE, seed=3)).creation
    order = await studio.order_variation(BOB, original.id, place=HERE)
    variation = (await studio.make(order)).creation
    assert variation.parents == (original.id,)
    assert variation.owner == BOB and variation.origin == "variation"
    assert variation.request == original.request and variation.seed != original.seed

    await studio.relicense(ALICE, original.id, Licence.ALL_RIGHTS_RESERVED)
    refused = await studio.order_variation(BOB, original.id, place=HERE)
    with pytest.raises(LicenceConflict):
        await studio.make(refused)
    # The refused order gave its place in line back.
    assert (studio.queue.running, studio.queue.waiting) == (0, 0)
    # The owner may still vary her own all-rights-reserved piece.
    mine = await studio.make(await studio.order_variation(ALICE, original.id, place=HERE))
    assert mine.creation.parents == (original.id,) and mine.creation.owner == ALICE


@pytest.mark.asyncio
async def test_library_actions_are_the_owners_and_top_ranks_a_servers_pieces(
    studio: Studio,
) -> None:
    first = (await studio.compose(ALICE, "ambient 5s", place=HERE, seed=1)).creation
    second = (await studio.compose(BOB, "ambient 5s", place=HERE, seed=2)).creation
    other = (await studio.compose(BOB, "ambient 5s", place=ELSEWHERE, seed=4)).creation
    await studio.record_post(first.id, HERE, "9001")
    await studio.record_post(second.id, HERE, "9002")
    await studio.record_post(other.id, ELSEWHERE, "9003")
    for person in (ALICE, BOB):
        await studio.toggle_like(person, second.id)
    await studio.toggle_like(BOB, first.id)

    ranked = await studio.top(HERE)
    assert [(c.id, likes) for c, likes in ranked] == [(second.id, 2), (first.id, 1)]
    assert [c.id for c, _ in await studio.top(ELSEWHERE)] == [other.id]
    assert (await studio.first_post(first.id, "discord")) is not None

    with pytest.raises(NotOwner):
        await studio.rename(BOB, first.id, "Mine now")
    with pytest.raises(NotOwner):
        await studio.delete(BOB, first.id)
    renamed = await studio.rename(ALICE, first.id, "Morning Fog")
    assert renamed.title == "Morning Fog"

    await studio.offer(ALICE, first.id, BOB)
    assert (await studio.accept(BOB, first.id)).owner == BOB
    assert [c.id for c in await studio.mine(ALICE)] == []

    await studio.delete(BOB, second.id)
    assert [c.id for c, _ in await studio.top(HERE)] == [first.id]


@pytest.mark.asyncio
async def test_verify_identifies_a_piece_from_its_bytes(studio: Studio) -> None:
    published = await studio.compose(ALICE, "jazz 6s", place=HERE, seed=5)
    report = await studio.verify("from-discord.mp3", published.mp3.read_bytes())
    assert report.identified and not report.tampered
    assert [c.id for c in report.by_hash] == [published.creation.id]
    assert report.path == Path("from-discord.mp3")
    tampered = bytearray(published.mp3.read_bytes())
    tampered[-5000] ^= 0xFF
    assert (await studio.verify("changed.mp3", bytes(tampered))).tampered


@pytest.mark.asyncio
async def test_generator_down_is_a_clear_message_and_frees_the_queue(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with (
        aiohttp.ClientSession() as session,
        studio_for(settings_for(tmp_path, url), Limits(cooldown_s=0), session) as studio,
    ):
        told: list[Progress] = []

        async def progress(stage: Progress) -> None:
            told.append(stage)

        with pytest.raises(GeneratorUnavailable, match="can't be reached"):
            await studio.compose(ALICE, "lofi 5s", place=HERE, progress=progress)
        retries = [stage for stage in told if stage.stage == "retrying"]
        assert len(retries) == 3 and "didn't answer" in (retries[0].note or "")
        assert (studio.queue.running, studio.queue.waiting) == (0, 0)
