"""The fake REST API (/api/v10/...) and the attachment "CDN", answered as Discord answers them.

Every response is JSON with ``Content-Type: application/json`` exactly (discord.py compares the
header to that string), carries the rate-limit headers discord.py reads, and is recorded. Routes
the fake does not know get Discord's 404 body and land in ``unknown_routes``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, hdrs, web
from yarl import URL

from bot.fake_discord.gateway import Gateway
from bot.fake_discord.model import (
    EPHEMERAL,
    ChannelKind,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeUser,
    RequestRecord,
)
from bot.fake_discord.world import (
    DIRECT_MESSAGES,
    GUILD_MESSAGES,
    GUILDS,
    ApiError,
    Upload,
    World,
    field_error,
    invalid_form,
)

API_PREFIX = "/api/v10"
_FILE_FIELD = re.compile(r"files\[(\d+)\]")
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Which callback types Discord accepts for each interaction type.
_CALLBACKS_ALLOWED = {2: {4, 5, 9, 12}, 3: {4, 5, 6, 7, 9, 12}, 4: {8}, 5: {4, 5, 6, 7, 12}}


@dataclass
class Injection:
    """A planned failure: the next ``count`` matching requests get it instead of an answer."""

    method: str  # upper case, or "*"
    path: re.Pattern[str]
    count: int
    status: int
    body: dict[str, Any]
    retry_after: float | None = None  # 429s only
    is_global: bool = False

    def matches(self, method: str, path: str) -> bool:
        return self.count > 0 and self.method in ("*", method) and bool(self.path.search(path))


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # Not web.json_response: it sends "application/json; charset=utf-8", which discord.py's
    # json_or_text() does not recognise, and it would then hand the bot a str.
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={hdrs.CONTENT_TYPE: "application/json", **(headers or {})},
    )


def no_content() -> web.Response:
    return web.Response(status=204)


async def read_body(request: web.Request) -> tuple[dict[str, Any], list[Upload]]:
    """The JSON payload and the ``files[n]`` parts of a JSON or multipart/form-data request."""
    if request.content_type == "multipart/form-data":
        payload: dict[str, Any] = {}
        uploads: list[Upload] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise ApiError(400, 50035, "Invalid Form Body")
            name = part.name or ""
            if name == "payload_json":
                payload = _parse_json(await part.text())
                continue
            match = _FILE_FIELD.fullmatch(name)
            if match is None:
                continue
            data = await part.read(decode=False)
            uploads.append(
                Upload(
                    index=int(match.group(1)),
                    filename=part.filename or "file",
                    content_type=part.headers.get(hdrs.CONTENT_TYPE, "application/octet-stream"),
                    data=bytes(data),
                )
            )
        return payload, uploads
    raw = await request.text()
    if not raw:
        return {}, []
    return _parse_json(raw), []


def _parse_json(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
    if not isinstance(value, dict):
        raise ApiError(400, 50109, "The request body contains invalid JSON.")
    return value


def _int(value: str, error: ApiError) -> int:
    try:
        return int(value)
    except ValueError:
        raise error from None


class RestApi:
    """The REST routes of the fake, registered on an aiohttp application."""

    def __init__(
        self, world: World, gateway: Gateway, *, advertised_gateway: str | None = None
    ) -> None:
        self.world = world
        self.gateway = gateway
        self.advertised_gateway = advertised_gateway
        self.injections: list[Injection] = []

    # -- wiring --------------------------------------------------------------------------------

    def install(self, app: web.Application) -> None:
        routes: list[tuple[str, str, _Handler]] = [
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway_bot),
            ("GET", "/users/{user_id}", self.get_user),
            ("POST", "/users/@me/channels", self.create_dm),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/{app}/commands", self.get_commands),
            ("PUT", "/applications/{app}/commands", self.put_commands),
            ("GET", "/applications/{app}/guilds/{guild_id}/commands", self.get_commands),
            ("PUT", "/applications/{app}/guilds/{guild_id}/commands", self.put_commands),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self.interaction_callback),
            ("POST", "/webhooks/{app}/{token}", self.webhook_execute),
            ("GET", "/webhooks/{app}/{token}/messages/{message_id}", self.webhook_get),
            ("PATCH", "/webhooks/{app}/{token}/messages/{message_id}", self.webhook_edit),
            ("DELETE", "/webhooks/{app}/{token}/messages/{message_id}", self.webhook_delete),
            ("GET", "/channels/{channel_id}", self.get_channel),
            ("GET", "/channels/{channel_id}/messages", self.list_messages),
            ("POST", "/channels/{channel_id}/messages", self.create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                self.thread_from_message,
            ),
            ("POST", "/channels/{channel_id}/threads", self.thread_without_message),
            ("POST", "/channels/{channel_id}/typing", self.typing),
            (
                "PUT",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self.add_reaction,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                self.remove_reaction,
            ),
            ("GET", "/guilds/{guild_id}", self.get_guild),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self.cdn)
        app.middlewares.append(self.middleware)

    @web.middleware
    async def middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        path = request.path[len(API_PREFIX) :]
        method = request.method
        bucket = _bucket(request)
        response: web.StreamResponse | None = self._injected(method, path, bucket)
        if response is None:
            response = await self._answer(request, handler, method, path, bucket)
        record = RequestRecord(time.monotonic(), method, path, response.status)
        self.world.requests.append(record)
        if bucket is None and response.status == 404:
            self.world.unknown_routes.append(record)
        self.world.touch()
        return response

    async def _answer(
        self,
        request: web.Request,
        handler: _Handler,
        method: str,
        path: str,
        bucket: str | None,
    ) -> web.StreamResponse:
        if bucket is None:
            return json_response({"message": "404: Not Found", "code": 0}, status=404)
        if _needs_auth(method, path) and (
            request.headers.get(hdrs.AUTHORIZATION) != f"Bot {self.world.token}"
        ):
            return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        try:
            response = await handler(request)
        except ApiError as error:
            response = json_response(error.body(), status=error.status)
        except web.HTTPException:
            raise
        response.headers.update(_rate_limit_headers(bucket))
        return response

    def _injected(self, method: str, path: str, bucket: str | None) -> web.Response | None:
        for injection in self.injections:
            if not injection.matches(method, path):
                continue
            injection.count -= 1
            if injection.retry_after is None:
                return json_response(injection.body, status=injection.status)
            retry_after = injection.retry_after
            headers = {
                "Retry-After": str(math.ceil(retry_after)),
                "X-RateLimit-Scope": "global" if injection.is_global else "user",
                # discord.py treats a 429 without Via as a Cloudflare ban and gives up.
                "Via": "1.1 google",
            }
            if injection.is_global:
                headers["X-RateLimit-Global"] = "true"
            else:
                headers.update(
                    {
                        "X-RateLimit-Limit": "5",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                        "X-RateLimit-Bucket": bucket or "unknown",
                    }
                )
            return json_response(injection.body, status=429, headers=headers)
        return None

    # -- lookups -------------------------------------------------------------------------------

    def _channel(self, request: web.Request) -> FakeChannel:
        unknown = ApiError(404, 10003, "Unknown Channel")
        channel = self.world.channels.get(_int(request.match_info["channel_id"], unknown))
        if channel is None:
            raise unknown
        return channel

    def _guild(self, request: web.Request) -> FakeGuild:
        unknown = ApiError(404, 10004, "Unknown Guild")
        guild = self.world.guilds.get(_int(request.match_info["guild_id"], unknown))
        if guild is None:
            raise unknown
        return guild

    def _message(self, request: web.Request, channel: FakeChannel) -> FakeMessage:
        unknown = ApiError(404, 10008, "Unknown Message")
        return self.world.find_message(channel, _int(request.match_info["message_id"], unknown))

    def _check_application(self, request: web.Request) -> None:
        if request.match_info["app"] != str(self.world.application_id):
            raise ApiError(403, 50001, "Missing Access")

    # -- gateway, users, application -----------------------------------------------------------

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.advertised_gateway or self.gateway.url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.advertised_gateway or self.gateway.url,
                "shards": self.gateway.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - self.gateway.identifies,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def get_user(self, request: web.Request) -> web.Response:
        raw = request.match_info["user_id"]
        if raw == "@me":
            return json_response(self.world.me_payload())
        unknown = ApiError(404, 10013, "Unknown User")
        user = self.world.users.get(_int(raw, unknown))
        if user is None:
            raise unknown
        return json_response(self.world.user_payload(user))

    async def create_dm(self, request: web.Request) -> web.Response:
        body, _ = await read_body(request)
        unknown = ApiError(404, 10013, "Unknown User")
        user = self.world.users.get(_int(str(body.get("recipient_id")), unknown))
        if user is None:
            raise unknown
        if user.bot:
            raise ApiError(400, 50007, "Cannot send messages to this user")
        return json_response(self.world.channel_payload(self.world.dm_channel(user)))

    async def get_application(self, request: web.Request) -> web.Response:
        return json_response(self.world.application_payload())

    async def get_commands(self, request: web.Request) -> web.Response:
        self._check_application(request)
        if "guild_id" in request.match_info:
            guild = self._guild(request)
            return json_response(list(self.world.guild_commands.get(guild.id, {}).values()))
        return json_response(list(self.world.global_commands.values()))

    async def put_commands(self, request: web.Request) -> web.Response:
        self._check_application(request)
        guild = self._guild(request) if "guild_id" in request.match_info else None
        raw = await request.text()
        try:
            commands = json.loads(raw or "[]")
        except ValueError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None
        return json_response(self.world.store_commands(commands, guild))

    # -- interactions --------------------------------------------------------------------------

    async def interaction_callback(self, request: web.Request) -> web.Response:
        unknown = ApiError(404, 10062, "Unknown interaction")
        interaction = self.world.interactions_by_id.get(
            _int(request.match_info["interaction_id"], unknown)
        )
        if interaction is None or interaction.token != request.match_info["token"]:
            raise unknown
        if interaction.callback is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        deadline = self.world.interaction_deadline
        sent_at = interaction.sent_at
        if deadline is not None and sent_at is not None and time.monotonic() - sent_at > deadline:
            raise unknown
        body, uploads = await read_body(request)
        kind = body.get("type")
        if kind not in _CALLBACKS_ALLOWED.get(interaction.type, set()) or (
            kind in (6, 7) and interaction.message is None
        ):
            raise invalid_form(
                {
                    "type": field_error(
                        "INTERACTION_CALLBACK_TYPE_INVALID",
                        f"Callback type {kind} is not valid for interaction type {interaction.type}",
                    )
                }
            )
        data = body.get("data") or {}
        resource: dict[str, Any] = {"type": kind}
        if kind == 4:
            message = self.world.create_message(
                interaction.channel,
                self.world.bot_user,
                data,
                uploads,
                interaction=interaction,
                message_type=20 if interaction.type == 2 else 0,
            )
            interaction.original_message = message
            await self._announce("MESSAGE_CREATE", message)
        elif kind == 5:
            message = self.world.create_message(
                interaction.channel,
                self.world.bot_user,
                {"flags": int(data.get("flags") or 0) & EPHEMERAL},
                interaction=interaction,
                message_type=20 if interaction.type == 2 else 0,
                loading=True,
            )
            interaction.original_message = message
            await self._announce("MESSAGE_CREATE", message)
        elif kind == 6:
            interaction.original_message = interaction.message
        elif kind == 7:
            assert interaction.message is not None
            self.world.edit_message(interaction.message, data, uploads)
            interaction.original_message = interaction.message
            await self._announce("MESSAGE_UPDATE", interaction.message)
        elif kind == 8:
            _check_choices(data)
        elif kind == 9:
            _check_modal(data)
        interaction.callback = body
        interaction.responded_at = time.monotonic()
        if interaction.original_message is not None and kind in (4, 5, 7):
            resource["message"] = self.world.message_payload(interaction.original_message)
        self.world.touch()
        if request.query.get("with_response", "").lower() not in ("1", "true"):
            return no_content()
        original = interaction.original_message
        summary: dict[str, Any] = {"id": str(interaction.id), "type": interaction.type}
        if original is not None and kind in (4, 5, 7):
            summary.update(
                response_message_id=str(original.id),
                response_message_loading=kind == 5,
                response_message_ephemeral=original.ephemeral,
            )
        return json_response({"interaction": summary, "resource": resource})

    def _interaction(self, request: web.Request) -> FakeInteraction:
        unknown = ApiError(404, 10015, "Unknown Webhook")
        application_id = _int(request.match_info["app"], unknown)
        interaction = self.world.interaction_by_token(application_id, request.match_info["token"])
        if interaction.callback is None:
            # Follow-ups and @original only exist once the interaction was acknowledged.
            raise unknown
        return interaction

    def _webhook_message(self, request: web.Request, interaction: FakeInteraction) -> FakeMessage:
        raw = request.match_info["message_id"]
        candidates = [interaction.original_message, *interaction.followups]
        for message in candidates:
            if message is None or message.deleted:
                continue
            if raw == "@original" and message is interaction.original_message:
                return message
            if raw == str(message.id):
                return message
        raise ApiError(404, 10008, "Unknown Message")

    async def webhook_execute(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        body, uploads = await read_body(request)
        original = interaction.original_message
        if (
            interaction.callback_type == 5
            and original is not None
            and original.loading
            and not original.deleted
        ):
            # Discord turns the first follow-up after a "thinking" defer into the deferred
            # message itself, which keeps the defer's ephemerality.
            self.world.edit_message(original, body, uploads)
            message = original
            await self._announce("MESSAGE_UPDATE", message)
        else:
            message = self.world.create_message(
                interaction.channel,
                self.world.bot_user,
                body,
                uploads,
                interaction=interaction,
            )
            await self._announce("MESSAGE_CREATE", message)
        interaction.followups.append(message)
        self.world.touch()
        if request.query.get("wait", "").lower() in ("1", "true"):
            return json_response(self.world.message_payload(message))
        return no_content()

    async def webhook_get(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        return json_response(
            self.world.message_payload(self._webhook_message(request, interaction))
        )

    async def webhook_edit(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        message = self._webhook_message(request, interaction)
        body, uploads = await read_body(request)
        self.world.edit_message(message, body, uploads)
        if request.match_info["message_id"] == "@original":
            interaction.edits.append((time.monotonic(), body))
        await self._announce("MESSAGE_UPDATE", message)
        self.world.touch()
        return json_response(self.world.message_payload(message))

    async def webhook_delete(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        message = self._webhook_message(request, interaction)
        await self._delete(message)
        return no_content()

    # -- channels and messages -----------------------------------------------------------------

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(self.world.channel_payload(self._channel(request)))

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        bad = invalid_form({"limit": field_error("NUMBER_TYPE_COERCE", "Value is not int.")})
        limit = min(max(_int(request.query.get("limit", "50"), bad), 1), 100)
        messages = [m for m in channel.messages if not m.deleted]
        if "before" in request.query:
            before = _int(request.query["before"], bad)
            messages = [m for m in messages if m.id < before]
        if "after" in request.query:
            after = _int(request.query["after"], bad)
            messages = [m for m in messages if m.id > after][:limit]
        newest_first = sorted(messages, key=lambda m: m.id, reverse=True)[:limit]
        return json_response([self.world.message_payload(m) for m in newest_first])

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body, uploads = await read_body(request)
        message = self.world.create_message(channel, self.world.bot_user, body, uploads)
        await self._announce("MESSAGE_CREATE", message)
        return json_response(self.world.message_payload(message))

    async def get_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        return json_response(self.world.message_payload(self._message(request, channel)))

    async def edit_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        message = self._message(request, channel)
        if message.author_id != self.world.bot_user.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body, uploads = await read_body(request)
        self.world.edit_message(message, body, uploads)
        await self._announce("MESSAGE_UPDATE", message)
        return json_response(self.world.message_payload(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        await self._delete(self._message(request, channel))
        return no_content()

    async def _delete(self, message: FakeMessage) -> None:
        message.deleted = True
        channel = self.world.channels[message.channel_id]
        if message in channel.messages:
            channel.messages.remove(message)
        self.world.touch()
        if message.ephemeral:
            return
        guild_id = None if channel.guild is None else channel.guild.id
        data: dict[str, Any] = {"id": str(message.id), "channel_id": str(channel.id)}
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        await self.gateway.dispatch(
            "MESSAGE_DELETE",
            data,
            guild_id=guild_id,
            intent=DIRECT_MESSAGES if guild_id is None else GUILD_MESSAGES,
        )

    async def thread_from_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        starter = self._message(request, channel)
        body, _ = await read_body(request)
        thread = self.world.create_thread(
            channel,
            str(body.get("name") or ""),
            starter=starter,
            kind=ChannelKind.PUBLIC_THREAD,
            owner=self.world.bot_user,
        )
        await self._announce_thread(thread)
        return json_response(self.world.channel_payload(thread))

    async def thread_without_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body, _ = await read_body(request)
        kind = int(body.get("type") or ChannelKind.PRIVATE_THREAD)
        if kind not in (ChannelKind.PUBLIC_THREAD, ChannelKind.PRIVATE_THREAD):
            raise invalid_form(
                {"type": field_error("BASE_TYPE_CHOICES", f"Value {kind} is not a thread type.")}
            )
        thread = self.world.create_thread(
            channel,
            str(body.get("name") or ""),
            starter=None,
            kind=ChannelKind(kind),
            owner=self.world.bot_user,
        )
        await self._announce_thread(thread)
        return json_response(self.world.channel_payload(thread))

    async def typing(self, request: web.Request) -> web.Response:
        self._channel(request)
        return no_content()

    async def add_reaction(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        message = self._message(request, channel)
        emoji = request.match_info["emoji"]
        if emoji not in message.reactions:
            message.reactions.append(emoji)
        self.world.touch()
        return no_content()

    async def remove_reaction(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        message = self._message(request, channel)
        emoji = request.match_info["emoji"]
        if emoji in message.reactions:
            message.reactions.remove(emoji)
        self.world.touch()
        return no_content()

    # -- guilds --------------------------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        payload = self.world.guild_payload(guild)
        if request.query.get("with_counts") in ("1", "true"):
            payload.update(
                approximate_member_count=len(guild.members),
                approximate_presence_count=0,
            )
        return json_response(payload)

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        unknown = ApiError(404, 10007, "Unknown Member")
        user_id = _int(request.match_info["user_id"], unknown)
        member: FakeUser | None = next((m for m in guild.members if m.id == user_id), None)
        if member is None:
            raise unknown
        return json_response(self.world.member_payload(guild, member))

    # -- the CDN -------------------------------------------------------------------------------

    async def cdn(self, request: web.Request) -> web.Response:
        """An attachment's bytes, as Discord's CDN serves them (no authorisation)."""
        attachment = None
        raw = request.match_info["attachment_id"]
        if raw.isdigit():
            attachment = self.world.attachments.get(int(raw))
        if attachment is None or URL(attachment.url).path != request.path:
            return web.Response(status=404, text="Not Found")
        return web.Response(
            body=attachment.data, headers={hdrs.CONTENT_TYPE: attachment.content_type}
        )

    # -- events --------------------------------------------------------------------------------

    async def _announce(self, event: str, message: FakeMessage) -> None:
        """MESSAGE_CREATE/UPDATE to the bot; ephemeral messages are never dispatched."""
        if message.ephemeral:
            return
        channel = self.world.channels[message.channel_id]
        guild_id = None if channel.guild is None else channel.guild.id
        world = self.world
        await self.gateway.dispatch(
            event,
            lambda intents: world.message_payload(message, gateway=True, intents=intents),
            guild_id=guild_id,
            intent=DIRECT_MESSAGES if guild_id is None else GUILD_MESSAGES,
        )

    async def _announce_thread(self, thread: FakeChannel) -> None:
        assert thread.guild is not None
        data = {
            **self.world.channel_payload(thread),
            "newly_created": True,
            "member": self.world.thread_member_payload(thread, self.world.bot_user),
        }
        await self.gateway.dispatch("THREAD_CREATE", data, guild_id=thread.guild.id, intent=GUILDS)


def _bucket(request: web.Request) -> str | None:
    """A stable X-RateLimit-Bucket per route, or None if no route matched."""
    route = request.match_info.route
    resource = route.resource
    if resource is None or isinstance(request.match_info.http_exception, web.HTTPException):
        return None
    digest = hashlib.sha1(f"{request.method} {resource.canonical}".encode()).hexdigest()
    return digest[:16]


def _needs_auth(method: str, path: str) -> bool:
    # Interaction callbacks and webhook messages are authorised by the token in their path.
    if path.startswith(("/interactions/", "/webhooks/")):
        return False
    return not (method == "GET" and path == "/gateway")


def _rate_limit_headers(bucket: str) -> dict[str, str]:
    # Generous: a fake that throttled by itself would make timings depend on it.
    return {
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": "49",
        "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
        "X-RateLimit-Reset-After": "1.000",
        "X-RateLimit-Bucket": bucket,
    }


def _check_choices(data: dict[str, Any]) -> None:
    choices = data.get("choices")
    if not isinstance(choices, list):
        raise invalid_form(
            {"data": {"choices": field_error("BASE_TYPE_REQUIRED", "This field is required")}}
        )
    if len(choices) > 25:
        raise invalid_form(
            {
                "data": {
                    "choices": field_error("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
                }
            }
        )
    for index, choice in enumerate(choices):
        name = choice.get("name")
        value = choice.get("value")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise invalid_form(
                {
                    "data": {
                        "choices": {
                            str(index): {
                                "name": field_error(
                                    "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
                                )
                            }
                        }
                    }
                }
            )
        if isinstance(value, str) and len(value) > 100:
            raise invalid_form(
                {
                    "data": {
                        "choices": {
                            str(index): {
                                "value": field_error(
                                    "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length."
                                )
                            }
                        }
                    }
                }
            )


def _check_modal(data: dict[str, Any]) -> None:
    problems: dict[str, Any] = {}
    custom_id = data.get("custom_id")
    title = data.get("title")
    components = data.get("components")
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= 100:
        problems["custom_id"] = field_error(
            "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    if not isinstance(title, str) or not 1 <= len(title) <= 45:
        problems["title"] = field_error(
            "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length."
        )
    if not isinstance(components, list) or not 1 <= len(components) <= 5:
        problems["components"] = field_error(
            "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
        )
    if problems:
        raise invalid_form({"data": problems})
