"""Arrangement: which instrument plays which role, their ranges, panning and the chord timeline."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from generators.catalog import InstrumentInfo
from generators.errors import BadRequest
from generators.score import Chord, ChordSpan, Note, Role

# Playable (sounding) ranges of the GM programs we use; anything else gets a generic range.
PROGRAM_RANGES: Mapping[int, tuple[int, int]] = {
    0: (21, 108), 4: (28, 103), 7: (36, 96), 8: (60, 108), 9: (79, 108), 10: (60, 96), 11: (53, 89),
    12: (45, 96), 14: (60, 77), 16: (36, 96), 24: (40, 83), 25: (40, 83), 26: (40, 86), 27: (40, 86),
    28: (40, 86), 29: (40, 86), 30: (40, 86), 32: (28, 55), 33: (28, 60), 34: (28, 60),
    35: (28, 60), 36: (28, 64), 37: (28, 64), 38: (24, 72), 39: (24, 72), 40: (55, 100),
    41: (48, 88), 42: (36, 76), 43: (28, 60), 45: (28, 96), 46: (24, 103), 47: (36, 60),
    48: (28, 96), 49: (28, 96), 52: (48, 79), 56: (52, 82), 57: (40, 72), 59: (52, 82),
    60: (34, 77), 61: (36, 84), 62: (36, 96), 64: (56, 88), 65: (49, 81), 66: (44, 75),
    71: (50, 91), 73: (60, 96), 80: (36, 96), 81: (36, 96), 88: (36, 96), 89: (36, 96),
    90: (36, 96), 91: (36, 96), 94: (36, 96),
}  # fmt: skip


def playable_range(program: int) -> tuple[int, int]:
    return PROGRAM_RANGES.get(program, (36, 96))


def fit_range(notes: Iterable[Note], program: int) -> list[Note]:
    """Move any note outside the instrument's range by octaves until it fits."""
    low, high = playable_range(program)
    out = []
    for note in notes:
        pitch = note.pitch
        while pitch < low:
            pitch += 12
        while pitch > high:
            pitch -= 12
        out.append(
            note if pitch == note.pitch else Note(note.start, note.duration, pitch, note.velocity)
        )
    return out


@dataclass(frozen=True, slots=True)
class Band:
    """GM programs by role for one piece; `None` means the role is left out."""

    lead: int | None
    chords: int | None
    bass: int | None
    drums: int | None  # drum kit number (bank 128)
    pad: int | None = None
    counter: int | None = None

    def program(self, role: Role) -> int | None:
        return {
            Role.LEAD: self.lead,
            Role.CHORDS: self.chords,
            Role.BASS: self.bass,
            Role.DRUMS: self.drums,
            Role.PAD: self.pad,
            Role.COUNTER: self.counter,
        }.get(role)


_LEAD_FAMILIES = {"wind", "brass", "voice", "mallet"}


def assign_instruments(
    band: Band,
    requested: Sequence[str],
    without: Sequence[str],
    instruments: Sequence[InstrumentInfo],
) -> Band:
    """Give requested instruments the role they suit; drop what the request leaves out.

    Winds, brass, voices and mallets take the lead; keys and guitars comp (or lead when a solo
    keyboard is all that was asked); a bass plays the bass; strings and pads hold the pad.
    """
    by_name = {info.name: info for info in instruments}
    roles: dict[str, int | None] = {
        "lead": band.lead,
        "chords": band.chords,
        "bass": band.bass,
        "drums": band.drums,
        "pad": band.pad,
        "counter": band.counter,
    }
    lead_taken = False
    chords_taken = False
    for name in requested:
        info = by_name.get(name)
        if info is None:
            known = ", ".join(sorted(by_name))
            raise BadRequest(f"unknown instrument {name!r}; known instruments: {known}")
        if info.family == "drums":
            if roles["drums"] is None:
                roles["drums"] = 0
        elif info.family == "bass":
            roles["bass"] = info.program
        elif info.family in _LEAD_FAMILIES or (info.family == "strings" and info.program != 48):
            if lead_taken:
                roles["counter"] = info.program
            else:
                roles["lead"] = info.program
                lead_taken = True
        elif info.family in ("keys", "guitar"):
            if chords_taken and not lead_taken:
                roles["lead"] = info.program
                lead_taken = True
            else:
                roles["chords"] = info.program
                chords_taken = True
        elif info.family in ("pad", "strings"):
            roles["pad"] = info.program
    role_words = {
        "drums": "drums",
        "bass": "bass",
        "melody": "lead",
        "lead": "lead",
        "chords": "chords",
        "pad": "pad",
    }
    for name in without:
        if name in role_words:
            roles[role_words[name]] = None
            continue
        info = by_name.get(name)
        if info is None:
            raise BadRequest(
                f"cannot leave out {name!r}; say e.g. 'no drums', 'without bass', 'no piano'"
            )
        for role, program in roles.items():
            if program == info.program and (role == "drums") == (info.family == "drums"):
                roles[role] = None
    return Band(**roles)


class ChordTimeline:
    """The chord sounding at any beat."""

    def __init__(self, spans: Sequence[ChordSpan]) -> None:
        if not spans:
            raise ValueError("a chord timeline needs at least one chord")
        self._spans = tuple(spans)
        self._starts = [span.start for span in self._spans]

    def __call__(self, beat: float) -> Chord:
        index = bisect.bisect_right(self._starts, beat + 1e-6) - 1
        return self._spans[max(0, index)].chord

    def span_at(self, beat: float) -> ChordSpan:
        index = bisect.bisect_right(self._starts, beat + 1e-6) - 1
        return self._spans[max(0, index)]

    @property
    def spans(self) -> tuple[ChordSpan, ...]:
        return self._spans


def pan_positions(roles: Sequence[Role]) -> dict[Role, float]:
    """A classic stereo picture: bass, kick and lead centred, harmony spread either side."""
    table = {
        Role.BASS: 0.0,
        Role.DRUMS: 0.0,
        Role.LEAD: 0.08,
        Role.CHORDS: -0.3,
        Role.PAD: 0.3,
        Role.COUNTER: 0.4,
        Role.TEXTURE: -0.45,
    }
    return {role: table[role] for role in roles}
