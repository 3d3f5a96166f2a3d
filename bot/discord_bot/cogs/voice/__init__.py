"""The voice feature: /play (and ▶ Play), /queue, /skip, /pause, /resume, /stop, /loop,
/nowplaying, /volume and /radio. `commands` holds the cog, `joining` the voice channel checks,
`controls` the buttons under now-playing messages, `texts` what it says."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord_bot.cogs.voice.commands import Voice
from bot.discord_bot.cogs.voice.controls import VoiceControl

if TYPE_CHECKING:
    from bot.discord_bot.app import Tunesmith

__all__ = ["Voice", "VoiceControl", "setup"]


async def setup(bot: Tunesmith) -> None:
    bot.add_dynamic_items(VoiceControl)
    await bot.add_cog(Voice(bot))
