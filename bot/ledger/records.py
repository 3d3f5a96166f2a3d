"""The values the ledger hands out: people, pieces, events, lineage. All frozen."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bot.ledger.chain import EventKind
from bot.ledger.licences import Licence

# media kind -> file extension; the kinds a piece has files of
MEDIA_KINDS: Mapping[str, str] = MappingProxyType({"mp3": "mp3", "midi": "mid", "png": "png"})


@dataclass(frozen=True, slots=True)
class Owner:
    """A person on a platform. Identity is (platform, user_id); the display name is for people."""

    platform: str  # "cli", "discord", ...
    user_id: str
    display_name: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.user_id)

    def is_(self, other: Owner | tuple[str, str] | None) -> bool:
        """Same person, whatever display name either copy carries."""
        if other is None:
            return False
        return self.key == (other.key if isinstance(other, Owner) else tuple(other))

    def __str__(self) -> str:
        return self.display_name or f"{self.platform}:{self.user_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Creation:
    """A piece as the ledger holds it now (after renames, transfers, relicensing, deletion)."""

    id: str
    owner: Owner
    origin: str
    title: str | None
    request: str | None
    seed: int | None
    score_json: str | None = field(repr=False)
    genre: str | None
    mood: str | None
    key: str | None
    tempo_bpm: float | None
    duration_s: float | None
    files: Mapping[str, str]  # media kind -> sha256, the media store's keys
    parents: tuple[str, ...]
    licence: Licence
    allowed_licences: tuple[
        Licence, ...
    ]  # what relicensing may choose (a remix's parents limit it)
    quality: Mapping[str, Any] | None = field(repr=False)
    originality: Mapping[str, Any] | None = field(repr=False)
    fingerprint: str | None = field(repr=False)  # Chromaprint, compressed base64
    generator_version: str | None
    created_at: str
    updated_at: str
    deleted_at: str | None
    offered_to: Owner | None  # a pending transfer offer

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def label(self) -> str:
        """How messages name it: “Blue Hour” (k3j9x2ab)."""
        return f"“{self.title or 'untitled'}” ({self.id})"


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the append-only log."""

    seq: int
    at: str
    creation_id: str
    kind: EventKind
    actor: Owner
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Relative:
    """An ancestor or descendant in a piece's lineage; depth 1 is a parent or a direct remix."""

    id: str
    title: str | None
    owner: Owner
    licence: Licence
    depth: int
    deleted: bool


@dataclass(frozen=True, slots=True)
class Lineage:
    creation_id: str
    ancestors: tuple[Relative, ...]
    descendants: tuple[Relative, ...]


@dataclass(frozen=True, slots=True)
class LikeState:
    liked: bool  # whether this person likes it now
    count: int  # how many people like it
