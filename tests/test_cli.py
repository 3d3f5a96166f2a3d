"""`tunesmith` end to end through the installed entry point, as a user runs it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from generators.encode import decode_audio

TUNESMITH = shutil.which("tunesmith") or str(
    Path(__file__).resolve().parents[1] / ".venv" / "bin" / "tunesmith"
)


def run(
    *args: str, tmp_path: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "TUNESMITH_DATA_DIR": str(tmp_path / "data"), **(env or {})}
    return subprocess.run(
        [TUNESMITH, *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
        check=False,
    )


def test_compose_json_end_to_end(tmp_path: Path) -> None:
    # CI=true: pyfluidsynth then prints where it found the library; --json must stay clean.
    done = run(
        "compose", "lofi", "30s", "--seed", "7", "--out", "pieces", "--json",
        tmp_path=tmp_path, env={"CI": "true"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("{"), (done.stdout[:500], done.stderr[:500])
    result = json.loads(done.stdout)
    assert set(result) >= {
        "id",
        "title",
        "genre",
        "mood",
        "key",
        "tempo_bpm",
        "duration_s",
        "seed",
        "files",
        "sha256",
        "quality",
    }
    assert result["genre"] == "lofi" and result["seed"] == 7 and result["duration_s"] == 30.0
    assert 70 <= result["tempo_bpm"] <= 90
    assert result["title"] and result["title"] != result["id"]
    for kind in ("mp3", "midi", "png"):
        path = tmp_path / result["files"][kind]
        assert path.name.startswith(result["id"])
        assert hashlib.sha256(path.read_bytes()).hexdigest() == result["sha256"][kind]
    audio, rate = decode_audio(tmp_path / result["files"]["mp3"])
    assert audio.shape[0] / rate == pytest.approx(30.0, abs=0.1)
    quality = result["quality"]
    assert quality["passed"] is True and quality["attempts"] >= 1
    assert quality["integrated_lufs"] == pytest.approx(-14.0, abs=1.0)
    # Recorded in the local ledger.
    with sqlite3.connect(tmp_path / "data" / "ledger.db") as db:
        row = db.execute(
            "SELECT owner_platform, seed, request, sha256_mp3 FROM creations WHERE id = ?",
            [result["id"]],
        ).fetchone()
    assert row == ("cli", 7, "lofi 30s", result["sha256"]["mp3"])


def test_same_seed_gives_the_same_midi_and_a_human_summary(tmp_path: Path) -> None:
    first = run("compose", "ambient", "6s", "--seed", "3", tmp_path=tmp_path)
    second = run("compose", "ambient", "6s", "--seed", "3", tmp_path=tmp_path)
    assert first.returncode == second.returncode == 0
    assert "MP3" in first.stdout and "quality passed" in first.stdout and "seed 3" in first.stdout
    midis = sorted((tmp_path / "out").glob("*.mid"))
    assert len(midis) == 2 and midis[0].read_bytes() == midis[1].read_bytes()


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["jaz", "30s"], 'did you mean "jazz"'),
        (["lofi", "9m"], "between 5 s and 5 min"),
        (["sad", "30s"], "Which genre?"),
    ],
)
def test_bad_input_exits_2_with_a_message_saying_what_would_be_right(
    tmp_path: Path, words: list[str], expected: str
) -> None:
    done = run("compose", *words, tmp_path=tmp_path)
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_seed_and_missing_words_exit_2(tmp_path: Path) -> None:
    assert run("compose", "lofi", "--seed", "-4", tmp_path=tmp_path).returncode == 2
    missing = run("compose", tmp_path=tmp_path)
    assert missing.returncode == 2 and "WORDS" in missing.stderr


def test_missing_soundfont_exits_1_and_says_how_to_fix_it(tmp_path: Path) -> None:
    done = run(
        "compose",
        "lofi",
        "10s",
        tmp_path=tmp_path,
        env={"TUNESMITH_SOUNDFONT": str(tmp_path / "none.sf2")},
    )
    assert done.returncode == 1
    assert "none.sf2" in done.stderr and "Traceback" not in done.stderr


def test_bot_without_a_token_says_how_to_get_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "bot"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stderr and "Reset Token" in result.stderr
