"""The fake Discord's voice server drives the real discord.py voice client over loopback.

The bot joins a voice channel with ``channel.connect()`` (gateway op 4, then the voice websocket
over TLS verified against the fake's throwaway CA, UDP IP discovery, ``aead_xchacha20_poly1305_rtpsize``,
DAVE version 0), plays a generated sine through ``discord.PCMAudio``, and the fake decrypts and
Opus-decodes it and compares it with what was played.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import discord
import numpy as np
import numpy.typing as npt
import pytest
import pytest_asyncio
import scipy.signal
import yarl

from bot.fake_discord import FakeChannel, FakeDiscord, FakeGuild, FakeUser

RATE = 48_000
TONE_HZ = 440.0
TONE_SECONDS = 2.0
FRAME = 960  # samples per channel in one 20 ms Opus frame


class VoiceProbe(discord.Client):
    """A bare client: discord.py's default intents include voice states."""

    def __init__(self, connector: aiohttp.BaseConnector) -> None:
        super().__init__(
            intents=discord.Intents.default(), connector=connector, guild_ready_timeout=0.05
        )
        self.voice_updates: asyncio.Queue[tuple[int, int | None]] = asyncio.Queue()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None

    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        self.voice_updates.put_nowait(
            (member.id, None if after.channel is None else after.channel.id)
        )


@dataclass(frozen=True)
class Scene:
    guild: FakeGuild
    voice: FakeChannel
    alice: FakeUser


def sine(seconds: float, hz: float) -> npt.NDArray[np.int16]:
    """A stereo sine at half scale, (samples, 2) int16."""
    t = np.arange(round(seconds * RATE)) / RATE
    mono = (0.5 * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)
    return np.column_stack([mono, mono])


@pytest_asyncio.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url)
        )
        yield fake


@pytest.fixture
def scene(fake: FakeDiscord) -> Scene:
    alice = fake.add_user("alice")
    guild = fake.add_guild("Studio", members=[alice])
    guild.add_text_channel("general")
    return Scene(guild, guild.add_voice_channel("Lounge", bitrate=96_000), alice)


@contextlib.asynccontextmanager
async def running(fake: FakeDiscord) -> AsyncIterator[VoiceProbe]:
    # The voice websocket is verified TLS: the client trusts the fake's CA, nothing is switched off.
    connector = aiohttp.TCPConnector(limit=0, ssl=fake.voice_certificates.client_context())
    bot = VoiceProbe(connector)
    await bot.login(fake.token)
    connection = asyncio.create_task(bot.connect())
    try:
        await fake.wait_ready()
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(connection, 10)


def voice_channel(bot: discord.Client, channel: FakeChannel) -> discord.VoiceChannel:
    found = bot.get_channel(channel.id)
    assert isinstance(found, discord.VoiceChannel)
    return found


async def play(voice: discord.VoiceClient, pcm: npt.NDArray[np.int16]) -> None:
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[Exception | None] = loop.create_future()
    voice.play(
        discord.PCMAudio(io.BytesIO(pcm.tobytes())),
        after=lambda error: loop.call_soon_threadsafe(finished.set_result, error),
    )
    assert await asyncio.wait_for(finished, 15) is None


def peak_hz(mono: npt.NDArray[np.float64]) -> float:
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / RATE)[int(np.argmax(spectrum))])


def best_correlation(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> float:
    """The highest cross-correlation of ``a`` and ``b`` over lags of up to one frame (Opus
    delays its output by a few ms), normalised by both signals' energies."""
    full = scipy.signal.correlate(a, b, mode="full", method="fft")
    zero_lag = len(b) - 1
    window = full[zero_lag - FRAME : zero_lag + FRAME + 1]
    return float(window.max() / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.mark.asyncio
async def test_voice_channel_and_users_in_voice_reach_the_bot(
    fake: FakeDiscord, scene: Scene
) -> None:
    await fake.join_voice(scene.alice, scene.voice)  # before the bot connects: in GUILD_CREATE
    async with running(fake) as bot:
        channel = voice_channel(bot, scene.voice)
        assert (channel.bitrate, channel.user_limit) == (96_000, 0)
        assert [m.id for m in channel.members] == [scene.alice.id]

        await fake.leave_voice(scene.alice)
        assert await asyncio.wait_for(bot.voice_updates.get(), 5) == (scene.alice.id, None)
        assert channel.members == []
        await fake.join_voice(scene.alice, scene.voice)
        assert await asyncio.wait_for(bot.voice_updates.get(), 5) == (
            scene.alice.id,
            scene.voice.id,
        )
        assert [m.id for m in channel.members] == [scene.alice.id]


@pytest.mark.asyncio
async def test_bot_plays_a_sine_and_the_fake_hears_it(fake: FakeDiscord, scene: Scene) -> None:
    source = sine(TONE_SECONDS, TONE_HZ)
    async with running(fake) as bot:
        voice = await voice_channel(bot, scene.voice).connect(timeout=10, reconnect=False)
        session = await fake.wait_voice_connected(scene.guild)
        assert voice.is_connected()
        assert (session.channel_id, session.user_id) == (scene.voice.id, fake.bot_user.id)
        assert session.mode == "aead_xchacha20_poly1305_rtpsize"
        assert voice.mode == session.mode
        assert voice._connection.dave_protocol_version == 0
        # The client told the server the address IP discovery found: where its packets come from.
        assert session.client_address == session.udp_source
        state = fake.voice_state(scene.guild, fake.bot_user)
        assert state is not None and state.channel_id == scene.voice.id
        assert fake.voice_state_requests[-1].channel_id == scene.voice.id

        await play(voice, source)
        await fake.wait_silence(scene.guild)
        received = fake.received_audio(scene.guild)
        packets = fake.received_packets(scene.guild)

        await voice.disconnect()
        await fake.wait_voice_state(scene.guild, fake.bot_user, None)

    assert fake.voice_state_requests[-1].channel_id is None
    assert fake.voice_connections == []
    assert session.undecryptable == 0

    # Duration: 100 frames of 20 ms, ± one frame; the trailing silence frames are not audio.
    assert abs(len(received) - len(source)) <= FRAME, len(received) / RATE
    audio = [p for p in packets if not p.silence]
    assert len(audio) == round(TONE_SECONDS * 50)
    assert packets[-1].silence
    assert all(p.ssrc == session.ssrc for p in packets)
    assert all((b.sequence - a.sequence) % 65536 == 1 for a, b in itertools.pairwise(packets))
    assert all((b.timestamp - a.timestamp) % 2**32 == FRAME for a, b in itertools.pairwise(audio))

    sent = source[:, 0].astype(np.float64)
    heard = received[:, 0].astype(np.float64)
    assert abs(peak_hz(heard) - TONE_HZ) < 2.0
    assert np.allclose(received[:, 0], received[:, 1], atol=64)  # still the same in both ears
    assert best_correlation(heard, sent) > 0.95
    # ≈ -6 dBFS went in; Opus keeps the level within a couple of dB.
    rms_ratio = np.sqrt(np.mean(heard**2)) / np.sqrt(np.mean(sent**2))
    assert 0.8 < rms_ratio < 1.25

    speaking = [e.speaking for e in fake.speaking(scene.guild)]
    assert 1 in speaking and speaking[-1] == 0
    assert speaking.index(1) < len(speaking) - 1


@pytest.mark.asyncio
async def test_playback_survives_a_voice_server_migration(fake: FakeDiscord, scene: Scene) -> None:
    """VOICE_SERVER_UPDATE mid-stream: the client re-identifies and the stream goes on, whole."""
    source = sine(TONE_SECONDS, TONE_HZ)
    async with running(fake) as bot:
        voice = await voice_channel(bot, scene.voice).connect(timeout=10, reconnect=True)
        first = await fake.wait_voice_connected(scene.guild)
        playing = asyncio.create_task(play(voice, source))
        await fake.wait_audio(scene.guild, 0.4)
        await fake.migrate_voice_server(scene.guild)
        await playing
        second = await fake.wait_voice_connected(scene.guild)
        await fake.wait_silence(scene.guild)
        await voice.disconnect()

    assert second is not first and second.ssrc != first.ssrc
    assert second.secret_key != first.secret_key
    assert not first.live and first.packets and second.packets
    received = fake.received_audio(scene.guild)
    assert abs(len(received) - len(source)) <= FRAME, len(received) / RATE
    heard = received[:, 0].astype(np.float64)
    assert abs(peak_hz(heard) - TONE_HZ) < 2.0
    assert best_correlation(heard, source[:, 0].astype(np.float64)) > 0.9


@pytest.mark.asyncio
async def test_a_different_tone_is_told_apart(fake: FakeDiscord, scene: Scene) -> None:
    """The checks above can fail: a 660 Hz tone is not mistaken for the 440 Hz one."""
    async with running(fake) as bot:
        voice = await voice_channel(bot, scene.voice).connect(timeout=10, reconnect=False)
        await fake.wait_voice_connected(scene.guild)
        await play(voice, sine(0.5, 660.0))
        await fake.wait_silence(scene.guild)
        await voice.disconnect()
    heard = fake.received_audio(scene.guild)[:, 0].astype(np.float64)
    assert abs(peak_hz(heard) - 660.0) < 4.0
    reference = sine(0.5, TONE_HZ)[:, 0].astype(np.float64)
    assert best_correlation(heard, reference) < 0.5


@pytest.mark.asyncio
async def test_voice_websocket_is_verified_tls_answers_heartbeats_and_checks_the_token(
    fake: FakeDiscord,
) -> None:
    url = f"wss://{fake.voice_endpoint}/?v=8"
    # A client that trusts only the system's CAs refuses the fake's certificate.
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.ws_connect(url)
    connector = aiohttp.TCPConnector(ssl=fake.voice_certificates.client_context())
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.ws_connect(url) as ws,
    ):
        hello = await ws.receive_json(timeout=5)
        assert hello["op"] == 8 and hello["d"]["heartbeat_interval"] > 0
        # v8 heartbeats carry a nonce and the last seq seen; the ACK echoes the nonce.
        await ws.send_str(json.dumps({"op": 3, "d": {"t": 1234, "seq_ack": hello["seq"]}}))
        ack = await ws.receive_json(timeout=5)
        assert (ack["op"], ack["d"]) == (6, {"t": 1234})
        identify = {
            "server_id": "1",
            "user_id": str(fake.bot_user.id),
            "session_id": "nope",
            "token": "not-granted",
            "max_dave_protocol_version": 0,
        }
        await ws.send_str(json.dumps({"op": 0, "d": identify}))
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert closing.data == 4004
    assert fake.voice_close_codes == [4004]
