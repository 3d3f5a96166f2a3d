"""Errors whose messages are safe to show to users."""

from __future__ import annotations


class TunesmithError(Exception):
    """Base of every error Tunesmith shows to a person; `str(error)` is the message."""


class BadRequest(TunesmithError, ValueError):
    """The request cannot be served as asked; the message says what would be right."""


class SoundFontMissing(TunesmithError):
    """No usable SoundFont was found; the message says where we looked and how to install one."""


class RenderError(TunesmithError):
    """Rendering, mastering or encoding failed."""
