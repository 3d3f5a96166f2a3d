"""The bot's services, shared by every chat front end (Discord, the terminal).

`Studio` turns a person's request into a recorded piece — fair queue, generator, originality,
signing, ledger — and answers the library's questions. Front ends only translate: they parse
what people type with the one grammar, call the studio, and show what it returns. Everything
here is async; blocking work runs on the ledger's owner thread or in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import posts
from bot.client import GeneratedPiece, GeneratorClient, RetryNotice
from bot.fairness import ComposeQueue, Ticket
from bot.grammar import parse_changes, parse_request
from bot.ledger import AsyncLedger, Creation, Ledger, Licence, Owner
from bot.ledger.records import LikeState
from bot.lineage import LineageTree, lineage_tree
from bot.posts import Place, Ranked
from bot.provenance import SigningIdentity
from bot.publishing import (
    MAX_ORIGINALITY_ATTEMPTS,
    Attempt,
    Draft,
    Publisher,
    family_of,
    forget,
    originality_seed,
)
from bot.verification import FileReport, verify_file
from generators import __version__
from generators.catalog import Catalog
from generators.compose.styles import STYLES
from generators.errors import BadRequest
from generators.remix import RemixChanges
from generators.request import CompositionRequest
from generators.score import Score

log = logging.getLogger(__name__)

MAX_VERIFY_BYTES = 25 * 1024 * 1024
MAX_MIDI_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a request is: `queued` (with its place in line), `composing`, `retrying` (with what
    the generator said), `checking` originality, `saving` (signing and recording)."""

    stage: str
    position: int | None = None
    note: str | None = None

    def describe(self) -> str:
        match self.stage:
            case "queued":
                return f"⏳ In the queue: #{self.position}. Your piece starts when it's your turn."
            case "composing":
                return "🎼 Composing and rendering…"
            case "retrying":
                return f"⏳ {self.note}"
            case "checking":
                return "🔍 Checking originality…"
            case "saving":
                return "✍️ Signing and saving…"
        return self.stage


ProgressListener = Callable[[Progress], Awaitable[None]]


async def _ignore(progress: Progress) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Published:
    """A piece made, signed and recorded: its record and its files in the media store."""

    creation: Creation
    mp3: Path
    midi: Path
    png: Path
    originality: float  # 0..1, 1 = nothing alike
    attempts: int
    generated: GeneratedPiece
    generator_s: float  # wall time of the generator's compose calls (the rest is the bot's)
    timings: Mapping[str, float] = field(default_factory=dict)  # the bot's own steps, seconds


@dataclass(frozen=True, slots=True)
class RemixSource:
    """What a remix order changes: the stored piece's Score, and the changes asked for."""

    score_json: str  # the stored piece's Score as the ledger keeps it, sent as it is
    changes: RemixChanges


@dataclass(frozen=True, slots=True)
class Order:
    """A request read and admitted to the queue, not yet made (see `Studio.order`)."""

    owner: Owner
    text: str
    request: CompositionRequest | None  # None for a remix
    place: Place
    seed: int | None
    parents: tuple[str, ...]
    origin: str | None
    ticket: Ticket
    remix: RemixSource | None = None

    def cancel(self) -> None:
        """Give the place in the queue back (an order that will not be made)."""
        self.ticket.cancel()


@dataclass(frozen=True, slots=True)
class PieceCard:
    """What a front end shows about a stored piece."""

    creation: Creation
    likes: int
    plays: int

    @property
    def originality(self) -> float | None:
        record = self.creation.originality or {}
        value = record.get("score")
        return float(value) if isinstance(value, int | float) else None


class Studio:
    """Composition and the library, for any front end. Built once in main, passed in."""

    def __init__(
        self,
        *,
        client: GeneratorClient,
        ledger: AsyncLedger,
        publisher: Publisher,
        identity: SigningIdentity | None,
        queue: ComposeQueue,
        catalog: Catalog,
        scratch: Path,
    ) -> None:
        self.client = client
        self.ledger = ledger
        self.publisher = publisher
        self.identity = identity
        self.queue = queue
        self.catalog = catalog
        self._scratch = scratch

    # -- composing ---------------------------------------------------------------------------

    def parse(self, text: str) -> CompositionRequest:
        """The request in the chat grammar; `GrammarError` (a BadRequest) says what was wrong."""
        return parse_request(text, self.catalog)

    def order(
        self,
        owner: Owner,
        text: str,
        *,
        place: Place,
        seed: int | None = None,
        parents: Sequence[str] = (),
        origin: str | None = None,
    ) -> Order:
        """Read the request and take a place in the fair queue, at once and without waiting:
        a front end calls this before acknowledging, so bad words (`GrammarError`) and
        refusals (`QueueRefused`) can be answered privately. Pass the order to `make`, or
        `cancel()` it."""
        request = self.parse(text)
        ticket = self.queue.admit(_person(owner), place.guild)
        return Order(owner, text, request, place, seed, tuple(parents), origin, ticket)

    def order_radio(self, owner: Owner, text: str, *, place: Place, station: str) -> Order:
        """An order for the next piece of a radio `station` (one per server), owned by `owner`.

        The station takes its place in the fair queue under its own name, so it neither blocks
        its owner's own requests nor waits out a cooldown: it is paced by playback, one piece
        per piece played. The server's and the generator's limits still apply."""
        request = self.parse(text)
        ticket = self.queue.admit(f"radio:{station}", place.guild, cooldown=False)
        return Order(owner, text, request, place, None, (), "radio", ticket)

    async def compose(
        self,
        owner: Owner,
        text: str,
        *,
        place: Place,
        seed: int | None = None,
        parents: Sequence[str] = (),
        origin: str | None = None,
        progress: ProgressListener = _ignore,
    ) -> Published:
        """`order` then `make`."""
        order = self.order(owner, text, place=place, seed=seed, parents=parents, origin=origin)
        return await self.make(order, progress)

    async def make(self, order: Order, progress: ProgressListener = _ignore) -> Published:
        """Make, check, sign and record the ordered piece.

        It waits its turn in the fair queue, telling `progress` its place; a melody too close
        to an earlier piece or a known tune is composed again from a derived seed.
        """
        try:
            return await self._make(order, progress)
        finally:
            order.cancel()  # a no-op when its turn ended normally

    async def _make(self, order: Order, progress: ProgressListener) -> Published:
        owner, text, request, place, parents = (
            order.owner,
            order.text,
            order.request,
            order.place,
            order.parents,
        )
        ticket = order.ticket
        family: set[str] = set()
        if parents:
            # A refused remix (someone else's all-rights-reserved piece) fails before waiting.
            await self.ledger.licence_for(owner, parents, None)
        if order.remix is not None:
            # A remix keeps its family's melody on purpose; a variation writes a new one and is
            # checked against everything, its parent included.
            family = await self.ledger.run(lambda ledger: family_of(ledger, parents))
        first_seed = secrets.randbelow(2**31) if order.seed is None else order.seed
        # A remix that keeps its melody can't become more original with another seed.
        tries = (
            1
            if order.remix is not None and not order.remix.changes.new_melody
            else MAX_ORIGINALITY_ATTEMPTS
        )

        async def queued(position: int) -> None:
            if position > 0:
                await progress(Progress("queued", position=position))

        async def retrying(notice: RetryNotice) -> None:
            await progress(Progress("retrying", note=notice.describe()))

        async with ticket.turn(queued):
            attempts: list[Attempt] = []
            generator_s = 0.0  # time spent in the generator's compose calls
            for attempt in range(tries):
                await progress(Progress("composing"))
                started = time.perf_counter()
                seed = originality_seed(first_seed, attempt)
                if order.remix is not None:
                    kept = await self.client.remix(
                        order.remix.score_json, order.remix.changes, seed, on_retry=retrying
                    )
                else:
                    assert request is not None
                    kept = await self.client.compose(request, seed, on_retry=retrying)
                composed_at = time.perf_counter()
                generator_s += composed_at - started
                # The files download while originality is checked; a rejected attempt's
                # downloads are dropped.
                downloads = asyncio.ensure_future(self._files(kept))
                try:
                    score = Score.from_json((await self.client.artifact(kept, "score")).decode())
                    await progress(Progress("checking"))
                    result = await self.ledger.run(
                        functools.partial(self.publisher.originality, score=score, family=family)
                    )
                except BaseException:
                    await _drop(downloads)
                    raise
                attempts.append(Attempt(score.seed, result))
                if not result.too_close:
                    break
                await _drop(downloads)
            await progress(Progress("saving"))
            checked_at = time.perf_counter()
            mp3, midi, png = await downloads
            downloaded_at = time.perf_counter()

        def publish(ledger: Ledger) -> Creation:
            with tempfile.TemporaryDirectory(dir=self._scratch, prefix="piece-") as folder:
                where = Path(folder)
                files = {"mp3": mp3, "mid": midi, "png": png}
                for ext, data in files.items():
                    (where / f"{kept.id}.{ext}").write_bytes(data)
                draft = Draft(
                    score=score,
                    request_text=text,
                    mp3=where / f"{kept.id}.mp3",
                    midi=where / f"{kept.id}.mid",
                    png=where / f"{kept.id}.png",
                    quality=dict(kept.quality),
                    fingerprint=kept.fingerprint,
                )
                return self.publisher.publish(
                    ledger,
                    owner,
                    order.origin or place.platform,
                    draft,
                    attempts,
                    piece_id=ledger.new_id(),
                    parents=parents,
                )

        creation = await self.ledger.run(publish)
        published_at = time.perf_counter()
        paths = await self.ledger.run(
            lambda ledger: {
                kind: ledger.path_for(digest) for kind, digest in creation.files.items()
            }
        )
        return Published(
            creation=creation,
            mp3=paths["mp3"],
            midi=paths["midi"],
            png=paths["png"],
            originality=attempts[-1].result.originality,
            attempts=len(attempts),
            generated=kept,
            generator_s=generator_s,
            timings={
                "score_and_originality": checked_at - composed_at,
                "downloads_wait": downloaded_at - checked_at,
                "publish": published_at - downloaded_at,
            },
        )

    async def _files(self, piece: GeneratedPiece) -> tuple[bytes, bytes, bytes]:
        mp3, midi, png = await asyncio.gather(
            self.client.artifact(piece, "mp3"),
            self.client.artifact(piece, "midi"),
            self.client.artifact(piece, "png"),
        )
        return mp3, midi, png

    async def order_variation(self, person: Owner, piece_id: str, *, place: Place) -> Order:
        """A new piece from the same request with a new seed, to `make`; the original is its
        parent and `person` its owner (so the original's licence decides whether that is
        allowed)."""
        original = await self.ledger.creation(piece_id)
        if original.deleted:
            raise BadRequest(f"{original.label} was deleted; it can't have variations any more.")
        text = original.request or original.genre or ""
        return self.order(person, text, place=place, parents=(original.id,), origin="variation")

    async def order_remix(
        self, person: Owner, piece_id: str, changes_text: str, *, place: Place
    ) -> Order:
        """A remix of a stored piece, to `make`: `changes_text` in the remix grammar ("as jazz,
        faster"); the original is its parent and `person` its owner.

        Refusals come before any waiting: words the grammar can't read, a deleted piece, and
        someone else's all-rights-reserved piece (`LicenceConflict`)."""
        original = await self.ledger.creation(piece_id.strip().lower())
        if original.deleted:
            raise BadRequest(f"{original.label} was deleted; it can't be remixed any more.")
        changes = parse_changes(changes_text, self.catalog, current_duration_s=original.duration_s)
        await self.ledger.licence_for(person, (original.id,), None)
        if not original.score_json:
            raise BadRequest(f"{original.label} has no score stored, so it can't be remixed.")
        if changes.genre is None and original.genre not in STYLES:
            raise BadRequest(
                f"{original.label} is an uploaded MIDI file: say which style to arrange it in,"
                " e.g. 'as lofi' or 'as jazz, faster'."
            )
        ticket = self.queue.admit(_person(person), place.guild)
        return Order(
            person,
            changes.text,
            None,
            place,
            None,
            (original.id,),
            "remix",
            ticket,
            RemixSource(original.score_json, changes),
        )

    def upload_changes(self, changes_text: str) -> RemixChanges:
        """The changes for an uploaded MIDI file, read before anything is uploaded or recorded:
        they must name a style to arrange it in."""
        changes = parse_changes(changes_text, self.catalog)
        if changes.genre is None:
            raise BadRequest(
                "say which style to arrange your MIDI file in, e.g. 'as lofi' or 'as jazz,"
                f" faster' (styles: {', '.join(STYLES)})"
            )
        return changes

    async def import_upload(
        self, person: Owner, filename: str, data: bytes, *, place: Place
    ) -> Creation:
        """Record an uploaded MIDI file as a piece owned by `person`, read by the generator in
        its sandbox (melody, harmony, key and tempo), so it can be remixed like any other."""
        if len(data) > MAX_MIDI_BYTES:
            raise BadRequest(
                f"that MIDI file is {len(data) / 2**10:.0f} KiB; send one of at most"
                f" {MAX_MIDI_BYTES // 2**10} KiB"
            )
        name = Path(filename).name
        if Path(name).suffix.lower() not in (".mid", ".midi"):
            raise BadRequest(f"{name!r} isn't a MIDI file; attach a .mid file")
        title = " ".join(Path(name).stem.replace("_", " ").replace("-", " ").split())[:100]
        imported = await self.client.import_midi(data, title or "Uploaded MIDI")
        score = imported.score

        def record(ledger: Ledger) -> Creation:
            return ledger.record_creation(
                person,
                origin="upload",
                title=score.title,
                request=f"uploaded {name}"[:500],
                seed=0,
                score_json=score.to_json(),
                media={"midi": data},
                generator_version=__version__,
                piece_id=ledger.new_id(),
                genre=score.genre,
                mood=None,
                key=score.key_name,
                tempo_bpm=score.tempo_bpm,
                duration_s=score.duration_s,
            )

        return await self.ledger.run(record)

    async def lineage(self, piece_id: str) -> LineageTree:
        """The piece's whole family: its roots and everything remixed from them."""
        wanted = piece_id.strip().lower()
        return await self.ledger.run(lambda ledger: lineage_tree(ledger, wanted))

    async def remix_thread(self, root_id: str, place: Place) -> posts.RemixThread | None:
        if place.guild is None:
            return None
        guild = place.guild
        return await self.ledger.run(
            lambda ledger: posts.remix_thread(ledger.db.conn, root_id, place.platform, guild)
        )

    async def record_remix_thread(self, thread: posts.RemixThread) -> None:
        await self.ledger.run(lambda ledger: posts.record_remix_thread(ledger.db.conn, thread))

    async def catalog_summary(self) -> dict[str, Any]:
        """The service's genres, moods, instruments and ranges (for help texts)."""
        return await self.client.catalog()

    # -- the library -------------------------------------------------------------------------

    async def card(self, piece_id: str) -> PieceCard:
        """A stored piece with its like and play counts; `NotFound` for an unknown id."""

        def read(ledger: Ledger) -> PieceCard:
            creation = ledger.creation(piece_id)
            return PieceCard(creation, ledger.likes(piece_id), ledger.plays(piece_id))

        return await self.ledger.run(read)

    async def live_card(self, piece_id: str) -> PieceCard:
        """As `card`, but a deleted piece is `NotFound` with a message saying so."""
        card = await self.card(piece_id)
        if card.creation.deleted:
            raise BadRequest(f"{card.creation.label} was deleted by its owner.")
        return card

    async def media_path(self, creation: Creation, kind: str) -> Path:
        digest = creation.files.get(kind)
        if digest is None:
            raise BadRequest(f"{creation.label} has no {kind} file.")
        return await self.ledger.path_for(digest)

    async def mine(self, owner: Owner) -> list[Creation]:
        """The pieces `owner` owns now, newest first."""
        return await self.ledger.creations_of(owner)

    async def rename(self, person: Owner, piece_id: str, title: str) -> Creation:
        return await self.ledger.rename(piece_id, person, title)

    async def relicense(self, person: Owner, piece_id: str, licence: Licence | str) -> Creation:
        return await self.ledger.relicense(piece_id, person, licence)

    async def offer(self, person: Owner, piece_id: str, to: Owner) -> Creation:
        return await self.ledger.offer_transfer(piece_id, person, to)

    async def accept(self, person: Owner, piece_id: str) -> Creation:
        return await self.ledger.accept_transfer(piece_id, person)

    async def decline(self, person: Owner, piece_id: str) -> Creation:
        return await self.ledger.decline_transfer(piece_id, person)

    async def delete(self, person: Owner, piece_id: str) -> Creation:
        return await self.ledger.delete(piece_id, person, on_delete=forget)

    async def toggle_like(self, person: Owner, piece_id: str) -> LikeState:
        return await self.ledger.toggle_like(piece_id, person)

    async def latest_posted(self, place: Place) -> Creation | None:
        """The newest live piece posted in `place`'s server (its channel, where there are no
        servers), if any."""

        def read(ledger: Ledger) -> Creation | None:
            found = posts.latest(ledger.db.conn, place)
            return None if found is None else ledger.creation(found)

        return await self.ledger.run(read)

    async def record_play(self, piece_id: str, place: Place) -> int:
        """Count a play of the piece where it was heard (a voice channel: no one listener)."""
        return await self.ledger.record_play(piece_id, None, place.key)

    async def record_post(self, creation_id: str, place: Place, message_id: str) -> None:
        await self.ledger.run(
            lambda ledger: posts.record(ledger.db.conn, creation_id, place, message_id)
        )

    async def posts_of(self, creation_id: str, platform: str) -> list[posts.Post]:
        return await self.ledger.run(
            lambda ledger: posts.posts_of(ledger.db.conn, creation_id, platform)
        )

    async def first_post(self, creation_id: str, platform: str) -> posts.Post | None:
        return await self.ledger.run(
            lambda ledger: posts.first_post(ledger.db.conn, creation_id, platform)
        )

    async def top(self, place: Place, limit: int = 10) -> list[tuple[Creation, int]]:
        """The most-liked pieces posted in `place`'s server (everywhere on a platform without
        servers), with their like counts."""

        def read(ledger: Ledger) -> list[tuple[Creation, int]]:
            ranked: list[Ranked] = posts.top(ledger.db.conn, place.platform, place.guild, limit)
            return [(ledger.creation(entry.creation_id), entry.likes) for entry in ranked]

        return await self.ledger.run(read)

    async def verify(self, filename: str, data: bytes) -> FileReport:
        """Who made these bytes: manifest, file hash and sound, against this ledger."""
        if len(data) > MAX_VERIFY_BYTES:
            raise BadRequest(
                f"that file is {len(data) / 2**20:.1f} MiB; send one of at most"
                f" {MAX_VERIFY_BYTES // 2**20} MiB"
            )
        suffix = Path(filename).suffix.lower()[:8] or ".bin"

        def check(ledger: Ledger) -> FileReport:
            with tempfile.TemporaryDirectory(dir=self._scratch, prefix="verify-") as folder:
                path = Path(folder) / f"upload{suffix}"
                path.write_bytes(data)
                report = verify_file(path, ledger, self.identity)
                # The report names the temporary file; people know it by the name they sent.
                return dataclasses.replace(report, path=Path(filename))

        return await self.ledger.run(check)


async def _drop(task: asyncio.Future[Any]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


def _person(owner: Owner) -> str:
    return f"{owner.platform}:{owner.user_id}"
