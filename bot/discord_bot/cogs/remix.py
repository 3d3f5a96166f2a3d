"""/remix, the 🎛 Remix button, remix threads and /lineage.

The first remix of a piece opens a thread on the original's message ("Remixes of <title>");
every later remix of it, or of its remixes, is posted in that thread, crediting the chain and
mentioning the original's owner. A piece that was never posted in the server (an uploaded MIDI
file, a piece made on the command line) gets its thread on its first remix's message instead.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot.cogs.compose import make_and_post, place_of
from bot.discord_bot.pieces import mention, owner_of
from bot.discord_bot.replies import InteractionReply, defer_publicly, tell_privately
from bot.errors import NotFound
from bot.grammar import REMIX_EXAMPLE
from bot.ledger import Owner
from bot.lineage import LineageTree, Member, credit_chain, tree_lines
from bot.lineage_picture import draw_lineage
from bot.posts import Place, RemixThread
from bot.studio import MAX_MIDI_BYTES, Order
from generators.errors import BadRequest

if TYPE_CHECKING:
    from bot.discord_bot.app import Tunesmith

log = logging.getLogger(__name__)

THREAD_NAME_CHARS = 100
MODAL_ID = "remix:changes"


@dataclass(frozen=True, slots=True)
class Credits:
    """What a remix's post says about whom it builds on, and whom it pings."""

    chain: list[str]  # "remix of “B” by @bob", then older generations
    notify: list[Owner]  # the original's owner (and the direct parent's), not the remixer
    original: str  # the original's title

    def content(self, remixer: Owner) -> str:
        lines = [f"🎛️ New remix by {mention(remixer)}: " + self.chain[0]] if self.chain else []
        lines += [f"↳ which is a {link}" for link in self.chain[1:3]]
        if len(self.chain) > 3:
            lines.append(f"↳ … and {len(self.chain) - 3} generation(s) further back")
        if self.notify:
            people = ", ".join(mention(owner) for owner in self.notify)
            lines.append(f"{people}: “{self.original}” has a new remix.")
        return "\n".join(lines)


class RemixReply(InteractionReply):
    """Progress on the interaction; the finished remix posted in the remix thread (or the
    channel) as a new message, so its mentions notify; the interaction then points to it."""

    def __init__(
        self,
        interaction: discord.Interaction[Any],
        destination: discord.abc.Messageable,
        credits: Credits,
        remixer: Owner,
    ) -> None:
        super().__init__(interaction)
        self.destination = destination
        self.credits = credits
        self.remixer = remixer

    async def finish(
        self,
        *,
        content: str,
        embed: discord.Embed,
        files: Sequence[discord.File],
        view: discord.ui.View,
    ) -> discord.Message:
        if self.credits.chain:
            embed.add_field(
                name="Remix of", value="\n".join(self.credits.chain)[:1024], inline=False
            )
        text = self.credits.content(self.remixer)
        if "too large" in content:  # post_piece's note that the MP3 could not be attached
            text += "\n" + content.split(". ", 1)[-1]
        message = await self.destination.send(
            content=text,
            embed=embed,
            files=list(files),
            view=view,
            allowed_mentions=discord.AllowedMentions(
                users=[discord.Object(int(o.user_id)) for o in self.credits.notify]
                + [discord.Object(int(self.remixer.user_id))],
                everyone=False,
                roles=False,
            ),
        )
        await self.interaction.edit_original_response(content=f"🎛️ Your remix: {message.jump_url}")
        return message


class RemixModal(discord.ui.Modal):
    """What the 🎛 Remix button asks: the changes, in words."""

    changes: discord.ui.TextInput[RemixModal] = discord.ui.TextInput(
        label="What should change?",
        placeholder=REMIX_EXAMPLE,
        custom_id="changes",
        max_length=200,
    )

    def __init__(self, cog: Remix, piece_id: str) -> None:
        super().__init__(title="Remix this piece", custom_id=f"{MODAL_ID}:{piece_id}")
        self.cog = cog
        self.piece_id = piece_id

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await self.cog.remix(interaction, self.piece_id, self.changes.value)
        except Exception as error:
            await self.cog.bot.report(interaction, error)


class Remix(commands.Cog):
    """Remixes of stored pieces and uploaded MIDI files, their threads, and /lineage."""

    def __init__(self, bot: Tunesmith) -> None:
        self.bot = bot

    # -- commands ---------------------------------------------------------------------------

    @app_commands.command(
        name="remix", description="Remix a piece (or your own MIDI file): as jazz, faster, …"
    )
    @app_commands.describe(
        changes="what to change: " + REMIX_EXAMPLE,
        piece="the piece's id (from its card or /mine)",
        midi="a .mid file of yours to arrange instead (melody and harmony are kept)",
    )
    async def remix_command(
        self,
        interaction: discord.Interaction[Any],
        changes: str,
        piece: str | None = None,
        midi: discord.Attachment | None = None,
    ) -> None:
        if midi is not None:
            if piece:
                raise BadRequest("Give a piece or a MIDI file to remix, not both.")
            await self.remix_upload(interaction, midi, changes)
        elif piece:
            await self.remix(interaction, piece.strip(), changes)
        else:
            await interaction.response.send_message(
                "Which piece? Give its id (`/remix piece:k3j9x2ab changes:as jazz`), attach a"
                " .mid file, or press 🎛 Remix under a piece.",
                ephemeral=True,
            )

    @remix_command.autocomplete("piece")
    async def complete_piece(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        pieces = await self.bot.studio.mine(owner_of(interaction.user))
        wanted = current.strip().lower()
        return [
            app_commands.Choice(name=f"{c.title or 'untitled'} ({c.id})"[:100], value=c.id)
            for c in pieces
            if wanted in c.id or wanted in (c.title or "").lower()
        ][:25]

    @app_commands.command(name="lineage", description="A piece's family tree of remixes")
    @app_commands.describe(piece="the piece's id")
    async def lineage(self, interaction: discord.Interaction[Any], piece: str) -> None:
        tree = await self.bot.studio.lineage(piece.strip())
        names = {m.owner: mention(m.owner) for m in tree.members}
        lines = tree_lines(tree, lambda owner: names[owner], limit=30)
        focus = tree.member(tree.focus)
        picture = await asyncio.to_thread(
            draw_lineage, tree.nodes(lambda owner: owner.display_name or owner.user_id)
        )
        generations = len(tree.members)
        embed = discord.Embed(
            title=f"Lineage of “{focus.title}”",
            description="\n".join(lines)[:4000],
            colour=discord.Colour.blurple(),
        )
        embed.set_footer(
            text=f"{generations} piece(s) in this family · /remix to add to it"
            if generations > 1
            else "No remixes yet · press 🎛 Remix under it or use /remix"
        )
        embed.set_image(url="attachment://lineage.png")
        await interaction.response.send_message(
            embed=embed,
            file=discord.File(io.BytesIO(picture), "lineage.png"),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    # -- the 🎛 Remix button (handed over by the compose cog) -------------------------------

    async def remix_button(self, interaction: discord.Interaction[Any], piece_id: str) -> None:
        self.bot.refuse_if_closing()
        await interaction.response.send_modal(RemixModal(self, piece_id))

    # -- the flow ---------------------------------------------------------------------------

    async def remix(self, interaction: discord.Interaction[Any], piece_id: str, text: str) -> None:
        """Remix a stored piece: refusals privately, then the remix in its thread."""
        self.bot.refuse_if_closing()
        person = owner_of(interaction.user)
        order = await self.bot.studio.order_remix(
            person, piece_id, text, place=place_of(interaction)
        )
        try:
            await defer_publicly(interaction)
            await self.bot.remember_pending(interaction, order)
        except BaseException:
            order.cancel()
            raise
        await self._make_in_thread(interaction, order)

    async def remix_upload(
        self, interaction: discord.Interaction[Any], midi: discord.Attachment, text: str
    ) -> None:
        """Remix an uploaded MIDI file: it is read by the generator in its sandbox, recorded as
        the uploader's piece, then remixed like any other."""
        self.bot.refuse_if_closing()
        if not midi.filename.lower().endswith((".mid", ".midi")):
            await tell_privately(
                interaction, f"`{midi.filename}` isn't a MIDI file; attach a `.mid` file."
            )
            return
        if midi.size > MAX_MIDI_BYTES:
            await tell_privately(
                interaction,
                f"That MIDI file is {midi.size / 2**10:.0f} KiB; send one of at most"
                f" {MAX_MIDI_BYTES // 2**10} KiB.",
            )
            return
        self.bot.studio.upload_changes(text)  # words it can't use: said before anything is kept
        await defer_publicly(interaction)
        await interaction.edit_original_response(content="📥 Reading your MIDI file…")
        data = await midi.read()
        person = owner_of(interaction.user)
        place = place_of(interaction)
        upload = await self.bot.studio.import_upload(person, midi.filename, data, place=place)
        order = await self.bot.studio.order_remix(person, upload.id, text, place=place)
        try:
            await self.bot.remember_pending(interaction, order)
        except BaseException:
            order.cancel()
            raise
        await self._make_in_thread(interaction, order)

    async def _make_in_thread(self, interaction: discord.Interaction[Any], order: Order) -> None:
        # One read of the family gives the parent, the original and the credits.
        tree = await self.bot.studio.lineage(order.parents[0])
        parent = tree.member(tree.focus)
        root = tree.root_of(parent.id)
        credits = Credits(
            chain=credit_chain_of(tree, parent.id),
            notify=_unique([root.owner, parent.owner], leave_out=order.owner),
            original=root.title,
        )
        thread = await self._thread_for(root, order.place)
        channel = _channel(interaction)
        reply = RemixReply(interaction, thread or channel, credits, order.owner)
        posted = await make_and_post(self.bot, order, reply)
        if thread is None and isinstance(channel, discord.TextChannel):
            # The original was never posted here: its remixes gather under this first one.
            await self._open_thread(posted.message, root, order.place)

    async def _thread_for(self, root: Member, place: Place) -> discord.Thread | None:
        """The remix thread of `root` in this server: the known one, or one opened now on the
        original's message; None without a server or an original message here to open it on."""
        if place.guild is None:
            return None
        known = await self.bot.studio.remix_thread(root.id, place)
        if known is not None:
            thread = await self._fetch_thread(int(known.thread_id))
            if thread is not None:
                return thread
        posts = await self.bot.studio.posts_of(root.id, "discord")
        here = [p for p in posts if p.place.guild == place.guild and p.place.channel]
        for post in here:
            channel = self.bot.get_channel(int(post.place.channel or 0))
            if not isinstance(channel, discord.TextChannel):
                continue
            try:
                thread = await channel.get_partial_message(int(post.message_id)).create_thread(
                    name=thread_name(root)
                )
            except discord.HTTPException as error:
                log.info("could not open a remix thread on %s: %s", post.message_id, error)
                continue
            await self.bot.studio.record_remix_thread(
                RemixThread(root.id, "discord", place.guild, str(thread.id))
            )
            return thread
        return None

    async def _fetch_thread(self, thread_id: int) -> discord.Thread | None:
        channel = self.bot.get_channel(thread_id)
        if isinstance(channel, discord.Thread):
            return channel
        try:
            fetched = await self.bot.fetch_channel(thread_id)
        except (discord.NotFound, discord.Forbidden):
            return None  # deleted, or no longer ours to post in: a new one is opened
        return fetched if isinstance(fetched, discord.Thread) else None

    async def _open_thread(self, message: discord.Message, root: Member, place: Place) -> None:
        try:
            thread = await message.create_thread(name=thread_name(root))
        except discord.HTTPException as error:
            log.info("could not open a remix thread on the first remix: %s", error)
            return
        assert place.guild is not None
        await self.bot.studio.record_remix_thread(
            RemixThread(root.id, "discord", place.guild, str(thread.id))
        )


def thread_name(root: Member) -> str:
    return f"Remixes of {root.title}"[:THREAD_NAME_CHARS]


def credit_chain_of(tree: LineageTree, parent_id: str) -> list[str]:
    """The remix's credits: its parent first, then the parent's own ancestry."""
    parent = tree.member(parent_id)
    first = f"remix of “{parent.title}” by {mention(parent.owner)}"
    return [first, *credit_chain(tree, parent_id, mention)]


def _unique(owners: list[Owner], *, leave_out: Owner) -> list[Owner]:
    seen: list[Owner] = []
    for owner in owners:
        same = (owner.platform, owner.user_id) == (leave_out.platform, leave_out.user_id)
        if not same and owner.user_id.isdigit() and all(o.user_id != owner.user_id for o in seen):
            seen.append(owner)
    return seen


def _channel(interaction: discord.Interaction[Any]) -> discord.abc.Messageable:
    channel = interaction.channel
    if not isinstance(channel, discord.abc.Messageable):
        raise NotFound("I can't post in this channel.")
    return channel


async def setup(bot: Tunesmith) -> None:
    await bot.add_cog(Remix(bot))
