"""The public-domain melodies in music21's bundled corpus that new pieces are checked against.

Each collection says why its melodies are in the public domain. Folk-tune books are read through
music21's ABC tokenizer (fast); the Bach chorales and the lead sheets through music21's parser.
music21 is an optional dependency (the `reference` extra): it is imported only here, lazily.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.originality.errors import ReferenceIndexError
from bot.originality.fingerprint import MelodyFingerprint
from bot.originality.melody import Melody, melody_from_abc_tokens, melody_from_stream

# A tune shorter than this is too short to recognise (it has three 8-note phrases at most).
MIN_NOTES = 10


@dataclass(frozen=True, slots=True)
class Collection:
    """A directory (or some files) of music21's corpus and why its melodies are public domain."""

    name: str
    directory: str  # relative to music21/corpus
    pattern: str  # glob within the directory
    reader: str  # "abc" or "stream"
    public_domain: str
    exclude: str = ""  # regular expression on the file name


COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        "Essen folksong collection",
        "essenFolksong",
        "*.abc",
        "abc",
        "Traditional folk songs (German, Chinese and other) collected in the 19th and 20th"
        " centuries; the melodies are traditional. The EsAC encodings are distributed by music21"
        " with permission for non-commercial use; only hashed fingerprints are stored here.",
        exclude=r"^test",  # music21's own test excerpts, duplicates of the collection
    ),
    Collection(
        "Ryan's Mammoth Collection",
        "ryansMammoth",
        "*.abc",
        "abc",
        "Published 1883 in Boston (William Bradbury Ryan): 1050 reels and jigs, US public domain.",
    ),
    Collection(
        "O'Neill's Music of Ireland",
        "oneills1850",
        "*.abc",
        "abc",
        "Francis O'Neill, Music of Ireland (Chicago, 1903): traditional Irish tunes, public domain.",
    ),
    Collection(
        "Aird's Airs",
        "airdsAirs",
        "*.abc",
        "abc",
        "James Aird, A Selection of Scotch, English, Irish and Foreign Airs (Glasgow, 1778-1803).",
    ),
    Collection(
        "American fife and Northumbrian minstrelsy",
        "miscFolk",
        "*.abc",
        "abc",
        "Colonial and Civil War fife tunes; Northumbrian Minstrelsy (1882): 18th-19th c. tunes.",
    ),
    Collection(
        "Nottingham Music Database",
        "nottingham-dataset",
        "*.abc",
        "abc",
        "Traditional British and Irish dance tunes (the music21 excerpt).",
    ),
    Collection(
        "Bach chorales",
        "bach",
        "bwv*.mxl",
        "stream",
        "J. S. Bach (1685-1750) harmonisations of Lutheran hymn tunes; soprano line only.",
        exclude=r"^bwv846\.",  # the C major prelude: figuration, not a tune
    ),
    Collection(
        "Lead sheets",
        "leadSheet",
        "*.mxl",
        "stream",
        "Stephen Foster, Jeanie with the Light Brown Hair (1854); Irving Berlin, Alexander's"
        " Ragtime Band (1911): both published before 1929, US public domain.",
    ),
)


@dataclass(frozen=True, slots=True)
class ReferenceWork:
    """One known melody of the reference corpus."""

    title: str
    composer: str  # composer, or the collection's editor/origin for traditional tunes
    collection: str
    source: str  # corpus path, with the tune number in an ABC book: 'essenFolksong/han1.abc#12'

    def describe(self) -> str:
        who = f" ({self.composer})" if self.composer else ""
        return f"“{self.title}”{who}, {self.collection}"


def corpus_root() -> Path:
    """Where music21's bundled corpus is installed."""
    try:
        from music21 import corpus
    except ImportError:  # pragma: no cover - music21 is in the dev and reference extras
        raise ReferenceIndexError(
            "building the reference melody index needs music21; install the 'reference' extra"
            " (pip install 'tunesmith[reference]')"
        ) from None
    return Path(corpus.__file__).parent


def corpus_files(
    collections: tuple[Collection, ...] = COLLECTIONS, root: Path | None = None
) -> list[tuple[Collection, Path]]:
    """Every corpus file of the chosen collections, in a stable order."""
    root = root or corpus_root()
    files: list[tuple[Collection, Path]] = []
    for collection in collections:
        skip = re.compile(collection.exclude) if collection.exclude else None
        for path in sorted((root / collection.directory).glob(collection.pattern)):
            if skip is None or not skip.search(path.name):
                files.append((collection, path))
    return files


def read_file(
    collection: Collection, path: Path, root: Path | None = None
) -> list[tuple[ReferenceWork, MelodyFingerprint]]:
    """The fingerprinted melodies of one corpus file (an ABC book holds many tunes)."""
    return [
        (work, MelodyFingerprint.of(melody))
        for work, melody in read_melodies(collection, path, root)
    ]


def read_melodies(
    collection: Collection, path: Path, root: Path | None = None
) -> list[tuple[ReferenceWork, Melody]]:
    """The melodies of one corpus file, long enough to be recognised."""
    root = root or corpus_root()
    source = path.relative_to(root).as_posix()
    if collection.reader == "abc":
        works = _read_abc(collection, path, source)
    elif collection.reader == "stream":
        works = _read_stream(collection, path, source)
    else:
        raise ValueError(f"reader must be 'abc' or 'stream', got {collection.reader!r}")
    return [(work, melody) for work, melody in works if len(melody) >= MIN_NOTES]


def _read_abc(
    collection: Collection, path: Path, source: str
) -> list[tuple[ReferenceWork, Melody]]:
    from music21 import abcFormat

    abc_file = abcFormat.ABCFile()
    abc_file.open(path)
    try:
        handler = abc_file.read()
    finally:
        abc_file.close()
    tunes = (
        handler.splitByReferenceNumber() if handler.definesReferenceNumbers() else {None: handler}
    )
    works: list[tuple[ReferenceWork, Melody]] = []
    for number, tune in sorted(tunes.items(), key=lambda item: item[0] or 0):
        title, composer = _abc_metadata(tune.tokens)
        voices = tune.splitByVoice()
        # With voices, the first collection is the header and the next is the top voice.
        notes = voices[1].tokens if len(voices) > 1 else tune.tokens
        where = f"{source}#{number}" if number is not None else source
        work = ReferenceWork(title or path.stem, composer, collection.name, where)
        works.append((work, melody_from_abc_tokens(notes)))
    return works


def _abc_metadata(tokens: list[object]) -> tuple[str, str]:
    from music21 import abcFormat

    title = composer = origin = ""
    for token in tokens:
        if not isinstance(token, abcFormat.ABCMetadata):
            continue
        if token.isTitle() and not title:
            title = token.data.strip()
        elif token.isComposer() and not composer:
            composer = token.data.strip()
        elif token.isOrigin() and not origin:
            origin = token.data.strip()
    return title, composer or origin or "traditional"


def _read_stream(
    collection: Collection, path: Path, source: str
) -> list[tuple[ReferenceWork, Melody]]:
    from music21 import converter

    score = converter.parse(path, forceSource=True)
    metadata = score.metadata
    title = (metadata.title if metadata else None) or ""
    composer = (metadata.composer if metadata else None) or ""
    if path.name.startswith("bwv"):
        title = title or f"Chorale BWV {path.stem.removeprefix('bwv')}"
        composer = composer or "J. S. Bach"
    work = ReferenceWork(title or path.stem, composer, collection.name, source)
    return [(work, melody_from_stream(score))]
