"""The real bot on the real discord.py client against a loopback Discord that these tests own,
with a real generator service, ledger, signing and queue behind it.

Every world advertises a dead gateway URL from `/gateway/bot`, so each test also shows the bot
connects where `DISCORD_GATEWAY_URL` says.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.fairness import Limits
from bot.fake_discord import FakeDiscord
from bot.healthcheck import check
from bot.ledger import Licence, Owner
from generators.encode import decode_audio
from tests.conftest import GeneratorProcess, free_port, start_generator
from tests.discord_world import (
    DEAD_GATEWAY,
    World,
    compose,
    field_values,
    make_world,
    piece_id_of,
    posted,
)


@pytest_asyncio.fixture
async def world(tmp_path: Path, generator_service: GeneratorProcess) -> AsyncIterator[World]:
    async with FakeDiscord(advertised_gateway=DEAD_GATEWAY) as fake:
        made = make_world(fake, tmp_path, generator_service.url)
        yield made
        assert fake.unknown_routes == [], fake.unknown_routes


# -- /compose ---------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_compose_lofi_30s_defers_shows_progress_and_posts_the_piece(world: World) -> None:
    async with world.bot():
        interaction = await world.fake.slash(
            world.alice, world.channel, "compose", {"request": "lofi 30s"}
        )
        ack = await interaction.response()
        assert ack["type"] == 5  # deferred: "Tunesmith is thinking…"
        message = await posted(interaction)
        # Connected and ready: the container's health check sees a fresh heartbeat.
        # (It looks for readiness every second.)
        for _ in range(50):
            if check({"TUNESMITH_DATA_DIR": str(world.data_dir)})[0]:
                break
            await asyncio.sleep(0.1)
        assert check({"TUNESMITH_DATA_DIR": str(world.data_dir)})[0]
    piece_id = piece_id_of(message)

    # The MP3 decodes to the asked length; the picture is the embed's image.
    names = [a.filename for a in message.attachments]
    assert len(names) == 2 and names[0].endswith(f"-{piece_id}.mp3") and names[1].endswith(".png")
    mp3_path = world.data_dir / "posted.mp3"
    mp3_path.write_bytes(message.attachments[0].data)
    pcm, rate = decode_audio(mp3_path)
    assert abs(len(pcm) / rate - 30.0) <= 0.1
    assert message.attachments[1].data[:8] == b"\x89PNG\r\n\x1a\n"
    embed = message.embeds[0]
    # Discord resolves attachment://<name> to the uploaded file's URL.
    assert embed["image"]["url"].endswith(f"/{names[1]}")
    fields = field_values(message)
    assert set(fields) >= {
        "Genre",
        "Key",
        "Tempo",
        "Length",
        "Owner",
        "Licence",
        "Originality",
        "Quality",
    }
    assert fields["Length"] == "0:30" and "lofi" in fields["Genre"]
    assert fields["Owner"] == world.alice.mention
    assert "CC BY 4.0" in fields["Licence"]
    assert "original" in fields["Originality"] and "passed" in fields["Quality"]
    assert piece_id in embed["footer"]["text"]
    assert message.content.startswith(world.alice.mention)

    # Five buttons carrying the piece id.
    labels = {b["custom_id"].split(":")[1]: b for b in message.buttons()}
    assert set(labels) == {"play", "vary", "remix", "midi", "like"}
    assert all(b["custom_id"].endswith(piece_id) for b in labels.values())

    # Progress was shown by editing the response, never faster than the throttle allows.
    progress = [body.get("content", "") for _, body in interaction.edits]
    assert any("Composing" in text for text in progress)
    times = [at for at, body in interaction.edits if not body.get("embeds")]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))

    with world.ledger() as ledger:
        creation = ledger.creation(piece_id)
        assert creation.owner == Owner("discord", str(world.alice.id), "alice")
        assert creation.request == "lofi 30s" and creation.origin == "discord"
        assert ledger.path_for(creation.files["mp3"]).read_bytes() == message.attachments[0].data


@pytest.mark.asyncio
async def test_structured_options_and_autocomplete(world: World) -> None:
    async with world.bot():
        choices = await world.fake.autocomplete(
            world.alice, world.channel, "compose", "request", "sad j"
        )
        assert "sad jazz" in [c["value"] for c in choices]
        genres = await world.fake.autocomplete(world.alice, world.channel, "compose", "genre", "ch")
        assert [c["value"] for c in genres][:1] == ["chiptune"]
        interaction = await world.fake.slash(
            world.alice,
            world.channel,
            "compose",
            {
                "request": "chiptune",
                "mood": "happy",
                "length": "6s",
                "key": "E minor",
                "tempo": 150,
                "seed": 42,
            },
        )
        message = await posted(interaction)
    fields = field_values(message)
    assert (fields["Key"], fields["Tempo"], fields["Length"]) == ("E minor", "150 bpm", "0:06")
    with world.ledger() as ledger:
        assert ledger.creation(piece_id_of(message)).seed == 42


@pytest.mark.asyncio
async def test_bad_words_get_a_private_answer_saying_what_would_be_right(world: World) -> None:
    async with world.bot():
        interaction = await world.fake.slash(
            world.alice, world.channel, "compose", {"request": "something nice"}
        )
        answer = await interaction.response()
    assert answer["type"] == 4 and answer["data"]["flags"] & 64
    assert "Genres: lofi, jazz" in answer["data"]["content"]


@pytest.mark.asyncio
async def test_mention_composes_with_the_same_grammar(world: World) -> None:
    async with world.bot():
        bot_mention = world.fake.bot_user.mention
        request = await world.fake.say(
            world.alice, world.channel, f"{bot_mention} compose sad jazz 6s"
        )
        reply = await world.fake.wait_message(
            world.channel,
            lambda m: m.reference_id == request.id and bool(m.attachments),
            timeout=60,
        )
        bad = await world.fake.say(world.alice, world.channel, f"{bot_mention} compose polka 5s")
        refusal = await world.fake.wait_message(world.channel, lambda m: m.reference_id == bad.id)
    assert field_values(reply)["Genre"] == "sad jazz"
    assert reply.attachments[0].filename.endswith(".mp3")
    assert "polka" in refusal.content and "Genres:" in refusal.content


# -- buttons ----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_variation_and_like_buttons(world: World) -> None:
    async with world.bot():
        original, piece_id = await compose(world, world.alice, "ambient 6s")
        click = await world.fake.click(world.bob, original, f"piece:vary:{piece_id}")
        assert (await click.response())["type"] == 5
        variation = await posted(click)
        variation_id = piece_id_of(variation)
        assert variation_id != piece_id and variation.id != original.id
        assert (
            "variation" in variation.content
            and field_values(variation)["Owner"] == world.bob.mention
        )

        like = await world.fake.click(world.bob, original, f"piece:like:{piece_id}")
        assert (await like.response())["type"] == 7  # the message updated in place
        assert original.button(f"piece:like:{piece_id}")["label"] == "1"
        assert "You liked this piece (1" in (await like.followup()).content
        again = await world.fake.click(world.bob, original, f"piece:like:{piece_id}")
        await again.response()
        assert original.button(f"piece:like:{piece_id}")["label"] == "Like"

        later = await world.fake.click(world.alice, original, f"piece:play:{piece_id}")
        answer = await later.response()
        assert answer["data"]["flags"] & 64 and "voice channel" in answer["data"]["content"]
        remix = await world.fake.click(world.alice, original, f"piece:remix:{piece_id}")
        asked = await remix.response()
        assert asked["type"] == 9 and asked["data"]["title"] == "Remix this piece"  # a modal
        midi = await world.fake.click(world.alice, original, f"piece:midi:{piece_id}")
        answer = await midi.original()
        assert answer.ephemeral and answer.attachments[0].data[:4] == b"MThd"
    with world.ledger() as ledger:
        child = ledger.creation(variation_id)
        assert child.parents == (piece_id,) and child.owner.user_id == str(world.bob.id)
        assert ledger.likes(piece_id) == 0


@pytest.mark.asyncio
async def test_buttons_keep_working_after_a_restart(world: World) -> None:
    async with world.bot():
        message, piece_id = await compose(world, world.alice, "synthwave 5s")
    # A new process: nothing remembered but the data dir.
    async with world.bot():
        like = await world.fake.click(world.bob, message, f"piece:like:{piece_id}")
        assert (await like.response())["type"] == 7
        vary = await world.fake.click(world.alice, message, f"piece:vary:{piece_id}")
        await posted(vary)
    assert message.button(f"piece:like:{piece_id}")["label"] == "1"


# -- the library ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_transfer_handshake_between_two_people(world: World) -> None:
    async with world.bot():
        _, piece_id = await compose(world, world.alice, "bossa 5s")
        offer = await world.fake.slash(
            world.alice, world.channel, "transfer", {"piece": piece_id, "to": world.bob}
        )
        message = await offer.original()
        assert world.bob.mention in message.content and not message.ephemeral
        # Only the recipient can answer.
        wrong = await world.fake.click(world.alice, message, f"transfer:accept:{piece_id}")
        refusal = await wrong.response()
        assert refusal["type"] == 4 and refusal["data"]["flags"] & 64
        accepted = await world.fake.click(world.bob, message, f"transfer:accept:{piece_id}")
        assert (await accepted.response())["type"] == 7
        assert "accepted" in message.content and message.buttons() == []
        mine = await world.fake.slash(world.bob, world.channel, "mine")
        listing = await mine.original()
    assert listing.ephemeral and piece_id in listing.embeds[0]["description"]
    with world.ledger() as ledger:
        assert ledger.creation(piece_id).owner.user_id == str(world.bob.id)


@pytest.mark.asyncio
async def test_non_owner_is_refused_politely_and_the_owner_confirms_a_delete(world: World) -> None:
    async with world.bot():
        post, piece_id = await compose(world, world.alice, "edm 5s")
        shown = await world.fake.slash(world.bob, world.channel, "piece", {"piece": piece_id})
        repost = await shown.followup()
        for name, options in (
            ("delete", {"piece": piece_id}),
            ("rename", {"piece": piece_id, "title": "Bob's now"}),
            ("license", {"piece": piece_id, "licence": "CC0-1.0"}),
        ):
            attempt = await world.fake.slash(world.bob, world.channel, name, options)
            answer = await attempt.response()
            assert answer["type"] == 4 and answer["data"]["flags"] & 64, name
            assert "owner" in answer["data"]["content"], answer
        ask = await world.fake.slash(world.alice, world.channel, "delete", {"piece": piece_id})
        confirm = await ask.original()
        assert confirm.ephemeral
        yes = await world.fake.click(world.alice, confirm, f"delete:yes:{piece_id}")
        await yes.response()
        assert "Deleted" in confirm.content and "from 2 message(s)" in confirm.content
        # Both messages that showed it lose the MP3, the picture and the buttons.
        for message in (post, repost):
            assert (message.attachments, message.embeds, message.buttons()) == ([], [], [])
            assert "was deleted by its owner" in message.content
        gone = await world.fake.slash(world.alice, world.channel, "piece", {"piece": piece_id})
        assert "deleted" in (await gone.response())["data"]["content"]
    with world.ledger() as ledger:
        assert ledger.creation(piece_id).deleted


@pytest.mark.asyncio
async def test_rename_license_piece_top_verify_help_and_mine_pages(world: World) -> None:
    async with world.bot():
        messages = [await compose(world, world.alice, f"cinematic {5 + i}s") for i in range(2)]
        (first, first_id), (_, second_id) = messages
        await (await world.fake.click(world.bob, first, f"piece:like:{first_id}")).response()

        renamed = await world.fake.slash(
            world.alice, world.channel, "rename", {"piece": first_id, "title": "Opening Credits"}
        )
        assert "Opening Credits" in (await renamed.response())["data"]["content"]
        relicensed = await world.fake.slash(
            world.alice, world.channel, "license", {"piece": second_id, "licence": "CC-BY-SA-4.0"}
        )
        assert "CC BY-SA 4.0" in (await relicensed.response())["data"]["content"]

        shown = await world.fake.slash(world.bob, world.channel, "piece", {"piece": first_id})
        piece_message = await shown.followup()
        assert piece_message.embeds[0]["title"] == "Opening Credits"
        assert piece_message.attachments[0].data == first.attachments[0].data

        top = await world.fake.slash(world.bob, world.channel, "top")
        board = (await top.response())["data"]["embeds"][0]["description"]
        assert board.index(first_id) < board.index(second_id) and "❤️ 1" in board

        check = await world.fake.slash(
            world.bob,
            world.channel,
            "verify",
            attachments={"file": ("found-online.mp3", first.attachments[0].data, "audio/mpeg")},
        )
        report = await check.followup()
        assert report.ephemeral and first_id in report.embeds[0]["description"]

        helped = await world.fake.slash(world.bob, world.channel, "help")
        names = [f["name"] for f in (await helped.followup()).embeds[0]["fields"]]
        assert names[:3] == ["Genres", "Moods", "Instruments"]

        own_piece = await world.fake.autocomplete(
            world.alice, world.channel, "rename", "piece", "open"
        )
        assert [c["value"] for c in own_piece] == [first_id]

    with world.ledger() as ledger:
        assert ledger.creation(second_id).licence is Licence.CC_BY_SA


@pytest.mark.asyncio
async def test_mine_pages_with_buttons(world: World) -> None:
    with world.ledger() as ledger:
        owner = Owner("discord", str(world.alice.id), "alice")
        for n in range(12):
            ledger.record_creation(
                owner, origin="test", title=f"Sketch {n}", request="lofi 5s", seed=n,
                score_json="{}", media={}, generator_version="test", genre="lofi", duration_s=5.0,
            )  # fmt: skip
    async with world.bot():
        mine = await world.fake.slash(world.alice, world.channel, "mine")
        page = await mine.original()
        assert page.embeds[0]["footer"]["text"].startswith("page 1 of 2")
        assert page.embeds[0]["description"].count("Sketch") == 10
        next_id = next(b["custom_id"] for b in page.buttons() if b["label"] == "Next")
        turned = await world.fake.click(world.alice, page, next_id)
        assert (await turned.response())["type"] == 7
        assert page.embeds[0]["footer"]["text"].startswith("page 2 of 2")
        assert "Sketch 0" in page.embeds[0]["description"]


# -- fairness, failures and Discord's own behaviour ---------------------------------------------------


@pytest.mark.asyncio
async def test_queue_position_is_shown_and_cooldown_refused(world: World) -> None:
    world.limits = Limits(running=1, cooldown_s=30, per_guild=8)
    async with world.bot():
        first = await world.fake.slash(
            world.alice, world.channel, "compose", {"request": "rock 20s"}
        )
        await first.response()
        second = await world.fake.slash(world.bob, world.channel, "compose", {"request": "funk 5s"})
        await second.response()
        again = await world.fake.slash(
            world.alice, world.channel, "compose", {"request": "jazz 5s"}
        )
        refusal = await again.response()
        await posted(first)
        await posted(second)
    assert refusal["type"] == 4 and refusal["data"]["flags"] & 64
    assert (
        "compose again in" in refusal["data"]["content"]
        or "wait for it" in refusal["data"]["content"]
    )
    shown = [body.get("content", "") for _, body in second.edits]
    assert any("In the queue: #1" in text for text in shown), shown


@pytest.mark.asyncio
async def test_a_429_with_retry_after_is_survived(world: World) -> None:
    async with world.bot():
        world.fake.rate_limit(
            "PATCH", r"/webhooks/\d+/[^/]+/messages/@original", retry_after=0.4, count=2
        )
        message, piece_id = await compose(world, world.alice, "hiphop 5s")
    assert message.attachments and piece_id
    statuses = [r.status for r in world.fake.requests if "@original" in r.path]
    assert statuses.count(429) == 2


@pytest.mark.asyncio
async def test_gateway_reconnect_and_invalid_session_are_handled(world: World) -> None:
    async with world.bot():
        await world.fake.request_reconnect()
        await world.fake.wait_ready(timeout=30)
        await compose(world, world.alice, "lofi 5s")
        assert world.fake.resumes >= 1
        identifies = world.fake.identifies
        await world.fake.invalidate_session(resumable=False)
        for _ in range(200):
            if world.fake.identifies > identifies:
                break
            await asyncio.sleep(0.05)
        await world.fake.wait_ready(timeout=30)
        await compose(world, world.bob, "jazz 5s")
    assert world.fake.identifies == identifies + 1


@pytest.mark.asyncio
async def test_oversized_mp3_is_posted_at_a_lower_bitrate(
    tmp_path: Path, generator_service: GeneratorProcess
) -> None:
    async with FakeDiscord(advertised_gateway=DEAD_GATEWAY, attachment_size_limit=400_000) as fake:
        world = make_world(fake, tmp_path, generator_service.url)
        async with world.bot():
            message, _ = await compose(world, world.alice, "lofi 30s")  # ~720 kB at 192 kbps
    mp3 = message.attachments[0].data
    assert len(mp3) + len(message.attachments[1].data) <= 400_000
    assert "kbps to fit" in field_values(message)["Audio"]
    path = tmp_path / "small.mp3"
    path.write_bytes(mp3)
    pcm, rate = decode_audio(path)
    assert abs(len(pcm) / rate - 30.0) <= 0.1


@pytest.mark.asyncio
async def test_generator_stopped_mid_request_gives_a_clear_message(tmp_path: Path) -> None:
    generator = start_generator()
    try:
        async with FakeDiscord(advertised_gateway=DEAD_GATEWAY) as fake:
            world = make_world(fake, tmp_path, generator.url)
            async with world.bot():
                interaction = await world.fake.slash(
                    world.alice, world.channel, "compose", {"request": "classical 4m"}
                )
                await interaction.response()
                for _ in range(400):  # until the request is with the generator
                    if any("Composing" in b.get("content", "") for _, b in interaction.edits):
                        break
                    await asyncio.sleep(0.02)
                generator.process.kill()
                told = await interaction.followup(timeout=30)
                assert told.ephemeral
                assert "music generator" in told.content and "try again" in told.content
                # Nothing is left hanging in the channel, and the bot still answers.
                assert (await interaction.original()).deleted
                assert (
                    await (await world.fake.slash(world.alice, world.channel, "mine")).response()
                )["type"] == 4
    finally:
        generator.stop()


@pytest.mark.asyncio
async def test_generator_down_from_the_start_is_told_quickly(tmp_path: Path) -> None:
    async with FakeDiscord(advertised_gateway=DEAD_GATEWAY) as fake:
        world = make_world(fake, tmp_path, f"http://127.0.0.1:{free_port()}")
        async with world.bot():
            interaction = await world.fake.slash(
                world.alice, world.channel, "compose", {"request": "lofi 5s"}
            )
            told = await interaction.followup(timeout=10)
    assert told.ephemeral and "can't be reached" in told.content
    # Nothing is left hanging in the channel. (The retries take under 2 s here, faster than the
    # progress line may change, so whether one was shown depends on timing; the 503 test and
    # tests/test_studio.py check that retries are announced.)
    assert (await interaction.original()).deleted


@pytest.mark.asyncio
async def test_shutdown_lets_a_piece_being_made_finish_and_turns_new_ones_away(
    world: World,
) -> None:
    async with world.bot() as bot:
        interaction = await world.fake.slash(
            world.alice, world.channel, "compose", {"request": "jazz 40s"}
        )
        await interaction.response()
        for _ in range(400):  # until the piece is being made
            if any("Composing" in b.get("content", "") for _, b in interaction.edits):
                break
            await asyncio.sleep(0.02)
        closing = asyncio.create_task(bot.close())
        await asyncio.sleep(0)  # close() has started: new requests are refused from here
        late = await world.fake.slash(world.bob, world.channel, "compose", {"request": "lofi 5s"})
        refusal = await late.response()
        await closing
        message = await posted(interaction, within_s=5)  # posted before close() returned
    assert "restarting" in refusal["data"]["content"] and refusal["data"]["flags"] & 64
    assert message.attachments[0].filename.endswith(".mp3")


@pytest.mark.asyncio
async def test_dev_guild_sync_and_no_resync_when_nothing_changed(world: World) -> None:
    def syncs() -> list[str]:
        return [r.path for r in world.fake.requests if r.method == "PUT" and "commands" in r.path]

    async with world.bot(dev_guild=world.guild.id):
        assert syncs() == [
            f"/applications/{world.fake.application_id}/guilds/{world.guild.id}/commands"
        ]
        await compose(world, world.alice, "lofi 5s")
    async with world.bot(dev_guild=world.guild.id):
        pass
    assert len(syncs()) == 1  # the same commands: the restart spent no sync


@pytest.mark.asyncio
async def test_bang_compose_with_the_message_content_intent(world: World) -> None:
    async with world.bot(message_commands=True):
        request = await world.fake.say(world.bob, world.channel, "!compose edm 5s")
        reply = await world.fake.wait_message(
            world.channel,
            lambda m: m.reference_id == request.id and bool(m.attachments),
            timeout=60,
        )
    assert field_values(reply)["Owner"] == world.bob.mention


@pytest.mark.asyncio
async def test_a_busy_generator_is_retried_and_the_person_told(
    world: World, generator_service: GeneratorProcess
) -> None:
    """A proxy in front of the real generator answers the first compose with 503 queue_full."""
    from aiohttp import ClientSession, web

    turned_away: list[float] = []

    async def pieces(request: web.Request) -> web.StreamResponse:
        if not turned_away:
            turned_away.append(asyncio.get_running_loop().time())
            return web.json_response(
                {"error": {"code": "queue_full", "message": "queue is full"}},
                status=503,
                headers={"Retry-After": "2"},
            )
        return await forward(request)

    async def forward(request: web.Request) -> web.Response:
        async with ClientSession() as session, session.request(
            request.method, generator_service.url + request.path_qs, data=await request.read(),
            headers={"Content-Type": request.content_type},
        ) as answer:  # fmt: skip
            return web.Response(
                body=await answer.read(), status=answer.status,
                headers={"Content-Type": answer.headers["Content-Type"]},
            )  # fmt: skip

    app = web.Application()
    app.router.add_post("/v1/pieces", pieces)
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        world.generator_url = f"http://127.0.0.1:{port}"
        async with world.bot():
            interaction = await world.fake.slash(
                world.alice, world.channel, "compose", {"request": "lofi 5s"}
            )
            message = await posted(interaction)
    finally:
        await runner.cleanup()
    told = [b.get("content", "") for _, b in interaction.edits]
    assert any("The music generator is busy; trying again in 2 s" in text for text in told), told
    assert message.attachments[0].filename.endswith(".mp3") and len(turned_away) == 1


async def run_tunesmith_bot(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """The real `tunesmith bot` command in a child process, talking to this test's Discord."""
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("tunesmith")),
        "bot",
        env={**{k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, err.decode()


@pytest.mark.asyncio
async def test_tunesmith_bot_with_a_refused_token_or_intent_says_what_to_do(
    tmp_path: Path, generator_service: GeneratorProcess
) -> None:
    async with FakeDiscord(advertised_gateway=DEAD_GATEWAY, privileged_intents=False) as fake:
        base = {
            "DISCORD_API_BASE": fake.api_base,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "GENERATOR_URL": generator_service.url,
            "TUNESMITH_DATA_DIR": str(tmp_path / "data"),
        }
        code, err = await run_tunesmith_bot({**base, "DISCORD_TOKEN": "not-the-token"}, tmp_path)
        assert code == 2 and "Discord refused the bot token" in err, err
        code, err = await run_tunesmith_bot(
            {**base, "DISCORD_TOKEN": fake.token, "TUNESMITH_MESSAGE_COMMANDS": "1"}, tmp_path
        )
        assert code == 2 and "needs the Message Content Intent" in err, err


@pytest.mark.asyncio
async def test_a_request_cut_off_by_a_restart_is_answered_after_it(world: World) -> None:
    async with world.bot(shutdown_grace_s=0.0):  # no grace: the piece being made is dropped
        interaction = await world.fake.slash(
            world.alice, world.channel, "compose", {"request": "chiptune 30s"}
        )
        await interaction.response()
        for _ in range(400):
            if any("Composing" in b.get("content", "") for _, b in interaction.edits):
                break
            await asyncio.sleep(0.02)
    thinking = await interaction.original()
    assert not thinking.buttons()  # cut off: nothing was posted
    async with world.bot():
        message = await posted(interaction)  # the same message, answered by the next run
    assert message.id == thinking.id and message.attachments[0].filename.endswith(".mp3")
    with world.ledger() as ledger:
        pieces = ledger.creations_of(Owner("discord", str(world.alice.id)))
        assert [p.id for p in pieces] == [piece_id_of(message)]
        assert ledger.db.conn.execute("SELECT count(*) FROM discord_pending").fetchone() == (0,)


@pytest.mark.asyncio
async def test_variation_of_someone_elses_all_rights_reserved_piece_is_refused(
    world: World,
) -> None:
    async with world.bot():
        original, piece_id = await compose(world, world.alice, "bossa 5s")
        relicensed = await world.fake.slash(
            world.alice,
            world.channel,
            "license",
            {"piece": piece_id, "licence": "all-rights-reserved"},
        )
        await relicensed.response()
        click = await world.fake.click(world.bob, original, f"piece:vary:{piece_id}")
        assert (await click.response())["type"] == 5
        told = await click.followup()
        thinking = await click.original()
    assert told.ephemeral and "all rights reserved" in told.content.lower(), told.content
    assert thinking.deleted  # nothing left hanging in the channel
    with world.ledger() as ledger:
        assert [c.id for c in ledger.creations_of(Owner("discord", str(world.bob.id)))] == []
