"""Credit tags: who made a piece, under which licence, and what it remixes, in ID3v2.4 frames.

Written before signing: the C2PA data hash covers the whole file except the manifest itself, so
the tags are signed too, and any tag edit after signing makes the manifest read as Invalid.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from mutagen import MutagenError
from mutagen.id3 import ID3, TCOM, TCOP, TIT2, TPE1, TXXX, WCOP, ID3NoHeaderError

from bot.provenance.errors import ProvenanceError
from generators.encode import PIECE_ID_FRAME

__all__ = [
    "ALL_RIGHTS_RESERVED",
    "LICENCE_FRAME",
    "LINEAGE_FRAME",
    "OWNER_FRAME",
    "PARENTS_FRAME",
    "Credit",
    "CreditTags",
    "ParentCredit",
    "licence_url_for",
    "read_credit_tags",
    "tagged_mp3",
    "write_credit_tags",
]

ALL_RIGHTS_RESERVED = "all-rights-reserved"
COMPOSER = "Tunesmith"
# TXXX descriptions, beside generators.encode.PIECE_ID_FRAME.
LICENCE_FRAME = "tunesmith_licence"
OWNER_FRAME = "tunesmith_owner"
LINEAGE_FRAME = "tunesmith_lineage"  # for people: 'remix of "Night Drive" by Bob (id …, CC-BY-4.0)'
PARENTS_FRAME = "tunesmith_parents"  # for programs: a JSON list of the parents
ANCESTORS_FRAME = "tunesmith_ancestors"  # for programs: earlier generations, nearest first
_UTF8 = 3
_CC = re.compile(r"^CC-(BY(?:-SA|-NC|-ND|-NC-SA|-NC-ND)?)-4\.0$")


def licence_url_for(licence: str) -> str | None:
    """The deed URL of a Creative Commons 4.0 or CC0 licence id; None for any other id."""
    if licence == "CC0-1.0":
        return "https://creativecommons.org/publicdomain/zero/1.0/"
    match = _CC.match(licence)
    if match:
        return f"https://creativecommons.org/licenses/{match.group(1).lower()}/4.0/"
    return None


class ParentCredit(NamedTuple):
    """A piece this one remixes, as the ledger knows it."""

    piece_id: str
    title: str
    creator: str
    licence: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Credit:
    """Who made a piece and on what terms: the input to the tags and to the C2PA manifest."""

    creator: str  # the owner's display name
    owner_platform: str  # "discord", "cli", ...
    owner_id: str
    year: int
    licence: str  # "CC-BY-4.0", "CC0-1.0", ALL_RIGHTS_RESERVED, ...
    licence_url: str | None
    piece_id: str
    title: str
    parents: tuple[ParentCredit, ...] = ()
    # Earlier generations (the parents' parents, theirs…), nearest first: the credit chain.
    ancestors: tuple[ParentCredit, ...] = ()

    def __post_init__(self) -> None:
        for name in ("creator", "owner_platform", "owner_id", "licence", "piece_id", "title"):
            if not getattr(self, name).strip():
                raise ValueError(f"credit {name} must not be empty")
        if not 1900 <= self.year <= 9999:
            raise ValueError(f"credit year must be a four-digit year, got {self.year}")
        if self.licence == ALL_RIGHTS_RESERVED:
            if self.licence_url is not None:
                raise ValueError(
                    f"an {ALL_RIGHTS_RESERVED} piece has no licence URL, got {self.licence_url!r}"
                )
        elif self.licence.startswith("CC") and self.licence_url is None:
            raise ValueError(
                f"a {self.licence} piece needs its licence URL, e.g. {licence_url_for(self.licence)!r}"
            )
        if self.licence_url is not None and not self.licence_url.startswith(
            ("https://", "http://")
        ):
            raise ValueError(f"licence URL must start with https://, got {self.licence_url!r}")
        # Accept plain 4-tuples from callers; keep named ones.
        object.__setattr__(self, "parents", tuple(ParentCredit(*p) for p in self.parents))
        object.__setattr__(self, "ancestors", tuple(ParentCredit(*p) for p in self.ancestors))

    @property
    def copyright(self) -> str:
        """The TCOP line; ID3v2.4 wants it to start with the year and a space."""
        if self.licence == ALL_RIGHTS_RESERVED:
            return f"{self.year} {self.creator}. All rights reserved."
        if self.licence == "CC0-1.0":
            return f"{self.year} {self.creator}. Dedicated to the public domain under CC0-1.0"
        return f"{self.year} {self.creator}. Licensed under {self.licence}"

    @property
    def owner(self) -> str:
        return f"{self.owner_platform}:{self.owner_id}"

    @property
    def lineage(self) -> str | None:
        """'remix of "A" by Alice (id p1, CC-BY-4.0); "B" by Bob (…)', or None for an original."""
        if not self.parents:
            return None
        parts = [f'"{p.title}" by {p.creator} (id {p.piece_id}, {p.licence})' for p in self.parents]
        text = "remix of " + "; ".join(parts)
        if self.ancestors:
            earlier = [f'"{p.title}" by {p.creator} (id {p.piece_id})' for p in self.ancestors]
            text += ", which builds on " + ", then ".join(earlier)
        return text


@dataclass(frozen=True, slots=True)
class CreditTags:
    """The credit frames read back from an MP3; None where a frame is missing."""

    title: str | None
    creator: str | None  # TPE1
    composer: str | None  # TCOM
    copyright: str | None  # TCOP
    licence: str | None
    licence_url: str | None  # WCOP
    piece_id: str | None
    owner: str | None  # "platform:id"
    lineage: str | None
    parents: tuple[ParentCredit, ...]
    ancestors: tuple[ParentCredit, ...] = ()


def _apply(id3: ID3, credit: Credit) -> None:
    id3.setall("TIT2", [TIT2(encoding=_UTF8, text=credit.title)])
    id3.setall("TPE1", [TPE1(encoding=_UTF8, text=credit.creator)])
    id3.setall("TCOM", [TCOM(encoding=_UTF8, text=COMPOSER)])
    id3.setall("TCOP", [TCOP(encoding=_UTF8, text=credit.copyright)])
    id3.delall("WCOP")
    if credit.licence_url:
        id3.add(WCOP(url=credit.licence_url))
    texts = {
        PIECE_ID_FRAME: credit.piece_id,
        LICENCE_FRAME: credit.licence,
        OWNER_FRAME: credit.owner,
        LINEAGE_FRAME: credit.lineage,
        PARENTS_FRAME: (
            json.dumps([p._asdict() for p in credit.parents], ensure_ascii=False)
            if credit.parents
            else None
        ),
        ANCESTORS_FRAME: (
            json.dumps([p._asdict() for p in credit.ancestors], ensure_ascii=False)
            if credit.ancestors
            else None
        ),
    }
    for name, value in texts.items():
        id3.delall(f"TXXX:{name}")
        if value is not None:
            id3.add(TXXX(encoding=_UTF8, desc=name, text=value))


def tagged_mp3(mp3: bytes, credit: Credit) -> bytes:
    """`mp3` with the credit frames set (other frames kept), all in memory."""
    buffer = io.BytesIO(mp3)
    try:
        try:
            id3 = ID3(buffer)
        except ID3NoHeaderError:
            id3 = ID3()
        _apply(id3, credit)
        buffer.seek(0)
        id3.save(buffer, v2_version=4)
    except MutagenError as error:
        raise ProvenanceError(f"cannot tag piece {credit.piece_id}: {error}") from error
    return buffer.getvalue()


def write_credit_tags(path: Path, credit: Credit) -> None:
    """Set the credit frames of the MP3 at `path` in place (before signing, never after)."""
    try:
        try:
            id3 = ID3(str(path))
        except ID3NoHeaderError:
            id3 = ID3()
        _apply(id3, credit)
        id3.save(str(path), v2_version=4)
    except (OSError, MutagenError) as error:
        raise ProvenanceError(f"cannot write credit tags to {path}: {error}") from error


def read_credit_tags(path: Path) -> CreditTags:
    """The credit frames of an MP3 (all None for a file without ID3 tags)."""
    try:
        id3 = ID3(str(path))
    except ID3NoHeaderError:
        id3 = ID3()
    except OSError as error:
        raise ProvenanceError(f"cannot read the tags of {path}: {error}") from error
    except MutagenError:
        # A damaged or truncated tag says nothing we can trust; `verify` reports the rest.
        id3 = ID3()

    def text(frame_id: str) -> str | None:
        frame = id3.get(frame_id)
        return str(frame.text[0]) if frame is not None and frame.text else None

    wcop = id3.getall("WCOP")
    parents: tuple[ParentCredit, ...] = ()
    raw_parents = text(f"TXXX:{PARENTS_FRAME}")
    if raw_parents:
        try:
            parents = tuple(ParentCredit(**p) for p in json.loads(raw_parents))
        except (ValueError, TypeError) as error:
            raise ProvenanceError(
                f"the {PARENTS_FRAME} tag of {path} is damaged: {error}"
            ) from error
    ancestors: tuple[ParentCredit, ...] = ()
    raw_ancestors = text(f"TXXX:{ANCESTORS_FRAME}")
    if raw_ancestors:
        try:
            ancestors = tuple(ParentCredit(**p) for p in json.loads(raw_ancestors))
        except (ValueError, TypeError) as error:
            raise ProvenanceError(
                f"the {ANCESTORS_FRAME} tag of {path} is damaged: {error}"
            ) from error
    return CreditTags(
        title=text("TIT2"),
        creator=text("TPE1"),
        composer=text("TCOM"),
        copyright=text("TCOP"),
        licence=text(f"TXXX:{LICENCE_FRAME}"),
        licence_url=str(wcop[0].url) if wcop else None,
        piece_id=text(f"TXXX:{PIECE_ID_FRAME}"),
        owner=text(f"TXXX:{OWNER_FRAME}"),
        lineage=text(f"TXXX:{LINEAGE_FRAME}"),
        parents=parents,
        ancestors=ancestors,
    )
