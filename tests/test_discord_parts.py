"""The Discord front end's parts that need no Discord: settings, throttled progress, fitting an
MP3 under the upload limit (real ffmpeg), the request text built from slash-command options."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from mutagen.id3 import GEOB, ID3, TIT2, TPE1

from bot.discord_bot.cogs.compose import request_text
from bot.discord_bot.config import DISCORD_API_BASE, ConfigError, DiscordConfig
from bot.discord_bot.delivery import fit_mp3
from bot.discord_bot.progress import StatusLine
from bot.grammar import parse_request
from generators.catalog import Catalog
from generators.encode import decode_audio

# -- settings -----------------------------------------------------------------------------------


def test_config_reads_the_token_and_endpoints(tmp_path: Path) -> None:
    config = DiscordConfig.from_env(
        {
            "DISCORD_TOKEN": "abc.def",
            "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10/",
            "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9/",
            "DISCORD_DEV_GUILD": "123456789012345678",
            "TUNESMITH_MESSAGE_COMMANDS": "yes",
            "TUNESMITH_COOLDOWN_S": "2.5",
            "TUNESMITH_VOICE_IDLE_S": "90",
        },
        dotenv=None,
    )
    assert config.voice_idle_s == 90.0
    assert config.token == "abc.def" and "abc.def" not in repr(config)
    assert config.api_base == "http://127.0.0.1:9/api/v10"
    assert config.gateway_url == "ws://127.0.0.1:9/"
    assert config.dev_guild == 123456789012345678
    assert config.message_commands and config.limits.cooldown_s == 2.5
    defaults = DiscordConfig.from_env({"DISCORD_TOKEN": "t"}, dotenv=None)
    assert (defaults.api_base, defaults.gateway_url, defaults.dev_guild) == (
        DISCORD_API_BASE,
        None,
        None,
    )
    assert defaults.voice_idle_s == 300.0


def test_config_reads_the_token_from_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("from-a-file\n")
    assert (
        DiscordConfig.from_env({"DISCORD_TOKEN_FILE": str(secret)}, dotenv=None).token
        == "from-a-file"
    )


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "the bot needs its token: set DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "a", "DISCORD_TOKEN_FILE": "/x"}, "not both"),
        ({"DISCORD_TOKEN_FILE": "/nonexistent/token"}, "can't be read"),
        ({"DISCORD_TOKEN": "two words"}, "spaces or line breaks"),
        (
            {"DISCORD_TOKEN": "t", "DISCORD_API_BASE": "discord.com/api"},
            "DISCORD_API_BASE must be a URL starting with http:// or https://",
        ),
        (
            {"DISCORD_TOKEN": "t", "DISCORD_GATEWAY_URL": "http://x/"},
            "DISCORD_GATEWAY_URL must be a URL starting with ws:// or wss://",
        ),
        ({"DISCORD_TOKEN": "t", "DISCORD_DEV_GUILD": "my server"}, "Copy Server ID"),
        ({"DISCORD_TOKEN": "t", "TUNESMITH_MESSAGE_COMMANDS": "maybe"}, "1/true/yes/on"),
        ({"DISCORD_TOKEN": "t", "TUNESMITH_COOLDOWN_S": "-1"}, "from 0 to 3600"),
        ({"DISCORD_TOKEN": "t", "TUNESMITH_VOICE_IDLE_S": "soon"}, "a number from 0 to 86400"),
    ],
)
def test_bad_settings_say_what_would_be_right(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DiscordConfig.from_env(environ, dotenv=None)


# -- slash-command options as words of the one grammar ------------------------------------------


def test_structured_options_read_as_the_grammar(catalog: Catalog) -> None:
    text = request_text(
        "lofi", mood="sad", length="45s", key="D minor", tempo=84, instruments="piano and sax"
    )
    request = parse_request(text, catalog)
    assert (request.genre, request.mood, request.duration_s, request.tempo_bpm) == (
        "lofi",
        "sad",
        45.0,
        84.0,
    )
    assert (request.tonic, request.mode) == (2, "minor")
    assert set(request.instruments) >= {"piano"}
    assert request_text("jazz 30s") == "jazz 30s"


# -- throttled progress ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_status_line_coalesces_quick_stages_and_never_overwrites_the_end() -> None:
    shown: list[str] = []

    async def edit(text: str) -> None:
        shown.append(text)

    status = StatusLine(edit, min_interval_s=0.2)
    await status.show("queued #2")  # first: at once, in the background
    await asyncio.sleep(0.05)
    assert shown == ["queued #2"]
    await status.show("queued #1")  # too soon: waits ...
    await status.show("composing")  # ... and is replaced by the newer text
    await asyncio.sleep(0.05)
    assert shown == ["queued #2"]
    await asyncio.sleep(0.3)
    assert shown == ["queued #2", "composing"]
    await status.show("checking")  # too soon again, then closed before it is due
    await status.close()
    await asyncio.sleep(0.3)
    await status.show("late")
    assert shown == ["queued #2", "composing"]
    assert status.edits == 2


# -- fitting the MP3 under the upload limit -------------------------------------------------------


def _tagged_mp3(path: Path, seconds: int = 20) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-ac", "2", "-c:a", "libmp3lame", "-b:a", "192k", str(path)],
        check=True,
    )  # fmt: skip
    tags = ID3()
    tags.add(TIT2(encoding=3, text="Blue Hour"))
    tags.add(TPE1(encoding=3, text="Alice"))
    tags.add(GEOB(encoding=3, mime="application/c2pa", desc="c2pa manifest store", data=b"x" * 100))
    tags.save(str(path), v2_version=4)


@pytest.mark.asyncio
async def test_an_mp3_within_the_limit_is_posted_as_it_is(tmp_path: Path) -> None:
    mp3 = tmp_path / "piece.mp3"
    _tagged_mp3(mp3)
    upload = await fit_mp3(mp3, 10 * 1024 * 1024, 20.0)
    assert upload is not None and not upload.reduced and upload.data == mp3.read_bytes()


@pytest.mark.asyncio
async def test_an_mp3_over_the_limit_gets_a_lower_bitrate_not_a_failure(tmp_path: Path) -> None:
    mp3 = tmp_path / "piece.mp3"
    _tagged_mp3(mp3)
    limit = len(mp3.read_bytes()) // 3  # 192 kbps -> needs 64 kbps or less
    upload = await fit_mp3(mp3, limit, 20.0)
    assert upload is not None and upload.reduced and upload.bitrate_kbps is not None
    assert upload.bitrate_kbps <= 64 and len(upload.data) <= limit
    smaller = tmp_path / "smaller.mp3"
    smaller.write_bytes(upload.data)
    pcm, rate = decode_audio(smaller)
    assert abs(len(pcm) / rate - 20.0) < 0.1
    tags = ID3(str(smaller))
    assert str(tags["TIT2"]) == "Blue Hour" and str(tags["TPE1"]) == "Alice"
    assert not tags.getall("GEOB")  # the original's manifest would not match these bytes
    assert await fit_mp3(mp3, 1000, 20.0) is None  # not even 32 kbps fits 1 kB


@pytest.mark.asyncio
async def test_status_line_close_waits_for_an_edit_in_flight() -> None:
    finished: list[str] = []

    async def slow_edit(text: str) -> None:
        await asyncio.sleep(0.2)
        finished.append(text)

    status = StatusLine(slow_edit, min_interval_s=0.05)
    await status.show("composing")
    await asyncio.sleep(0.02)  # the edit is on its way to Discord
    await status.close()
    # The caller's final edit comes after this one, never before it.
    assert finished == ["composing"]


def test_pending_requests_are_kept_until_answered_and_dropped_when_too_old(tmp_path: Path) -> None:
    import sqlite_utils

    from bot.discord_bot import pending
    from bot.ledger import Owner
    from bot.posts import Place

    db = sqlite_utils.Database(tmp_path / "pending.db")
    pending.migrations().apply(db)

    def request(interaction_id: str, at: float) -> pending.PendingRequest:
        return pending.PendingRequest(
            interaction_id=interaction_id,
            application_id="1",
            token="t-" + interaction_id,
            owner=Owner("discord", "42", "Ada"),
            text="lofi 30s",
            seed=None,
            parents=("k3j9x2ab",),
            origin="variation",
            place=Place("discord", "7", "8"),
            filesize_limit=10_000_000,
            created_at=at,
        )

    now = 1_000_000.0
    pending.remember(db.conn, request("old", now - pending.ANSWERABLE_S - 1))
    pending.remember(db.conn, request("b", now - 60))
    pending.remember(db.conn, request("a", now - 120))
    kept, expired = pending.outstanding(db.conn, now)
    assert expired == 1
    assert [r.interaction_id for r in kept] == ["a", "b"]  # oldest first
    assert kept[0] == request("a", now - 120)  # every field round-trips
    pending.forget(db.conn, "a")
    assert [r.interaction_id for r in pending.outstanding(db.conn, now)[0]] == ["b"]


def test_file_names_are_plain_ascii_slugs_with_the_id() -> None:
    from bot.discord_bot.pieces import _slug

    assert _slug("Lonely Corner Café") == "lonely-corner-cafe"
    assert _slug("Ünter den Linden — Nocturne No. 2") == "unter-den-linden-nocturne-no-2"
    assert _slug("東京") == "piece"  # nothing left in ASCII
    assert _slug("x" * 80) == "x" * 40
