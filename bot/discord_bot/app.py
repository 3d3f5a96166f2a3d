"""`tunesmith bot`: the Discord front end, an `AutoShardedBot` with one cog per feature.

Every long-lived resource is built once in `run_bot` and passed in (discord.py's
advanced_startup example): the HTTP session, the generator client (embedded generator when
`GENERATOR_URL` is unset), the ledger on its owner thread, the signing identity, the fair queue
and the studio that ties them together. `Tunesmith` holds references, never makes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import signal
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.client import GeneratorClient
from bot.discord_bot import pending
from bot.discord_bot.config import ConfigError, DiscordConfig
from bot.discord_bot.replies import Reply, WebhookReply, tell_privately
from bot.embedded import generator_url
from bot.fairness import ComposeQueue, Limits
from bot.healthcheck import HEARTBEAT_EVERY_S, HEARTBEAT_FILE
from bot.ledger import AsyncLedger
from bot.posts import migrations as post_migrations
from bot.publishing import Publisher, index_migrations, ledger_path, open_identity, open_reference
from bot.studio import Order, Published, Studio
from generators.catalog import Catalog
from generators.errors import TunesmithError
from generators.settings import Settings

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discord_bot.cogs.compose",
    "bot.discord_bot.cogs.library",
    "bot.discord_bot.cogs.voice",
    "bot.discord_bot.cogs.remix",
)
COMMANDS_STAMP = "discord-commands.sha256"
PostedListener = Callable[[Published, int], None]
SOMETHING_WRONG = "Something went wrong on our side; it has been logged. Please try again."


class ShuttingDown(TunesmithError):
    """The bot is stopping and takes no new pieces."""


class Tunesmith(commands.AutoShardedBot):
    """The bot: the studio, its config and the cogs; no resources of its own."""

    def __init__(
        self,
        *,
        config: DiscordConfig,
        studio: Studio,
        state_dir: Path,
        extensions: Iterable[str] = EXTENSIONS,
        on_posted: PostedListener | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """`tls`: the context for Discord's TLS connections (the voice servers' websockets
        among them); None is the system's CA store as usual (`SSL_CERT_FILE` is honoured)."""
        intents = discord.Intents.default()
        intents.message_content = config.message_commands
        prefix = (
            commands.when_mentioned_or(config.prefix)
            if config.message_commands
            else commands.when_mentioned
        )
        super().__init__(
            command_prefix=prefix,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
            # discord.py's own default connector (no connection limit), with the given TLS.
            connector=None if tls is None else aiohttp.TCPConnector(limit=0, ssl=tls),
        )
        self.config = config
        self.studio = studio
        self.state_dir = state_dir
        self._extensions = tuple(extensions)
        self.on_posted = on_posted  # instrumentation: the benchmark times each piece
        self._in_flight: set[asyncio.Task[Any]] = set()
        self.closing = False
        self._resuming: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self.tree.error(self._on_app_command_error)
        if config.gateway_url is not None:
            _use_gateway(self, config.gateway_url)

    async def setup_hook(self) -> None:
        self._heartbeat = asyncio.create_task(self._beat(), name="tunesmith-heartbeat")
        for extension in self._extensions:
            await self.load_extension(extension)
        await self.sync_commands()
        # Read what a previous run left unanswered now, before this run acknowledges anything:
        # requests of this run are remembered too and must not be taken for leftovers.
        leftovers, expired = await self.studio.ledger.run(
            lambda ledger: pending.outstanding(ledger.db.conn)
        )
        if expired:
            log.warning(
                "%d unanswered request(s) were too old to answer (Discord allows 15 minutes); dropped",
                expired,
            )
        if leftovers:
            self._resuming = asyncio.create_task(
                self._resume_pending(leftovers), name="resume-pending"
            )
        # Everything built so far (modules, the catalogue, the cogs) lives as long as the bot:
        # moving it out of the collector's reach keeps full collections short, and those
        # pauses were the slowest acknowledgements in `tunesmith bench --bot`.
        gc.collect()
        gc.freeze()

    async def sync_commands(self) -> bool:
        """Sync slash commands with Discord when they changed since the last sync (a stamp in
        the data dir), so restarts do not spend the command-sync rate limit. Returns whether
        it synced."""
        guild = discord.Object(self.config.dev_guild) if self.config.dev_guild else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(
            json.dumps([self.config.dev_guild, payload], sort_keys=True).encode()
        ).hexdigest()
        stamp = self.state_dir / COMMANDS_STAMP
        if stamp.is_file() and stamp.read_text().strip() == digest:
            log.info("slash commands unchanged; not syncing")
            return False
        synced = await self.tree.sync(guild=guild)
        stamp.write_text(digest + "\n")
        log.info(
            "synced %d slash commands %s",
            len(synced),
            f"to guild {guild.id}" if guild else "globally",
        )
        return True

    # -- the one error handler ----------------------------------------------------------------

    def user_message(self, error: BaseException) -> str:
        """What to tell a person about `error`: our own errors say it plainly; anything else is
        logged with its traceback and reported as our fault."""
        error = _unwrap(error)
        if isinstance(error, TunesmithError):
            return str(error)
        if isinstance(error, app_commands.CommandNotFound) and self.closing:
            return "I'm restarting right now; ask again in a minute."  # commands unloaded
        if isinstance(error, discord.Forbidden):
            return (
                "I don't have permission to do that here. Ask a server admin to let me send"
                " messages, embed links and attach files in this channel."
            )
        log.error("unexpected error", exc_info=error)
        return SOMETHING_WRONG

    async def report(self, interaction: discord.Interaction[Any], error: BaseException) -> None:
        """Tell the person privately what went wrong (the one handler for every interaction)."""
        text = self.user_message(error)
        try:
            await tell_privately(interaction, text)
        except discord.HTTPException as failure:
            log.warning("could not tell %s about an error: %s", interaction.user, failure)

    async def _on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        await self.report(interaction, error)

    async def on_command_error(
        self, context: commands.Context[Any], error: commands.CommandError
    ) -> None:
        if isinstance(error, commands.CommandNotFound):
            return  # a mention that is not a command: not ours to answer
        if isinstance(error, commands.UserInputError):
            await context.reply(
                f"{error} Try `@{self.user} compose lofi 30s`.", mention_author=False
            )
            return
        await context.reply(self.user_message(error), mention_author=False)

    # -- requests in flight, across restarts, and a clean shutdown ----------------------------

    async def remember_pending(self, interaction: discord.Interaction[Any], order: Order) -> None:
        """Keep an acknowledged request until it is answered, so a restart can still answer it."""
        request = pending.PendingRequest(
            interaction_id=str(interaction.id),
            application_id=str(interaction.application_id),
            token=interaction.token,
            owner=order.owner,
            text=order.text,
            seed=order.seed,
            parents=order.parents,
            origin=order.origin,
            place=order.place,
            filesize_limit=interaction.filesize_limit,
            created_at=time.time(),
        )
        await self.studio.ledger.run(lambda ledger: pending.remember(ledger.db.conn, request))

    async def forget_pending(self, key: str | None) -> None:
        if key is not None:
            await self.studio.ledger.run(lambda ledger: pending.forget(ledger.db.conn, key))

    async def _resume_pending(self, requests: list[pending.PendingRequest]) -> None:
        """Answer the requests a previous run acknowledged but never answered."""
        from bot.discord_bot.cogs.compose import make_and_post

        await self.wait_until_ready()
        for request in requests:
            # The same follow-up webhook an Interaction builds (discord.py's Interaction.followup).
            webhook = discord.Webhook.from_state(
                data={"id": request.application_id, "type": 3, "token": request.token},
                state=self._connection,
            )
            reply = WebhookReply(webhook, request.filesize_limit, request.interaction_id)
            log.info("resuming %r for %s after a restart", request.text, request.owner)
            resumed = asyncio.create_task(self._resume_one(request, reply, make_and_post))
            self._in_flight.add(resumed)  # a shutdown waits for it like any other piece
            resumed.add_done_callback(self._in_flight.discard)

    async def _resume_one(
        self,
        request: pending.PendingRequest,
        reply: WebhookReply,
        make_and_post: Callable[[Tunesmith, Order, Reply], Awaitable[object]],
    ) -> None:
        try:
            if request.origin == "remix" and request.parents:
                order = await self.studio.order_remix(
                    request.owner, request.parents[0], request.text, place=request.place
                )
            else:
                order = self.studio.order(
                    request.owner,
                    request.text,
                    place=request.place,
                    seed=request.seed,
                    parents=request.parents,
                    origin=request.origin,
                )
            await make_and_post(self, order, reply)
        except Exception as error:
            await self.forget_pending(request.interaction_id)
            try:
                await reply.fail(self.user_message(error))
            except discord.HTTPException as failure:
                log.warning("could not answer a resumed request: %s", failure)

    def refuse_if_closing(self) -> None:
        if self.closing:
            raise ShuttingDown("I'm restarting right now; ask again in a minute.")

    async def keep(self, work: Awaitable[Any]) -> Any:
        """Await `work` as a request that a shutdown waits for (up to the grace period)."""
        task = asyncio.ensure_future(work)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return await asyncio.shield(task)

    async def _beat(self) -> None:
        """Touch the heartbeat file while connected and ready: the container's health check
        (`python -m bot.healthcheck`) reads its age."""
        path = self.state_dir / HEARTBEAT_FILE
        while not self.is_closed():
            # (Not wait_until_ready(): discord.py refuses it while setup_hook runs, and this
            # task starts there.) Until ready, look again every second.
            # Ready once is not connected now: every shard's gateway connection must be open.
            connected = bool(self.shards) and not any(s.is_closed() for s in self.shards.values())
            ready = self.is_ready() and connected and not self.closing
            if ready:
                try:
                    await asyncio.to_thread(path.touch)
                except OSError as error:
                    log.warning("could not write the heartbeat %s: %s", path, error)
            await asyncio.sleep(HEARTBEAT_EVERY_S if ready else 1.0)

    async def close(self) -> None:
        """Stop taking new pieces, let the ones being made finish (within the grace period),
        then disconnect."""
        self.closing = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self._resuming is not None and not self._resuming.done():
            self._resuming.cancel()
        if self._in_flight:
            log.info(
                "waiting up to %.0f s for %d piece(s)",
                self.config.shutdown_grace_s,
                len(self._in_flight),
            )
            _done, pending = await asyncio.wait(
                set(self._in_flight), timeout=self.config.shutdown_grace_s
            )
            for task in pending:
                task.cancel()
        await super().close()


def _unwrap(error: BaseException) -> BaseException:
    while isinstance(
        error,
        app_commands.CommandInvokeError | commands.CommandInvokeError | commands.HybridCommandError,
    ):
        error = error.original
    return error


def _use_gateway(bot: Tunesmith, url: str) -> None:
    """Connect shards to `url` (a gateway proxy) instead of the URL Discord advertises; the shard
    count still comes from Discord's `/gateway/bot`."""
    advertised = bot.http.get_bot_gateway

    async def get_bot_gateway() -> tuple[int, str, Any]:
        shards, _url, limits = await advertised()
        return shards, url, limits

    setattr(bot.http, "get_bot_gateway", get_bot_gateway)  # noqa: B010 (a method, on purpose)


@contextlib.contextmanager
def discord_endpoints(config: DiscordConfig) -> Iterator[None]:
    """Point discord.py at `DISCORD_API_BASE` / `DISCORD_GATEWAY_URL` for the block.

    discord.py keeps both as class attributes (`Route.BASE`, `DiscordWebSocket.DEFAULT_GATEWAY`);
    they are restored on exit so nothing outlives the bot that needed them.
    """
    route = discord.http.Route
    socket = discord.gateway.DiscordWebSocket
    saved = route.BASE, socket.DEFAULT_GATEWAY
    route.BASE = config.api_base
    if config.gateway_url is not None:
        socket.DEFAULT_GATEWAY = yarl.URL(config.gateway_url)
    try:
        yield
    finally:
        route.BASE, socket.DEFAULT_GATEWAY = saved


@contextlib.asynccontextmanager
async def studio_for(
    settings: Settings,
    limits: Limits,
    session: aiohttp.ClientSession,
    *,
    workers: int | None = None,
) -> AsyncIterator[Studio]:
    """Every resource the studio needs, built once for the block: the generator (remote, or
    embedded on loopback), the ledger on its owner thread, the signing identity and the
    reference melodies."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as resources:
        url = await resources.enter_async_context(generator_url(settings, workers=workers))
        client = GeneratorClient(
            session,
            url,
            # A 5-minute piece takes a few seconds; the total also bounds a hung generator.
            # A generator that is down is reported within 5 s even when connections hang:
            # 4 connects of at most 0.75 s plus back-off waits of at most 0.25 + 0.5 + 1 s.
            timeout=aiohttp.ClientTimeout(total=120, connect=0.75),
            retries=3,
            backoff_base_s=0.25,
            max_backoff_s=4.0,
        )
        ledger = await resources.enter_async_context(
            AsyncLedger.open(
                ledger_path(settings),
                extra_migrations=[index_migrations(), post_migrations(), pending.migrations()],
            )
        )
        identity = resources.enter_context(await asyncio.to_thread(open_identity, settings))
        reference = await asyncio.to_thread(open_reference, settings.reference_melodies_path)
        if reference is not None:
            resources.enter_context(reference)
        scratch = Path(resources.enter_context(tempfile.TemporaryDirectory(prefix="tunesmith-")))
        yield Studio(
            client=client,
            ledger=ledger,
            publisher=Publisher(identity, reference),
            identity=identity,
            queue=ComposeQueue(limits),
            catalog=Catalog.default(),
            scratch=scratch,
        )


@contextlib.asynccontextmanager
async def started_bot(
    settings: Settings,
    config: DiscordConfig,
    *,
    workers: int | None = None,
    on_posted: PostedListener | None = None,
    tls: ssl.SSLContext | None = None,
) -> AsyncIterator[Tunesmith]:
    """The bot logged in and connecting in the background for the block; closed (pieces in
    flight finished) on exit. For tests and the benchmark; `run_bot` is the command. `tls`
    trusts another CA for Discord's TLS (the loopback voice server's, in tests)."""
    with discord_endpoints(config):
        async with (
            aiohttp.ClientSession() as session,
            studio_for(settings, config.limits, session, workers=workers) as studio,
            Tunesmith(
                config=config,
                studio=studio,
                state_dir=settings.data_dir,
                on_posted=on_posted,
                tls=tls,
            ) as bot,
        ):
            runner = asyncio.create_task(bot.start(config.token), name="tunesmith-bot")
            try:
                yield bot
            finally:
                await bot.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner


async def run_bot(settings: Settings, config: DiscordConfig) -> None:
    """`tunesmith bot`: run until SIGINT/SIGTERM, then shut down cleanly."""
    loop = asyncio.get_running_loop()
    with discord_endpoints(config):
        async with (
            aiohttp.ClientSession() as session,
            studio_for(settings, config.limits, session) as studio,
            Tunesmith(config=config, studio=studio, state_dir=settings.data_dir) as bot,
        ):
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, lambda: asyncio.ensure_future(bot.close()))
            try:
                await bot.start(config.token)
            except discord.LoginFailure:
                raise ConfigError(
                    "Discord refused the bot token. Copy it again from the developer portal"
                    " (your application → Bot → Reset Token) into DISCORD_TOKEN or the file"
                    " DISCORD_TOKEN_FILE names."
                ) from None
            except discord.PrivilegedIntentsRequired:
                raise ConfigError(
                    "TUNESMITH_MESSAGE_COMMANDS=1 needs the Message Content Intent: turn it on in"
                    " the developer portal (your application → Bot → Privileged Gateway Intents),"
                    " or unset TUNESMITH_MESSAGE_COMMANDS to use /compose and mentions only."
                ) from None
