"""The fake Discord's voice server: a voice gateway (v8, over TLS) and a UDP media socket.

It speaks what discord.py 2.7's `VoiceClient` needs: HELLO, IDENTIFY → READY, UDP IP discovery,
SELECT_PROTOCOL → SESSION_DESCRIPTION (mode ``aead_xchacha20_poly1305_rtpsize``, DAVE protocol
version 0, so no MLS/E2EE ops), heartbeats, SPEAKING and RESUME. RTP packets arriving on the UDP
socket are decrypted and Opus-decoded, so tests can check the audio the real client sent.

The websocket uses a throwaway CA made for each fake (`LoopbackCertificates`): the client trusts
it the normal way (a verified TLS context with that CA), never by switching verification off.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import itertools
import json
import secrets
import ssl
import struct
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord.opus
import numpy as np
import numpy.typing as npt
from aiohttp import WSMsgType, web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt
from nacl.exceptions import CryptoError

if TYPE_CHECKING:
    from bot.fake_discord.world import World

MODE = "aead_xchacha20_poly1305_rtpsize"
OPUS_SILENCE = b"\xf8\xff\xfe"
SAMPLE_RATE = 48_000
CHANNELS = 2
FRAME_SAMPLES = 960  # one 20 ms Opus frame
HEARTBEAT_INTERVAL_MS = 13_750

# Voice gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
IDENTIFY, SELECT_PROTOCOL, READY, HEARTBEAT, SESSION_DESCRIPTION, SPEAKING = 0, 1, 2, 3, 4, 5
HEARTBEAT_ACK, RESUME, HELLO, RESUMED = 6, 7, 8, 9
# Client ops the fake accepts and has nothing to answer: CLIENT_CONNECT, DAVE_TRANSITION_READY.
_QUIET_OPS = {12, 23}

_RTP_HEADER = struct.Struct(">BBHII")
_DISCOVERY = struct.Struct(">HHI64sH")


@dataclass(frozen=True)
class LoopbackCertificates:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it (PEM)."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    @classmethod
    def generate(cls, host: str = "127.0.0.1") -> LoopbackCertificates:
        """A new CA and server certificate; EC P-256 so that making them is quick."""
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fake Discord test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        return cls(
            ca_pem=ca.public_bytes(serialization.Encoding.PEM),
            cert_pem=cert.public_bytes(serialization.Encoding.PEM),
            key_pem=key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context (hostname checked too) that trusts only this CA."""
        return ssl.create_default_context(cadata=self.ca_pem.decode())

    def server_context(self, directory: Path) -> ssl.SSLContext:
        """The server side; ``ssl`` loads certificate chains from files only, so they go there."""
        cert_file, key_file = directory / "voice-cert.pem", directory / "voice-key.pem"
        cert_file.write_bytes(self.cert_pem)
        key_file.write_bytes(self.key_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_file, key_file)
        return context


@dataclass(frozen=True)
class VoicePacket:
    """One RTP packet the fake received and could decrypt."""

    arrival: float  # monotonic
    ssrc: int
    sequence: int
    timestamp: int
    payload_size: int  # bytes of Opus after decryption
    silence: bool  # the Opus silence frame (F8 FF FE) clients send when they stop


@dataclass(frozen=True)
class SpeakingEvent:
    """A SPEAKING (op 5) the client sent: ``speaking`` is Discord's flags (0 = stopped)."""

    at: float  # monotonic
    guild_id: int
    user_id: int
    ssrc: int
    speaking: int


@dataclass(frozen=True)
class VoiceStateRequest:
    """A voice state update (gateway op 4) the bot sent; ``channel_id`` None is a leave."""

    at: float  # monotonic
    guild_id: int
    channel_id: int | None
    self_mute: bool
    self_deaf: bool


@dataclass(frozen=True)
class _Grant:
    """What a VOICE_SERVER_UPDATE promised: IDENTIFY must match it."""

    token: str
    guild_id: int
    channel_id: int
    user_id: int
    session_id: str


@dataclass(eq=False)
class VoiceConnection:
    """One voice session of a user in a guild, as the voice server sees it."""

    guild_id: int
    channel_id: int
    user_id: int
    session_id: str
    ssrc: int
    secret_key: bytes = field(repr=False)
    max_dave_protocol_version: int = 0  # what the client's IDENTIFY offered (1+: it can do E2EE)
    mode: str | None = None  # set by SELECT_PROTOCOL
    client_address: tuple[str, int] | None = None  # what the client said IP discovery found
    udp_source: tuple[str, int] | None = None  # where its discovery packet came from
    ws: web.WebSocketResponse | None = field(default=None, repr=False)
    heartbeats: int = 0
    resumes: int = 0
    undecryptable: int = 0  # RTP packets that failed authentication
    packets: list[VoicePacket] = field(default_factory=list)
    _pcm: list[npt.NDArray[np.int16]] = field(default_factory=list, repr=False)
    _decoder: discord.opus.Decoder | None = field(default=None, repr=False)

    @property
    def live(self) -> bool:
        return self.ws is not None and not self.ws.closed

    @property
    def ready(self) -> bool:
        """Encryption agreed (SESSION_DESCRIPTION sent): the client may send audio now."""
        return self.mode is not None and self.live

    def audio(self) -> npt.NDArray[np.int16]:
        """Decoded PCM of every non-silence packet, (samples, 2) int16 at 48 kHz."""
        if not self._pcm:
            return np.zeros((0, CHANNELS), dtype=np.int16)
        return np.concatenate(self._pcm)

    def receive(self, header: bytes, opus: bytes, arrival: float) -> None:
        _, _, sequence, timestamp, ssrc = _RTP_HEADER.unpack_from(header)
        silence = opus == OPUS_SILENCE
        self.packets.append(VoicePacket(arrival, ssrc, sequence, timestamp, len(opus), silence))
        if silence:
            return
        if self._decoder is None:
            self._decoder = discord.opus.Decoder()
        pcm = self._decoder.decode(opus, fec=False)
        self._pcm.append(np.frombuffer(pcm, dtype=np.int16).reshape(-1, CHANNELS))


def arrival_gap_s(packets: Sequence[VoicePacket], sample: int) -> float:
    """How late audio arrived around `sample` of a stream of audio packets (silence frames
    left out): the longest wait between the packets near it, less the 20 ms every packet is
    apart anyway. A gapless stream gives about 0; a stall or a restart of the sender, more."""
    index = sample // FRAME_SAMPLES
    near = packets[max(index - 3, 0) : index + 4]
    return (
        max(b.arrival - a.arrival for a, b in itertools.pairwise(near))
        - FRAME_SAMPLES / SAMPLE_RATE
    )


class _MediaSocket(asyncio.DatagramProtocol):
    """The UDP side: IP discovery and RTP."""

    def __init__(self, server: VoiceServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.server.on_datagram(data, (str(addr[0]), int(addr[1])))


class VoiceServer:
    """Voice gateway + media socket on 127.0.0.1; one server for every guild."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.certificates = LoopbackCertificates.generate()
        self.connections: list[VoiceConnection] = []
        self.speaking: list[SpeakingEvent] = []
        self.close_codes: list[int] = []
        self.endpoint = ""  # "127.0.0.1:PORT", set once the server listens
        self.udp_port = 0
        self._grants: dict[str, _Grant] = {}
        self._by_ssrc: dict[int, VoiceConnection] = {}
        self._next_ssrc = 1000 + secrets.randbelow(1000)
        self._runner: web.AppRunner | None = None
        self._media: asyncio.DatagramTransport | None = None
        self._directory: tempfile.TemporaryDirectory[str] | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="fake-discord-voice-")
        context = self.certificates.server_context(Path(self._directory.name))
        app = web.Application()
        app.router.add_get("/", self.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.endpoint = f"{host}:{port}"
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _MediaSocket(self), local_addr=("127.0.0.1", 0)
        )
        self._media = transport
        self.udp_port = int(transport.get_extra_info("sockname")[1])

    async def stop(self) -> None:
        for connection in self.connections:
            if connection.live:
                assert connection.ws is not None
                await connection.ws.close(code=1001, message=b"fake Discord shutting down")
        if self._media is not None:
            self._media.close()
            self._media = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None

    # -- what the gateway hands out ------------------------------------------------------------

    def grant(self, guild_id: int, channel_id: int, user_id: int, session_id: str) -> str:
        """A token for VOICE_SERVER_UPDATE; the IDENTIFY that follows must match it."""
        token = secrets.token_hex(8)
        self._grants[token] = _Grant(token, guild_id, channel_id, user_id, session_id)
        return token

    def revoke(self, guild_id: int, user_id: int) -> None:
        """The user left voice in the guild: its tokens stop working."""
        for token, grant in list(self._grants.items()):
            if grant.guild_id == guild_id and grant.user_id == user_id:
                del self._grants[token]

    async def drop(self, guild_id: int, code: int) -> None:
        """Close the guild's live voice websockets with ``code`` (4015: server crashed, resume;
        4014: moved to another channel)."""
        for connection in self.connections:
            if connection.guild_id == guild_id and connection.live:
                assert connection.ws is not None
                self.close_codes.append(code)
                await connection.ws.close(code=code, message=b"fake voice server drop")
        self.world.touch()

    # -- the voice websocket -------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The voice gateway (GET /?v=8 over TLS)."""
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        if request.query.get("v") != "8":
            await self._close(ws, 4012, "Unknown protocol")  # the fake speaks v8 only
            return ws
        sender = _Sender(ws)
        await sender.send(HELLO, {"heartbeat_interval": HEARTBEAT_INTERVAL_MS, "v": 8})
        connection: VoiceConnection | None = None
        try:
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    if message.type is WSMsgType.BINARY:
                        await self._close(ws, 4002, "Failed to decode payload")
                    break
                try:
                    frame = json.loads(message.data)
                    op, data = int(frame["op"]), frame.get("d") or {}
                except (ValueError, KeyError, TypeError):
                    await self._close(ws, 4002, "Failed to decode payload")
                    break
                if op == HEARTBEAT:
                    if connection is not None:
                        connection.heartbeats += 1
                    await sender.send(HEARTBEAT_ACK, {"t": data.get("t")})
                elif op == IDENTIFY:
                    connection = await self._identify(ws, sender, data)
                    if connection is None:
                        break
                elif op == RESUME:
                    connection = await self._resume(ws, sender, data)
                    if connection is None:
                        break
                elif connection is None:
                    await self._close(ws, 4003, "Not authenticated")
                    break
                elif op == SELECT_PROTOCOL:
                    if not await self._select_protocol(ws, sender, connection, data):
                        break
                elif op == SPEAKING:
                    self.speaking.append(
                        SpeakingEvent(
                            time.monotonic(),
                            connection.guild_id,
                            connection.user_id,
                            int(data.get("ssrc") or connection.ssrc),
                            int(data.get("speaking") or 0),
                        )
                    )
                    self.world.touch()
                elif op not in _QUIET_OPS:
                    await self._close(ws, 4001, "Unknown opcode")
                    break
        finally:
            self.world.touch()
        return ws

    async def _identify(
        self, ws: web.WebSocketResponse, sender: _Sender, data: dict[str, Any]
    ) -> VoiceConnection | None:
        grant = self._grants.get(str(data.get("token")))
        if (
            grant is None
            or str(data.get("server_id")) != str(grant.guild_id)
            or str(data.get("user_id")) != str(grant.user_id)
            or data.get("session_id") != grant.session_id
        ):
            await self._close(ws, 4004, "Authentication failed")
            return None
        ssrc = self._next_ssrc
        self._next_ssrc += 1
        connection = VoiceConnection(
            guild_id=grant.guild_id,
            channel_id=grant.channel_id,
            user_id=grant.user_id,
            session_id=grant.session_id,
            ssrc=ssrc,
            secret_key=secrets.token_bytes(32),
            max_dave_protocol_version=int(data.get("max_dave_protocol_version") or 0),
            ws=ws,
        )
        self.connections.append(connection)
        self._by_ssrc[ssrc] = connection
        await sender.send(
            READY,
            {
                "ssrc": ssrc,
                "ip": "127.0.0.1",
                "port": self.udp_port,
                "modes": [MODE],
                "heartbeat_interval": HEARTBEAT_INTERVAL_MS,
            },
        )
        self.world.touch()
        return connection

    async def _resume(
        self, ws: web.WebSocketResponse, sender: _Sender, data: dict[str, Any]
    ) -> VoiceConnection | None:
        grant = self._grants.get(str(data.get("token")))
        connection = next(
            (
                c
                for c in reversed(self.connections)
                if grant is not None
                and c.session_id == data.get("session_id")
                and str(c.guild_id) == str(data.get("server_id"))
                and c.mode is not None
            ),
            None,
        )
        if connection is None:
            await self._close(ws, 4006, "Session no longer valid")
            return None
        connection.ws = ws
        connection.resumes += 1
        await sender.send(RESUMED, None)
        self.world.touch()
        return connection

    async def _select_protocol(
        self,
        ws: web.WebSocketResponse,
        sender: _Sender,
        connection: VoiceConnection,
        data: dict[str, Any],
    ) -> bool:
        details = data.get("data") or {}
        if data.get("protocol") != "udp" or details.get("mode") != MODE:
            await self._close(ws, 4016, "Unknown encryption mode")
            return False
        connection.client_address = (str(details.get("address")), int(details.get("port") or 0))
        connection.mode = MODE
        await sender.send(
            SESSION_DESCRIPTION,
            {
                "mode": MODE,
                "secret_key": list(connection.secret_key),
                "dave_protocol_version": 0,
                "audio_codec": "opus",
                "video_codec": None,
                "media_session_id": secrets.token_hex(16),
            },
        )
        self.world.touch()
        return True

    async def _close(self, ws: web.WebSocketResponse, code: int, reason: str) -> None:
        self.close_codes.append(code)
        await ws.close(code=code, message=reason.encode())

    # -- UDP -----------------------------------------------------------------------------------

    def on_datagram(self, data: bytes, source: tuple[str, int]) -> None:
        arrival = time.monotonic()
        if len(data) == _DISCOVERY.size and data[:2] == b"\x00\x01":
            self._discover(data, source)
        elif len(data) >= _RTP_HEADER.size and data[0] >> 6 == 2:
            self._rtp(data, arrival)
        # Anything else (RTCP, garbage) Discord drops too.

    def _discover(self, data: bytes, source: tuple[str, int]) -> None:
        _, _, ssrc, _, _ = _DISCOVERY.unpack(data)
        connection = self._by_ssrc.get(ssrc)
        if connection is None or self._media is None:
            return
        connection.udp_source = source
        answer = _DISCOVERY.pack(2, 70, ssrc, source[0].encode(), source[1])
        self._media.sendto(answer, source)
        self.world.touch()

    def _rtp(self, data: bytes, arrival: float) -> None:
        ssrc = struct.unpack_from(">I", data, 8)[0]
        connection = self._by_ssrc.get(ssrc)
        if connection is None or connection.mode != MODE or len(data) < 12 + 4 + 16:
            return
        # rtpsize: the fixed header, CSRCs and the extension's 4-byte preamble are authenticated
        # but clear; the extension body is encrypted with the payload.
        csrc_count = data[0] & 0x0F
        header_size = 12 + 4 * csrc_count
        extension_words = 0
        if data[0] & 0x10:
            extension_words = struct.unpack_from(">H", data, header_size + 2)[0]
            header_size += 4
        header, ciphertext, nonce = data[:header_size], data[header_size:-4], data[-4:]
        try:
            plain = crypto_aead_xchacha20poly1305_ietf_decrypt(
                ciphertext, header, nonce + bytes(20), connection.secret_key
            )
        except CryptoError:
            connection.undecryptable += 1
            return
        connection.receive(header, plain[4 * extension_words :], arrival)
        self.world.touch()


class _Sender:
    """Server frames on one voice websocket, numbered with ``seq`` as v8 does."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.seq = 0

    async def send(self, op: int, data: Any) -> None:
        self.seq += 1
        if self.ws.closed:
            return
        try:
            await self.ws.send_str(json.dumps({"op": op, "d": data, "seq": self.seq}))
        except (ConnectionError, RuntimeError):
            return
