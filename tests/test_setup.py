"""The set-up scripts, run for real with bash.

The privilege and package checks are exercised on a deliberately bare PATH: real `dpkg-query`
and a real Python, with `id`, `sudo` and `apt-get` replaced by small scripts, so nothing here
installs anything or needs (or must lack) root.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SETUP_SYSTEM = REPO / "scripts" / "setup-system.sh"
BASH = shutil.which("bash") or "/bin/bash"
NO_SUCH_PACKAGE = "tunesmith-test-no-such-package"
APT_UPDATE = "apt-get DEBIAN_FRONTEND=noninteractive update"
APT_INSTALL = (
    f"apt-get DEBIAN_FRONTEND=noninteractive install -y --no-install-recommends {NO_SUCH_PACKAGE}"
)
# Real interpreter behind the venv's symlink, so its stdlib has ensurepip like the system one.
REAL_PYTHON = Path(sys.executable).resolve()


def run(
    script: Path, *args: str, env: dict[str, str], cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    # The timeout only guards against a hang (e.g. a prompt); speed belongs in benchmarks.
    return subprocess.run(
        [BASH, str(script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def fake_command(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f"#!{BASH}\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def link_real(bin_dir: Path, name: str, target: str | Path | None = None) -> None:
    real = Path(target) if target is not None else shutil.which(name)
    assert real is not None, f"{name} is needed to run this test"
    (bin_dir / name).symlink_to(real)


@pytest.fixture
def bare_path(tmp_path: Path) -> Path:
    """A PATH with only what the script needs: dpkg-query, env, a Python, and a log for fakes."""
    if shutil.which("dpkg-query") is None:
        pytest.skip("needs dpkg-query (Debian/Ubuntu), the platform the set-up contract targets")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    link_real(bin_dir, "dpkg-query")
    link_real(bin_dir, "env")
    link_real(bin_dir, "python3", REAL_PYTHON)
    log = tmp_path / "calls.log"
    fake_command(bin_dir, "apt-get", f'echo "apt-get DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> {log}')
    return bin_dir


def bare_env(bin_dir: Path, packages: str) -> dict[str, str]:
    return {
        "PATH": str(bin_dir),
        "HOME": str(bin_dir.parent),
        "TUNESMITH_SYSTEM_PACKAGES": packages,
    }


def calls(bin_dir: Path) -> list[str]:
    log = bin_dir.parent / "calls.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_everything_present_exits_zero_and_installs_nothing() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TUNESMITH_SYSTEM_PACKAGES"}

    result = run(SETUP_SYSTEM, env=env)

    assert result.returncode == 0, result.stderr
    assert "all system packages present" in result.stdout
    for package in [
        "fluidsynth",
        "libfluidsynth3",
        "ffmpeg",
        "libopus0",
        "lame",
        "libchromaprint1",
    ]:
        assert package in result.stdout
    assert "fluid-soundfont-gm" in result.stdout


def test_without_root_lists_exactly_the_missing_packages_and_the_command(bare_path: Path) -> None:
    fake_command(bare_path, "id", "echo 1000")
    fake_command(bare_path, "sudo", "exit 1")  # sudo -n: a password would be needed

    result = run(SETUP_SYSTEM, env=bare_env(bare_path, f"fluidsynth {NO_SUCH_PACKAGE}"))

    assert result.returncode == 1
    assert f"missing Debian packages: {NO_SUCH_PACKAGE}\n" in result.stderr
    assert (
        f"sudo apt-get update && sudo apt-get install -y --no-install-recommends {NO_SUCH_PACKAGE}"
        in result.stderr
    )
    assert calls(bare_path) == []


def test_check_only_never_installs_even_as_root(bare_path: Path) -> None:
    fake_command(bare_path, "id", "echo 0")

    result = run(SETUP_SYSTEM, "--check-only", env=bare_env(bare_path, NO_SUCH_PACKAGE))

    assert result.returncode == 1
    assert f"apt-get install -y --no-install-recommends {NO_SUCH_PACKAGE}" in result.stderr
    assert "sudo" not in result.stderr
    assert calls(bare_path) == []


def test_as_root_runs_apt_get_noninteractively_for_the_missing_ones(bare_path: Path) -> None:
    fake_command(bare_path, "id", "echo 0")

    result = run(SETUP_SYSTEM, env=bare_env(bare_path, f"fluidsynth {NO_SUCH_PACKAGE}"))

    assert calls(bare_path) == [
        APT_UPDATE,
        APT_INSTALL,
    ]
    # The fake apt-get installed nothing, and the script checks rather than trusts.
    assert result.returncode == 1
    assert f"still not installed: {NO_SUCH_PACKAGE}" in result.stderr


def test_passwordless_sudo_is_used_when_not_root(bare_path: Path) -> None:
    fake_command(bare_path, "id", "echo 1000")
    log = bare_path.parent / "calls.log"
    fake_command(
        bare_path,
        "sudo",
        # Passwordless: `sudo -n true` succeeds; anything else is logged, then run.
        f'[[ $1 == -n ]] && shift\n[[ $* == true ]] && exit 0\necho sudo >> {log}\nexec "$@"',
    )

    run(SETUP_SYSTEM, env=bare_env(bare_path, NO_SUCH_PACKAGE))

    assert calls(bare_path) == [
        "sudo",
        APT_UPDATE,
        "sudo",
        APT_INSTALL,
    ]


def test_old_python_is_reported(bare_path: Path) -> None:
    (bare_path / "python3").unlink()
    fake_command(bare_path, "python3", '[[ $1 == --version ]] && echo "Python 3.9.2"\nexit 1')

    result = run(SETUP_SYSTEM, env=bare_env(bare_path, "fluidsynth"))

    assert result.returncode == 1
    assert "Python 3.11 or newer" in result.stderr
    assert "Python 3.9.2" in result.stderr


def test_without_dpkg_says_what_is_needed(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    link_real(bin_dir, "python3", REAL_PYTHON)

    result = run(SETUP_SYSTEM, env={"PATH": str(bin_dir), "HOME": str(tmp_path)})

    assert result.returncode == 1
    assert "not Debian/Ubuntu" in result.stderr
    for needed in ["FluidSynth", "ffmpeg", "libopus", "lame", "SoundFont", "Python >= 3.11"]:
        assert needed in result.stderr
    assert "missing commands: fluidsynth ffmpeg lame" in result.stderr


def test_unknown_argument_is_a_usage_error() -> None:
    result = run(SETUP_SYSTEM, "--frobnicate", env=dict(os.environ))

    assert result.returncode == 2
    assert "--check-only" in result.stderr


def test_setup_venv_skips_when_the_stamp_matches_pyproject(tmp_path: Path) -> None:
    """A stamp keyed on pyproject.toml's SHA-256 and a working venv mean: no pip install."""
    (tmp_path / "scripts").mkdir()
    for name in ["setup-venv.sh", "find-python.sh"]:
        shutil.copy(REPO / "scripts" / name, tmp_path / "scripts" / name)
    pyproject = REPO / "pyproject.toml"
    shutil.copy(pyproject, tmp_path / "pyproject.toml")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").symlink_to(REAL_PYTHON)
    key = hashlib.sha256(pyproject.read_bytes()).hexdigest()[:16]
    (tmp_path / ".stamps").mkdir()
    (tmp_path / ".stamps" / f"venv-{key}").touch()
    env = {k: v for k, v in os.environ.items() if k not in {"VENV", "PYTHON"}}

    result = run(tmp_path / "scripts" / "setup-venv.sh", env=env, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "skipped pip install" in result.stdout


def test_without_root_or_sudo_says_to_run_as_root(bare_path: Path) -> None:
    fake_command(bare_path, "id", "echo 1000")

    result = run(SETUP_SYSTEM, env=bare_env(bare_path, NO_SUCH_PACKAGE))

    assert result.returncode == 1
    assert "Install them as root with:" in result.stderr
    assert (
        f"apt-get update && apt-get install -y --no-install-recommends {NO_SUCH_PACKAGE}"
        in result.stderr
    )
    assert "sudo apt-get" not in result.stderr
    assert calls(bare_path) == []
