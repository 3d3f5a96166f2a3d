"""`tunesmith bench --bot`: the Discord bot's own latency, against the loopback Discord.

Two targets from the bot issue: a command is acknowledged within 100 ms (p99), and a piece is
posted within the generator's time + 150 ms. Each `/compose` goes through the real discord.py
client, the bot, the embedded generator (worker processes), originality, signing and the ledger.
The fake Discord timestamps the INTERACTION_CREATE frame it sends and every request it gets
back, on the same monotonic clock, so:

- ack = callback received − interaction sent;
- posted = the edit that carries the piece received − interaction sent;
- bot overhead = posted − the generator's compose call as the bot timed it (queue wait is zero
  in the sequential phase, so everything else is the bot's: deferral, progress edits, the score
  download and originality check, the files' download, signing, the ledger, the upload).

Phase 1 sends commands one at a time (ack and overhead); phase 2 sends bursts from several
people at once (ack under load: the event loop is busy posting other pieces meanwhile).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bot.discord_bot.app import started_bot
from bot.discord_bot.config import DiscordConfig
from bot.fairness import Limits
from bot.fake_discord import FakeDiscord, FakeInteraction, FakeMessage
from bot.studio import Published
from generators.bench import machine_description
from generators.settings import Settings

ACK_TARGET_MS = 100.0
OVERHEAD_TARGET_MS = 150.0


@dataclass
class BotBench:
    request: str
    burst_size: int
    ack_ms: list[float] = field(default_factory=list)
    ack_burst_ms: list[float] = field(default_factory=list)
    posted_ms: list[float] = field(default_factory=list)
    generator_ms: list[float] = field(default_factory=list)
    overhead_ms: list[float] = field(default_factory=list)
    steps_ms: dict[str, list[float]] = field(default_factory=dict)  # the bot's steps, all pieces

    @property
    def all_acks(self) -> list[float]:
        return self.ack_ms + self.ack_burst_ms


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 100 values is the 99th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def _posted(interaction: FakeInteraction, within_s: float = 120) -> tuple[FakeMessage, float]:
    """The message with the piece, and when the edit carrying it arrived."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for at, body in interaction.edits:
            if body.get("embeds"):
                return await interaction.original(), at
        await asyncio.sleep(0.005)
    raise TimeoutError(f"no piece was posted for interaction {interaction.id}")


async def measure(
    settings: Settings,
    *,
    sequential: int = 40,
    bursts: int = 15,
    burst_size: int = 4,
    request: str = "lofi 5s",
) -> BotBench:
    """Run the two phases against a fresh fake Discord and a throwaway data dir (the reference
    melody index is the real one, so originality is timed as in production)."""
    result = BotBench(request, burst_size)
    generator_s: dict[str, float] = {}
    told: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def on_posted(published: Published, message_id: int) -> None:
        generator_s[str(message_id)] = published.generator_s
        told[str(message_id)].set()
        for step, seconds in published.timings.items():
            result.steps_ms.setdefault(step, []).append(seconds * 1000)

    with tempfile.TemporaryDirectory(prefix="tunesmith-botbench-") as folder:
        bench_settings = Settings(
            data_dir=Path(folder),
            soundfont=settings.soundfont,
            generator_url=settings.generator_url,
            reference_melodies=settings.reference_melodies_path,
        )
        async with FakeDiscord(interaction_deadline=None) as fake:
            people = [fake.add_user(f"listener{i}") for i in range(burst_size)]
            guild = fake.add_guild("Bench", members=people)
            channel = guild.add_text_channel("bench")
            config = DiscordConfig(
                token=fake.token,
                api_base=fake.api_base,
                gateway_url=fake.gateway_url,
                limits=Limits(cooldown_s=0, per_guild=burst_size, waiting=burst_size * 2),
            )
            async with started_bot(bench_settings, config, on_posted=on_posted):
                await fake.wait_ready(timeout=60)
                await fake.wait_commands(timeout=60)
                for _ in range(2):  # warm: first requests open connections and caches
                    warm = await fake.slash(people[0], channel, "compose", {"request": request})
                    await _posted(warm)
                for _ in range(sequential):
                    interaction = await fake.slash(
                        people[0], channel, "compose", {"request": request}
                    )
                    message, posted_at = await _posted(interaction)
                    sent = interaction.sent_at or 0.0
                    result.ack_ms.append(((interaction.responded_at or 0.0) - sent) * 1000)
                    result.posted_ms.append((posted_at - sent) * 1000)
                    await told[str(message.id)].wait()  # told just after the post
                    generated = generator_s[str(message.id)] * 1000
                    result.generator_ms.append(generated)
                    result.overhead_ms.append(result.posted_ms[-1] - generated)
                for _ in range(bursts):
                    sent_together = await asyncio.gather(
                        *(fake.slash(p, channel, "compose", {"request": request}) for p in people)
                    )
                    for interaction in sent_together:
                        await interaction.response()
                        await _posted(interaction)
                        result.ack_burst_ms.append(
                            ((interaction.responded_at or 0.0) - (interaction.sent_at or 0.0))
                            * 1000
                        )
    return result


def report(result: BotBench, markdown: Path | None, console: Console | None = None) -> bool:
    """Print the numbers (and write them as Markdown); whether both targets were met."""
    console = console or Console(highlight=False)
    acks = result.all_acks
    rows = [
        ("command → ack, all", acks, f"p99 ≤ {ACK_TARGET_MS:.0f} ms"),
        ("command → ack, one at a time", result.ack_ms, ""),
        (f"command → ack, {result.burst_size} people at once", result.ack_burst_ms, ""),
        ("command → posted", result.posted_ms, ""),
        ("generator (compose call)", result.generator_ms, ""),
        ("bot overhead (posted − generator)", result.overhead_ms, f"≤ {OVERHEAD_TARGET_MS:.0f} ms"),
    ]
    rows += [
        (f"  of which {step.replace('_', ' ')}", values, "")
        for step, values in result.steps_ms.items()
    ]
    ack_ok = percentile(acks, 99) <= ACK_TARGET_MS
    overhead_ok = percentile(result.overhead_ms, 99) <= OVERHEAD_TARGET_MS
    table = Table(title=f"Discord bot against the loopback Discord — /compose {result.request}")
    for column in ("measure", "n", "median ms", "p99 ms", "max ms", "target"):
        table.add_column(column)
    lines = [
        f"Machine: {machine_description()}; {time.strftime('%Y-%m-%d')}; `/compose request:{result.request}`",
        "",
        "| measure | n | median ms | p99 ms | max ms | target |",
        "|---|---|---|---|---|---|",
    ]
    for name, values, target in rows:
        if not values:
            continue
        cells = [
            name,
            str(len(values)),
            f"{statistics.median(values):.1f}",
            f"{percentile(values, 99):.1f}",
            f"{max(values):.1f}",
            target,
        ]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    verdict = (
        f"ack p99 {percentile(acks, 99):.1f} ms ({'met' if ack_ok else 'MISSED'}); "
        f"bot overhead p99 {percentile(result.overhead_ms, 99):.1f} ms "
        f"({'met' if overhead_ok else 'MISSED'})"
    )
    console.print(verdict)
    lines += ["", verdict, ""]
    if markdown is not None:
        markdown.write_text("\n".join(lines))
        console.print(f"wrote {markdown}")
    return ack_ok and overhead_ok


def run_bot_bench(settings: Settings, *, quick: bool = False, markdown: Path | None = None) -> int:
    """`tunesmith bench --bot`: exit 0 when both targets are met, 1 otherwise."""
    result = asyncio.run(
        measure(settings, sequential=10 if quick else 40, bursts=4 if quick else 15)
    )
    return 0 if report(result, markdown) else 1
