"""`tunesmith bench --voice`: the radio, for a long time, against the loopback Discord.

The real `tunesmith bot` command runs in a child process, as deployed: the embedded generator,
the ledger, signing, and the voice connection to the loopback voice server, whose certificate
it trusts through `SSL_CERT_FILE` like any other CA. Someone starts `/radio lofi 5s` and listens
to `pieces` pieces. Measured:

- the bot process's resident memory (VmRSS) when each piece starts: after the first piece and
  after the last must be within 10 % (memory stays flat however long the radio plays);
- the gap between pieces: the voice server's arrival times of the packets around each boundary,
  less the 20 ms every packet is apart anyway (target ≤ 100 ms);
- time from /radio to the first sound.

Then an A/B of the playback alone, on the first pieces the radio made, in the same run: a
bare discord.py client plays them once as our gapless queue (`QueueSource`) and once the way
most bots do, one `discord.FFmpegPCMAudio` per piece with the next started from the `after`
callback; the gap at each boundary is measured the same way for both.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import discord
from rich.console import Console
from rich.table import Table

from bot.discord_bot.app import discord_endpoints
from bot.discord_bot.config import DiscordConfig
from bot.fake_discord import (
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeMessage,
    VoicePacket,
    arrival_gap_s,
)
from bot.ledger import Ledger, Owner
from bot.voice.decoder import FRAME_SAMPLES, PcmDecoder
from bot.voice.playlist import Playlist, Track
from bot.voice.source import QueueSource
from generators.bench import machine_description
from generators.settings import Settings

MEMORY_TARGET = 0.10  # RSS after the last piece within 10 % of RSS after the first
GAP_TARGET_S = 0.100


@dataclass
class VoiceBench:
    request: str
    pieces: int
    rss_kib: list[int] = field(default_factory=list)  # when piece k starts (k = 1 … pieces + 1)
    children_rss_kib: list[int] = field(default_factory=list)  # generator workers, same times
    gaps_s: list[float] = field(default_factory=list)  # at each boundary between pieces
    ab_gaps_s: dict[str, list[float]] = field(default_factory=dict)  # playback A/B, per way
    first_sound_s: float = 0.0

    @property
    def growth(self) -> float:
        """RSS after the last piece over RSS after the first, minus 1."""
        return self.rss_kib[-1] / self.rss_kib[1] - 1


def _rss_kib(pid: int) -> int:
    """Resident memory of one process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = task / "children"
        if children.exists():
            found += [int(p) for p in children.read_text().split()]
    return found


def _children_rss_kib(pid: int) -> int:
    total = 0
    for child in _children(pid):
        with contextlib.suppress(OSError, RuntimeError):
            total += _rss_kib(child)
    return total


async def _announcements(
    fake: FakeDiscord, channel_id: int, count: int, within_s: float
) -> list[FakeMessage]:
    deadline = time.monotonic() + within_s
    channel = fake.channel(channel_id)
    while time.monotonic() < deadline:
        found = [m for m in channel.messages if m.content.startswith("📻 **Radio**")]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.02)
    raise TimeoutError(f"fewer than {count} radio pieces started within {within_s:.0f} s")


def _stored_pieces(data_dir: Path, piece_ids: list[str]) -> tuple[list[Path], list[int]]:
    """The pieces' stored MP3s and their lengths in samples as played (48 kHz)."""
    with Ledger.open(data_dir / "ledger.db") as ledger:
        paths = [ledger.path_for(ledger.creation(p).files["mp3"]) for p in piece_ids]
    lengths = []
    for path in paths:
        with PcmDecoder(path) as decoder:
            lengths.append(len(decoder.read(1 << 31)) // 4)
    return paths, lengths


def _gaps(packets: list[VoicePacket], lengths: list[int]) -> list[float]:
    """The gap at each boundary, the pieces' lengths (in samples heard) laid end to end."""
    gaps, boundary = [], 0
    for length in lengths[:-1]:
        boundary += length
        gaps.append(arrival_gap_s(packets, boundary))
    return gaps


async def _playback_ab(
    fake: FakeDiscord, guild: FakeGuild, lounge: FakeChannel, paths: list[Path], lengths: list[int]
) -> dict[str, list[float]]:
    """The same stored pieces played as our queue and as one FFmpegPCMAudio after another."""
    tls = fake.voice_certificates.client_context()
    client = discord.Client(
        intents=discord.Intents.default(), connector=aiohttp.TCPConnector(limit=0, ssl=tls)
    )
    await client.login(fake.token)
    connection = asyncio.create_task(client.connect())
    results: dict[str, list[float]] = {}
    try:
        await asyncio.wait_for(client.wait_until_ready(), 60)
        channel = client.get_channel(lounge.id)
        assert isinstance(channel, discord.VoiceChannel)
        voice: discord.VoiceClient = await channel.connect(timeout=30, self_deaf=True)
        loop = asyncio.get_running_loop()
        owner = Owner("bench", "bench")

        # Ours: one source for the whole queue.
        began = time.monotonic()
        playlist = Playlist()
        playlist.add([Track(p.stem[:8], p.stem, 5.0, p, owner) for p in paths])
        done: asyncio.Future[None] = loop.create_future()
        voice.play(
            QueueSource(playlist, threading.Lock(), notify=lambda event: None),
            after=lambda error: loop.call_soon_threadsafe(done.set_result, None),
        )
        await done
        packets = [p for p in fake.received_packets(guild) if p.arrival >= began and not p.silence]
        results["our gapless queue"] = _gaps(packets, lengths)
        await asyncio.sleep(0.5)

        # The usual way: a player per piece; discord.py drops each piece's last partial frame.
        began = time.monotonic()
        finished: asyncio.Queue[None] = asyncio.Queue()
        for path in paths:
            voice.play(
                discord.FFmpegPCMAudio(str(path)),
                after=lambda error: loop.call_soon_threadsafe(finished.put_nowait, None),
            )
            await finished.get()
        packets = [p for p in fake.received_packets(guild) if p.arrival >= began and not p.silence]
        heard = [length - length % FRAME_SAMPLES for length in lengths]
        results["FFmpegPCMAudio per piece"] = _gaps(packets, heard)
        await voice.disconnect(force=True)
    finally:
        await client.close()
        await asyncio.wait_for(connection, 30)
    return results


async def measure(
    settings: Settings, *, pieces: int = 20, ab_pieces: int = 8, request: str = "lofi 5s"
) -> VoiceBench:
    result = VoiceBench(request, pieces)
    with tempfile.TemporaryDirectory(prefix="tunesmith-voicebench-") as folder:
        data_dir = Path(folder) / "data"
        async with FakeDiscord(interaction_deadline=None) as fake:
            listener = fake.add_user("listener")
            guild = fake.add_guild("Bench", members=[listener])
            text = guild.add_text_channel("radio")
            lounge = guild.add_voice_channel("Lounge", bitrate=96_000)
            environment = {
                **{k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")},
                **fake.bot_environment(Path(folder) / "loopback-ca.pem"),
                "TUNESMITH_DATA_DIR": str(data_dir),
                "TUNESMITH_REFERENCE_MELODIES": str(settings.reference_melodies_path),
                "TUNESMITH_VOICE_IDLE_S": "60",
            }
            environment.pop("GENERATOR_URL", None)  # the embedded generator, as deployed
            if settings.soundfont is not None:
                environment["TUNESMITH_SOUNDFONT"] = str(settings.soundfont)
            bot = await asyncio.create_subprocess_exec(
                str(Path(sys.executable).with_name("tunesmith")),
                "bot",
                env=environment,
                cwd=folder,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                await fake.wait_ready(timeout=120)
                await fake.wait_commands(timeout=120)
                await fake.join_voice(listener, lounge)
                asked = time.monotonic()
                await fake.slash(listener, text, "radio", {"request": request})
                for count in range(1, pieces + 2):
                    await _announcements(fake, text.id, count, within_s=120)
                    result.rss_kib.append(_rss_kib(bot.pid))
                    result.children_rss_kib.append(_children_rss_kib(bot.pid))
                    if count == 1:
                        await fake.wait_audio(guild, 0.02, timeout=30)
                        result.first_sound_s = fake.received_packets(guild)[0].arrival - asked
                announced = await _announcements(fake, text.id, pieces + 1, within_s=1)
                await fake.slash(listener, text, "stop")
                await fake.wait_voice_state(guild, fake.bot_user, None, timeout=30)
            finally:
                if bot.returncode is None:
                    bot.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(bot.wait(), 60)
                    except TimeoutError:
                        bot.kill()
                        await bot.wait()
            ids = [m.embeds[0]["footer"]["text"].split()[1] for m in announced[:pieces]]
            paths, lengths = await asyncio.to_thread(_stored_pieces, data_dir, ids)
            # Pieces follow one another sample for sample (tests/test_voice_e2e.py checks that),
            # so each boundary is at the running total of their lengths.
            packets = [p for p in fake.received_packets(guild) if not p.silence]
            result.gaps_s = _gaps(packets, lengths)
            endpoints = DiscordConfig(
                token=fake.token, api_base=fake.api_base, gateway_url=fake.gateway_url
            )
            with discord_endpoints(endpoints):
                result.ab_gaps_s = await _playback_ab(
                    fake, guild, lounge, paths[:ab_pieces], lengths[:ab_pieces]
                )
    return result


def report(result: VoiceBench, markdown: Path | None, console: Console | None = None) -> bool:
    console = console or Console(highlight=False)
    mib = [kib / 1024 for kib in result.rss_kib]
    memory_ok = abs(result.growth) <= MEMORY_TARGET
    gaps_ms = [g * 1000 for g in result.gaps_s]
    gaps_ok = max(gaps_ms) <= GAP_TARGET_S * 1000
    rows = [
        ("bot RSS after the first piece", f"{mib[1]:.1f} MiB", ""),
        (f"bot RSS after piece {result.pieces}", f"{mib[-1]:.1f} MiB", ""),
        (
            "RSS growth, first → last",
            f"{result.growth * 100:+.1f} %",
            f"within ±{MEMORY_TARGET * 100:.0f} %",
        ),
        ("bot RSS, least … most", f"{min(mib):.1f} … {max(mib):.1f} MiB", ""),
        (
            "generator workers' RSS, first → last",
            f"{result.children_rss_kib[1] / 1024:.1f} → {result.children_rss_kib[-1] / 1024:.1f} MiB",
            "",
        ),
        (
            f"gap between pieces ({len(gaps_ms)} boundaries), median / max",
            f"{statistics.median(gaps_ms):.1f} / {max(gaps_ms):.1f} ms",
            f"≤ {GAP_TARGET_S * 1000:.0f} ms",
        ),
        ("/radio → first sound", f"{result.first_sound_s:.2f} s", ""),
    ]
    for way, gaps in result.ab_gaps_s.items():
        ms = [g * 1000 for g in gaps]
        rows.append(
            (
                f"A/B, {len(ms) + 1} stored pieces: {way}, gap median / max",
                f"{statistics.median(ms):.1f} / {max(ms):.1f} ms",
                "",
            )
        )
    table = Table(
        title=f"Radio in a voice channel — /radio {result.request}, {result.pieces} pieces"
    )
    for column in ("measure", "value", "target"):
        table.add_column(column)
    lines = [
        f"Machine: {machine_description()}; {time.strftime('%Y-%m-%d')};"
        f" `tunesmith bot` in a child process, `/radio request:{result.request}`,"
        f" {result.pieces} pieces",
        "",
        "| measure | value | target |",
        "|---|---|---|",
    ]
    for row in rows:
        table.add_row(*row)
        lines.append("| " + " | ".join(row) + " |")
    console.print(table)
    verdict = (
        f"memory {result.growth * 100:+.1f} % ({'met' if memory_ok else 'MISSED'}); "
        f"largest gap {max(gaps_ms):.1f} ms ({'met' if gaps_ok else 'MISSED'})"
    )
    console.print(verdict)
    rss_line = "RSS (MiB) as each piece started: " + ", ".join(f"{m:.1f}" for m in mib)
    console.print(rss_line)
    lines += ["", verdict, "", rss_line, ""]
    if markdown is not None:
        markdown.write_text("\n".join(lines))
        console.print(f"wrote {markdown}")
    return memory_ok and gaps_ok


def run_voice_bench(
    settings: Settings, *, quick: bool = False, markdown: Path | None = None
) -> int:
    """`tunesmith bench --voice`: exit 0 when memory stays flat and no gap is over 100 ms."""
    result = asyncio.run(measure(settings, pieces=6 if quick else 20, ab_pieces=4 if quick else 8))
    return 0 if report(result, markdown) else 1
