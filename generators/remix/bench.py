"""`tunesmith bench --remix`: how long a remix takes next to composing the same length, same run.

Each round composes a 30 s lofi piece and then remixes it several ways with the same warm
renderer, back to back, so noise on a shared machine hits all of them alike. Reported: medians,
and each remix's median over the composition's (the promise is "as fast as composing"). Reading
an uploaded MIDI file in the sandbox is timed too (a child process per file).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from generators.bench import machine_description
from generators.catalog import Catalog
from generators.pipeline import PieceMaker
from generators.remix import RemixChanges
from generators.remix.sandbox import import_midi
from generators.render import Renderer
from generators.request import CompositionRequest
from generators.settings import Settings
from generators.soundfonts import load_manifest, resolve_soundfont

REMIXES = {
    "as jazz": RemixChanges(genre="jazz"),
    "as rock, in E minor": RemixChanges(genre="rock", tonic=4, mode="minor"),
    "faster, with strings": RemixChanges(tempo_factor=1.15, instruments=("strings",)),
    "new chords": RemixChanges(new_harmony=True),
    "to 1m": RemixChanges(duration_s=60.0),
}


def run_remix_bench(settings: Settings, quick: bool = False, markdown: Path | None = None) -> int:
    console = Console(highlight=False, width=max(100, Console().width))
    soundfont = resolve_soundfont(settings.soundfont, load_manifest())
    catalog = Catalog.default()
    rounds = 2 if quick else 5
    request = CompositionRequest(genre="lofi", duration_s=30.0, text="lofi 30s")
    times: dict[str, list[float]] = {"compose lofi 30 s": [], **{k: [] for k in REMIXES}}
    times["import the MIDI (sandbox)"] = []
    console.print(f"[bold]tunesmith bench --remix[/] — {machine_description()}")
    with (
        tempfile.TemporaryDirectory(prefix="tunesmith-remix-bench-") as tmp,
        Renderer(soundfont, threads=os.cpu_count() or 1) as renderer,
    ):
        out = Path(tmp)
        maker = PieceMaker(renderer, catalog, cores=os.cpu_count() or 1)
        maker.make(request, 1, out, "warm")  # the first piece loads samples; not timed
        for round_index in range(rounds):
            seed = 100 + round_index
            start = time.perf_counter()
            piece = maker.make(request, seed, out, f"c{round_index}")
            times["compose lofi 30 s"].append(time.perf_counter() - start)
            for name, changes in REMIXES.items():
                start = time.perf_counter()
                maker.make_remix(piece.score, changes, seed, out, f"r{round_index}")
                times[name].append(time.perf_counter() - start)
            midi = piece.files.midi.read_bytes()
            start = time.perf_counter()
            import_midi(midi, title="bench")
            times["import the MIDI (sandbox)"].append(time.perf_counter() - start)
    base = statistics.median(times["compose lofi 30 s"])
    table = Table(title=f"{rounds} rounds, medians; ratio = over composing in the same run")
    for column in ("what", "median s", "ratio"):
        table.add_column(column, justify="left" if column == "what" else "right")
    rows = []
    for name, values in times.items():
        median = statistics.median(values)
        ratio = median / base
        rows.append((name, f"{median:.3f}", f"{ratio:.2f}"))
        table.add_row(*rows[-1])
    console.print(table)
    if markdown is not None:
        lines = [
            f"Machine: {machine_description()}; {rounds} rounds, medians.",
            "",
            "| what | median s | ratio to composing |",
            "|---|---:|---:|",
            *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        ]
        markdown.write_text("\n".join(lines) + "\n")
    return 0
