"""Errors of the provenance area; every message is safe to show to the person who asked."""

from __future__ import annotations

from generators.errors import TunesmithError


class ProvenanceError(TunesmithError):
    """Writing credits, signing or reading a provenance manifest failed; the message says where."""


class CredentialsError(ProvenanceError):
    """The signing key and certificates are missing, damaged or do not belong together.

    The message names the folder and says how to recover (restore it, or move it away to start
    a new identity whose earlier files then read as signed by someone else).
    """
