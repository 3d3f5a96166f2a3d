"""The library: /mine, /piece, /rename, /license, /transfer, /delete, /top, /verify, /help.

Ownership is the ledger's to enforce: a command calls the studio as the person who asked and
the ledger refuses what they may not do (`NotOwner`, `TransferError`, `LicenceConflict`); the
bot's one error handler turns that into a polite private answer.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot.cogs.compose import bot_of, piece_buttons, place_of
from bot.discord_bot.delivery import piece_files
from bot.discord_bot.pieces import PIECE_ID, file_names, length_text, mention, owner_of, piece_embed
from bot.ledger import ALL_LICENCES, Creation, NotOwner
from generators.errors import BadRequest

if TYPE_CHECKING:
    from bot.discord_bot.app import Tunesmith

log = logging.getLogger(__name__)

PAGE_SIZE = 10
MAX_TITLE = 100


def mine_page(
    pieces: list[Creation], page: int, user: discord.abc.User
) -> tuple[discord.Embed, discord.ui.View]:
    """One page of someone's pieces, with ◀ ▶ buttons that carry the page to show."""
    pages = max(1, -(-len(pieces) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    shown = pieces[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    embed = discord.Embed(title=f"{user.display_name}'s pieces", colour=discord.Colour.blurple())
    if not shown:
        embed.description = "Nothing yet. Try `/compose lofi 30s`."
    else:
        embed.description = "\n".join(
            f"`{c.id}` **{c.title or 'Untitled'}** · {c.genre or '?'} · "
            f"{length_text(c.duration_s)} · {c.licence.short_name}"
            for c in shown
        )
    embed.set_footer(
        text=f"page {page + 1} of {pages} · {len(pieces)} piece(s) · /piece id to show one"
    )
    view = discord.ui.View(timeout=None)
    view.add_item(MinePage(user.id, page - 1, label="Previous", emoji="◀️", disabled=page == 0))
    view.add_item(MinePage(user.id, page + 1, label="Next", emoji="▶️", disabled=page >= pages - 1))
    return embed, view


class MinePage(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"mine:(?P<user>\d+):(?P<page>\d+)",
):
    """◀ ▶ under /mine: the custom id carries whose list and which page."""

    def __init__(
        self,
        user_id: int,
        page: int,
        *,
        label: str = "",
        emoji: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=emoji,
                style=discord.ButtonStyle.secondary,
                custom_id=f"mine:{user_id}:{max(page, 0)}",
                disabled=disabled,
            )
        )
        self.user_id = user_id
        self.page = max(page, 0)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> MinePage:
        return cls(int(match["user"]), int(match["page"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        try:
            if interaction.user.id != self.user_id:
                raise BadRequest("That's someone else's list; use /mine for yours.")
            pieces = await bot.studio.mine(owner_of(interaction.user))
            embed, view = mine_page(pieces, self.page, interaction.user)
            await interaction.response.edit_message(embed=embed, view=view)
        except Exception as error:
            await bot.report(interaction, error)


class Answer(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=rf"(?P<answer>transfer:accept|transfer:decline|delete:yes|delete:no):{PIECE_ID}",
):
    """The answers to a question about a piece: Accept / Decline under a transfer offer (the
    ledger checks the clicker is the recipient), Delete it / Keep it under /delete (shown only to
    the owner; the ledger checks again)."""

    BUTTONS: ClassVar[dict[str, tuple[str, str | None, discord.ButtonStyle]]] = {
        "transfer:accept": ("Accept", "✅", discord.ButtonStyle.success),
        "transfer:decline": ("Decline", "✖️", discord.ButtonStyle.secondary),
        "delete:yes": ("Delete it", "🗑️", discord.ButtonStyle.danger),
        "delete:no": ("Keep it", None, discord.ButtonStyle.secondary),
    }

    def __init__(self, answer: str, piece_id: str) -> None:
        label, emoji, style = self.BUTTONS[answer]
        super().__init__(
            discord.ui.Button(
                label=label, emoji=emoji, style=style, custom_id=f"{answer}:{piece_id}"
            )
        )
        self.answer = answer
        self.piece_id = piece_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> Answer:
        return cls(match["answer"], match["id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        person = owner_of(interaction.user)
        try:
            match self.answer:
                case "transfer:accept":
                    creation = await bot.studio.accept(person, self.piece_id)
                    text = f"✅ {mention(person)} accepted {creation.label}; it is theirs now."
                case "transfer:decline":
                    creation = await bot.studio.decline(person, self.piece_id)
                    text = (
                        f"✖️ {mention(person)} declined {creation.label}; it stays with its owner."
                    )
                case "delete:yes":
                    creation = await bot.studio.delete(person, self.piece_id)
                    voice = bot.get_cog("Voice")
                    if voice is not None:  # out of every queue, and off the air if playing
                        voice.forget_piece(creation.id)  # type: ignore[attr-defined]
                    cleared = await clear_posts(bot, creation)
                    text = (
                        f"🗑️ Deleted {creation.label}. Its files are gone, here and from"
                        f" {cleared} message(s) that showed it; the ledger keeps the record that"
                        " it existed and who deleted it."
                    )
                case _:
                    text = "Kept. Nothing was deleted."
            await interaction.response.edit_message(content=text, view=None)
        except Exception as error:
            await bot.report(interaction, error)


async def clear_posts(bot: Tunesmith, creation: Creation) -> int:
    """Take a deleted piece's files, picture and buttons off the messages that showed it;
    how many were cleared. A message that is gone already, or can't be edited, is skipped."""
    cleared = 0
    for post in await bot.studio.posts_of(creation.id, "discord"):
        if post.place.channel is None:
            continue
        message = bot.get_partial_messageable(int(post.place.channel)).get_partial_message(
            int(post.message_id)
        )
        try:
            await message.edit(
                content=f"🗑️ {creation.label} was deleted by its owner.",
                embed=None,
                attachments=[],
                view=None,
            )
        except discord.HTTPException as error:
            log.info("could not clear message %s of %s: %s", post.message_id, creation.id, error)
            continue
        cleared += 1
    return cleared


def answers(piece_id: str, *choices: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for answer in choices:
        view.add_item(Answer(answer, piece_id))
    return view


class Library(commands.Cog):
    """Your pieces and the server's."""

    def __init__(self, bot: Tunesmith) -> None:
        self.bot = bot

    async def _own_piece(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        pieces = await self.bot.studio.mine(owner_of(interaction.user))
        wanted = current.strip().lower()
        return [
            app_commands.Choice(name=f"{c.title or 'Untitled'} ({c.id})"[:100], value=c.id)
            for c in pieces
            if not wanted or wanted in c.id or wanted in (c.title or "").lower()
        ][:25]

    @app_commands.command(name="mine", description="Your pieces, newest first")
    async def mine(self, interaction: discord.Interaction[Any]) -> None:
        pieces = await self.bot.studio.mine(owner_of(interaction.user))
        embed, view = mine_page(pieces, 0, interaction.user)
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    @app_commands.command(name="piece", description="Show a piece by its id, with its MP3")
    @app_commands.describe(piece="the piece's id (shown under every piece)")
    async def piece(self, interaction: discord.Interaction[Any], piece: str) -> None:
        card = await self.bot.studio.live_card(piece.strip().lower())
        await interaction.response.defer(thinking=True)
        creation = card.creation
        names = file_names(creation)
        mp3_path = await self.bot.studio.media_path(creation, "mp3")
        png_path = await self.bot.studio.media_path(creation, "png")
        files, upload = await piece_files(
            mp3_path,
            png_path,
            (names.mp3_name, names.png_name),
            interaction.filesize_limit,
            creation.duration_s or 30.0,
        )
        message = await interaction.followup.send(
            embed=piece_embed(card, upload=upload),
            files=files,
            view=piece_buttons(creation.id, likes=card.likes),
            wait=True,
        )
        await self.bot.studio.record_post(creation.id, place_of(interaction), str(message.id))

    piece.autocomplete("piece")(_own_piece)

    @app_commands.command(name="rename", description="Give one of your pieces a new title")
    @app_commands.describe(piece="your piece's id", title="the new title")
    async def rename(
        self,
        interaction: discord.Interaction[Any],
        piece: str,
        title: app_commands.Range[str, 1, MAX_TITLE],
    ) -> None:
        creation = await self.bot.studio.rename(
            owner_of(interaction.user), piece.strip().lower(), title
        )
        await interaction.response.send_message(f"Renamed: {creation.label}.", ephemeral=True)

    rename.autocomplete("piece")(_own_piece)

    @app_commands.command(name="license", description="Change the licence of one of your pieces")
    @app_commands.describe(piece="your piece's id", licence="who may do what with it")
    @app_commands.rename(licence="licence")
    @app_commands.choices(
        licence=[
            app_commands.Choice(name=f"{lic.short_name} — {lic.human_name}"[:100], value=str(lic))
            for lic in ALL_LICENCES
        ]
    )
    async def license(
        self, interaction: discord.Interaction[Any], piece: str, licence: app_commands.Choice[str]
    ) -> None:
        creation = await self.bot.studio.relicense(
            owner_of(interaction.user), piece.strip().lower(), licence.value
        )
        await interaction.response.send_message(
            f"{creation.label} is now under {creation.licence.short_name}.", ephemeral=True
        )

    license.autocomplete("piece")(_own_piece)

    @app_commands.command(name="transfer", description="Offer one of your pieces to someone else")
    @app_commands.describe(piece="your piece's id", to="who should own it (they must accept)")
    async def transfer(
        self, interaction: discord.Interaction[Any], piece: str, to: discord.User
    ) -> None:
        if to.bot:
            raise BadRequest("Bots can't own pieces; offer it to a person.")
        creation = await self.bot.studio.offer(
            owner_of(interaction.user), piece.strip().lower(), owner_of(to)
        )
        view = answers(creation.id, "transfer:accept", "transfer:decline")
        await interaction.response.send_message(
            f"{to.mention}, {interaction.user.mention} offers you {creation.label}. If you accept,"
            " you become its owner (the ledger records the handover).",
            view=view,
            allowed_mentions=discord.AllowedMentions(users=[to]),
        )

    transfer.autocomplete("piece")(_own_piece)

    @app_commands.command(name="delete", description="Delete one of your pieces (asks first)")
    @app_commands.describe(piece="your piece's id")
    async def delete(self, interaction: discord.Interaction[Any], piece: str) -> None:
        card = await self.bot.studio.live_card(piece.strip().lower())
        person = owner_of(interaction.user)
        if not card.creation.owner.is_(person):
            raise NotOwner(
                f"{card.creation.label} belongs to {mention(card.creation.owner)}; only its owner can delete it."
            )
        view = answers(card.creation.id, "delete:yes", "delete:no")
        await interaction.response.send_message(
            f"Delete {card.creation.label}? Its files go; the record that it existed stays.",
            view=view,
            ephemeral=True,
        )

    delete.autocomplete("piece")(_own_piece)

    @app_commands.command(name="top", description="This server's most-liked pieces")
    async def top(self, interaction: discord.Interaction[Any]) -> None:
        ranked = await self.bot.studio.top(place_of(interaction), limit=10)
        where = interaction.guild.name if interaction.guild else "Tunesmith"
        embed = discord.Embed(title=f"Top pieces in {where}", colour=discord.Colour.gold())
        if not ranked:
            embed.description = "No pieces here yet. Be the first: `/compose lofi 30s`."
        else:
            embed.description = "\n".join(
                f"**{rank}.** {c.title or 'Untitled'} (`{c.id}`) by {mention(c.owner)} · ❤️ {likes}"
                for rank, (c, likes) in enumerate(ranked, start=1)
            )
        await interaction.response.send_message(
            embed=embed, allowed_mentions=discord.AllowedMentions.none()
        )

    @app_commands.command(
        name="verify", description="Who made this file? Checks its signature, hash and sound"
    )
    @app_commands.describe(file="an MP3 (or other audio) to check")
    async def verify(self, interaction: discord.Interaction[Any], file: discord.Attachment) -> None:
        if file.size > 25 * 1024 * 1024:
            raise BadRequest(
                f"That file is {file.size / 2**20:.1f} MiB; send one of at most 25 MiB."
            )
        await interaction.response.defer(thinking=True, ephemeral=True)
        data = await file.read()
        report = await self.bot.studio.verify(file.filename, data)
        colour = (
            discord.Colour.green()
            if report.identified and not report.tampered
            else discord.Colour.red()
        )
        embed = discord.Embed(
            title=f"Who made {file.filename}?", colour=colour, description=report.format()[:4000]
        )
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="help", description="What Tunesmith can compose and how to ask")
    async def help(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        catalog = await self.bot.studio.catalog_summary()
        await interaction.followup.send(embed=help_embed(catalog), ephemeral=True)


def help_embed(catalog: dict[str, Any]) -> discord.Embed:
    """/help, built from the generator service's own catalogue."""

    def names(kind: str) -> str:
        return ", ".join(
            str(item.get("name")) for item in catalog.get(kind, []) if isinstance(item, dict)
        )

    embed = discord.Embed(
        title="Tunesmith: short, original music on command",
        colour=discord.Colour.blurple(),
        description=(
            "Ask in words: `/compose lofi 30s`, `/compose sad jazz 1m30s in D minor at 96 bpm with"
            " piano and sax`, or mention me: `@Tunesmith compose chiptune 45s`."
        ),
    )
    embed.add_field(name="Genres", value=names("genres")[:1024] or "?", inline=False)
    embed.add_field(name="Moods", value=names("moods")[:1024] or "?", inline=False)
    embed.add_field(name="Instruments", value=names("instruments")[:1024] or "?", inline=False)
    duration, tempo = catalog.get("duration_s"), catalog.get("tempo_bpm")
    if isinstance(duration, dict) and isinstance(tempo, dict):
        embed.add_field(
            name="Lengths, keys and tempos",
            value=f"{duration.get('min', 5):g} s to {float(duration.get('max', 300)) / 60:g} min ·"
            f" any key, e.g. `in D minor`, `in F# dorian` · {tempo.get('min')}–{tempo.get('max')} bpm",
            inline=False,
        )
    modes = catalog.get("modes")
    if isinstance(modes, list) and modes:
        embed.add_field(name="Modes", value=", ".join(map(str, modes))[:1024], inline=False)
    embed.add_field(
        name="Your pieces",
        value="/mine · /piece · /rename · /license · /transfer · /delete · /top · /verify",
        inline=False,
    )
    embed.add_field(
        name="Remixing",
        value="🎛 Remix under any piece, or `/remix piece:<id> changes:as jazz, faster`; attach"
        " your own .mid to arrange it · changes: a style, `in E minor`, `sadder`, `faster`,"
        " `with strings`, `new melody`, `new chords`, `to 2m` · `/lineage` shows the family tree",
        inline=False,
    )
    embed.add_field(
        name="In a voice channel",
        value="Join one, then `/play` a piece (an id, `latest`, `mine`, or `lofi 1m` to compose"
        " one now) or `/radio lofi` for new pieces without end · /queue · /nowplaying · /skip ·"
        " /pause · /resume · /loop · /volume · /stop",
        inline=False,
    )
    return embed


async def setup(bot: Tunesmith) -> None:
    bot.add_dynamic_items(MinePage, Answer)
    await bot.add_cog(Library(bot))
