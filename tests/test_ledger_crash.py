"""The crash test, small: a writer killed with SIGKILL 3 times while writing loses nothing it acknowledged.

The full run (1,000 creations, 20 kills) is `scripts/ledger_crash_test.py`; results in the report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ledger_crash_test.py"


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--creations", "60", "--kills", "3", "--seed", "5",
         "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["problems"] == []
    assert summary["kills"] == 4  # three while writing, one to stop
    assert summary["creations_acknowledged"] >= 60
    assert summary["creations_in_ledger"] >= summary["creations_acknowledged"]
    assert summary["final_sweep"]["missing"] == 0
    assert summary["events"] >= summary["creations_in_ledger"]
