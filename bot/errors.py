"""Errors the bot side raises; every message is safe to show to the person who asked."""

from __future__ import annotations

from generators.errors import BadRequest, TunesmithError


class GeneratorUnavailable(TunesmithError):
    """The generator service could not make the piece now (busy, down, too slow or answering nonsense).

    The message is for people; the details (status, body, exception) are logged where this is raised.
    """

    def __init__(
        self, message: str = "The music generator is busy right now; try again in a minute."
    ) -> None:
        super().__init__(message)


class NotFound(TunesmithError):
    """The generator does not have what was asked for (an unknown or expired piece, or a bad kind)."""

    def __init__(
        self, message: str = "That piece is no longer on the generator; compose it again."
    ) -> None:
        super().__init__(message)


class RequestRejected(BadRequest):
    """The generator refused the request as invalid (HTTP 400); the message is the server's own.

    Still a `BadRequest`, so front ends that catch `BadRequest` treat it like a grammar error.
    """

    def __init__(
        self, message: str, *, field: str | None = None, allowed: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.field = field
        self.allowed = allowed
