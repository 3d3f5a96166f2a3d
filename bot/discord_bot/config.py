"""The Discord front end's settings, read once from the environment (and `.env`) in main."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values
from yarl import URL

from bot.fairness import Limits
from generators.errors import BadRequest

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"


_DEFAULTS = Limits()


class ConfigError(BadRequest):
    """A setting is missing or malformed; the message names it and says what would be right."""


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    token: str = field(repr=False)
    api_base: str = DISCORD_API_BASE  # DISCORD_API_BASE: an HTTP proxy or a loopback Discord
    gateway_url: str | None = None  # DISCORD_GATEWAY_URL: a gateway proxy or a loopback Discord
    dev_guild: int | None = None  # DISCORD_DEV_GUILD: sync commands to this guild only
    message_commands: bool = False  # TUNESMITH_MESSAGE_COMMANDS: `!compose …` (needs the intent)
    prefix: str = "!"
    limits: Limits = field(default_factory=Limits)
    shutdown_grace_s: float = 30.0  # pieces being made may finish this long after SIGTERM
    voice_idle_s: float = 300.0  # TUNESMITH_VOICE_IDLE_S: leave voice after this long silent

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
    ) -> DiscordConfig:
        """Environment variables win over `.env`."""
        values: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            values.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls(
            token=_token(values),
            api_base=_url(values, "DISCORD_API_BASE", ("http", "https")) or DISCORD_API_BASE,
            gateway_url=_url(values, "DISCORD_GATEWAY_URL", ("ws", "wss")),
            dev_guild=_snowflake(values, "DISCORD_DEV_GUILD"),
            message_commands=_flag(values, "TUNESMITH_MESSAGE_COMMANDS"),
            limits=Limits(
                cooldown_s=_number(values, "TUNESMITH_COOLDOWN_S", _DEFAULTS.cooldown_s, 0, 3600),
                per_guild=int(
                    _number(values, "TUNESMITH_GUILD_LIMIT", _DEFAULTS.per_guild, 1, 1000)
                ),
                waiting=int(_number(values, "TUNESMITH_QUEUE_SIZE", _DEFAULTS.waiting, 1, 10_000)),
                running=int(
                    _number(values, "TUNESMITH_GENERATOR_JOBS", _DEFAULTS.running, 1, 1000)
                ),
            ),
            voice_idle_s=_number(values, "TUNESMITH_VOICE_IDLE_S", 300.0, 0, 86_400),
        )


def _token(values: Mapping[str, str]) -> str:
    token = values.get("DISCORD_TOKEN", "").strip()
    file = values.get("DISCORD_TOKEN_FILE", "").strip()
    if token and file:
        raise ConfigError("set DISCORD_TOKEN or DISCORD_TOKEN_FILE, not both")
    if file:
        path = Path(file)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(
                f"DISCORD_TOKEN_FILE={file} can't be read ({error.strerror}); point it at a file"
                " holding the bot token (e.g. a mounted secret)"
            ) from None
        if not token:
            raise ConfigError(f"DISCORD_TOKEN_FILE={file} is empty; it must hold the bot token")
    if not token:
        raise ConfigError(
            "the bot needs its token: set DISCORD_TOKEN, or DISCORD_TOKEN_FILE to a file holding"
            " it (Discord developer portal → your application → Bot → Reset Token)"
        )
    if any(c.isspace() for c in token):
        raise ConfigError("the bot token contains spaces or line breaks; paste it exactly")
    return token


def _url(values: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    url = URL(raw)
    if url.scheme not in schemes or not url.host:
        allowed = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ConfigError(f"{name} must be a URL starting with {allowed} and a host, got {raw!r}")
    return raw.rstrip("/") if "http" in schemes else raw


def _snowflake(values: Mapping[str, str], name: str) -> int | None:
    raw = values.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 2**64:
        raise ConfigError(
            f"{name} must be a server id (a number; right-click the server → Copy Server ID),"
            f" got {raw!r}"
        )
    return int(raw)


def _flag(values: Mapping[str, str], name: str) -> bool:
    raw = values.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be 1/true/yes/on or 0/false/no/off, got {raw!r}")


def _number(values: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            f"{name} must be a number from {low:g} to {high:g}, got {raw!r}"
        ) from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be from {low:g} to {high:g}, got {raw}")
    return value
