"""Errors the ledger raises; every message is safe to show to the person who asked.

Messages name the piece ("Blue Hour" (k3j9x2ab)) and say what would be right, so a front end can
reply with `str(error)` as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from generators.errors import BadRequest, TunesmithError


class LedgerError(TunesmithError):
    """Base of everything the ledger refuses or cannot find."""


class NotFound(LedgerError):
    """No piece (or stored file) with that id."""


class Deleted(NotFound):
    """The piece was deleted by its owner: its history stays, but it can no longer be used."""


class NotOwner(LedgerError):
    """Someone other than the owner tried something only the owner may do."""


class LicenceConflict(LedgerError):
    """The licence asked for (or a remix at all) is not allowed by the parents' licences.

    `allowed` lists the licence ids that would be accepted (empty when no remix is possible).
    """

    def __init__(self, message: str, *, allowed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.allowed = tuple(allowed)


class TransferError(LedgerError):
    """A transfer step that does not fit the pending offer (none, someone else's, to oneself)."""


class InvalidValue(LedgerError, BadRequest):
    """A value the ledger cannot store as given (empty title, unknown licence, bad id…)."""


class NewerLedger(LedgerError):
    """The ledger was migrated by a newer Tunesmith than this one (a downgrade)."""
