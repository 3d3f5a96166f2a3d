"""What the event log says each piece should be: the rules every event must follow.

The same `apply` runs when the ledger writes an event (so a refused action raises before anything
is written, and the `creations` row is exactly what the events imply) and when `verify()` replays
the whole log (so a row the events do not explain, or an event that broke a rule, is reported).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from bot.ledger.chain import EventKind, EventRow, Problem, canonical_json
from bot.ledger.errors import (
    Deleted,
    LedgerError,
    LicenceConflict,
    NotFound,
    NotOwner,
    TransferError,
)
from bot.ledger.licences import UNRESTRICTED, Licence, ParentTerms, RemixTerms, remix_terms
from bot.ledger.records import MEDIA_KINDS, Event, Owner

UserKey = tuple[str, str]  # (platform, user_id)

# Columns kept whole in `creations` but only by digest in the created event.
HASHED_COLUMNS: Mapping[str, str] = MappingProxyType(
    {"score_json": "score_sha256", "fingerprint": "fingerprint_sha256"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PieceState:
    """A piece as its events describe it; `to_columns()` is its `creations` row."""

    id: str
    owner: UserKey
    origin: str
    title: str | None
    request: str | None
    seed: int | None
    score_sha256: str | None
    genre: str | None
    mood: str | None
    key: str | None
    tempo_bpm: float | None
    duration_s: float | None
    files: Mapping[str, str]
    parents: tuple[str, ...]
    licence: str
    allowed_licences: tuple[str, ...]
    quality_json: str | None
    originality_json: str | None
    fingerprint_sha256: str | None
    generator_version: str | None
    media_stored: bool  # False only for pieces recorded before the media store existed
    created_at: str
    updated_at: str
    deleted_at: str | None = None
    offered_to: UserKey | None = field(default=None)

    @property
    def label(self) -> str:
        return f"“{self.title or 'untitled'}” ({self.id})"

    def to_columns(self) -> dict[str, Any]:
        """The `creations` columns the events determine (all but the HASHED_COLUMNS)."""
        return {
            "id": self.id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "deleted_at": self.deleted_at,
            "owner_platform": self.owner[0],
            "owner_id": self.owner[1],
            "origin": self.origin,
            "title": self.title,
            "genre": self.genre,
            "mood": self.mood,
            "key": self.key,
            "tempo_bpm": self.tempo_bpm,
            "duration_s": self.duration_s,
            "seed": self.seed,
            "request": self.request,
            "sha256_mp3": self.files.get("mp3"),
            "sha256_midi": self.files.get("midi"),
            "sha256_png": self.files.get("png"),
            "licence": self.licence,
            "allowed_licences": canonical_json(list(self.allowed_licences)),
            "quality_json": self.quality_json,
            "originality_json": self.originality_json,
            "generator_version": self.generator_version,
            "offered_to_platform": self.offered_to[0] if self.offered_to else None,
            "offered_to_id": self.offered_to[1] if self.offered_to else None,
        }


def json_column(value: Mapping[str, Any] | None) -> str | None:
    """How QC and originality values are stored: canonical JSON, or NULL for none."""
    return None if value is None else canonical_json(value)


def created_payload(state: PieceState) -> dict[str, Any]:
    """Everything immutable about a piece, as its `created` event carries it."""
    return {
        "owner": {"platform": state.owner[0], "user_id": state.owner[1]},
        "origin": state.origin,
        "title": state.title,
        "request": state.request,
        "seed": state.seed,
        "score_sha256": state.score_sha256,
        "genre": state.genre,
        "mood": state.mood,
        "key": state.key,
        "tempo_bpm": state.tempo_bpm,
        "duration_s": state.duration_s,
        "files": dict(state.files),
        "parents": list(state.parents),
        "licence": state.licence,
        "allowed_licences": list(state.allowed_licences),
        "quality": None if state.quality_json is None else json.loads(state.quality_json),
        "originality": None
        if state.originality_json is None
        else json.loads(state.originality_json),
        "fingerprint_sha256": state.fingerprint_sha256,
        "generator_version": state.generator_version,
        "media_stored": state.media_stored,
    }


def user_payload(user: UserKey) -> dict[str, str]:
    return {"platform": user[0], "user_id": user[1]}


def decode_event(row: EventRow) -> Event:
    """The typed event of a stored row; ValueError if a column cannot be what it should be."""
    if not isinstance(row.seq, int):
        raise ValueError(f"seq is {row.seq!r}")
    for name in ("at", "creation_id", "actor_platform", "actor_id", "payload"):
        if not isinstance(getattr(row, name), str):
            raise ValueError(f"{name} is not text")
    try:
        payload = json.loads(row.payload)
    except json.JSONDecodeError as error:
        raise ValueError(f"payload is not valid JSON ({error.msg})") from None
    if not isinstance(payload, dict):
        raise ValueError("payload is not a JSON object")
    return Event(
        seq=row.seq,
        at=row.at,
        creation_id=row.creation_id,
        kind=EventKind(row.kind),
        actor=Owner(row.actor_platform, row.actor_id),
        payload=payload,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def apply(states: Mapping[str, PieceState], event: Event) -> PieceState:
    """The piece's state after `event`; raises the LedgerError the event's rule gives if it may not happen."""
    state = states.get(event.creation_id)
    payload = event.payload
    if event.kind is EventKind.CREATED:
        if state is not None:
            raise LedgerError(f"{state.label} already exists; a piece is created once.")
        return _created(states, event)
    if state is None:
        raise NotFound(f"There is no piece {event.creation_id}.")
    if state.deleted_at is not None:
        raise Deleted(f"{state.label} was deleted by its owner; it can no longer be changed.")
    actor = event.actor.key
    kind = event.kind
    if kind is EventKind.REMIXED:
        remix = states.get(_text(payload, "remix"))
        if remix is None or event.creation_id not in remix.parents:
            raise LedgerError(
                f"{state.label} is marked as remixed by a piece that does not list it."
            )
        if remix.owner != actor:
            raise NotOwner("Only the remix's owner records that it remixes this piece.")
        return state
    if kind is EventKind.TRANSFER_ACCEPTED or kind is EventKind.TRANSFER_DECLINED:
        verb = "accept" if kind is EventKind.TRANSFER_ACCEPTED else "decline"
        if state.offered_to is None:
            raise TransferError(
                f"{state.label} has no pending transfer to {verb}; its owner has to offer it first."
            )
        if state.offered_to != actor:
            raise TransferError(
                f"{state.label} was offered to someone else; only they can {verb} it."
            )
        if _user(payload, "to") != actor:
            raise LedgerError("The transfer event names another recipient than its actor.")
        if kind is EventKind.TRANSFER_ACCEPTED:
            return replace(state, owner=actor, offered_to=None, updated_at=event.at)
        return replace(state, offered_to=None, updated_at=event.at)
    if state.owner != actor:
        raise NotOwner(
            f"Only the owner of {state.label} can {_OWNER_ACTIONS[kind]}; ask them to transfer "
            "it to you if it should be yours."
        )
    if kind is EventKind.RENAMED:
        title = _text(payload, "to")
        if _optional_text(payload, "from") != state.title or not title.strip():
            raise LedgerError("The rename event does not follow from the piece's title.")
        return replace(state, title=title, updated_at=event.at)
    if kind is EventKind.LICENCE_CHANGED:
        wanted = _text(payload, "to")
        if _text(payload, "from") != state.licence:
            raise LedgerError("The licence change does not follow from the piece's licence.")
        if wanted not in state.allowed_licences:
            raise LicenceConflict(
                f"{state.label} remixes pieces whose licences allow only "
                f"{', '.join(state.allowed_licences)}; {wanted} is not one of them.",
                allowed=state.allowed_licences,
            )
        return replace(state, licence=wanted, updated_at=event.at)
    if kind is EventKind.TRANSFER_OFFERED:
        recipient = _user(payload, "to")
        if recipient == state.owner:
            raise TransferError(
                f"You already own {state.label}; offer it to someone else to transfer it."
            )
        return replace(state, offered_to=recipient, updated_at=event.at)
    if kind is EventKind.TRANSFER_WITHDRAWN:
        if state.offered_to is None:
            raise TransferError(f"{state.label} has no pending transfer offer to withdraw.")
        return replace(state, offered_to=None, updated_at=event.at)
    if kind is EventKind.DELETED:
        return replace(state, deleted_at=event.at, offered_to=None, updated_at=event.at)
    raise LedgerError(f"Unknown event kind {kind!r}.")


_OWNER_ACTIONS = MappingProxyType(
    {
        EventKind.RENAMED: "rename it",
        EventKind.LICENCE_CHANGED: "change its licence",
        EventKind.TRANSFER_OFFERED: "offer it to someone else",
        EventKind.TRANSFER_WITHDRAWN: "withdraw its transfer offer",
        EventKind.DELETED: "delete it",
    }
)


def terms_for(
    states: Mapping[str, PieceState], parents: Iterable[str], remixer: UserKey
) -> RemixTerms:
    """The licence terms of a piece made from `parents` by `remixer`, from the parents' states."""
    parent_terms = []
    for parent_id in parents:
        parent = states.get(parent_id)
        if parent is None:
            raise NotFound(f"There is no piece {parent_id} to remix; check the id.")
        if parent.deleted_at is not None:
            raise Deleted(f"{parent.label} was deleted by its owner; it cannot be remixed.")
        parent_terms.append(
            ParentTerms(
                parent.id,
                parent.title or "untitled",
                Licence(parent.licence),
                parent.owner == remixer,
            )
        )
    return remix_terms(parent_terms) if parent_terms else UNRESTRICTED


def _created(states: Mapping[str, PieceState], event: Event) -> PieceState:
    payload = event.payload
    owner = _user(payload, "owner")
    if owner != event.actor.key:
        raise NotOwner("A piece is created by the person who will own it.")
    parents = tuple(_text_list(payload, "parents"))
    terms = terms_for(states, parents, owner)
    licence = _text(payload, "licence")
    allowed = tuple(_text_list(payload, "allowed_licences"))
    if allowed != tuple(terms.allowed):
        raise LicenceConflict(
            f"The piece records the allowed licences {', '.join(allowed)}, but its parents "
            f"allow {', '.join(terms.allowed)}."
        )
    if licence not in allowed:
        raise LicenceConflict(f"{licence} is not allowed here; allowed: {', '.join(allowed)}.")
    files = payload.get("files")
    if not isinstance(files, dict) or not all(
        kind in MEDIA_KINDS and isinstance(digest, str) for kind, digest in files.items()
    ):
        raise ValueError("files is not a map of media kind to sha256")
    quality = payload.get("quality")
    originality = payload.get("originality")
    for name, value in (("quality", quality), ("originality", originality)):
        if value is not None and not isinstance(value, dict):
            raise ValueError(f"{name} is not a JSON object")
    media_stored = payload.get("media_stored")
    if not isinstance(media_stored, bool):
        raise ValueError("media_stored is not true or false")
    return PieceState(
        id=event.creation_id,
        owner=owner,
        origin=_text(payload, "origin"),
        title=_optional_text(payload, "title"),
        request=_optional_text(payload, "request"),
        seed=_optional_int(payload, "seed"),
        score_sha256=_optional_text(payload, "score_sha256"),
        genre=_optional_text(payload, "genre"),
        mood=_optional_text(payload, "mood"),
        key=_optional_text(payload, "key"),
        tempo_bpm=_optional_number(payload, "tempo_bpm"),
        duration_s=_optional_number(payload, "duration_s"),
        files=dict(files),
        parents=parents,
        licence=licence,
        allowed_licences=allowed,
        quality_json=json_column(quality),
        originality_json=json_column(originality),
        fingerprint_sha256=_optional_text(payload, "fingerprint_sha256"),
        generator_version=_optional_text(payload, "generator_version"),
        media_stored=media_stored,
        created_at=event.at,
        updated_at=event.at,
    )


@dataclass
class Replay:
    """The states the log implies, and the events that could not be applied."""

    states: dict[str, PieceState] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    remixed: set[tuple[str, str]] = field(default_factory=set)  # (parent, remix) pairs seen


def replay(rows: Iterable[EventRow]) -> Replay:
    """Apply every event in seq order, collecting the ones that break a rule or cannot be read."""
    result = Replay()
    for row in rows:
        seq = row.seq if isinstance(row.seq, int) else None
        creation_id = row.creation_id if isinstance(row.creation_id, str) else None
        try:
            event = decode_event(row)
            result.states[event.creation_id] = apply(result.states, event)
        except LedgerError as error:
            result.problems.append(
                Problem(
                    f"{row.kind} by {row.actor_platform}:{row.actor_id} breaks the ledger's rules: "
                    f"{error}",
                    seq=seq,
                    creation_id=creation_id,
                )
            )
            continue
        except (ValueError, KeyError, TypeError) as error:
            result.problems.append(
                Problem(f"the event cannot be read: {error}", seq=seq, creation_id=creation_id)
            )
            continue
        if event.kind is EventKind.REMIXED:
            result.remixed.add((event.creation_id, str(event.payload["remix"])))
    return result


def _text(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str):
        raise ValueError(f"{name} is not text")
    return value


def _optional_text(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} is not text")
    return value


def _optional_int(payload: Mapping[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{name} is not a whole number")
    return value


def _optional_number(payload: Mapping[str, Any], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"{name} is not a number")
    return value


def _text_list(payload: Mapping[str, Any], name: str) -> list[str]:
    value = payload.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name} is not a list of text")
    return value


def _user(payload: Mapping[str, Any], name: str) -> UserKey:
    value = payload.get(name)
    if not isinstance(value, dict):
        raise ValueError(f"{name} is not a person")
    return (_text(value, "platform"), _text(value, "user_id"))
