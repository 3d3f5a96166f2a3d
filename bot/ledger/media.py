"""Content-addressed media files: `<root>/<first 2 hex>/<sha256>.<ext>`, never named from user input.

A file is written (temp file in the same directory, fsync, rename, fsync of the directory) before
the database row that refers to it commits, and unlinked only after the row's removal commits, so a
crash leaves at worst an orphan file, which the next `sweep` removes. The ledger calls these while
holding the SQLite write lock, so another process's sweep never sees a half-done write.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.ledger.errors import InvalidValue

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MEDIA_NAME = re.compile(r"^(?P<sha>[0-9a-f]{64})\.(?P<ext>[a-z0-9]{1,8})$")
_TEMP_PREFIX = ".tmp-"


def check_sha256(value: str) -> str:
    """`value` if it is a lowercase hex sha256, else InvalidValue (it names files on disk)."""
    if not isinstance(value, str) or not _SHA256.match(value):
        raise InvalidValue(f"A file hash is 64 lowercase hex digits, got {value!r}.")
    return value


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file on disk in the store, as the sweep finds it."""

    sha256: str
    ext: str
    path: Path


@dataclass(frozen=True, slots=True)
class WrittenFile:
    sha256: str
    path: Path
    size: int
    created: bool  # False when the same bytes were already stored


class MediaStore:
    """The files under one root directory. Holds no state besides the root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str, ext: str) -> Path:
        check_sha256(sha256)
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    def write(self, data: bytes, ext: str) -> WrittenFile:
        """Store `data` durably under its sha256; a no-op when the file is already there."""
        sha256 = hashlib.sha256(data).hexdigest()
        final = self.path_for(sha256, ext)
        # The rename is atomic, so an existing file under this name is complete.
        if final.exists() and final.stat().st_size == len(data):
            return WrittenFile(sha256, final, len(data), created=False)
        directory = final.parent
        self._make_dir(directory)
        temp = directory / f"{_TEMP_PREFIX}{sha256[:16]}-{secrets.token_hex(4)}"
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, final)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        _fsync_dir(directory)
        return WrittenFile(sha256, final, len(data), created=True)

    def unlink(self, sha256: str, ext: str) -> bool:
        """Remove a stored file (durably); False if it was not there."""
        path = self.path_for(sha256, ext)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def files(self) -> Iterator[StoredFile]:
        """Every media file on disk (temp files and anything not named like ours are skipped)."""
        for directory in self._subdirs():
            for entry in directory.iterdir():
                match = _MEDIA_NAME.match(entry.name)
                if match and match["sha"][:2] == directory.name and entry.is_file():
                    yield StoredFile(match["sha"], match["ext"], entry)

    def temp_files(self) -> Iterator[Path]:
        """Temp files left by a write that crashed before its rename."""
        for directory in self._subdirs():
            yield from (p for p in directory.iterdir() if p.name.startswith(_TEMP_PREFIX))

    def remove_temp(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        _fsync_dir(path.parent)

    def _subdirs(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for directory in sorted(self.root.iterdir()):
            if directory.is_dir() and re.fullmatch(r"[0-9a-f]{2}", directory.name):
                yield directory

    def _make_dir(self, directory: Path) -> None:
        if directory.is_dir():
            return
        created_root = not self.root.is_dir()
        directory.mkdir(parents=True, exist_ok=True)
        # A new directory entry is durable only once its parent directory is synced.
        _fsync_dir(self.root)
        if created_root:
            _fsync_dir(self.root.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
