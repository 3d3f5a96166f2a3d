"""Typed HTTP client of the generator service (`/v1`), the one code path for embedded and remote.

The bot builds one `aiohttp.ClientSession` in `main` and hands it to `GeneratorClient`; the client
never opens a session of its own. Failures come out as `bot.errors` / `generators.errors` exceptions
whose messages are safe to show to users; the technical details go to the log.

Retry policy: a request is tried at most `retries + 1` times. Retried: connection failures
(refused, reset, dropped, connect timeout, a body cut short) and HTTP 429/502/503. The wait before
retry *n* (0-based) is exponential with jitter, `d = min(max_backoff_s, backoff_base_s * 2**n)`, a
random value in `[d/2, d]`; when the answer carries `Retry-After` the wait is at least that many
seconds. A `Retry-After` longer than `max_backoff_s` is not waited out: the client gives up at once,
so a user is never kept waiting longer than the cap per attempt. Not retried: read/total timeouts
(the time budget is already spent), 504 (the service's own job limit; the same job would time out
again), 4xx and other statuses.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from yarl import URL

from bot.errors import GeneratorUnavailable, NotFound, RequestRejected
from generators.catalog import NOTE_NAMES
from generators.remix import RemixChanges
from generators.request import CompositionRequest
from generators.score import Score

log = logging.getLogger(__name__)

MAX_SEED = 2**31 - 1
MAX_TEXT_CHARS = 500
ARTIFACT_KINDS = ("mp3", "midi", "png", "score")

RETRYABLE_STATUSES = frozenset({429, 502, 503})
# 4xx answers that mean "your input was wrong" and carry the service's JSON error body.
REJECTED_STATUSES = frozenset({400, 413, 415, 422})

BUSY = "The music generator is busy right now; try again in a minute."
UNREACHABLE = "The music generator can't be reached right now; try again in a minute."
TOO_SLOW = "The music generator took too long to make that piece; try a shorter one or again later."
BROKEN = "The music generator had a problem making that piece; try again later."


@dataclass(frozen=True, slots=True)
class RetryNotice:
    """A request about to be tried again: which attempt failed, and how long until the next."""

    failed_attempt: int  # 1-based
    attempts: int
    wait_s: float
    busy: bool  # the service answered "busy" (429/502/503); False: it could not be reached

    def describe(self) -> str:
        """A sentence for the person waiting."""
        what = "is busy" if self.busy else "didn't answer"
        when = f"in {self.wait_s:.0f} s" if self.wait_s >= 1.5 else "in a moment"
        return (
            f"The music generator {what}; trying again {when} "
            f"(attempt {self.failed_attempt + 1} of {self.attempts})."
        )


RetryListener = Callable[[RetryNotice], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class GeneratedPiece:
    """A piece the service made: its 201 answer to `POST /v1/pieces`."""

    id: str
    title: str
    genre: str
    variant: str | None
    mood: str | None
    key: str  # "D minor"
    tempo_bpm: float
    duration_s: float
    seed: int
    quality: Mapping[str, Any] = field(default_factory=dict)
    sha256: Mapping[str, str] = field(default_factory=dict)  # kind -> hex digest
    artifacts: Mapping[str, str] = field(default_factory=dict)  # kind -> URL, usually relative
    timings: Mapping[str, float] = field(default_factory=dict)  # stage -> seconds
    fingerprint: str | None = None  # Chromaprint of the audio, compressed base64

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> GeneratedPiece:
        """Parse the service's JSON; a missing or mistyped field raises `ValueError`."""
        try:
            return cls(
                id=_typed(body, "id", str),
                title=_typed(body, "title", str),
                genre=_typed(body, "genre", str),
                variant=_optional_str(body, "variant"),
                mood=_optional_str(body, "mood"),
                key=_typed(body, "key", str),
                tempo_bpm=float(_typed(body, "tempo_bpm", (int, float))),
                duration_s=float(_typed(body, "duration_s", (int, float))),
                seed=_typed(body, "seed", int),
                quality=dict(_typed(body, "quality", dict)),
                sha256={str(k): str(v) for k, v in _typed(body, "sha256", dict).items()},
                artifacts={str(k): str(v) for k, v in _typed(body, "artifacts", dict).items()},
                timings={str(k): float(v) for k, v in _typed(body, "timings", dict).items()},
                fingerprint=_optional_str(body, "fingerprint"),
            )
        except (TypeError, AttributeError) as error:
            raise ValueError(f"malformed piece: {error}") from error


@dataclass(frozen=True, slots=True)
class ImportedMidi:
    """An uploaded MIDI file as the service read it: its Score and a summary to show."""

    score: Score
    summary: Mapping[str, Any]


def _typed(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(name)
    # bool is an int in Python but never a valid number here.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"field {name!r} should be {kind}, got {value!r}")
    return value


def _optional_str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"field {name!r} should be a string or null, got {value!r}")
    return value


def request_body(request: CompositionRequest, seed: int | None) -> dict[str, Any]:
    """The JSON body of `POST /v1/pieces` for our `CompositionRequest`."""
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise RequestRejected(f"seed must be between 0 and {MAX_SEED}, got {seed}", field="seed")
    return {
        "genre": request.genre,
        "duration_s": request.duration_s,
        "mood": request.mood,
        "key": None if request.tonic is None else NOTE_NAMES[request.tonic],
        "mode": request.mode,
        "tempo_bpm": request.tempo_bpm,
        "instruments": list(request.instruments),
        "without": list(request.without),
        "variant": request.variant,
        "seed": seed,
        # Only used for tags; the service caps it, so a long message is trimmed rather than refused.
        "text": request.text[:MAX_TEXT_CHARS],
    }


def retry_after_s(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: Mapping[str, str]  # case-insensitive: the response's own CIMultiDictProxy
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class GeneratorClient:
    """The generator service over HTTP, with explicit timeouts and bounded, polite retries."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        timeout: aiohttp.ClientTimeout,
        retries: int,
        backoff_base_s: float = 0.5,
        max_backoff_s: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        url = URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(
                f"generator URL must be http(s)://host[:port][/path], got {base_url!r}"
            )
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        if backoff_base_s < 0 or max_backoff_s < 0:
            raise ValueError(
                f"back-off times must be 0 s or more, got {backoff_base_s} s and {max_backoff_s} s"
            )
        self._session = session
        # A trailing slash makes relative paths resolve under any prefix (".../generator/v1/...").
        self._base = url if url.path.endswith("/") else url.with_path(url.path + "/")
        self._timeout = timeout
        self._retries = retries
        self._backoff_base_s = backoff_base_s
        self._max_backoff_s = max_backoff_s
        self._rng = rng or random.Random()

    @property
    def base_url(self) -> str:
        return str(self._base)

    async def health(self) -> dict[str, Any]:
        """`/healthz` as reported: `{"status": "ok", ...}` when ready, `"starting"`/`"degraded"` else.

        Not retried; a 503 with the service's JSON is an answer, not an error.
        """
        answer = await self._send("GET", self._base.join(URL("healthz")), attempts=1)
        if answer.status in (200, 503):
            body = _json_object(answer)
            if body is not None:
                return body
        raise self._unexpected("health", answer)

    async def catalog(self) -> dict[str, Any]:
        """`/v1/catalog`: genres, moods, modes, keys, instruments and the allowed ranges."""
        answer = await self._request("GET", "v1/catalog")
        if answer.status == 200:
            body = _json_object(answer)
            if body is not None:
                return body
        raise self._failure("catalog", answer)

    async def compose(
        self,
        request: CompositionRequest,
        seed: int | None,
        *,
        on_retry: RetryListener | None = None,
    ) -> GeneratedPiece:
        """Ask the service to make a piece; returns its metadata (artifacts via `artifact`).

        `on_retry(notice)` is awaited before each wait-and-retry, so a front end can tell the
        person what is happening ("the generator is busy, trying again in 2 s").
        """
        answer = await self._send(
            "POST",
            self._base.join(URL("v1/pieces")),
            json_body=request_body(request, seed),
            on_retry=on_retry,
        )
        if answer.status in (200, 201):
            body = _json_object(answer)
            if body is not None:
                try:
                    return GeneratedPiece.from_json(body)
                except ValueError:
                    log.exception("generator answered compose with a malformed piece: %r", body)
                    raise GeneratorUnavailable(BROKEN) from None
        raise self._failure("compose", answer)

    async def remix(
        self,
        source_json: str,
        changes: RemixChanges,
        seed: int | None,
        *,
        on_retry: RetryListener | None = None,
    ) -> GeneratedPiece:
        """Ask the service to remix a stored piece's Score (its JSON, as the ledger keeps it);
        returns the new piece's metadata."""
        if seed is not None and not 0 <= seed <= MAX_SEED:
            raise RequestRejected(
                f"seed must be between 0 and {MAX_SEED}, got {seed}", field="seed"
            )
        wanted = {**changes.to_dict(), "text": changes.text[:MAX_TEXT_CHARS]}
        # The stored JSON goes as it is: a long piece's Score is megabytes, and parsing it to
        # serialise it again would hold the event loop for tens of milliseconds.
        body = (
            f'{{"source":{source_json},"changes":{json.dumps(wanted)},"seed":{json.dumps(seed)}}}'
        ).encode()
        answer = await self._send(
            "POST",
            self._base.join(URL("v1/remixes")),
            data=body,
            headers={"Content-Type": "application/json"},
            on_retry=on_retry,
        )
        if answer.status in (200, 201):
            body_json = _json_object(answer)
            if body_json is not None:
                try:
                    return GeneratedPiece.from_json(body_json)
                except ValueError:
                    log.exception("generator answered remix with a malformed piece: %r", body_json)
                    raise GeneratorUnavailable(BROKEN) from None
        raise self._failure("remix", answer)

    async def import_midi(self, data: bytes, title: str) -> ImportedMidi:
        """Have the service read an uploaded MIDI file (in its sandbox) into a Score.

        A file it can't read is a `RequestRejected` whose message says why."""
        url = self._base.join(URL("v1/imports")).with_query(title=title[:100])
        answer = await self._send("POST", url, data=data, headers={"Content-Type": "audio/midi"})
        if answer.status == 200:
            body = _json_object(answer)
            if body is not None:
                try:
                    score = Score.from_dict(body["score"])
                    summary = dict(_typed(body, "summary", dict))
                except (ValueError, KeyError, TypeError):
                    log.exception("generator answered an import with a malformed score")
                    raise GeneratorUnavailable(BROKEN) from None
                return ImportedMidi(score, summary)
        raise self._failure("import", answer)

    async def artifact(self, piece: GeneratedPiece, kind: str, *, verify: bool = True) -> bytes:
        """Download one of a piece's files (`mp3`, `midi`, `png`, `score`).

        With `verify`, the bytes must match the piece's `sha256` for that kind when it has one.
        """
        href = piece.artifacts.get(kind)
        if href is None:
            have = ", ".join(sorted(piece.artifacts)) or "none"
            raise RequestRejected(
                f"a piece has no {kind!r} file; available: {have}",
                field="kind",
                allowed=tuple(sorted(piece.artifacts)),
            )
        answer = await self._send("GET", self._base.join(URL(href)))
        if answer.status != 200:
            raise self._failure(f"artifact {kind} of {piece.id}", answer)
        expected = piece.sha256.get(kind)
        if verify and expected is not None:
            actual = hashlib.sha256(answer.body).hexdigest()
            if actual != expected.lower():
                log.error(
                    "artifact %s of piece %s: sha256 %s, metadata says %s (%d bytes)",
                    kind,
                    piece.id,
                    actual,
                    expected,
                    len(answer.body),
                )
                raise GeneratorUnavailable(
                    "The file from the music generator arrived damaged; try again."
                )
        return answer.body

    # -- transport -------------------------------------------------------------------------------

    async def _request(
        self, method: str, path: str, *, json_body: Mapping[str, Any] | None = None
    ) -> _Answer:
        return await self._send(method, self._base.join(URL(path)), json_body=json_body)

    async def _send(
        self,
        method: str,
        url: URL,
        *,
        json_body: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        attempts: int | None = None,
        on_retry: RetryListener | None = None,
    ) -> _Answer:
        """One logical request: up to `retries + 1` attempts; returns the last HTTP answer."""
        attempts = self._retries + 1 if attempts is None else attempts
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                async with self._session.request(
                    method, url, json=json_body, data=data, headers=headers, timeout=self._timeout
                ) as response:
                    answer = _Answer(response.status, response.headers, await response.read())
            except aiohttp.ConnectionTimeoutError as error:
                # Nothing was sent yet, so trying again costs the server nothing.
                failure: BaseException = error
                asked: float | None = None
            except TimeoutError as error:
                # The request went out and the budget is spent; retrying would double the wait.
                log.warning("%s %s timed out after %s: %r", method, url, self._timeout, error)
                raise GeneratorUnavailable(TOO_SLOW) from error
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
                # Refused, reset, dropped mid-answer or a body cut short: worth another try.
                failure, asked = error, None
            except aiohttp.ClientError as error:
                log.error("%s %s failed: %r", method, url, error)
                raise GeneratorUnavailable(BROKEN) from error
            else:
                if answer.status not in RETRYABLE_STATUSES or last:
                    return answer
                asked = retry_after_s(answer.headers.get("Retry-After"))
                failure = RuntimeError(f"HTTP {answer.status}: {answer.body[:200]!r}")
                if asked is not None and asked > self._max_backoff_s:
                    log.warning(
                        "%s %s: HTTP %d asks to retry after %.1f s, over the %.1f s cap; giving up",
                        method,
                        url,
                        answer.status,
                        asked,
                        self._max_backoff_s,
                    )
                    return answer
            if last:
                log.warning("%s %s failed after %d attempt(s): %r", method, url, attempts, failure)
                raise GeneratorUnavailable(UNREACHABLE) from failure
            wait = self._backoff(attempt, asked)
            if on_retry is not None:
                busy = isinstance(failure, RuntimeError)  # an HTTP answer, not a lost connection
                await on_retry(RetryNotice(attempt + 1, attempts, wait, busy))
            log.info(
                "%s %s attempt %d/%d failed (%s); retrying in %.2f s",
                method,
                url,
                attempt + 1,
                attempts,
                failure,
                wait,
            )
            await asyncio.sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Equal-jitter exponential back-off, never shorter than the server's `Retry-After`."""
        ceiling = min(self._max_backoff_s, self._backoff_base_s * 2**attempt)
        wait = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            wait = max(wait, retry_after)  # callers give up before a Retry-After over the cap
        return min(wait, self._max_backoff_s)

    # -- error mapping ---------------------------------------------------------------------------

    def _failure(self, what: str, answer: _Answer) -> Exception:
        """Map a non-success answer to the exception users see."""
        error = _error_object(answer)
        if answer.status in REJECTED_STATUSES:
            message = error.get("message") if error else None
            if not isinstance(message, str) or not message:
                log.warning(
                    "%s: HTTP %d without an error message: %r",
                    what,
                    answer.status,
                    answer.body[:500],
                )
                message = "The music generator could not use that request."
            field_name = error.get("field") if error else None
            allowed = error.get("allowed") if error else None
            return RequestRejected(
                message,
                field=field_name if isinstance(field_name, str) else None,
                allowed=tuple(str(a) for a in allowed) if isinstance(allowed, list) else (),
            )
        if answer.status == 404:
            log.info("%s: not found: %r", what, answer.body[:500])
            return NotFound()
        if answer.status == 504:
            log.warning("%s: HTTP 504: %r", what, answer.body[:500])
            return GeneratorUnavailable(TOO_SLOW)
        if answer.status in RETRYABLE_STATUSES:
            log.warning("%s: HTTP %d after retries: %r", what, answer.status, answer.body[:500])
            return GeneratorUnavailable(BUSY)
        return self._unexpected(what, answer)

    def _unexpected(self, what: str, answer: _Answer) -> GeneratorUnavailable:
        log.error(
            "%s: unexpected HTTP %d from %s: headers %r body %r",
            what,
            answer.status,
            self._base,
            answer.headers,
            answer.body[:1000],
        )
        return GeneratorUnavailable(BROKEN)


def _json_object(answer: _Answer) -> dict[str, Any] | None:
    try:
        body = answer.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _error_object(answer: _Answer) -> dict[str, Any] | None:
    body = _json_object(answer)
    error = body.get("error") if body else None
    return error if isinstance(error, dict) else None
