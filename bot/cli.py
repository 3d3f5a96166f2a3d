"""`tunesmith` command line: compose pieces and run the benchmark suite.

Exit codes: 0 ok, 2 bad input (the message says what was wrong and what would be right),
1 anything else.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from bot.grammar import parse_request
from bot.ledger import Ledger, Owner
from generators import __version__
from generators.catalog import Catalog
from generators.errors import BadRequest, TunesmithError
from generators.settings import Settings

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT = 0, 1, 2
log = logging.getLogger("tunesmith")


class _Parser(argparse.ArgumentParser):
    """argparse that exits with our bad-input code (2) and a hint, as it already does for usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\nTry '{self.prog} --help'.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tunesmith", description="Compose short, original music on command.")
    parser.add_argument("--version", action="version", version=f"tunesmith {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    compose = commands.add_parser(
        "compose",
        help="compose a piece from words, e.g. 'lofi 30s'",
        description="Compose a piece and write <id>.mp3, <id>.mid and <id>.png.",
        epilog="examples: tunesmith compose lofi 30s | tunesmith compose sad jazz 1m30s in D minor at 96 bpm",
    )
    compose.add_argument(
        "words", nargs="+", metavar="WORDS", help="the request in the chat grammar"
    )
    compose.add_argument(
        "--seed",
        type=_whole_number("seed", 0, 2**31 - 1),
        help="seed for a reproducible piece (default: random)",
    )
    compose.add_argument(
        "--out", type=Path, default=Path("out"), metavar="DIR", help="output folder (default ./out)"
    )
    compose.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a summary"
    )

    bench = commands.add_parser(
        "bench", help="run the benchmark suite and print medians and ratios"
    )
    bench.add_argument(
        "--runs",
        type=_whole_number("runs", 1, 100),
        default=5,
        help="rounds per measurement (default 5)",
    )
    bench.add_argument("--quick", action="store_true", help="fewer runs, 30 s pieces only")
    bench.add_argument(
        "--markdown", type=Path, metavar="FILE", help="also write the results as Markdown"
    )

    evaluate = commands.add_parser(
        "eval",
        help="make seeds of every genre and measure key, tempo, loudness and variety",
        description="Make N seeds of each genre through the real pipeline, estimate key and tempo "
        "back from the audio with an independent estimator, and print a table per genre.",
        epilog="example: tunesmith eval --genres lofi jazz --seeds 5 --markdown quality.md",
    )
    evaluate.add_argument(
        "--genres",
        nargs="+",
        metavar="GENRE",
        help="genres to evaluate (default: every genre whose style exists)",
    )
    evaluate.add_argument(
        "--seeds",
        type=_whole_number("seeds", 1, 100),
        default=10,
        help="seeds per genre, 1..N (default 10)",
    )
    evaluate.add_argument(
        "--seconds",
        type=_whole_number("seconds", 5, 300),
        default=30,
        help="length of each piece in seconds (default 30)",
    )
    evaluate.add_argument(
        "--markdown", type=Path, metavar="FILE", help="also write the report as Markdown"
    )

    serve = commands.add_parser(
        "serve",
        help="run the generator HTTP service",
        description="Serve the generator HTTP API (/v1/pieces, /v1/catalog, /openapi.json, "
        "/healthz, /metrics) with a pool of worker processes, each with a warm synth.",
        epilog="example: tunesmith serve --host 0.0.0.0 --port 8080 --workers 2",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=_whole_number("port", 0, 65535), default=8080, help="port (default 8080)"
    )
    serve.add_argument(
        "--workers",
        type=_whole_number("workers", 1, 64),
        help="worker processes (default: one per core)",
    )
    return parser


def _whole_number(name: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high], with a message saying what would be right."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be a whole number, got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{name} must be between {low} and {high}, got {value}"
            )
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    err = Console(stderr=True, highlight=False)
    if args.command is None:
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        if args.command == "compose":
            return _compose(args, Settings.from_env(), err)
        if args.command == "bench":
            from generators.bench import run_bench

            return run_bench(
                Settings.from_env(), runs=args.runs, quick=args.quick, markdown=args.markdown
            )
        if args.command == "eval":
            from generators.evaluate import run_eval

            return run_eval(
                Settings.from_env(),
                genres=args.genres,
                seeds=args.seeds,
                seconds=float(args.seconds),
                markdown=args.markdown,
                command=" ".join(["tunesmith", *(sys.argv[1:] if argv is None else argv)]),
            )
        if args.command == "serve":
            from generators.service import ServiceSettings, run_service

            changes: dict[str, Any] = {"host": args.host, "port": args.port}
            if args.workers is not None:
                changes["workers"] = args.workers
            return run_service(ServiceSettings.from_settings(Settings.from_env(), **changes))
    except BadRequest as error:
        err.print(f"[bold red]error:[/] {error}", markup=True, soft_wrap=True)
        return EXIT_BAD_INPUT
    except TunesmithError as error:
        err.print(f"[bold red]error:[/] {error}", markup=True, soft_wrap=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the one handler of this front end: log, then say it plainly
        log.exception("unexpected failure")
        err.print(f"[bold red]error:[/] something went wrong: {error}", markup=True, soft_wrap=True)
        return EXIT_ERROR
    parser.print_help()
    return EXIT_BAD_INPUT


def _compose(args: argparse.Namespace, settings: Settings, err: Console) -> int:
    from generators.pipeline import PieceMaker
    from generators.render import Renderer
    from generators.soundfonts import load_manifest, resolve_soundfont

    catalog = Catalog.default()
    text = " ".join(args.words)
    request = parse_request(text, catalog)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    soundfont = resolve_soundfont(settings.soundfont, load_manifest())
    user = getpass.getuser()
    owner = Owner(platform="cli", user_id=user, display_name=user)
    show_progress = err.is_terminal
    with (
        Renderer(soundfont, threads=os.cpu_count() or 1) as renderer,
        Ledger.open(settings.data_dir / "ledger.db") as ledger,
    ):
        maker = PieceMaker(renderer, catalog, cores=os.cpu_count() or 1)
        piece_id = ledger.new_id()
        if show_progress:
            with err.status(f"Composing {text}…") as status:
                piece = maker.make(
                    request,
                    seed,
                    args.out,
                    piece_id,
                    progress=lambda stage: status.update(f"{stage.capitalize()}…"),
                )
        else:
            piece = maker.make(request, seed, args.out, piece_id)
        score = piece.score
        ledger.record_creation(
            owner,
            origin="cli",
            piece_id=piece_id,
            title=score.title,
            request=text,
            seed=score.seed,
            score_json=score.to_json(),
            media={
                "mp3": piece.files.mp3,
                "midi": piece.files.midi,
                "png": piece.files.png,
            },
            genre=score.genre,
            mood=score.mood,
            key=score.key_name,
            tempo_bpm=score.tempo_bpm,
            duration_s=score.duration_s,
            quality=piece.quality,
            generator_version=__version__,
        )
    result: dict[str, Any] = {
        "id": piece_id,
        "title": score.title,
        "genre": score.genre,
        "mood": score.mood,
        "key": score.key_name,
        "tempo_bpm": round(score.tempo_bpm, 2),
        "duration_s": score.duration_s,
        "seed": score.seed,
        "files": {
            "mp3": str(piece.files.mp3),
            "midi": str(piece.files.midi),
            "png": str(piece.files.png),
        },
        "sha256": piece.sha256,
        "quality": piece.quality,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_summary(result)
    return EXIT_OK


def _print_summary(result: dict[str, Any]) -> None:
    out = Console(highlight=False)
    minutes, seconds = divmod(round(result["duration_s"]), 60)
    quality = result["quality"]
    verdict = (
        "[green]passed[/]"
        if quality["passed"]
        else f"[yellow]flagged: {'; '.join(quality.get('failures') or [])}[/]"
    )
    out.print(f"♪ [bold]{result['title']}[/]", markup=True)
    out.print(
        f"  {result['genre']} · {result['mood']} · {result['key']} · {result['tempo_bpm']:g} BPM · "
        f"{minutes}:{seconds:02d} · seed {result['seed']}"
    )
    out.print(f"  MP3   {result['files']['mp3']}")
    out.print(f"  MIDI  {result['files']['midi']}")
    out.print(f"  PNG   {result['files']['png']}")
    out.print(
        f"  quality {verdict} ({quality['integrated_lufs']:.1f} LUFS, {quality['true_peak_dbtp']:.1f} dBTP)"
        f" · id {result['id']} · licence CC-BY-4.0",
        markup=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
