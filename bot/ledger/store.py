"""The synchronous ledger: one SQLite connection, used by one thread (the CLI's, or AsyncLedger's).

Every write is one `BEGIN IMMEDIATE` transaction: the rule check (the same `apply` that `verify()`
replays), the event with its hash, the `creations` row, the chain head and any media files, so a
crash leaves either all of it or none (and at worst an orphan file that the next sweep removes).
"""

from __future__ import annotations

import datetime
import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import sqlite_utils
from sqlite_utils import Migrations

from bot.ledger.chain import ChainHead, EventKind, EventRow, canonical_json, event_hash, sha256_text
from bot.ledger.errors import Deleted, InvalidValue, NotFound
from bot.ledger.history import (
    PieceState,
    apply,
    created_payload,
    decode_event,
    json_column,
    terms_for,
    user_payload,
)
from bot.ledger.licences import Licence
from bot.ledger.media import MediaStore, check_sha256
from bot.ledger.records import MEDIA_KINDS, Creation, Event, LikeState, Lineage, Owner, Relative
from bot.ledger.schema import apply_migrations, ledger_migrations
from bot.ledger.verify import VerifyReport, verify_ledger

_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32: no i, l, o, u
_ID = re.compile(rf"^[{_ID_ALPHABET}]{{8}}$")
MAX_TITLE = 120
MAX_PARENTS = 8
MAX_ORIGIN = 200

# Index hooks: called with the connection and the piece id inside the write transaction.
OnInsert = Callable[[sqlite3.Connection, str], None]
OnDelete = Callable[[sqlite3.Connection, str], None]
MediaSource = bytes | Path


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What the media sweep did: files no row refers to are removed, rows without files reported."""

    orphans_removed: tuple[str, ...] = ()  # sha256 of files on disk that no media row named
    temp_files_removed: int = 0  # half-written files from a crash before their rename
    unreferenced: tuple[str, ...] = ()  # media rows no live piece uses (reported, kept)
    missing: tuple[str, ...] = ()  # sha256 of media rows whose file is gone

    @property
    def clean(self) -> bool:
        return not (
            self.orphans_removed or self.temp_files_removed or self.unreferenced or self.missing
        )


@dataclass
class _WriteScope:
    new_files: list[Path] = field(default_factory=list)


class Ledger:
    """The ledger on one SQLite file and one media directory.

    Open with `Ledger.open(db_path)` (media under `<db_path's dir>/media`) and close with
    `close()` or a `with` block. Not thread-safe: use it from the thread that opened it, or
    through `AsyncLedger`.
    """

    def __init__(self, db: sqlite_utils.Database, media: MediaStore) -> None:
        self.db = db  # for reading; write only through the methods (they keep the chain)
        self.media = media
        self.last_sweep = SweepReport()  # what the sweep at open found
        self.migrations_applied_now: tuple[str, ...] = ()  # by this open

    @classmethod
    def open(
        cls,
        db_path: Path,
        media_dir: Path | None = None,
        *,
        extra_migrations: Sequence[Migrations] = (),
        busy_timeout_s: float = 30.0,
    ) -> Ledger:
        """Open (creating if needed), migrate, and sweep the media store; see `last_sweep`."""
        db_path = Path(db_path)
        media_root = Path(media_dir) if media_dir is not None else db_path.parent / "media"
        db_path.parent.mkdir(parents=True, exist_ok=True)
        media_root.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=busy_timeout_s)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            db = sqlite_utils.Database(conn, execute_plugins=False)
            applied = apply_migrations(db, [ledger_migrations(), *extra_migrations])
            ledger = cls(db, MediaStore(media_root))
            ledger.migrations_applied_now = tuple(applied)
            ledger.last_sweep = ledger.sweep()
        except BaseException:
            conn.close()
            raise
        return ledger

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def applied_migrations(self) -> list[str]:
        """'set/name' of every migration applied to this file, in order."""
        return [
            f"{row['migration_set']}/{row['name']}"
            for row in self._rows(
                f"SELECT migration_set, name FROM {Migrations.migrations_table} ORDER BY id"
            )
        ]

    # --- writing -------------------------------------------------------------------------

    def new_id(self) -> str:
        """A fresh 8-character public id (Crockford base32) not used by any piece."""
        while True:
            candidate = "".join(secrets.choice(_ID_ALPHABET) for _ in range(8))
            if not self._rows("SELECT 1 FROM creations WHERE id = ?", [candidate]):
                return candidate

    def record_creation(
        self,
        owner: Owner,
        *,
        origin: str,
        title: str,
        request: str,
        seed: int,
        score_json: str,
        media: Mapping[str, MediaSource],
        generator_version: str,
        piece_id: str | None = None,
        genre: str | None = None,
        mood: str | None = None,
        key: str | None = None,
        tempo_bpm: float | None = None,
        duration_s: float | None = None,
        parents: Sequence[str] = (),
        licence: Licence | str | None = None,
        quality: Mapping[str, Any] | None = None,
        originality: Mapping[str, Any] | None = None,
        fingerprint: str | None = None,
        on_insert: OnInsert | None = None,
    ) -> Creation:
        """Record a finished piece owned by `owner` (the person who asked for it).

        `media` maps a kind ("mp3", "midi", "png") to the file's bytes or path; the files are
        stored by sha256 before the row commits. `parents` makes it a remix: their licences
        decide which licences it may carry (default: the one they force, else CC-BY-4.0).
        `on_insert(conn, piece_id)` runs inside the write transaction, for index tables that
        must commit with the piece; it must not commit or roll back itself.
        """
        _check_person(owner, "owner")
        origin = _check_text(origin, "origin", MAX_ORIGIN)
        title = _clean_title(title)
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise InvalidValue(f"The seed must be a whole number ≥ 0, got {seed!r}.")
        for name, value in (("request", request), ("score_json", score_json)):
            if not isinstance(value, str):
                raise InvalidValue(f"{name} must be text, got {type(value).__name__}.")
        requested = None if licence is None else Licence.parse(str(licence))
        files = _load_media(media)
        parent_ids = _check_parents(parents)
        quality_json = _json_value(quality, "quality")
        originality_json = _json_value(_check_originality(originality), "originality")
        if fingerprint is not None and not isinstance(fingerprint, str):
            raise InvalidValue("The audio fingerprint must be Chromaprint's compressed text.")

        with self._write() as scope:
            piece_id = self._claim_id(piece_id)
            parent_states = {parent: self._state(parent) for parent in parent_ids}
            terms = terms_for(parent_states, parent_ids, owner.key)
            chosen = terms.choose(requested)
            sizes = {}
            for kind, data in files.items():
                written = self.media.write(data, MEDIA_KINDS[kind])
                if written.created:
                    scope.new_files.append(written.path)
                sizes[kind] = (written.sha256, written.size)
            draft = PieceState(
                id=piece_id,
                owner=owner.key,
                origin=origin,
                title=title,
                request=request,
                seed=seed,
                score_sha256=sha256_text(score_json),
                genre=genre,
                mood=mood,
                key=key,
                tempo_bpm=None if tempo_bpm is None else float(tempo_bpm),
                duration_s=None if duration_s is None else float(duration_s),
                files={kind: digest for kind, (digest, _) in sizes.items()},
                parents=tuple(parent_ids),
                licence=str(chosen),
                allowed_licences=tuple(str(licence) for licence in terms.allowed),
                quality_json=quality_json,
                originality_json=originality_json,
                fingerprint_sha256=None if fingerprint is None else sha256_text(fingerprint),
                generator_version=generator_version,
                media_stored=True,
                created_at="",
                updated_at="",
            )
            event = self._next_event(piece_id, EventKind.CREATED, owner, created_payload(draft))
            state = apply(parent_states, event)
            self._upsert_user(owner, event.at)
            row = state.to_columns() | {"score_json": score_json, "fingerprint": fingerprint}
            self.db.execute(
                f"INSERT INTO creations ({', '.join(_quoted(row))}) VALUES"
                f" ({', '.join('?' for _ in row)})",
                list(row.values()),
            )
            for position, parent in enumerate(parent_ids):
                self.db.execute(
                    "INSERT INTO lineage (creation_id, position, parent_id) VALUES (?, ?, ?)",
                    [piece_id, position, parent],
                )
            for kind, (digest, size) in sizes.items():
                self.db.execute(
                    "INSERT OR IGNORE INTO media (sha256, kind, ext, size, stored_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [digest, kind, MEDIA_KINDS[kind], size, event.at],
                )
            self._insert_event(event)
            for parent in parent_ids:
                remixed = self._next_event(
                    parent, EventKind.REMIXED, owner, {"remix": piece_id, "title": title}
                )
                apply({parent: parent_states[parent], piece_id: state}, remixed)
                self._insert_event(remixed)
            if on_insert is not None:
                on_insert(self.db.conn, piece_id)
        return self.creation(piece_id)

    def licence_for(
        self, owner: Owner, parents: Sequence[str] = (), requested: Licence | str | None = None
    ) -> Licence:
        """The licence `record_creation` would give a piece by `owner` made from `parents`.

        For front ends that must write the licence into the file before recording it; raises
        `LicenceConflict`, `NotFound` or `Deleted` exactly as `record_creation` would.
        """
        _check_person(owner, "owner")
        wanted = None if requested is None else Licence.parse(str(requested))
        parent_ids = _check_parents(parents)
        states = {parent: self._state(parent) for parent in parent_ids}
        return terms_for(states, parent_ids, owner.key).choose(wanted)

    def rename(self, piece_id: str, actor: Owner, title: str) -> Creation:
        """Give the piece a new title; only its owner may."""
        title = _clean_title(title)
        return self._change(
            piece_id,
            actor,
            EventKind.RENAMED,
            lambda state: None if state.title == title else {"from": state.title, "to": title},
        )

    def relicense(self, piece_id: str, actor: Owner, licence: Licence | str) -> Creation:
        """Change the licence; only the owner may, and a remix only to what its parents allow."""
        wanted = str(Licence.parse(str(licence)))
        return self._change(
            piece_id,
            actor,
            EventKind.LICENCE_CHANGED,
            lambda state: (
                None if state.licence == wanted else {"from": state.licence, "to": wanted}
            ),
        )

    def offer_transfer(self, piece_id: str, actor: Owner, to: Owner) -> Creation:
        """Offer the piece to `to`; it changes hands when they accept. Replaces a pending offer."""
        _check_person(to, "recipient")
        return self._change(
            piece_id,
            actor,
            EventKind.TRANSFER_OFFERED,
            lambda state: {
                "to": user_payload(to.key),
                "replaces": None if state.offered_to is None else user_payload(state.offered_to),
            },
            also_user=to,
        )

    def accept_transfer(self, piece_id: str, actor: Owner) -> Creation:
        """The recipient of the pending offer takes the piece over."""
        return self._change(
            piece_id,
            actor,
            EventKind.TRANSFER_ACCEPTED,
            lambda state: {"from": user_payload(state.owner), "to": user_payload(actor.key)},
            also_user=actor,
        )

    def decline_transfer(self, piece_id: str, actor: Owner) -> Creation:
        """The recipient of the pending offer turns it down."""
        return self._change(
            piece_id,
            actor,
            EventKind.TRANSFER_DECLINED,
            lambda state: {"to": user_payload(actor.key)},
        )

    def withdraw_transfer(self, piece_id: str, actor: Owner) -> Creation:
        """The owner takes back a pending offer (event kind `transfer_withdrawn`)."""
        return self._change(
            piece_id,
            actor,
            EventKind.TRANSFER_WITHDRAWN,
            lambda state: {
                "to": None if state.offered_to is None else user_payload(state.offered_to)
            },
        )

    def delete(self, piece_id: str, actor: Owner, *, on_delete: OnDelete | None = None) -> Creation:
        """Delete the piece: its row stays as a tombstone (title and history kept), its files go.

        The tombstone commits first; the files are unlinked after, so a crash in between leaves
        only orphan files for the next sweep. `on_delete(conn, piece_id)` runs inside the
        tombstone's transaction, for index tables that should forget the piece.
        """
        doomed: list[tuple[str, str]] = []
        with self._write():
            state = self._state(piece_id)
            event = self._next_event(piece_id, EventKind.DELETED, actor, {"title": state.title})
            after = apply({piece_id: state}, event)
            self._save(after)
            self._insert_event(event)
            for digest in state.files.values():
                if self._used_elsewhere(digest, piece_id):
                    continue
                for row in self._rows("SELECT ext FROM media WHERE sha256 = ?", [digest]):
                    doomed.append((digest, row["ext"]))
                self.db.execute("DELETE FROM media WHERE sha256 = ?", [digest])
            if on_delete is not None:
                on_delete(self.db.conn, piece_id)
        if doomed:
            with self._write():
                for digest, ext in doomed:
                    # Another piece may have stored the same bytes again since.
                    if not self._rows("SELECT 1 FROM media WHERE sha256 = ?", [digest]):
                        self.media.unlink(digest, ext)
        return self.creation(piece_id)

    def like(self, piece_id: str, user: Owner) -> LikeState:
        """`user` likes the piece (again: no change)."""
        _check_person(user, "user")
        with self._write():
            self._live_state(piece_id)
            now = self._now()
            self._upsert_user(user, now)
            self.db.execute(
                "INSERT OR IGNORE INTO likes (creation_id, platform, user_id, at) VALUES (?, ?, ?, ?)",
                [piece_id, user.platform, user.user_id, now],
            )
            return LikeState(True, self.likes(piece_id))

    def unlike(self, piece_id: str, user: Owner) -> LikeState:
        """`user` no longer likes the piece (never did: no change)."""
        with self._write():
            self._state(piece_id)
            self.db.execute(
                "DELETE FROM likes WHERE creation_id = ? AND platform = ? AND user_id = ?",
                [piece_id, user.platform, user.user_id],
            )
            return LikeState(False, self.likes(piece_id))

    def toggle_like(self, piece_id: str, user: Owner) -> LikeState:
        """Like if not liked, else unlike: what a ♥ button does."""
        if self.likes_it(piece_id, user):
            return self.unlike(piece_id, user)
        return self.like(piece_id, user)

    def record_play(self, piece_id: str, user: Owner | None, place: str) -> int:
        """Count a play (user None when unknown, e.g. a voice channel); returns the play count."""
        place = _check_text(place, "place", MAX_ORIGIN)
        with self._write():
            self._live_state(piece_id)
            now = self._now()
            if user is not None:
                _check_person(user, "user")
                self._upsert_user(user, now)
            self.db.execute(
                "INSERT INTO plays (creation_id, platform, user_id, place, at) VALUES (?, ?, ?, ?, ?)",
                [
                    piece_id,
                    None if user is None else user.platform,
                    None if user is None else user.user_id,
                    place,
                    now,
                ],
            )
            return self.plays(piece_id)

    # --- reading -------------------------------------------------------------------------

    def creation(self, piece_id: str) -> Creation:
        """The piece with this id (deleted ones too: see `.deleted`); NotFound if none."""
        found = self._creations("c.id = ?", [_check_id(piece_id)])
        if not found:
            raise NotFound(f"There is no piece {piece_id}; check the id.")
        return found[0]

    def creations_of(self, owner: Owner, *, include_deleted: bool = False) -> list[Creation]:
        """The pieces `owner` owns now, newest first."""
        where = "c.owner_platform = ? AND c.owner_id = ?"
        if not include_deleted:
            where += " AND c.deleted_at IS NULL"
        return self._creations(where, [owner.platform, owner.user_id], "c.created_at DESC, c.id")

    def find_by_sha256(self, sha256: str) -> list[Creation]:
        """The pieces with a file of any kind with these bytes (two identical renders share one)."""
        digest = check_sha256(sha256.lower())
        return self._creations(
            "c.sha256_mp3 = ? OR c.sha256_midi = ? OR c.sha256_png = ?", [digest] * 3
        )

    def likes(self, piece_id: str) -> int:
        return int(
            self._rows("SELECT count(*) AS n FROM likes WHERE creation_id = ?", [piece_id])[0]["n"]
        )

    def likes_it(self, piece_id: str, user: Owner) -> bool:
        return bool(
            self._rows(
                "SELECT 1 FROM likes WHERE creation_id = ? AND platform = ? AND user_id = ?",
                [piece_id, user.platform, user.user_id],
            )
        )

    def plays(self, piece_id: str) -> int:
        return int(
            self._rows("SELECT count(*) AS n FROM plays WHERE creation_id = ?", [piece_id])[0]["n"]
        )

    def lineage(self, piece_id: str) -> Lineage:
        """Every ancestor (parents, their parents…) and descendant (remixes…), with depth."""
        self.creation(piece_id)
        walks = {
            "ancestors": ("creation_id", "parent_id"),
            "descendants": ("parent_id", "creation_id"),
        }
        found: dict[str, tuple[Relative, ...]] = {}
        for name, (start, step) in walks.items():
            rows = self._rows(
                f"""
                WITH RECURSIVE walk(id, depth) AS (
                    SELECT {step}, 1 FROM lineage WHERE {start} = ?
                    UNION
                    SELECT l.{step}, walk.depth + 1 FROM lineage l JOIN walk ON l.{start} = walk.id
                    WHERE walk.depth < 64
                )
                SELECT c.id, c.title, c.licence, c.deleted_at, c.owner_platform, c.owner_id,
                       u.display_name, min(walk.depth) AS depth
                FROM walk JOIN creations c ON c.id = walk.id
                LEFT JOIN users u ON u.platform = c.owner_platform AND u.user_id = c.owner_id
                GROUP BY c.id ORDER BY depth, c.created_at, c.id
                """,
                [piece_id],
            )
            found[name] = tuple(
                Relative(
                    id=row["id"],
                    title=row["title"],
                    owner=Owner(row["owner_platform"], row["owner_id"], row["display_name"] or ""),
                    licence=Licence(row["licence"]),
                    depth=row["depth"],
                    deleted=row["deleted_at"] is not None,
                )
                for row in rows
            )
        return Lineage(piece_id, found["ancestors"], found["descendants"])

    def events(self, piece_id: str) -> list[Event]:
        """The piece's history, oldest first (including 'remixed' when others remix it)."""
        rows = self._rows(
            "SELECT e.*, u.display_name FROM events e LEFT JOIN users u"
            " ON u.platform = e.actor_platform AND u.user_id = e.actor_id"
            " WHERE e.creation_id = ? ORDER BY e.seq",
            [piece_id],
        )
        events = []
        for row in rows:
            event = decode_event(EventRow.from_mapping(row))
            actor = replace(event.actor, display_name=row["display_name"] or "")
            events.append(replace(event, actor=actor))
        return events

    def head(self) -> ChainHead:
        """The last event's seq and hash: publish it somewhere to pin the history so far."""
        row = self._rows("SELECT seq, hash FROM chain_head WHERE id = 1")[0]
        return ChainHead(row["seq"], row["hash"])

    def verify(self, *, check_media_content: bool = False) -> VerifyReport:
        """Check the chain, the tables against a replay of the events, and the media files."""
        # One read transaction: every query sees the same snapshot.
        self.db.conn.execute("BEGIN")
        try:
            return verify_ledger(self.db, self.media, check_media_content=check_media_content)
        finally:
            self.db.conn.execute("ROLLBACK")

    # --- media ---------------------------------------------------------------------------

    def path_for(self, sha256: str) -> Path:
        """Where a stored file is; NotFound if the ledger has no such file (or it was deleted)."""
        digest = check_sha256(sha256.lower())
        rows = self._rows("SELECT ext FROM media WHERE sha256 = ?", [digest])
        if not rows:
            raise NotFound("That file is not in the media store (its piece may have been deleted).")
        path = self.media.path_for(digest, rows[0]["ext"])
        if not path.is_file():
            raise NotFound(
                "That file is missing from the media store; run `tunesmith ledger verify`."
            )
        return path

    def open_media(self, sha256: str) -> BinaryIO:
        """The stored file, opened for reading in binary mode."""
        return self.path_for(sha256).open("rb")

    def sweep(self) -> SweepReport:
        """Remove media files no row refers to (left by a crash) and report rows without files.

        Runs at open. Holds the write lock, so it never races another process's write. Rows are
        never removed here: a row no live piece uses cannot come from a crash (rows go with
        their piece in one transaction), so it is reported for `verify()` instead.
        """
        with self._write():
            known = {r["sha256"]: r["ext"] for r in self._rows("SELECT sha256, ext FROM media")}
            temp_removed = 0
            for temp in list(self.media.temp_files()):
                self.media.remove_temp(temp)
                temp_removed += 1
            orphans = []
            for stored in list(self.media.files()):
                if known.get(stored.sha256) != stored.ext:
                    self.media.unlink(stored.sha256, stored.ext)
                    orphans.append(stored.sha256)
            missing = tuple(
                sorted(d for d, ext in known.items() if not self.media.path_for(d, ext).is_file())
            )
            unreferenced = tuple(sorted(self._unreferenced_media()))
        return SweepReport(tuple(sorted(orphans)), temp_removed, unreferenced, missing)

    def _unreferenced_media(self) -> list[str]:
        """Media rows that no live piece names (none, unless the tables were edited)."""
        used = " AND ".join(
            f"NOT EXISTS (SELECT 1 FROM creations c WHERE c.sha256_{kind} = m.sha256"
            " AND c.deleted_at IS NULL)"
            for kind in MEDIA_KINDS
        )
        return [r["sha256"] for r in self._rows(f"SELECT sha256 FROM media m WHERE {used}")]

    # --- internals -----------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[_WriteScope]:
        """One immediate transaction; files it stored are removed again if it does not commit."""
        scope = _WriteScope()
        self.db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield scope
            self.db.conn.execute("COMMIT")
        except BaseException:
            # Still holding the write lock: no other writer can have come to rely on them.
            for path in scope.new_files:
                path.unlink(missing_ok=True)
            self.db.rollback()
            raise

    def _change(
        self,
        piece_id: str,
        actor: Owner,
        kind: EventKind,
        payload_for: Callable[[PieceState], dict[str, Any] | None],
        also_user: Owner | None = None,
    ) -> Creation:
        _check_person(actor, "actor")
        with self._write():
            state = self._state(piece_id)
            payload = payload_for(state)
            if payload is not None:
                event = self._next_event(piece_id, kind, actor, payload)
                after = apply({piece_id: state}, event)
                if also_user is not None:
                    self._upsert_user(also_user, event.at)
                self._save(after)
                self._insert_event(event)
            elif state.deleted_at is not None:
                raise Deleted(
                    f"{state.label} was deleted by its owner; it can no longer be changed."
                )
            elif state.owner != actor.key:
                # A no-op is still only the owner's to ask for.
                apply({piece_id: state}, self._next_event(piece_id, kind, actor, {}))
        return self.creation(piece_id)

    def _next_event(
        self, piece_id: str, kind: EventKind, actor: Owner, payload: dict[str, Any]
    ) -> Event:
        """The event that would come next in the chain (not yet written)."""
        head = self.head()
        last_at = self._rows("SELECT at FROM events WHERE seq = ?", [head.seq])
        at = self._now(after=last_at[0]["at"] if last_at else None)
        encoded = canonical_json(payload)
        digest = event_hash(
            head.hash, head.seq + 1, at, piece_id, str(kind), actor.platform, actor.user_id, encoded
        )
        return Event(
            seq=head.seq + 1,
            at=at,
            creation_id=piece_id,
            kind=kind,
            actor=actor,
            payload=json.loads(encoded),
            prev_hash=head.hash,
            hash=digest,
        )

    def _insert_event(self, event: Event) -> None:
        self.db.execute(
            "INSERT INTO events (seq, at, creation_id, kind, actor_platform, actor_id, payload,"
            " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                event.seq,
                event.at,
                event.creation_id,
                str(event.kind),
                event.actor.platform,
                event.actor.user_id,
                canonical_json(event.payload),
                event.prev_hash,
                event.hash,
            ],
        )
        self.db.execute(
            "UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1", [event.seq, event.hash]
        )

    def _save(self, state: PieceState) -> None:
        columns = state.to_columns()
        del columns["id"]
        assignments = ", ".join(f"{name} = ?" for name in _quoted(columns))
        self.db.execute(
            f"UPDATE creations SET {assignments} WHERE id = ?", [*columns.values(), state.id]
        )

    def _state(self, piece_id: str) -> PieceState:
        """The piece's current state, from its row (NotFound if none)."""
        rows = self._rows(
            "SELECT c.*, (SELECT json_extract(e.payload, '$.media_stored') FROM events e"
            " WHERE e.creation_id = c.id AND e.kind = 'created') AS media_stored"
            " FROM creations c WHERE c.id = ?",
            [_check_id(piece_id)],
        )
        if not rows:
            raise NotFound(f"There is no piece {piece_id}; check the id.")
        row = rows[0]
        parents = tuple(
            r["parent_id"]
            for r in self._rows(
                "SELECT parent_id FROM lineage WHERE creation_id = ? ORDER BY position", [piece_id]
            )
        )
        offered = (row["offered_to_platform"], row["offered_to_id"])
        return PieceState(
            id=row["id"],
            owner=(row["owner_platform"], row["owner_id"]),
            origin=row["origin"],
            title=row["title"],
            request=row["request"],
            seed=row["seed"],
            score_sha256=None if row["score_json"] is None else sha256_text(row["score_json"]),
            genre=row["genre"],
            mood=row["mood"],
            key=row["key"],
            tempo_bpm=row["tempo_bpm"],
            duration_s=row["duration_s"],
            files={k: row[f"sha256_{k}"] for k in MEDIA_KINDS if row[f"sha256_{k}"] is not None},
            parents=parents,
            licence=row["licence"],
            allowed_licences=tuple(json.loads(row["allowed_licences"])),
            quality_json=row["quality_json"],
            originality_json=row["originality_json"],
            fingerprint_sha256=None
            if row["fingerprint"] is None
            else sha256_text(row["fingerprint"]),
            generator_version=row["generator_version"],
            media_stored=bool(row["media_stored"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            deleted_at=row["deleted_at"],
            offered_to=offered if offered[0] is not None else None,
        )

    def _live_state(self, piece_id: str) -> PieceState:
        state = self._state(piece_id)
        if state.deleted_at is not None:
            raise Deleted(f"{state.label} was deleted by its owner.")
        return state

    def _claim_id(self, piece_id: str | None) -> str:
        if piece_id is None:
            return self.new_id()
        _check_id(piece_id)
        if self._rows("SELECT 1 FROM creations WHERE id = ?", [piece_id]):
            raise InvalidValue(f"The id {piece_id} is already used; ask the ledger for a new_id().")
        return piece_id

    def _used_elsewhere(self, digest: str, piece_id: str) -> bool:
        return bool(
            self._rows(
                "SELECT 1 FROM creations WHERE id != ? AND deleted_at IS NULL AND"
                " (sha256_mp3 = ? OR sha256_midi = ? OR sha256_png = ?) LIMIT 1",
                [piece_id, digest, digest, digest],
            )
        )

    def _upsert_user(self, user: Owner, at: str) -> None:
        # A display name changes; first_seen does not.
        self.db.execute(
            "INSERT INTO users (platform, user_id, display_name, first_seen) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (platform, user_id) DO UPDATE SET display_name = excluded.display_name"
            " WHERE excluded.display_name != ''",
            [user.platform, user.user_id, user.display_name, at],
        )

    def _creations(
        self, where: str, params: Sequence[Any], order: str = "c.created_at, c.id"
    ) -> list[Creation]:
        rows = self._rows(
            f"""
            SELECT c.*, u.display_name AS owner_display, o.display_name AS offered_display,
                   (SELECT json_group_array(parent_id) FROM
                       (SELECT parent_id FROM lineage l WHERE l.creation_id = c.id ORDER BY position)
                   ) AS parents_json
            FROM creations c
            LEFT JOIN users u ON u.platform = c.owner_platform AND u.user_id = c.owner_id
            LEFT JOIN users o ON o.platform = c.offered_to_platform AND o.user_id = c.offered_to_id
            WHERE {where} ORDER BY {order}
            """,
            params,
        )
        return [_creation(row) for row in rows]

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.db.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _now(self, after: str | None = None) -> str:
        """UTC now, ISO 8601 with microseconds; never before `after`, so event times never go back."""
        now = datetime.datetime.now(datetime.UTC)
        if after is not None:
            previous = datetime.datetime.fromisoformat(after)
            if previous.tzinfo is None:
                previous = previous.replace(tzinfo=datetime.UTC)
            now = max(now, previous)
        return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _creation(row: Mapping[str, Any]) -> Creation:
    offered = None
    if row["offered_to_platform"] is not None:
        offered = Owner(
            row["offered_to_platform"], row["offered_to_id"], row["offered_display"] or ""
        )
    return Creation(
        id=row["id"],
        owner=Owner(row["owner_platform"], row["owner_id"], row["owner_display"] or ""),
        origin=row["origin"],
        title=row["title"],
        request=row["request"],
        seed=row["seed"],
        score_json=row["score_json"],
        genre=row["genre"],
        mood=row["mood"],
        key=row["key"],
        tempo_bpm=row["tempo_bpm"],
        duration_s=row["duration_s"],
        files={k: row[f"sha256_{k}"] for k in MEDIA_KINDS if row[f"sha256_{k}"] is not None},
        parents=tuple(json.loads(row["parents_json"] or "[]")),
        licence=Licence(row["licence"]),
        allowed_licences=tuple(Licence(value) for value in json.loads(row["allowed_licences"])),
        quality=None if row["quality_json"] is None else json.loads(row["quality_json"]),
        originality=None
        if row["originality_json"] is None
        else json.loads(row["originality_json"]),
        fingerprint=row["fingerprint"],
        generator_version=row["generator_version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
        offered_to=offered,
    )


def _quoted(columns: Mapping[str, Any]) -> list[str]:
    return [f'"{name}"' for name in columns]


def _check_id(piece_id: str) -> str:
    if not isinstance(piece_id, str) or not _ID.match(piece_id):
        raise NotFound(
            f"{piece_id!r} is not a piece id; ids are 8 characters of 0-9 and a-z (no i, l, o, u)."
        )
    return piece_id


def _check_person(person: Owner, role: str) -> None:
    if not isinstance(person, Owner) or not person.platform.strip() or not person.user_id.strip():
        raise InvalidValue(f"The {role} needs a platform and a user id, got {person!r}.")


def _check_text(value: str, name: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"The {name} must be non-empty text, got {value!r}.")
    if len(value) > limit:
        raise InvalidValue(f"The {name} must be at most {limit} characters, got {len(value)}.")
    return value


def _clean_title(title: str) -> str:
    if not isinstance(title, str):
        raise InvalidValue(f"A title is text, got {type(title).__name__}.")
    cleaned = " ".join(title.split())
    if not cleaned:
        raise InvalidValue("A title cannot be empty; give it at least one visible character.")
    if len(cleaned) > MAX_TITLE:
        raise InvalidValue(f"A title is at most {MAX_TITLE} characters, got {len(cleaned)}.")
    return cleaned


def _load_media(media: Mapping[str, MediaSource]) -> dict[str, bytes]:
    files = {}
    for kind, source in media.items():
        if kind not in MEDIA_KINDS:
            raise InvalidValue(f"Unknown media kind {kind!r}; use {', '.join(MEDIA_KINDS)}.")
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        if not data:
            raise InvalidValue(f"The {kind} file is empty.")
        files[kind] = data
    return files


def _check_parents(parents: Sequence[str]) -> list[str]:
    parent_ids = [_check_id(parent) for parent in parents]
    if len(set(parent_ids)) != len(parent_ids):
        raise InvalidValue("Each parent can be listed only once.")
    if len(parent_ids) > MAX_PARENTS:
        raise InvalidValue(
            f"A remix can have at most {MAX_PARENTS} parents, got {len(parent_ids)}."
        )
    return parent_ids


def _check_originality(originality: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if originality is None:
        return None
    score = originality.get("score") if isinstance(originality, Mapping) else None
    if not isinstance(score, int | float) or isinstance(score, bool) or not 0 <= score <= 1:
        raise InvalidValue(
            f"Originality needs a 'score' between 0 and 1 (and any details), got {originality!r}."
        )
    return originality


def _json_value(value: Mapping[str, Any] | None, name: str) -> str | None:
    if value is not None and not isinstance(value, Mapping):
        raise InvalidValue(f"{name} must be a JSON object, got {type(value).__name__}.")
    try:
        return json_column(None if value is None else dict(value))
    except (TypeError, ValueError) as error:
        raise InvalidValue(f"{name} must be plain JSON values: {error}") from None
