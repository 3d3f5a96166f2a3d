"""⏯ ⏭ ⏹ under a now-playing message: the same controls as /pause, /resume, /skip and /stop."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

import discord

from bot.discord_bot.cogs.compose import bot_of, piece_buttons

if TYPE_CHECKING:
    from bot.discord_bot.cogs.voice.commands import Voice

Button = discord.ui.Button[discord.ui.View]


class VoiceControl(discord.ui.DynamicItem[Button], template=r"voice:(?P<action>toggle|skip|stop)"):
    """One control; the guild is the interaction's, so the custom id needs nothing else and
    the buttons keep working after a restart."""

    BUTTONS: ClassVar[dict[str, tuple[str, str, discord.ButtonStyle]]] = {
        "toggle": ("Pause/Resume", "⏯️", discord.ButtonStyle.secondary),
        "skip": ("Skip", "⏭️", discord.ButtonStyle.secondary),
        "stop": ("Stop", "⏹️", discord.ButtonStyle.danger),
    }

    def __init__(self, action: str) -> None:
        label, emoji, style = self.BUTTONS[action]
        super().__init__(
            discord.ui.Button(label=label, emoji=emoji, style=style, custom_id=f"voice:{action}")
        )
        self.action = action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> VoiceControl:
        return cls(match["action"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        voice: Voice | None = bot.get_cog("Voice")  # type: ignore[assignment]
        try:
            if voice is None:
                raise RuntimeError("the Voice cog is not loaded")
            await voice.control(interaction, self.action)
        except Exception as error:
            await bot.report(interaction, error)


def now_playing_view(piece_id: str, *, likes: int) -> discord.ui.View:
    """The piece's own buttons, then a row of playback controls."""
    view = piece_buttons(piece_id, likes=likes)
    for action in VoiceControl.BUTTONS:
        view.add_item(VoiceControl(action))
    return view
