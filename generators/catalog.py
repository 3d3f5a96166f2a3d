"""What can be asked for: genres, moods, modes, keys and instruments, with their allowed ranges.

Front ends build help, autocomplete and error messages from this one table instead of copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class GenreInfo:
    name: str
    aliases: tuple[str, ...]
    tempo_range: tuple[int, int]  # BPM the genre sounds like itself in
    description: str
    # Aliases that also pick a variant of the genre ("trap" → hiphop, variant trap). Each variant
    # name is itself one of the aliases, so "hiphop trap" reads back the same.
    variants: tuple[tuple[str, str], ...] = ()

    def variant_of(self, phrase: str) -> str | None:
        return dict(self.variants).get(phrase)


@dataclass(frozen=True, slots=True)
class MoodInfo:
    name: str
    aliases: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class InstrumentInfo:
    name: str
    aliases: tuple[str, ...]
    program: int  # General MIDI, 0-based as pretty_midi uses them
    family: str  # "keys", "guitar", "wind", "brass", "strings", "pad", "mallet", "bass", "voice", "drums"


GENRES: tuple[GenreInfo, ...] = (
    GenreInfo(
        "lofi",
        ("lo-fi", "lo fi", "chillhop", "study", "lofi hip hop"),
        (70, 90),
        "dusty swung boom-bap, Rhodes jazz chords, vinyl crackle",
    ),
    GenreInfo(
        "jazz",
        ("swing", "bebop", "jazz ballad", "ballad"),
        (60, 190),
        "walking bass, ride cymbal swing, ii-V-I, a head melody",
        (("ballad", "ballad"), ("jazz ballad", "ballad"), ("swing", "swing"), ("bebop", "bebop")),
    ),
    GenreInfo(
        "ambient",
        ("drone", "chill ambient", "atmospheric"),
        (50, 80),
        "slow modal pads, drones, sparse motifs in a big reverb",
    ),
    GenreInfo(
        "classical",
        ("classic", "classical piano", "sonatina", "string quartet", "quartet"),
        (60, 120),
        "a singable periodic melody over Alberti bass, functional harmony, A-B-A form",
        (("string quartet", "quartet"), ("quartet", "quartet")),
    ),
    GenreInfo(
        "rock",
        ("indie", "indie rock", "classic rock", "rock and roll"),
        (100, 150),
        "driving 8ths, power chords, backbeat, a riff and a louder chorus",
    ),
    GenreInfo(
        "edm",
        ("house", "dance", "electronic", "club", "edm house"),
        (120, 128),
        "four-on-the-floor, side-chained bass and pads, build-ups and drops",
    ),
    GenreInfo(
        "hiphop",
        ("hip hop", "hip-hop", "rap beat", "boom bap", "boombap", "trap"),
        (85, 150),
        "boom bap at 85-95 or half-time trap at 130-150, dark minor loops, 808s",
        (("boombap", "boombap"), ("boom bap", "boombap"), ("trap", "trap")),
    ),
    GenreInfo(
        "chiptune",
        ("8-bit", "8 bit", "8bit", "chip", "video game", "nes"),
        (120, 170),
        "square and triangle waves, fast arpeggios, four voices like the NES",
    ),
    GenreInfo(
        "cinematic",
        ("orchestral", "film", "film score", "soundtrack", "trailer"),
        (70, 110),
        "string ostinati, horns, timpani, building in layers to a climax",
    ),
    GenreInfo(
        "synthwave",
        ("retrowave", "retro wave", "outrun", "eighties"),
        (80, 118),
        "gated snare, octave synth bass, poly-synth pads, a nostalgic lead",
    ),
    GenreInfo(
        "funk",
        ("groove", "disco funk", "disco-funk", "funky"),
        (95, 115),
        "16th syncopation, slap bass, muted guitar chops, horn stabs",
    ),
    GenreInfo(
        "bossa",
        ("bossa nova", "bossanova", "latin jazz"),
        (120, 145),
        "nylon guitar comping, root-fifth bass, cross-stick and shaker, soft and lyrical",
    ),
)

MOODS: tuple[MoodInfo, ...] = (
    MoodInfo("happy", ("cheerful", "joyful", "upbeat", "bright"), "major, brighter, busier"),
    MoodInfo(
        "sad", ("melancholic", "melancholy", "blue", "sombre", "somber"), "minor, slower, sparser"
    ),
    MoodInfo("calm", ("relaxed", "chill", "peaceful", "mellow", "gentle"), "soft and unhurried"),
    MoodInfo("energetic", ("energized", "lively", "driving"), "faster, denser, louder"),
    MoodInfo("dark", ("gloomy", "ominous", "moody"), "phrygian or minor, low register"),
    MoodInfo("dreamy", ("floaty", "hazy", "ethereal"), "lydian, add9 colours, more reverb"),
    MoodInfo("epic", ("heroic", "grand"), "wide range, building"),
    MoodInfo("romantic", ("tender", "loving", "warm"), "lyrical, rich chords"),
    MoodInfo("mysterious", ("eerie", "enigmatic"), "dorian or phrygian, sparse"),
    MoodInfo("tense", ("anxious", "suspenseful", "nervous"), "pedal points, more dissonance"),
)

# Modes by name, as semitone offsets from the tonic.
MODES: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {
        "major": (0, 2, 4, 5, 7, 9, 11),
        "minor": (0, 2, 3, 5, 7, 8, 10),
        "dorian": (0, 2, 3, 5, 7, 9, 10),
        "phrygian": (0, 1, 3, 5, 7, 8, 10),
        "lydian": (0, 2, 4, 6, 7, 9, 11),
        "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    }
)
MODE_ALIASES: Mapping[str, str] = MappingProxyType(
    {"ionian": "major", "aeolian": "minor", "maj": "major", "min": "minor", "m": "minor"}
)

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

INSTRUMENTS: tuple[InstrumentInfo, ...] = (
    InstrumentInfo("piano", ("grand piano", "acoustic piano", "keys"), 0, "keys"),
    InstrumentInfo("rhodes", ("electric piano", "e-piano", "epiano", "wurlitzer"), 4, "keys"),
    InstrumentInfo("organ", ("hammond", "b3"), 16, "keys"),
    InstrumentInfo("celesta", (), 8, "mallet"),
    InstrumentInfo("glockenspiel", ("glock",), 9, "mallet"),
    InstrumentInfo("music box", (), 10, "mallet"),
    InstrumentInfo("vibraphone", ("vibes", "vibraphones"), 11, "mallet"),
    InstrumentInfo("marimba", (), 12, "mallet"),
    InstrumentInfo("bells", ("tubular bells", "chimes"), 14, "mallet"),
    InstrumentInfo("nylon guitar", ("classical guitar", "spanish guitar"), 24, "guitar"),
    InstrumentInfo("acoustic guitar", ("steel guitar", "folk guitar"), 25, "guitar"),
    InstrumentInfo("jazz guitar", ("guitar", "hollow body"), 26, "guitar"),
    InstrumentInfo("clean guitar", ("electric guitar",), 27, "guitar"),
    InstrumentInfo("upright bass", ("double bass", "acoustic bass", "bass"), 32, "bass"),
    InstrumentInfo("electric bass", ("finger bass", "bass guitar"), 33, "bass"),
    InstrumentInfo("violin", ("fiddle",), 40, "strings"),
    InstrumentInfo("cello", (), 42, "strings"),
    InstrumentInfo("harp", (), 46, "strings"),
    InstrumentInfo("strings", ("string section", "orchestra strings"), 48, "strings"),
    InstrumentInfo("choir", ("voices", "aahs", "vocals"), 52, "voice"),
    InstrumentInfo("trumpet", ("horn", "flugelhorn"), 56, "brass"),
    InstrumentInfo("trombone", (), 57, "brass"),
    InstrumentInfo("muted trumpet", ("harmon trumpet",), 59, "brass"),
    InstrumentInfo("soprano sax", (), 64, "wind"),
    InstrumentInfo("alto sax", (), 65, "wind"),
    InstrumentInfo("tenor sax", ("sax", "saxophone"), 66, "wind"),
    InstrumentInfo("clarinet", (), 71, "wind"),
    InstrumentInfo("flute", ("flutes",), 73, "wind"),
    InstrumentInfo("pad", ("warm pad", "synth pad"), 89, "pad"),
    InstrumentInfo("choir pad", ("halo pad", "halo"), 94, "pad"),
    InstrumentInfo("drums", ("drum kit", "beat", "percussion"), 0, "drums"),
)


@dataclass(frozen=True, slots=True)
class Catalog:
    """The catalogue a grammar or a help page reads. Build once with `Catalog.default()`, pass it in."""

    genres: tuple[GenreInfo, ...]
    moods: tuple[MoodInfo, ...]
    modes: Mapping[str, tuple[int, ...]]
    mode_aliases: Mapping[str, str]
    instruments: tuple[InstrumentInfo, ...]
    min_duration_s: float
    max_duration_s: float
    min_tempo_bpm: int
    max_tempo_bpm: int

    @classmethod
    def default(cls) -> Catalog:
        from generators.request import MAX_DURATION_S, MIN_DURATION_S

        return cls(
            genres=GENRES,
            moods=MOODS,
            modes=MODES,
            mode_aliases=MODE_ALIASES,
            instruments=INSTRUMENTS,
            min_duration_s=MIN_DURATION_S,
            max_duration_s=MAX_DURATION_S,
            min_tempo_bpm=40,
            max_tempo_bpm=220,
        )

    def genre(self, name: str) -> GenreInfo:
        for info in self.genres:
            if info.name == name:
                return info
        raise KeyError(name)

    def instrument(self, name: str) -> InstrumentInfo:
        for info in self.instruments:
            if info.name == name:
                return info
        raise KeyError(name)
