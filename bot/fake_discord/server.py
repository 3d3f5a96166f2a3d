"""`FakeDiscord`: the fake's public face — start it, build a world, act as users, inspect."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
from aiohttp import web

from bot.fake_discord.gateway import Gateway
from bot.fake_discord.model import (
    ChannelKind,
    FakeChannel,
    FakeDiscordError,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    FakeVoiceState,
    RequestRecord,
)
from bot.fake_discord.options import AttachmentUpload, command_options, modal_answer
from bot.fake_discord.rest import API_PREFIX, Injection, RestApi
from bot.fake_discord.voice import (
    CHANNELS,
    LoopbackCertificates,
    SpeakingEvent,
    VoiceConnection,
    VoicePacket,
    VoiceServer,
    VoiceStateRequest,
)
from bot.fake_discord.world import (
    DIRECT_MESSAGES,
    GUILD_MESSAGES,
    GUILD_VOICE_STATES,
    ApiError,
    Upload,
    World,
)


class FakeDiscord:
    """A loopback Discord (REST + gateway) for the real discord.py client.

    Use as ``async with FakeDiscord() as fake:``; point discord.py at it with
    ``discord.http.Route.BASE = fake.api_base`` and
    ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)``.
    """

    def __init__(
        self,
        *,
        token: str = "fake-token",
        advertised_gateway: str | None = None,
        attachment_size_limit: int = 10 * 1024 * 1024,
        shards: int = 1,
        heartbeat_interval_ms: int = 41_250,
        interaction_deadline: float | None = 3.0,
        privileged_intents: bool = True,
    ) -> None:
        """``interaction_deadline``: seconds the bot has to acknowledge an interaction (Discord:
        3; None disables). ``privileged_intents``: whether the app may ask for members, presences
        and message content (False: IDENTIFY with them is closed with 4014, as Discord does).
        """
        if shards < 1:
            raise ValueError(f"shards must be at least 1, got {shards}")
        if heartbeat_interval_ms < 1:
            raise ValueError(f"heartbeat_interval_ms must be positive, got {heartbeat_interval_ms}")
        self._world = World(
            token=token,
            attachment_size_limit=attachment_size_limit,
            interaction_deadline=interaction_deadline,
        )
        self._gateway = Gateway(
            self._world,
            shard_count=shards,
            heartbeat_interval_ms=heartbeat_interval_ms,
            privileged_intents=privileged_intents,
        )
        self._world.gateway = self._gateway
        self._voice = VoiceServer(self._world)
        self._world.voice = self._voice
        self._rest = RestApi(self._world, self._gateway, advertised_gateway=advertised_gateway)
        self._runner: web.AppRunner | None = None
        self.api_base = ""
        self.gateway_url = ""

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        # Uploads may be as large as the attachment limit, several per request.
        app = web.Application(client_max_size=4 * self._world.attachment_size_limit + (1 << 20))
        self._rest.install(app)
        app.router.add_get("/", self._gateway.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        base = f"http://{host}:{port}"
        self._world.base_url = base
        self.api_base = base + API_PREFIX
        self.gateway_url = f"ws://{host}:{port}/"
        self._gateway.url = self.gateway_url
        await self._voice.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._gateway.close_all()
        await self._voice.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- who and what exists -------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self._world.token

    @property
    def application_id(self) -> int:
        return self._world.application_id

    @property
    def bot_user(self) -> FakeUser:
        return self._world.bot_user

    @property
    def owner(self) -> FakeUser:
        """The application's owner (what ``Bot.is_owner`` compares with); owns every guild."""
        return self._world.owner

    @property
    def guilds(self) -> list[FakeGuild]:
        return list(self._world.guilds.values())

    def add_user(self, name: str) -> FakeUser:
        return self._world.add_user(name)

    def add_guild(self, name: str, *, members: Sequence[FakeUser] = ()) -> FakeGuild:
        """A guild with the bot, the owner and ``members``.

        Added while the bot is connected, it arrives as a GUILD_CREATE (the bot joined a server).
        """
        return self._world.add_guild(name, members)

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        return self._world.dm_channel(user)

    def channel(self, channel_id: int) -> FakeChannel:
        return self._world.channels[channel_id]

    # -- records -------------------------------------------------------------------------------

    @property
    def identifies(self) -> int:
        return self._gateway.identifies

    @property
    def resumes(self) -> int:
        return self._gateway.resumes

    @property
    def heartbeats(self) -> int:
        return self._gateway.heartbeats

    @property
    def gateway_close_codes(self) -> list[int]:
        """Close codes the fake sent (4004 bad token, 4014 disallowed intents, …)."""
        return self._gateway.close_codes

    @property
    def requests(self) -> list[RequestRecord]:
        return self._world.requests

    @property
    def unknown_routes(self) -> list[RequestRecord]:
        return self._world.unknown_routes

    @property
    def interactions(self) -> list[FakeInteraction]:
        return self._world.interactions

    @property
    def presence(self) -> dict[str, Any] | None:
        """The last presence update (op 3) the bot sent."""
        return self._world.presence

    @property
    def commands(self) -> dict[str, dict[str, Any]]:
        """Synced application commands so far: global, then guild ones, by name."""
        return self._world.all_commands()

    # -- waiting -------------------------------------------------------------------------------

    async def wait_ready(self, timeout: float = 15) -> None:  # noqa: ASYNC109 - the tests' API takes timeouts
        """Until every shard has identified or resumed and got READY (+ GUILD_CREATEs) or RESUMED.

        After `request_reconnect`, `invalidate_session` or `drop_connections` this waits for the
        new connections.
        """
        await self._world.wait_for(self._gateway.all_live, timeout, "the bot to connect")

    async def wait_commands(self, timeout: float = 15) -> dict[str, dict[str, Any]]:  # noqa: ASYNC109 - the tests' API takes timeouts
        """The app commands after the bot's first sync, by name, as Discord stores them."""
        world = self._world
        await world.wait_for(
            lambda: world.command_syncs > 0, timeout, "an application command sync"
        )
        return world.all_commands()

    async def wait_message(
        self,
        channel: FakeChannel,
        predicate: Callable[[FakeMessage], bool] = lambda m: True,
        timeout: float = 30,  # noqa: ASYNC109 - the tests' API takes timeouts
    ) -> FakeMessage:
        """The first bot-authored message in ``channel`` or its threads matching ``predicate``.

        Messages already there count, and so do later edits. Ephemeral answers are not in the
        channel: get them from the `FakeInteraction`.
        """

        def probe() -> FakeMessage | None:
            channels = [channel] + [c for c in self._world.channels.values() if c.parent is channel]
            messages = sorted((m for c in channels for m in c.messages), key=lambda m: m.id)
            for message in messages:
                if (
                    message.author_id == self.bot_user.id
                    and not message.deleted
                    and predicate(message)
                ):
                    return message
            return None

        return await self._world.wait_for(
            probe, timeout, f"a bot message in #{channel.name or channel.id}"
        )

    # -- voice ---------------------------------------------------------------------------------

    @property
    def voice_certificates(self) -> LoopbackCertificates:
        """The voice server's throwaway CA and certificate; a client trusts it with
        ``voice_certificates.client_context()`` (verification stays on)."""
        return self._voice.certificates

    def bot_environment(self, ca_file: Path) -> dict[str, str]:
        """The settings a `tunesmith bot` process needs to use this fake: the token, the REST
        and gateway URLs, and the voice server's CA (written to `ca_file`) as the CA store it
        trusts through `SSL_CERT_FILE`, as a deployment trusts Discord's."""
        ca_file.write_bytes(self.voice_certificates.ca_pem)
        return {
            "DISCORD_TOKEN": self.token,
            "DISCORD_API_BASE": self.api_base,
            "DISCORD_GATEWAY_URL": self.gateway_url,
            "SSL_CERT_FILE": str(ca_file),
        }

    @property
    def voice_endpoint(self) -> str:
        """``127.0.0.1:PORT`` of the voice websocket (what VOICE_SERVER_UPDATE names)."""
        return self._voice.endpoint

    @property
    def voice_connections(self) -> list[VoiceConnection]:
        """Live voice sessions (guild, channel, user, ssrc), oldest first."""
        return [c for c in self._voice.connections if c.live]

    @property
    def voice_state_requests(self) -> list[VoiceStateRequest]:
        """Every voice state update (gateway op 4) the bot sent; a leave has channel_id None."""
        return self._gateway.voice_state_requests

    @property
    def voice_close_codes(self) -> list[int]:
        """Close codes the voice server sent (4004 bad token, 4016 unknown mode, …)."""
        return self._voice.close_codes

    def voice_state(self, guild: FakeGuild, user: FakeUser) -> FakeVoiceState | None:
        """Where ``user`` is in ``guild``'s voice channels (None: not in voice)."""
        return self._world.voice_states.get((guild.id, user.id))

    def voice_sessions(self, guild: FakeGuild) -> list[VoiceConnection]:
        """Every voice session in ``guild``, ended ones too, oldest first."""
        return [c for c in self._voice.connections if c.guild_id == guild.id]

    def received_packets(self, guild: FakeGuild) -> list[VoicePacket]:
        """RTP packets received and decrypted for ``guild``, in arrival order."""
        return sorted(
            (p for c in self.voice_sessions(guild) for p in c.packets), key=lambda p: p.arrival
        )

    def received_audio(self, guild: FakeGuild) -> npt.NDArray[np.int16]:
        """The Opus-decoded audio received for ``guild``: (samples, 2) int16 at 48 kHz.

        Silence frames are left out; sessions follow one another in the order they started.
        """
        parts = [c.audio() for c in self.voice_sessions(guild)]
        return np.concatenate(parts) if parts else np.zeros((0, CHANNELS), dtype=np.int16)

    def speaking(self, guild: FakeGuild) -> list[SpeakingEvent]:
        """SPEAKING (voice op 5) events sent in ``guild``, in order."""
        return [e for e in self._voice.speaking if e.guild_id == guild.id]

    async def wait_voice_connected(
        self,
        guild: FakeGuild,
        timeout: float = 15,  # noqa: ASYNC109 - the tests' API takes timeouts
    ) -> VoiceConnection:
        """The bot's voice session in ``guild`` once encryption is agreed and IP discovery done."""

        def probe() -> VoiceConnection | None:
            return next(
                (
                    c
                    for c in reversed(self._voice.connections)
                    if c.guild_id == guild.id
                    and c.user_id == self.bot_user.id
                    and c.ready
                    and c.udp_source is not None
                ),
                None,
            )

        return await self._world.wait_for(probe, timeout, f"a voice connection in {guild.name}")

    async def wait_audio(
        self,
        guild: FakeGuild,
        seconds: float,
        timeout: float = 30,  # noqa: ASYNC109 - the tests' API takes timeouts
    ) -> npt.NDArray[np.int16]:
        """The received audio once at least ``seconds`` of it (silence frames excluded) arrived."""
        wanted = round(seconds * 48_000)

        def probe() -> bool:
            # Not the array itself: wait_for tests truthiness, which arrays do not have.
            return sum(len(c.audio()) for c in self.voice_sessions(guild)) >= wanted

        await self._world.wait_for(probe, timeout, f"{seconds:g} s of audio in {guild.name}")
        return self.received_audio(guild)

    async def wait_silence(
        self,
        guild: FakeGuild,
        timeout: float = 15,  # noqa: ASYNC109 - the tests' API takes timeouts
    ) -> VoicePacket:
        """The first silence frame after audio in ``guild``: the client finished a stream."""

        def probe() -> VoicePacket | None:
            heard = False
            for packet in self.received_packets(guild):
                if not packet.silence:
                    heard = True
                elif heard:
                    return packet
            return None

        return await self._world.wait_for(probe, timeout, f"the end of audio in {guild.name}")

    async def wait_voice_state(
        self,
        guild: FakeGuild,
        user: FakeUser,
        channel: FakeChannel | None,
        timeout: float = 15,  # noqa: ASYNC109 - the tests' API takes timeouts
    ) -> None:
        """Until ``user`` is in ``channel`` of ``guild`` (None: out of voice)."""
        wanted = None if channel is None else channel.id

        def probe() -> bool:
            state = self.voice_state(guild, user)
            return (None if state is None else state.channel_id) == wanted

        where = "out of voice" if channel is None else f"in #{channel.name}"
        await self._world.wait_for(probe, timeout, f"{user.name} {where} in {guild.name}")

    async def join_voice(self, user: FakeUser, channel: FakeChannel) -> None:
        """``user`` joins the voice ``channel`` (VOICE_STATE_UPDATE to the bot)."""
        guild = channel.guild
        if guild is None or channel.kind is not ChannelKind.VOICE:
            raise FakeDiscordError(f"#{channel.name or channel.id} is not a guild voice channel")
        if user not in guild.members:
            raise FakeDiscordError(f"{user.name} is not a member of {guild.name}")
        state = self._world.set_voice_state(guild, user, channel, session_id=secrets.token_hex(16))
        await self._dispatch_voice_state(guild, state)

    async def leave_voice(self, user: FakeUser, guild: FakeGuild | None = None) -> None:
        """``user`` leaves voice in ``guild`` (or in every guild where they are in voice)."""
        guilds = [guild] if guild is not None else self.guilds
        for where in guilds:
            state = self.voice_state(where, user)
            if state is None:
                continue
            payload = self._world.set_voice_state(where, user, None, session_id=state.session_id)
            await self._dispatch_voice_state(where, payload)

    async def drop_voice_connections(self, guild: FakeGuild, *, code: int = 4015) -> None:
        """Close ``guild``'s voice websockets with ``code`` (4015: voice server crashed, resume).

        discord.py 2.7 answers 4015 with a RESUME and then waits for a new secret key that a
        resumed session does not get; it gives up after its timeout and leaves voice.
        """
        await self._voice.drop(guild.id, code)

    async def migrate_voice_server(self, guild: FakeGuild) -> None:
        """Move the bot's voice session in ``guild`` to a new voice server token, as Discord
        does when a voice server goes away: a VOICE_SERVER_UPDATE while connected; the client
        closes its voice websocket and identifies afresh (new ssrc and secret key).
        """
        state = self.voice_state(guild, self.bot_user)
        if state is None:
            raise FakeDiscordError(f"the bot is not in voice in {guild.name}")
        token = self._voice.grant(guild.id, state.channel_id, self.bot_user.id, state.session_id)
        server = {"token": token, "guild_id": str(guild.id), "endpoint": self._voice.endpoint}
        await self._gateway.dispatch("VOICE_SERVER_UPDATE", server, guild_id=guild.id, intent=None)

    async def _dispatch_voice_state(self, guild: FakeGuild, state: dict[str, Any]) -> None:
        await self._world.settle()
        if self._gateway.has_sessions:
            await self._gateway.dispatch(
                "VOICE_STATE_UPDATE", state, guild_id=guild.id, intent=GUILD_VOICE_STATES
            )

    # -- acting as users -----------------------------------------------------------------------

    async def say(
        self,
        user: FakeUser,
        channel: FakeChannel,
        content: str,
        *,
        reply_to: FakeMessage | None = None,
        attachments: Sequence[AttachmentUpload] = (),
    ) -> FakeMessage:
        """``user`` posts ``content`` (MESSAGE_CREATE); ``<@id>`` mentions are filled in."""
        self._check_can_see(user, channel)
        body: dict[str, Any] = {"content": content}
        if reply_to is not None:
            body["message_reference"] = {"message_id": str(reply_to.id)}
        uploads = [
            Upload(i, name, ctype, data) for i, (name, data, ctype) in enumerate(attachments)
        ]
        try:
            message = self._world.create_message(channel, user, body, uploads)
        except ApiError as error:
            raise FakeDiscordError(f"Discord would refuse this message: {error}") from None
        guild_id = None if channel.guild is None else channel.guild.id
        await self._gateway.wait_session(guild_id, 15)
        await self._world.settle()
        world = self._world
        await self._gateway.dispatch(
            "MESSAGE_CREATE",
            lambda intents: world.message_payload(message, gateway=True, intents=intents),
            guild_id=guild_id,
            intent=DIRECT_MESSAGES if guild_id is None else GUILD_MESSAGES,
        )
        return message

    async def slash(
        self,
        user: FakeUser,
        channel: FakeChannel,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        attachments: Mapping[str, AttachmentUpload] | None = None,
        subcommand: str | None = None,
    ) -> FakeInteraction:
        """``user`` runs ``/name`` in ``channel`` (type 2). Values: str, int, float, bool,
        FakeUser, FakeChannel; attachment options go in ``attachments`` as (filename, bytes, type).
        """
        command = self._command(channel, name)
        option_list, resolved = command_options(
            self._world,
            command,
            channel,
            options or {},
            attachments=attachments,
            subcommand=subcommand,
        )
        data = self._command_data(command, option_list, resolved)
        return await self._interact(2, user, channel, data)

    async def autocomplete(
        self,
        user: FakeUser,
        channel: FakeChannel,
        name: str,
        option: str,
        value: str,
        others: Mapping[str, Any] | None = None,
        *,
        subcommand: str | None = None,
        timeout: float = 10,  # noqa: ASYNC109 - the tests' API takes timeouts
    ) -> list[dict[str, Any]]:
        """``user`` types ``value`` into ``option`` of ``/name`` (type 4); the bot's choices."""
        command = self._command(channel, name)
        values = {**(others or {}), option: value}
        option_list, resolved = command_options(
            self._world, command, channel, values, subcommand=subcommand, focused=option
        )
        data = self._command_data(command, option_list, resolved)
        interaction = await self._interact(4, user, channel, data)
        answer = await interaction.response(timeout)
        if answer.get("type") != 8:
            raise FakeDiscordError(
                f"the bot answered autocomplete with callback type {answer.get('type')}"
            )
        return list(answer.get("data", {}).get("choices", []))

    async def click(self, user: FakeUser, message: FakeMessage, custom_id: str) -> FakeInteraction:
        """``user`` presses the button ``custom_id`` on ``message`` (type 3)."""
        try:
            button = message.button(custom_id)
        except KeyError as error:
            raise FakeDiscordError(str(error)) from None
        if button.get("disabled"):
            raise FakeDiscordError(f"button {custom_id!r} on message {message.id} is disabled")
        return await self._component(user, message, {"custom_id": custom_id, "component_type": 2})

    async def select(
        self, user: FakeUser, message: FakeMessage, custom_id: str, values: Sequence[str]
    ) -> FakeInteraction:
        """``user`` picks ``values`` in the select menu ``custom_id`` on ``message`` (type 3)."""
        found = next(
            (
                c
                for row in message.components
                for c in row.get("components") or []
                if c.get("custom_id") == custom_id and c.get("type") in (3, 5, 6, 7, 8)
            ),
            None,
        )
        if found is None:
            raise FakeDiscordError(f"message {message.id} has no select menu {custom_id!r}")
        data = {"custom_id": custom_id, "component_type": found["type"], "values": list(values)}
        return await self._component(user, message, data)

    async def submit_modal(
        self,
        user: FakeUser,
        channel: FakeChannel,
        custom_id: str,
        fields: Mapping[str, Any],
        message: FakeMessage | None = None,
    ) -> FakeInteraction:
        """``user`` submits the modal ``custom_id`` (type 5) with ``fields`` (input id -> text).

        The answer mirrors the last modal with that id the bot showed (rows or labels).
        """
        modal = next(
            (
                i.callback["data"]
                for i in reversed(self._world.interactions)
                if i.callback_type == 9
                and i.callback is not None
                and i.callback.get("data", {}).get("custom_id") == custom_id
            ),
            None,
        )
        data = {"custom_id": custom_id, "components": modal_answer(modal, fields)}
        return await self._interact(5, user, channel, data, message=message)

    # -- failure injection ---------------------------------------------------------------------

    def rate_limit(
        self,
        method: str,
        path_regex: str,
        *,
        retry_after: float = 0.3,
        count: int = 1,
        is_global: bool = False,
    ) -> None:
        """The next ``count`` requests matching (``re.search`` on the path after api_base) get 429."""
        if retry_after < 0 or count < 1:
            raise ValueError(f"retry_after must be >= 0 and count >= 1, got {retry_after}, {count}")
        body: dict[str, Any] = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        if is_global:
            body["code"] = 0
        self._rest.injections.append(
            Injection(
                method.upper(),
                re.compile(path_regex),
                count,
                429,
                body,
                retry_after=retry_after,
                is_global=is_global,
            )
        )

    def fail(
        self,
        method: str,
        path_regex: str,
        *,
        status: int = 500,
        code: int = 0,
        message: str = "500: Internal Server Error",
        count: int = 1,
    ) -> None:
        """The next ``count`` matching requests get ``status`` with Discord's error body.

        discord.py retries 500/502/504 itself (after 1 s, 3 s, …); 403/404/400 reach the bot.
        """
        self._rest.injections.append(
            Injection(
                method.upper(),
                re.compile(path_regex),
                count,
                status,
                {"message": message, "code": code},
            )
        )

    async def request_reconnect(self) -> None:
        """Op 7 RECONNECT to every connected shard: the client should reconnect and RESUME."""
        await self._gateway.request_reconnect()

    async def invalidate_session(self, *, resumable: bool) -> None:
        """Op 9; not resumable also forgets the session, so the client must IDENTIFY again."""
        await self._gateway.invalidate_session(resumable=resumable)

    async def drop_connections(self) -> None:
        """Cut every gateway socket without a close frame; events sent meanwhile are replayed."""
        await self._gateway.drop_connections()

    # -- helpers -------------------------------------------------------------------------------

    def _check_can_see(self, user: FakeUser, channel: FakeChannel) -> None:
        guild = channel.guild
        if guild is not None and user not in guild.members:
            raise FakeDiscordError(f"{user.name} is not a member of {guild.name}")
        if guild is None and channel.recipient is not None and channel.recipient != user:
            raise FakeDiscordError(f"{user.name} is not in the DM channel {channel.id}")

    def _command(self, channel: FakeChannel, name: str) -> dict[str, Any]:
        commands = self._world.commands_for(channel)
        command = commands.get(name)
        if command is None or command["type"] != 1:
            slash = sorted(n for n, c in commands.items() if c["type"] == 1)
            raise FakeDiscordError(f"no slash command /{name} synced here; there are {slash}")
        return command

    def _command_data(
        self, command: Mapping[str, Any], options: list[dict[str, Any]], resolved: dict[str, Any]
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": command["id"],
            "name": command["name"],
            "type": command["type"],
            "options": options,
        }
        if resolved:
            data["resolved"] = resolved
        if command.get("guild_id") is not None:
            data["guild_id"] = command["guild_id"]
        return data

    async def _component(
        self, user: FakeUser, message: FakeMessage, data: dict[str, Any]
    ) -> FakeInteraction:
        if message.deleted:
            raise FakeDiscordError(f"message {message.id} was deleted")
        channel = self._world.channels[message.channel_id]
        return await self._interact(3, user, channel, data, message=message)

    async def _interact(
        self,
        kind: int,
        user: FakeUser,
        channel: FakeChannel,
        data: dict[str, Any],
        *,
        message: FakeMessage | None = None,
    ) -> FakeInteraction:
        self._check_can_see(user, channel)
        guild_id = None if channel.guild is None else channel.guild.id
        await self._gateway.wait_session(guild_id, 15)
        await self._world.settle()
        interaction = self._world.new_interaction(kind, user, channel, data, message=message)
        world = self._world

        def sent() -> None:
            interaction.sent_at = time.monotonic()
            world.touch()

        await self._gateway.dispatch(
            "INTERACTION_CREATE", interaction.payload, guild_id=guild_id, intent=None, on_sent=sent
        )
        return interaction
