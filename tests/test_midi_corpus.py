"""The hostile MIDI corpus itself: big enough, well named, deterministic, bounded, quick to build."""

from __future__ import annotations

import io
import time
from pathlib import Path

import mido
import pytest

from tests.midi_corpus import KINDS, MAX_BYTES, NAME, HostileMidi, hostile_midis, main, vlq


@pytest.fixture(scope="module")
def corpus() -> list[HostileMidi]:
    return hostile_midis()


def test_at_least_220_files(corpus: list[HostileMidi]) -> None:
    assert len(corpus) >= 220


def test_names_are_unique_and_kebab_case(corpus: list[HostileMidi]) -> None:
    names = [midi.name for midi in corpus]
    assert len(set(names)) == len(names)
    assert all(NAME.fullmatch(name) for name in names)


def test_every_kind_is_present_and_no_other(corpus: list[HostileMidi]) -> None:
    assert {midi.kind for midi in corpus} == set(KINDS)


def test_deterministic_between_calls(corpus: list[HostileMidi]) -> None:
    assert hostile_midis() == corpus


def test_sizes_are_bounded(corpus: list[HostileMidi]) -> None:
    assert all(isinstance(midi.data, bytes) for midi in corpus)
    assert max(len(midi.data) for midi in corpus) < MAX_BYTES
    assert sum(len(midi.data) for midi in corpus) < 16 * 1024 * 1024


def test_generation_is_quick() -> None:
    started = time.perf_counter()
    hostile_midis()
    assert time.perf_counter() - started < 3.0


def test_vlq() -> None:
    assert vlq(0) == b"\x00"
    assert vlq(0x7F) == b"\x7f"
    assert vlq(0x80) == b"\x81\x00"
    assert vlq(0x0FFFFFFF) == b"\xff\xff\xff\x7f"
    assert vlq(2**28) == b"\x81\x80\x80\x80\x00"  # one byte longer than the standard allows


def test_valid_edge_files_are_valid(corpus: list[HostileMidi]) -> None:
    """The valid-but-unusual files really are valid: mido reads every one without complaint."""
    for midi in corpus:
        if midi.kind == "valid-edge":
            loaded = mido.MidiFile(file=io.BytesIO(midi.data))
            assert loaded.tracks, midi.name


def test_truncations_are_prefixes_of_the_base(corpus: list[HostileMidi]) -> None:
    base = next(midi.data for midi in corpus if midi.name == "truncation-base")
    cuts = [
        midi
        for midi in corpus
        if midi.kind == "truncated" and not midi.name.startswith("body-cut")
        if not midi.name.endswith("fixed-length")
    ]
    assert len(cuts) > 40
    assert all(len(cut.data) < len(base) and base.startswith(cut.data) for cut in cuts)


def test_main_writes_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["midi_corpus.py", str(tmp_path)]) == 0
    written = sorted(tmp_path.glob("*/*.mid"))
    assert len(written) == len(hostile_midis())
    assert {path.parent.name for path in written} == set(KINDS)
    assert f"total {len(written):5}".split() == capsys.readouterr().out.splitlines()[-1].split()


def test_main_wants_a_directory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["midi_corpus.py"]) == 2
    assert "usage" in capsys.readouterr().err
