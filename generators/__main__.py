"""`python -m generators [--host H] [--port P] [--workers N]`: the generator service.

The same as `tunesmith serve`, without the bot package (a generator replica needs only this one).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from generators.service import ServiceSettings, run_service
from generators.settings import Settings


def _workers(text: str) -> int:
    """As `tunesmith serve --workers`: a whole number 1..64."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"workers must be a whole number, got {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"workers must be between 1 and 64, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generators", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument(
        "--workers", type=_workers, help="worker processes, 1..64 (default: one per core)"
    )
    args = parser.parse_args(argv)
    changes = {"host": args.host, "port": args.port}
    if args.workers is not None:
        changes["workers"] = args.workers
    try:
        settings = ServiceSettings.from_settings(Settings.from_env(), **changes)
    except ValueError as error:
        parser.error(str(error))
    return run_service(settings)


if __name__ == "__main__":
    sys.exit(main())
