"""README documents every command, option and setting the code has (as sqlite-utils' test_docs)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any, cast

import pytest

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _subcommands(
    parser: argparse.ArgumentParser | None = None, prefix: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """Every verb, nested ones as "ledger verify"."""
    parser = parser or build_parser()
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[prefix + name] = sub
                found.update(_subcommands(sub, f"{prefix}{name} "))
    return found


def test_every_cli_verb_and_option_is_in_the_readme() -> None:
    commands = _subcommands()
    assert {"compose", "bench", "verify", "ledger verify", "ledger build-reference"} <= set(
        commands
    )
    for name, sub in commands.items():
        assert f"tunesmith {name}" in README, name
        for action in sub._actions:
            for option in action.option_strings:
                if option in ("-h", "--help"):
                    continue
                assert option in README, f"{name} {option}"


def test_every_environment_variable_read_is_in_the_readme() -> None:
    sources = "\n".join(p.read_text() for p in (ROOT / "generators").rglob("*.py"))
    sources += "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    variables = set(re.findall(r'"((?:TUNESMITH|DISCORD|GENERATOR)_[A-Z_]+)"', sources))
    assert variables, "the settings read no variables?"
    for variable in variables:
        assert f"`{variable}`" in README, variable


def test_every_make_target_is_in_the_readme() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE)
    for target in ("setup", "demo", "test", "lint", "bench", "clean"):
        assert target in targets
        assert f"make {target}" in README, target


@pytest.mark.asyncio
async def test_every_slash_command_is_in_the_readme_with_an_example(tmp_path: Path) -> None:
    from bot.discord_bot.app import Tunesmith
    from bot.discord_bot.config import DiscordConfig

    bot = Tunesmith(config=DiscordConfig(token="t"), studio=cast(Any, None), state_dir=tmp_path)
    for extension in bot._extensions:
        await bot.load_extension(extension)
    names = {command.name for command in bot.tree.get_commands()}
    assert {"compose", "mine", "piece", "rename", "license", "transfer", "delete", "top"} <= names
    assert {"verify", "help"} <= names
    table = README.split("## The Discord bot", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `/([a-z]+)` \| `/\1", table, flags=re.MULTILINE))
    # Every command has a row whose example uses it, and the table lists nothing that isn't one.
    assert documented == names
    for command in bot.tree.get_commands():
        for parameter in getattr(command, "parameters", []):
            assert f"{parameter.display_name}:" in table, (
                f"/{command.name} {parameter.display_name}"
            )
    assert "@Tunesmith compose" in table
