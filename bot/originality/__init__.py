"""Originality: is a new piece's melody too close to an earlier piece or a known melody?

    melody = melody_of(score)                      # the lead line, highest note per onset
    fingerprint = MelodyFingerprint.of(melody)     # interval + rhythm-ratio tokens, hashed 8-note grams
    result = check(conn, fingerprint, reference)   # earlier pieces + known public-domain melodies
    if result.too_close: ...compose again with another seed...
    add(conn, creation_id, fingerprint, result)    # inside the ledger's write transaction

The reference index is a separate SQLite file built at set-up from music21's corpus:
`python -m bot.originality build-reference data/reference-melodies.sqlite` (13,297 melodies,
about 45 s on two cores; see `corpus.COLLECTIONS` for what is in it and why it is public domain).

Calibration (`bench.calibrate`, `bench.bench_originality`; numbers of November 2026):
- 1,200 composed pieces, all twelve genres, each checked against the earlier ones and the corpus:
  best similarity to an earlier piece p99 0.42, max 0.64 (threshold 0.7); to a known melody p99
  0.30, max 0.43 (threshold 0.6); none flagged.
- 600 new pieces against 20,000 composed ones: 6 flagged (1 %), all rock or funk sharing a whole
  riff-built melody with an earlier piece. Since their hooks and horn calls are written per seed
  (de7e1e5), 2,000 rock and 2,000 funk pieces each checked against the earlier ones of their
  genre: none flagged (before: 67 and 146).
- 400 planted corpus copies (8 bars, transposed, note values x0.5/x1.5/x2, one note changed):
  all flagged, similarity min 0.80. Copies of earlier pieces (transposed, another tempo): all
  flagged when the melody has 12 notes or more; under 8 notes a melody is too short to compare.
"""

from bot.originality.corpus import COLLECTIONS, Collection, ReferenceWork
from bot.originality.errors import OriginalityError, ReferenceIndexError
from bot.originality.fingerprint import FINGERPRINT_VERSION, GRAM_TOKENS, MelodyFingerprint
from bot.originality.index import (
    add,
    check,
    create_tables,
    indexed_pieces,
    remove,
    stale_pieces,
)
from bot.originality.melody import Melody, melody_from_stream, melody_of
from bot.originality.reference import ReferenceIndex, ReferenceSummary, build_reference
from bot.originality.verdict import (
    DEFAULT_POLICY,
    MelodyMatch,
    OriginalityResult,
    Policy,
    Source,
)
from generators.score import Score

DEFAULT_REFERENCE_PATH = "data/reference-melodies.sqlite"


def fingerprint_of(score: Score) -> MelodyFingerprint:
    """The melody fingerprint of a piece."""
    return MelodyFingerprint.of(melody_of(score))


__all__ = [
    "COLLECTIONS",
    "DEFAULT_POLICY",
    "DEFAULT_REFERENCE_PATH",
    "FINGERPRINT_VERSION",
    "GRAM_TOKENS",
    "Collection",
    "Melody",
    "MelodyFingerprint",
    "MelodyMatch",
    "OriginalityError",
    "OriginalityResult",
    "Policy",
    "ReferenceIndex",
    "ReferenceIndexError",
    "ReferenceSummary",
    "ReferenceWork",
    "Source",
    "add",
    "build_reference",
    "check",
    "create_tables",
    "fingerprint_of",
    "indexed_pieces",
    "melody_from_stream",
    "melody_of",
    "remove",
    "stale_pieces",
]
