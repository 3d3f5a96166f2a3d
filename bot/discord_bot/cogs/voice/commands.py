"""/play and the ▶ Play button, the controls, /radio; and what the bot says about playback.

One `GuildPlayer` per server, made when the bot joins a voice channel and dropped when it
leaves (on /stop, after `TUNESMITH_VOICE_IDLE_S` without music, when everyone else has left,
or when Discord disconnects it). Refusals that need no waiting (not in voice, missing
permissions, unknown pieces, words the grammar can't read) are answered privately before
anything is acknowledged; joining a channel and composing are deferred.
"""

from __future__ import annotations

import asyncio
import ctypes.util
import io
import logging
import re
from collections import defaultdict
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot.cogs.compose import acknowledge, make_and_post, place_of
from bot.discord_bot.cogs.voice.controls import now_playing_view
from bot.discord_bot.cogs.voice.joining import (
    caller_channel,
    check_can_join,
    connect,
)
from bot.discord_bot.cogs.voice.texts import (
    LOOP_TEXT,
    leave_text,
    now_playing_embed,
    queue_embed,
    queued_text,
)
from bot.discord_bot.delivery import piece_files
from bot.discord_bot.pieces import PIECE_ID, file_names, mention, owner_of, piece_embed
from bot.discord_bot.replies import DEFAULT_FILESIZE_LIMIT, InteractionReply, defer_publicly
from bot.grammar import GrammarError, suggest_completions
from bot.ledger import Creation, NotFound, Owner
from bot.posts import Place
from bot.studio import Order
from bot.voice.player import GuildPlayer, LeaveReason, NothingPlaying
from bot.voice.playlist import LoopMode, Track
from bot.voice.radio import Radio
from generators.errors import BadRequest

if TYPE_CHECKING:
    from bot.discord_bot.app import Tunesmith

log = logging.getLogger(__name__)

LATEST_WORDS = frozenset({"latest", "last", "newest"})
MINE_WORDS = frozenset({"mine", "my pieces", "my music"})
RADIO_OFF_WORDS = frozenset({"stop", "off"})
MINE_LIMIT = 25  # pieces `/play mine` queues, newest first
_PIECE_ID = re.compile(PIECE_ID)
_LEDGER_ID = re.compile(r"[0-9a-z]{8}")


class Voice(commands.Cog):
    """Playing pieces in voice channels, and the radio."""

    def __init__(self, bot: Tunesmith) -> None:
        self.bot = bot
        self.players: dict[int, GuildPlayer] = {}
        self._joining: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._announcing: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()

    async def cog_load(self) -> None:
        # Load libopus now, off the loop, rather than inside the first /play: discord.py finds
        # it with ctypes.util.find_library, which runs ldconfig.
        if not discord.opus.is_loaded():
            name = await asyncio.to_thread(ctypes.util.find_library, "opus")
            try:
                discord.opus.load_opus(name or "libopus.so.0")
            except OSError:
                log.error("libopus is missing: voice playback will fail (apt install libopus0)")
        if not discord.voice_state.has_dave:
            log.error("davey is missing: Discord refuses voice without DAVE (pip install davey)")

    async def cog_unload(self) -> None:
        for player in list(self.players.values()):
            await player.leave(LeaveReason.SHUTDOWN)
        for task in list(self._tasks):
            task.cancel()

    # -- /play and ▶ Play ----------------------------------------------------------------------

    @app_commands.command(name="play", description="Play a piece in your voice channel")
    @app_commands.describe(
        piece="a piece id, latest, mine, or what to compose now (e.g. lofi 1m); default latest"
    )
    async def play(self, interaction: discord.Interaction[Any], piece: str | None = None) -> None:
        await self._play(interaction, piece or "latest")

    @play.autocomplete("piece")
    async def complete_piece(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        wanted = current.strip().lower()
        choices = [
            app_commands.Choice(name=name, value=value)
            for name, value in (
                ("latest — the newest piece posted here", "latest"),
                ("mine — all your pieces, newest first", "mine"),
            )
            if value.startswith(wanted)
        ]
        pieces = await self.bot.studio.mine(owner_of(interaction.user))
        choices += [
            app_commands.Choice(name=f"{c.title or 'Untitled'} ({c.id})"[:100], value=c.id)
            for c in pieces
            if not wanted or wanted in c.id or wanted in (c.title or "").lower()
        ][:10]
        if wanted:
            choices += [
                app_commands.Choice(name=text[:100], value=text[:100])
                for text in suggest_completions(current, self.bot.studio.catalog, limit=10)
            ]
        return choices[:25]

    async def play_button(self, interaction: discord.Interaction[Any], piece_id: str) -> None:
        """▶ Play under a piece: queue that piece in the presser's voice channel."""
        await self._play(interaction, piece_id, exact=True)

    async def _play(
        self, interaction: discord.Interaction[Any], words: str, *, exact: bool = False
    ) -> None:
        self.bot.refuse_if_closing()
        channel = caller_channel(interaction)
        check_can_join(channel)
        self._check_not_busy_elsewhere(channel)
        person = owner_of(interaction.user)
        choice = await self._choose(interaction, words, person, exact=exact)
        if isinstance(choice, Order):
            tracks = await self._compose_for_play(interaction, choice)
        else:
            await defer_publicly(interaction)
            tracks = [await self._track(creation, person) for creation in choice]
        player = await self._join(interaction, channel)
        place = await player.add(tracks)
        text = queued_text(tracks, place, channel.name)
        if isinstance(choice, Order):
            if place > 0:  # the piece's own post is the answer; say where it is in line
                await interaction.followup.send(
                    text, allowed_mentions=discord.AllowedMentions.none()
                )
        else:
            await interaction.edit_original_response(content=text)

    async def _choose(
        self,
        interaction: discord.Interaction[Any],
        words: str,
        person: Owner,
        *,
        exact: bool,
    ) -> list[Creation] | Order:
        """What `/play <words>` means: stored pieces, or an order to compose one now."""
        studio = self.bot.studio
        key = words.strip().lower()
        if exact:
            return [(await studio.live_card(key)).creation]
        if key in LATEST_WORDS:
            latest = await studio.latest_posted(place_of(interaction))
            if latest is None:
                mine = await studio.mine(person)
                if not mine:
                    raise BadRequest(
                        "Nothing has been posted here yet. `/play lofi 1m` composes a piece"
                        " and plays it."
                    )
                latest = mine[0]
            return [latest]
        if key in MINE_WORDS:
            mine = await studio.mine(person)
            if not mine:
                raise BadRequest(
                    "You have no pieces yet. `/play lofi 1m` composes one and plays it."
                )
            return mine[:MINE_LIMIT]
        if _PIECE_ID.fullmatch(key):
            try:
                return [(await studio.live_card(key)).creation]
            except NotFound:
                pass  # maybe a request: "lofi", "jazz"
        try:
            return studio.order(person, words, place=place_of(interaction))
        except GrammarError:
            if _LEDGER_ID.fullmatch(key):
                raise BadRequest(
                    f"There is no piece `{key}`, and it isn't something I can compose either."
                    " Give a piece id from /mine, `latest`, `mine`, or a request such as"
                    " `lofi 1m`."
                ) from None
            raise

    async def _compose_for_play(
        self, interaction: discord.Interaction[Any], order: Order
    ) -> list[Track]:
        """`/play lofi 1m`: compose and post the piece like /compose does, then play it."""
        await acknowledge(self.bot, interaction, order)
        posted = await make_and_post(self.bot, order, InteractionReply(interaction))
        # The answer is the piece now: a later error must not take it down with the
        # "thinking…" message it replaced.
        interaction.extras["public_defer"] = False
        return [Track.of(posted.published.creation, posted.published.mp3, order.owner)]

    async def _track(self, creation: Creation, person: Owner) -> Track:
        return Track.of(creation, await self.bot.studio.media_path(creation, "mp3"), person)

    def _check_not_busy_elsewhere(self, channel: discord.VoiceChannel) -> None:
        player = self.players.get(channel.guild.id)
        if player is None or player.closed or player.voice.channel.id == channel.id:
            return
        snapshot = player.snapshot()
        if snapshot.current is not None or snapshot.upcoming or player.radio is not None:
            raise BadRequest(
                f"I'm playing in 🔊 {player.voice.channel.name} right now. Join me there, or"
                " `/stop` me first."
            )

    async def _join(
        self, interaction: discord.Interaction[Any], channel: discord.VoiceChannel
    ) -> GuildPlayer:
        """The guild's player, in `channel`: joined, moved there when idle elsewhere, or reused."""
        guild = channel.guild
        async with self._joining[guild.id]:
            player = self.players.get(guild.id)
            volume = 1.0
            if player is not None and not player.closed:
                if player.voice.channel.id == channel.id:
                    player.text_channel_id = interaction.channel_id
                    return player
                # Idle elsewhere: leave and join afresh rather than `move_to`, whose voice
                # reconnection in discord.py 2.7 can stall for 30 s (its socket reader keeps
                # waiting on the UDP socket the move replaced).
                self._check_not_busy_elsewhere(channel)
                volume = player.volume
                await player.leave(LeaveReason.MOVING)
            stale = guild.voice_client
            if stale is not None:  # left over from a player that is gone
                await stale.disconnect(force=True)
            voice = await connect(channel)
            player = GuildPlayer(
                voice,
                listener=self,
                idle_s=self.bot.config.voice_idle_s,
                text_channel_id=interaction.channel_id,
            )
            player.set_volume(volume)
            self.players[guild.id] = player
            return player

    # -- the controls --------------------------------------------------------------------------

    @app_commands.command(name="queue", description="What is playing in voice, and what is next")
    async def queue(self, interaction: discord.Interaction[Any]) -> None:
        player = self._player_here(interaction)
        await interaction.response.send_message(
            embed=queue_embed(player.snapshot(), player.voice.channel.name),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="nowplaying", description="The piece playing in voice, and where")
    async def nowplaying(self, interaction: discord.Interaction[Any]) -> None:
        player = self._player_here(interaction)
        snapshot = player.snapshot()
        genre = None
        if snapshot.current is not None:
            genre = (await self.bot.studio.card(snapshot.current.piece_id)).creation.genre
        await interaction.response.send_message(
            embed=now_playing_embed(snapshot, player.voice.channel.name, genre),
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="skip", description="Skip the piece playing in voice")
    async def skip(self, interaction: discord.Interaction[Any]) -> None:
        await self.control(interaction, "skip")

    @app_commands.command(name="pause", description="Pause the music in voice")
    async def pause(self, interaction: discord.Interaction[Any]) -> None:
        await self.control(interaction, "pause")

    @app_commands.command(name="resume", description="Carry on playing after /pause")
    async def resume(self, interaction: discord.Interaction[Any]) -> None:
        await self.control(interaction, "resume")

    @app_commands.command(name="stop", description="Stop the music, clear the queue and leave")
    async def stop(self, interaction: discord.Interaction[Any]) -> None:
        await self.control(interaction, "stop")

    @app_commands.command(name="loop", description="Loop the current piece, the queue, or nothing")
    @app_commands.describe(mode="off, one (this piece again and again) or all (the whole queue)")
    @app_commands.choices(
        mode=[
            app_commands.Choice(name="off", value="off"),
            app_commands.Choice(name="one — this piece", value="one"),
            app_commands.Choice(name="all — the whole queue", value="all"),
        ]
    )
    async def loop(
        self, interaction: discord.Interaction[Any], mode: app_commands.Choice[str]
    ) -> None:
        player = self._controllable(interaction)
        wanted = LoopMode(mode.value)
        player.set_loop(wanted)
        await self._say(interaction, f"{LOOP_TEXT[wanted]} (set by {interaction.user.mention})")

    @app_commands.command(name="volume", description="The music's volume in voice, 0 to 200 %")
    @app_commands.describe(percent="0 to 200; leave it out to see the volume now")
    async def volume(
        self,
        interaction: discord.Interaction[Any],
        percent: app_commands.Range[int, 0, 200] | None = None,
    ) -> None:
        if percent is None:
            player = self._player_here(interaction)
            await interaction.response.send_message(
                f"🔊 The volume is {round(player.volume * 100)} %.", ephemeral=True
            )
            return
        player = self._controllable(interaction)
        player.set_volume(percent / 100)
        await self._say(interaction, f"🔊 Volume {percent} % (set by {interaction.user.mention}).")

    async def control(self, interaction: discord.Interaction[Any], action: str) -> None:
        """/skip, /pause, /resume, /stop and the ⏯ ⏭ ⏹ buttons."""
        player = self._controllable(interaction)
        who = interaction.user.mention
        match action:
            case "skip":
                skipped = player.skip()
                text = f"⏭️ {who} skipped **{skipped.title}**."
            case "pause":
                text = f"⏸️ {who} paused **{player.pause().title}**. `/resume` carries on."
            case "resume":
                text = f"▶️ {who} resumed **{player.resume().title}**."
            case "toggle":
                if player.voice.is_paused():
                    text = f"▶️ {who} resumed **{player.resume().title}**."
                else:
                    text = f"⏸️ {who} paused **{player.pause().title}**. ⏯️ carries on."
            case "stop":
                name = player.voice.channel.name
                # Answer first: leaving waits for Discord, and an interaction has 3 s.
                await self._say(
                    interaction,
                    f"⏹️ {who} stopped the music and cleared the queue; I'm leaving 🔊 {name}.",
                )
                await player.leave(LeaveReason.STOPPED)
                return
            case _:
                raise ValueError(f"unknown control {action!r}")
        await self._say(interaction, text)

    def _player_here(self, interaction: discord.Interaction[Any]) -> GuildPlayer:
        guild = interaction.guild
        if guild is None:
            raise BadRequest("Music in voice channels works in servers, not in direct messages.")
        player = self.players.get(guild.id)
        if player is None or player.closed:
            raise NothingPlaying(
                "I'm not in a voice channel in this server. `/play` something and I'll join you."
            )
        return player

    def _controllable(self, interaction: discord.Interaction[Any]) -> GuildPlayer:
        """The guild's player, if the person may control it: they are listening in its
        channel, or they may move members (moderators)."""
        player = self._player_here(interaction)
        member = interaction.user
        if isinstance(member, discord.Member):
            listening_in = member.voice.channel if member.voice is not None else None
            if listening_in is not None and listening_in.id == player.voice.channel.id:
                return player
            if member.guild_permissions.move_members:
                return player
        raise BadRequest(f"Join 🔊 {player.voice.channel.name} to control the music there.")

    async def _say(self, interaction: discord.Interaction[Any], text: str) -> None:
        await interaction.response.send_message(
            text, allowed_mentions=discord.AllowedMentions.none()
        )

    # -- /radio --------------------------------------------------------------------------------

    @app_commands.command(
        name="radio", description="An endless station of new pieces in your voice channel"
    )
    @app_commands.describe(request="what the station plays, e.g. lofi or sad jazz 1m; stop ends it")
    async def radio(self, interaction: discord.Interaction[Any], request: str) -> None:
        words = request.strip()
        if words.lower() in RADIO_OFF_WORDS:
            player = self._controllable(interaction)
            if player.radio_off() is None:
                raise NothingPlaying("The radio isn't on. `/radio lofi` starts one.")
            await self._say(
                interaction,
                f"📻 {interaction.user.mention} turned the radio off; what is playing finishes.",
            )
            return
        self.bot.refuse_if_closing()
        channel = caller_channel(interaction)
        check_can_join(channel)
        self._check_not_busy_elsewhere(channel)
        self.bot.studio.parse(words)  # words the grammar can't read are answered privately
        await defer_publicly(interaction)
        player = await self._join(interaction, channel)
        owner = owner_of(interaction.user)
        station = self._station(player, words, owner, place_of(interaction))
        previous = player.tune(station)
        was = f" (it was playing *{previous.text}*)" if previous is not None else ""
        await interaction.edit_original_response(
            content=f"📻 Radio on in 🔊 {channel.name}: *{words}*, new pieces without end, made"
            f" for {mention(owner)}{was}. Composing the first one… `/radio stop` turns it off.",
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @radio.autocomplete("request")
    async def complete_radio(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        choices = [
            app_commands.Choice(name=text[:100], value=text[:100])
            for text in suggest_completions(current, self.bot.studio.catalog, limit=24)
        ]
        if "stop".startswith(current.strip().lower()):
            choices.insert(0, app_commands.Choice(name="stop — turn the radio off", value="stop"))
        return choices[:25]

    def _station(self, player: GuildPlayer, words: str, owner: Owner, place: Place) -> Radio:
        studio = self.bot.studio
        station = str(player.guild_id)

        async def make() -> Track:
            self.bot.refuse_if_closing()
            order = studio.order_radio(owner, words, place=place, station=station)
            published = await studio.make(order)
            return Track.of(published.creation, published.mp3, owner, radio=True)

        async def deliver(track: Track) -> None:
            await player.add([track])

        async def trouble(error: BaseException, giving_up: bool) -> None:
            what = self.bot.user_message(error)
            then = (
                f" The radio is off now; `/radio {words}` starts it again."
                if giving_up
                else " Trying again shortly."
            )
            await self._post(player, f"📻 The radio couldn't make its next piece: {what}{then}")

        return Radio(words, owner, make=make, deliver=deliver, trouble=trouble)

    # -- what the players tell us --------------------------------------------------------------

    def track_started(self, player: GuildPlayer, track: Track) -> None:
        self._spawn(self._announce(player, track), "voice-announce")

    def track_failed(self, player: GuildPlayer, track: Track, error: str) -> None:
        log.warning("could not play %s in guild %s: %s", track.label, player.guild_id, error)
        self._spawn(
            self._post(
                player,
                f"⚠️ I couldn't play **{track.title}**; its audio could not be"
                " read, so I skipped it.",
            ),
            "voice-failed",
        )

    def player_left(self, player: GuildPlayer, reason: LeaveReason) -> None:
        if self.players.get(player.guild_id) is player:
            del self.players[player.guild_id]
        text = leave_text(reason, player.voice.channel.name, self.bot.config.voice_idle_s)
        if text is not None:
            self._spawn(self._post(player, text), "voice-left")

    def forget_piece(self, piece_id: str) -> None:
        """A piece was deleted: it leaves every queue and stops if it is playing."""
        for player in self.players.values():
            player.forget_piece(piece_id)

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        player = self.players.get(member.guild.id)
        if player is None or player.closed:
            return
        assert self.bot.user is not None
        if member.id == self.bot.user.id:
            if after.channel is None:
                player.leave_soon(LeaveReason.DISCONNECTED)
            return
        channel = player.voice.channel
        left_ours = before.channel is not None and before.channel.id == channel.id
        if left_ours and (after.channel is None or after.channel.id != channel.id):
            members = getattr(channel, "members", [])
            if not any(not m.bot for m in members):
                player.leave_soon(LeaveReason.ALONE)

    # -- announcing ----------------------------------------------------------------------------

    async def _announce(self, player: GuildPlayer, track: Track) -> None:
        """Now playing: the piece's card and picture with its buttons and the controls; a radio
        piece is new, so it comes with its MP3 and is recorded as posted here."""
        async with self._announcing[player.guild_id]:
            target = self._text_channel(player)
            studio = self.bot.studio
            place = Place("discord", str(player.guild_id), str(player.text_channel_id))
            try:
                await studio.record_play(track.piece_id, place)
                card = await studio.card(track.piece_id)
                if target is None or card.creation.deleted:
                    return
                creation = card.creation
                names = file_names(creation)
                png = await studio.media_path(creation, "png")
                if track.radio:
                    files, upload = await piece_files(
                        track.path,
                        png,
                        (names.mp3_name, names.png_name),
                        self._upload_limit(player),
                        creation.duration_s or 30.0,
                    )
                    station = player.radio.text if player.radio is not None else "radio"
                    content = (
                        f"📻 **Radio** · *{station}* · now playing in 🔊"
                        f" {player.voice.channel.name}, a new piece for {mention(track.requested_by)}."
                    )
                else:
                    picture = await asyncio.to_thread(png.read_bytes)
                    files, upload = [discord.File(io.BytesIO(picture), names.png_name)], None
                    content = (
                        f"▶️ Now playing in 🔊 {player.voice.channel.name}, asked for by"
                        f" {mention(track.requested_by)}."
                    )
                message = await target.send(
                    content,
                    embed=piece_embed(card, upload=upload),
                    files=files,
                    view=now_playing_view(creation.id, likes=card.likes),
                    allowed_mentions=discord.AllowedMentions.none(),
                )
                if track.radio:
                    await studio.record_post(creation.id, place, str(message.id))
            except discord.HTTPException as error:
                log.warning("could not announce %s: %s", track.label, error)
            except NotFound:
                log.info("%s was deleted before it was announced", track.label)

    async def _post(self, player: GuildPlayer, text: str) -> None:
        target = self._text_channel(player)
        if target is None:
            return
        async with self._announcing[player.guild_id]:
            try:
                await target.send(text, allowed_mentions=discord.AllowedMentions.none())
            except discord.HTTPException as error:
                log.warning("could not post in channel %s: %s", player.text_channel_id, error)

    def _text_channel(self, player: GuildPlayer) -> discord.PartialMessageable | None:
        if player.text_channel_id is None:
            return None
        return self.bot.get_partial_messageable(player.text_channel_id, guild_id=player.guild_id)

    def _upload_limit(self, player: GuildPlayer) -> int:
        guild = self.bot.get_guild(player.guild_id)
        return guild.filesize_limit if guild is not None else DEFAULT_FILESIZE_LIMIT

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
