"""`tunesmith` command line: compose pieces and run the benchmark suite.

Exit codes: 0 ok, 2 bad input (the message says what was wrong and what would be right),
1 anything else.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
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

from bot.grammar import parse_changes, parse_request
from bot.ledger import Creation, Ledger, Owner
from generators import __version__
from generators.catalog import Catalog
from generators.errors import BadRequest, TunesmithError
from generators.remix import RemixChanges
from generators.score import Score
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
    compose.add_argument(
        "--from",
        dest="from_midi",
        type=Path,
        metavar="FILE.mid",
        help="arrange this MIDI file's melody and harmony in the style WORDS name"
        " (e.g. 'bossa', 'as jazz faster'); the file is recorded as yours",
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
        "--bot",
        action="store_true",
        help="only the Discord bot's latency (command → ack, → posted) against a loopback Discord",
    )
    bench.add_argument(
        "--remix",
        action="store_true",
        help="only remixes: each kind against composing the same length, and reading a MIDI file",
    )
    bench.add_argument(
        "--voice",
        action="store_true",
        help="only the radio in a voice channel: memory over 20 pieces, gaps between them",
    )
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

    commands.add_parser(
        "bot",
        help="run the Discord bot (needs DISCORD_TOKEN or DISCORD_TOKEN_FILE)",
        description="Run the Discord bot: /compose and the library, with the generator embedded "
        "unless GENERATOR_URL is set. Stops cleanly on Ctrl-C or SIGTERM, letting pieces being "
        "made finish.",
        epilog="settings: DISCORD_TOKEN / DISCORD_TOKEN_FILE, DISCORD_DEV_GUILD, DISCORD_API_BASE, "
        "DISCORD_GATEWAY_URL, TUNESMITH_MESSAGE_COMMANDS, GENERATOR_URL, TUNESMITH_DATA_DIR "
        "(see README)",
    )
    chat = commands.add_parser(
        "chat",
        help="the bot's commands in a terminal (compose, mine, piece, ...)",
        description="A chat front end without Discord: type the bot's commands without the "
        "slash, e.g. 'compose lofi 30s', 'mine', 'like ID'. Same grammar, services and ledger "
        "as the bot; new pieces' files are written to --out.",
        epilog="example: printf 'compose lofi 30s\\nmine\\n' | tunesmith chat",
    )
    chat.add_argument(
        "--out", type=Path, default=Path("out"), metavar="DIR", help="output folder (default ./out)"
    )
    chat.add_argument(
        "--as",
        dest="user",
        metavar="NAME",
        help="who you are in the ledger (default: your login name)",
    )

    verify = commands.add_parser(
        "verify",
        help="who made this file: its C2PA manifest, the ledger's file hash and audio fingerprint",
        description="Say who made an audio file, when, under which licence and from which parents: "
        "from the signed C2PA manifest inside it (with c2pa's validation state), from the file's "
        "hash in the local ledger, and from its sound when it was re-encoded or trimmed.",
        epilog="exit status: 0 identified, 1 not identified or changed after signing, 2 bad input",
    )
    verify.add_argument("file", type=Path, metavar="FILE", help="an MP3 (or any audio file)")
    verify.add_argument("--json", action="store_true", help="print one JSON object")

    ledger = commands.add_parser(
        "ledger", help="check the ledger's hash chain; build the reference melody index"
    )
    ledger_commands = ledger.add_subparsers(
        dest="ledger_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    ledger_verify = ledger_commands.add_parser(
        "verify",
        help="check the event hash chain against the tables and the media files",
        description="Replay the append-only event log, check every hash link and compare the "
        "result with the creations table; name every edited, removed or reordered row.",
    )
    ledger_verify.add_argument(
        "--media", action="store_true", help="also re-hash every stored media file (slower)"
    )
    backup = ledger_commands.add_parser(
        "backup",
        help="copy the ledger while the bot runs (SQLite's online backup), into a new folder",
        description="Copy TUNESMITH_DATA_DIR/ledger.db into DEST/ledger.db as one consistent"
        " moment, even while the bot writes to it; check the copy's integrity. Safe to run"
        " from cron next to a running bot.",
    )
    backup.add_argument("dest", type=Path, metavar="DEST", help="a new (or empty) folder")
    backup.add_argument(
        "--media",
        action="store_true",
        help="also copy the media files (MP3, MIDI, PNG) the destination doesn't have yet",
    )
    backup.add_argument(
        "--keys",
        action="store_true",
        help="also copy the signing keys (includes the private key: store the backup safely)",
    )
    keys = commands.add_parser("keys", help="the installation's signing identity (C2PA): rotate it")
    keys_commands = keys.add_subparsers(
        dest="keys_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    keys_commands.add_parser(
        "rotate",
        help="make a new signing key and certificate; old pieces stay verifiable",
        description="Retire the signing identity in <data dir>/keys (its certificates move to"
        " keys/retired/<time>/, its private key is deleted) and make a new one. Pieces signed"
        " before still verify as this installation's. Stop the bot first (only the bot signs).",
    )
    reference = ledger_commands.add_parser(
        "build-reference",
        help="build the index of known public-domain melodies (run by make setup)",
        description="Build the reference melody index from music21's bundled public-domain "
        "corpus into TUNESMITH_REFERENCE_MELODIES (default <data dir>/reference-melodies.sqlite). "
        "Needs the 'reference' extra (music21).",
    )
    reference.add_argument(
        "--force", action="store_true", help="rebuild even when the index is up to date"
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
            from bot.discord_bot.bench import run_bot_bench
            from bot.discord_bot.voice_bench import run_voice_bench
            from bot.publishing import bench_recorder
            from generators.bench import run_bench

            settings = Settings.from_env()
            if args.bot:
                return run_bot_bench(settings, quick=args.quick, markdown=args.markdown)
            if args.voice:
                return run_voice_bench(settings, quick=args.quick, markdown=args.markdown)
            if args.remix:
                from generators.remix.bench import run_remix_bench

                return run_remix_bench(settings, quick=args.quick, markdown=args.markdown)
            with bench_recorder(settings) as recorder:
                pieces = run_bench(
                    settings,
                    runs=args.runs,
                    quick=args.quick,
                    markdown=args.markdown,
                    recorder=recorder,
                )
            bot_markdown = voice_markdown = None
            if args.markdown is not None:
                bot_markdown = args.markdown.with_name(
                    f"{args.markdown.stem}-bot{args.markdown.suffix}"
                )
                voice_markdown = args.markdown.with_name(
                    f"{args.markdown.stem}-voice{args.markdown.suffix}"
                )
            bot = run_bot_bench(settings, quick=args.quick, markdown=bot_markdown)
            voice = run_voice_bench(settings, quick=args.quick, markdown=voice_markdown)
            return pieces or bot or voice
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
        if args.command == "verify":
            return _verify(args, Settings.from_env())
        if args.command == "bot":
            return _bot()
        if args.command == "chat":
            return _chat(args, Settings.from_env())
        if args.command == "ledger":
            return _ledger(args, Settings.from_env())
        if args.command == "keys":
            return _keys(Settings.from_env())
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
    from bot.publishing import (
        MAX_ORIGINALITY_ATTEMPTS,
        Attempt,
        Draft,
        Publisher,
        open_identity,
        open_ledger,
        open_reference,
        originality_seed,
    )
    from generators.pipeline import PieceMaker
    from generators.render import Renderer
    from generators.soundfonts import load_manifest, resolve_soundfont

    catalog = Catalog.default()
    text = " ".join(args.words)
    upload = _upload(args.from_midi, text, catalog) if args.from_midi is not None else None
    request = parse_request(text, catalog) if upload is None else None
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    soundfont = resolve_soundfont(settings.soundfont, load_manifest())
    user = getpass.getuser()
    owner = Owner(platform="cli", user_id=user, display_name=user)
    show_progress = err.is_terminal
    with contextlib.ExitStack() as resources:
        renderer = resources.enter_context(Renderer(soundfont, threads=os.cpu_count() or 1))
        ledger = resources.enter_context(open_ledger(settings))
        identity = resources.enter_context(open_identity(settings))
        reference = open_reference(settings.reference_melodies_path)
        if reference is not None:
            resources.enter_context(reference)
        publisher = Publisher(identity, reference)
        maker = PieceMaker(renderer, catalog, cores=os.cpu_count() or 1)
        parents: tuple[str, ...] = ()
        if upload is not None:
            source = upload.record(ledger, owner)
            parents = (source.id,)
        piece_id = ledger.new_id()
        status = (
            resources.enter_context(err.status(f"Composing {text}…")) if show_progress else None
        )

        def progress(stage: str) -> None:
            if status is not None:
                status.update(f"{stage.capitalize()}…")

        # A melody too close to an earlier piece or a known tune is composed again from a
        # derived seed; the record keeps every rejected attempt. An arranged MIDI file keeps
        # its melody, so it is made once and checked against everything but its source.
        attempts: list[Attempt] = []
        tries = 1 if upload is not None else MAX_ORIGINALITY_ATTEMPTS
        for attempt in range(tries):
            attempt_seed = originality_seed(seed, attempt)
            if upload is not None:
                piece = maker.make_remix(
                    upload.score,
                    upload.changes,
                    attempt_seed,
                    args.out,
                    piece_id,
                    progress=progress,
                )
            else:
                assert request is not None
                piece = maker.make(request, attempt_seed, args.out, piece_id, progress=progress)
            progress("checking originality")
            check = publisher.originality(ledger, piece.score, family=parents)
            attempts.append(Attempt(piece.score.seed, check))
            if not attempts[-1].result.too_close:
                break
        progress("signing")
        creation = publisher.publish(
            ledger,
            owner,
            "cli",
            Draft.of(piece, text),
            attempts,
            piece_id=piece_id,
            parents=parents,
        )
    score = piece.score
    kept = attempts[-1].result
    result: dict[str, Any] = {
        "id": creation.id,
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
        "sha256": dict(creation.files),
        "quality": piece.quality,
        "licence": str(creation.licence),
        "owner": str(creation.owner),
        "originality": {
            "score": round(kept.originality, 4),
            "too_close": kept.too_close,
            "closest": kept.closest.describe() if kept.closest else None,
            "attempts": len(attempts),
        },
    }
    if parents:
        result["parents"] = list(parents)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_summary(result)
    return EXIT_OK


@dataclasses.dataclass(frozen=True)
class _Upload:
    """A MIDI file read for `compose --from`, and the changes to make to it."""

    path: Path
    data: bytes
    score: Score
    changes: RemixChanges

    def record(self, ledger: Ledger, owner: Owner) -> Creation:
        """The file as the person's own piece, the remix's parent."""
        return ledger.record_creation(
            owner,
            origin="upload",
            title=self.score.title,
            request=f"uploaded {self.path.name}"[:500],
            seed=0,
            score_json=self.score.to_json(),
            media={"midi": self.data},
            generator_version=__version__,
            piece_id=ledger.new_id(),
            genre=self.score.genre,
            key=self.score.key_name,
            tempo_bpm=self.score.tempo_bpm,
            duration_s=self.score.duration_s,
        )


def _upload(path: Path, text: str, catalog: Catalog) -> _Upload:
    """Read `path` in the sandbox (size, time and memory limits) and the words as changes."""
    from generators.remix.midi_import import ImportLimits, check_upload_size
    from generators.remix.sandbox import import_midi

    changes = parse_changes(text, catalog)
    if changes.genre is None:
        raise BadRequest(
            f"say which style to arrange {path.name} in, e.g. 'tunesmith compose bossa --from"
            f" {path.name}' (styles: {', '.join(g.name for g in catalog.genres)})"
        )
    limits = ImportLimits()
    try:
        check_upload_size(path.stat().st_size, limits)
        data = path.read_bytes()
    except OSError as error:
        raise BadRequest(f"can't read {path}: {error.strerror or error}") from error
    title = " ".join(path.stem.replace("_", " ").replace("-", " ").split())[:100] or "Uploaded MIDI"
    return _Upload(path, data, import_midi(data, limits, title=title), changes)


def _bot() -> int:
    import asyncio

    from bot.discord_bot.app import run_bot
    from bot.discord_bot.config import DiscordConfig

    logging.getLogger().setLevel(logging.INFO)
    config = DiscordConfig.from_env()
    asyncio.run(run_bot(Settings.from_env(), config))
    return EXIT_OK


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from bot.chat import PLATFORM, run_chat
    from bot.discord_bot.app import studio_for
    from bot.fairness import Limits

    user = args.user or getpass.getuser()
    if not user.strip() or len(user) > 64:
        raise BadRequest(f"--as must be a name of 1 to 64 characters, got {user!r}")

    async def chat() -> None:
        import aiohttp

        # One person at a terminal: no cooldown, one piece at a time.
        limits = Limits(cooldown_s=0.0)
        async with (
            aiohttp.ClientSession() as session,
            studio_for(settings, limits, session, workers=1) as studio,
        ):
            await run_chat(studio, Owner(PLATFORM, user, user), args.out)

    asyncio.run(chat())
    return EXIT_OK


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    from bot.provenance import SigningIdentity
    from bot.publishing import ledger_path, open_ledger
    from bot.verification import verify_file

    with contextlib.ExitStack() as resources:
        # Read-only use: an installation that has no ledger or keys yet gets none made here.
        ledger = (
            resources.enter_context(open_ledger(settings))
            if ledger_path(settings).is_file()
            else None
        )
        keys = settings.data_dir / "keys"
        identity = (
            resources.enter_context(SigningIdentity.open(keys, settings.installation))
            if (keys / "signing-chain.pem").is_file()
            else None
        )
        report = verify_file(args.file, ledger, identity)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        Console(highlight=False, soft_wrap=True).print(report.format(), markup=False)
    return EXIT_OK if report.identified and not report.tampered else EXIT_ERROR


def _ledger(args: argparse.Namespace, settings: Settings) -> int:
    from bot.publishing import ledger_path, open_ledger

    out = Console(highlight=False, soft_wrap=True)
    if args.ledger_command == "build-reference":
        from bot.originality import build_reference

        path = settings.reference_melodies_path
        summary = build_reference(
            path, force=args.force, workers=os.cpu_count() or 1, progress=_stderr_lines()
        )
        collections = ", ".join(f"{name} {count}" for name, count in summary.collections.items())
        verb = "Built" if summary.built else "Up to date:"
        out.print(
            f"{verb} {path}: {summary.works} known melodies ({collections}),"
            f" {summary.grams} phrases indexed"
            + (f" in {summary.build_seconds:.0f} s" if summary.built else ""),
            markup=False,
        )
        return EXIT_OK
    if args.ledger_command == "backup":
        from bot.ledger.backup import BackupError, backup

        try:
            copied = backup(
                ledger_path(settings),
                args.dest,
                media=settings.data_dir / "media" if args.media else None,
                keys=settings.data_dir / "keys" if args.keys else None,
            )
        except BackupError as error:
            raise BadRequest(str(error)) from error
        out.print(copied.format(), markup=False)
        return EXIT_OK
    if not ledger_path(settings).is_file():
        raise BadRequest(
            f"there is no ledger at {ledger_path(settings)}; compose a piece first or set "
            "TUNESMITH_DATA_DIR to the folder that holds ledger.db"
        )
    with open_ledger(settings) as ledger:
        report = ledger.verify(check_media_content=args.media)
    out.print(report.format(), markup=False)
    return EXIT_OK if report.ok else EXIT_ERROR


def _keys(settings: Settings) -> int:
    from bot.provenance.credentials import (
        CHAIN_FILE,
        CredentialsError,
        retired_roots,
        rotate_credentials,
    )

    folder = settings.data_dir / "keys"
    if not (folder / CHAIN_FILE).is_file():
        raise BadRequest(
            f"there is no signing identity in {folder} yet; it is made on first use (compose a"
            " piece or start the bot), or set TUNESMITH_DATA_DIR to the folder that holds keys/"
        )
    try:
        made = rotate_credentials(folder, settings.installation)
    except CredentialsError as error:
        raise BadRequest(str(error)) from error
    out = Console(highlight=False, soft_wrap=True)
    out.print(
        f"New signing identity in {folder}: certificate {made.fingerprint}. Retired identities:"
        f" {len(retired_roots(folder))} (their roots stay trusted, so earlier pieces still verify"
        " as this installation's). Start the bot again to sign with the new key;"
        f" publish the new {folder / 'root-ca.pem'} where readers import your root.",
        markup=False,
    )
    return EXIT_OK


def _stderr_lines() -> Callable[[str], None]:
    """Progress lines for long set-up steps, on stderr so that stdout stays the result."""
    err = Console(stderr=True, highlight=False)
    return lambda line: err.print(line, markup=False)


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
        f" · id {result['id']}",
        markup=True,
    )
    originality = result["originality"]
    out.print(
        f"  originality {originality['score']:.2f}"
        + (f" (closest: {originality['closest']})" if originality["closest"] else "")
        + (f" · composed {originality['attempts']}×" if originality["attempts"] > 1 else "")
    )
    out.print(
        f"  © {result['owner']} · licence {result['licence']} · signed (C2PA); "
        f"check with: tunesmith verify {result['files']['mp3']}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
