"""A loopback fake Discord (REST API + gateway websocket) for tests and `tunesmith bench`.

This is a test double: it listens on 127.0.0.1 only, and the bot never uses it in production.
It drives the real discord.py client: point ``discord.http.Route.BASE`` at `FakeDiscord.api_base`
and ``DiscordWebSocket.DEFAULT_GATEWAY`` at `FakeDiscord.gateway_url`, then act as users
(`FakeDiscord.slash`, `click`, `say`, …) and inspect what the bot did (`FakeInteraction`,
`FakeMessage`, `requests`). Failures can be injected: 429s, errors, op 7, op 9, dropped sockets.

Voice: `FakeGuild.add_voice_channel`, gateway op 4 → VOICE_STATE_UPDATE + VOICE_SERVER_UPDATE naming
a loopback voice server (TLS websocket with a throwaway CA, `FakeDiscord.voice_certificates`, and
UDP), which decrypts and Opus-decodes what the client sends (`received_audio`, `received_packets`).
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
    FakeVoiceState,
    RequestRecord,
)
from bot.fake_discord.server import FakeDiscord
from bot.fake_discord.voice import (
    LoopbackCertificates,
    SpeakingEvent,
    VoiceConnection,
    VoicePacket,
    VoiceStateRequest,
    arrival_gap_s,
)

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
    "FakeVoiceState",
    "LoopbackCertificates",
    "RequestRecord",
    "SpeakingEvent",
    "VoiceConnection",
    "VoicePacket",
    "VoiceStateRequest",
    "arrival_gap_s",
]
