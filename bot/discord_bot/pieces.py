"""How a piece looks in Discord: its embed, its files and its buttons.

Buttons are `DynamicItem`s whose custom ids carry the piece id (`piece:like:k3j9x2ab`), so
they keep working on old messages after a restart: discord.py matches the id against the
templates registered at start-up, no view has to be remembered.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import discord

from bot.discord_bot.delivery import Upload
from bot.ledger import Creation, Licence, Owner
from bot.studio import PieceCard

PIECE_ID = r"(?P<id>[0-9a-z]{4,32})"
# Discord embed colours per genre family; unknown genres get a colour from their name.
GENRE_COLOURS = {
    "lofi": 0x8E7CC3,
    "jazz": 0xC27C0E,
    "classical": 0xA67C52,
    "ambient": 0x5DADE2,
    "synthwave": 0xE91E63,
    "edm": 0x00BCD4,
    "hiphop": 0x7E57C2,
    "rock": 0xC0392B,
    "funk": 0xF39C12,
    "bossa": 0x27AE60,
    "chiptune": 0x2ECC71,
    "cinematic": 0x34495E,
}


def owner_of(user: discord.abc.User) -> Owner:
    """The ledger's person for a Discord user."""
    return Owner("discord", str(user.id), user.display_name)


def mention(owner: Owner) -> str:
    if owner.platform == "discord" and owner.user_id.isdigit():
        return f"<@{owner.user_id}>"
    return owner.display_name or owner.user_id


def colour_for(genre: str | None) -> discord.Colour:
    if genre in GENRE_COLOURS:
        return discord.Colour(GENRE_COLOURS[genre])
    digest = hashlib.sha256((genre or "").encode()).digest()
    return discord.Colour(int.from_bytes(digest[:3], "big"))


def length_text(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def originality_text(score: float | None, attempts: int | None = None) -> str:
    if score is None:
        return "not checked"
    verdict = "original" if score >= 0.5 else "close to an earlier melody"
    text = f"{score * 100:.0f} % · {verdict}"
    if attempts and attempts > 1:
        text += f" (recomposed {attempts - 1}×)"
    return text


def quality_text(quality: object) -> str:
    if not isinstance(quality, Mapping):
        return "—"
    passed = quality.get("passed")
    lufs = quality.get("integrated_lufs")
    peak = quality.get("true_peak_dbtp")
    mark = "✅ passed" if passed else "⚠️ below target" if passed is False else "—"
    details = []
    if isinstance(lufs, int | float):
        details.append(f"{lufs:.1f} LUFS")
    if isinstance(peak, int | float):
        details.append(f"peak {peak:.1f} dBTP")
    return mark + (f" · {', '.join(details)}" if details else "")


def licence_text(licence: Licence) -> str:
    if licence.url:
        return f"[{licence.short_name}]({licence.url})"
    return licence.short_name


@dataclass(frozen=True, slots=True)
class PieceFiles:
    """What goes with a piece's message."""

    mp3_name: str
    png_name: str


def file_names(creation: Creation) -> PieceFiles:
    stem = _slug(creation.title or "piece") + "-" + creation.id
    return PieceFiles(f"{stem}.mp3", f"{stem}.png")


def piece_embed(
    card: PieceCard,
    *,
    attempts: int | None = None,
    upload: Upload | None = None,
    lineage: str | None = None,
) -> discord.Embed:
    """The piece's card: title, genre, key, tempo, length, owner, licence, originality, quality."""
    creation = card.creation
    embed = discord.Embed(
        title=creation.title or "Untitled",
        description=f"*{creation.request}*" if creation.request else None,
        colour=colour_for(creation.genre),
    )
    genre = creation.genre or "?"
    if creation.mood:
        genre = f"{creation.mood} {genre}"
    embed.add_field(name="Genre", value=genre)
    embed.add_field(name="Key", value=creation.key or "?")
    tempo = f"{creation.tempo_bpm:.0f} bpm" if creation.tempo_bpm else "?"
    embed.add_field(name="Tempo", value=tempo)
    embed.add_field(name="Length", value=length_text(creation.duration_s))
    embed.add_field(name="Owner", value=mention(creation.owner))
    embed.add_field(name="Licence", value=licence_text(creation.licence))
    embed.add_field(name="Originality", value=originality_text(card.originality, attempts))
    embed.add_field(name="Quality", value=quality_text(creation.quality))
    embed.add_field(name="Likes", value=str(card.likes))
    if lineage:
        embed.add_field(name="Remix of", value=lineage, inline=False)
    if upload is not None and upload.reduced:
        embed.add_field(
            name="Audio",
            value=f"posted at {upload.bitrate_kbps} kbps to fit this server's upload limit;"
            " the signed 192 kbps original is kept in the bot's ledger",
            inline=False,
        )
    names = file_names(creation)
    embed.set_image(url=f"attachment://{names.png_name}")
    embed.set_footer(text=f"id {creation.id} · signed with C2PA provenance · /verify to check")
    return embed


def piece_button(
    action: str, piece_id: str, *, label: str, emoji: str, style: discord.ButtonStyle
) -> discord.ui.Button[discord.ui.View]:
    """A button under a piece; its custom id `piece:<action>:<id>` is what survives restarts."""
    return discord.ui.Button(
        label=label, emoji=emoji, style=style, custom_id=f"piece:{action}:{piece_id}"
    )


def _slug(title: str) -> str:
    """A file name from a title, in plain ASCII ("Café Noir" -> "cafe-noir"): an attachment's
    name must match `attachment://name` exactly, and Discord rewrites names outside ASCII."""
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    kept = "".join(c.lower() if c.isalnum() else "-" for c in plain)
    words = [w for w in kept.split("-") if w]
    return "-".join(words)[:40] or "piece"
