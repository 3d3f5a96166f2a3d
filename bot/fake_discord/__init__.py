"""A loopback fake Discord (REST API + gateway websocket) for tests and `tunesmith bench`.

This is a test double: it listens on 127.0.0.1 only, and the bot never uses it in production.
It drives the real discord.py client: point ``discord.http.Route.BASE`` at `FakeDiscord.api_base`
and ``DiscordWebSocket.DEFAULT_GATEWAY`` at `FakeDiscord.gateway_url`, then act as users
(`FakeDiscord.slash`, `click`, `say`, …) and inspect what the bot did (`FakeInteraction`,
`FakeMessage`, `requests`). Failures can be injected: 429s, errors, op 7, op 9, dropped sockets.
"""

from bot.fake_discord.model import (
    ChannelKind,
    FakeAttachment,
    FakeChannel,
    FakeDiscordError,
    FakeDiscordTimeout,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    RequestRecord,
)
from bot.fake_discord.server import FakeDiscord

__all__ = [
    "ChannelKind",
    "FakeAttachment",
    "FakeChannel",
    "FakeDiscord",
    "FakeDiscordError",
    "FakeDiscordTimeout",
    "FakeGuild",
    "FakeInteraction",
    "FakeMessage",
    "FakeUser",
    "RequestRecord",
]
