"""`tunesmith eval`: make N seeds of every genre and judge them from the outside.

Each piece goes through the real pipeline (compose, render, master, MP3). Then the MP3 is decoded
and measured with tools that share no code with the pipeline: Essentia's key and tempo
estimators listen for the key and tempo, pyloudnorm measures the loudness, and a plain 4x
oversampling finds the true peak. These are compared with what the Score says it is.

Definitions (also printed in the Markdown report):

- key *recovered*: the estimated tonic equals the Score's tonic and the major/minor family
  matches (lydian/mixolydian count as major, dorian/phrygian as minor). Near misses are counted
  separately as MIREX does (fifth, relative, parallel) and weighted into the MIREX key score,
  but never counted as recovered.
- tempo *strict*: within 4 % of the Score's tempo. Tempo *recovered*: strict, or within 4 % of
  double or half of it (an octave error: a listener may tap a half-time trap beat either way).
"""

from __future__ import annotations

import difflib
import math
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import metadata
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyloudnorm
from rich.console import Console
from rich.table import Table
from scipy import signal

from generators.catalog import MODES, NOTE_NAMES, Catalog
from generators.errors import BadRequest, TunesmithError
from generators.quality import LENGTH_TOLERANCE_S, LUFS_TOLERANCE, MAX_TRUE_PEAK_DBTP, TARGET_LUFS
from generators.request import CompositionRequest
from generators.score import Role, Score
from generators.settings import Settings

TEMPO_TOLERANCE = 0.04  # relative, as MIREX tempo evaluation
ANALYSIS_RATE = 44100  # Essentia's rhythm extractor assumes 44.1 kHz
CHROMA_BIN_S = 0.5  # chroma frames averaged into half-second bins for the audio distance
MAX_WORKERS = 2

# --- comparing what was heard with what was asked ----------------------------------------------


class KeyMatch(StrEnum):
    EXACT = "exact"
    FIFTH = "fifth"
    RELATIVE = "relative"
    PARALLEL = "parallel"
    OTHER = "other"


# MIREX audio key detection weights.
MIREX_KEY_SCORE: Mapping[KeyMatch, float] = {
    KeyMatch.EXACT: 1.0,
    KeyMatch.FIFTH: 0.5,
    KeyMatch.RELATIVE: 0.3,
    KeyMatch.PARALLEL: 0.2,
    KeyMatch.OTHER: 0.0,
}


class TempoMatch(StrEnum):
    EXACT = "exact"
    DOUBLE = "double"  # heard twice as fast as written
    HALF = "half"  # heard half as fast as written
    OTHER = "other"

    @property
    def recovered(self) -> bool:
        return self is not TempoMatch.OTHER


def is_major_family(mode: str) -> bool:
    """Whether a mode sounds major (its third is major): lydian and mixolydian do, dorian doesn't."""
    try:
        steps = MODES[mode]
    except KeyError:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}") from None
    return 4 in steps


def compare_key(
    asked_tonic: int, asked_major: bool, heard_tonic: int, heard_major: bool
) -> KeyMatch:
    """MIREX categories: exact, a fifth away in the same mode, relative, parallel, other."""
    interval = (heard_tonic - asked_tonic) % 12
    if heard_major == asked_major:
        if interval == 0:
            return KeyMatch.EXACT
        if interval in (5, 7):
            return KeyMatch.FIFTH
        return KeyMatch.OTHER
    if interval == 0:
        return KeyMatch.PARALLEL
    # The relative minor lies a minor third below the major tonic, the relative major above.
    if (asked_major and interval == 9) or (not asked_major and interval == 3):
        return KeyMatch.RELATIVE
    return KeyMatch.OTHER


def compare_tempo(
    asked_bpm: float, heard_bpm: float, tolerance: float = TEMPO_TOLERANCE
) -> TempoMatch:
    """Strict match within `tolerance` of the written tempo, else an octave error, else other."""
    if asked_bpm <= 0:
        raise ValueError(f"asked tempo must be positive, got {asked_bpm}")
    for target, match in (
        (asked_bpm, TempoMatch.EXACT),
        (2 * asked_bpm, TempoMatch.DOUBLE),
        (asked_bpm / 2, TempoMatch.HALF),
    ):
        if abs(heard_bpm - target) <= tolerance * target:
            return match
    return TempoMatch.OTHER


# --- aggregation -------------------------------------------------------------------------------

Direction = Literal["low", "high", "far"]

# Which way a metric gets worse; any metric not listed is worse when lower (e.g. a score or count
# of good things). "far": worse the farther it is from its target (see `TARGETS`).
WORSE_DIRECTION: Mapping[str, Direction] = {
    "attempts": "high",
    "clipped_samples": "high",
    "empty_beat_rate": "high",
    "longest_silence_s": "high",
    "notes_out_of_range": "high",
    "true_peak_dbtp": "high",
    "length_error_s": "high",
    "tempo_error_pct": "high",
    "integrated_lufs": "far",
    "loudness_lufs": "far",
    "length_s": "far",
}
TARGETS: Mapping[str, float] = {"integrated_lufs": TARGET_LUFS, "loudness_lufs": TARGET_LUFS}


@dataclass(frozen=True, slots=True)
class Summary:
    """Median and worst of one metric over pieces; `worst` by the metric's direction."""

    median: float
    worst: float
    count: int


def summarize(name: str, values: Sequence[float], target: float | None = None) -> Summary:
    """The median and the worst value of `values`, worst judged by `WORSE_DIRECTION`."""
    if not values:
        raise ValueError(f"no values to summarize for {name!r}")
    direction = WORSE_DIRECTION.get(name, "low")
    if direction == "high":
        worst = max(values)
    elif direction == "far":
        centre = TARGETS.get(name, target)
        if centre is None:
            centre = statistics.median(values)
        worst = max(values, key=lambda value: abs(value - centre))
    else:
        worst = min(values)
    return Summary(float(statistics.median(values)), float(worst), len(values))


def summarize_quality(
    qualities: Iterable[Mapping[str, object]], targets: Mapping[str, float] | None = None
) -> tuple[dict[str, Summary], dict[str, float]]:
    """Every numeric QC value → its summary; every yes/no QC value → the share of pieces with yes.

    Keys are taken as they come, so new QC metrics appear here without changes.
    """
    numbers: dict[str, list[float]] = {}
    flags: dict[str, list[bool]] = {}
    for quality in qualities:
        for name, value in quality.items():
            if isinstance(value, bool):
                flags.setdefault(name, []).append(value)
            elif isinstance(value, int | float) and math.isfinite(value):
                numbers.setdefault(name, []).append(float(value))
    extra = targets or {}
    summaries = {
        name: summarize(name, values, extra.get(name)) for name, values in sorted(numbers.items())
    }
    shares = {name: sum(values) / len(values) for name, values in sorted(flags.items())}
    return summaries, shares


# --- the independent estimator -----------------------------------------------------------------

_KEY_NAMES = {name: index for index, name in enumerate(NOTE_NAMES)} | {
    "Db": 1,
    "D#": 3,
    "Gb": 6,
    "G#": 8,
    "A#": 10,
}


@dataclass(frozen=True, slots=True)
class KeyEstimate:
    tonic: int
    major: bool
    strength: float

    @property
    def name(self) -> str:
        return f"{NOTE_NAMES[self.tonic]} {'major' if self.major else 'minor'}"


@dataclass(frozen=True, slots=True)
class TempoEstimate:
    bpm: float
    confidence: float


def estimator_name() -> str:
    """The estimator's name and version, for reports; a clear error when it is not installed."""
    try:
        version = metadata.version("essentia")
    except metadata.PackageNotFoundError:
        raise TunesmithError(
            "tunesmith eval hears key and tempo with Essentia, which is not installed;"
            " install it with: pip install 'tunesmith[eval]' (make setup installs it too)"
        ) from None
    return f"Essentia {version} (KeyExtractor, RhythmExtractor2013)"


class Listener:
    """Essentia's key, tempo and chroma estimators, built once and reused (deterministic)."""

    def __init__(self) -> None:
        import essentia

        # Quiet before the algorithms load: Essentia logs to stderr as it registers them.
        essentia.log.infoActive = False
        essentia.log.warningActive = False
        import essentia.standard as es

        self._key = es.KeyExtractor(sampleRate=ANALYSIS_RATE)  # default profile: "bgate"
        self._rhythm = es.RhythmExtractor2013(method="multifeature")
        self._frames = es.FrameGenerator
        self._window = es.Windowing(type="blackmanharris62")
        self._spectrum = es.Spectrum()
        self._peaks = es.SpectralPeaks(
            orderBy="magnitude",
            magnitudeThreshold=1e-5,
            minFrequency=40,
            maxFrequency=5000,
            maxPeaks=60,
            sampleRate=ANALYSIS_RATE,
        )
        self._hpcp = es.HPCP(size=12, referenceFrequency=440.0, sampleRate=ANALYSIS_RATE)

    @staticmethod
    def mono(samples: np.ndarray, sample_rate: int) -> np.ndarray:
        """Float32 mono at the analysis rate from ``(n, channels)`` or ``(n,)`` samples."""
        mono = samples.mean(axis=1) if samples.ndim == 2 else samples
        if sample_rate != ANALYSIS_RATE:
            divisor = math.gcd(ANALYSIS_RATE, sample_rate)
            mono = signal.resample_poly(mono, ANALYSIS_RATE // divisor, sample_rate // divisor)
        return np.ascontiguousarray(mono, dtype=np.float32)

    def key(self, mono: np.ndarray) -> KeyEstimate:
        name, scale, strength = self._key(mono)[:3]
        return KeyEstimate(_KEY_NAMES[name], scale == "major", float(strength))

    def tempo(self, mono: np.ndarray) -> TempoEstimate:
        bpm, _beats, confidence, _estimates, _intervals = self._rhythm(mono)
        return TempoEstimate(float(bpm), float(confidence))

    def chroma(self, mono: np.ndarray) -> np.ndarray:
        """Pitch-class profile per half second, each row of unit length: ``(bins, 12)``."""
        frame, hop = 4096, 2048
        rows = []
        for chunk in self._frames(mono, frameSize=frame, hopSize=hop, startFromZero=True):
            frequencies, magnitudes = self._peaks(self._spectrum(self._window(chunk)))
            rows.append(self._hpcp(frequencies, magnitudes))
        frames = np.asarray(rows, dtype=np.float64).reshape(-1, 12)
        per_bin = max(1, round(CHROMA_BIN_S * ANALYSIS_RATE / hop))
        usable = len(frames) - len(frames) % per_bin
        binned = frames[:usable].reshape(-1, per_bin, 12).mean(axis=1)
        norms = np.linalg.norm(binned, axis=1, keepdims=True)
        return np.asarray(binned / np.where(norms > 0, norms, 1.0))


def loudness_lufs(samples: np.ndarray, sample_rate: int) -> float:
    """BS.1770 integrated loudness by pyloudnorm (not our mastering's own meter)."""
    meter = pyloudnorm.Meter(sample_rate)
    return float(meter.integrated_loudness(np.asarray(samples, dtype=np.float64)))


def true_peak_dbtp(samples: np.ndarray) -> float:
    """True peak in dBTP by 4x oversampling the whole piece (scipy's polyphase resampler)."""
    upsampled = signal.resample_poly(np.asarray(samples, dtype=np.float64), 4, 1, axis=0)
    peak = float(np.max(np.abs(upsampled))) if upsampled.size else 0.0
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


# --- distinctness ------------------------------------------------------------------------------


def lead_intervals(score: Score) -> tuple[int, ...]:
    """The lead melody as successive pitch intervals (top note where notes start together)."""
    lead = score.track(Role.LEAD)
    if lead is None or not lead.notes:
        return ()
    top: dict[float, int] = {}
    for note in lead.notes:
        top[note.start] = max(top.get(note.start, 0), note.pitch)
    pitches = [top[start] for start in sorted(top)]
    return tuple(b - a for a, b in pairwise(pitches))


def melody_distance(a: Sequence[int], b: Sequence[int]) -> float:
    """1 − similarity of two interval sequences (difflib's matching-blocks ratio): 0 = same tune."""
    if not a and not b:
        return 0.0
    return 1.0 - difflib.SequenceMatcher(None, list(a), list(b), autojunk=False).ratio()


def chroma_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 − mean cosine similarity of time-aligned chroma bins: 0 = same harmony at the same time."""
    bins = min(len(a), len(b))
    if bins == 0:
        return 0.0
    return float(1.0 - np.mean(np.sum(a[:bins] * b[:bins], axis=1)))


def pairwise_distances(values: Sequence[Any], distance: Callable[[Any, Any], float]) -> list[float]:
    return [distance(a, b) for a, b in combinations(values, 2)]


# --- making and measuring one piece (in a worker process) --------------------------------------


@dataclass(frozen=True, slots=True)
class PieceJob:
    genre: str
    seed: int
    seconds: float
    out_dir: Path


@dataclass(frozen=True, slots=True)
class PieceResult:
    genre: str
    seed: int
    seconds: float
    variant: str
    asked_tonic: int
    asked_mode: str
    asked_bpm: float
    key: KeyEstimate
    tempo: TempoEstimate
    loudness_lufs: float
    true_peak_dbtp: float
    length_s: float
    quality: dict[str, object]  # the pipeline's QC values, whatever keys it has today
    intervals: tuple[int, ...]
    chroma: np.ndarray = field(repr=False)

    @property
    def asked_key(self) -> str:
        return f"{NOTE_NAMES[self.asked_tonic]} {self.asked_mode}"

    @property
    def key_match(self) -> KeyMatch:
        asked_major = is_major_family(self.asked_mode)
        return compare_key(self.asked_tonic, asked_major, self.key.tonic, self.key.major)

    @property
    def tempo_match(self) -> TempoMatch:
        return compare_tempo(self.asked_bpm, self.tempo.bpm)

    @property
    def tempo_error_pct(self) -> float:
        """Error of the heard tempo against the nearest of ½×, 1× and 2× the written one."""
        return min(
            100 * abs(self.tempo.bpm - target) / target
            for target in (self.asked_bpm, 2 * self.asked_bpm, self.asked_bpm / 2)
        )

    @property
    def length_error_s(self) -> float:
        return abs(self.length_s - self.seconds)

    @property
    def loudness_ok(self) -> bool:
        return abs(self.loudness_lufs - TARGET_LUFS) <= LUFS_TOLERANCE

    @property
    def true_peak_ok(self) -> bool:
        return self.true_peak_dbtp <= MAX_TRUE_PEAK_DBTP

    @property
    def length_ok(self) -> bool:
        return self.length_error_s <= LENGTH_TOLERANCE_S


@dataclass(frozen=True, slots=True)
class PieceFailure:
    genre: str
    seed: int
    message: str


class _Worker:
    """What one worker process keeps: the catalogue, a warm renderer and the estimators."""

    def __init__(self, soundfont: Path) -> None:
        from generators.pipeline import PieceMaker
        from generators.render import Renderer

        self.catalog = Catalog.default()
        self.listener = Listener()
        # Lives as long as the worker process; the renderer gives the same audio for the same
        # Score whatever it rendered before, so reports do not depend on the pool's scheduling.
        self.maker = PieceMaker(Renderer(soundfont), self.catalog, cores=1)

    def evaluate(self, job: PieceJob) -> PieceResult:
        from generators.encode import decode_audio

        request = CompositionRequest(job.genre, job.seconds, text=f"{job.genre} eval")
        piece_id = f"{job.genre}-{job.seed}"
        piece = self.maker.make(request, job.seed, job.out_dir, piece_id)
        samples, sample_rate = decode_audio(piece.files.mp3)
        mono = self.listener.mono(samples, sample_rate)
        score = piece.score
        result = PieceResult(
            genre=job.genre,
            seed=job.seed,
            seconds=job.seconds,
            variant=score.variant,
            asked_tonic=score.tonic,
            asked_mode=score.mode,
            asked_bpm=score.tempo_bpm,
            key=self.listener.key(mono),
            tempo=self.listener.tempo(mono),
            loudness_lufs=loudness_lufs(samples, sample_rate),
            true_peak_dbtp=true_peak_dbtp(samples),
            length_s=samples.shape[0] / sample_rate,
            quality=dict(piece.quality),
            intervals=lead_intervals(score),
            chroma=self.listener.chroma(mono),
        )
        for path in (piece.files.mp3, piece.files.midi, piece.files.png):
            path.unlink(missing_ok=True)
        return result


# One per worker process, made by the pool's initializer: a pool worker has no `main` to own it.
_worker: _Worker | None = None


def _start_worker(soundfont: Path) -> None:
    global _worker
    _worker = _Worker(soundfont)


def _run_job(job: PieceJob) -> PieceResult | PieceFailure:
    assert _worker is not None, "the pool initializer did not run"
    try:
        return _worker.evaluate(job)
    except Exception as error:  # one broken genre must not sink the whole evaluation
        return PieceFailure(job.genre, job.seed, f"{type(error).__name__}: {error}")


# --- choosing genres ---------------------------------------------------------------------------


def choose_genres(
    catalog: Catalog, asked: Sequence[str] | None
) -> tuple[list[str], dict[str, str]]:
    """The genres to evaluate and the ones skipped because their style does not import yet.

    Raises BadRequest naming the valid genres when `asked` holds a name the catalogue lacks.
    """
    from generators.compose.styles import style_for

    known = [info.name for info in catalog.genres]
    wanted = list(dict.fromkeys(asked)) if asked else known
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise BadRequest(
            f"unknown genre{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))};"
            f" valid genres: {', '.join(known)}"
        )
    ready: list[str] = []
    skipped: dict[str, str] = {}
    for name in wanted:
        try:
            style_for(name)
        except (ImportError, KeyError) as error:
            skipped[name] = f"style not available yet ({type(error).__name__}: {error})"
        except Exception as error:  # a style module being written may not even load
            skipped[name] = f"style fails to load ({type(error).__name__}: {error})"
        else:
            ready.append(name)
    return ready, skipped


# --- reports -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportTable:
    """One table, printed with rich and written as Markdown from the same rows."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    def to_rich(self) -> Table:
        table = Table(title=self.title, title_justify="left", caption=self.note or None)
        for index, column in enumerate(self.columns):
            table.add_column(column, justify="left" if index == 0 else "right")
        for row in self.rows:
            table.add_row(*row)
        return table

    def to_markdown(self, level: int = 3) -> str:
        def escape(text: str) -> str:
            return text.replace("|", "\\|")

        lines = [f"{'#' * level} {self.title}", ""]
        lines.append("| " + " | ".join(map(escape, self.columns)) + " |")
        lines.append(
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|"
        )
        lines += ["| " + " | ".join(map(escape, row)) + " |" for row in self.rows]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "—"


def _num(value: float, digits: int = 2) -> str:
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return f"{value:.{digits}f}"


@dataclass
class GenreReport:
    genre: str
    results: list[PieceResult]
    failures: list[PieceFailure]

    @property
    def melody_distances(self) -> list[float]:
        return pairwise_distances([r.intervals for r in self.results], melody_distance)

    @property
    def chroma_distances(self) -> list[float]:
        return pairwise_distances([r.chroma for r in self.results], chroma_distance)

    def measures(self) -> dict[str, list[float]]:
        """Our own measurements of the decoded MP3s, by name."""
        return {
            "loudness_lufs": [r.loudness_lufs for r in self.results],
            "true_peak_dbtp": [r.true_peak_dbtp for r in self.results],
            "length_error_s": [r.length_error_s for r in self.results],
            "tempo_error_pct": [r.tempo_error_pct for r in self.results],
            "key_strength": [r.key.strength for r in self.results],
            "tempo_confidence": [r.tempo.confidence for r in self.results],
        }

    def seeds_table(self) -> ReportTable:
        rows = []
        for r in self.results:
            rows.append(
                (
                    str(r.seed) + (f" ({r.variant})" if r.variant else ""),
                    r.asked_key,
                    r.key.name,
                    str(r.key_match),
                    f"{r.asked_bpm:.1f}",
                    f"{r.tempo.bpm:.1f}",
                    str(r.tempo_match),
                    _num(r.loudness_lufs, 1),
                    _num(r.true_peak_dbtp, 2),
                    _num(r.length_error_s, 3),
                    "yes" if r.quality.get("passed") else "no",
                )
            )
        rows += [(str(f.seed), "failed", f.message, *("",) * 8) for f in self.failures]
        return ReportTable(
            f"{self.genre}: pieces",
            (
                "seed",
                "key asked",
                "key heard",
                "key",
                "BPM asked",
                "BPM heard",
                "tempo",
                "LUFS",
                "dBTP",
                "length err s",
                "QC",
            ),
            tuple(rows),
        )

    def metrics_table(self) -> ReportTable:
        rows: list[tuple[str, ...]] = []
        for name, values in self.measures().items():
            if not values:
                continue
            s = summarize(name, values)
            rows.append((f"{name} (heard)", _num(s.median), _num(s.worst)))
        summaries, shares = summarize_quality(
            (r.quality for r in self.results),
            {"length_s": self.results[0].seconds} if self.results else None,
        )
        for name, s in summaries.items():
            rows.append((name, _num(s.median), _num(s.worst)))
        for name, share in shares.items():
            rows.append((f"{name} (share yes)", f"{100 * share:.0f} %", ""))
        for name, distances in (
            ("melody distance", self.melody_distances),
            ("chroma distance", self.chroma_distances),
        ):
            if distances:
                pairs = list(combinations([r.seed for r in self.results], 2))
                closest = min(range(len(distances)), key=distances.__getitem__)
                a, b = pairs[closest]
                rows.append(
                    (
                        f"{name} between seeds",
                        _num(statistics.median(distances)),
                        f"{_num(distances[closest])} (seeds {a}, {b})",
                    )
                )
        return ReportTable(f"{self.genre}: metrics", ("metric", "median", "worst"), tuple(rows))

    def summary_row(self) -> tuple[str, ...]:
        results, n = self.results, len(self.results)
        tempo = [r.tempo_match for r in results]
        keys = [r.key_match for r in results]
        near = sum(k in (KeyMatch.FIFTH, KeyMatch.RELATIVE, KeyMatch.PARALLEL) for k in keys)
        mirex = sum(MIREX_KEY_SCORE[k] for k in keys) / n if n else float("nan")
        melody, chroma = self.melody_distances, self.chroma_distances
        return (
            self.genre,
            f"{n}" + (f" (+{len(self.failures)} failed)" if self.failures else ""),
            _pct(sum(k is KeyMatch.EXACT for k in keys), n),
            _pct(near, n),
            _num(mirex),
            _pct(sum(t.recovered for t in tempo), n),
            _pct(sum(t is TempoMatch.EXACT for t in tempo), n),
            _pct(sum(r.loudness_ok for r in results), n),
            _pct(sum(r.true_peak_ok for r in results), n),
            _pct(sum(r.length_ok for r in results), n),
            _pct(sum(bool(r.quality.get("passed")) for r in results), n),
            _num(min(melody)) if melody else "—",
            _num(min(chroma)) if chroma else "—",
        )


SUMMARY_COLUMNS = (
    "genre",
    "pieces",
    "key ok",
    "key near",
    "MIREX key",
    "tempo ok",
    "tempo strict",
    "LUFS ok",
    "TP ok",
    "length ok",
    "QC pass",
    "min melody d",
    "min chroma d",
)

DEFINITIONS = (
    "Key ok = key recovered: Essentia's tonic equals the Score's and the major/minor family matches "
    "(lydian/mixolydian = major, dorian/phrygian = minor); near misses (fifth, relative, parallel) "
    "are counted apart and only enter the MIREX key score (1 / 0.5 / 0.3 / 0.2). "
    f"Tempo ok = tempo recovered: within {TEMPO_TOLERANCE:.0%} of the Score's tempo or of double/half of it "
    f"(octave error); tempo strict: within {TEMPO_TOLERANCE:.0%} of the tempo itself. "
    f"LUFS ok: {TARGET_LUFS:g} ± {LUFS_TOLERANCE:g} LUFS by pyloudnorm; TP ok: true peak ≤ "
    f"{MAX_TRUE_PEAK_DBTP:g} dBTP by 4x oversampling (both of the decoded MP3); length ok: within "
    f"{LENGTH_TOLERANCE_S:g} s of the request; QC pass: the pipeline's own checks passed. "
    "tempo_error_pct: against the nearest of ½×, 1×, 2× the written tempo. "
    "Distances between seeds of a genre: melody = 1 − difflib ratio of lead pitch-interval "
    "sequences; chroma = 1 − mean cosine similarity of half-second HPCP frames; min = the two "
    "closest seeds."
)


@dataclass
class Evaluation:
    reports: list[GenreReport]
    skipped: dict[str, str]
    seconds: float
    seeds: int
    elapsed_s: float = 0.0

    @property
    def results(self) -> list[PieceResult]:
        return [r for report in self.reports for r in report.results]

    @property
    def failures(self) -> list[PieceFailure]:
        return [f for report in self.reports for f in report.failures]

    def summary_table(self) -> ReportTable:
        rows = [report.summary_row() for report in self.reports]
        if len(self.reports) > 1:
            everything = GenreReport("all", self.results, self.failures)
            total = everything.summary_row()
            rows.append((*total[:-2], "", ""))  # distances only mean something within a genre
        return ReportTable("Summary", SUMMARY_COLUMNS, tuple(rows), DEFINITIONS)

    def targets_table(self) -> ReportTable:
        """The corpus-level targets: every piece of every genre together, against the values
        published for real music (symbolic) and the product's own promises (audio)."""
        results = self.results
        n = len(results)

        def values(name: str) -> list[float]:
            out = []
            for result in results:
                value = result.quality.get(name)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    out.append(float(value))
            return out

        def share(flags: Iterable[bool]) -> float:
            items = list(flags)
            return sum(items) / len(items) if items else float("nan")

        rows: list[tuple[str, ...]] = []
        symbolic = (
            ("scale_consistency", "mean ≥ 0.90", lambda m: m >= 0.90, lambda v: v >= 0.90),
            (
                "pitch_class_entropy",
                "mean in 2.5–3.2",
                lambda m: 2.5 <= m <= 3.2,
                lambda v: 2.5 <= v <= 3.2,
            ),
            ("groove_consistency", "mean ≥ 0.90", lambda m: m >= 0.90, lambda v: v >= 0.90),
            ("drum_pattern_consistency", "mean ≥ 0.88", lambda m: m >= 0.88, lambda v: v >= 0.88),
        )
        for name, target, corpus_ok, piece_ok in symbolic:
            found = values(name)
            if not found:
                continue
            mean = float(np.mean(found))
            rows.append(
                (
                    name,
                    target,
                    f"{mean:.3f} (median {np.median(found):.3f})",
                    f"{100 * share(piece_ok(v) for v in found):.0f} % of {len(found)}",
                    "met" if corpus_ok(mean) else "NOT met",
                )
            )
        audio = (
            (
                "key recovered",
                "≥ 90 % of pieces",
                share(r.key_match is KeyMatch.EXACT for r in results),
                0.9,
            ),
            (
                "tempo recovered",
                "≥ 90 % of pieces",
                share(r.tempo_match.recovered for r in results),
                0.9,
            ),
            (
                "loudness −14 ± 1 LUFS",
                "100 % of pieces",
                share(r.loudness_ok for r in results),
                1.0,
            ),
            ("true peak ≤ −1 dBTP", "100 % of pieces", share(r.true_peak_ok for r in results), 1.0),
            ("length ± 0.1 s", "100 % of pieces", share(r.length_ok for r in results), 1.0),
        )
        for name, target, measured, needed in audio:
            rows.append(
                (
                    name,
                    target,
                    f"{100 * measured:.0f} %",
                    f"of {n}",
                    "met" if measured >= needed else "NOT met",
                )
            )
        note = (
            "Symbolic targets are corpus means over every piece that has the metric (drum metrics:"
            " pieces with drums), as the published values for real music are; the share column says"
            " how many single pieces are inside the target on their own."
        )
        return ReportTable(
            "Targets (all genres together)",
            ("measure", "target", "measured", "pieces", "verdict"),
            tuple(rows),
            note,
        )

    def quality_medians_table(self) -> ReportTable:
        per_genre = {
            report.genre: summarize_quality(
                (r.quality for r in report.results), {"length_s": self.seconds}
            )
            for report in self.reports
        }
        names = sorted({name for summaries, shares in per_genre.values() for name in summaries})
        flag_names = sorted({name for summaries, shares in per_genre.values() for name in shares})
        rows: list[tuple[str, ...]] = []
        for name in names:
            cells = [
                _num(per_genre[g][0][name].median) if name in per_genre[g][0] else "—"
                for g in per_genre
            ]
            rows.append((name, *cells))
        for name in flag_names:
            cells = [
                f"{100 * per_genre[g][1][name]:.0f} %" if name in per_genre[g][1] else "—"
                for g in per_genre
            ]
            rows.append((f"{name} (share yes)", *cells))
        return ReportTable("QC metrics: median per genre", ("metric", *per_genre), tuple(rows))


# --- the command -------------------------------------------------------------------------------


def evaluate(
    soundfont: Path,
    genres: Sequence[str],
    seeds: int,
    seconds: float,
    workers: int = MAX_WORKERS,
    progress: Callable[[PieceResult | PieceFailure], None] | None = None,
) -> Evaluation:
    """Make and measure seeds 1..`seeds` of each genre in a pool of up to `workers` processes."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tunesmith-eval-") as tmp:
        jobs = [
            PieceJob(g, seed, seconds, Path(tmp)) for g in genres for seed in range(1, seeds + 1)
        ]
        processes = max(1, min(workers, os.cpu_count() or 1, len(jobs)))
        # spawn: a clean interpreter per worker, so no synth or thread state is inherited
        context = multiprocessing.get_context("spawn")
        outcomes: list[PieceResult | PieceFailure] = []
        with ProcessPoolExecutor(
            processes, mp_context=context, initializer=_start_worker, initargs=(soundfont,)
        ) as pool:
            for outcome in pool.map(_run_job, jobs):
                outcomes.append(outcome)
                if progress is not None:
                    progress(outcome)
    reports = [
        GenreReport(
            genre,
            [o for o in outcomes if isinstance(o, PieceResult) and o.genre == genre],
            [o for o in outcomes if isinstance(o, PieceFailure) and o.genre == genre],
        )
        for genre in genres
    ]
    return Evaluation(reports, {}, seconds, seeds, time.perf_counter() - start)


def markdown_report(evaluation: Evaluation, command: str, machine: str) -> str:
    lines = [
        "# Tunesmith quality evaluation",
        "",
        f"Date: {time.strftime('%Y-%m-%d')}  ",
        f"Machine: {machine}  ",
        f"Command: `{command}`  ",
        f"Estimator: {estimator_name()}; loudness: pyloudnorm {metadata.version('pyloudnorm')}  ",
        f"Pieces: {evaluation.seeds} seeds (1–{evaluation.seeds}) × {len(evaluation.reports)} genres,"
        f" {evaluation.seconds:g} s each; run time {evaluation.elapsed_s:.0f} s",
        "",
    ]
    if evaluation.skipped:
        lines += [f"- skipped {name}: {why}" for name, why in evaluation.skipped.items()] + [""]
    lines += [evaluation.targets_table().to_markdown(2), ""]
    lines += [evaluation.summary_table().to_markdown(2), ""]
    lines += [evaluation.quality_medians_table().to_markdown(2), ""]
    lines += ["## Per genre", ""]
    for report in evaluation.reports:
        lines += [report.seeds_table().to_markdown(), "", report.metrics_table().to_markdown(), ""]
    return "\n".join(lines)


def run_eval(
    settings: Settings,
    genres: Sequence[str] | None = None,
    seeds: int = 10,
    seconds: float = 30.0,
    markdown: Path | None = None,
    command: str = "tunesmith eval",
) -> int:
    """`tunesmith eval`: print a table per genre and a summary; 0 when every piece was made."""
    from generators.bench import machine_description
    from generators.soundfonts import load_manifest, resolve_soundfont

    console = Console(highlight=False, width=max(120, Console().width))
    catalog = Catalog.default()
    ready, skipped = choose_genres(catalog, genres)
    for name, why in skipped.items():
        console.print(f"[yellow]skipping {name}:[/] {why}")
    if not ready:
        raise TunesmithError("no genre to evaluate: none of the asked genres has a style yet")
    listener_name = estimator_name()
    soundfont = resolve_soundfont(settings.soundfont, load_manifest())
    console.print(f"[bold]tunesmith eval[/] — {machine_description()}")
    console.print(
        f"{len(ready)} genres × {seeds} seeds × {seconds:g} s; SoundFont {soundfont}; {listener_name}"
    )
    total = len(ready) * seeds
    done = 0

    def progress(outcome: PieceResult | PieceFailure) -> None:
        nonlocal done
        done += 1
        if isinstance(outcome, PieceFailure):
            console.print(f"[red]{outcome.genre} seed {outcome.seed} failed:[/] {outcome.message}")
        elif console.is_terminal:
            console.print(f"{done}/{total} {outcome.genre} seed {outcome.seed}", end="\r")

    evaluation = evaluate(soundfont, ready, seeds, seconds, progress=progress)
    evaluation.skipped = skipped
    for report in evaluation.reports:
        console.print(report.seeds_table().to_rich())
        console.print(report.metrics_table().to_rich())
    console.print(evaluation.quality_medians_table().to_rich())
    console.print(evaluation.summary_table().to_rich())
    console.print(evaluation.targets_table().to_rich())
    console.print(f"{total} pieces in {evaluation.elapsed_s:.0f} s")
    if markdown is not None:
        markdown.write_text(markdown_report(evaluation, command, machine_description()) + "\n")
        console.print(f"wrote {markdown}")
    return 1 if evaluation.failures else 0
