"""The ledger: every piece, who owns it, under which licence, and its tamper-evident history.

`Ledger` (sync, for the CLI) and `AsyncLedger` (one owner thread, for the bot) share one API.
See `store.Ledger` for the methods, `errors` for what they refuse, `licences` for the remix
rules, `chain` and `verify` for the hash chain and the checks behind `tunesmith ledger verify`.
"""

from __future__ import annotations

from bot.ledger.chain import ChainHead, EventKind, Problem
from bot.ledger.errors import (
    Deleted,
    InvalidValue,
    LedgerError,
    LicenceConflict,
    NewerLedger,
    NotFound,
    NotOwner,
    TransferError,
)
from bot.ledger.licences import ALL_LICENCES, DEFAULT_LICENCE, Licence, RemixTerms, remix_terms
from bot.ledger.media import MediaStore
from bot.ledger.records import MEDIA_KINDS, Creation, Event, LikeState, Lineage, Owner, Relative
from bot.ledger.schema import LEDGER_MIGRATION_SET, ledger_migrations
from bot.ledger.store import Ledger, OnDelete, OnInsert, SweepReport
from bot.ledger.threaded import AsyncLedger
from bot.ledger.verify import VerifyReport

__all__ = [
    "ALL_LICENCES",
    "DEFAULT_LICENCE",
    "LEDGER_MIGRATION_SET",
    "MEDIA_KINDS",
    "AsyncLedger",
    "ChainHead",
    "Creation",
    "Deleted",
    "Event",
    "EventKind",
    "InvalidValue",
    "Ledger",
    "LedgerError",
    "Licence",
    "LicenceConflict",
    "LikeState",
    "Lineage",
    "MediaStore",
    "NewerLedger",
    "NotFound",
    "NotOwner",
    "OnDelete",
    "OnInsert",
    "Owner",
    "Problem",
    "Relative",
    "RemixTerms",
    "SweepReport",
    "TransferError",
    "VerifyReport",
    "ledger_migrations",
    "remix_terms",
]
