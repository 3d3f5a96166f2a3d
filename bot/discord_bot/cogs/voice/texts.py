"""What the voice feature says: queue listings, the progress bar, replies to the controls."""

from __future__ import annotations

import discord

from bot.discord_bot.pieces import colour_for, length_text, mention
from bot.voice.player import LeaveReason, Snapshot
from bot.voice.playlist import LoopMode, Track

SHOWN_UPCOMING = 10
BAR_CELLS = 16

LOOP_TEXT = {
    LoopMode.OFF: "🔁 Loop off: each piece plays once.",
    LoopMode.ONE: "🔂 Looping the current piece: it plays again and again.",
    LoopMode.ALL: "🔁 Looping the queue: when it ends it starts over.",
}


def progress_bar(position_s: float, duration_s: float, cells: int = BAR_CELLS) -> str:
    """`▰▰▰▰▱▱▱▱ 0:12 / 0:30`."""
    duration = max(duration_s, 0.0)
    done = 0 if duration == 0 else round(cells * min(position_s / duration, 1.0))
    return f"{'▰' * done}{'▱' * (cells - done)} {length_text(position_s)} / {length_text(duration)}"


def track_line(track: Track) -> str:
    radio = " 📻" if track.radio else ""
    return (
        f"**{track.title}** `{track.piece_id}` · {length_text(track.duration_s)}"
        f" · {mention(track.requested_by)}{radio}"
    )


def queue_embed(snapshot: Snapshot, channel_name: str) -> discord.Embed:
    """/queue: what plays now, what comes next, the loop mode, the volume and the radio."""
    embed = discord.Embed(title=f"🔊 {channel_name}", colour=discord.Colour.blurple())
    if snapshot.current is None:
        embed.description = "Nothing is playing. `/play` a piece, or `/radio lofi` for a station."
    else:
        state = "⏸️ Paused" if snapshot.paused else "▶️ Now playing"
        embed.description = (
            f"{state}: {track_line(snapshot.current)}\n"
            f"{progress_bar(snapshot.position_s, snapshot.current.duration_s)}"
        )
    if snapshot.upcoming:
        lines = [
            f"{place}. {track_line(track)}"
            for place, track in enumerate(snapshot.upcoming[:SHOWN_UPCOMING], start=1)
        ]
        hidden = len(snapshot.upcoming) - SHOWN_UPCOMING
        if hidden > 0:
            lines.append(f"… and {hidden} more")
        embed.add_field(name="Up next", value="\n".join(lines), inline=False)
    elif snapshot.current is not None:
        embed.add_field(name="Up next", value="Nothing queued after this.", inline=False)
    left = sum(t.duration_s for t in snapshot.upcoming)
    if snapshot.current is not None:
        left += max(snapshot.current.duration_s - snapshot.position_s, 0.0)
    footer = [
        f"loop {snapshot.loop.value}",
        f"volume {round(snapshot.volume * 100)} %",
        f"{length_text(left)} to go",
    ]
    if snapshot.radio is not None:
        footer.append(f"📻 radio on: {snapshot.radio}")
    embed.set_footer(text=" · ".join(footer))
    return embed


def now_playing_embed(snapshot: Snapshot, channel_name: str, genre: str | None) -> discord.Embed:
    """/nowplaying: the piece, where it is, and how the player is set."""
    track = snapshot.current
    if track is None:
        return discord.Embed(
            title=f"🔊 {channel_name}",
            description="Nothing is playing. `/play` a piece, or `/radio lofi` for a station.",
            colour=discord.Colour.blurple(),
        )
    state = "⏸️ Paused" if snapshot.paused else "▶️ Now playing"
    embed = discord.Embed(
        title=track.title,
        description=f"{state} in 🔊 {channel_name}\n"
        f"{progress_bar(snapshot.position_s, track.duration_s)}",
        colour=colour_for(genre),
    )
    embed.add_field(name="Asked for by", value=mention(track.requested_by))
    embed.add_field(name="Loop", value=snapshot.loop.value)
    embed.add_field(name="Volume", value=f"{round(snapshot.volume * 100)} %")
    if snapshot.upcoming:
        embed.add_field(name="Next", value=track_line(snapshot.upcoming[0]), inline=False)
    if snapshot.radio is not None:
        embed.add_field(name="Radio", value=f"📻 on: *{snapshot.radio}*", inline=False)
    embed.set_footer(text=f"id {track.piece_id} · /queue for the whole queue")
    return embed


def queued_text(tracks: list[Track], place: int, channel_name: str) -> str:
    """The answer to /play once the pieces are in the queue (`place` 0: playing now)."""
    first = tracks[0]
    what = f"**{first.title}**" if len(tracks) == 1 else f"{len(tracks)} pieces"
    if place == 0:
        text = f"▶️ Playing {what} in 🔊 {channel_name}."
        if len(tracks) > 1:
            text += f" First up: **{first.title}**."
        return text
    return f"➕ Queued {what} in 🔊 {channel_name}: #{place} in line."


def leave_text(reason: LeaveReason, channel_name: str, idle_s: float) -> str | None:
    """What to say in chat when the bot leaves a voice channel on its own (None: nothing)."""
    match reason:
        case LeaveReason.IDLE:
            return (
                f"👋 Left 🔊 {channel_name}: nothing played for {length_text(idle_s)}."
                " `/play` brings me back."
            )
        case LeaveReason.ALONE:
            return f"👋 Everyone left 🔊 {channel_name}, so I left too."
        case LeaveReason.DISCONNECTED:
            return f"👋 I was disconnected from 🔊 {channel_name}. `/play` brings me back."
    return None
