"""`tunesmith verify FILE`: who made this file, when, under which licence, from which parents.

Three independent witnesses, each reported for what it is worth:
1. the C2PA manifest inside the file, with c2pa's own validation state (Trusted / Valid /
   Invalid); it survives copying, not re-encoding;
2. the file's SHA-256 in the local ledger: this exact file was made here;
3. the audio fingerprint in the local ledger: the sound is that of a piece made here, even after
   re-encoding or trimming (the file itself may have been changed).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot import audio_index
from bot.ledger import Creation, Ledger, NotFound
from bot.provenance import Provenance, SigningIdentity, read_provenance
from generators.errors import BadRequest
from generators.fingerprint import (
    AudioFingerprint,
    FingerprintError,
    Match,
    NotAudio,
    query_fingerprints,
)


@dataclass(frozen=True, slots=True)
class SoundMatch:
    creation: Creation
    match: Match


@dataclass(frozen=True, slots=True)
class FileReport:
    path: Path
    sha256: str
    provenance: Provenance
    by_hash: tuple[Creation, ...]  # pieces whose stored file is exactly this one
    by_sound: tuple[SoundMatch, ...]  # pieces this sounds like, best first
    sound_problem: str | None  # why the audio could not be looked up (too short, silent, ...)
    ledger_checked: bool

    @property
    def identified(self) -> bool:
        """Something vouches for the file: an intact manifest, or the ledger knows it."""
        return self.provenance.intact or bool(self.by_hash) or bool(self.by_sound)

    @property
    def tampered(self) -> bool:
        return self.provenance.has_manifest and not self.provenance.intact

    def to_dict(self) -> dict[str, Any]:
        manifest = self.provenance
        return {
            "file": str(self.path),
            "sha256": self.sha256,
            "identified": self.identified,
            "c2pa": {
                "present": manifest.has_manifest,
                "validation_state": manifest.validation_state,
                "status_codes": list(manifest.status_codes),
                "problem": manifest.problem,
                "signer": manifest.signer,
                "generator": manifest.generator,
                "creator": manifest.creator,
                "created": manifest.created.isoformat() if manifest.created else None,
                "title": manifest.title,
                "licence": manifest.licence,
                "request": manifest.request,
                "seed": manifest.seed,
                "piece_id": manifest.piece_id,
                "parents": [
                    {"id": parent.piece_id, "title": parent.title, "creator": parent.creator}
                    for parent in manifest.parents
                ],
            },
            "ledger": {
                "checked": self.ledger_checked,
                "by_hash": [_creation_dict(creation) for creation in self.by_hash],
                "by_sound": [
                    {
                        **_creation_dict(found.creation),
                        "score": round(found.match.score, 3),
                        "offset_s": round(found.match.offset_s, 2),
                        "bit_error_rate": round(found.match.bit_error_rate, 4),
                    }
                    for found in self.by_sound
                ],
                "sound_problem": self.sound_problem,
            },
        }

    def format(self) -> str:
        """The report for people."""
        manifest = self.provenance
        lines = [f"{self.path}", f"  sha256 {self.sha256}"]
        if manifest.has_manifest:
            state = manifest.validation_state or "unknown"
            meaning = {
                "Trusted": "signed by this installation, unchanged since",
                "Valid": "signature intact, signed by another installation (not in our trust list)",
                "Invalid": "the file was changed after it was signed, or the manifest is damaged",
            }.get(state, "")
            lines.append(f"  C2PA manifest: {state}" + (f" — {meaning}" if meaning else ""))
            if manifest.problem:
                lines.append(f"    {manifest.problem}")
            problems = [
                code for code in manifest.status_codes if code != "signingCredential.untrusted"
            ]
            if problems and state == "Invalid":
                lines.append(f"    c2pa reports: {', '.join(problems)}")
            lines.extend(_manifest_lines(manifest))
        else:
            lines.append("  C2PA manifest: none in this file")
        if not self.ledger_checked:
            lines.append("  Ledger: none on this machine (set TUNESMITH_DATA_DIR to check one)")
        else:
            if self.by_hash:
                for creation in self.by_hash:
                    lines.append(f"  Ledger, same file: {_creation_line(creation)}")
            else:
                lines.append("  Ledger, same file: no piece here has exactly these bytes")
            if self.sound_problem:
                lines.append(f"  Ledger, same sound: not checked — {self.sound_problem}")
            elif self.by_sound:
                for found in self.by_sound:
                    how = (
                        f"sounds the same ({found.match.score:.0%} match"
                        + (
                            f", starts {found.match.offset_s:.1f} s into it"
                            if found.match.offset_s > 0.5
                            else ""
                        )
                        + ")"
                    )
                    lines.append(f"  Ledger, {how}: {_creation_line(found.creation)}")
            else:
                lines.append("  Ledger, same sound: no piece made here sounds like this")
        verdict = (
            "identified"
            if self.identified and not self.tampered
            else "identified by its sound, but the file was changed after signing"
            if self.identified
            else "carries a manifest, but the file was changed after signing: nothing vouches for it"
            if self.tampered
            else "not identified as a Tunesmith piece"
        )
        lines.append(f"  Verdict: {verdict}")
        return "\n".join(lines)


def verify_file(path: Path, ledger: Ledger | None, identity: SigningIdentity | None) -> FileReport:
    """Everything the file, its manifest and the local ledger say about who made it."""
    if not path.is_file():
        what = "a folder" if path.is_dir() else "no file"
        raise BadRequest(f"there is {what} at {path}; give the path of an MP3 (or other audio)")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    manifest = read_provenance(path, identity)
    by_hash: tuple[Creation, ...] = ()
    by_sound: list[SoundMatch] = []
    problem: str | None = None
    if ledger is not None:
        by_hash = tuple(ledger.find_by_sha256(digest))
    queries: tuple[AudioFingerprint, ...] = ()
    try:
        # Decoded even without a ledger: a file that is not audio at all is bad input.
        queries = query_fingerprints(path)
    except NotAudio as error:
        if not manifest.has_manifest and not by_hash:
            raise BadRequest(
                f"{path.name} is not an audio file ({error}); give the path of an MP3 or other "
                "audio file"
            ) from error
        problem = str(error)
    except FingerprintError as error:
        problem = str(error)
    if ledger is not None and queries:
        for found in audio_index.identify(ledger.db.conn, queries):
            try:
                by_sound.append(SoundMatch(ledger.creation(found.creation_id), found.match))
            except NotFound:  # an index entry whose piece is gone: nothing to report
                continue
    return FileReport(path, digest, manifest, by_hash, tuple(by_sound), problem, ledger is not None)


def _manifest_lines(manifest: Provenance) -> list[str]:
    lines = []
    if manifest.title or manifest.creator:
        lines.append(f"    “{manifest.title or 'untitled'}” by {manifest.creator or 'unknown'}")
    if manifest.created:
        lines.append(f"    made {manifest.created.strftime('%Y-%m-%d %H:%M UTC')}")
    if manifest.generator:
        lines.append(f"    with {manifest.generator}")
    if manifest.licence:
        lines.append(f"    licence {manifest.licence}")
    if manifest.request is not None:
        lines.append(f"    request “{manifest.request}”, seed {manifest.seed}")
    for parent in manifest.parents:
        lines.append(
            f"    remix of “{parent.title or 'untitled'}”"
            + (f" ({parent.piece_id})" if parent.piece_id else "")
            + (f" by {parent.creator}" if parent.creator else "")
        )
    if manifest.signer:
        lines.append(f"    signed by {manifest.signer}")
    return lines


def _creation_line(creation: Creation) -> str:
    parts = [
        f"{creation.label} by {creation.owner}",
        f"made {creation.created_at}",
        f"licence {creation.licence}",
    ]
    if creation.parents:
        parts.append("remix of " + ", ".join(creation.parents))
    if creation.deleted:
        parts.append(f"deleted {creation.deleted_at}")
    return ", ".join(parts)


def _creation_dict(creation: Creation) -> dict[str, Any]:
    return {
        "id": creation.id,
        "title": creation.title,
        "owner": str(creation.owner),
        "owner_id": f"{creation.owner.platform}:{creation.owner.user_id}",
        "created_at": creation.created_at,
        "licence": str(creation.licence),
        "parents": list(creation.parents),
        "deleted": creation.deleted,
    }
