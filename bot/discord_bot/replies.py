"""Where a piece's progress and result are shown: an interaction's response, or a reply to a
message (`@Tunesmith compose …`, `!compose …`). The compose flow is the same for both."""

from __future__ import annotations

import abc
import logging
from collections.abc import Sequence
from typing import Any, cast

import discord

log = logging.getLogger(__name__)

# Discord's upload limit when it does not say otherwise (DMs, unboosted servers).
DEFAULT_FILESIZE_LIMIT = 10 * 1024 * 1024


class Reply(abc.ABC):
    """One message that shows progress, then the piece (or what went wrong)."""

    filesize_limit: int
    pending_key: str | None = None  # the interaction remembered until answered (see pending.py)

    @abc.abstractmethod
    async def progress(self, text: str) -> None:
        """Replace the message's text with a progress line."""

    @abc.abstractmethod
    async def finish(
        self,
        *,
        content: str,
        embed: discord.Embed,
        files: Sequence[discord.File],
        view: discord.ui.View,
    ) -> discord.Message:
        """Turn the message into the piece; returns the message as posted."""

    @abc.abstractmethod
    async def fail(self, text: str) -> None:
        """Say what went wrong, to the person who asked."""


class InteractionReply(Reply):
    """The deferred response of an interaction (`/compose`, 🔁 Variation)."""

    def __init__(self, interaction: discord.Interaction[Any]) -> None:
        self.interaction = interaction
        self.filesize_limit = interaction.filesize_limit or DEFAULT_FILESIZE_LIMIT
        self.pending_key = str(interaction.id)

    async def progress(self, text: str) -> None:
        await self.interaction.edit_original_response(content=text)

    async def finish(
        self,
        *,
        content: str,
        embed: discord.Embed,
        files: Sequence[discord.File],
        view: discord.ui.View,
    ) -> discord.Message:
        return await self.interaction.edit_original_response(
            content=content, embed=embed, attachments=list(files), view=view
        )

    async def fail(self, text: str) -> None:
        await tell_privately(self.interaction, text)


# Discord's name for an interaction's first response in webhook routes
# (PATCH /webhooks/{application}/{token}/messages/@original); discord.py formats the message id
# into the route as it is, so the name passes where it types an int.
ORIGINAL_RESPONSE = cast(int, "@original")


class WebhookReply(Reply):
    """A request resumed after a restart, answered through its interaction's webhook, which
    Discord keeps open for 15 minutes: the same message is edited as with `InteractionReply`."""

    def __init__(self, webhook: discord.Webhook, filesize_limit: int, pending_key: str) -> None:
        self.webhook = webhook
        self.filesize_limit = filesize_limit
        self.pending_key = pending_key

    async def progress(self, text: str) -> None:
        await self.webhook.edit_message(ORIGINAL_RESPONSE, content=text)

    async def finish(
        self,
        *,
        content: str,
        embed: discord.Embed,
        files: Sequence[discord.File],
        view: discord.ui.View,
    ) -> discord.Message:
        return await self.webhook.edit_message(
            ORIGINAL_RESPONSE, content=content, embed=embed, attachments=list(files), view=view
        )

    async def fail(self, text: str) -> None:
        try:
            await self.webhook.delete_message(ORIGINAL_RESPONSE)
        except discord.HTTPException as error:
            log.warning("could not remove the thinking message: %s", error)
        await self.webhook.send(text, ephemeral=True)


class MessageReply(Reply):
    """A reply to a chat message; the first progress line posts it, later ones edit it."""

    def __init__(self, message: discord.Message) -> None:
        self.message = message
        self.sent: discord.Message | None = None
        guild = message.guild
        self.filesize_limit = guild.filesize_limit if guild is not None else DEFAULT_FILESIZE_LIMIT

    async def progress(self, text: str) -> None:
        if self.sent is None:
            self.sent = await self.message.reply(text, mention_author=False)
        else:
            self.sent = await self.sent.edit(content=text)

    async def finish(
        self,
        *,
        content: str,
        embed: discord.Embed,
        files: Sequence[discord.File],
        view: discord.ui.View,
    ) -> discord.Message:
        if self.sent is None:
            self.sent = await self.message.reply(
                content, embed=embed, files=list(files), view=view, mention_author=False
            )
        else:
            self.sent = await self.sent.edit(
                content=content, embed=embed, attachments=list(files), view=view
            )
        return self.sent

    async def fail(self, text: str) -> None:
        if self.sent is None:
            await self.message.reply(text, mention_author=False)
        else:
            await self.sent.edit(content=text, embed=None, attachments=[], view=None)


async def tell_privately(interaction: discord.Interaction[Any], text: str) -> None:
    """An ephemeral answer, whatever state the interaction is in. A public "thinking…" message
    left by a deferral is removed first, so nothing is left hanging in the channel."""
    if not interaction.response.is_done():
        await interaction.response.send_message(text, ephemeral=True)
        return
    if interaction.extras.get("public_defer"):
        try:
            await interaction.delete_original_response()
        except discord.HTTPException as error:
            log.warning("could not remove the thinking message: %s", error)
        interaction.extras["public_defer"] = False
    await interaction.followup.send(text, ephemeral=True)


async def defer_publicly(interaction: discord.Interaction[Any]) -> None:
    """Acknowledge now ("Tunesmith is thinking…"), answer within 15 minutes."""
    await interaction.response.defer(thinking=True)
    interaction.extras["public_defer"] = True
