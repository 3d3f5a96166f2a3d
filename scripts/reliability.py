"""Reliability run of the generator service: schemathesis with many cases (issue 4 asks ≥ 1,000).

Starts the real service (2 warm workers, pieces capped at 5 s) on a loopback port, runs schemathesis
against its /openapi.json with every check, positive and negative data, and prints schemathesis's
summary (the number of generated cases and any failure). Loopback only; bounded by --max-examples.
    .venv/bin/python scripts/reliability.py [--max-examples 250]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from generators.service import ServiceSettings
from generators.service.background import background_service


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=250)
    args = parser.parse_args()
    with background_service(ServiceSettings(workers=2, port=0, max_duration_s=5.0)) as url:
        started = time.perf_counter()
        done = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")), "run", f"{url}/openapi.json",
                "--checks", "all", "--exclude-checks", "positive_data_acceptance",
                "--mode", "all", "--max-examples", str(args.max_examples), "--seed", "7",
                "--request-timeout", "120",
            ],
            check=False,
        )  # fmt: skip
        print(f"reliability run: exit {done.returncode} in {time.perf_counter() - started:.0f} s")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
