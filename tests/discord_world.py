"""The e2e tests' world: a loopback Discord with a server, a channel and two people, and the real
bot started against it with a real generator, ledger and signing behind it."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.discord_bot.app import Tunesmith, started_bot
from bot.discord_bot.config import DiscordConfig
from bot.fairness import Limits
from bot.fake_discord import (
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeUser,
)
from bot.ledger import Ledger
from generators.settings import Settings

DEAD_GATEWAY = "ws://127.0.0.1:9/never"
PIECE_BUTTON = re.compile(r"piece:(play|vary|remix|midi|like):([0-9a-z]{8})")
EASY = Limits(cooldown_s=0, per_user=2, per_guild=8)


@dataclass
class World:
    fake: FakeDiscord
    guild: FakeGuild
    channel: FakeChannel
    alice: FakeUser
    bob: FakeUser
    data_dir: Path
    generator_url: str
    limits: Limits = EASY
    bots: list[Tunesmith] = field(default_factory=list)

    def config(self, **changes: object) -> DiscordConfig:
        values: dict[str, object] = {
            "token": self.fake.token,
            "api_base": self.fake.api_base,
            "gateway_url": self.fake.gateway_url,
            "limits": self.limits,
            "shutdown_grace_s": 20.0,
        }
        values.update(changes)
        return DiscordConfig(**values)  # type: ignore[arg-type]

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, soundfont=None, generator_url=self.generator_url)

    @contextlib.asynccontextmanager
    async def bot(self, **changes: object) -> AsyncIterator[Tunesmith]:
        # Trusting the loopback voice server's CA, as a deployment trusts Discord's.
        tls = self.fake.voice_certificates.client_context()
        async with started_bot(self.settings(), self.config(**changes), tls=tls) as bot:
            await self.fake.wait_ready(timeout=30)
            await self.fake.wait_commands(timeout=30)
            yield bot

    def ledger(self) -> Ledger:
        return Ledger.open(self.data_dir / "ledger.db")


def make_world(fake: FakeDiscord, tmp_path: Path, generator_url: str) -> World:
    alice, bob = fake.add_user("alice"), fake.add_user("bob")
    guild = fake.add_guild("Studio", members=[alice, bob])
    channel = guild.add_text_channel("music")
    return World(fake, guild, channel, alice, bob, tmp_path / "data", generator_url)


async def compose(world: World, user: FakeUser, request: str) -> tuple[FakeMessage, str]:
    """/compose as `user`; the posted piece's message and id."""
    interaction = await world.fake.slash(user, world.channel, "compose", {"request": request})
    assert (await interaction.response())["type"] == 5
    message = await posted(interaction)
    return message, piece_id_of(message)


async def posted(interaction: FakeInteraction, within_s: float = 60) -> FakeMessage:
    """The interaction's original response once it carries a piece (attachments and buttons)."""
    original = await interaction.original(within_s)
    deadline = asyncio.get_running_loop().time() + within_s
    while not original.buttons() or original.loading:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no piece posted; the message says {original.content!r}")
        await asyncio.sleep(0.05)
    return original


def piece_id_of(message: FakeMessage) -> str:
    ids = {PIECE_BUTTON.fullmatch(b["custom_id"])[2] for b in message.buttons()}  # type: ignore[index]
    assert len(ids) == 1, ids
    return ids.pop()


def field_values(message: FakeMessage) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0]["fields"]}
