"""What the fake Discord knows: users, guilds, channels, messages, interactions.

These are the objects tests hold and inspect. Their JSON form (what the real API would send) is made
by `bot.fake_discord.world.World`, which owns them.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.fake_discord.world import World

DISCORD_EPOCH_MS = 1_420_070_400_000

# Message flags (https://discord.com/developers/docs/resources/message#message-object-message-flags).
EPHEMERAL = 1 << 6
LOADING = 1 << 7


class FakeDiscordError(Exception):
    """A test drove the fake Discord in a way real Discord's client could not (unknown option, …)."""


class FakeDiscordTimeout(FakeDiscordError, TimeoutError):
    """What a test waited for did not happen in time; the message says what was awaited."""


class SnowflakeFactory:
    """Discord-shaped ids: the creation time in the top bits, always increasing.

    discord.py reads the time back out of ids (`snowflake_time`, the delete-message sub-limit), so the
    ids must be real snowflakes, not small counters.
    """

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last


class ChannelKind(enum.IntEnum):
    """Discord channel types the fake models."""

    TEXT = 0
    DM = 1
    VOICE = 2
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12


@dataclass(frozen=True)
class FakeUser:
    """A Discord account: a person, or the bot itself."""

    id: int
    name: str
    bot: bool = False

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass(frozen=True)
class FakeAttachment:
    """A file on a message (or an attachment option of a slash command), with its bytes."""

    id: int
    filename: str
    content_type: str
    data: bytes
    url: str
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class RequestRecord:
    """One REST request the fake answered: when (monotonic), what, and the status it got."""

    at: float
    method: str
    path: str  # relative to api_base, without the query: "/channels/123/messages"
    status: int


@dataclass(eq=False)
class FakeChannel:
    """A text or voice channel, a thread (``parent`` set) or a DM channel (``guild`` None)."""

    id: int
    name: str
    kind: ChannelKind
    guild: FakeGuild | None = None
    parent: FakeChannel | None = None
    recipient: FakeUser | None = None  # DM channels only
    owner_id: int | None = None  # threads only
    position: int = 0
    bitrate: int = 64_000  # voice channels only
    user_limit: int = 0  # voice channels only; 0 is no limit
    messages: list[FakeMessage] = field(default_factory=list)
    # Member permission overwrites: user id -> (allow bits, deny bits).
    overwrites: dict[int, tuple[int, int]] = field(default_factory=dict)

    def deny(self, user: FakeUser, permissions: int) -> None:
        """Take `permissions` (bits) from `user` in this channel with a member overwrite,
        announced with CHANNEL_UPDATE if the bot is connected."""
        assert self.guild is not None and self.guild._world is not None
        self.guild._world.set_overwrite(self, user, allow=0, deny=permissions)

    @property
    def is_thread(self) -> bool:
        return self.kind in (ChannelKind.PUBLIC_THREAD, ChannelKind.PRIVATE_THREAD)

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"


@dataclass(eq=False)
class FakeGuild:
    """A server. The bot is always a member; so is the application's owner (`FakeDiscord.owner`)."""

    id: int
    name: str
    owner_id: int
    channels: list[FakeChannel] = field(default_factory=list)
    members: list[FakeUser] = field(default_factory=list)
    _world: World | None = field(default=None, repr=False)

    def add_text_channel(self, name: str) -> FakeChannel:
        """A new text channel (announced with CHANNEL_CREATE if the bot is connected)."""
        assert self._world is not None
        return self._world.add_text_channel(self, name)

    def add_voice_channel(
        self, name: str, *, bitrate: int = 64_000, user_limit: int = 0
    ) -> FakeChannel:
        """A new voice channel (type 2; announced with CHANNEL_CREATE if the bot is connected)."""
        assert self._world is not None
        return self._world.add_voice_channel(self, name, bitrate=bitrate, user_limit=user_limit)

    def add_member(self, user: FakeUser) -> None:
        """Make ``user`` a member (announced with GUILD_MEMBER_ADD if the bot is connected)."""
        assert self._world is not None
        self._world.add_member(self, user)

    @property
    def threads(self) -> list[FakeChannel]:
        return [channel for channel in self.channels if channel.is_thread]


@dataclass(frozen=True)
class FakeVoiceState:
    """Who is in which voice channel of a guild (what VOICE_STATE_UPDATE carries)."""

    guild_id: int
    channel_id: int
    user_id: int
    session_id: str
    self_mute: bool = False
    self_deaf: bool = False


@dataclass(eq=False)
class FakeMessage:
    """A message as the fake stores it; edits change it in place (``edited_at`` set)."""

    id: int
    channel_id: int
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    flags: int = 0
    attachments: list[FakeAttachment] = field(default_factory=list)
    thread: FakeChannel | None = None
    interaction: FakeInteraction | None = None
    mentions: list[int] = field(default_factory=list)
    type: int = 0
    webhook_id: int | None = None
    reference_id: int | None = None  # the message this one replies to
    edited_at: float | None = None  # monotonic
    deleted: bool = False
    reactions: list[str] = field(default_factory=list)  # emoji the bot added
    created_at: float = field(default_factory=time.monotonic)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """True while this is a deferred response's "thinking…" placeholder."""
        return bool(self.flags & LOADING)

    def buttons(self) -> list[dict[str, Any]]:
        """Every button on the message, flattened out of rows, sections and containers."""
        return [c for c in _walk_components(self.components) if c.get("type") == 2]

    def button(self, custom_id: str) -> dict[str, Any]:
        """The button with ``custom_id``; KeyError naming the ids there are if it is missing."""
        for candidate in self.buttons():
            if candidate.get("custom_id") == custom_id:
                return candidate
        ids = [b.get("custom_id") for b in self.buttons()]
        raise KeyError(f"message {self.id} has no button {custom_id!r}; its buttons: {ids}")


def _walk_components(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for component in components:
        yield component
        yield from _walk_components(component.get("components") or [])
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, dict):
                yield from _walk_components([child])


@dataclass(eq=False)
class FakeInteraction:
    """One interaction the fake sent the bot, and everything the bot answered to it."""

    id: int
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete, 5 modal submit
    user: FakeUser
    channel: FakeChannel
    payload: dict[str, Any] = field(repr=False)  # the INTERACTION_CREATE data as sent
    message: FakeMessage | None = None  # the message a component or modal was on
    sent_at: float | None = None  # monotonic, when the INTERACTION_CREATE frame went out
    responded_at: float | None = None  # monotonic, when the callback arrived
    callback: dict[str, Any] | None = None  # the callback body: {"type": 4|5|6|7|8|9, "data": …}
    original_message: FakeMessage | None = None
    followups: list[FakeMessage] = field(default_factory=list)
    edits: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    _world: World | None = field(default=None, repr=False)

    @property
    def callback_type(self) -> int | None:
        return None if self.callback is None else int(self.callback["type"])

    async def response(self, timeout: float = 10) -> dict[str, Any]:  # noqa: ASYNC109 - the tests' API takes timeouts
        """The callback body the bot sent (waits for it)."""
        assert self._world is not None
        return await self._world.wait_for(
            lambda: self.callback, timeout, f"the bot's callback to interaction {self.id}"
        )

    async def original(self, timeout: float = 30) -> FakeMessage:  # noqa: ASYNC109 - the tests' API takes timeouts
        """The @original message: made by a type 4/5 callback, or the component's message (6/7)."""
        assert self._world is not None
        return await self._world.wait_for(
            lambda: self.original_message,
            timeout,
            f"the original response message of interaction {self.id}",
        )

    async def followup(self, index: int = 0, timeout: float = 30) -> FakeMessage:  # noqa: ASYNC109 - the tests' API takes timeouts
        """The ``index``-th message the bot posted to this interaction's webhook."""
        assert self._world is not None

        def probe() -> FakeMessage | None:
            return self.followups[index] if len(self.followups) > index else None

        return await self._world.wait_for(
            probe, timeout, f"follow-up #{index} of interaction {self.id}"
        )
