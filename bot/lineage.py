"""A piece's family tree: where it came from and everything remixed from the same roots.

`lineage_tree` reads it from the ledger (on its thread); `tree_lines` writes it as text for any
front end; `bot.lineage_picture.draw_lineage` draws it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.ledger import Ledger, Owner
from bot.lineage_picture import LineageNode
from bot.publishing import family_of

MAX_PIECES = 100  # a family bigger than this is shown in part (the picture draws 40)


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    title: str
    owner: Owner
    licence: str
    parents: tuple[str, ...]  # those in the family
    deleted: bool
    created_at: str


@dataclass(frozen=True, slots=True)
class LineageTree:
    focus: str  # the piece asked about
    members: tuple[Member, ...]  # oldest first
    more: int = 0  # relatives left out beyond MAX_PIECES

    def member(self, piece_id: str) -> Member:
        return next(m for m in self.members if m.id == piece_id)

    def root_of(self, piece_id: str) -> Member:
        """The original `piece_id` descends from, by first parents (itself if no remix)."""
        member = self.member(piece_id)
        seen = {member.id}
        while member.parents and member.parents[0] not in seen:
            member = self.member(member.parents[0])
            seen.add(member.id)
        return member

    @property
    def roots(self) -> list[Member]:
        return [m for m in self.members if not m.parents]

    def children(self, piece_id: str) -> list[Member]:
        return [m for m in self.members if piece_id in m.parents]

    def nodes(self, name: Callable[[Owner], str]) -> list[LineageNode]:
        """The tree for `draw_lineage`, owners named by `name`."""
        return [
            LineageNode(
                id=m.id,
                title=_card_title(m),
                owner=name(m.owner),
                parents=m.parents,
                deleted=m.deleted,
                focus=m.id == self.focus,
            )
            for m in self.members
        ]


_REMIX_LABEL = re.compile(r"\(([^()]*remix)\)\s*$")


def _card_title(member: Member) -> str:
    """A remix's card names what it did ("jazz remix"): in a tree of one family every title
    starts alike, and the cards are narrow."""
    found = _REMIX_LABEL.search(member.title) if member.parents else None
    return found.group(1).capitalize() if found else member.title


def lineage_tree(ledger: Ledger, piece_id: str) -> LineageTree:
    """The family of `piece_id` (NotFound for an unknown id)."""
    focus = ledger.creation(piece_id)
    family = family_of(ledger, (focus.id,))
    creations = sorted(
        (ledger.creation(member) for member in family), key=lambda c: (c.created_at, c.id)
    )
    more = max(0, len(creations) - MAX_PIECES)
    if more:
        # Keep the focus and its ancestors whatever happens; fill up with the oldest.
        needed = {focus.id} | {r.id for r in ledger.lineage(focus.id).ancestors}
        kept = [c for c in creations if c.id in needed]
        kept += [c for c in creations if c.id not in needed][: MAX_PIECES - len(kept)]
        creations = sorted(kept, key=lambda c: (c.created_at, c.id))
    present = {c.id for c in creations}
    members = tuple(
        Member(
            id=c.id,
            title=c.title or "untitled",
            owner=c.owner,
            licence=str(c.licence),
            parents=tuple(p for p in c.parents if p in present),
            deleted=c.deleted,
            created_at=c.created_at,
        )
        for c in creations
    )
    return LineageTree(focus.id, members, more)


def tree_lines(tree: LineageTree, name: Callable[[Owner], str], *, limit: int = 40) -> list[str]:
    """The family as an indented tree, one piece a line, the asked-about piece marked:

    “Blue Hour” by @alice (k3j9x2ab)
    └─ “Blue Hour (jazz remix)” by @bob (p0q1r2s3)
       └─ “Blue Hour (rock remix)” by @carol (z9y8x7w6)  ◀ this one
    """
    lines: list[str] = []
    seen: set[str] = set()

    def describe(member: Member) -> str:
        title = "deleted piece" if member.deleted else f"“{member.title}”"
        mark = "  ◀ this one" if member.id == tree.focus else ""
        return f"{title} by {name(member.owner)} ({member.id}){mark}"

    def walk(member: Member, prefix: str, last: bool, top: bool) -> None:
        if len(lines) >= limit:
            return
        branch = "" if top else ("└─ " if last else "├─ ")
        if member.id in seen:  # a remix of two pieces of one family: shown once, then named
            lines.append(f"{prefix}{branch}(see {member.id} above)")
            return
        seen.add(member.id)
        lines.append(prefix + branch + describe(member))
        children = tree.children(member.id)
        inner = prefix if top else prefix + ("   " if last else "│  ")
        for index, child in enumerate(children):
            walk(child, inner, index == len(children) - 1, False)

    for root in tree.roots:
        walk(root, "", True, True)
    hidden = len(tree.members) - len(seen) + tree.more
    if hidden > 0:
        lines.append(f"… and {hidden} more")
    return lines


def credit_chain(tree: LineageTree, piece_id: str, name: Callable[[Owner], str]) -> list[str]:
    """Who a piece builds on, nearest first: ["remix of “B” by @bob", "remix of “A” by @alice"]."""
    chain: list[str] = []
    current = tree.member(piece_id)
    visited = {current.id}
    while current.parents:
        parents: Sequence[Member] = [tree.member(p) for p in current.parents]
        chain.append("remix of " + " and ".join(f"“{p.title}” by {name(p.owner)}" for p in parents))
        nxt = parents[0]
        if nxt.id in visited:
            break
        visited.add(nxt.id)
        current = nxt
    return chain
