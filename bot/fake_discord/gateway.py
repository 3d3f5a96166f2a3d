"""The fake gateway: a websocket speaking Discord's gateway v10 protocol to discord.py.

HELLO, heartbeats and their ACKs, IDENTIFY → READY + GUILD_CREATE, RESUME → missed events +
RESUMED, op 7 RECONNECT, op 9 INVALID_SESSION, member chunks (op 8), voice state updates (op 4 →
VOICE_STATE_UPDATE + VOICE_SERVER_UPDATE), and zlib-stream compression when the client asks for
it (discord.py 2.7 does unless zstandard is installed; then it asks for zstd-stream, which the
fake answers with plain text frames — discord.py reads those too).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.fake_discord.voice import VoiceStateRequest
from bot.fake_discord.world import (
    GUILD_MEMBERS,
    GUILD_VOICE_STATES,
    PRIVILEGED_INTENTS,
    ApiError,
    World,
)

_log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE, VOICE_STATE = 0, 1, 2, 3, 4
CONNECT = 1 << 20  # the permission to join a voice channel
RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11
_KNOWN_OPS = {HEARTBEAT, IDENTIFY, PRESENCE, VOICE_STATE, RESUME, REQUEST_MEMBERS}

# An event's data, or a function of the receiving session's intents (message content redaction).
EventData = dict[str, Any] | Callable[[int], dict[str, Any]]


@dataclass(eq=False)
class _Connection:
    """One websocket. Frames go out one at a time: the zlib stream must stay in order."""

    ws: web.WebSocketResponse
    request: web.Request
    compressor: Any  # zlib.compressobj() when the client asked for zlib-stream
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session: _Session | None = None

    async def send(self, frame: dict[str, Any]) -> None:
        text = json.dumps(frame, separators=(",", ":"))
        async with self.lock:
            if self.ws.closed:
                raise ConnectionResetError("gateway connection closed")
            if self.compressor is not None:
                data = self.compressor.compress(text.encode()) + self.compressor.flush(
                    zlib.Z_SYNC_FLUSH
                )
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)

    def abort(self) -> None:
        transport = self.request.transport
        if transport is not None:
            transport.abort()


@dataclass(eq=False)
class _Session:
    """A gateway session: outlives its connections so a RESUME can replay what was missed."""

    id: str
    shard_id: int
    shard_count: int
    intents: int
    seq: int = 0
    # (seq, frame, called when the frame is written to a socket)
    log: list[tuple[int, dict[str, Any], Callable[[], None] | None]] = field(default_factory=list)
    connection: _Connection | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def receives(self, guild_id: int | None) -> bool:
        if guild_id is None:
            return self.shard_id == 0  # DMs arrive on shard 0
        return (guild_id >> 22) % self.shard_count == self.shard_id


class Gateway:
    """Sessions, connections and event dispatch of the fake gateway."""

    def __init__(
        self,
        world: World,
        *,
        shard_count: int,
        heartbeat_interval_ms: int,
        privileged_intents: bool,
    ) -> None:
        self.world = world
        self.shard_count = shard_count
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.privileged_intents = privileged_intents
        self.url = ""  # "ws://127.0.0.1:PORT/", set once the server listens
        self.identifies = 0
        self.resumes = 0
        self.heartbeats = 0
        self.close_codes: list[int] = []  # close codes the fake sent
        self.voice_state_requests: list[VoiceStateRequest] = []
        self._sessions: dict[str, _Session] = {}
        self._by_shard: dict[int, _Session] = {}
        self._connections: set[_Connection] = set()
        # Shards whose session is connected and past READY/RESUMED, not asked to reconnect.
        self._live: dict[int, _Connection] = {}

    @property
    def has_sessions(self) -> bool:
        return bool(self._by_shard)

    def all_live(self) -> bool:
        return len(self._live) >= self.shard_count

    # -- events --------------------------------------------------------------------------------

    async def wait_session(self, guild_id: int | None, within: float) -> None:
        """Wait until some session will receive events of ``guild_id`` (the bot identified)."""
        await self.world.wait_for(
            lambda: any(s.receives(guild_id) for s in self._by_shard.values()),
            within,
            "a gateway session (has the bot connected?)",
        )

    async def dispatch(
        self,
        event: str,
        data: EventData,
        *,
        guild_id: int | None,
        intent: int | None,
        on_sent: Callable[[], None] | None = None,
    ) -> int:
        """Send a DISPATCH to every session that should get it; returns how many did.

        A session without a connection keeps the event in its log for a RESUME to replay.
        """
        delivered = 0
        for session in list(self._by_shard.values()):
            if not session.receives(guild_id):
                continue
            if intent is not None and not session.intents & intent:
                continue
            payload = data(session.intents) if callable(data) else data
            await self._send_dispatch(session, event, payload, on_sent)
            delivered += 1
        return delivered

    async def _send_dispatch(
        self,
        session: _Session,
        event: str,
        payload: dict[str, Any],
        on_sent: Callable[[], None] | None,
    ) -> None:
        async with session.lock:
            session.seq += 1
            frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": payload}
            session.log.append((session.seq, frame, on_sent))
            connection = session.connection
            if connection is not None:
                await self._send_logged(connection, frame, on_sent)

    async def _send_logged(
        self, connection: _Connection, frame: dict[str, Any], on_sent: Callable[[], None] | None
    ) -> None:
        try:
            await connection.send(frame)
        except (ConnectionError, RuntimeError):
            # The socket died under us; the event stays in the log for the RESUME.
            self._detach(connection)
            return
        if on_sent is not None:
            on_sent()

    # -- failure injection ---------------------------------------------------------------------

    async def request_reconnect(self) -> None:
        for connection in self._live_connections():
            self._mark_not_live(connection)
            await self._send_quietly(connection, {"op": RECONNECT, "d": None, "s": None, "t": None})

    async def invalidate_session(self, *, resumable: bool) -> None:
        for connection in self._live_connections():
            self._mark_not_live(connection)
            if not resumable and connection.session is not None:
                self._forget(connection.session)
            await self._send_quietly(
                connection, {"op": INVALID_SESSION, "d": resumable, "s": None, "t": None}
            )

    async def drop_connections(self) -> None:
        for connection in list(self._connections):
            self._detach(connection)
            connection.abort()
        self.world.touch()

    async def close_all(self) -> None:
        for connection in list(self._connections):
            self._detach(connection)
            await connection.ws.close(code=1001, message=b"fake Discord shutting down")

    def _live_connections(self) -> list[_Connection]:
        return list(dict.fromkeys(self._live.values()))

    async def _send_quietly(self, connection: _Connection, frame: dict[str, Any]) -> None:
        try:
            await connection.send(frame)
        except (ConnectionError, RuntimeError):
            self._detach(connection)

    # -- the websocket -------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The gateway endpoint (GET / with ?v=10&encoding=json[&compress=zlib-stream])."""
        ws = web.WebSocketResponse(autoping=True, compress=False, max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        compressor = zlib.compressobj() if request.query.get("compress") == "zlib-stream" else None
        connection = _Connection(ws=ws, request=request, compressor=compressor)
        self._connections.add(connection)
        try:
            if request.query.get("v", "10") != "10":
                await self._close(connection, 4012, "Invalid API version")
                return ws
            if request.query.get("encoding", "json") != "json":
                await self._close(connection, 4002, "Decode error")
                return ws
            await self._send_quietly(
                connection,
                {
                    "op": HELLO,
                    "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake"]},
                    "s": None,
                    "t": None,
                },
            )
            await self._serve(connection)
        finally:
            self._detach(connection)
            self._connections.discard(connection)
        return ws

    async def _serve(self, connection: _Connection) -> None:
        async for message in connection.ws:
            if message.type is not WSMsgType.TEXT:
                if message.type is WSMsgType.BINARY:
                    await self._close(connection, 4002, "Decode error")
                return
            try:
                frame = json.loads(message.data)
                op = frame["op"]
            except (ValueError, KeyError, TypeError):
                await self._close(connection, 4002, "Decode error")
                return
            if op not in _KNOWN_OPS:
                await self._close(connection, 4001, "Unknown opcode")
                return
            if op == HEARTBEAT:
                self.heartbeats += 1
                await self._send_quietly(
                    connection, {"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None}
                )
            elif op == IDENTIFY:
                if connection.session is not None:
                    await self._close(connection, 4005, "Already authenticated")
                    return
                if not await self._identify(connection, frame.get("d") or {}):
                    return
            elif op == RESUME:
                if connection.session is not None:
                    await self._close(connection, 4005, "Already authenticated")
                    return
                await self._resume(connection, frame.get("d") or {})
            elif connection.session is None:
                await self._close(connection, 4003, "Not authenticated")
                return
            elif op == PRESENCE:
                self.world.presence = frame.get("d")
                self.world.touch()
            elif op == REQUEST_MEMBERS:
                await self._send_member_chunk(connection.session, frame.get("d") or {})
            elif op == VOICE_STATE:
                await self._voice_state(connection.session, frame.get("d") or {})

    async def _identify(self, connection: _Connection, data: dict[str, Any]) -> bool:
        if data.get("token") != self.world.token:
            await self._close(connection, 4004, "Authentication failed.")
            return False
        shard = data.get("shard") or [0, 1]
        try:
            shard_id, shard_count = int(shard[0]), int(shard[1])
        except (TypeError, ValueError, IndexError):
            await self._close(connection, 4010, "Invalid shard")
            return False
        if not 0 <= shard_id < shard_count:
            await self._close(connection, 4010, "Invalid shard")
            return False
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            await self._close(connection, 4013, "Invalid intent(s)")
            return False
        if intents & PRIVILEGED_INTENTS and not self.privileged_intents:
            await self._close(connection, 4014, "Disallowed intent(s)")
            return False
        old = self._by_shard.get(shard_id)
        if old is not None:
            self._forget(old)
        session = _Session(
            id=secrets.token_hex(16), shard_id=shard_id, shard_count=shard_count, intents=intents
        )
        self._sessions[session.id] = session
        self._by_shard[shard_id] = session
        async with session.lock:
            session.connection = connection
            connection.session = session
            guilds = [g for g in self.world.guilds.values() if session.receives(g.id)]
            ready = {
                "v": 10,
                "user": self.world.me_payload(),
                "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
                "session_id": session.id,
                "session_type": "normal",
                "resume_gateway_url": self.url,
                "shard": [shard_id, shard_count],
                "application": {"id": str(self.world.application_id), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
                "user_settings": {},
                "_trace": ["fake"],
            }
            frames = [("READY", ready)] + [
                ("GUILD_CREATE", self.world.guild_create_payload(g, intents)) for g in guilds
            ]
            for event, payload in frames:
                session.seq += 1
                frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": payload}
                session.log.append((session.seq, frame, None))
                await self._send_logged(connection, frame, None)
        self.identifies += 1
        if session.connection is connection:
            self._live[shard_id] = connection
        self.world.touch()
        return True

    async def _resume(self, connection: _Connection, data: dict[str, Any]) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.world.token:
            # Discord answers an unknown session with op 9 (not resumable), then the client
            # closes and identifies afresh.
            await self._send_quietly(
                connection, {"op": INVALID_SESSION, "d": False, "s": None, "t": None}
            )
            return
        last_seen = int(data.get("seq") or 0)
        async with session.lock:
            previous = session.connection
            session.connection = connection
            connection.session = session
            if previous is not None and previous is not connection:
                previous.session = None
                previous.abort()
            for seq, frame, on_sent in session.log:
                if seq > last_seen:
                    await self._send_logged(connection, frame, on_sent)
            session.seq += 1
            frame = {"op": DISPATCH, "t": "RESUMED", "s": session.seq, "d": {"_trace": ["fake"]}}
            session.log.append((session.seq, frame, None))
            await self._send_logged(connection, frame, None)
        self.resumes += 1
        if session.connection is connection:
            self._live[session.shard_id] = connection
        self.world.touch()

    async def _voice_state(self, session: _Session, data: dict[str, Any]) -> None:
        """Op 4: the bot joins, moves or leaves voice; answered as Discord does with
        VOICE_STATE_UPDATE, and when joining VOICE_SERVER_UPDATE naming the voice server."""
        world = self.world
        try:
            guild = world.guilds[int(data["guild_id"])]
            channel_id = None if data.get("channel_id") is None else int(data["channel_id"])
        except (KeyError, TypeError, ValueError):
            return  # Discord ignores voice state updates for guilds it does not know
        self_mute, self_deaf = bool(data.get("self_mute")), bool(data.get("self_deaf"))
        self.voice_state_requests.append(
            VoiceStateRequest(time.monotonic(), guild.id, channel_id, self_mute, self_deaf)
        )
        channel = None if channel_id is None else world.channels.get(channel_id)
        if channel_id is not None and (channel is None or channel.guild is not guild):
            return
        if channel is not None and not (
            world.permissions_of(guild, world.bot_user, channel) & CONNECT
        ):
            return  # no Connect permission there: Discord ignores the request and so do we
        before = world.voice_states.get((guild.id, world.bot_user.id))
        moving = before is not None and channel is not None and before.channel_id != channel.id
        try:
            state = world.set_voice_state(
                guild,
                world.bot_user,
                channel,
                session_id=session.id,
                self_mute=self_mute,
                self_deaf=self_deaf,
            )
        except ApiError:
            return  # not a voice channel: Discord does nothing either
        await self.dispatch(
            "VOICE_STATE_UPDATE", state, guild_id=guild.id, intent=GUILD_VOICE_STATES
        )
        if channel is not None and world.voice is not None:
            token = world.voice.grant(guild.id, channel.id, world.bot_user.id, session.id)
            server = {"token": token, "guild_id": str(guild.id), "endpoint": world.voice.endpoint}
            await self.dispatch("VOICE_SERVER_UPDATE", server, guild_id=guild.id, intent=None)
            if moving:
                # A move ends the voice session in the old channel: its websocket is closed with
                # 4014, and the client connects afresh with the new server update.
                await world.voice.drop(guild.id, 4014)

    async def _send_member_chunk(self, session: _Session, data: dict[str, Any]) -> None:
        guild = self.world.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        members = guild.members if session.intents & GUILD_MEMBERS else [self.world.bot_user]
        query = data.get("query")
        user_ids = {int(u) for u in data.get("user_ids") or []}
        if user_ids:
            members = [m for m in members if m.id in user_ids]
        elif query:
            members = [m for m in members if m.name.lower().startswith(str(query).lower())]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [self.world.member_payload(guild, m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [str(u) for u in user_ids if u not in {m.id for m in members}],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk, None)

    # -- bookkeeping ---------------------------------------------------------------------------

    async def _close(self, connection: _Connection, code: int, reason: str) -> None:
        self.close_codes.append(code)
        self._detach(connection)
        await connection.ws.close(code=code, message=reason.encode())

    def _mark_not_live(self, connection: _Connection) -> None:
        for shard_id, live in list(self._live.items()):
            if live is connection:
                del self._live[shard_id]
        self.world.touch()

    def _detach(self, connection: _Connection) -> None:
        self._mark_not_live(connection)
        session = connection.session
        if session is not None and session.connection is connection:
            session.connection = None
        connection.session = None

    def _forget(self, session: _Session) -> None:
        self._sessions.pop(session.id, None)
        if self._by_shard.get(session.shard_id) is session:
            del self._by_shard[session.shard_id]
