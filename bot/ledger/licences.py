"""The licences a piece can carry, and what a remix may be licensed under given its parents.

Rules (only parents owned by someone else constrain a remix; your own pieces are yours to reuse):
- all-rights-reserved: no remix at all;
- CC-BY-SA-4.0: the remix must be CC-BY-SA-4.0 (share-alike);
- CC-BY-NC-4.0: the remix must be CC-BY-NC-4.0 (non-commercial);
- SA and NC parents together: refused, since no licence here is both;
- CC0-1.0 and CC-BY-4.0: no constraint (the lineage is the attribution).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from bot.ledger.errors import InvalidValue, LicenceConflict


class Licence(StrEnum):
    """A licence id as stored in the ledger and written into the files' tags."""

    CC0 = "CC0-1.0"
    CC_BY = "CC-BY-4.0"
    CC_BY_SA = "CC-BY-SA-4.0"
    CC_BY_NC = "CC-BY-NC-4.0"
    ALL_RIGHTS_RESERVED = "all-rights-reserved"

    @property
    def human_name(self) -> str:
        return _HUMAN_NAMES[self]

    @property
    def url(self) -> str | None:
        """The Creative Commons deed; None for all-rights-reserved."""
        return _URLS.get(self)

    @property
    def short_name(self) -> str:
        """How people write it: 'CC BY-SA 4.0', 'CC0 1.0', 'all rights reserved'."""
        return _SHORT_NAMES[self]

    @classmethod
    def parse(cls, text: str) -> Licence:
        """The licence named by `text` (its id, any case, or 'cc0' / 'arr'), else InvalidValue."""
        wanted = text.strip().lower()
        for licence in cls:
            if wanted in (licence.value.lower(), licence.short_name.lower()):
                return licence
        if wanted in _ALIASES:
            return _ALIASES[wanted]
        raise InvalidValue(f"Unknown licence {text.strip()!r}; choose one of {', '.join(cls)}.")


DEFAULT_LICENCE = Licence.CC_BY
ALL_LICENCES: tuple[Licence, ...] = tuple(Licence)

_HUMAN_NAMES = MappingProxyType(
    {
        Licence.CC0: "CC0 1.0 Universal (public domain dedication)",
        Licence.CC_BY: "Creative Commons Attribution 4.0 International",
        Licence.CC_BY_SA: "Creative Commons Attribution-ShareAlike 4.0 International",
        Licence.CC_BY_NC: "Creative Commons Attribution-NonCommercial 4.0 International",
        Licence.ALL_RIGHTS_RESERVED: "All rights reserved",
    }
)
_SHORT_NAMES = MappingProxyType(
    {
        Licence.CC0: "CC0 1.0",
        Licence.CC_BY: "CC BY 4.0",
        Licence.CC_BY_SA: "CC BY-SA 4.0",
        Licence.CC_BY_NC: "CC BY-NC 4.0",
        Licence.ALL_RIGHTS_RESERVED: "all rights reserved",
    }
)
_URLS = MappingProxyType(
    {
        Licence.CC0: "https://creativecommons.org/publicdomain/zero/1.0/",
        Licence.CC_BY: "https://creativecommons.org/licenses/by/4.0/",
        Licence.CC_BY_SA: "https://creativecommons.org/licenses/by-sa/4.0/",
        Licence.CC_BY_NC: "https://creativecommons.org/licenses/by-nc/4.0/",
    }
)
_ALIASES = MappingProxyType(
    {
        "cc0": Licence.CC0,
        "cc-by": Licence.CC_BY,
        "cc-by-sa": Licence.CC_BY_SA,
        "cc-by-nc": Licence.CC_BY_NC,
        "arr": Licence.ALL_RIGHTS_RESERVED,
        "all rights reserved": Licence.ALL_RIGHTS_RESERVED,
    }
)


@dataclass(frozen=True, slots=True)
class ParentTerms:
    """A parent of a remix as the licence rules see it."""

    creation_id: str
    title: str
    licence: Licence
    own: bool  # the person remixing owns this parent

    @property
    def label(self) -> str:
        return f"“{self.title}” ({self.creation_id}, {self.licence.short_name})"


@dataclass(frozen=True, slots=True)
class RemixTerms:
    """The licences a remix may carry, and the one it gets when none is asked for."""

    allowed: tuple[Licence, ...]
    default: Licence
    reason: str  # why the choice is limited, for messages; "" when it is not

    def choose(self, requested: Licence | None) -> Licence:
        """`requested` if allowed, the default if None; LicenceConflict naming the allowed ones."""
        if requested is None:
            return self.default
        if requested not in self.allowed:
            raise LicenceConflict(
                f"{self.reason} You asked for {requested}; allowed: {', '.join(self.allowed)}.",
                allowed=self.allowed,
            )
        return requested


UNRESTRICTED = RemixTerms(ALL_LICENCES, DEFAULT_LICENCE, "")


def remix_terms(parents: Sequence[ParentTerms]) -> RemixTerms:
    """What a piece made from `parents` may be licensed under; LicenceConflict if nothing may."""
    others = [parent for parent in parents if not parent.own]
    reserved = [p for p in others if p.licence is Licence.ALL_RIGHTS_RESERVED]
    if reserved:
        raise LicenceConflict(
            f"{_labels(reserved)} {'is' if len(reserved) == 1 else 'are'} all rights reserved: "
            "only the owner can remix it. Ask them to relicense it or to transfer it to you."
        )
    share_alike = [p for p in others if p.licence is Licence.CC_BY_SA]
    non_commercial = [p for p in others if p.licence is Licence.CC_BY_NC]
    if share_alike and non_commercial:
        raise LicenceConflict(
            f"{_labels(share_alike)} requires remixes to stay {Licence.CC_BY_SA} and "
            f"{_labels(non_commercial)} requires them to be {Licence.CC_BY_NC}; no licence is "
            "both, so these cannot be remixed together. Remix them separately."
        )
    if share_alike:
        return RemixTerms(
            (Licence.CC_BY_SA,),
            Licence.CC_BY_SA,
            f"A remix of {_labels(share_alike)} must be shared under {Licence.CC_BY_SA}.",
        )
    if non_commercial:
        return RemixTerms(
            (Licence.CC_BY_NC,),
            Licence.CC_BY_NC,
            f"A remix of {_labels(non_commercial)} must stay non-commercial: {Licence.CC_BY_NC}.",
        )
    return UNRESTRICTED


def _labels(parents: Sequence[ParentTerms]) -> str:
    return " and ".join(parent.label for parent in parents)
