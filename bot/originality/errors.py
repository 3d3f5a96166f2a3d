"""Errors of the originality check; every message is safe to show and says how to fix it."""

from __future__ import annotations

from generators.errors import TunesmithError


class OriginalityError(TunesmithError):
    """Something the originality check needs is missing or unusable."""


class ReferenceIndexError(OriginalityError):
    """The reference melody index is missing, stale or unreadable, or cannot be built here."""
