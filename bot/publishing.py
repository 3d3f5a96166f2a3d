"""From a made piece to a recorded creation: originality, credits, signature, ledger, indexes.

Every front end takes the same steps, so they live here once:

    publisher = Publisher(identity, reference)         # built once, passed in
    result = publisher.originality(ledger, score)       # too close? compose again, another seed
    creation = publisher.publish(ledger, owner, origin, draft, result, attempts)

The ledger is opened with `open_ledger(settings)` so that it carries the two index tables (audio
fingerprints for `tunesmith verify`, melody fingerprints for originality), which commit in the
same transaction as the piece they describe. All methods are blocking: the bot runs them on the
ledger's owner thread (`AsyncLedger.run`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import sqlite3
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Migrations

from bot import audio_index, originality
from bot.ledger import Creation, Ledger, Owner, Relative
from bot.originality import OriginalityResult, ReferenceIndex, ReferenceIndexError
from bot.provenance import Composition, Credit, ParentCredit, SigningIdentity, sign_mp3
from generators import __version__
from generators.fingerprint import decode as decode_fingerprint
from generators.score import Score
from generators.settings import Settings

if TYPE_CHECKING:  # the pipeline's heavy imports are for the benchmark only
    from generators.pipeline import Piece

log = logging.getLogger(__name__)

INDEX_MIGRATION_SET = "tunesmith-indexes"
# A piece whose melody is too close to an earlier one is composed again this many times at most;
# after that the most original attempt is kept, flagged.
MAX_ORIGINALITY_ATTEMPTS = 4


def originality_seed(seed: int, attempt: int) -> int:
    """The seed of the n-th composition for one request: the seed asked for first, then seeds
    derived from it, so a piece recomposed for originality can be made again from its record."""
    if attempt == 0:
        return seed
    digest = hashlib.sha256(f"{seed}:original:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def index_migrations() -> Migrations:
    """The tables that index pieces for identification and originality, beside the ledger's."""
    migrations = Migrations(INDEX_MIGRATION_SET)

    @migrations()
    def audio_fingerprints(db: Any) -> None:
        audio_index.create_tables(db.conn)

    @migrations()
    def melody_fingerprints(db: Any) -> None:
        originality.create_tables(db.conn)

    return migrations


def ledger_path(settings: Settings) -> Path:
    return settings.data_dir / "ledger.db"


def open_ledger(settings: Settings) -> Ledger:
    """The local ledger under `TUNESMITH_DATA_DIR`, with its index tables."""
    return Ledger.open(ledger_path(settings), extra_migrations=[index_migrations()])


def open_identity(settings: Settings) -> SigningIdentity:
    """This installation's signing identity; its keys are made on first run in `<data>/keys`."""
    return SigningIdentity.open(settings.data_dir / "keys", settings.installation)


def open_reference(path: Path) -> ReferenceIndex | None:
    """The known-melodies index built at set-up, or None (with a warning) when it is missing."""
    if not path.is_file():
        log.warning(
            "no reference melody index at %s: new pieces are checked against earlier pieces only;"
            " build it with 'tunesmith ledger build-reference'",
            path,
        )
        return None
    try:
        return ReferenceIndex.open(path)
    except ReferenceIndexError as error:
        log.warning("%s; new pieces are checked against earlier pieces only", error)
        return None


@dataclass(frozen=True, slots=True)
class Draft:
    """A piece as the generator made it, before it is credited, signed and recorded."""

    score: Score
    request_text: str
    mp3: Path  # unsigned; signed in place
    midi: Path
    png: Path
    quality: Mapping[str, Any]
    fingerprint: str | None  # Chromaprint, compressed base64

    @classmethod
    def of(cls, piece: Piece, request_text: str) -> Draft:
        """A piece made in this process by `PieceMaker`."""
        files = piece.files
        return cls(
            piece.score,
            request_text,
            files.mp3,
            files.midi,
            files.png,
            piece.quality,
            piece.fingerprint,
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """One composition tried while looking for an original melody."""

    seed: int
    result: OriginalityResult


def originality_record(attempts: Sequence[Attempt]) -> dict[str, Any]:
    """What the ledger stores about originality: the kept attempt's values and the rejected ones."""
    kept = attempts[-1].result
    return {
        "score": round(kept.originality, 4),
        **kept.to_dict(),
        "attempts": len(attempts),
        "rejected": [
            {"seed": attempt.seed, **attempt.result.to_dict()} for attempt in attempts[:-1]
        ],
    }


class Publisher:
    """Checks, credits, signs and records pieces; holds the signing identity and the reference
    index (both built once)."""

    def __init__(self, identity: SigningIdentity, reference: ReferenceIndex | None) -> None:
        self.identity = identity
        self.reference = reference

    def originality(
        self, ledger: Ledger, score: Score, family: Collection[str] = ()
    ) -> OriginalityResult:
        """How original the piece's melody is against every earlier piece and known melodies.

        `family` (a remix's relatives, see `family_of`) is left out: a remix shares its melody
        with them by design, and the ledger already records that lineage."""
        return originality.check(
            ledger.db.conn, originality.fingerprint_of(score), self.reference, exclude=family
        )

    def publish(
        self,
        ledger: Ledger,
        owner: Owner,
        origin: str,
        draft: Draft,
        attempts: Sequence[Attempt],
        *,
        piece_id: str,
        parents: Sequence[str] = (),
        licence: str | None = None,
    ) -> Creation:
        """Credit and sign the MP3 in place, then record the piece with its indexes.

        The licence is settled first (a remix's parents may force or forbid one), so the file
        says what the ledger will say; a refused licence raises before anything is written.
        """
        score = draft.score
        chosen = ledger.licence_for(owner, parents, licence)
        parent_records = [ledger.creation(parent) for parent in parents]
        credit = Credit(
            creator=owner.display_name or owner.user_id,
            owner_platform=owner.platform,
            owner_id=owner.user_id,
            year=dt.datetime.now(dt.UTC).year,
            licence=str(chosen),
            licence_url=chosen.url,
            piece_id=piece_id,
            title=score.title,
            parents=tuple(
                ParentCredit(
                    parent.id,
                    parent.title or "untitled",
                    str(parent.owner),
                    str(parent.licence),
                )
                for parent in parent_records
            ),
            ancestors=tuple(
                ParentCredit(
                    elder.id, elder.title or "untitled", str(elder.owner), str(elder.licence)
                )
                for elder in _elders(ledger, parents)
            ),
        )
        parent_files = {
            parent.id: ledger.path_for(parent.files["mp3"])
            for parent in parent_records
            if "mp3" in parent.files
        }
        signed = sign_mp3(
            self.identity,
            credit,
            Composition(request=draft.request_text, seed=score.seed, genre=score.genre),
            draft.mp3,
            draft.mp3,
            parent_files,
        )
        melody = originality.fingerprint_of(score)
        kept = attempts[-1].result

        def index(conn: sqlite3.Connection, creation_id: str) -> None:
            originality.add(conn, creation_id, melody, kept)
            if draft.fingerprint is not None:
                audio_index.add(conn, creation_id, decode_fingerprint(draft.fingerprint))

        return ledger.record_creation(
            owner,
            origin=origin,
            title=score.title,
            request=draft.request_text,
            seed=score.seed,
            score_json=score.to_json(),
            media={"mp3": signed.path, "midi": draft.midi, "png": draft.png},
            generator_version=__version__,
            piece_id=piece_id,
            genre=score.genre,
            mood=score.mood,
            key=score.key_name,
            tempo_bpm=score.tempo_bpm,
            duration_s=score.duration_s,
            parents=parents,
            licence=chosen,
            quality=draft.quality,
            originality=originality_record(attempts),
            fingerprint=draft.fingerprint,
            on_insert=index,
        )


def _elders(ledger: Ledger, parents: Sequence[str]) -> list[Relative]:
    """The parents' own ancestors, nearest generation first, each once."""
    found: dict[str, Relative] = {}
    for parent in parents:
        for relative in ledger.lineage(parent).ancestors:
            if relative.id not in parents:
                found.setdefault(relative.id, relative)
    return sorted(found.values(), key=lambda relative: relative.depth)


def family_of(ledger: Ledger, parents: Sequence[str]) -> set[str]:
    """Every piece related to `parents`: them, their ancestors, and everything remixed from any
    of those (siblings and cousins share the melody too)."""
    family = set(parents)
    for parent in parents:
        lineage = ledger.lineage(parent)
        elders = [parent, *(relative.id for relative in lineage.ancestors)]
        family.update(elders)
        for elder in elders:
            family.update(relative.id for relative in ledger.lineage(elder).descendants)
    return family


def forget(conn: sqlite3.Connection, creation_id: str) -> None:
    """Take a deleted piece out of both indexes (pass as `Ledger.delete(on_delete=forget)`)."""
    originality.remove(conn, creation_id)
    audio_index.remove(conn, creation_id)


@contextlib.contextmanager
def bench_recorder(settings: Settings) -> Iterator[Callable[[Piece], Creation]]:
    """For `tunesmith bench`: record pieces as `compose` does, in a throwaway ledger and keys (the
    reference melody index is the real one, so its lookups are timed too)."""
    with contextlib.ExitStack() as resources:
        data = Path(resources.enter_context(tempfile.TemporaryDirectory(prefix="tunesmith-rec-")))
        ledger = resources.enter_context(
            Ledger.open(data / "ledger.db", extra_migrations=[index_migrations()])
        )
        identity = resources.enter_context(SigningIdentity.open(data / "keys", "bench"))
        reference = open_reference(settings.reference_melodies_path)
        if reference is not None:
            resources.enter_context(reference)
        publisher = Publisher(identity, reference)
        owner = Owner("bench", "bench", "Bench")

        def record(piece: Piece) -> Creation:
            check = publisher.originality(ledger, piece.score)
            draft = Draft.of(piece, piece.score.request_text or piece.score.genre)
            return publisher.publish(
                ledger,
                owner,
                "bench",
                draft,
                [Attempt(piece.score.seed, check)],
                piece_id=ledger.new_id(),
            )

        yield record
