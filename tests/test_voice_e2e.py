"""Voice playback end to end: the real bot on the real discord.py voice client, against the loopback
Discord's voice server (TLS websocket verified against its throwaway CA, UDP IP discovery,
aead_xchacha20_poly1305_rtpsize, DAVE protocol version 0), which decrypts and Opus-decodes what
the bot sends. The audio heard is compared with each piece's own stored MP3.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import pytest_asyncio
import scipy.signal

from bot.fake_discord import (
    FakeChannel,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
    VoicePacket,
    arrival_gap_s,
)
from bot.voice.decoder import FRAME_SAMPLES, SAMPLE_RATE, PcmDecoder
from tests.conftest import GeneratorProcess
from tests.discord_world import DEAD_GATEWAY, World, compose, make_world, piece_id_of, posted

CONNECT = 1 << 20
SPEAK = 1 << 21
OPUS_SLACK = 2 * FRAME_SAMPLES  # lags searched: Opus delays what it decodes by a few ms
# How exactly a piece can be placed in Opus-coded audio by cross-correlation: a few samples
# either way. A gap or an overlap would be whole 20 ms frames (960 samples); 1 ms tells them apart.
PLACED = SAMPLE_RATE // 1000


@dataclass
class VoiceWorld:
    world: World
    lounge: FakeChannel

    @property
    def fake(self) -> FakeDiscord:
        return self.world.fake


@pytest_asyncio.fixture
async def voice(tmp_path: Path, generator_service: GeneratorProcess) -> AsyncIterator[VoiceWorld]:
    async with FakeDiscord(advertised_gateway=DEAD_GATEWAY) as fake:
        world = make_world(fake, tmp_path, generator_service.url)
        lounge = world.guild.add_voice_channel("Lounge", bitrate=96_000)
        yield VoiceWorld(world, lounge)
        assert fake.unknown_routes == [], fake.unknown_routes


def stored_audio(world: World, piece_id: str) -> npt.NDArray[np.int16]:
    """The piece's stored MP3 as the bot plays it: 48 kHz stereo int16."""
    with world.ledger() as ledger:
        path = ledger.path_for(ledger.creation(piece_id).files["mp3"])
    with PcmDecoder(path) as decoder:
        return np.frombuffer(decoder.read(1 << 31), dtype="<i2").reshape(-1, 2)


def mono(audio: npt.NDArray[np.int16]) -> npt.NDArray[np.float64]:
    return audio.astype(np.float64).mean(axis=1)


def locate(
    heard: npt.NDArray[np.float64], piece: npt.NDArray[np.float64], near: int
) -> tuple[int, float]:
    """Where `piece` starts in `heard`, within `OPUS_SLACK` samples of `near`: (offset, the
    normalised cross-correlation there, over the part of the piece that was heard)."""
    first = max(near - OPUS_SLACK, 0)
    segment = heard[first : near + len(piece) + OPUS_SLACK]
    full = scipy.signal.correlate(segment, piece, mode="full", method="fft")
    starts = first + np.arange(len(full)) - (len(piece) - 1)  # where the piece would begin
    allowed = np.flatnonzero(np.abs(starts - near) <= OPUS_SLACK)
    best = int(allowed[np.argmax(full[allowed])])
    offset = int(starts[best])
    overlap = heard[max(offset, 0) : offset + len(piece)]
    part = piece[max(-offset, 0) : max(-offset, 0) + len(overlap)]
    score = float(full[best] / (np.linalg.norm(overlap) * np.linalg.norm(part) + 1e-9))
    return offset, score


async def answer_text(interaction: FakeInteraction) -> str:
    """What the bot answered: the callback's content, or the deferred response once edited."""
    callback = await interaction.response()
    if callback["type"] == 4:
        return str(callback["data"].get("content") or "")
    original = await interaction.original()
    for _ in range(600):
        if not original.loading or original.content:
            break
        await asyncio.sleep(0.05)
    if original.deleted:
        followup = await interaction.followup(0)
        return followup.content
    return original.content


async def now_playing(v: VoiceWorld, count: int, within_s: float = 60) -> list[FakeMessage]:
    """The first `count` now-playing announcements in the text channel."""
    found: list[FakeMessage] = []

    async def enough() -> None:
        while True:
            found[:] = [
                m
                for m in v.world.channel.messages
                if m.author_id == v.fake.bot_user.id
                and "playing in 🔊" in m.content
                and not m.deleted
            ]
            if len(found) >= count:
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(enough(), within_s)
    return found[:count]


def audio_packets(fake: FakeDiscord, v: VoiceWorld) -> list[VoicePacket]:
    return [p for p in fake.received_packets(v.world.guild) if not p.silence]


# -- playing one piece ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_play_joins_the_callers_channel_and_the_piece_is_heard_whole(
    voice: VoiceWorld,
) -> None:
    fake, world = voice.fake, voice.world
    async with world.bot(voice_idle_s=1.0):
        _, piece_id = await compose(world, world.alice, "lofi 5s")
        await fake.join_voice(world.alice, voice.lounge)
        interaction = await fake.slash(world.alice, world.channel, "play", {"piece": piece_id})
        assert "Playing" in await answer_text(interaction)
        session = await fake.wait_voice_connected(world.guild)
        [announcement] = await now_playing(voice, 1)
        await fake.wait_silence(world.guild, timeout=30)
        heard = fake.received_audio(world.guild)
        packets = fake.received_packets(world.guild)
        # Idle for a second after the piece: the bot leaves and says so.
        await fake.wait_voice_state(world.guild, fake.bot_user, None, timeout=15)
        goodbye = await fake.wait_message(world.channel, lambda m: "nothing played" in m.content)

    # Where and how it connected: the caller's channel, deafened, over the real handshake.
    assert (session.channel_id, session.user_id) == (voice.lounge.id, fake.bot_user.id)
    assert session.mode == "aead_xchacha20_poly1305_rtpsize" and session.undecryptable == 0
    assert session.max_dave_protocol_version >= 1  # davey is there: DAVE E2EE offered to Discord
    joins = [r for r in fake.voice_state_requests if r.channel_id == voice.lounge.id]
    assert joins and joins[0].self_deaf

    # The piece's length, to the frame, and its own sound.
    piece = stored_audio(world, piece_id)
    assert abs(len(piece) - 5 * SAMPLE_RATE) <= 1
    assert abs(len(heard) - len(piece)) <= FRAME_SAMPLES, len(heard) / SAMPLE_RATE
    offset, score = locate(mono(heard), mono(piece), 0)
    assert offset < FRAME_SAMPLES and score > 0.9, (offset, score)
    audio = [p for p in packets if not p.silence]
    assert all((b.sequence - a.sequence) % 65536 == 1 for a, b in itertools.pairwise(audio))

    assert piece_id in announcement.embeds[0]["footer"]["text"]
    assert announcement.attachments[0].filename.endswith(".png")
    ids = [b["custom_id"] for b in announcement.buttons()]
    assert f"piece:like:{piece_id}" in ids and "voice:skip" in ids
    assert "Lounge" in goodbye.content
    with world.ledger() as ledger:
        assert ledger.plays(piece_id) == 1


def find(
    heard: npt.NDArray[np.float64], piece: npt.NDArray[np.float64], after: int = 0
) -> tuple[int, float]:
    """The first place in `heard` (from sample `after` on) where `piece` is heard (normalised
    cross-correlation over 0.9), or the best match when it is heard nowhere: (offset, score)."""
    region = heard[after:]
    full = scipy.signal.correlate(region, piece, mode="valid", method="fft")
    energy = np.sqrt(np.maximum(np.convolve(region**2, np.ones(len(piece)), mode="valid"), 0))
    score = full / (energy * np.linalg.norm(piece) + 1e-9)
    above = np.flatnonzero(score > 0.9)
    if len(above) == 0:
        best = int(np.argmax(score))
    else:
        around = slice(int(above[0]), int(above[0]) + OPUS_SLACK)
        best = around.start + int(np.argmax(score[around]))
    return after + best, float(score[best])


async def answer(interaction: FakeInteraction) -> dict[str, object]:
    """The bot's immediate answer (callback type 4): its data."""
    callback = await interaction.response()
    assert callback["type"] == 4, callback
    return dict(callback["data"])


# -- the queue and its controls ------------------------------------------------------------------


@pytest.mark.asyncio
async def test_queue_order_skip_loop_pause_and_the_queue_listing(voice: VoiceWorld) -> None:
    fake, world = voice.fake, voice.world
    async with world.bot(voice_idle_s=3.0):
        pieces = [(await compose(world, world.alice, "lofi 5s"))[1] for _ in range(3)]
        a, b, c = pieces
        await fake.join_voice(world.alice, voice.lounge)
        await fake.join_voice(world.bob, voice.lounge)
        replies = []
        for piece_id in pieces:
            interaction = await fake.slash(world.alice, world.channel, "play", {"piece": piece_id})
            replies.append(await answer_text(interaction))
        assert replies[0].startswith("▶️ Playing") and "Lounge" in replies[0]
        assert "#1 in line" in replies[1] and "#2 in line" in replies[2]

        listing = await answer(await fake.slash(world.bob, world.channel, "queue"))
        embed = listing["embeds"][0]  # type: ignore[index]
        assert f"`{a}`" in embed["description"] and "Now playing" in embed["description"]
        upcoming = embed["fields"][0]["value"]
        assert upcoming.index(f"`{b}`") < upcoming.index(f"`{c}`")
        assert "loop off" in embed["footer"]["text"]

        await fake.wait_audio(world.guild, 1.0)
        skipped = await answer(await fake.slash(world.bob, world.channel, "skip"))
        assert "skipped" in str(skipped["content"])
        await now_playing(voice, 2)
        looped = await answer(await fake.slash(world.alice, world.channel, "loop", {"mode": "one"}))
        assert "again and again" in str(looped["content"])
        # B plays to its end and starts over; a second into its second round, skip to C.
        heard_before_b = len(fake.received_audio(world.guild))
        await fake.wait_audio(world.guild, (heard_before_b + 6 * SAMPLE_RATE) / SAMPLE_RATE)
        await fake.slash(world.alice, world.channel, "skip")
        await fake.slash(world.alice, world.channel, "loop", {"mode": "off"})
        await now_playing(voice, 4)  # a, b, b again, c

        paused = await answer(await fake.slash(world.alice, world.channel, "pause"))
        assert "paused" in str(paused["content"])
        status = await answer(await fake.slash(world.bob, world.channel, "nowplaying"))
        assert "Paused" in status["embeds"][0]["description"]  # type: ignore[index]
        during_pause = len(audio_packets(fake, voice))
        await asyncio.sleep(0.5)
        # Paused: a frame or two may still be on their way; playing would send 25.
        assert len(audio_packets(fake, voice)) <= during_pause + 3
        await fake.slash(world.alice, world.channel, "resume")
        # C plays out; the queue is empty; 3 s later the bot leaves.
        await fake.wait_voice_state(world.guild, fake.bot_user, None, timeout=30)

    heard = mono(fake.received_audio(world.guild))
    audio = {p: mono(stored_audio(world, p)) for p in pieces}
    second = SAMPLE_RATE
    start_a, score_a = locate(heard, audio[a][:second], 0)
    start_b, score_b = find(heard, audio[b][:second])
    again_b, score_b2 = find(heard, audio[b][:second], after=start_b + len(audio[b]) // 2)
    start_c, score_c = find(heard, audio[c][:second], after=again_b + second // 2)
    assert min(score_a, score_b, score_b2, score_c) > 0.9, (score_a, score_b, score_b2, score_c)
    assert start_a < start_b < again_b < start_c
    # A skip ends a piece on a frame boundary; a loop starts over sample for sample.
    assert min((start_b - start_a) % FRAME_SAMPLES, -(start_b - start_a) % FRAME_SAMPLES) <= PLACED
    assert abs(again_b - start_b - len(audio[b])) <= PLACED
    # B whole, and C whole across the pause: the same audio, nothing lost or repeated.
    _, whole_b = locate(heard, audio[b], start_b)
    _, whole_c = locate(heard, audio[c], start_c)
    assert whole_b > 0.9 and whole_c > 0.9, (whole_b, whole_c)
    assert abs(start_c + len(audio[c]) - start_a - len(heard)) <= FRAME_SAMPLES
    # The checks can fail: C is not mistaken for B.
    assert locate(heard, audio[c][:second], start_b)[1] < 0.5
    with world.ledger() as ledger:
        assert [ledger.plays(p) for p in pieces] == [1, 2, 1]


# -- the radio -------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_radio_plays_new_pieces_back_to_back_and_records_each(voice: VoiceWorld) -> None:
    fake, world = voice.fake, voice.world
    async with world.bot():
        await fake.join_voice(world.alice, voice.lounge)
        started = await fake.slash(world.alice, world.channel, "radio", {"request": "lofi 5s"})
        assert "Radio on" in await answer_text(started)
        announced = await now_playing(voice, 3, within_s=90)
        stopped = await answer(
            await fake.slash(world.alice, world.channel, "radio", {"request": "stop"})
        )
        assert "radio off" in str(stopped["content"])
        await fake.wait_audio(world.guild, 11.5)  # a second and a half into the third piece
        await fake.slash(world.alice, world.channel, "stop")
        await fake.wait_voice_state(world.guild, fake.bot_user, None, timeout=10)
        again = await fake.slash(world.alice, world.channel, "radio", {"request": "stop"})
        assert "not in a voice channel" in str((await answer(again))["content"])

    radio_ids = [m.embeds[0]["footer"]["text"].split()[1] for m in announced]
    assert all(m.content.startswith("📻 **Radio**") for m in announced)
    assert all(m.attachments[0].filename.endswith(".mp3") for m in announced)
    with world.ledger() as ledger:
        made = [ledger.creation(p) for p in radio_ids]
        assert all(c.owner.user_id == str(world.alice.id) and c.origin == "radio" for c in made)
        assert all(c.request == "lofi 5s" for c in made)
        assert len({c.seed for c in made}) == 3

    heard = mono(fake.received_audio(world.guild))
    packets = audio_packets(fake, voice)
    starts = []
    after = 0
    for piece_id in radio_ids:
        start, score = find(heard, mono(stored_audio(world, piece_id))[:SAMPLE_RATE], after=after)
        assert score > 0.9, (piece_id, score)
        starts.append(start)
        after = start + SAMPLE_RATE
    lengths = [len(stored_audio(world, p)) for p in radio_ids]
    gaps = []
    for k in range(2):
        # The next piece begins the sample after the last one ends: no silence between them …
        assert abs(starts[k + 1] - starts[k] - lengths[k]) <= PLACED, (k, starts, lengths)
        # … and no pause in the stream either.
        gaps.append(arrival_gap_s(packets, starts[k + 1] - starts[0]))
    assert max(gaps) <= 0.100, gaps


# -- refusals, the ▶ Play button, composing on the spot, volume, an empty channel ------------------


async def private(interaction: FakeInteraction) -> str:
    """A private answer's text (ephemeral), whether sent at once or after a deferral."""
    callback = await interaction.response()
    if callback["type"] == 4:
        assert callback["data"].get("flags", 0) & 64, callback
        return str(callback["data"]["content"])
    followup = await interaction.followup(0)
    assert followup.ephemeral
    return followup.content


@pytest.mark.asyncio
async def test_refusals_are_private_and_say_what_would_be_right(voice: VoiceWorld) -> None:
    fake, world = voice.fake, voice.world
    async with world.bot():
        _, piece_id = await compose(world, world.alice, "lofi 5s")
        play = {"piece": piece_id}
        offered = await fake.autocomplete(world.alice, world.channel, "play", "piece", "")
        assert [c["value"] for c in offered][:3] == ["latest", "mine", piece_id]
        offered = await fake.autocomplete(world.alice, world.channel, "play", "piece", "sad j")
        assert "sad jazz" in [c["value"] for c in offered]
        offered = await fake.autocomplete(world.alice, world.channel, "radio", "request", "st")
        assert offered[0]["value"] == "stop"

        text = await private(await fake.slash(world.alice, world.channel, "play", play))
        assert "Join a voice channel first" in text
        for command in ("skip", "pause", "queue", "nowplaying"):
            text = await private(await fake.slash(world.alice, world.channel, command))
            assert "I'm not in a voice channel in this server" in text, command

        await fake.join_voice(world.alice, voice.lounge)
        for words, expected in (
            ("zz9x8y7w", "There is no piece `zz9x8y7w`"),
            ("jaz 1m", 'did you mean "jazz"'),
        ):
            text = await private(
                await fake.slash(world.alice, world.channel, "play", {"piece": words})
            )
            assert expected in text, text
        text = await private(
            await fake.slash(world.alice, world.channel, "radio", {"request": "polka"})
        )
        assert "polka" in text

        voice.lounge.deny(fake.bot_user, CONNECT | SPEAK)
        await asyncio.sleep(0.2)  # the CHANNEL_UPDATE reaches the bot
        text = await private(await fake.slash(world.alice, world.channel, "play", play))
        assert "don't have the Connect and Speak permissions" in text, text
        assert fake.voice_state_requests == []  # it did not even try

        voice.lounge.deny(fake.bot_user, 0)  # allowed again
        attic = world.guild.add_voice_channel("Attic")
        await asyncio.sleep(0.2)
        assert "Playing" in await answer_text(
            await fake.slash(world.alice, world.channel, "play", play)
        )
        await fake.wait_voice_connected(world.guild)
        await fake.join_voice(world.bob, attic)
        text = await private(await fake.slash(world.bob, world.channel, "skip"))
        assert "Join 🔊 Lounge to control the music there" in text
        text = await private(await fake.slash(world.bob, world.channel, "play", play))
        assert "I'm playing in 🔊 Lounge right now" in text

        # Its owner deletes the piece while it plays: it stops, and the copy queued after it
        # goes too (a deleted piece is not heard again).
        assert "#1 in line" in await answer_text(
            await fake.slash(world.alice, world.channel, "play", play)
        )
        await fake.wait_audio(world.guild, 0.2)
        ask = await fake.slash(world.alice, world.channel, "delete", {"piece": piece_id})
        await fake.click(world.alice, await ask.original(), f"delete:yes:{piece_id}")
        await fake.wait_silence(world.guild, timeout=10)
        listing = await answer(await fake.slash(world.alice, world.channel, "queue"))
        assert "Nothing is playing" in listing["embeds"][0]["description"]  # type: ignore[index]
        heard = len(fake.received_audio(world.guild))

        # Idle in Lounge, the bot follows whoever asks from another channel.
        _, other = await compose(world, world.bob, "chiptune 5s")
        reply = await fake.slash(world.bob, world.channel, "play", {"piece": other})
        assert "Playing" in await answer_text(reply) and "Attic" in await answer_text(reply)
        await fake.wait_voice_state(world.guild, fake.bot_user, attic)
        await fake.wait_audio(world.guild, heard / SAMPLE_RATE + 0.5)
    assert heard < 4 * SAMPLE_RATE  # the deleted piece was not heard to its end


@pytest.mark.asyncio
async def test_play_button_composing_on_the_spot_volume_and_leaving_an_empty_channel(
    voice: VoiceWorld,
) -> None:
    fake, world = voice.fake, voice.world
    async with world.bot():
        message, piece_id = await compose(world, world.alice, "lofi 5s")
        await fake.join_voice(world.alice, voice.lounge)
        await fake.click(world.alice, message, f"piece:play:{piece_id}")
        await fake.wait_voice_connected(world.guild)
        # /play with words composes a piece, posts it like /compose, and queues it.
        request = await fake.slash(world.alice, world.channel, "play", {"piece": "chiptune 5s"})
        made = await posted(request)
        new_id = piece_id_of(made)
        line = await request.followup(0)
        assert "#1 in line" in line.content and not line.ephemeral
        await fake.wait_audio(world.guild, 1.0)
        turned = await answer(
            await fake.slash(world.alice, world.channel, "volume", {"percent": 50})
        )
        assert "Volume 50 %" in str(turned["content"])
        changed_at = len(fake.received_audio(world.guild))
        await now_playing(voice, 2)
        await fake.wait_audio(world.guild, 6.5)
        # Alice leaves; nobody else is there: the bot leaves too, and says so.
        await fake.leave_voice(world.alice)
        await fake.wait_voice_state(world.guild, fake.bot_user, None, timeout=10)
        note = await fake.wait_message(world.channel, lambda m: "Everyone left" in m.content)
        assert "Lounge" in note.content

    heard = mono(fake.received_audio(world.guild))
    first = mono(stored_audio(world, piece_id))
    second = mono(stored_audio(world, new_id))
    start, score = locate(heard, first[: 2 * SAMPLE_RATE], 0)
    assert score > 0.9
    later, score_new = find(heard, second[:SAMPLE_RATE], after=start + len(first) - OPUS_SLACK)
    assert score_new > 0.9 and abs(later - start - len(first)) <= PLACED
    # Half the volume from the change on: the same sound, at half the level (-6 dB).
    window = slice(changed_at + FRAME_SAMPLES * 5, changed_at + FRAME_SAMPLES * 50)
    original = first[window.start - start : window.stop - start]
    ratio = np.sqrt(np.mean(heard[window] ** 2) / np.mean(original**2))
    assert 0.4 < ratio < 0.6, ratio
    with world.ledger() as ledger:
        assert ledger.creation(new_id).request == "chiptune 5s"


@pytest.mark.asyncio
async def test_the_tunesmith_bot_command_plays_trusting_the_ca_in_ssl_cert_file(
    voice: VoiceWorld, tmp_path: Path, generator_service: GeneratorProcess
) -> None:
    """The deployed path: `tunesmith bot` in its own process verifies the voice server's TLS
    against the CA store, which `SSL_CERT_FILE` points at (here, the loopback server's CA)."""
    fake, world = voice.fake, voice.world
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SSL_"))},
        **fake.bot_environment(tmp_path / "ca.pem"),
        "GENERATOR_URL": generator_service.url,
        "TUNESMITH_DATA_DIR": str(world.data_dir),
        "TUNESMITH_COOLDOWN_S": "0",
    }
    bot = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("tunesmith")),
        "bot",
        env=environment,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake.wait_ready(timeout=60)
        await fake.wait_commands(timeout=60)
        _, piece_id = await compose(world, world.alice, "chiptune 5s")
        await fake.join_voice(world.alice, voice.lounge)
        await fake.slash(world.alice, world.channel, "play", {"piece": piece_id})
        session = await fake.wait_voice_connected(world.guild, timeout=30)
        await fake.wait_audio(world.guild, 1.0)
        await fake.slash(world.alice, world.channel, "stop")
        await fake.wait_voice_state(world.guild, fake.bot_user, None, timeout=10)
    finally:
        bot.send_signal(signal.SIGTERM)
        _, errors = await asyncio.wait_for(bot.communicate(), 60)
    assert bot.returncode == 0, errors.decode()
    assert session.undecryptable == 0 and session.mode == "aead_xchacha20_poly1305_rtpsize"
    heard = mono(fake.received_audio(world.guild))
    _, score = locate(heard, mono(stored_audio(world, piece_id))[: len(heard) - OPUS_SLACK], 0)
    assert score > 0.9, score
