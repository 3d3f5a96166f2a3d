"""Remix threads end to end: the real bot on discord.py against the loopback Discord, with the
real generator service (remix and MIDI import in its workers and sandbox), ledger and signing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from bot.fake_discord import FakeDiscord, FakeMessage
from bot.ledger import Licence, Owner
from bot.provenance.credits import read_credit_tags
from bot.provenance.reading import read_provenance
from tests.conftest import GeneratorProcess
from tests.discord_world import DEAD_GATEWAY, World, compose, make_world, piece_id_of
from tests.midi_songs import song_midi


@pytest_asyncio.fixture
async def world(tmp_path: Path, generator_service: GeneratorProcess) -> AsyncIterator[World]:
    async with FakeDiscord(advertised_gateway=DEAD_GATEWAY) as fake:
        made = make_world(fake, tmp_path, generator_service.url)
        yield made
        assert fake.unknown_routes == [], fake.unknown_routes


async def until(condition: Callable[[], bool], within_s: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.05)


async def remix_posted(world: World, parent_message: FakeMessage) -> FakeMessage:
    """The next remix posted in the channel or its threads after `parent_message`."""
    return await world.fake.wait_message(
        world.channel,
        lambda m: m.id > parent_message.id and bool(m.buttons()) and "remix" in m.content,
        timeout=90,
    )


@pytest.mark.asyncio
async def test_remixes_gather_in_one_thread_with_credits_mentions_and_lineage(
    world: World,
) -> None:
    carol = world.fake.add_user("carol")
    world.guild.add_member(carol)
    async with world.bot():
        original, original_id = await compose(world, world.alice, "lofi 10s")

        # Bob presses 🎛 Remix: a modal asks for the changes.
        pressed = await world.fake.click(world.bob, original, f"piece:remix:{original_id}")
        modal = await pressed.response()
        assert modal["type"] == 9
        modal_id = modal["data"]["custom_id"]
        submitted = await world.fake.submit_modal(
            world.bob, world.channel, modal_id, {"changes": "as jazz"}
        )
        assert (await submitted.response())["type"] == 5
        first = await remix_posted(world, original)
        first_id = piece_id_of(first)

        # The thread was opened on the original's message and named after it.
        threads = world.guild.threads
        assert len(threads) == 1
        thread = threads[0]
        assert thread.id == original.id and thread.parent is world.channel
        assert thread.name.startswith("Remixes of ") and first in thread.messages
        # Credits and mentions: the original's owner is named and pinged.
        assert world.alice.mention in first.content and world.alice.id in first.mentions
        assert "remix of “" in first.content
        credit = {f["name"]: f["value"] for f in first.embeds[0]["fields"]}
        assert world.alice.mention in credit["Remix of"]
        assert "jazz" in credit["Genre"]
        pointer = await submitted.original()
        await until(lambda: "Your remix" in pointer.content)
        assert str(first.id) in pointer.content and str(thread.id) in pointer.content

        # Carol remixes Bob's remix with a slash command typed in the main channel: it lands
        # in the same thread, crediting the chain and mentioning both owners.
        second_cmd = await world.fake.slash(
            carol, world.channel, "remix", {"piece": first_id, "changes": "faster in E minor"}
        )
        assert (await second_cmd.response())["type"] == 5
        second = await remix_posted(world, first)
        second_id = piece_id_of(second)
        assert second in thread.messages and len(world.guild.threads) == 1
        assert world.alice.mention in second.content and world.bob.mention in second.content
        assert {world.alice.id, world.bob.id} <= set(second.mentions)
        chain = {f["name"]: f["value"] for f in second.embeds[0]["fields"]}["Remix of"]
        assert chain.index(world.bob.mention) < chain.index(world.alice.mention)
        assert "E minor" in {f["name"]: f["value"] for f in second.embeds[0]["fields"]}["Key"]

        # /lineage shows the whole family, text and picture.
        shown = await world.fake.slash(carol, world.channel, "lineage", {"piece": second_id})
        lineage = await shown.original()
        text = lineage.embeds[0]["description"]
        for piece_id in (original_id, first_id, second_id):
            assert piece_id in text
        assert text.index(original_id) < text.index(first_id) < text.index(second_id)
        assert "◀ this one" in text.splitlines()[-1]
        assert lineage.attachments[0].data[:8] == b"\x89PNG\r\n\x1a\n"

    # The ledger: owners, parents, licences; the files carry the credit chain and C2PA ingredients.
    with world.ledger() as ledger:
        first_record, second_record = ledger.creation(first_id), ledger.creation(second_id)
        assert first_record.parents == (original_id,) and first_record.origin == "remix"
        assert first_record.owner.user_id == str(world.bob.id)
        assert second_record.parents == (first_id,)
        assert second_record.owner.user_id == str(carol.id)
        assert second_record.key == "E minor"
        path = ledger.path_for(second_record.files["mp3"])
        tags = read_credit_tags(path)
        assert [p.piece_id for p in tags.parents] == [first_id]
        assert [p.piece_id for p in tags.ancestors] == [original_id]
        assert tags.lineage is not None and "alice" in tags.lineage and "bob" in tags.lineage
        manifest = read_provenance(path)
        assert manifest.intact and [p.piece_id for p in manifest.parents] == [first_id]
        assert manifest.parents[0].relationship == "parentOf" and manifest.parents[0].has_manifest


@pytest.mark.asyncio
async def test_all_rights_reserved_pieces_are_only_remixed_by_their_owner(world: World) -> None:
    async with world.bot():
        original, original_id = await compose(world, world.alice, "rock 10s")
        licensed = await world.fake.slash(
            world.alice,
            world.channel,
            "license",
            {"piece": original_id, "licence": str(Licence.ALL_RIGHTS_RESERVED)},
        )
        await licensed.response()
        refused = await world.fake.slash(
            world.bob, world.channel, "remix", {"piece": original_id, "changes": "as jazz"}
        )
        answer = await refused.response()
        assert answer["type"] == 4 and answer["data"]["flags"] & 64  # privately
        assert "only the owner can remix it" in answer["data"]["content"]
        # Its owner may, and a share-alike parent's terms are inherited by a remix.
        own = await world.fake.slash(
            world.alice, world.channel, "remix", {"piece": original_id, "changes": "slower"}
        )
        mine = await remix_posted(world, original)
        assert (await own.response())["type"] == 5
        assert world.guild.threads and mine in world.guild.threads[0].messages


@pytest.mark.asyncio
async def test_an_uploaded_midi_is_recorded_as_the_uploaders_and_remixed(world: World) -> None:
    async with world.bot():
        bad = await world.fake.slash(
            world.bob,
            world.channel,
            "remix",
            {"changes": "as lofi"},
            attachments={"midi": ("broken.mid", b"MThd\x00\x00\x00\x06\x00\x01", "audio/midi")},
        )
        complaint = await bad.followup()
        assert complaint.ephemeral and "MIDI" in complaint.content
        # Changes that name no style are refused before the file is even read or kept.
        styleless = await world.fake.slash(
            world.bob,
            world.channel,
            "remix",
            {"changes": "faster"},
            attachments={"midi": ("Night Song.mid", song_midi(), "audio/midi")},
        )
        said = await styleless.response()
        assert said["data"]["flags"] & 64 and "which style" in said["data"]["content"]

        uploaded = await world.fake.slash(
            world.bob,
            world.channel,
            "remix",
            {"changes": "as bossa"},
            attachments={"midi": ("Night Song.mid", song_midi(), "audio/midi")},
        )
        assert (await uploaded.response())["type"] == 5
        remix = await world.fake.wait_message(
            world.channel, lambda m: bool(m.buttons()) and "remix" in m.content, timeout=90
        )
        remix_id = piece_id_of(remix)
        # The source was never posted here: the remixes of it gather under this first one.
        await until(lambda: bool(world.guild.threads))
        assert [t.id for t in world.guild.threads] == [remix.id]
        assert world.guild.threads[0].name == "Remixes of Night Song"

    with world.ledger() as ledger:
        record = ledger.creation(remix_id)
        source = ledger.creation(record.parents[0])
        uploads = [
            c
            for c in ledger.creations_of(Owner("discord", str(world.bob.id)))
            if c.origin == "upload"
        ]
        assert [c.id for c in uploads] == [source.id]  # the refused requests kept nothing
        assert source.origin == "upload" and source.owner.user_id == str(world.bob.id)
        assert source.title == "Night Song" and "midi" in source.files
        assert ledger.path_for(source.files["midi"]).read_bytes() == song_midi()
        assert record.genre == "bossa" and record.owner.user_id == str(world.bob.id)
