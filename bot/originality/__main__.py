"""`python -m bot.originality build-reference PATH` and `python -m bot.originality bench`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from bot.originality import DEFAULT_REFERENCE_PATH, build_reference
from bot.originality.bench import bench_originality


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.originality")
    verbs = parser.add_subparsers(dest="verb", required=True)
    build = verbs.add_parser("build-reference", help="build the known-melody index (idempotent)")
    build.add_argument("path", nargs="?", default=DEFAULT_REFERENCE_PATH)
    build.add_argument("--force", action="store_true", help="rebuild even when current")
    build.add_argument("--workers", type=int, default=2, help="parser processes (default 2)")
    bench = verbs.add_parser("bench", help="time the check against a large melody index")
    bench.add_argument("--pieces", type=int, default=100_000)
    bench.add_argument("--composed", type=int, default=5_000, help="really composed pieces")
    bench.add_argument("--queries", type=int, default=50)
    bench.add_argument("--reference", default=None, help="a reference index to check against too")
    bench.add_argument("--db", default=None, help="keep the benchmark database at this path")
    args = parser.parse_args(argv)
    if args.verb == "build-reference":
        summary = build_reference(
            args.path,
            workers=args.workers,
            force=args.force,
            progress=lambda line: print(line, file=sys.stderr),
        )
        state = "built" if summary.built else "current, kept"
        print(
            f"{summary.path}: {summary.works} melodies ({state};"
            f" built in {summary.build_seconds:.0f} s)"
        )
        return 0
    report = bench_originality(
        n=args.pieces,
        composed=args.composed,
        queries=args.queries,
        reference_path=args.reference,
        db_path=args.db,
    )
    print(json.dumps(asdict(report), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
