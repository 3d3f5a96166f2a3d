"""Schemathesis against the real service's /openapi.json: valid and invalid requests generated from
the document itself, every response checked against it — no server errors, no response that breaks
the schema. Pieces are capped at 6 s here so CI stays quick; the reliability script runs far more
cases (scripts/reliability.py)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from generators.service import ServiceSettings
from generators.service.background import background_service

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def service_url(soundfont: object) -> Iterator[str]:
    """The real app with one warm worker, pieces capped at 6 s so CI stays quick."""
    settings = ServiceSettings(workers=1, port=0, max_duration_s=6.0, job_timeout_s=60)
    with background_service(settings) as url:
        yield url


def test_every_operation_conforms(service_url: str, tmp_path: Path) -> None:
    """Positive and negative cases for every operation; all of schemathesis's checks."""
    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{service_url}/openapi.json",
            "--checks", "all",
            # Cross-field rules OpenAPI cannot state (a variant must belong to its genre; an
            # instrument cannot be both wanted and left out) make some schema-valid bodies a 400.
            "--exclude-checks", "positive_data_acceptance",
            "--mode", "all",
            "--max-examples", "10",
            "--seed", "1",
            "--request-timeout", "60",
            "--report", "junit",
            "--report-junit-path", str(tmp_path / "fuzz.xml"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-2000:]
    report = (tmp_path / "fuzz.xml").read_text()
    assert 'failures="0"' in report and 'errors="0"' in report
