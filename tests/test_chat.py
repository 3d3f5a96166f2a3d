"""`tunesmith chat`: the bot's commands in a terminal, with the real studio and generator."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from bot.chat import ChatSession, run_chat
from bot.discord_bot.app import studio_for
from bot.fairness import Limits
from bot.ledger import Owner
from bot.studio import Studio
from generators.settings import Settings
from tests.conftest import GeneratorProcess

ME = Owner("chat", "ada", "ada")


@pytest_asyncio.fixture
async def studio(tmp_path: Path, generator_service: GeneratorProcess) -> AsyncIterator[Studio]:
    settings = Settings(
        data_dir=tmp_path / "data", soundfont=None, generator_url=generator_service.url
    )
    async with (
        aiohttp.ClientSession() as session,
        studio_for(settings, Limits(cooldown_s=0), session) as made,
    ):
        yield made


async def converse(studio: Studio, tmp_path: Path, lines: list[str], person: Owner = ME) -> str:
    out = io.StringIO()
    await run_chat(
        studio, person, tmp_path / "out", stdin=io.StringIO("\n".join(lines) + "\n"), out=out
    )
    return out.getvalue()


@pytest.mark.asyncio
async def test_compose_writes_the_files_and_mine_lists_the_piece(
    studio: Studio, tmp_path: Path
) -> None:
    said = await converse(studio, tmp_path, ["compose sad jazz 6s", "mine"])
    pieces = await studio.mine(ME)
    assert len(pieces) == 1
    piece = pieces[0]
    assert (piece.genre, piece.mood, piece.duration_s) == ("jazz", "sad", 6.0)
    for ext, magic in (("mp3", b"ID3"), ("mid", b"MThd"), ("png", b"\x89PNG")):
        written = tmp_path / "out" / f"{piece.id}.{ext}"
        assert written.read_bytes().startswith(magic)
        assert str(written) in said
    assert "Composing and rendering" in said
    assert said.count(piece.label) == 2  # after compose, and in `mine`


@pytest.mark.asyncio
async def test_bad_lines_get_a_clear_answer_and_the_session_goes_on(
    studio: Studio, tmp_path: Path
) -> None:
    said = await converse(
        studio,
        tmp_path,
        ["dance", "compose", "compose jazz 9 min", 'rename "unclosed', "piece nope1234", "mine"],
    )
    assert "There's no command 'dance'" in said
    assert "Usage: compose WORDS" in said
    assert "length must be between 5 s and 5 min, got 9 min" in said
    assert "close the quotes" in said
    assert "✖ 'nope1234' is not a piece id; ids are 8 characters" in said
    assert "You have no pieces yet" in said  # `mine` still ran after all of that


@pytest.mark.asyncio
async def test_library_commands_enforce_ownership_and_confirm_deletes(
    studio: Studio, tmp_path: Path
) -> None:
    await converse(studio, tmp_path, ["compose chiptune 5s"])
    (piece,) = await studio.mine(ME)
    bob = Owner("chat", "bob", "bob")
    said = await converse(
        studio, tmp_path, [f"rename {piece.id} Not yours", f"like {piece.id}"], bob
    )
    assert f"✖ Only the owner of {piece.label} can" in said
    assert "Liked (1 ♥)" in said
    said = await converse(
        studio,
        tmp_path,
        [
            f"rename {piece.id} Eight Bit Sunrise",
            f"license {piece.id} CC0-1.0",
            f"delete {piece.id}",
            "n",
            "top",
            f"transfer {piece.id} bob",
        ],
    )
    assert "Renamed: “Eight Bit Sunrise”" in said
    assert "now under CC0 1.0" in said
    assert "Kept. Nothing was deleted." in said
    assert "1. “Eight Bit Sunrise”" in said and "♥ 1" in said
    said = await converse(studio, tmp_path, [f"accept {piece.id}", "mine"], bob)
    assert "You own “Eight Bit Sunrise”" in said
    said = await converse(studio, tmp_path, [f"delete {piece.id}", "y"], bob)
    assert "Deleted “Eight Bit Sunrise”" in said
    assert await studio.mine(bob) == []


@pytest.mark.asyncio
async def test_help_lists_every_command_and_the_services_genres(
    studio: Studio, tmp_path: Path
) -> None:
    said = await converse(studio, tmp_path, ["help"])
    session = ChatSession(studio, ME, tmp_path, io.StringIO())
    for verb in session.verbs.values():
        assert verb.usage in said
    assert "Genres: lofi, jazz" in said


def test_tunesmith_chat_runs_from_a_pipe(
    tmp_path: Path, generator_service: GeneratorProcess
) -> None:
    """The real command, as someone would script it."""
    env = {
        **os.environ,
        "TUNESMITH_DATA_DIR": str(tmp_path / "data"),
        "GENERATOR_URL": generator_service.url,
    }
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("tunesmith")),
            "chat",
            "--out",
            str(tmp_path / "o"),
            "--as",
            "pipe",
        ],
        input="compose ambient 5s\nmine\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    mp3s = list((tmp_path / "o").glob("*.mp3"))
    assert len(mp3s) == 1
    assert f"mp3: {mp3s[0]}" in result.stdout
    assert "owner pipe" in result.stdout or "pipe" in result.stdout


@pytest.mark.asyncio
async def test_remix_and_lineage_in_the_terminal_with_licences_applied(
    studio: Studio, tmp_path: Path
) -> None:
    bob = Owner("chat", "bob", "bob")
    await converse(studio, tmp_path, ["compose lofi 15s"])
    original = (await studio.mine(ME))[0]
    said = await converse(studio, tmp_path, [f"remix {original.id} as rock, in A minor"], bob)
    remix = (await studio.mine(bob))[0]
    assert remix.parents == (original.id,) and remix.origin == "remix"
    assert (remix.genre, remix.key, remix.title) == (
        "rock",
        "A minor",
        f"{original.title} (rock remix)",
    )
    assert remix.request == "as rock, in A minor" and remix.label in said
    # The remix shares its parent's melody on purpose: its family is not held against it.
    assert remix.originality is not None and remix.originality["too_close"] is False

    tree = await converse(studio, tmp_path, [f"lineage {remix.id}"])
    lines = [line for line in tree.splitlines() if original.id in line or remix.id in line]
    assert lines[0].startswith(f"“{original.title}” by ada") and lines[1].startswith("└─ “")
    assert lines[1].endswith("◀ this one")

    # Share-alike terms are inherited; all-rights-reserved pieces only remix for their owner.
    await converse(studio, tmp_path, [f"license {original.id} CC-BY-SA-4.0"])
    await converse(studio, tmp_path, [f"remix {original.id} as jazz"], bob)
    newest = (await studio.mine(bob))[0]
    assert newest.parents == (original.id,) and str(newest.licence) == "CC-BY-SA-4.0"
    await converse(studio, tmp_path, [f"license {original.id} all-rights-reserved"])
    refused = await converse(studio, tmp_path, [f"remix {original.id} as jazz"], bob)
    assert "only the owner can remix it" in refused
    mine = await converse(studio, tmp_path, [f"remix {original.id} slower new chords"])
    assert "(slower remix)" in mine
    # Words the remix grammar doesn't know get a clear answer with an example.
    confused = await converse(studio, tmp_path, [f"remix {original.id} as jazz wobbly"])
    assert 'I didn\'t understand "wobbly"' in confused and "Example:" in confused
