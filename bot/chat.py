"""`tunesmith chat`: the bot's commands in a terminal, a chat front end without Discord.

Each line is a command as in Discord without the slash (`compose lofi 30s`, `mine`, `piece
k3j9x2ab`, …); the words after `compose` are the same chat grammar. It uses the same studio as
the Discord bot — fair queue, generator (embedded unless `GENERATOR_URL` is set), originality,
signing and the ledger in `TUNESMITH_DATA_DIR` — and writes each new piece's files to `--out`.
"""

from __future__ import annotations

import asyncio
import shlex
import shutil
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.ledger import ALL_LICENCES, Creation, Owner
from bot.lineage import tree_lines
from bot.posts import Place
from bot.studio import PieceCard, Progress, Published, Studio
from generators.errors import BadRequest, TunesmithError

PROMPT = "tunesmith> "
PLATFORM = "chat"


@dataclass(frozen=True, slots=True)
class Verb:
    usage: str
    summary: str
    run: Callable[[ChatSession, list[str]], Awaitable[None]]


class ChatSession:
    """One person at a terminal: reads command lines, answers on `out`."""

    def __init__(self, studio: Studio, person: Owner, out_dir: Path, out: TextIO) -> None:
        self.studio = studio
        self.person = person
        self.out_dir = out_dir
        self.out = out
        self.place = Place(PLATFORM)
        self.verbs: dict[str, Verb] = {
            "compose": Verb(
                "compose WORDS…", "compose a piece, e.g. compose sad jazz 45s", _compose
            ),
            "variation": Verb("variation ID", "a new take on a piece's request", _variation),
            "remix": Verb(
                "remix ID CHANGES…", "remix a piece, e.g. remix k3j9x2ab as jazz faster", _remix
            ),
            "lineage": Verb("lineage ID", "a piece's family tree of remixes", _lineage),
            "mine": Verb("mine", "your pieces, newest first", _mine),
            "piece": Verb("piece ID", "show a piece and write its files", _piece),
            "rename": Verb("rename ID TITLE…", "give your piece a new title", _rename),
            "license": Verb("license ID LICENCE", "change your piece's licence", _license),
            "transfer": Verb("transfer ID USER", "offer your piece to someone", _transfer),
            "accept": Verb("accept ID", "accept a piece offered to you", _accept),
            "decline": Verb("decline ID", "decline a piece offered to you", _decline),
            "delete": Verb("delete ID", "delete your piece (asks first)", _delete),
            "like": Verb("like ID", "like a piece (again: unlike)", _like),
            "top": Verb("top", "the most-liked pieces", _top),
            "verify": Verb("verify FILE", "who made this file", _verify),
            "help": Verb("help", "this list, and what can be composed", _help),
            "quit": Verb("quit", "leave (also Ctrl-D)", _quit),
        }
        self.done = False
        self._confirm: Callable[[str], Awaitable[bool]] | None = None

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    async def handle(self, line: str) -> None:
        """Run one command line; errors are answered, never raised."""
        try:
            words = shlex.split(line)
        except ValueError as error:
            self.say(f"Couldn't read that line ({error}); close the quotes.")
            return
        if not words:
            return
        name, args = words[0].lower().lstrip("/"), words[1:]
        verb = self.verbs.get(name)
        if verb is None:
            self.say(f"There's no command {name!r}. Try: {', '.join(self.verbs)} (help explains).")
            return
        try:
            await verb.run(self, args)
        except TunesmithError as error:
            self.say(f"✖ {error}")

    async def confirm(self, question: str) -> bool:
        if self._confirm is not None:
            return await self._confirm(question)
        return False

    def need(self, args: list[str], count: int, usage: str) -> None:
        if len(args) < count:
            raise BadRequest(f"Usage: {usage}")

    def write_files(
        self, published_or_card: Published | PieceCard, paths: dict[str, Path]
    ) -> dict[str, Path]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        creation = published_or_card.creation
        written = {}
        for kind, ext in (("mp3", "mp3"), ("midi", "mid"), ("png", "png")):
            if kind in paths:
                dest = self.out_dir / f"{creation.id}.{ext}"
                shutil.copyfile(paths[kind], dest)
                written[kind] = dest
        return written


def describe(creation: Creation, likes: int | None = None) -> str:
    parts = [
        f"{creation.label}",
        f"{creation.mood + ' ' if creation.mood else ''}{creation.genre or '?'}",
        creation.key or "?",
        f"{creation.tempo_bpm:.0f} bpm" if creation.tempo_bpm else "? bpm",
        f"{creation.duration_s:.1f} s" if creation.duration_s else "? s",
        f"owner {creation.owner}",
        creation.licence.short_name,
    ]
    if likes is not None:
        parts.append(f"♥ {likes}")
    return " · ".join(parts)


async def _progress_printer(session: ChatSession) -> Callable[[Progress], Awaitable[None]]:
    last: list[str] = []

    async def show(progress: Progress) -> None:
        text = progress.describe()
        if not last or last[-1] != text:
            last.append(text)
            session.say(f"  {text}")

    return show


async def _show_published(session: ChatSession, published: Published) -> None:
    creation = published.creation
    written = await asyncio.to_thread(
        session.write_files,
        published,
        {"mp3": published.mp3, "midi": published.midi, "png": published.png},
    )
    session.say(describe(creation))
    session.say(
        f"  originality {published.originality * 100:.0f} % · attempts {published.attempts}"
    )
    for kind, path in written.items():
        session.say(f"  {kind}: {path}")


async def _compose(session: ChatSession, args: list[str]) -> None:
    session.need(args, 1, "compose WORDS…  (e.g. compose lofi 30s)")
    published = await session.studio.compose(
        session.person,
        " ".join(args),
        place=session.place,
        progress=await _progress_printer(session),
    )
    await _show_published(session, published)


async def _variation(session: ChatSession, args: list[str]) -> None:
    session.need(args, 1, "variation ID")
    order = await session.studio.order_variation(session.person, args[0], place=session.place)
    published = await session.studio.make(order, await _progress_printer(session))
    await _show_published(session, published)


async def _remix(session: ChatSession, args: list[str]) -> None:
    session.need(args, 2, "remix ID CHANGES…  (e.g. remix k3j9x2ab as jazz, faster)")
    order = await session.studio.order_remix(
        session.person, args[0], " ".join(args[1:]), place=session.place
    )
    published = await session.studio.make(order, await _progress_printer(session))
    await _show_published(session, published)


async def _lineage(session: ChatSession, args: list[str]) -> None:
    session.need(args, 1, "lineage ID")
    tree = await session.studio.lineage(args[0])
    for line in tree_lines(tree, str):
        session.say(line)


async def _mine(session: ChatSession, args: list[str]) -> None:
    pieces = await session.studio.mine(session.person)
    if not pieces:
        session.say("You have no pieces yet. Try: compose lofi 30s")
    for creation in pieces:
        session.say(describe(creation))


async def _piece(session: ChatSession, args: list[str]) -> None:
    session.need(args, 1, "piece ID")
    card = await session.studio.live_card(args[0])
    paths = {}
    for kind in ("mp3", "midi", "png"):
        if kind in card.creation.files:
            paths[kind] = await session.studio.media_path(card.creation, kind)
    written = await asyncio.to_thread(session.write_files, card, paths)
    session.say(describe(card.creation, card.likes))
    for kind, path in written.items():
        session.say(f"  {kind}: {path}")


async def _rename(session: ChatSession, args: list[str]) -> None:
    session.need(args, 2, "rename ID TITLE…")
    creation = await session.studio.rename(session.person, args[0], " ".join(args[1:]))
    session.say(f"Renamed: {creation.label}")


async def _license(session: ChatSession, args: list[str]) -> None:
    names = ", ".join(str(licence) for licence in ALL_LICENCES)
    session.need(args, 2, f"license ID LICENCE  (one of {names})")
    creation = await session.studio.relicense(session.person, args[0], args[1])
    session.say(f"{creation.label} is now under {creation.licence.short_name}.")


async def _transfer(session: ChatSession, args: list[str]) -> None:
    session.need(args, 2, "transfer ID USER")
    creation = await session.studio.offer(
        session.person, args[0], Owner(PLATFORM, args[1], args[1])
    )
    session.say(
        f"Offered {creation.label} to {args[1]}; it is theirs when they run: accept {creation.id}"
    )


async def _accept(session: ChatSession, args: list[str]) -> None:
    session.need(args, 1, "accept ID")
    creation = await session.studio.accept(session.person, args[0])
    session.say(f"You own {creation.label} now.")


async def _decline(session: ChatSession, args: list[str]) -> None:
    session.need(args, 1, "decline ID")
    creation = await session.studio.decline(session.person, args[0])
    session.say(f"Declined {creation.label}.")


async def _delete(session: ChatSession, args: list[str]) -> None:
    session.need(args, 1, "delete ID")
    card = await session.studio.live_card(args[0])
    if not await session.confirm(f"Delete {card.creation.label}? Its files go. [y/N] "):
        session.say("Kept. Nothing was deleted.")
        return
    creation = await session.studio.delete(session.person, args[0])
    session.say(f"Deleted {creation.label}.")


async def _like(session: ChatSession, args: list[str]) -> None:
    session.need(args, 1, "like ID")
    state = await session.studio.toggle_like(session.person, args[0])
    session.say(f"{'Liked' if state.liked else 'Unliked'} ({state.count} ♥).")


async def _top(session: ChatSession, args: list[str]) -> None:
    ranked = await session.studio.top(session.place, limit=10)
    if not ranked:
        session.say("No pieces yet. Try: compose lofi 30s")
    for rank, (creation, likes) in enumerate(ranked, start=1):
        session.say(f"{rank}. {describe(creation, likes)}")


async def _verify(session: ChatSession, args: list[str]) -> None:
    session.need(args, 1, "verify FILE")
    path = Path(args[0])

    def read() -> bytes:
        if not path.is_file():
            raise BadRequest(f"There is no file at {path}; give the path of an MP3.")
        return path.read_bytes()

    data = await asyncio.to_thread(read)
    report = await session.studio.verify(str(path), data)
    session.say(report.format())


async def _help(session: ChatSession, args: list[str]) -> None:
    session.say("Commands:")
    for verb in session.verbs.values():
        session.say(f"  {verb.usage:<22} {verb.summary}")
    catalog = await session.studio.catalog_summary()
    genres = ", ".join(str(g.get("name")) for g in catalog.get("genres", []))
    moods = ", ".join(str(m.get("name")) for m in catalog.get("moods", []))
    session.say(f"Genres: {genres}")
    session.say(f"Moods: {moods}")
    session.say("Example: compose sad jazz 1m30s in D minor at 96 bpm with piano and sax")


async def _quit(session: ChatSession, args: list[str]) -> None:
    session.done = True


async def run_chat(
    studio: Studio,
    person: Owner,
    out_dir: Path,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> None:
    """Read command lines until `quit` or end of input; a prompt only on a terminal."""
    session = ChatSession(studio, person, out_dir, out)
    interactive = stdin.isatty()

    async def read(prompt: str) -> str | None:
        if interactive:
            out.write(prompt)
            out.flush()
        line = await asyncio.to_thread(stdin.readline)
        return line if line else None

    async def confirm(question: str) -> bool:
        answer = await read(question)
        return answer is not None and answer.strip().lower() in ("y", "yes")

    session._confirm = confirm
    if interactive:
        session.say("Tunesmith chat. Type help for commands, quit to leave.")
    while not session.done:
        line = await read(PROMPT)
        if line is None:
            break
        await session.handle(line)
