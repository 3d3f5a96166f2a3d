"""The fake Discord drives the real discord.py client over loopback: no mocks on either side.

A small `commands.AutoShardedBot` (one slash command with an autocomplete and an attachment option,
a modal, a persistent `DynamicItem` button, an ``on_message`` handler) runs against `FakeDiscord`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import random
import re
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import pytest
import pytest_asyncio
import yarl
from discord import app_commands
from discord.ext import commands

from bot.fake_discord import (
    ChannelKind,
    FakeChannel,
    FakeDiscord,
    FakeDiscordError,
    FakeGuild,
    FakeUser,
)

GENRES = ["lofi", "rock", "funk", "synthwave", "chiptune"]


class EchoButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=r"echo:(?P<bars>[0-9]+)"
):
    """A persistent button: any message's ``echo:N`` button reaches this callback."""

    def __init__(self, bars: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=f"Echo {bars}", custom_id=f"echo:{bars}", style=discord.ButtonStyle.primary
            )
        )
        self.bars = bars

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> EchoButton:
        assert isinstance(interaction.client, ProbeBot)
        interaction.client.dynamic_items_built += 1
        return cls(int(match["bars"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            f"echo {self.bars} for {interaction.user.id}", ephemeral=True
        )


class TitleModal(discord.ui.Modal, title="Name the piece"):
    name: discord.ui.TextInput[TitleModal] = discord.ui.TextInput(label="Name", custom_id="name")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"titled {self.name.value}")


@app_commands.command(description="Echo a clip back with a button")
async def compose(
    interaction: discord.Interaction,
    genre: str,
    clip: discord.Attachment,
    bars: app_commands.Range[int, 1, 64] = 4,
) -> None:
    await interaction.response.defer(thinking=True)
    await interaction.edit_original_response(content=f"composing {genre}")
    data = await clip.read()
    view = discord.ui.View(timeout=None)
    view.add_item(EchoButton(bars))
    await interaction.followup.send(
        f"done: {genre}, {clip.filename}, {clip.size} bytes",
        embed=discord.Embed(title=genre, description=f"{bars} bars"),
        file=discord.File(io.BytesIO(data), filename="echo.mp3"),
        view=view,
    )


@compose.autocomplete("genre")
async def genre_choices(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=g, value=g) for g in GENRES if g.startswith(current)]


@app_commands.command(description="Name a piece")
async def title(interaction: discord.Interaction) -> None:
    await interaction.response.send_modal(TitleModal())


@app_commands.command(description="Answers after Discord's deadline")
async def slow(interaction: discord.Interaction) -> None:
    await asyncio.sleep(0.5)
    try:
        await interaction.response.send_message("too late")
    except discord.NotFound as error:
        assert isinstance(interaction.client, ProbeBot)
        interaction.client.late_errors.put_nowait(error.code)


@app_commands.command(description="Defers, then answers with a follow-up only")
async def quick(interaction: discord.Interaction) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    await interaction.followup.send("quick done", ephemeral=True)


class ProbeBot(commands.AutoShardedBot):
    def __init__(self, *, message_content: bool = True, members: bool = False) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        intents.members = members
        super().__init__(
            command_prefix="!", intents=intents, help_command=None, guild_ready_timeout=0.05
        )
        self.dynamic_items_built = 0
        self.late_errors: asyncio.Queue[int] = asyncio.Queue()
        self.heard: asyncio.Queue[discord.Message] = asyncio.Queue()

    async def setup_hook(self) -> None:
        self.add_dynamic_items(EchoButton)
        for command in (compose, title, slow, quick):
            self.tree.add_command(command)
        await self.tree.sync()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py waits 5 s before every re-IDENTIFY (Discord's identify rate); no need here.
        return None

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        self.heard.put_nowait(message)
        if message.content.startswith("ping"):
            await message.channel.send(f"pong {message.author.mention}")
        elif message.content.startswith("thread"):
            thread = await message.create_thread(name="jam")
            await thread.send("inside the thread")


@dataclass(frozen=True)
class Scene:
    guild: FakeGuild
    channel: FakeChannel
    alice: FakeUser


@pytest_asyncio.fixture
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeDiscord]:
    # Tests pass FakeDiscord options with parametrize(..., indirect=True).
    async with FakeDiscord(**getattr(request, "param", {})) as fake:
        yield fake


@pytest.fixture
def scene(fake: FakeDiscord) -> Scene:
    alice = fake.add_user("alice")
    guild = fake.add_guild("Studio", members=[alice])
    return Scene(guild, guild.add_text_channel("general"), alice)


@pytest.fixture
def pointed_at(fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> FakeDiscord:
    # discord.py keeps both on the class; monkeypatch puts the real ones back afterwards.
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
    )
    return fake


@contextlib.asynccontextmanager
async def running(fake: FakeDiscord, bot: ProbeBot) -> AsyncIterator[ProbeBot]:
    await bot.login(fake.token)
    connection = asyncio.create_task(bot.connect())
    try:
        await fake.wait_ready()
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(connection, 10)


@pytest_asyncio.fixture
async def bot(
    request: pytest.FixtureRequest, pointed_at: FakeDiscord, scene: Scene
) -> AsyncIterator[ProbeBot]:
    async with running(pointed_at, ProbeBot(**getattr(request, "param", {}))) as bot:
        yield bot


def statuses(fake: FakeDiscord, method: str, pattern: str) -> list[int]:
    return [r.status for r in fake.requests if r.method == method and re.search(pattern, r.path)]


@pytest.mark.asyncio
async def test_slash_defer_edit_followup_file_and_button(
    fake: FakeDiscord, scene: Scene, bot: ProbeBot
) -> None:
    synced = await fake.wait_commands()
    assert sorted(synced) == ["compose", "quick", "slow", "title"]
    options = {o["name"]: o for o in synced["compose"]["options"]}
    assert (options["genre"]["type"], options["genre"]["autocomplete"]) == (3, True)
    assert options["clip"]["type"] == 11
    assert bot.guilds[0].id == scene.guild.id
    assert bot.get_channel(scene.channel.id) is not None

    choices = await fake.autocomplete(scene.alice, scene.channel, "compose", "genre", "s")
    assert choices == [{"name": "synthwave", "value": "synthwave"}]

    clip = random.Random(7).randbytes(1_500_000)  # more than aiohttp's default 1 MiB body
    interaction = await fake.slash(
        scene.alice,
        scene.channel,
        "compose",
        {"genre": "lofi", "bars": 8},
        attachments={"clip": ("clip.mp3", clip, "audio/mpeg")},
    )
    assert (await interaction.response())["type"] == 5
    followup = await interaction.followup(0)
    original = await interaction.original()

    assert [body["content"] for _, body in interaction.edits] == ["composing lofi"]
    assert original.content == "composing lofi" and not original.loading
    assert followup.id != original.id
    assert followup.content == f"done: lofi, clip.mp3, {len(clip)} bytes"
    assert [(a.filename, a.content_type) for a in followup.attachments] == [
        ("echo.mp3", "audio/mpeg")
    ]
    assert followup.attachments[0].data == clip
    assert [e["title"] for e in followup.embeds] == ["lofi"]
    assert [b["custom_id"] for b in followup.buttons()] == ["echo:8"]
    assert followup.interaction is interaction
    assert (
        await fake.wait_message(scene.channel, lambda m: m.content.startswith("done")) is followup
    )

    click = await fake.click(scene.alice, followup, "echo:8")
    answer = await click.response()
    assert answer["type"] == 4
    assert answer["data"]["content"] == f"echo 8 for {scene.alice.id}"
    echo = await click.original()
    assert echo.ephemeral and echo not in scene.channel.messages
    assert bot.dynamic_items_built == 1
    assert fake.unknown_routes == []


@pytest.mark.asyncio
async def test_modal_round_trip(fake: FakeDiscord, scene: Scene, bot: ProbeBot) -> None:
    shown = await fake.slash(scene.alice, scene.channel, "title")
    modal = await shown.response()
    assert (modal["type"], modal["data"]["title"]) == (9, "Name the piece")
    submitted = await fake.submit_modal(
        scene.alice, scene.channel, modal["data"]["custom_id"], {"name": "Night Drive"}
    )
    assert (await submitted.original()).content == "titled Night Drive"
    with pytest.raises(FakeDiscordError, match="no input"):
        await fake.submit_modal(
            scene.alice, scene.channel, modal["data"]["custom_id"], {"title": "x"}
        )
    assert fake.unknown_routes == []


@pytest.mark.parametrize("fake", [{"interaction_deadline": 0.3}], indirect=True)
@pytest.mark.asyncio
async def test_late_acknowledgement_is_unknown_interaction(
    fake: FakeDiscord, scene: Scene, bot: ProbeBot
) -> None:
    interaction = await fake.slash(scene.alice, scene.channel, "slow")
    assert await asyncio.wait_for(bot.late_errors.get(), 5) == 10062
    assert interaction.callback is None
    assert statuses(fake, "POST", r"^/interactions/") == [404]


@pytest.mark.asyncio
async def test_rate_limited_request_is_retried(
    fake: FakeDiscord, scene: Scene, bot: ProbeBot
) -> None:
    fake.rate_limit("POST", r"^/channels/\d+/messages$", retry_after=0.3)
    said = await fake.say(scene.alice, scene.channel, "ping")
    assert said.mentions == []
    pong = await fake.wait_message(scene.channel, lambda m: m.content.startswith("pong"))
    assert pong.content == f"pong <@{scene.alice.id}>"
    assert pong.mentions == [scene.alice.id]
    assert statuses(fake, "POST", r"^/channels/\d+/messages$") == [429, 200]
    assert fake.unknown_routes == []


@pytest.mark.asyncio
async def test_reconnect_request_resumes_the_session(
    fake: FakeDiscord, scene: Scene, bot: ProbeBot
) -> None:
    await fake.request_reconnect()
    await fake.wait_ready()
    assert (fake.identifies, fake.resumes) == (1, 1)
    choices = await fake.autocomplete(scene.alice, scene.channel, "compose", "genre", "ro")
    assert [c["value"] for c in choices] == ["rock"]
    assert fake.unknown_routes == []


@pytest.mark.asyncio
async def test_invalid_session_makes_the_client_identify_again(
    fake: FakeDiscord, scene: Scene, bot: ProbeBot
) -> None:
    await fake.invalidate_session(resumable=False)
    await fake.wait_ready()
    assert (fake.identifies, fake.resumes) == (2, 0)
    await fake.say(scene.alice, scene.channel, "ping")
    await fake.wait_message(scene.channel, lambda m: m.content.startswith("pong"))


@pytest.mark.asyncio
async def test_dropped_connection_resumes_and_replays_missed_events(
    fake: FakeDiscord, scene: Scene, bot: ProbeBot
) -> None:
    await fake.drop_connections()
    # Sent while the bot has no socket: only a RESUME's replay can deliver it.
    await fake.say(scene.alice, scene.channel, "ping")
    pong = await fake.wait_message(scene.channel, lambda m: m.content.startswith("pong"))
    await fake.wait_ready()
    assert (fake.identifies, fake.resumes) == (1, 1)
    assert pong.channel_id == scene.channel.id


@pytest.mark.asyncio
async def test_thread_from_a_message(fake: FakeDiscord, scene: Scene, bot: ProbeBot) -> None:
    starter = await fake.say(scene.alice, scene.channel, "thread please")
    inside = await fake.wait_message(scene.channel, lambda m: m.content == "inside the thread")
    thread = fake.channel(inside.channel_id)
    assert thread.is_thread and thread.kind is ChannelKind.PUBLIC_THREAD
    assert thread.parent is scene.channel and thread.id == starter.id
    assert starter.thread is thread
    assert isinstance(bot.get_channel(thread.id), discord.Thread)  # THREAD_CREATE was parsed
    assert fake.unknown_routes == []


@pytest.mark.asyncio
async def test_wrong_token_fails_login(pointed_at: FakeDiscord, scene: Scene) -> None:
    bot = ProbeBot()
    try:
        with pytest.raises(discord.LoginFailure):
            await bot.login("not-the-token")
    finally:
        await bot.close()
    assert statuses(pointed_at, "GET", r"^/users/@me$") == [401]
    assert pointed_at.identifies == 0


@pytest.mark.asyncio
async def test_gateway_speaks_zlib_stream_and_rejects_a_bad_token(fake: FakeDiscord) -> None:
    inflate = zlib.decompressobj()
    url = fake.gateway_url + "?v=10&encoding=json&compress=zlib-stream"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        hello = await ws.receive(timeout=5)
        assert hello.type is aiohttp.WSMsgType.BINARY
        assert hello.data.endswith(b"\x00\x00\xff\xff")
        payload = json.loads(inflate.decompress(hello.data))
        assert payload["op"] == 10 and payload["d"]["heartbeat_interval"] == 41_250
        await ws.send_json({"op": 2, "d": {"token": "wrong", "intents": 0, "properties": {}}})
        closed = await ws.receive(timeout=5)
        assert closed.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == 4004
    assert fake.identifies == 0


@pytest.mark.asyncio
async def test_unknown_route_and_missing_auth(fake: FakeDiscord) -> None:
    headers = {"Authorization": f"Bot {fake.token}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(fake.api_base + "/guilds/1/bans", headers=headers) as response:
            assert response.status == 404
            assert response.headers["Content-Type"] == "application/json"
            assert await response.json() == {"code": 0, "message": "404: Not Found"}
        async with session.get(fake.api_base + "/users/@me") as response:
            assert response.status == 401
    assert [(r.method, r.path) for r in fake.unknown_routes] == [("GET", "/guilds/1/bans")]


@pytest.mark.asyncio
async def test_first_followup_after_a_defer_replaces_the_thinking_message(
    fake: FakeDiscord, scene: Scene, bot: ProbeBot
) -> None:
    fake.rate_limit("POST", r"^/webhooks/", retry_after=0.1)
    interaction = await fake.slash(scene.alice, scene.channel, "quick")
    followup = await interaction.followup(0)
    assert followup is await interaction.original()
    assert followup.content == "quick done"
    assert followup.ephemeral and not followup.loading
    assert followup not in scene.channel.messages
    assert interaction.sent_at is not None and interaction.responded_at is not None
    assert interaction.responded_at >= interaction.sent_at
    assert statuses(fake, "POST", r"^/webhooks/") == [429, 200]


@pytest.mark.asyncio
async def test_rest_objects_parse_in_discord_py(
    fake: FakeDiscord, scene: Scene, bot: ProbeBot
) -> None:
    channel = await bot.fetch_channel(scene.channel.id)
    assert isinstance(channel, discord.TextChannel) and channel.name == "general"
    guild = bot.get_guild(scene.guild.id)
    assert guild is not None
    assert (await guild.fetch_member(scene.alice.id)).name == "alice"
    alice = await bot.fetch_user(scene.alice.id)
    assert alice.name == "alice"

    sent = await channel.send(
        "draft", embed=discord.Embed(title="t"), file=discord.File(io.BytesIO(b"abc"), "a.txt")
    )
    stored = scene.channel.messages[-1]
    assert (stored.id, [a.data for a in stored.attachments]) == (sent.id, [b"abc"])
    await sent.edit(content="final", attachments=[])
    assert (stored.content, stored.attachments) == ("final", [])
    assert (await channel.fetch_message(sent.id)).content == "final"
    assert [m.id async for m in channel.history(limit=5)] == [sent.id]
    await sent.add_reaction("🎵")
    assert stored.reactions == ["🎵"]
    async with channel.typing():
        pass
    await sent.delete()
    assert stored.deleted and stored not in scene.channel.messages

    private = await channel.create_thread(name="private jam")
    assert fake.channel(private.id).kind is ChannelKind.PRIVATE_THREAD

    await alice.send("hello")
    dm = fake.dm_channel(scene.alice)
    assert [m.content for m in dm.messages] == ["hello"]
    await fake.say(scene.alice, dm, "ping")
    await fake.wait_message(dm, lambda m: m.content.startswith("pong"))
    modal = await (await fake.slash(scene.alice, dm, "title")).response()
    assert modal["type"] == 9
    assert fake.unknown_routes == []


@pytest.mark.parametrize("bot", [{"message_content": False}], indirect=True)
@pytest.mark.asyncio
async def test_without_the_message_content_intent_only_mentions_carry_text(
    fake: FakeDiscord, scene: Scene, bot: ProbeBot
) -> None:
    await fake.say(scene.alice, scene.channel, "hello")
    await fake.say(scene.alice, scene.channel, f"{fake.bot_user.mention} hi")
    heard = [(await asyncio.wait_for(bot.heard.get(), 5)).content for _ in range(2)]
    assert heard == ["", f"<@{fake.bot_user.id}> hi"]


@pytest.mark.parametrize("bot", [{"members": True}], indirect=True)
@pytest.mark.asyncio
async def test_members_intent_gets_the_member_list_by_chunking(
    fake: FakeDiscord, scene: Scene, bot: ProbeBot
) -> None:
    guild = bot.get_guild(scene.guild.id)
    assert guild is not None and guild.chunked
    assert {m.id for m in guild.members} == {u.id for u in scene.guild.members}
    newcomer = fake.add_user("bob")
    joined = asyncio.ensure_future(bot.wait_for("member_join", timeout=5))
    scene.guild.add_member(newcomer)
    assert (await joined).id == newcomer.id


@pytest.mark.parametrize("fake", [{"privileged_intents": False}], indirect=True)
@pytest.mark.asyncio
async def test_disallowed_intents_are_refused(pointed_at: FakeDiscord, scene: Scene) -> None:
    bot = ProbeBot()
    await bot.login(pointed_at.token)
    try:
        with pytest.raises(discord.PrivilegedIntentsRequired):
            await asyncio.wait_for(bot.connect(), 10)
    finally:
        await bot.close()
    assert pointed_at.gateway_close_codes == [4014]


@pytest.mark.parametrize("fake", [{"shards": 2}], indirect=True)
@pytest.mark.asyncio
async def test_two_shards_get_their_own_guilds(pointed_at: FakeDiscord) -> None:
    fake = pointed_at
    alice = fake.add_user("alice")
    guilds: list[FakeGuild] = []
    # A guild's shard comes from the millisecond in its id; make one for each shard.
    while {(g.id >> 22) % 2 for g in guilds} != {0, 1}:
        guilds.append(fake.add_guild(f"Studio {len(guilds)}", members=[alice]))
        await asyncio.sleep(0.002)
    channels = [g.add_text_channel("general") for g in guilds]
    async with running(fake, ProbeBot()) as bot:
        assert (fake.identifies, bot.shard_count) == (2, 2)
        assert {g.id for g in bot.guilds} == {g.id for g in guilds}
        for channel in channels:
            choices = await fake.autocomplete(alice, channel, "compose", "genre", "f")
            assert [c["value"] for c in choices] == ["funk"]
        joined = asyncio.ensure_future(bot.wait_for("guild_join", timeout=5))
        late = fake.add_guild("Joined later", members=[alice])
        assert (await joined).id == late.id
    assert fake.unknown_routes == []


@pytest.mark.asyncio
async def test_fake_refuses_what_the_discord_client_could_not_send(
    fake: FakeDiscord, scene: Scene, bot: ProbeBot
) -> None:
    with pytest.raises(FakeDiscordError, match="needs option 'genre'"):
        await fake.slash(scene.alice, scene.channel, "compose", {"bars": 2})
    with pytest.raises(FakeDiscordError, match="between 1 and 64"):
        await fake.slash(
            scene.alice,
            scene.channel,
            "compose",
            {"genre": "lofi", "bars": 99},
            attachments={"clip": ("c.mp3", b"x", "audio/mpeg")},
        )
    with pytest.raises(FakeDiscordError, match="no slash command /remix"):
        await fake.slash(scene.alice, scene.channel, "remix")
    with pytest.raises(FakeDiscordError, match="2000"):
        await fake.say(scene.alice, scene.channel, "x" * 2001)
    assert fake.interactions == []


@pytest.mark.asyncio
async def test_gateway_url_can_be_advertised_elsewhere() -> None:
    async with (
        FakeDiscord(advertised_gateway="ws://127.0.0.1:9/") as fake,
        aiohttp.ClientSession() as session,
        session.get(
            fake.api_base + "/gateway/bot", headers={"Authorization": f"Bot {fake.token}"}
        ) as response,
    ):
        assert (await response.json())["url"] == "ws://127.0.0.1:9/"


@pytest.mark.asyncio
async def test_channel_added_while_connected_reaches_the_bot_first(
    fake: FakeDiscord, scene: Scene, bot: ProbeBot
) -> None:
    later = scene.guild.add_text_channel("later")
    await fake.say(scene.alice, later, "ping")
    heard = await asyncio.wait_for(bot.heard.get(), 5)
    # CHANNEL_CREATE came first: the message is in a known channel, not a PartialMessageable.
    assert isinstance(heard.channel, discord.TextChannel) and heard.channel.name == "later"
    pong = await fake.wait_message(later, lambda m: m.content.startswith("pong"))
    assert pong.channel_id == later.id
