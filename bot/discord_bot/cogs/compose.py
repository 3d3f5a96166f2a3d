"""/compose, `@Tunesmith compose …`, `!compose …`, and the buttons under every piece."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot.delivery import piece_files
from bot.discord_bot.pieces import (
    PIECE_ID,
    file_names,
    mention,
    owner_of,
    piece_button,
    piece_embed,
)
from bot.discord_bot.progress import StatusLine
from bot.discord_bot.replies import InteractionReply, MessageReply, Reply, defer_publicly
from bot.grammar import suggest_completions
from bot.posts import Place
from bot.studio import Order, PieceCard, Progress, Published

if TYPE_CHECKING:
    from bot.discord_bot.app import Tunesmith

log = logging.getLogger(__name__)

MAX_SEED = 2**31 - 1
Button = discord.ui.Button[discord.ui.View]


def place_of(interaction_or_message: discord.Interaction[Any] | discord.Message) -> Place:
    guild = interaction_or_message.guild
    channel = interaction_or_message.channel
    return Place(
        "discord",
        str(guild.id) if guild is not None else None,
        str(channel.id) if channel is not None else None,
    )


def request_text(
    request: str,
    *,
    genre: str | None = None,
    mood: str | None = None,
    length: str | None = None,
    key: str | None = None,
    tempo: int | None = None,
    instruments: str | None = None,
) -> str:
    """The structured options as words of the one grammar around the free text: a genre given
    twice differently is then reported by the grammar like any other conflict."""
    # Mood and genre first, as people say it: "sad" + "jazz 1m" reads "sad jazz 1m".
    words = [mood or "", genre or "", request.strip(), length or ""]
    if key:
        words.append(key if key.lower().startswith("in ") else f"in {key}")
    if tempo is not None:
        words.append(f"at {tempo} bpm")
    if instruments:
        words.append(
            instruments if instruments.lower().startswith("with ") else f"with {instruments}"
        )
    return " ".join(word for word in words if word)


@dataclass(frozen=True, slots=True)
class Posted:
    """A piece made and posted: its record and files, and the message showing it."""

    published: Published
    message: discord.Message


async def acknowledge(bot: Tunesmith, interaction: discord.Interaction[Any], order: Order) -> None:
    """Defer publicly ("thinking…") and remember the request until it is answered; the order
    gives its place in the queue back if either fails."""
    try:
        await defer_publicly(interaction)
        await bot.remember_pending(interaction, order)
    except BaseException:
        order.cancel()
        raise


async def make_and_post(bot: Tunesmith, order: Order, reply: Reply) -> Posted:
    """Make the ordered piece showing progress on `reply`, then post it there (the same flow for
    slash commands, mentions and buttons). A shutdown waits for all of it, the post included."""
    posted: Posted = await bot.keep(_make_and_post(bot, order, reply))
    return posted


async def _make_and_post(bot: Tunesmith, order: Order, reply: Reply) -> Posted:
    try:
        posted = await _make_and_post_once(bot, order, reply)
    except Exception:
        # Answered by the caller's error handler; only a cancelled request (a restart) stays.
        await bot.forget_pending(reply.pending_key)
        raise
    await bot.forget_pending(reply.pending_key)
    return posted


async def _make_and_post_once(bot: Tunesmith, order: Order, reply: Reply) -> Posted:
    status = StatusLine(reply.progress)

    async def progress(stage: Progress) -> None:
        await status.show(stage.describe())

    await status.show(
        Progress("composing").describe()
        if order.ticket.position == 0
        else Progress("queued", position=order.ticket.position).describe()
    )
    try:
        published = await bot.studio.make(order, progress)
    finally:
        await status.close()
    return Posted(published, await post_piece(bot, published, reply, order.place))


async def post_piece(
    bot: Tunesmith, published: Published, reply: Reply, place: Place
) -> discord.Message:
    creation = published.creation
    card = PieceCard(creation, likes=0, plays=0)
    names = file_names(creation)
    files, upload = await piece_files(
        published.mp3,
        published.png,
        (names.mp3_name, names.png_name),
        reply.filesize_limit,
        creation.duration_s or 30.0,
    )
    what = {"variation": "variation", "remix": "remix"}.get(creation.origin, "piece")
    content = f"{mention(creation.owner)}, here is your {what}."
    if upload is None:
        content += (
            " The MP3 is too large for this server's upload limit even at 32 kbps; use ⬇ MIDI."
        )
    message = await reply.finish(
        content=content,
        embed=piece_embed(card, attempts=published.attempts, upload=upload),
        files=files,
        view=piece_buttons(creation.id, likes=0),
    )
    # Where it really went: a remix is posted in its thread, not where the command was typed.
    shown = Place(place.platform, place.guild, str(message.channel.id))
    await bot.studio.record_post(creation.id, shown, str(message.id))
    if bot.on_posted is not None:
        bot.on_posted(published, message.id)
    return message


def piece_buttons(piece_id: str, *, likes: int) -> discord.ui.View:
    """The row under a piece: ▶ Play, 🔁 Variation, 🎛 Remix, ⬇ MIDI, ❤ Like (with the count)."""
    view = discord.ui.View(timeout=None)
    for action in PieceAction.ACTIONS:
        view.add_item(PieceAction(action, piece_id, likes=likes))
    return view


def bot_of(interaction: discord.Interaction[Any]) -> Tunesmith:
    """The bot an interaction came to (our `Tunesmith`)."""
    return interaction.client


class PieceAction(
    discord.ui.DynamicItem[Button],
    template=rf"piece:(?P<action>play|vary|remix|midi|like):{PIECE_ID}",
):
    """Every button under a piece: the custom id `piece:<action>:<id>` says which and on what,
    so old messages keep working after a restart. Failures go to the bot's one error handler."""

    ACTIONS: ClassVar[dict[str, tuple[str, str, discord.ButtonStyle]]] = {
        "play": ("Play", "▶️", discord.ButtonStyle.success),
        "vary": ("Variation", "🔁", discord.ButtonStyle.primary),
        "remix": ("Remix", "🎛️", discord.ButtonStyle.secondary),
        "midi": ("MIDI", "⬇️", discord.ButtonStyle.secondary),
        "like": ("Like", "❤️", discord.ButtonStyle.secondary),
    }

    def __init__(self, action: str, piece_id: str, *, likes: int = 0) -> None:
        label, emoji, style = self.ACTIONS[action]
        if action == "like" and likes:
            label = str(likes)
        super().__init__(piece_button(action, piece_id, label=label, emoji=emoji, style=style))
        self.action = action
        self.piece_id = piece_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> PieceAction:
        return cls(match["action"], match["id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = bot_of(interaction)
        act = {
            "play": self._play,
            "vary": self._vary,
            "remix": self._remix,
            "midi": self._midi,
            "like": self._like,
        }[self.action]
        try:
            await act(bot, interaction)
        except Exception as error:
            await bot.report(interaction, error)

    async def _play(self, bot: Tunesmith, interaction: discord.Interaction[Any]) -> None:
        await self._hand_to(
            bot,
            interaction,
            "Voice",
            "play_button",
            "Playing in a voice channel isn't switched on for this bot yet; the MP3 above plays"
            " right here in Discord.",
        )

    async def _vary(self, bot: Tunesmith, interaction: discord.Interaction[Any]) -> None:
        bot.refuse_if_closing()
        await defer_publicly(interaction)
        order = await bot.studio.order_variation(
            owner_of(interaction.user), self.piece_id, place=place_of(interaction)
        )
        try:
            await bot.remember_pending(interaction, order)
        except BaseException:
            order.cancel()
            raise
        await make_and_post(bot, order, InteractionReply(interaction))

    async def _remix(self, bot: Tunesmith, interaction: discord.Interaction[Any]) -> None:
        await self._hand_to(
            bot,
            interaction,
            "Remix",
            "remix_button",
            "Remixing isn't switched on for this bot yet; 🔁 Variation makes a new take on the"
            " same request.",
        )

    async def _hand_to(
        self,
        bot: Tunesmith,
        interaction: discord.Interaction[Any],
        cog_name: str,
        method: str,
        not_yet: str,
    ) -> None:
        """Buttons whose feature lives in another cog: hand the click to it when it is loaded."""
        cog = bot.get_cog(cog_name)
        if cog is None:
            await interaction.response.send_message(not_yet, ephemeral=True)
            return
        await getattr(cog, method)(interaction, self.piece_id)

    async def _midi(self, bot: Tunesmith, interaction: discord.Interaction[Any]) -> None:
        card = await bot.studio.live_card(self.piece_id)
        path = await bot.studio.media_path(card.creation, "midi")
        data = await asyncio.to_thread(path.read_bytes)
        name = file_names(card.creation).mp3_name.removesuffix(".mp3") + ".mid"
        await interaction.response.send_message(
            f"The MIDI of {card.creation.label} ({card.creation.licence.short_name}).",
            file=discord.File(io.BytesIO(data), name),
            ephemeral=True,
        )

    async def _like(self, bot: Tunesmith, interaction: discord.Interaction[Any]) -> None:
        state = await bot.studio.toggle_like(owner_of(interaction.user), self.piece_id)
        # The message keeps its embed and files; only the count on the button changes.
        await interaction.response.edit_message(
            view=piece_buttons(self.piece_id, likes=state.count)
        )
        verb = "liked" if state.liked else "no longer like"
        await interaction.followup.send(f"You {verb} this piece ({state.count} ❤️).", ephemeral=True)


class Compose(commands.Cog):
    """Composing: the slash command, mentions, `!compose`."""

    def __init__(self, bot: Tunesmith) -> None:
        self.bot = bot

    @app_commands.command(
        name="compose", description="Compose a short, original piece, e.g. lofi 30s"
    )
    @app_commands.describe(
        request="what to compose, in words: lofi 30s · sad jazz 1m in D minor with sax",
        genre="a genre (or say it in the request)",
        mood="a mood, e.g. sad, happy, dreamy",
        length="how long, e.g. 30s, 1m30s (5 s to 5 min)",
        key="a key, e.g. D minor, F# major",
        tempo="beats per minute",
        instruments="e.g. piano and sax",
        seed="a number to make the same piece again",
    )
    async def compose(
        self,
        interaction: discord.Interaction[Any],
        request: str,
        genre: str | None = None,
        mood: str | None = None,
        length: str | None = None,
        key: str | None = None,
        tempo: app_commands.Range[int, 20, 400] | None = None,
        instruments: str | None = None,
        seed: app_commands.Range[int, 0, MAX_SEED] | None = None,
    ) -> None:
        self.bot.refuse_if_closing()
        text = request_text(
            request,
            genre=genre,
            mood=mood,
            length=length,
            key=key,
            tempo=tempo,
            instruments=instruments,
        )
        # Read the words and take a place in line before acknowledging: bad words and
        # refusals are answered privately; everything after is shown in the channel.
        order = self.bot.studio.order(
            owner_of(interaction.user), text, place=place_of(interaction), seed=seed
        )
        await acknowledge(self.bot, interaction, order)
        await make_and_post(self.bot, order, InteractionReply(interaction))

    @compose.autocomplete("request")
    async def complete_request(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=text[:100], value=text[:100])
            for text in suggest_completions(current, self.bot.studio.catalog, limit=25)
        ]

    @compose.autocomplete("genre")
    async def complete_genre(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return _choices([g.name for g in self.bot.studio.catalog.genres], current)

    @compose.autocomplete("mood")
    async def complete_mood(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return _choices([m.name for m in self.bot.studio.catalog.moods], current)

    @compose.autocomplete("instruments")
    async def complete_instruments(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        *done, last = current.split(" and ") if current else [""]
        head = " and ".join(done)
        names = [
            n
            for n in [i.name for i in self.bot.studio.catalog.instruments]
            if n.startswith(last.strip().lower())
        ]
        return [
            app_commands.Choice(
                name=f"{head} and {n}" if head else n, value=f"{head} and {n}" if head else n
            )
            for n in names[:25]
        ]

    @commands.command(name="compose")
    async def compose_message(self, context: commands.Context[Any], *, words: str = "") -> None:
        """`@Tunesmith compose sad jazz 45s` (and `!compose …` with the message-content intent)."""
        reply = MessageReply(context.message)
        try:
            self.bot.refuse_if_closing()
            order = self.bot.studio.order(
                owner_of(context.author), words, place=place_of(context.message)
            )
            await make_and_post(self.bot, order, reply)
        except Exception as error:
            await reply.fail(self.bot.user_message(error))


def _choices(names: list[str], current: str) -> list[app_commands.Choice[str]]:
    wanted = current.strip().lower()
    found = [n for n in names if n.startswith(wanted)] + [
        n for n in names if wanted and wanted in n and not n.startswith(wanted)
    ]
    return [app_commands.Choice(name=n, value=n) for n in found[:25]]


async def setup(bot: Tunesmith) -> None:
    bot.add_dynamic_items(PieceAction)
    await bot.add_cog(Compose(bot))
