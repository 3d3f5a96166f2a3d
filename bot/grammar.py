"""The chat command grammar every front end shares: typed words in, a `CompositionRequest` out.

`parse_request("sad jazz 1m30s in D minor at 96 bpm with piano and sax", catalog)` understands
genres, moods, lengths, keys, tempos and instruments in any order, ignores filler words, and
raises `GrammarError` with a message a new user can act on for anything else.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from generators.catalog import NOTE_NAMES, Catalog
from generators.errors import BadRequest
from generators.remix import FASTER, SLOWER, RemixChanges
from generators.request import CompositionRequest

MAX_REQUEST_CHARS = 500
DEFAULT_DURATION_S = 30.0
ROLES = ("drums", "bass", "melody", "chords", "pad")

_FILLER = frozenset(
    {
        "a", "an", "the", "of", "some", "me", "please", "pls", "plz", "song", "songs", "track",
        "tracks", "piece", "tune", "tunes", "music", "compose", "make", "play", "for", "long",
        "about", "around", "roughly", "approximately", "give", "gimme", "i", "want", "would",
        "like", "to", "and", "just", "little", "short", "something", "style", "loop", "in", "at",
        "it", "that", "is", "can", "you", "write", "create", "generate", "one", "jam", "groove",
        "composition", "instrumental", "melody", "chords", "mode", "scale", "feel", "mood",
        "sound", "sounding", "kind", "sort", "type", "bit", "very", "really", "quite", "kinda",
        "hey", "new", "by", "am", "im", "i'm", "i'd", "or", "plus", "also", "lots", "lot",
        "ish", "vibe",
    }
)  # fmt: skip
# Read as filler outside a `with`/`without` list ("a lofi beat"), as drums inside one.
_LOOSE_WORDS = frozenset({"beat", "beats"})
_WITH_MARKERS = frozenset({"with", "featuring", "feat", "ft", "on", "using"})
_WITHOUT_MARKERS = frozenset({"without", "no", "minus", "sans", "except", "excluding"})
_LIST_WORDS = frozenset({"and", "or", "plus", "also", "a", "an", "the", "some", "lots", "of"})

_SMALL_NUMBERS: Mapping[str, int] = MappingProxyType(
    {
        "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
        "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
        "nineteen": 19,
    }
)  # fmt: skip
_TENS: Mapping[str, int] = MappingProxyType(
    {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
     "eighty": 80, "ninety": 90}
)  # fmt: skip
_TIME_UNITS: Mapping[str, float] = MappingProxyType(
    {
        **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1.0),
        **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60.0),
        **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600.0),
    }
)
_NOTE_PITCHES: Mapping[str, int] = MappingProxyType(
    {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
)
_KEY_FOLLOWERS = frozenset({"mode", "key", "scale"})
_TEMPO_LEAD_SKIPS = frozenset({"a", "tempo", "of", "is", "at", "around", "about"})
_LENGTH_CHOICES = ("30s", "45s", "1m", "1m30s", "2m")
_UNIT_WORDS = ("seconds", "minutes", "bpm", "tempo", "with", "without", "featuring", "key")

# Every pattern is anchored and linear: no nested quantifiers, so no catastrophic backtracking.
_DECIMAL_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
_QUANTITY_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)-?([a-z]+)", re.ASCII)
_MIN_SEC_RE = re.compile(r"([0-9]+)(?:m|min|mins)([0-9]+(?:\.[0-9]+)?)(?:s|sec|secs)?", re.ASCII)
_CLOCK_RE = re.compile(r"([0-9]+):([0-5][0-9])", re.ASCII)
_NOTE_RE = re.compile(r"([a-g])([#b]?)([a-z]*)", re.ASCII)
_SPLIT_RE = re.compile(r"[\s,;!?()\[\]{}<>\"“”„«»|\\/=]+")

_SUGGEST_CUTOFF = 0.6
_MAX_SHOWN_UNKNOWN = 5


class GrammarError(BadRequest):
    """A chat request that could not be understood; `str(error)` tells the user what would work."""

    def __init__(
        self,
        message: str,
        *,
        understood: Mapping[str, str] | None = None,
        unknown: Sequence[str] = (),
        suggestions: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.understood: dict[str, str] = dict(understood or {})
        self.unknown: tuple[str, ...] = tuple(unknown)
        self.suggestions: dict[str, str] = dict(suggestions or {})


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The words the grammar knows, keyed by token tuples, built from a catalog."""

    genres: Mapping[tuple[str, ...], str]
    variants: Mapping[tuple[str, ...], str]  # genre phrases that also pick a variant
    moods: Mapping[tuple[str, ...], str]
    instruments: Mapping[tuple[str, ...], str]
    leavable: Mapping[tuple[str, ...], str]  # what may follow "without": instruments + roles
    modes: Mapping[str, str]  # any mode word -> catalog.modes key
    words: tuple[str, ...]  # what a typo may be aiming at, best category first
    longest: int  # tokens in the longest phrase


def vocabulary(catalog: Catalog) -> Vocabulary:
    """Build the grammar's word tables from `catalog` (cheap; done per call)."""
    genres: dict[tuple[str, ...], str] = {}
    variants: dict[tuple[str, ...], str] = {}
    moods: dict[tuple[str, ...], str] = {}
    instruments: dict[tuple[str, ...], str] = {}
    for genre in catalog.genres:
        for phrase in (genre.name, *genre.aliases):
            for key in _phrase_keys(phrase):
                genres.setdefault(key, genre.name)
        for phrase, variant in genre.variants:
            for key in _phrase_keys(phrase):
                variants.setdefault(key, variant)
    for mood in catalog.moods:
        for phrase in (mood.name, *mood.aliases):
            for key in _phrase_keys(phrase):
                moods.setdefault(key, mood.name)
    # Names first so an alias never shadows another instrument's name.
    for instrument in catalog.instruments:
        for key in _phrase_keys(instrument.name):
            instruments.setdefault(key, instrument.name)
    for instrument in catalog.instruments:
        for alias in instrument.aliases:
            for key in _phrase_keys(alias):
                instruments.setdefault(key, instrument.name)
    leavable = dict(instruments)
    for role in ROLES:
        leavable[(role,)] = role
    modes = {name.casefold(): name for name in catalog.modes}
    for alias, target in catalog.mode_aliases.items():
        if target in catalog.modes:
            modes.setdefault(alias.casefold(), target)

    words: list[str] = []
    for table in (genres, moods, instruments):
        words.extend(" ".join(key) for key in table)
    words.extend(word for word in modes if len(word) >= 4)
    words.extend(_UNIT_WORDS)
    words.extend(_SMALL_NUMBERS)
    words.extend(_TENS)
    longest = max(len(key) for key in (*genres, *moods, *leavable))
    return Vocabulary(
        genres=MappingProxyType(genres),
        variants=MappingProxyType(variants),
        moods=MappingProxyType(moods),
        instruments=MappingProxyType(instruments),
        leavable=MappingProxyType(leavable),
        modes=MappingProxyType(modes),
        words=tuple(dict.fromkeys(words)),
        longest=longest,
    )


def parse_request(text: str, catalog: Catalog) -> CompositionRequest:
    """Understand a chat request such as "sad jazz 1m30s in D minor at 96 bpm with piano"."""
    stripped = text.strip()
    example = _example(catalog)
    genres = ", ".join(genre.name for genre in catalog.genres)
    if not stripped:
        raise GrammarError(
            f"Tell me what to compose: a genre ({genres}) and, if you like, a mood, length, key,"
            f' tempo and instruments. Example: "{example}".'
        )
    if len(stripped) > MAX_REQUEST_CHARS:
        raise GrammarError(
            f"That request is {len(stripped)} characters long; keep it to at most"
            f' {MAX_REQUEST_CHARS}. Example: "{example}".'
        )
    vocab = vocabulary(catalog)
    tokens = _tokenize(stripped)
    if not tokens:
        raise GrammarError(
            f'I couldn\'t find any words in that. Name a genre ({genres}). Example: "{example}".'
        )
    reading = _Reader(tokens, vocab).read()
    return _finish(reading, stripped, catalog, vocab)


def describe_request(request: CompositionRequest) -> str:
    """The canonical words for `request`; parsing them gives the same request back (but `text`)."""
    parts: list[str] = []
    if request.mood:
        parts.append(request.mood)
    parts.append(request.genre)
    if request.variant:
        parts.append(request.variant)
    parts.append(f"{_number_text(request.duration_s)}s")
    key = _key_text(request.tonic, request.mode)
    if key:
        parts.append(f"in {key}")
    if request.tempo_bpm is not None:
        parts.append(f"at {_number_text(request.tempo_bpm)} bpm")
    if request.instruments:
        parts.append("with " + " and ".join(request.instruments))
    if request.without:
        parts.append("without " + " and ".join(request.without))
    return " ".join(parts)


def suggest_completions(prefix: str, catalog: Catalog, limit: int = 25) -> list[str]:
    """Whole requests completing a partly typed one: "sad j" -> "sad jazz", "sad jazz 30s", ..."""
    if limit <= 0 or len(prefix) > MAX_REQUEST_CHARS:
        return []
    vocab = vocabulary(catalog)
    head, partial = prefix.strip(), ""
    if prefix and not prefix[-1].isspace():
        partial = prefix.split()[-1]
        head = prefix.rstrip()[: -len(partial)].strip()
    reading = _Reader(_tokenize(head), vocab).read()
    wanted = _tokenize(partial)
    word = wanted[-1] if wanted else ""
    out: list[str] = []

    def add(*phrases: str) -> None:
        for phrase in phrases:
            candidate = f"{head} {phrase}".strip()
            if len(candidate) <= 100 and candidate not in out:
                out.append(candidate)

    lengths = () if reading.duration is not None else _LENGTH_CHOICES
    if reading.clause is not None and word:
        table = vocab.instruments if reading.clause == "with" else vocab.leavable
        add(*(name for name in dict.fromkeys(table.values()) if name.startswith(word)))
    if reading.genre is None:
        for genre in catalog.genres:
            if any(name.casefold().startswith(word) for name in (genre.name, *genre.aliases)):
                add(genre.name, *(f"{genre.name} {length}" for length in lengths))
    else:
        add(*(length for length in lengths if length.startswith(word)))
    if reading.mood is None and word:
        add(*(mood.name for mood in catalog.moods if mood.name.startswith(word)))
    if reading.genre is not None:
        later: list[str] = []
        if reading.mood is None:
            later.extend(mood.name for mood in catalog.moods)
        if reading.tonic is None and reading.mode is None:
            keys = (("C", "major"), ("A", "minor"), ("D", "minor"), ("D", "dorian"))
            later.extend(f"in {note} {mode}" for note, mode in keys if mode in catalog.modes)
        if reading.tempo is None:
            low, high = catalog.genre(reading.genre).tempo_range
            later.append(f"at {(low + high) // 2} bpm")
        if not reading.instruments:
            later.extend(f"with {instrument.name}" for instrument in catalog.instruments)
        if not reading.without:
            later.append("without drums")
        add(*(phrase for phrase in later if phrase.startswith(word)))
    return out[:limit]


# --- reading -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Slot:
    value: float
    shown: str  # how to show it back to the user


@dataclass(slots=True)
class _Reading:
    genre: str | None = None
    variant: str | None = None
    mood: str | None = None
    duration: _Slot | None = None
    tempo: _Slot | None = None
    tonic: int | None = None
    mode: str | None = None
    instruments: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)
    unknown: list[tuple[str, str | None]] = field(default_factory=list)  # (word, clause)
    conflicts: list[str] = field(default_factory=list)
    clause: str | None = None  # "with" / "without" while reading an instrument list


class _Reader:
    """One left-to-right pass over the tokens; records problems instead of raising."""

    def __init__(self, tokens: Sequence[str], vocab: Vocabulary) -> None:
        self.tokens = tokens
        self.n = len(tokens)
        self.vocab = vocab
        self.r = _Reading()

    def read(self) -> _Reading:
        i = 0
        r = self.r
        while i < self.n:
            token = self.tokens[i]
            j = self._key(i)
            if j is None:
                j = self._tempo(i)
            if j is None:
                j = self._length(i)
            if j is not None:
                r.clause = None
                i = j
                continue
            if token in _WITH_MARKERS:
                r.clause, i = "with", i + 1
                continue
            if token in _WITHOUT_MARKERS:
                r.clause, i = "without", i + 1
                continue
            if r.clause is not None:
                table = self.vocab.instruments if r.clause == "with" else self.vocab.leavable
                hit = self._match(table, i)
                if hit is not None:
                    self._add_instrument(hit[0], without=r.clause == "without")
                    i = hit[1]
                    continue
                if token in _LIST_WORDS:
                    i += 1
                    continue
            j = self._genre_or_mood(i)
            if j is not None:
                r.clause = None
                i = j
                continue
            if token in _LOOSE_WORDS:
                i += 1
                continue
            hit = self._match(self.vocab.instruments, i)
            if hit is not None:
                self._add_instrument(hit[0], without=False)
                i = hit[1]
                continue
            if token not in _FILLER:
                r.unknown.append((token, r.clause))
            i += 1
        return r

    # -- phrases

    def _match(self, table: Mapping[tuple[str, ...], str], i: int) -> tuple[str, int] | None:
        for size in range(min(self.vocab.longest, self.n - i), 0, -1):
            name = table.get(tuple(self.tokens[i : i + size]))
            if name is not None:
                return name, i + size
        return None

    def _genre_or_mood(self, i: int) -> int | None:
        genre = self._match(self.vocab.genres, i)
        mood = self._match(self.vocab.moods, i)
        if genre is not None and (mood is None or genre[1] >= mood[1]):
            self._set_word("genre", genre[0])
            variant = self.vocab.variants.get(tuple(self.tokens[i : genre[1]]))
            if variant is not None:
                self._set_word("variant", variant)
            return genre[1]
        if mood is not None:
            self._set_word("mood", mood[0])
            return mood[1]
        return None

    def _set_word(self, slot: str, name: str) -> None:
        current: str | None = getattr(self.r, slot)
        if current is None:
            setattr(self.r, slot, name)
        elif current != name:
            self._conflict(f'two {slot}s, "{current}" and "{name}"')

    def _add_instrument(self, name: str, *, without: bool) -> None:
        mine, other = (
            (self.r.without, self.r.instruments)
            if without
            else (self.r.instruments, self.r.without)
        )
        if name in other:
            self._conflict(f'"{name}" both with and without')
        elif name not in mine:
            mine.append(name)

    def _conflict(self, what: str) -> None:
        message = f"You asked for {what}; pick one."
        if message not in self.r.conflicts:
            self.r.conflicts.append(message)

    # -- keys

    def _key(self, i: int) -> int | None:
        tokens, n, modes = self.tokens, self.n, self.vocab.modes
        j = i
        marked = tokens[i] in ("in", "key")
        keyword = False
        if tokens[j] == "in":
            j += 1
            if j < n and tokens[j] == "the":
                j += 1
        if j < n and tokens[j] == "key":
            keyword = True
            j += 1
            if j < n and tokens[j] == "of":
                j += 1
        if j >= n:
            return None
        note = _read_note(tokens[j], modes)
        if note is not None and (marked or (note[2] is None and tokens[j] not in ("am",))):
            tonic, accidental, mode = note
            j += 1
            if not accidental and mode is None and j < n and tokens[j] in ("sharp", "flat"):
                tonic = (tonic + (1 if tokens[j] == "sharp" else -1)) % 12
                accidental = True
                j += 1
            # Unmarked ("D minor"), only full mode words: "a min" is half of "a minute".
            if mode is None and j < n and tokens[j] in modes and (marked or len(tokens[j]) >= 4):
                mode = modes[tokens[j]]
                j += 1
            if mode is None and not marked:
                return None
            if (
                mode is None
                and not keyword
                and not accidental
                and tokens[j - 1] == "a"
                and not self._ends_key(j)
            ):
                return None  # "in a minute": the article, not the note A
            if mode is not None and j < n and tokens[j] in _KEY_FOLLOWERS:
                j += 1
            self._set_key(tonic, mode)
            return j
        word = tokens[j]
        if word in modes and (marked or len(word) >= 4) and word != "m":
            j += 1
            if j < n and tokens[j] in _KEY_FOLLOWERS:
                j += 1
            self._set_key(None, modes[word])
            return j
        return None

    def _ends_key(self, j: int) -> bool:
        if j >= self.n:
            return True
        token = self.tokens[j]
        return (
            token in _WITH_MARKERS
            or token in _WITHOUT_MARKERS
            or token in ("at", "and", "tempo", "key", "in")
            or token[0].isdigit()
        )

    def _set_key(self, tonic: int | None, mode: str | None) -> None:
        r = self.r
        if tonic is not None:
            if r.tonic is None:
                r.tonic = tonic
            elif r.tonic != tonic:
                self._conflict(f"two keys, {NOTE_NAMES[r.tonic]} and {NOTE_NAMES[tonic]}")
        if mode is not None:
            if r.mode is None:
                r.mode = mode
            elif r.mode != mode:
                self._conflict(f"two modes, {r.mode} and {mode}")

    # -- numbers, lengths and tempos

    def _number(self, i: int) -> tuple[float, int] | None:
        if i >= self.n:
            return None
        token = self.tokens[i]
        if _DECIMAL_RE.fullmatch(token):
            return float(token), i + 1
        if token in _SMALL_NUMBERS:
            return float(_SMALL_NUMBERS[token]), i + 1
        if token in _TENS:
            value = _TENS[token]
            following = self.tokens[i + 1] if i + 1 < self.n else ""
            if 1 <= _SMALL_NUMBERS.get(following, 0) <= 9:
                return float(value + _SMALL_NUMBERS[following]), i + 2
            return float(value), i + 1
        tens, dash, ones = token.partition("-")
        if dash and tens in _TENS and 1 <= _SMALL_NUMBERS.get(ones, 0) <= 9:
            return float(_TENS[tens] + _SMALL_NUMBERS[ones]), i + 1
        return None

    def _and_a_half(self, i: int) -> bool:
        return tuple(self.tokens[i : i + 3]) == ("and", "a", "half")

    def _amount(self, i: int) -> tuple[float, int] | None:
        token = self.tokens[i]
        following = self.tokens[i + 1] if i + 1 < self.n else ""
        if token == "half":
            return 0.5, i + (2 if following in ("a", "an") else 1)
        if token in ("a", "an"):
            return (0.5, i + 2) if following == "half" else (1.0, i + 1)
        number = self._number(i)
        if number is None:
            return None
        value, j = number
        if self._and_a_half(j):
            return value + 0.5, j + 3
        return value, j

    def _quantity(self, i: int) -> tuple[float, float, int] | None:
        """An amount of time at `i`: (amount, seconds per unit, next index)."""
        compact = _QUANTITY_RE.fullmatch(self.tokens[i])
        if compact is not None:
            if compact.group(2) not in _TIME_UNITS:
                return None
            value, unit, j = float(compact.group(1)), _TIME_UNITS[compact.group(2)], i + 1
        else:
            amount = self._amount(i)
            if amount is None or amount[1] >= self.n or self.tokens[amount[1]] not in _TIME_UNITS:
                return None
            value, unit, j = amount[0], _TIME_UNITS[self.tokens[amount[1]]], amount[1] + 1
        if self._and_a_half(j):
            value, j = value + 0.5, j + 3
        return value, unit, j

    def _length(self, i: int) -> int | None:
        token = self.tokens[i]
        seconds: float
        clock = _CLOCK_RE.fullmatch(token) or _MIN_SEC_RE.fullmatch(token)
        if clock is not None:
            seconds, j = float(clock.group(1)) * 60 + float(clock.group(2)), i + 1
            if clock.re is _CLOCK_RE and j < self.n and _TIME_UNITS.get(self.tokens[j]) == 60:
                j += 1  # "1:15 min"
        else:
            quantity = self._quantity(i)
            if quantity is None:
                return None
            value, unit, j = quantity
            seconds = value * unit
            if unit == 60 and value.is_integer():
                extra = self._seconds_after(j)
                if extra is not None:
                    seconds, j = seconds + extra[0], extra[1]
        shown = _duration_text(seconds) if seconds < 1e6 else " ".join(self.tokens[i:j])
        if self.r.duration is None:
            self.r.duration = _Slot(seconds, shown)
        elif self.r.duration.value != seconds:
            self._conflict(f"two lengths, {self.r.duration.shown} and {shown}")
        return j

    def _seconds_after(self, j: int) -> tuple[float, int] | None:
        """The "30 s" in "1 min 30 s", "2 minutes and 30 seconds" or "1 min 30"."""
        k = j + 1 if j < self.n and self.tokens[j] == "and" else j
        if k >= self.n:
            return None
        quantity = self._quantity(k)
        if quantity is not None:
            return (quantity[0], quantity[2]) if quantity[1] == 1 else None
        number = self._number(k)
        if number is None or number[0] >= 60 or not number[0].is_integer():
            return None
        after = self.tokens[number[1]] if number[1] < self.n else ""
        if after in _TIME_UNITS or after == "beats" or self._bpm_unit(number[1]) is not None:
            return None
        return number

    def _bpm_unit(self, k: int) -> int | None:
        if k < self.n and self.tokens[k] in ("bpm", "bpms"):
            return k + 1
        if tuple(self.tokens[k : k + 3]) in (("beats", "per", "minute"), ("beats", "a", "minute")):
            return k + 3
        return None

    def _tempo(self, i: int) -> int | None:
        token = self.tokens[i]
        compact = _QUANTITY_RE.fullmatch(token)
        if compact is not None and compact.group(2) in ("bpm", "bpms"):
            return self._set_tempo(float(compact.group(1)), token, i + 1)
        led = token in ("at", "tempo", "bpm")
        j = i
        if led:
            j += 1
            while j < self.n and self.tokens[j] in _TEMPO_LEAD_SKIPS:
                j += 1
        number = self._number(j)
        if number is None:
            return None
        value, k = number
        unit_end = self._bpm_unit(k)
        if unit_end is not None:
            k = unit_end
        elif not led or (k < self.n and self.tokens[k] in _TIME_UNITS) or self._and_a_half(k):
            return None
        return self._set_tempo(value, " ".join(self.tokens[j:k]), k)

    def _set_tempo(self, bpm: float, raw: str, j: int) -> int:
        shown = f"{_number_text(bpm)} bpm" if bpm < 1e6 else raw
        if self.r.tempo is None:
            self.r.tempo = _Slot(bpm, shown)
        elif self.r.tempo.value != bpm:
            self._conflict(f"two tempos, {self.r.tempo.shown} and {shown}")
        return j


# --- turning a reading into a request or an error --------------------------------------------


def _finish(r: _Reading, text: str, catalog: Catalog, vocab: Vocabulary) -> CompositionRequest:
    understood = _understood(r)
    genres = ", ".join(genre.name for genre in catalog.genres)
    example = f'Example: "{_example(catalog)}".'
    unknown = tuple(dict.fromkeys(word for word, _ in r.unknown))
    suggestions: dict[str, str] = {}
    for word in unknown[: _MAX_SHOWN_UNKNOWN * 2]:
        guess = _guess(word, r, catalog, vocab)
        if guess is not None:
            suggestions[word] = guess

    def fail(*sentences: str) -> GrammarError:
        return GrammarError(
            " ".join(s for s in sentences if s),
            understood=understood,
            unknown=unknown,
            suggestions=suggestions,
        )

    so_far = _understood_sentence(understood)
    if unknown:
        shown = []
        for word in unknown[:_MAX_SHOWN_UNKNOWN]:
            hint = f' (did you mean "{suggestions[word]}"?)' if word in suggestions else ""
            shown.append(f'"{_printable(word)}"{hint}')
        more = len(unknown) - _MAX_SHOWN_UNKNOWN
        if more > 0:
            shown.append(f"and {more} more")
        if r.genre is None:
            choices = f"Genres: {genres}."
        elif any(clause is not None for _, clause in r.unknown):
            names = ", ".join(instrument.name for instrument in catalog.instruments)
            choices = f"Instruments: {names} (to leave a part out: {', '.join(ROLES)})."
        else:
            choices = f"Moods: {', '.join(mood.name for mood in catalog.moods)}."
        raise fail(
            f"I didn't understand {', '.join(shown)}.", *r.conflicts, so_far, choices, example
        )
    if r.conflicts:
        raise fail(*r.conflicts, so_far, example)
    if r.genre is None:
        raise fail(f"Which genre? I need one of: {genres}.", so_far, example)

    duration = DEFAULT_DURATION_S if r.duration is None else r.duration.value
    if not catalog.min_duration_s <= duration <= catalog.max_duration_s:
        shown_duration = r.duration.shown if r.duration is not None else _duration_text(duration)
        raise fail(
            f"length must be between {_duration_text(catalog.min_duration_s)} and"
            f" {_duration_text(catalog.max_duration_s)}, got {shown_duration}."
        )
    tempo = None if r.tempo is None else r.tempo.value
    if r.tempo is not None and not catalog.min_tempo_bpm <= r.tempo.value <= catalog.max_tempo_bpm:
        low, high = catalog.genre(r.genre).tempo_range
        raise fail(
            f"tempo must be between {catalog.min_tempo_bpm} and {catalog.max_tempo_bpm} bpm,"
            f" got {r.tempo.shown} ({r.genre} usually sits at {low}-{high} bpm)."
        )
    try:
        return CompositionRequest(
            genre=r.genre,
            duration_s=duration,
            mood=r.mood,
            tonic=r.tonic,
            mode=r.mode,
            tempo_bpm=tempo,
            instruments=tuple(r.instruments),
            without=tuple(r.without),
            text=text,
            variant=r.variant,
        )
    except ValueError as error:  # the request's own limits may be stricter than the catalog's
        raise fail(f"{error}.") from error


def _understood(r: _Reading) -> dict[str, str]:
    understood: dict[str, str] = {}
    if r.mood is not None:
        understood["mood"] = r.mood
    if r.genre is not None:
        understood["genre"] = r.genre
    if r.duration is not None:
        understood["length"] = r.duration.shown
    key = _key_text(r.tonic, r.mode)
    if key:
        understood["key"] = key
    if r.tempo is not None:
        understood["tempo"] = r.tempo.shown
    if r.instruments:
        understood["instruments"] = ", ".join(r.instruments)
    if r.without:
        understood["without"] = ", ".join(r.without)
    return understood


def _understood_sentence(understood: Mapping[str, str]) -> str:
    if not understood:
        return ""
    parts = []
    for slot, value in understood.items():
        if slot == "key":
            parts.append(f"in {value}")
        elif slot == "instruments":
            parts.append(f"with {value}")
        elif slot == "without":
            parts.append(f"without {value}")
        else:
            parts.append(value)
    return f"I understood: {', '.join(parts)}."


def _guess(word: str, r: _Reading, catalog: Catalog, vocab: Vocabulary) -> str | None:
    """Best guess for a word not understood: a unit for a bare number, else the nearest word."""
    if _DECIMAL_RE.fullmatch(word):
        value = float(word)
        as_length = catalog.min_duration_s <= value <= catalog.max_duration_s
        as_tempo = catalog.min_tempo_bpm <= value <= catalog.max_tempo_bpm
        if as_tempo and r.genre is not None:
            low, high = catalog.genre(r.genre).tempo_range
            if low <= value <= high:
                return f"{word} bpm"
        if as_length:
            return f"{word}s"
        return f"{word} bpm" if as_tempo else None
    if not 2 <= len(word) <= 30:
        return None
    matcher = difflib.SequenceMatcher(None, b=word, autojunk=False)
    best: tuple[float, str] | None = None
    for candidate in vocab.words:
        matcher.set_seq1(candidate)
        if matcher.real_quick_ratio() < _SUGGEST_CUTOFF or matcher.quick_ratio() < _SUGGEST_CUTOFF:
            continue
        ratio = matcher.ratio()
        if ratio < _SUGGEST_CUTOFF or candidate == word:
            continue
        distance = _edit_distance(word, candidate)
        if distance > max(1, len(word) // 3):
            continue
        # A transposition ("sda") is a closer slip than a substitution ("sax").
        score = ratio - 0.05 * distance
        if best is None or score > best[0]:
            best = (score, candidate)
    return None if best is None else best[1]


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, transpositions."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


# --- text helpers ----------------------------------------------------------------------------


def _tokenize(text: str) -> list[str]:
    """Lower-case words with accidentals, unicode forms and punctuation normalised."""
    if not (text.isascii() and text.isprintable()):
        text = unicodedata.normalize("NFKC", text).replace("♯", "#").replace("♭", "b")
        # Control, format (zero-width), private-use and unassigned characters separate words.
        text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    text = text.casefold()
    text = text.replace("w/o", " without ").replace("w/", " with ")
    text = text.replace("&", " and ").replace("+", " and ")
    tokens = []
    for raw in _SPLIT_RE.split(text):
        token = raw.lstrip(".:'*_~`").rstrip(".:'-*_~`")
        if any(ch.isalnum() for ch in token):
            tokens.append(token)
    return tokens


def _phrase_keys(phrase: str) -> set[tuple[str, ...]]:
    """Token tuples a catalog phrase may be typed as ("lo-fi" also as "lo fi" and "lofi")."""
    tokens = tuple(_tokenize(phrase))
    keys = {tokens}
    if any("-" in token for token in tokens):
        keys.add(tuple(part for token in tokens for part in token.split("-") if part))
        keys.add(tuple(token.replace("-", "") for token in tokens))
    return keys


def _read_note(token: str, modes: Mapping[str, str]) -> tuple[int, bool, str | None] | None:
    """A note token such as "d", "f#", "bb", "am", "c#m": (pitch class, accidental?, mode)."""
    match = _NOTE_RE.fullmatch(token)
    if match is None:
        return None
    letter, accidental, suffix = match.groups()
    mode: str | None = None
    if suffix:
        mode = modes.get(suffix)
        if mode is None:
            return None
    shift = {"#": 1, "b": -1}.get(accidental, 0)
    return (_NOTE_PITCHES[letter] + shift) % 12, bool(accidental), mode


def _key_text(tonic: int | None, mode: str | None) -> str:
    return " ".join(part for part in (_tonic_text(tonic), mode or "") if part)


def _tonic_text(tonic: int | None) -> str:
    return "" if tonic is None else NOTE_NAMES[tonic]


def _number_text(value: float) -> str:
    """Shortest text that reads back as exactly `value` ("96", "96.5")."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _duration_text(seconds: float) -> str:
    """ "45 s", "2 min", "1 min 30 s"."""
    if not math.isfinite(seconds) or seconds < 60 or seconds >= 1e6:
        return f"{_number_text(seconds) if seconds < 1e6 else f'{seconds:g}'} s"
    minutes, rest = divmod(seconds, 60)
    if rest == 0:
        return f"{int(minutes)} min"
    return f"{int(minutes)} min {_number_text(round(rest, 3))} s"


def _printable(word: str) -> str:
    return word if len(word) <= 30 else word[:29] + "…"


def _example(catalog: Catalog) -> str:
    """A request that works with `catalog`, for error messages."""
    names = [genre.name for genre in catalog.genres]
    genre = catalog.genre("jazz") if "jazz" in names else catalog.genres[0]
    moods = [mood.name for mood in catalog.moods]
    mood = "sad" if "sad" in moods else (moods[0] if moods else "")
    low, high = genre.tempo_range
    tempo = 96 if low <= 96 <= high else (low + high) // 2
    mode = "minor" if "minor" in catalog.modes else next(iter(catalog.modes), "")
    key = f"D {mode}".strip()
    return " ".join(p for p in (mood, genre.name, "45s", f"in {key}", f"at {tempo} bpm") if p)


# --- remix changes ----------------------------------------------------------------------------

# Phrases only a remix understands, longest first. Values: a RemixChanges field and its value.
_REMIX_PHRASES: Mapping[tuple[str, ...], tuple[str, object]] = MappingProxyType(
    {
        ("double", "time"): ("tempo_factor", 2.0),
        ("half", "time"): ("tempo_factor", 0.5),
        ("speed", "up"): ("tempo_factor", FASTER),
        ("slow", "down"): ("tempo_factor", SLOWER),
        ("faster",): ("tempo_factor", FASTER),
        ("quicker",): ("tempo_factor", FASTER),
        ("slower",): ("tempo_factor", SLOWER),
        ("new", "melody"): ("new_melody", True),
        ("new", "tune"): ("new_melody", True),
        ("another", "melody"): ("new_melody", True),
        ("different", "melody"): ("new_melody", True),
        ("variation",): ("new_melody", True),
        ("new", "chords"): ("new_harmony", True),
        ("new", "harmony"): ("new_harmony", True),
        ("different", "chords"): ("new_harmony", True),
        ("reharmonise",): ("new_harmony", True),
        ("reharmonize",): ("new_harmony", True),
        ("reharm",): ("new_harmony", True),
        ("extend",): ("extend", True),
        ("extended",): ("extend", True),
        ("longer",): ("extend", True),
    }
)
_COMPARATIVE_MOODS = MappingProxyType(
    {
        "sadder": "sad",
        "happier": "happy",
        "darker": "dark",
        "calmer": "calm",
        "dreamier": "dreamy",
        "tenser": "tense",
    }
)
_REMIX_FILLER = frozenset({"as", "into", "remix", "but", "version", "more", "make", "change"})
REMIX_EXAMPLE = "as jazz, faster, in E minor, with strings, to 2m"


def parse_changes(
    text: str, catalog: Catalog, *, current_duration_s: float | None = None
) -> RemixChanges:
    """Understand remix changes such as "as jazz faster in E minor with strings to 2m".

    A length means "extend to"; "extend" or "longer" alone doubles the piece (at most 5 min)
    when `current_duration_s` is known.
    """
    stripped = text.strip()
    if not stripped:
        raise GrammarError(f'Say what to change. Example: "{REMIX_EXAMPLE}".')
    if len(stripped) > MAX_REQUEST_CHARS:
        raise GrammarError(
            f"That is {len(stripped)} characters long; keep it to at most {MAX_REQUEST_CHARS}."
        )
    vocab = vocabulary(catalog)
    tokens = _tokenize(stripped)
    found: dict[str, object] = {}
    rest: list[str] = []
    i = 0
    while i < len(tokens):
        for size in (2, 1):
            phrase = tuple(tokens[i : i + size])
            if len(phrase) == size and phrase in _REMIX_PHRASES:
                name, value = _REMIX_PHRASES[phrase]
                found[name] = value
                i += size
                break
        else:
            token = tokens[i]
            if token in _COMPARATIVE_MOODS:
                rest.append(_COMPARATIVE_MOODS[token])
            elif token not in _REMIX_FILLER:
                rest.append(token)
            i += 1
    reading = _Reader(rest, vocab).read() if rest else _Reading()
    understood = _understood(reading)
    unknown = tuple(dict.fromkeys(word for word, _ in reading.unknown))
    if unknown:
        shown = []
        for word in unknown[:_MAX_SHOWN_UNKNOWN]:
            guess = _guess(word, reading, catalog, vocab)
            hint = f' (did you mean "{guess}"?)' if guess else ""
            shown.append(f'"{_printable(word)}"{hint}')
        raise GrammarError(
            f"I didn't understand {', '.join(shown)}. A remix can change the style (as jazz),"
            " key (in E minor), mood (sadder), tempo (faster, at 120 bpm), instruments"
            " (with strings, without drums), the melody (new melody), the chords (new chords)"
            f' or the length (to 2m). Example: "{REMIX_EXAMPLE}".',
            understood=understood,
            unknown=unknown,
        )
    if reading.conflicts:
        raise GrammarError(" ".join(reading.conflicts), understood=understood)
    duration = None if reading.duration is None else reading.duration.value
    if duration is None and found.get("extend") and current_duration_s is not None:
        duration = float(min(catalog.max_duration_s, round(current_duration_s * 2)))
    if found.get("extend") and duration is None:
        raise GrammarError('Extend to how long? Say e.g. "to 2m".', understood=understood)
    if reading.tempo is not None and "tempo_factor" in found:
        raise GrammarError(
            f"Ask for {reading.tempo.shown} or for {'faster' if found['tempo_factor'] > 1 else 'slower'}"  # type: ignore[operator]
            " (not both).",
            understood=understood,
        )
    try:
        changes = RemixChanges(
            genre=reading.genre,
            variant=reading.variant,
            mood=reading.mood,
            tonic=reading.tonic,
            mode=reading.mode,
            tempo_bpm=None if reading.tempo is None else reading.tempo.value,
            tempo_factor=found.get("tempo_factor"),  # type: ignore[arg-type]
            instruments=tuple(reading.instruments),
            without=tuple(reading.without),
            new_melody=bool(found.get("new_melody")),
            new_harmony=bool(found.get("new_harmony")),
            duration_s=duration,
            text=stripped,
        )
    except BadRequest as error:
        raise GrammarError(f"{error}.", understood=understood) from error
    if changes.empty:
        raise GrammarError(f'Say what to change. Example: "{REMIX_EXAMPLE}".')
    return changes
