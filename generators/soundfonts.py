"""Which SoundFont to render with, and whether it is the file we think it is.

The manifest (``soundfonts/manifest.toml``) lists the SoundFonts Tunesmith supports in resolution
order. An explicit path (``TUNESMITH_SOUNDFONT``) always wins and never silently falls back: if a
person names a file, rendering with a different one would be a surprise.

Nothing here reads the environment; callers pass the value of ``TUNESMITH_SOUNDFONT`` in.
Run ``python -m generators.soundfonts [--verify | --path]`` to see which file would be used.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from generators.errors import SoundFontMissing

__all__ = [
    "DEFAULT_MANIFEST",
    "ENV_VAR",
    "SoundFontInfo",
    "install_command",
    "load_manifest",
    "manifest_entry_for",
    "resolve_soundfont",
    "verify_checksum",
]

ENV_VAR = "TUNESMITH_SOUNDFONT"
DEFAULT_MANIFEST = Path(__file__).resolve().parents[1] / "soundfonts" / "manifest.toml"

_FIELDS = ("name", "path", "licence", "debian_package", "size", "sha256")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class SoundFontInfo:
    """One SoundFont from the manifest: where Debian installs it, its licence and checksum."""

    name: str
    path: Path
    licence: str
    debian_package: str
    size: int
    sha256: str


def load_manifest(path: Path | None = None) -> tuple[SoundFontInfo, ...]:
    """Read the SoundFont manifest, in resolution order.

    Raises ``ValueError`` naming the entry and field when the manifest is malformed.
    """
    manifest_path = DEFAULT_MANIFEST if path is None else path
    with manifest_path.open("rb") as f:
        document = tomllib.load(f)
    entries = document.get("soundfont")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{manifest_path}: expected at least one [[soundfont]] table, found none")
    infos = tuple(_parse_entry(manifest_path, i, entry) for i, entry in enumerate(entries))
    names = [info.name for info in infos]
    if len(set(names)) != len(names):
        raise ValueError(f"{manifest_path}: SoundFont names must be unique, got {names}")
    return infos


def _parse_entry(manifest_path: Path, index: int, entry: object) -> SoundFontInfo:
    where = f"{manifest_path}: [[soundfont]] #{index + 1}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a table, got {type(entry).__name__}")
    missing = [field for field in _FIELDS if field not in entry]
    unknown = sorted(set(entry) - set(_FIELDS))
    if missing or unknown:
        raise ValueError(
            f"{where}: fields must be exactly {', '.join(_FIELDS)}; "
            f"missing {missing or 'none'}, unknown {unknown or 'none'}"
        )
    for field in ("name", "path", "licence", "debian_package", "sha256"):
        if not isinstance(entry[field], str) or not entry[field]:
            raise ValueError(f"{where}: {field} must be a non-empty string, got {entry[field]!r}")
    size = entry["size"]
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise ValueError(f"{where}: size must be a positive number of bytes, got {size!r}")
    sha256 = entry["sha256"]
    if not _SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"{where}: sha256 must be 64 lowercase hex digits, got {sha256!r}")
    sf_path = Path(entry["path"])
    if not sf_path.is_absolute():
        raise ValueError(f"{where}: path must be absolute, got {entry['path']!r}")
    return SoundFontInfo(
        name=entry["name"],
        path=sf_path,
        licence=entry["licence"],
        debian_package=entry["debian_package"],
        size=size,
        sha256=sha256,
    )


def install_command(manifest: Sequence[SoundFontInfo]) -> str:
    """The apt-get command that installs the preferred (first) SoundFont of ``manifest``."""
    package = manifest[0].debian_package if manifest else "fluid-soundfont-gm"
    return f"sudo apt-get install -y --no-install-recommends {package}"


def resolve_soundfont(explicit: str | Path | None, manifest: tuple[SoundFontInfo, ...]) -> Path:
    """The SoundFont file to render with.

    ``explicit`` is the value of ``TUNESMITH_SOUNDFONT`` (``None`` or ``""`` when unset). If it is
    given it must name an existing file: there is no fallback. Otherwise the first manifest entry
    whose file exists wins. Raises ``SoundFontMissing`` listing every path looked at and how to
    install one.
    """
    if explicit is not None and str(explicit) != "":
        path = Path(explicit).expanduser()
        if path.is_file():
            return path
        problem = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise SoundFontMissing(
            f"{ENV_VAR} is set to {str(path)!r}, but that path {problem}. "
            f"Point {ENV_VAR} at a .sf2 or .sf3 file, or unset it to use the default "
            f"SoundFont (install it with: {install_command(manifest)})."
        )
    for info in manifest:
        if info.path.is_file():
            return info.path
    looked_at = "\n".join(
        f"  {info.path}  ({info.name}, Debian package {info.debian_package})" for info in manifest
    )
    install_hint = (
        f"Install the default one with:\n  {install_command(manifest)}\n"
        f"(or run `make setup`), or set {ENV_VAR} to the path of a .sf2 or .sf3 file."
    )
    raise SoundFontMissing(
        f"No SoundFont found. Looked at:\n{looked_at or '  (nothing)'}\n{install_hint}"
    )


def manifest_entry_for(path: Path, manifest: tuple[SoundFontInfo, ...]) -> SoundFontInfo | None:
    """The manifest entry describing ``path``, if any (compared after resolving symlinks)."""
    resolved = path.resolve()
    for info in manifest:
        if info.path == path or info.path.resolve() == resolved:
            return info
    return None


def verify_checksum(info: SoundFontInfo) -> bool:
    """Whether the file at ``info.path`` has the manifest's size and SHA-256.

    Streams the file, so it is slow for large SoundFonts (about a second for FluidR3's 148 MB);
    keep it off the rendering path. A missing file is ``False``.
    """
    try:
        if info.path.stat().st_size != info.size:
            return False
        digest = hashlib.sha256()
        with info.path.open("rb") as f:
            while chunk := f.read(_CHUNK_BYTES):
                digest.update(chunk)
    except FileNotFoundError:
        return False
    return digest.hexdigest() == info.sha256


def main(argv: Sequence[str] | None = None) -> int:
    """Print the SoundFont that would be used; with ``--verify`` also check its SHA-256.

    Exit status 0 when a SoundFont was found (and, with ``--verify``, matches), else 1.
    """
    parser = argparse.ArgumentParser(
        prog="python -m generators.soundfonts",
        description=f"Show which SoundFont Tunesmith renders with ({ENV_VAR}, then the manifest).",
    )
    parser.add_argument("--manifest", type=Path, default=None, help="manifest to read")
    parser.add_argument(
        "--verify", action="store_true", help="check the file's SHA-256 against the manifest"
    )
    parser.add_argument(
        "--path", action="store_true", help="print only the resolved path (for shell scripts)"
    )
    args = parser.parse_args(argv)
    manifest = load_manifest(args.manifest)
    try:
        path = resolve_soundfont(os.environ.get(ENV_VAR), manifest)
    except SoundFontMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.path:
        print(path)
        return 0
    info = manifest_entry_for(path, manifest)
    if info is None:
        print(f"SoundFont: {path} (from {ENV_VAR}; not in the manifest, checksum not checked)")
        return 0
    print(f"SoundFont: {info.name} at {path} (licence {info.licence}, {info.debian_package})")
    size = path.stat().st_size
    if size != info.size:
        print(
            f"warning: {path} is {size} bytes, the manifest records {info.size}; "
            f"a different version of {info.debian_package}?",
            file=sys.stderr,
        )
    if args.verify:
        if not verify_checksum(info):
            print(
                f"error: {path} does not match the manifest's SHA-256 {info.sha256}. "
                f"Reinstall it: sudo apt-get install --reinstall {info.debian_package}",
                file=sys.stderr,
            )
            return 1
        print(f"SHA-256 matches the manifest: {info.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
