"""What ships: the Dockerfile, compose.yaml (checked by `docker-compose config`; no engine here)
and the container health check."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bot.healthcheck import HEARTBEAT_FILE, STALE_S, check
from tests.conftest import GeneratorProcess

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = (REPO / "Dockerfile").read_text()
COMPOSE = REPO / "compose.yaml"
DOCKER_COMPOSE = shutil.which("docker-compose") or "/usr/bin/docker-compose"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_the_image_is_multi_stage_slim_non_root_with_a_health_check() -> None:
    steps = instructions()
    stages = [rest for word, rest in steps if word == "FROM"]
    assert len(stages) >= 3 and all(s.split()[0] in ("${PYTHON_IMAGE}", "source") for s in stages)
    assert "python:3.11-slim" in dict(steps)["ARG"]
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    words = [word for word, _ in final]
    user = next(rest for word, rest in final if word == "USER")
    assert user not in ("root", "0") and words.index("USER") < words.index("CMD")
    assert "HEALTHCHECK" in words and "bot.healthcheck" in dict(final)["HEALTHCHECK"]
    assert dict(final)["CMD"] == '["python", "-m", "bot"]'
    # The final stage has no compilers and no pip install: it copies the built venv.
    assert not any(word == "RUN" and "pip install" in rest for word, rest in final)
    assert "COPY" in words and "--from=venv /opt/venv" in DOCKERFILE


def test_the_token_is_never_baked_into_the_image() -> None:
    for word, rest in instructions():
        if word in ("ENV", "ARG", "LABEL"):
            assert "DISCORD_TOKEN" not in rest, rest
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".env", "data", ".git"} <= set(ignored) and "discord_token.txt" in ignored


def test_the_image_installs_the_runtime_packages_setup_installs() -> None:
    setup = (REPO / "scripts" / "setup-system.sh").read_text()
    defaults = re.search(r'DEFAULT_PACKAGES="([^"]+)"', setup)
    assert defaults is not None
    test_only = {"nginx-light", "docker-compose"}
    wanted = set(defaults[1].split()) - test_only
    apt = next(rest for word, rest in instructions() if word == "RUN" and "apt-get install" in rest)
    installed = set(apt.split("--no-install-recommends", 1)[1].split("&&", 1)[0].split())
    assert installed == wanted


def compose_config(**env: str) -> dict[str, object]:
    done = subprocess.run(
        [DOCKER_COMPOSE, "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    config: dict[str, object] = yaml.safe_load(done.stdout)
    return config


def test_compose_validates_with_the_bot_replicas_and_nginx() -> None:
    config = compose_config()
    services = config["services"]
    assert isinstance(services, dict) and set(services) == {"bot", "generator", "balancer"}
    bot, generator, balancer = services["bot"], services["generator"], services["balancer"]
    assert bot["environment"]["GENERATOR_URL"] == "http://balancer:8080"
    assert bot["environment"]["DISCORD_TOKEN_FILE"] == "/run/secrets/discord_token"
    assert "DISCORD_TOKEN" not in bot["environment"]
    assert any(str(v).startswith("data:/data") for v in bot["volumes"])
    assert generator["deploy"]["replicas"] == 2
    assert generator["command"][:3] == ["python", "-m", "generators"]
    assert generator["environment"]["TUNESMITH_HEALTH_URL"].endswith("/healthz")
    assert balancer["image"].startswith("nginx")
    assert (
        compose_config(GENERATOR_REPLICAS="4")["services"]["generator"]["deploy"]["replicas"] == 4
    )  # type: ignore[index]


def test_the_balancer_fills_every_variable_of_the_template_and_nothing_else() -> None:
    """compose's envsubst list, its environment and the template's ${NAMES} are the same set
    (the scale-out test renders the same template; see tests/test_scale.py)."""
    balancer = compose_config()["services"]["balancer"]  # type: ignore[index]
    template = (REPO / "deploy" / "nginx.conf.template").read_text()
    names = set(re.findall(r"\$\{([A-Z_]+)\}", template))
    script = " ".join(balancer["command"])
    listed = set(re.findall(r"\$\$?([A-Z_]+)", script.split("envsubst", 1)[1].split("<", 1)[0]))
    assert names == listed == set(balancer["environment"])


def test_health_check_reads_the_bots_heartbeat(tmp_path: Path) -> None:
    env = {"TUNESMITH_DATA_DIR": str(tmp_path)}
    healthy, why = check(env)
    assert not healthy and "no heartbeat" in why
    beat = tmp_path / HEARTBEAT_FILE
    beat.touch()
    assert check(env) == (True, "heartbeat 0 s ago")
    stale = time.time() + STALE_S + 5
    healthy, why = check(env, now=stale)
    assert not healthy and "old" in why


def test_health_check_of_a_replica_asks_its_healthz(generator_service: GeneratorProcess) -> None:
    assert check({"TUNESMITH_HEALTH_URL": f"{generator_service.url}/healthz"})[0]
    dead = check({"TUNESMITH_HEALTH_URL": "http://127.0.0.1:9/healthz"})
    assert not dead[0]
    done = subprocess.run(
        [sys.executable, "-m", "bot.healthcheck"],
        env={**os.environ, "TUNESMITH_HEALTH_URL": f"{generator_service.url}/healthz"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("healthy:")


@pytest.mark.parametrize("module", ["bot", "generators"])
def test_python_m_entry_points_start_and_explain_themselves(module: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCORD_")}
    env["TUNESMITH_DATA_DIR"] = str(tmp_path)
    args = [sys.executable, "-m", module] + (["--help"] if module == "generators" else [])
    done = subprocess.run(
        args, env=env, capture_output=True, text=True, check=False, cwd=tmp_path, timeout=60
    )
    if module == "bot":  # without a token it says what it needs and stops
        assert done.returncode != 0 and "DISCORD_TOKEN" in done.stderr + done.stdout
    else:
        assert done.returncode == 0 and "--workers" in done.stdout
