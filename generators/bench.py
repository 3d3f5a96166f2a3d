"""`tunesmith bench`: our pipeline against the bare native tools and the hobby-bot way, same run.

Every round times all contenders on the same MIDI and SoundFont back to back, so that noise on
this shared machine hits them alike; we report medians and the ratios of medians.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pretty_midi
from pydub import AudioSegment
from rich.console import Console
from rich.table import Table

from generators.catalog import Catalog
from generators.errors import TunesmithError
from generators.pipeline import Piece, PieceMaker
from generators.render import SAMPLE_RATE, Renderer
from generators.request import CompositionRequest
from generators.settings import Settings
from generators.soundfonts import load_manifest, resolve_soundfont

BITRATE = "192k"
COLUMNS = (
    "case",
    "compose",
    "render",
    "master",
    "encode",
    "png",
    "ours",
    "record",
    "added",
    "native",
    "hobby",
    "ours/native",
    "hobby/ours",
)


@dataclass
class Case:
    name: str
    genre: str
    seconds: float
    ours: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)
    native: list[float] = field(default_factory=list)
    hobby: list[float] = field(default_factory=list)
    record: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)  # the pipeline without the fingerprint

    def median(self, values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def machine_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{model}, {os.cpu_count()} cores{memory}, {system}, Python {platform.python_version()}"


def native_tools(midi: Path, soundfont: Path, workdir: Path) -> None:
    """The bare tools: fluidsynth renders the MIDI file to WAV, lame encodes it."""
    wav, mp3 = workdir / "native.wav", workdir / "native.mp3"
    subprocess.run(
        [
            "fluidsynth",
            "-ni",
            "-q",
            "-r",
            str(SAMPLE_RATE),
            "-F",
            str(wav),
            str(soundfont),
            str(midi),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    subprocess.run(["lame", "--silent", "-b", BITRATE.rstrip("k"), str(wav), str(mp3)], check=True)


def hobby_bot(midi: Path, soundfont: Path, workdir: Path) -> None:
    """What many hobby bots do: pretty_midi's own synthesis, then pydub to MP3."""
    score = pretty_midi.PrettyMIDI(str(midi))
    hobby_audio = score.fluidsynth(fs=SAMPLE_RATE, sf2_path=str(soundfont))  # hobby-bot baseline
    peak = float(np.abs(hobby_audio).max()) or 1.0
    pcm = (hobby_audio / peak * 32767 * 0.9).astype(np.int16)
    segment = AudioSegment(pcm.tobytes(), frame_rate=SAMPLE_RATE, sample_width=2, channels=1)
    segment.export(str(workdir / "hobby.mp3"), format="mp3", bitrate=BITRATE)


# What a front end does with a made piece (check originality, credit, sign, record, index); the
# benchmark times it beside the pipeline. Supplied by the caller: generators knows no ledger.
Recorder = Callable[[Piece], object]


def added_share(record: float, fingerprint: float, ours: float) -> float:
    """What recording a piece adds to making it: the record step plus the fingerprint (made inside
    the pipeline, beside the encoder; counted in full although it overlaps), over the rest."""
    return (record + fingerprint) / max(ours - fingerprint, 1e-9)


def _added(case: Case, ours: float, record: float, fingerprint: float) -> str:
    if not case.record:
        return "—"
    if case.plain:  # measured: with fingerprint + record against without either
        plain = case.median(case.plain)
        return f"{(ours + record - plain) / plain:.1%} (A/B)"
    return f"≤ {added_share(record, fingerprint, ours):.1%}"


def run_bench(
    settings: Settings,
    runs: int = 5,
    quick: bool = False,
    markdown: Path | None = None,
    recorder: Recorder | None = None,
) -> int:
    console = Console(highlight=False, width=max(120, Console().width))
    for tool in ("fluidsynth", "lame"):
        if shutil.which(tool) is None:
            raise TunesmithError(
                f"the benchmark needs the '{tool}' command; run 'make setup' to install it"
            )
    soundfont = resolve_soundfont(settings.soundfont, load_manifest())
    catalog = Catalog.default()
    runs = max(1, 2 if quick else runs)
    cases = [Case("lofi 30 s", "lofi", 30.0)]
    if not quick:
        cases.append(Case("lofi 3 min", "lofi", 180.0))
    cases += [
        Case(f"{info.name} 30 s", info.name, 30.0) for info in catalog.genres if info.name != "lofi"
    ]
    console.print(f"[bold]tunesmith bench[/] — {machine_description()}")
    console.print(f"SoundFont {soundfont}, {runs} rounds, medians")
    with (
        tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as tmp,
        Renderer(soundfont, threads=os.cpu_count() or 1) as renderer,
    ):
        workdir = Path(tmp)
        maker = PieceMaker(renderer, catalog, cores=os.cpu_count() or 1)
        plain_maker = PieceMaker(renderer, catalog, cores=os.cpu_count() or 1, fingerprint=False)
        maker.make(
            CompositionRequest("lofi", 5.0), 1, workdir, "warmup"
        )  # warm caches, as a worker is
        for round_index in range(runs):
            for case in cases:
                request = CompositionRequest(case.genre, case.seconds, text=case.name)
                start = time.perf_counter()
                piece = maker.make(request, 1000 + round_index, workdir, f"ours-{case.genre}")
                case.ours.append(time.perf_counter() - start)
                for stage_name, seconds in piece.timings.items():
                    case.stages.setdefault(stage_name, []).append(seconds)
                if recorder is not None:
                    case.record.append(_timed(partial(recorder, piece)))
                    if case.name == "lofi 30 s":
                        # What recording costs, measured directly: the same piece made without
                        # the fingerprint, in the same round.
                        case.plain.append(
                            _timed(
                                partial(
                                    plain_maker.make,
                                    request,
                                    1000 + round_index,
                                    workdir,
                                    "plain-lofi",
                                )
                            )
                        )
                midi = piece.files.midi
                case.native.append(_timed(partial(native_tools, midi, soundfont, workdir)))
                if case.genre == "lofi":
                    case.hobby.append(_timed(partial(hobby_bot, midi, soundfont, workdir)))
    table = Table(title="median seconds (lower is better)")
    for column in COLUMNS:
        table.add_column(column, justify="right" if column != "case" else "left")
    rows = []
    for case in cases:
        ours, native, hobby, record = (
            case.median(case.ours),
            case.median(case.native),
            case.median(case.hobby),
            case.median(case.record),
        )
        medians = {name: case.median(values) for name, values in case.stages.items()}
        row = [
            case.name,
            *(
                f"{medians.get(name, float('nan')):.3f}"
                for name in ("compose", "render", "master", "encode", "picture")
            ),
            f"{ours:.3f}",
            f"{record:.3f}" if case.record else "—",
            _added(case, ours, record, medians.get("fingerprint", 0.0)),
            f"{native:.3f}",
            f"{hobby:.3f}" if case.hobby else "—",
            f"{ours / native:.2f}×",
            f"{hobby / ours:.1f}×" if case.hobby else "—",
        ]
        rows.append(row)
        table.add_row(*row)
    console.print(table)
    console.print(
        "ours/native ≤ 1.0 means the whole pipeline (compose, render, master, MP3 with tags, MIDI, PNG) "
        "takes no longer than bare fluidsynth + lame on the same MIDI; hobby/ours ≥ 3 is the target. "
        "record = originality check + credit tags + C2PA signing + ledger record with its indexes; "
        "added = what recording adds to making a piece: for lofi 30 s measured (A/B: the same piece "
        "made with the fingerprint and recorded, against made without either, same round); for the "
        "others an upper bound (record + the fingerprint stage counted in full, although it overlaps "
        "the encoder). ≤ 10 % is the target."
    )
    if markdown is not None:
        header = "| " + " | ".join(COLUMNS) + " |"
        lines = [
            f"Machine: {machine_description()}  ",
            f"Date: {time.strftime('%Y-%m-%d')}, {runs} rounds, medians in seconds.",
            "",
            header,
            "|" + "---|" * len(COLUMNS),
            *("| " + " | ".join(row) + " |" for row in rows),
            "",
        ]
        markdown.write_text("\n".join(lines))
        console.print(f"wrote {markdown}")
    return 0
