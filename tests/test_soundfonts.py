"""The SoundFont manifest and resolution order, with real files."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generators.errors import SoundFontMissing
from generators.soundfonts import (
    DEFAULT_MANIFEST,
    SoundFontInfo,
    load_manifest,
    resolve_soundfont,
    verify_checksum,
)

REPO = Path(__file__).resolve().parents[1]


def soundfont_file(directory: Path, name: str, content: bytes = b"RIFF fake sf2") -> SoundFontInfo:
    """A real file on disk and the manifest entry that describes it."""
    path = directory / name
    path.write_bytes(content)
    return SoundFontInfo(
        name=name,
        path=path,
        licence="MIT",
        debian_package=f"pkg-{name}",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )


def absent(directory: Path, name: str) -> SoundFontInfo:
    return SoundFontInfo(
        name=name,
        path=directory / "missing" / name,
        licence="MIT",
        debian_package=f"pkg-{name}",
        size=1,
        sha256="0" * 64,
    )


def test_default_manifest_is_the_repository_file() -> None:
    assert DEFAULT_MANIFEST == REPO / "soundfonts" / "manifest.toml"


def test_manifest_default_is_fluidr3_under_mit() -> None:
    manifest = load_manifest()

    default = manifest[0]
    assert default.name == "FluidR3_GM"
    assert default.licence == "MIT"
    assert default.debian_package == "fluid-soundfont-gm"
    assert default.path == Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
    assert [info.name for info in manifest] == ["FluidR3_GM", "MuseScore_General_Lite", "TimGM6mb"]


def test_manifest_entries_are_complete() -> None:
    manifest = load_manifest()

    assert len({info.path for info in manifest}) == len(manifest)
    for info in manifest:
        assert info.path.is_absolute()
        assert info.path.suffix in {".sf2", ".sf3"}
        assert info.size > 0
        assert len(info.sha256) == 64
        int(info.sha256, 16)


def test_installed_fluidr3_matches_manifest_checksum() -> None:
    fluidr3 = load_manifest()[0]
    assert fluidr3.path.is_file(), (
        f"{fluidr3.path} is missing; `make setup` installs {fluidr3.debian_package}"
    )

    assert verify_checksum(fluidr3)


def test_verify_checksum_detects_a_different_file(tmp_path: Path) -> None:
    info = soundfont_file(tmp_path, "a.sf2", b"original bytes")
    assert verify_checksum(info)

    info.path.write_bytes(b"tampered bytes")  # same size, different content
    assert not verify_checksum(info)
    info.path.unlink()
    assert not verify_checksum(info)


def test_explicit_path_wins_over_manifest(tmp_path: Path) -> None:
    listed = soundfont_file(tmp_path, "listed.sf2")
    chosen = soundfont_file(tmp_path, "chosen.sf3").path

    assert resolve_soundfont(chosen, (listed,)) == chosen
    assert resolve_soundfont(str(chosen), (listed,)) == chosen


def test_explicit_missing_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    listed = soundfont_file(tmp_path, "listed.sf2")
    wanted = tmp_path / "typo.sf2"

    with pytest.raises(SoundFontMissing) as raised:
        resolve_soundfont(wanted, (listed,))

    message = str(raised.value)
    assert str(wanted) in message
    assert "TUNESMITH_SOUNDFONT" in message


def test_explicit_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SoundFontMissing, match="directory"):
        resolve_soundfont(tmp_path, (soundfont_file(tmp_path, "listed.sf2"),))


def test_empty_explicit_means_unset(tmp_path: Path) -> None:
    listed = soundfont_file(tmp_path, "listed.sf2")

    assert resolve_soundfont("", (listed,)) == listed.path
    assert resolve_soundfont(None, (listed,)) == listed.path


def test_first_existing_manifest_entry_wins(tmp_path: Path) -> None:
    manifest = (
        absent(tmp_path, "first.sf2"),
        soundfont_file(tmp_path, "second.sf2"),
        soundfont_file(tmp_path, "third.sf2"),
    )

    assert resolve_soundfont(None, manifest) == manifest[1].path


def test_nothing_found_lists_every_path_and_the_install_command(tmp_path: Path) -> None:
    manifest = (absent(tmp_path, "one.sf2"), absent(tmp_path, "two.sf3"))

    with pytest.raises(SoundFontMissing) as raised:
        resolve_soundfont(None, manifest)

    message = str(raised.value)
    for info in manifest:
        assert str(info.path) in message
    assert "apt-get install -y --no-install-recommends pkg-one.sf2" in message
    assert "TUNESMITH_SOUNDFONT" in message


def write_manifest(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


GOOD_ENTRY = """
[[soundfont]]
name = "Test"
path = "/usr/share/sounds/sf2/Test.sf2"
licence = "MIT"
debian_package = "test-soundfont"
size = 10
sha256 = "{sha}"
"""


def test_load_manifest_reads_a_given_file(tmp_path: Path) -> None:
    manifest_path = write_manifest(tmp_path / "m.toml", GOOD_ENTRY.format(sha="a" * 64))

    (info,) = load_manifest(manifest_path)

    assert info == SoundFontInfo(
        name="Test",
        path=Path("/usr/share/sounds/sf2/Test.sf2"),
        licence="MIT",
        debian_package="test-soundfont",
        size=10,
        sha256="a" * 64,
    )


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ("", "at least one"),
        (GOOD_ENTRY.format(sha="abc"), "sha256"),
        (GOOD_ENTRY.format(sha="a" * 64).replace('licence = "MIT"\n', ""), "licence"),
        (GOOD_ENTRY.format(sha="a" * 64).replace("size = 10", "size = 0"), "size"),
        (GOOD_ENTRY.format(sha="a" * 64) + 'licence_url = "x"\n', "licence_url"),
        (GOOD_ENTRY.format(sha="a" * 64).replace('"/usr/share/', '"usr/share/'), "absolute"),
        (GOOD_ENTRY.format(sha="a" * 64) * 2, "unique"),
    ],
)
def test_load_manifest_rejects_malformed_entries(tmp_path: Path, body: str, complaint: str) -> None:
    manifest_path = write_manifest(tmp_path / "m.toml", body)

    with pytest.raises(ValueError, match=complaint):
        load_manifest(manifest_path)


def run_module(*args: str, soundfont: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TUNESMITH_SOUNDFONT"}
    if soundfont is not None:
        env["TUNESMITH_SOUNDFONT"] = soundfont
    return subprocess.run(
        [sys.executable, "-m", "generators.soundfonts", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_command_reads_the_environment_variable(tmp_path: Path) -> None:
    chosen = soundfont_file(tmp_path, "chosen.sf2").path

    result = run_module("--path", soundfont=str(chosen))

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(chosen)


def test_command_fails_when_the_named_file_is_missing(tmp_path: Path) -> None:
    result = run_module(soundfont=str(tmp_path / "nope.sf2"))

    assert result.returncode == 1
    assert str(tmp_path / "nope.sf2") in result.stderr


def test_command_verifies_the_default(tmp_path: Path) -> None:
    result = run_module("--verify", soundfont=None)

    assert result.returncode == 0, result.stderr
    assert "FluidR3_GM" in result.stdout
    assert "SHA-256 matches" in result.stdout
