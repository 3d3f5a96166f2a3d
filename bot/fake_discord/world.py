"""The fake Discord's state, its JSON forms, and the rules real Discord applies to messages.

One `World` per `FakeDiscord`. REST handlers and the gateway both work on it; tests read it through
the model objects. Every change calls `touch()`, which wakes whoever waits in `wait_for`.
"""

from __future__ import annotations

import asyncio
import datetime
import mimetypes
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from bot.fake_discord.model import (
    EPHEMERAL,
    LOADING,
    ChannelKind,
    FakeAttachment,
    FakeChannel,
    FakeDiscordTimeout,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    FakeVoiceState,
    RequestRecord,
    SnowflakeFactory,
)

if TYPE_CHECKING:
    from bot.fake_discord.gateway import Gateway
    from bot.fake_discord.voice import VoiceServer

T = TypeVar("T")

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents).
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_VOICE_STATES = 1 << 7
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

# Every permission bit up to SEND_POLLS, minus ADMINISTRATOR; what the bot holds everywhere.
ALL_PERMISSIONS = ((1 << 50) - 1) & ~(1 << 3)
# Discord's default @everyone permissions for a new server.
EVERYONE_PERMISSIONS = 1071698660929

MESSAGE_CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
_MENTION = re.compile(r"<@!?(\d+)>")


class ApiError(Exception):
    """An error answer of the REST API, in Discord's JSON shape."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        details = "; ".join(_flatten_errors(errors or {}))
        super().__init__(f"{status} {code}: {message}" + (f" ({details})" if details else ""))
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def _flatten_errors(errors: dict[str, Any], path: str = "") -> list[str]:
    """Discord's nested form errors as "embeds.0.title: Must be 256 or fewer in length."."""
    found: list[str] = []
    for key, value in errors.items():
        if key == "_errors":
            found += [f"{path or 'body'}: {e['message']}" for e in value]
        elif isinstance(value, dict):
            found += _flatten_errors(value, f"{path}.{key}" if path else key)
    return found


def invalid_form(errors: dict[str, Any]) -> ApiError:
    return ApiError(400, 50035, "Invalid Form Body", errors)


def field_error(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def too_long(limit: int) -> dict[str, Any]:
    return field_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request: ``files[index]``."""

    index: int
    filename: str
    content_type: str
    data: bytes


def iso(ts: float | None = None) -> str:
    moment = datetime.datetime.fromtimestamp(time.time() if ts is None else ts, datetime.UTC)
    return moment.isoformat()


class World:
    """Users, guilds, channels, messages, commands and interactions of one fake Discord."""

    def __init__(
        self,
        *,
        token: str,
        attachment_size_limit: int,
        interaction_deadline: float | None,
    ) -> None:
        self.ids = SnowflakeFactory()
        self.token = token
        self.attachment_size_limit = attachment_size_limit
        self.interaction_deadline = interaction_deadline
        self.bot_user = FakeUser(self.ids.next(), "Tunesmith", bot=True)
        # New applications share their id with their bot user.
        self.application_id = self.bot_user.id
        self.owner = FakeUser(self.ids.next(), "owner")
        self.users: dict[int, FakeUser] = {u.id: u for u in (self.bot_user, self.owner)}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.dm_channels: dict[int, FakeChannel] = {}
        self.attachments: dict[int, FakeAttachment] = {}
        self.global_commands: dict[str, dict[str, Any]] = {}
        self.guild_commands: dict[int, dict[str, dict[str, Any]]] = {}
        self.command_syncs = 0
        self.interactions: list[FakeInteraction] = []
        self.interactions_by_id: dict[int, FakeInteraction] = {}
        self.requests: list[RequestRecord] = []
        self.unknown_routes: list[RequestRecord] = []
        self.presence: dict[str, Any] | None = None
        self.base_url = ""  # "http://127.0.0.1:PORT", set once the server listens
        self.gateway: Gateway | None = None
        self.voice: VoiceServer | None = None
        self.voice_states: dict[tuple[int, int], FakeVoiceState] = {}  # (guild id, user id)
        self._joined_at: dict[tuple[int, int], float] = {}
        self._changed = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()

    # -- waiting -------------------------------------------------------------------------------

    def touch(self) -> None:
        """Something changed: wake every `wait_for`."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, probe: Callable[[], T | None], within: float, what: str) -> T:
        """Wait until ``probe()`` returns something truthy and return it."""
        deadline = time.monotonic() + within
        while True:
            changed = self._changed
            found = probe()
            if found:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FakeDiscordTimeout(f"timed out after {within:g} s waiting for {what}")
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue

    def in_background(self, coro: Any) -> None:
        """Run a dispatch started from synchronous test code (add_text_channel, add_member)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def settle(self) -> None:
        """Let events started by synchronous calls go out first, so the bot sees them in order."""
        while self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # -- building the world --------------------------------------------------------------------

    def add_user(self, name: str) -> FakeUser:
        user = FakeUser(self.ids.next(), name)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, members: Sequence[FakeUser]) -> FakeGuild:
        guild = FakeGuild(self.ids.next(), name, owner_id=self.owner.id, _world=self)
        for user in (self.bot_user, self.owner, *members):
            if user not in guild.members:
                guild.members.append(user)
                self._joined_at[(guild.id, user.id)] = time.time()
        self.guilds[guild.id] = guild
        if self.gateway is not None and self.gateway.has_sessions:
            # The bot was added to a new server while connected.
            self.in_background(
                self.gateway.dispatch(
                    "GUILD_CREATE",
                    lambda intents: self.guild_create_payload(guild, intents, joined=True),
                    guild_id=guild.id,
                    intent=None,
                )
            )
        self.touch()
        return guild

    def add_text_channel(self, guild: FakeGuild, name: str) -> FakeChannel:
        channel = FakeChannel(
            self.ids.next(), name, ChannelKind.TEXT, guild=guild, position=len(guild.channels)
        )
        return self._add_channel(guild, channel)

    def _add_channel(self, guild: FakeGuild, channel: FakeChannel) -> FakeChannel:
        """Put a new channel in its guild, announced with CHANNEL_CREATE if the bot is connected."""
        guild.channels.append(channel)
        self.channels[channel.id] = channel
        if self.gateway is not None and self.gateway.has_sessions:
            self.in_background(
                self.gateway.dispatch(
                    "CHANNEL_CREATE",
                    self.channel_payload(channel),
                    guild_id=guild.id,
                    intent=GUILDS,
                )
            )
        self.touch()
        return channel

    def add_voice_channel(
        self, guild: FakeGuild, name: str, *, bitrate: int, user_limit: int
    ) -> FakeChannel:
        if not 8_000 <= bitrate <= 384_000:
            raise ValueError(f"bitrate must be between 8000 and 384000 bit/s, got {bitrate}")
        if not 0 <= user_limit <= 99:
            raise ValueError(f"user_limit must be between 0 (no limit) and 99, got {user_limit}")
        channel = FakeChannel(
            self.ids.next(),
            name,
            ChannelKind.VOICE,
            guild=guild,
            position=len(guild.channels),
            bitrate=bitrate,
            user_limit=user_limit,
        )
        return self._add_channel(guild, channel)

    def set_voice_state(
        self,
        guild: FakeGuild,
        user: FakeUser,
        channel: FakeChannel | None,
        *,
        session_id: str,
        self_mute: bool = False,
        self_deaf: bool = False,
    ) -> dict[str, Any]:
        """Put ``user`` in ``channel`` (None: out of voice); the VOICE_STATE_UPDATE data."""
        if channel is not None and (
            channel.guild is not guild or channel.kind is not ChannelKind.VOICE
        ):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        key = (guild.id, user.id)
        if channel is None:
            self.voice_states.pop(key, None)
            if self.voice is not None:
                self.voice.revoke(guild.id, user.id)
        else:
            self.voice_states[key] = FakeVoiceState(
                guild.id, channel.id, user.id, session_id, self_mute, self_deaf
            )
        self.touch()
        return {
            **self.voice_state_payload(guild, user, channel, session_id, self_mute, self_deaf),
            "guild_id": str(guild.id),
        }

    def voice_state_payload(
        self,
        guild: FakeGuild,
        user: FakeUser,
        channel: FakeChannel | None,
        session_id: str,
        self_mute: bool,
        self_deaf: bool,
    ) -> dict[str, Any]:
        return {
            "channel_id": None if channel is None else str(channel.id),
            "user_id": str(user.id),
            "member": self.member_payload(guild, user),
            "session_id": session_id,
            "deaf": False,
            "mute": False,
            "self_deaf": self_deaf,
            "self_mute": self_mute,
            "self_stream": False,
            "self_video": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }

    def add_member(self, guild: FakeGuild, user: FakeUser) -> None:
        if user in guild.members:
            return
        self.users.setdefault(user.id, user)
        guild.members.append(user)
        self._joined_at[(guild.id, user.id)] = time.time()
        if self.gateway is not None and self.gateway.has_sessions:
            data = {**self.member_payload(guild, user), "guild_id": str(guild.id)}
            self.in_background(
                self.gateway.dispatch(
                    "GUILD_MEMBER_ADD", data, guild_id=guild.id, intent=GUILD_MEMBERS
                )
            )
        self.touch()

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """The bot's DM channel with ``user`` (made on first use, like Discord's)."""
        channel = self.dm_channels.get(user.id)
        if channel is None:
            channel = FakeChannel(self.ids.next(), "", ChannelKind.DM, recipient=user)
            self.dm_channels[user.id] = channel
            self.channels[channel.id] = channel
        return channel

    def create_thread(
        self,
        parent: FakeChannel,
        name: str,
        *,
        starter: FakeMessage | None,
        kind: ChannelKind,
        owner: FakeUser,
    ) -> FakeChannel:
        """A thread under ``parent``; one started from a message takes that message's id."""
        if parent.guild is None or parent.kind is not ChannelKind.TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if starter is not None and starter.thread is not None:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        if not 1 <= len(name) <= 100:
            raise invalid_form(
                {
                    "name": field_error(
                        "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                    )
                }
            )
        thread_id = starter.id if starter is not None else self.ids.next()
        thread = FakeChannel(
            thread_id, name, kind, guild=parent.guild, parent=parent, owner_id=owner.id
        )
        parent.guild.channels.append(thread)
        self.channels[thread.id] = thread
        if starter is not None:
            starter.thread = thread
        self.touch()
        return thread

    # -- users and members ---------------------------------------------------------------------

    def user_payload(self, user: FakeUser) -> dict[str, Any]:
        return {
            "id": str(user.id),
            "username": user.name,
            "discriminator": "0",
            "global_name": None if user.bot else user.name,
            "avatar": None,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
            "flags": 0,
            "bot": user.bot,
            "system": False,
        }

    def me_payload(self) -> dict[str, Any]:
        return {
            **self.user_payload(self.bot_user),
            "verified": True,
            "mfa_enabled": False,
            "email": None,
            "locale": "en-US",
            "premium_type": 0,
        }

    def member_payload(
        self, guild: FakeGuild, user: FakeUser, *, with_user: bool = True, permissions: bool = False
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "nick": None,
            "avatar": None,
            "banner": None,
            "roles": [],
            "joined_at": iso(self._joined_at.get((guild.id, user.id))),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            payload["user"] = self.user_payload(user)
        if permissions:
            payload["permissions"] = str(self.permissions_of(guild, user))
        return payload

    def permissions_of(
        self, guild: FakeGuild | None, user: FakeUser, channel: FakeChannel | None = None
    ) -> int:
        if guild is not None and user.id == guild.owner_id:
            return ALL_PERMISSIONS
        base = ALL_PERMISSIONS if user.bot or guild is None else EVERYONE_PERMISSIONS
        if channel is not None and user.id in channel.overwrites:
            allow, deny = channel.overwrites[user.id]
            base = (base & ~deny) | allow
        return base

    def set_overwrite(self, channel: FakeChannel, user: FakeUser, *, allow: int, deny: int) -> None:
        """A member permission overwrite on `channel` (CHANNEL_UPDATE if the bot is connected)."""
        if channel.guild is None:
            raise ValueError("DM channels have no permission overwrites")
        channel.overwrites[user.id] = (allow, deny)
        if self.gateway is not None and self.gateway.has_sessions:
            self.in_background(
                self.gateway.dispatch(
                    "CHANNEL_UPDATE",
                    self.channel_payload(channel),
                    guild_id=channel.guild.id,
                    intent=GUILDS,
                )
            )
        self.touch()

    # -- channels and guilds -------------------------------------------------------------------

    def channel_payload(
        self, channel: FakeChannel, *, for_user: FakeUser | None = None
    ) -> dict[str, Any]:
        last = channel.messages[-1].id if channel.messages else None
        payload: dict[str, Any] = {
            "id": str(channel.id),
            "type": int(channel.kind),
            "last_message_id": None if last is None else str(last),
            "flags": 0,
        }
        if channel.kind is ChannelKind.DM:
            assert channel.recipient is not None
            payload["recipients"] = [self.user_payload(channel.recipient)]
        else:
            assert channel.guild is not None
            payload.update(
                guild_id=str(channel.guild.id),
                name=channel.name,
                position=channel.position,
                permission_overwrites=[
                    {"id": str(user_id), "type": 1, "allow": str(allow), "deny": str(deny)}
                    for user_id, (allow, deny) in channel.overwrites.items()
                ],
                nsfw=False,
                rate_limit_per_user=0,
                parent_id=None if channel.parent is None else str(channel.parent.id),
            )
            if channel.kind is ChannelKind.TEXT:
                payload.update(topic=None, default_auto_archive_duration=1440)
            elif channel.kind is ChannelKind.VOICE:
                payload.update(
                    bitrate=channel.bitrate,
                    user_limit=channel.user_limit,
                    rtc_region=None,
                    video_quality_mode=1,
                )
            else:
                count = len(channel.messages)
                created = channel.id >> 22
                payload.update(
                    owner_id=str(channel.owner_id),
                    message_count=count,
                    total_message_sent=count,
                    member_count=1,
                    thread_metadata={
                        "archived": False,
                        "auto_archive_duration": 1440,
                        "archive_timestamp": iso((created + 1_420_070_400_000) / 1000),
                        "locked": False,
                        "invitable": True,
                        "create_timestamp": iso((created + 1_420_070_400_000) / 1000),
                    },
                )
        if for_user is not None:
            payload["permissions"] = str(self.permissions_of(channel.guild, for_user, channel))
        return payload

    def thread_member_payload(self, thread: FakeChannel, user: FakeUser) -> dict[str, Any]:
        return {
            "id": str(thread.id),
            "user_id": str(user.id),
            "join_timestamp": iso(),
            "flags": 0,
        }

    def everyone_role(self, guild: FakeGuild) -> dict[str, Any]:
        return {
            "id": str(guild.id),
            "name": "@everyone",
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": 0,
            "permissions": str(EVERYONE_PERMISSIONS),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def guild_payload(self, guild: FakeGuild) -> dict[str, Any]:
        """The guild object of GET /guilds/{id} (no members or channels, like Discord's)."""
        first_text = next((c for c in guild.channels if c.kind is ChannelKind.TEXT), None)
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [self.everyone_role(guild)],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None if first_text is None else str(first_text.id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "max_members": 500000,
            "max_video_channel_users": 25,
        }

    def guild_create_payload(
        self, guild: FakeGuild, intents: int, *, joined: bool = False
    ) -> dict[str, Any]:
        """GUILD_CREATE; ``joined`` (the bot was just added) leaves out ``unavailable``, which
        discord.py reads as "guild_join" rather than "guild_available"."""
        # Without the presence intent Discord sends only the bot's own member; the rest come from
        # member chunking (op 8), which discord.py does when it has the members intent.
        # Members in voice come too, as Discord sends them for large guilds.
        in_voice = {user_id for (guild_id, user_id) in self.voice_states if guild_id == guild.id}
        members = (
            guild.members
            if intents & GUILD_PRESENCES
            else [u for u in guild.members if u is self.bot_user or u.id in in_voice]
        )
        payload = {
            **self.guild_payload(guild),
            "joined_at": iso(self._joined_at.get((guild.id, self.bot_user.id))),
            "large": len(guild.members) >= 250,
            "unavailable": False,
            "member_count": len(guild.members),
            "members": [self.member_payload(guild, user) for user in members],
            "channels": [self.channel_payload(c) for c in guild.channels if not c.is_thread],
            "threads": [self.channel_payload(c) for c in guild.channels if c.is_thread],
            "voice_states": [
                self.voice_state_payload(
                    guild,
                    self.users[state.user_id],
                    self.channels[state.channel_id],
                    state.session_id,
                    state.self_mute,
                    state.self_deaf,
                )
                for (guild_id, _), state in self.voice_states.items()
                if guild_id == guild.id
            ],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }
        if joined:
            del payload["unavailable"]
        return payload

    def application_payload(self) -> dict[str, Any]:
        """GET /oauth2/applications/@me."""
        return {
            "id": str(self.application_id),
            "name": self.bot_user.name,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": self.user_payload(self.owner),
            "team": None,
            "bot": self.user_payload(self.bot_user),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "approximate_guild_count": len(self.guilds),
            "integration_types_config": {"0": {}},
            "tags": [],
        }

    # -- messages ------------------------------------------------------------------------------

    def attachment_payload(self, attachment: FakeAttachment) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(attachment.id),
            "filename": attachment.filename,
            "size": attachment.size,
            "url": attachment.url,
            "proxy_url": attachment.url,
            "content_type": attachment.content_type,
            "flags": 0,
        }
        if attachment.description is not None:
            payload["description"] = attachment.description
        return payload

    def message_payload(
        self, message: FakeMessage, *, gateway: bool = False, intents: int = -1
    ) -> dict[str, Any]:
        """A message object; ``gateway`` adds guild_id/member, ``intents`` redacts content."""
        channel = self.channels[message.channel_id]
        author = self.users[message.author_id]
        guild = channel.guild
        content_visible = (
            intents & MESSAGE_CONTENT
            or message.author_id == self.bot_user.id
            or guild is None
            or self.bot_user.id in message.mentions
        )
        payload: dict[str, Any] = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "author": self.user_payload(author),
            "content": message.content if content_visible else "",
            "timestamp": iso(_snowflake_seconds(message.id)),
            "edited_timestamp": None
            if message.edited_at is None
            else iso(time.time() - (time.monotonic() - message.edited_at)),
            "tts": False,
            "mention_everyone": False,
            "mentions": [self._mention_payload(guild, uid, gateway) for uid in message.mentions],
            "mention_roles": [],
            "attachments": [self.attachment_payload(a) for a in message.attachments]
            if content_visible
            else [],
            "embeds": list(message.embeds) if content_visible else [],
            "components": list(message.components) if content_visible else [],
            "pinned": False,
            "type": message.type,
            "flags": message.flags,
        }
        if message.reactions:
            payload["reactions"] = [
                {"count": 1, "me": True, "emoji": {"id": None, "name": emoji}}
                for emoji in message.reactions
            ]
        if message.webhook_id is not None:
            payload["webhook_id"] = str(message.webhook_id)
        if message.interaction is not None:
            payload.update(self._interaction_metadata(message))
        if message.reference_id is not None:
            payload["message_reference"] = {
                "type": 0,
                "message_id": str(message.reference_id),
                "channel_id": str(message.channel_id),
                "guild_id": None if guild is None else str(guild.id),
            }
        if message.thread is not None:
            payload["thread"] = self.channel_payload(message.thread)
        if gateway and guild is not None:
            payload["guild_id"] = str(guild.id)
            if message.webhook_id is None:
                payload["member"] = self.member_payload(guild, author, with_user=False)
        return payload

    def _mention_payload(
        self, guild: FakeGuild | None, user_id: int, gateway: bool
    ) -> dict[str, Any]:
        user = self.users[user_id]
        payload = self.user_payload(user)
        if gateway and guild is not None and user in guild.members:
            payload["member"] = self.member_payload(guild, user, with_user=False)
        return payload

    def _interaction_metadata(self, message: FakeMessage) -> dict[str, Any]:
        interaction = message.interaction
        assert interaction is not None
        name = interaction.payload.get("data", {}).get("name")
        metadata: dict[str, Any] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": self.user_payload(interaction.user),
            "authorizing_integration_owners": interaction.payload["authorizing_integration_owners"],
        }
        if name is not None:
            metadata["name"] = name
        if interaction.original_message is not None and interaction.original_message is not message:
            metadata["original_response_message_id"] = str(interaction.original_message.id)
        if interaction.message is not None:
            metadata["interacted_message_id"] = str(interaction.message.id)
        legacy = {
            "id": str(interaction.id),
            "type": interaction.type,
            "name": name or "",
            "user": self.user_payload(interaction.user),
        }
        return {
            "application_id": str(self.application_id),
            "interaction_metadata": metadata,
            "interaction": legacy,
        }

    def find_message(self, channel: FakeChannel, message_id: int) -> FakeMessage:
        for message in channel.messages:
            if message.id == message_id and not message.deleted:
                return message
        raise ApiError(404, 10008, "Unknown Message")

    def create_message(
        self,
        channel: FakeChannel,
        author: FakeUser,
        body: Mapping[str, Any],
        uploads: Sequence[Upload] = (),
        *,
        interaction: FakeInteraction | None = None,
        message_type: int = 0,
        loading: bool = False,
    ) -> FakeMessage:
        """Validate ``body`` as Discord would and store the message (not dispatched here).

        Ephemeral messages (flags 64, interaction answers only) stay off ``channel.messages``:
        only the interaction keeps them.
        """
        message_id = self.ids.next()
        flags = int(body.get("flags") or 0)
        if interaction is None:
            flags &= ~EPHEMERAL
        if loading:
            flags |= LOADING
        validate_message_body(body)
        attachments = self.build_attachments(channel, body, uploads, existing=[])
        message = FakeMessage(
            id=message_id,
            channel_id=channel.id,
            author_id=author.id,
            content=body.get("content") or "",
            embeds=normalize_embeds(body.get("embeds") or [], attachments),
            components=list(body.get("components") or []),
            flags=flags,
            attachments=attachments,
            interaction=interaction,
            mentions=self.mentions_in(body.get("content") or ""),
            type=message_type,
            webhook_id=self.application_id if interaction is not None else None,
        )
        reference = body.get("message_reference")
        if isinstance(reference, Mapping) and reference.get("message_id") is not None:
            self.find_message(channel, int(reference["message_id"]))
            message.reference_id = int(reference["message_id"])
            message.type = 19
        if (
            not loading
            and is_empty(message)
            and not body.get("sticker_ids")
            and not body.get("poll")
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")
        if not message.ephemeral:
            channel.messages.append(message)
        self.touch()
        return message

    def edit_message(
        self, message: FakeMessage, body: Mapping[str, Any], uploads: Sequence[Upload] = ()
    ) -> None:
        """Apply a PATCH: only the fields present change; a deferred placeholder stops loading."""
        validate_message_body(body)
        channel = self.channels[message.channel_id]
        if "attachments" in body or uploads:
            message.attachments = self.build_attachments(
                channel, body, uploads, existing=message.attachments
            )
        if "content" in body:
            message.content = body["content"] or ""
            message.mentions = self.mentions_in(message.content)
        if "embeds" in body:
            message.embeds = normalize_embeds(body["embeds"] or [], message.attachments)
        if "components" in body:
            message.components = list(body["components"] or [])
        if body.get("flags") is not None:
            # Only SUPPRESS_EMBEDS (4) can be changed by an edit; ephemerality is fixed.
            message.flags = (message.flags & ~4) | (int(body["flags"]) & 4)
        message.flags &= ~LOADING
        if is_empty(message):
            raise ApiError(400, 50006, "Cannot send an empty message")
        message.edited_at = time.monotonic()
        self.touch()

    def mentions_in(self, content: str) -> list[int]:
        found: list[int] = []
        for match in _MENTION.finditer(content):
            user_id = int(match.group(1))
            if user_id in self.users and user_id not in found:
                found.append(user_id)
        return found

    def build_attachments(
        self,
        channel: FakeChannel,
        body: Mapping[str, Any],
        uploads: Sequence[Upload],
        *,
        existing: Sequence[FakeAttachment],
    ) -> list[FakeAttachment]:
        """The attachments a create/edit ends with: kept ones (by id) and new ``files[n]``."""
        for upload in uploads:
            if len(upload.data) > self.attachment_size_limit:
                raise ApiError(413, 40005, "Request entity too large")
        by_index = {upload.index: upload for upload in uploads}
        old = {attachment.id: attachment for attachment in existing}
        specs = body.get("attachments")
        result: list[FakeAttachment] = []
        used: set[int] = set()
        if specs is None:
            result.extend(existing)
        else:
            for position, spec in enumerate(specs):
                spec_id = int(spec.get("id", -1))
                if spec_id in old:
                    result.append(old[spec_id])
                elif spec_id in by_index:
                    used.add(spec_id)
                    upload = by_index[spec_id]
                    result.append(
                        self.store_attachment(
                            channel.id,
                            spec.get("filename") or upload.filename,
                            upload.data,
                            upload.content_type,
                            spec.get("description"),
                        )
                    )
                else:
                    raise invalid_form(
                        {
                            "attachments": {
                                str(position): field_error(
                                    "ATTACHMENT_NOT_FOUND", f"Unknown attachment id {spec_id}"
                                )
                            }
                        }
                    )
        for upload in uploads:
            if upload.index not in used:
                result.append(
                    self.store_attachment(
                        channel.id, upload.filename, upload.data, upload.content_type, None
                    )
                )
        return result

    def store_attachment(
        self,
        channel_id: int,
        filename: str,
        data: bytes,
        content_type: str | None,
        description: str | None,
    ) -> FakeAttachment:
        """Keep the bytes and serve them at a CDN-like URL on this server."""
        attachment_id = self.ids.next()
        # discord.py labels every upload application/octet-stream; Discord names the type itself.
        guessed = mimetypes.guess_type(filename)[0]
        attachment = FakeAttachment(
            id=attachment_id,
            filename=filename,
            content_type=guessed or content_type or "application/octet-stream",
            data=data,
            url=f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{quote(filename)}",
            description=description,
        )
        self.attachments[attachment_id] = attachment
        return attachment

    # -- application commands -------------------------------------------------------------------

    def store_commands(
        self, commands: Sequence[Mapping[str, Any]], guild: FakeGuild | None
    ) -> list[dict[str, Any]]:
        """A bulk overwrite: keeps the id of a command that keeps its name and type."""
        if not isinstance(commands, Sequence) or isinstance(commands, str | bytes):
            raise invalid_form(
                {"_errors": [{"code": "BASE_TYPE_ARRAY", "message": "Must be an array."}]}
            )
        if len(commands) > 100:
            raise invalid_form(
                {
                    "_errors": [
                        {
                            "code": "BASE_TYPE_MAX_LENGTH",
                            "message": "Must be 100 or fewer in length.",
                        }
                    ]
                }
            )
        previous = self.global_commands if guild is None else self.guild_commands.get(guild.id, {})
        stored: dict[str, dict[str, Any]] = {}
        errors: dict[str, Any] = {}
        for index, command in enumerate(commands):
            problem = command_problem(command)
            if problem is not None:
                errors[str(index)] = problem
                continue
            kind = int(command.get("type", 1))
            old = previous.get(command["name"])
            same = old is not None and old["type"] == kind
            command_id = old["id"] if same and old is not None else str(self.ids.next())
            record: dict[str, Any] = {
                "id": command_id,
                "application_id": str(self.application_id),
                "version": str(self.ids.next()),
                "type": kind,
                "name": command["name"],
                "description": command.get("description", ""),
                "options": list(command.get("options") or []),
                "default_member_permissions": command.get("default_member_permissions"),
                "dm_permission": command.get("dm_permission", True),
                "nsfw": command.get("nsfw", False),
                "contexts": command.get("contexts"),
                "integration_types": command.get("integration_types", [0]),
                "name_localizations": command.get("name_localizations"),
                "description_localizations": command.get("description_localizations"),
            }
            if guild is not None:
                record["guild_id"] = str(guild.id)
            stored[command["name"]] = record
        if errors:
            raise invalid_form(errors)
        if guild is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild.id] = stored
        self.command_syncs += 1
        self.touch()
        return list(stored.values())

    def commands_for(self, channel: FakeChannel) -> dict[str, dict[str, Any]]:
        """What a user sees in ``channel``: global commands, overridden by the guild's own."""
        found = dict(self.global_commands)
        if channel.guild is not None:
            found.update(self.guild_commands.get(channel.guild.id, {}))
        return found

    def all_commands(self) -> dict[str, dict[str, Any]]:
        found = dict(self.global_commands)
        for commands in self.guild_commands.values():
            found.update(commands)
        return found

    # -- interactions --------------------------------------------------------------------------

    def new_interaction(
        self,
        kind: int,
        user: FakeUser,
        channel: FakeChannel,
        data: dict[str, Any],
        *,
        message: FakeMessage | None = None,
    ) -> FakeInteraction:
        """An interaction with the full payload discord.py 2.7 reads (`Interaction._from_data`)."""
        interaction_id = self.ids.next()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
        guild = channel.guild
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": str(channel.id),
            "channel": self.channel_payload(channel, for_user=user),
            "app_permissions": str(ALL_PERMISSIONS),
            "locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": self.attachment_size_limit,
        }
        if guild is not None:
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=self.member_payload(guild, user, permissions=True),
                context=0,
                authorizing_integration_owners={"0": str(guild.id)},
            )
        else:
            payload.update(
                user=self.user_payload(user),
                context=1,
                authorizing_integration_owners={"0": "0"},
            )
        if message is not None:
            payload["message"] = self.message_payload(message)
        interaction = FakeInteraction(
            id=interaction_id,
            token=token,
            type=kind,
            user=user,
            channel=channel,
            payload=payload,
            message=message,
            _world=self,
        )
        self.interactions.append(interaction)
        self.interactions_by_id[interaction_id] = interaction
        self.touch()
        return interaction

    def interaction_by_token(self, application_id: int, token: str) -> FakeInteraction:
        if application_id != self.application_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        for interaction in reversed(self.interactions):
            if interaction.token == token:
                return interaction
        raise ApiError(404, 10015, "Unknown Webhook")


def _snowflake_seconds(snowflake: int) -> float:
    return ((snowflake >> 22) + 1_420_070_400_000) / 1000


def is_empty(message: FakeMessage) -> bool:
    return (
        not message.content.strip()
        and not message.embeds
        and not message.attachments
        and not message.components
    )


def normalize_embeds(
    embeds: Sequence[Mapping[str, Any]], attachments: Sequence[FakeAttachment]
) -> list[dict[str, Any]]:
    """Embeds as Discord echoes them: ``type`` filled in, ``attachment://name`` made a real URL."""
    urls = {a.filename: a.url for a in attachments}
    normalized: list[dict[str, Any]] = []
    for embed in embeds:
        copy = {"type": "rich", **embed}
        for key in ("image", "thumbnail"):
            part = copy.get(key)
            if isinstance(part, Mapping):
                copy[key] = _resolve_attachment_url(part, "url", urls)
        for key in ("footer", "author"):
            part = copy.get(key)
            if isinstance(part, Mapping):
                copy[key] = _resolve_attachment_url(part, "icon_url", urls)
        normalized.append(copy)
    return normalized


def _resolve_attachment_url(
    part: Mapping[str, Any], key: str, urls: Mapping[str, str]
) -> dict[str, Any]:
    copy = dict(part)
    url = copy.get(key)
    if isinstance(url, str) and url.startswith("attachment://"):
        name = url.removeprefix("attachment://")
        if name in urls:
            copy[key] = urls[name]
            copy["proxy_url"] = urls[name]
    return copy


def validate_message_body(body: Mapping[str, Any]) -> None:
    """Discord's length and count limits on content, embeds and components (50035 if broken)."""
    errors: dict[str, Any] = {}
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        errors["content"] = field_error("BASE_TYPE_STRING", "Must be a string.")
    elif isinstance(content, str) and len(content) > MESSAGE_CONTENT_MAX:
        errors["content"] = too_long(MESSAGE_CONTENT_MAX)
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        errors["embeds"] = too_long(EMBEDS_MAX)
    else:
        embed_errors = {str(i): e for i, embed in enumerate(embeds) if (e := embed_problems(embed))}
        if embed_errors:
            errors["embeds"] = embed_errors
        total = sum(embed_length(embed) for embed in embeds)
        if total > EMBED_TOTAL_MAX:
            errors.setdefault("embeds", {})["_errors"] = [
                {
                    "code": "MAX_EMBED_SIZE_EXCEEDED",
                    "message": "Embed size exceeds maximum size of 6000",
                }
            ]
    component_errors = component_problems(body.get("components") or [], int(body.get("flags") or 0))
    if component_errors:
        errors["components"] = component_errors
    if errors:
        raise invalid_form(errors)


_EMBED_LIMITS = {"title": 256, "description": 4096}


def embed_problems(embed: Mapping[str, Any]) -> dict[str, Any]:
    problems: dict[str, Any] = {}
    for key, limit in _EMBED_LIMITS.items():
        value = embed.get(key)
        if isinstance(value, str) and len(value) > limit:
            problems[key] = too_long(limit)
    fields = embed.get("fields") or []
    if len(fields) > 25:
        problems["fields"] = too_long(25)
    else:
        field_errors: dict[str, Any] = {}
        for index, item in enumerate(fields):
            item_errors: dict[str, Any] = {}
            for key, limit in (("name", 256), ("value", 1024)):
                value = item.get(key)
                if not isinstance(value, str) or not value:
                    item_errors[key] = field_error("BASE_TYPE_REQUIRED", "This field is required")
                elif len(value) > limit:
                    item_errors[key] = too_long(limit)
            if item_errors:
                field_errors[str(index)] = item_errors
        if field_errors:
            problems["fields"] = field_errors
    footer = embed.get("footer")
    if isinstance(footer, Mapping) and len(footer.get("text") or "") > 2048:
        problems["footer"] = {"text": too_long(2048)}
    author = embed.get("author")
    if isinstance(author, Mapping) and len(author.get("name") or "") > 256:
        problems["author"] = {"name": too_long(256)}
    return problems


def embed_length(embed: Mapping[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for item in embed.get("fields") or []:
        total += len(item.get("name") or "") + len(item.get("value") or "")
    footer = embed.get("footer")
    if isinstance(footer, Mapping):
        total += len(footer.get("text") or "")
    author = embed.get("author")
    if isinstance(author, Mapping):
        total += len(author.get("name") or "")
    return total


_COMPONENTS_V2 = 1 << 15


def component_problems(components: Sequence[Mapping[str, Any]], flags: int) -> dict[str, Any]:
    """Rows of at most 5 buttons, unique custom ids up to 100 chars, labels up to 80."""
    problems: dict[str, Any] = {}
    if not flags & _COMPONENTS_V2 and len(components) > 5:
        return too_long(5)
    seen: set[str] = set()
    for index, row in enumerate(components):
        row_problems: dict[str, Any] = {}
        children = row.get("components") or []
        if row.get("type") == 1 and len(children) > 5:
            row_problems["components"] = too_long(5)
        for child_index, child in enumerate(children):
            child_problems: dict[str, Any] = {}
            custom_id = child.get("custom_id")
            if child.get("type") == 2:
                style = child.get("style")
                if style == 5 and not child.get("url"):
                    child_problems["url"] = field_error(
                        "BASE_TYPE_REQUIRED", "This field is required"
                    )
                if style in (1, 2, 3, 4) and not custom_id:
                    child_problems["custom_id"] = field_error(
                        "BASE_TYPE_REQUIRED", "This field is required"
                    )
                if not child.get("label") and not child.get("emoji") and style != 6:
                    child_problems["label"] = field_error(
                        "BUTTON_COMPONENT_MISSING_LABEL_OR_EMOJI", "A label or an emoji is required"
                    )
                if len(child.get("label") or "") > 80:
                    child_problems["label"] = too_long(80)
            if isinstance(custom_id, str):
                if len(custom_id) > 100:
                    child_problems["custom_id"] = too_long(100)
                elif custom_id in seen:
                    child_problems["custom_id"] = field_error(
                        "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"
                    )
                seen.add(custom_id)
            if child_problems:
                row_problems.setdefault("components", {})[str(child_index)] = child_problems
        if row_problems:
            problems[str(index)] = row_problems
    return problems


_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


def command_problem(command: Mapping[str, Any]) -> dict[str, Any] | None:
    """What Discord rejects in one application command, or None."""
    name = command.get("name")
    kind = int(command.get("type", 1))
    if not isinstance(name, str) or not name:
        return {"name": field_error("BASE_TYPE_REQUIRED", "This field is required")}
    if kind == 1:
        if not _COMMAND_NAME.match(name) or name != name.lower():
            return {
                "name": field_error("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
            }
        description = command.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            return {
                "description": field_error(
                    "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                )
            }
        return option_problem(command.get("options") or [])
    return None


def option_problem(options: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    if len(options) > 25:
        return {"options": too_long(25)}
    optional_seen = False
    for index, option in enumerate(options):
        if option.get("type") in (1, 2):
            nested = option_problem(option.get("options") or [])
            if nested is not None:
                return {"options": {str(index): nested}}
            continue
        if option.get("required"):
            if optional_seen:
                return {
                    "options": {
                        str(index): field_error(
                            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                            "Required options must be placed before non-required options",
                        )
                    }
                }
        else:
            optional_seen = True
        if len(option.get("choices") or []) > 25:
            return {"options": {str(index): {"choices": too_long(25)}}}
    return None
