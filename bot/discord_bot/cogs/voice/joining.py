"""Getting into the right voice channel: where the caller is, whether the bot may speak there,
and connecting (with DAVE end-to-end encryption when Discord asks for it; discord.py does the
protocol with davey)."""

from __future__ import annotations

from typing import Any

import discord

from generators.errors import BadRequest, TunesmithError

CONNECT_TIMEOUT_S = 15.0


class NotInVoice(BadRequest):
    """The person asking is not in a voice channel of this server."""


class VoiceUnavailable(TunesmithError):
    """Discord's voice servers did not let us in in time."""


def caller_channel(interaction: discord.Interaction[Any]) -> discord.VoiceChannel:
    """The voice channel the person asking is in; a clear refusal when there is none."""
    guild = interaction.guild
    if guild is None:
        raise BadRequest("Music in voice channels works in servers, not in direct messages.")
    member = interaction.user
    if not isinstance(member, discord.Member):
        member = guild.get_member(interaction.user.id) or member
    state = member.voice if isinstance(member, discord.Member) else None
    channel = None if state is None else state.channel
    if channel is None:
        raise NotInVoice("Join a voice channel first, then ask again: I'll come to you there.")
    if not isinstance(channel, discord.VoiceChannel):
        raise BadRequest(
            f"🔊 {channel.name} is a stage; I play in ordinary voice channels. Join one of"
            " those and ask again."
        )
    return channel


def check_can_join(channel: discord.VoiceChannel) -> None:
    """Refuse clearly, before trying, when the bot may not join or speak in `channel`."""
    me = channel.guild.me
    allowed = channel.permissions_for(me)
    missing = [
        name
        for name, granted in (
            ("View Channel", allowed.view_channel),
            ("Connect", allowed.connect),
            ("Speak", allowed.speak),
        )
        if not granted
    ]
    if missing:
        which = " and ".join(missing)
        plural = "s" if len(missing) > 1 else ""
        raise BadRequest(
            f"I can't play in 🔊 {channel.name}: I don't have the {which} permission{plural}"
            " there. Ask a server admin to allow me that in the channel's settings"
            " (Edit Channel → Permissions), or join another voice channel."
        )
    full = channel.user_limit and len(channel.members) >= channel.user_limit
    if full and me not in channel.members and not allowed.move_members:
        raise BadRequest(
            f"🔊 {channel.name} is full ({channel.user_limit} people); make room for me or"
            " join another voice channel."
        )


async def connect(channel: discord.VoiceChannel) -> discord.VoiceClient:
    """Join `channel` deafened (the bot only plays); `VoiceUnavailable` when it takes too long."""
    timeout = CONNECT_TIMEOUT_S
    try:
        voice: discord.VoiceProtocol = await channel.connect(
            timeout=timeout, reconnect=True, self_deaf=True
        )
    except TimeoutError:
        raise VoiceUnavailable(
            f"I couldn't connect to 🔊 {channel.name} within {timeout:.0f} s; Discord's voice"
            " servers may be busy. Try again in a minute."
        ) from None
    assert isinstance(voice, discord.VoiceClient)
    return voice
