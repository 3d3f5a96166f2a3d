"""Quality checks every piece passes before anyone hears it.

Symbolic checks read the Score; audio checks read the mastered samples. A failing piece is
composed again from a derived seed (see `pipeline`).

The symbolic metrics are MusPy's (`muspy/metrics/metrics.py`, MusPy 0.5): `scale_consistency`,
`pitch_class_entropy`, `groove_consistency`, `drum_pattern_consistency`, `empty_beat_rate`,
`polyphony` and `polyphony_rate`, computed on the time grid MusPy sees when it reads our MIDI file
and adjusts it to its default resolution:
``muspy.read_midi(path).adjust_resolution(24)``. Our MIDI is written at 480 ticks per beat, so a
note's start and end are first rounded to 480 ticks (as pretty_midi writes them) and then to 24
ticks per beat (as `adjust_resolution` rounds them, half to even). At 24 ticks per beat the 16th
grid (every 6 ticks) and the triplet grid (every 8 ticks) are both exact, and a few milliseconds of
humanisation mostly stays on its tick; at 480 ticks per beat every humanised drum hit would be
"off the pattern" and every groove would look perfectly consistent.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from generators.score import Role, Score

TARGET_LUFS = -14.0
LUFS_TOLERANCE = 1.0
MAX_TRUE_PEAK_DBTP = -1.0
LENGTH_TOLERANCE_S = 0.1
MAX_SILENT_GAP_S = 1.0

MIDI_TICKS_PER_BEAT = 480  # what generators.midi writes
TICKS_PER_BEAT = 24  # MusPy's DEFAULT_RESOLUTION, the grid the metrics are computed on
POLYPHONY_RATE_THRESHOLD = 2  # MusPy's default: steps with more than 2 pitches sounding

Metric = float | bool | None
QualityValue = float | int | bool | str | None | list[str]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What a normal piece of a genre measures; outside these bounds the piece is recomposed.

    Drum metrics are only checked when the piece has drum notes (ambient, or "lofi without
    drums", have none and that is fine). The statistical checks (entropy, groove, drum pattern,
    the melody's minimum range) need material: a sting shorter than `min_bars` has no room for a
    groove to settle or a melody to travel, so there they are reported but not enforced.
    """

    min_scale_consistency: float = 0.85
    pitch_class_entropy: tuple[float, float] = (2.2, 3.3)
    min_groove_consistency: float = 0.86
    min_drum_pattern_consistency: float = 0.75
    max_empty_beat_rate: float = 0.10
    polyphony: tuple[float, float] = (1.0, 10.0)
    melodic_range: tuple[int, int] = (4, 26)  # semitones: narrower is a drone, wider unsingable
    min_bars: int = 8


DEFAULT_THRESHOLDS = Thresholds()

# Set from measurements of the composer: lofi, jazz, ambient and bossa over 200 seeds at 5, 12,
# 30, 60 and 120 s; classical, rock, edm, hiphop, chiptune, synthwave and funk over 100 seeds at
# 12, 30 and 90 s (the ranges quoted are min–max over those). Each bound sits just outside what
# normal pieces measure and well inside what a broken one does (random pitches: scale
# consistency ≈ 0.6, entropy ≈ 3.5; random onsets: groove ≈ 0.7; random drum timing: drum
# pattern ≈ 0.2). Cinematic had no style yet: its bounds come from the idiom.
GENRE_THRESHOLDS: Mapping[str, Thresholds] = {
    # measured: scale 0.88–1.0, entropy 2.40–2.97, groove 0.90–0.96, drums 0.70–0.93 (swung
    # 16ths land on tick 7 of 24, off both MusPy grids), polyphony 4.3–6.0, range 2–22
    "lofi": Thresholds(
        min_scale_consistency=0.85,
        pitch_class_entropy=(2.3, 3.2),
        min_groove_consistency=0.88,
        min_drum_pattern_consistency=0.66,
        polyphony=(2.0, 8.0),
        melodic_range=(3, 24),
    ),
    # measured: scale 0.72–1.0 (approach tones, tritone subs), entropy 2.6–3.49, groove 0.89–0.99,
    # drums 1.0 for triplet swing but 0.61–0.77 for up-tempo swing at 0.61–0.63, range 5–22
    "jazz": Thresholds(
        min_scale_consistency=0.68,
        pitch_class_entropy=(2.4, 3.55),
        min_groove_consistency=0.86,
        min_drum_pattern_consistency=0.55,
        polyphony=(2.0, 8.0),
        melodic_range=(4, 26),
    ),
    # measured: scale 1.0, entropy 1.94–2.74 (drones), groove 0.97–0.995, no drums,
    # polyphony 3.6–8.0, range 0–19 (sparse motifs)
    "ambient": Thresholds(
        min_scale_consistency=0.90,
        pitch_class_entropy=(1.8, 3.0),
        min_groove_consistency=0.90,
        min_drum_pattern_consistency=0.75,
        polyphony=(2.0, 10.0),
        melodic_range=(2, 24),
    ),
    # measured: scale 0.81–0.97, entropy 2.64–3.37, groove 0.90–0.95, drums 0.69–0.99,
    # polyphony 3.9–5.3, range 5–19
    "bossa": Thresholds(
        min_scale_consistency=0.76,
        pitch_class_entropy=(2.4, 3.45),
        min_groove_consistency=0.87,
        min_drum_pattern_consistency=0.70,
        polyphony=(2.0, 8.0),
        melodic_range=(4, 24),
    ),
    # measured (100 seeds at 12, 30, 90 s): scale 0.80–1.0 (secondary dominants), entropy
    # 2.41–3.07, groove 0.965–0.997, no drums, polyphony 2.4–3.1, range 3–25
    "classical": Thresholds(
        min_scale_consistency=0.76,
        pitch_class_entropy=(2.2, 3.3),
        min_groove_consistency=0.90,
        polyphony=(1.5, 6.0),
        melodic_range=(4, 26),
    ),
    # measured: scale 0.965–1.0, entropy 2.26–2.75 (power chords), groove 0.92–0.97,
    # drums 0.94–1.0, polyphony 3.2–5.3, range 7–25
    "rock": Thresholds(
        min_scale_consistency=0.88,
        pitch_class_entropy=(2.0, 3.2),
        min_groove_consistency=0.88,
        min_drum_pattern_consistency=0.85,
        polyphony=(2.0, 8.0),
        melodic_range=(5, 26),
    ),
    # measured: scale 0.90–1.0, entropy 2.40–2.95, groove 0.93–0.98, drums 0.92–0.97 (machine
    # tight), polyphony 3.8–6.0, range 1–21
    "edm": Thresholds(
        min_scale_consistency=0.85,
        pitch_class_entropy=(2.1, 3.2),
        min_groove_consistency=0.88,
        min_drum_pattern_consistency=0.85,
        polyphony=(2.0, 8.0),
        melodic_range=(4, 24),
    ),
    # measured: scale 0.92–1.0, entropy 2.12–2.94, groove 0.90–0.97, drums 0.49–0.95 (trap hat
    # rolls in 1/32 triplets sit off both MusPy grids), polyphony 3.7–7.4, range 1–17;
    # drop-outs may leave empty beats
    "hiphop": Thresholds(
        min_scale_consistency=0.85,
        pitch_class_entropy=(1.8, 3.2),
        min_groove_consistency=0.86,
        min_drum_pattern_consistency=0.50,
        max_empty_beat_rate=0.15,
        polyphony=(2.0, 9.0),
        melodic_range=(3, 24),
    ),
    # measured: scale 0.94–1.0, entropy 2.61–2.92, groove 0.95–0.995, drums 1.0, polyphony
    # 2.45–2.66 (at most four NES-like voices), range 12–23 (wide intervals)
    "chiptune": Thresholds(
        min_scale_consistency=0.88,
        pitch_class_entropy=(2.2, 3.2),
        min_groove_consistency=0.90,
        min_drum_pattern_consistency=0.85,
        polyphony=(1.0, 4.5),
        melodic_range=(5, 30),
    ),
    # not yet written when measured: from the idiom (timpani rolls and swells, pauses before hits,
    # a full orchestra)
    "cinematic": Thresholds(
        min_groove_consistency=0.82,
        min_drum_pattern_consistency=0.65,
        max_empty_beat_rate=0.15,
        polyphony=(1.5, 14.0),
    ),
    # measured: scale 0.97–1.0, entropy 2.45–2.80, groove 0.96–0.99, drums 1.0, polyphony
    # 4.1–6.3, range 5–21
    "synthwave": Thresholds(
        min_scale_consistency=0.88,
        pitch_class_entropy=(2.2, 3.2),
        min_groove_consistency=0.90,
        min_drum_pattern_consistency=0.85,
        polyphony=(2.0, 8.0),
        melodic_range=(4, 24),
    ),
    # measured: scale 0.81–0.95 (dominant 7/9 vamps, blue notes), entropy 2.46–3.16,
    # groove 0.95–0.995, drums 0.97–1.0, polyphony 1.86–2.66, range 5–19
    "funk": Thresholds(
        min_scale_consistency=0.76,
        pitch_class_entropy=(2.2, 3.4),
        min_groove_consistency=0.88,
        min_drum_pattern_consistency=0.85,
        polyphony=(1.3, 6.0),
        melodic_range=(4, 24),
    ),
}


def thresholds_for(genre: str) -> Thresholds:
    return GENRE_THRESHOLDS.get(genre, DEFAULT_THRESHOLDS)


@dataclass(frozen=True, slots=True)
class QualityReport:
    passed: bool
    metrics: dict[str, Metric]
    failures: tuple[str, ...] = field(default=())

    def as_dict(self, attempts: int) -> dict[str, QualityValue]:
        """The `quality` object of the `--json` output."""
        return {
            "passed": self.passed,
            "attempts": attempts,
            **self.metrics,
            "failures": list(self.failures),
        }

    def merged(self, other: QualityReport) -> QualityReport:
        """Both reports as one: passed only if both passed."""
        return QualityReport(
            self.passed and other.passed,
            {**self.metrics, **other.metrics},
            self.failures + other.failures,
        )


# MusPy metrics ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoteGrid:
    """Every note of a Score on MusPy's integer tick grid (24 per beat), as flat arrays."""

    start: np.ndarray  # int64 ticks
    end: np.ndarray  # int64 ticks
    pitch: np.ndarray  # int64 MIDI note numbers
    is_drum: np.ndarray  # bool
    track: np.ndarray  # int64 index into score.tracks
    start_beats: np.ndarray  # float64, unquantised
    end_beats: np.ndarray  # float64, unquantised
    beats_per_bar: int

    @classmethod
    def from_score(cls, score: Score) -> NoteGrid:
        starts, durations, pitches, owners = [], [], [], []
        for index, track in enumerate(score.tracks):
            count = len(track.notes)
            starts.append(np.fromiter(map(_START, track.notes), np.float64, count))
            durations.append(np.fromiter(map(_DURATION, track.notes), np.float64, count))
            pitches.append(np.fromiter(map(_PITCH, track.notes), np.int64, count))
            owners.append(np.full(count, index, np.int64))
        start = np.concatenate(starts) if starts else np.zeros(0)
        end = start + (np.concatenate(durations) if durations else np.zeros(0))
        owner = np.concatenate(owners) if owners else np.zeros(0, np.int64)
        drum_tracks = np.array([t.is_drum for t in score.tracks] or [False], bool)
        return cls(
            start=to_ticks(start),
            end=to_ticks(end),
            pitch=np.concatenate(pitches) if pitches else np.zeros(0, np.int64),
            is_drum=drum_tracks[owner],
            track=owner,
            start_beats=start,
            end_beats=end,
            beats_per_bar=score.beats_per_bar,
        )

    @property
    def length(self) -> int:
        """MusPy's `max(track.get_end_time() for track in music.tracks)`."""
        return int(self.end.max()) if self.end.size else 0


_START = operator.attrgetter("start")
_DURATION = operator.attrgetter("duration")
_PITCH = operator.attrgetter("pitch")


def to_ticks(beats: np.ndarray) -> np.ndarray:
    """Beats → the ticks MusPy reads from our MIDI after `adjust_resolution(24)`."""
    midi_ticks = np.rint(beats * MIDI_TICKS_PER_BEAT)
    return np.rint(midi_ticks * (TICKS_PER_BEAT / MIDI_TICKS_PER_BEAT)).astype(np.int64)


# Scale masks in C, MusPy's `_get_scale`; rolled to every root: 24 scales × 12 pitch classes.
_C_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], bool)
_C_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], bool)
_SCALES = np.array([np.roll(scale, root) for scale in (_C_MAJOR, _C_MINOR) for root in range(12)])


def _pitch_class_counts(grid: NoteGrid) -> np.ndarray:
    return np.bincount(grid.pitch[~grid.is_drum] % 12, minlength=12).astype(np.float64)


def scale_consistency(grid: NoteGrid) -> float:
    """Largest share of pitched notes inside one major or minor scale (MusPy). NaN if no notes."""
    counts = _pitch_class_counts(grid)
    total = counts.sum()
    if total < 1:
        return math.nan
    return float((_SCALES @ counts).max() / total)


def pitch_class_entropy(grid: NoteGrid) -> float:
    """Shannon entropy (bits) of the pitched notes' pitch-class histogram (MusPy). NaN if none."""
    counts = _pitch_class_counts(grid)
    total = counts.sum()
    if total < 1:
        return math.nan
    prob = counts[counts > 0] / total
    return float(-(prob * np.log2(prob)).sum()) + 0.0  # never -0.0


def groove_consistency(grid: NoteGrid, measure_resolution: int | None = None) -> float:
    """1 − mean Hamming distance between the onset vectors of neighbouring bars (MusPy).

    All tracks count, drums included; `measure_resolution` defaults to 24 × beats per bar.
    NaN if the piece is shorter than two bars.
    """
    resolution = measure_resolution or TICKS_PER_BEAT * grid.beats_per_bar
    n_measures = grid.length // resolution + 1
    if n_measures < 2:
        return math.nan
    patterns = np.zeros((n_measures, resolution), bool)
    patterns[grid.start // resolution, grid.start % resolution] = True
    hamming = np.count_nonzero(patterns[:-1] != patterns[1:])
    return float(1 - hamming / (resolution * (n_measures - 1)))


_DUPLE = np.isin(np.arange(TICKS_PER_BEAT), np.arange(0, TICKS_PER_BEAT, TICKS_PER_BEAT // 4))
_TRIPLE = np.isin(np.arange(TICKS_PER_BEAT), np.arange(0, TICKS_PER_BEAT, TICKS_PER_BEAT // 3))


def drum_pattern_consistency(grid: NoteGrid) -> float:
    """Largest share of drum hits on the 16th grid (duple) or the triplet grid (MusPy).

    NaN if there are no drum notes.
    """
    position = grid.start[grid.is_drum] % TICKS_PER_BEAT
    if position.size < 1:
        return math.nan
    return float(max(_DUPLE[position].mean(), _TRIPLE[position].mean()))


def empty_beat_rate(grid: NoteGrid) -> float:
    """Share of beats in which no note (drums included) sounds (MusPy). NaN for an empty piece.

    As in MusPy, a note marks every beat from the one it starts in to the one it ends in.
    """
    length = grid.length
    if length < 1:
        return math.nan
    n_beats = length // TICKS_PER_BEAT + 1
    marks = np.zeros(n_beats + 1, np.int64)
    np.add.at(marks, grid.start // TICKS_PER_BEAT, 1)
    np.add.at(marks, grid.end // TICKS_PER_BEAT + 1, -1)
    sounding = np.count_nonzero(np.cumsum(marks[:n_beats]) > 0)
    return float(1 - sounding / n_beats)


def _pitches_sounding(grid: NoteGrid) -> np.ndarray:
    """Pitched notes sounding at each tick up to the piece's length, drums ignored: MusPy's binary
    piano roll summed over pitch, where a pitch doubled by two tracks counts once.

    Built from each pitch's union of [start, end) intervals rather than a dense roll, so a
    five-minute piece costs a sort, not 128 × 20 000 cells.
    """
    length = grid.length
    pitched = ~grid.is_drum
    # Offset each pitch into its own stretch of the time axis so one running maximum merges
    # overlapping notes of the same pitch and never carries across pitches.
    span = length + 1
    order = np.lexsort((grid.start[pitched], grid.pitch[pitched]))
    key_start = (grid.pitch[pitched] * span + grid.start[pitched])[order]
    key_end = (grid.pitch[pitched] * span + grid.end[pitched])[order]
    if key_start.size == 0:
        return np.zeros(length, np.int64)
    reach = np.maximum.accumulate(key_end)
    opens = np.ones(key_start.size, bool)
    opens[1:] = key_start[1:] >= reach[:-1]
    first = np.flatnonzero(opens)
    union_start = key_start[first] % span
    union_end = np.maximum.reduceat(key_end, first) % span
    change = np.bincount(union_start, minlength=span) - np.bincount(union_end, minlength=span)
    return np.cumsum(change[:length])


def polyphony(grid: NoteGrid, sounding: np.ndarray | None = None) -> float:
    """Mean number of pitches sounding, over the ticks where at least one does (MusPy)."""
    sounding = _pitches_sounding(grid) if sounding is None else sounding
    busy = np.count_nonzero(sounding)
    if busy < 1:
        return math.nan
    return float(sounding.sum() / busy)


def polyphony_rate(
    grid: NoteGrid, threshold: int = POLYPHONY_RATE_THRESHOLD, sounding: np.ndarray | None = None
) -> float:
    """Share of ticks with more than `threshold` pitches sounding (MusPy). NaN if empty."""
    sounding = _pitches_sounding(grid) if sounding is None else sounding
    if sounding.size < 1:
        return math.nan
    return float(np.count_nonzero(sounding > threshold) / sounding.size)


# The checks -------------------------------------------------------------------------------------


def _value(x: float, digits: int) -> float | None:
    """A metric for the report: rounded, and None where it does not apply (NaN)."""
    return None if math.isnan(x) else round(x, digits)


def score_metrics(score: Score) -> dict[str, Metric]:
    """Every symbolic metric of a piece, rounded; None where a metric does not apply."""
    return _measure(score, NoteGrid.from_score(score))


def _measure(score: Score, grid: NoteGrid) -> dict[str, Metric]:
    from generators.compose.arrangement import playable_range

    sounding = _pitches_sounding(grid)
    lead_index = next((i for i, t in enumerate(score.tracks) if t.role == Role.LEAD), -1)
    lead = grid.track == lead_index
    ends_on_tonic = True
    melodic_range: float | None = None
    if lead.any():
        lead_start, lead_pitch = grid.start_beats[lead], grid.pitch[lead]
        last = np.lexsort((lead_pitch, lead_start))[-1]
        ends_on_tonic = bool(lead_pitch[last] % 12 == score.tonic)
        melodic_range = float(lead_pitch.max() - lead_pitch.min())
    ranges = np.array([playable_range(t.program) for t in score.tracks] or [(0, 127)])
    low, high = ranges[grid.track, 0], ranges[grid.track, 1]
    outside = ~grid.is_drum & ((grid.pitch < low) | (grid.pitch > high))
    music_end = float(grid.end_beats.max()) if grid.end_beats.size else 0.0
    return {
        "scale_consistency": _value(scale_consistency(grid), 3),
        "pitch_class_entropy": _value(pitch_class_entropy(grid), 3),
        "groove_consistency": _value(groove_consistency(grid), 3),
        "drum_pattern_consistency": _value(drum_pattern_consistency(grid), 3),
        "empty_beat_rate": _value(empty_beat_rate(grid), 3),
        "polyphony": _value(polyphony(grid, sounding), 2),
        "polyphony_rate": _value(polyphony_rate(grid, sounding=sounding), 3),
        "melodic_range": melodic_range,
        "notes_out_of_range": float(np.count_nonzero(outside)),
        "ends_on_tonic": ends_on_tonic,
        "final_chord_tonic": bool(score.chords) and score.chords[-1].chord.root == score.tonic,
        "ends_in_time": score.seconds(music_end) <= score.duration_s + 1e-6,
        "note_count": float(np.count_nonzero(~grid.is_drum)),
    }


def _symbolic_failures(metrics: Mapping[str, Metric], limits: Thresholds, bars: float) -> list[str]:
    failures: list[str] = []
    statistical = bars >= limits.min_bars

    def number(name: str) -> float | None:
        value = metrics.get(name)
        return None if value is None or isinstance(value, bool) else float(value)

    if (value := number("note_count")) is not None and value < 1:
        return ["the piece has no pitched notes"]
    if (value := number("scale_consistency")) is not None and value < limits.min_scale_consistency:
        failures.append(
            f"scale consistency {value:.0%}: too many notes outside any one key"
            f" (needs ≥ {limits.min_scale_consistency:.0%})"
        )
    low, high = limits.pitch_class_entropy
    value = number("pitch_class_entropy")
    if statistical and value is not None and not low <= value <= high:
        failures.append(
            f"pitch-class entropy {value:.2f} bits "
            + ("too low: hardly any harmony" if value < low else "too high: nearly chromatic")
            + f" (needs {low:g}–{high:g})"
        )
    value = number("groove_consistency")
    if statistical and value is not None and value < limits.min_groove_consistency:
        failures.append(
            f"groove consistency {value:.0%}: the rhythm changes chaotically from bar to bar"
            f" (needs ≥ {limits.min_groove_consistency:.0%})"
        )
    value = number("drum_pattern_consistency")
    if statistical and value is not None and value < limits.min_drum_pattern_consistency:
        failures.append(
            f"drum pattern consistency {value:.0%}: drum hits off the 16th and triplet grids"
            f" (needs ≥ {limits.min_drum_pattern_consistency:.0%})"
        )
    if (value := number("empty_beat_rate")) is not None and value > limits.max_empty_beat_rate:
        failures.append(
            f"empty beat rate {value:.0%}: stretches of silence"
            f" (needs ≤ {limits.max_empty_beat_rate:.0%})"
        )
    low, high = limits.polyphony
    if (value := number("polyphony")) is not None and not low <= value <= high:
        failures.append(
            f"polyphony {value:.1f} pitches at once "
            + ("too thin" if value < low else "too dense")
            + f" (needs {low:g}–{high:g})"
        )
    low_range, high_range = limits.melodic_range
    value = number("melodic_range")
    if value is not None and (value > high_range or (statistical and value < low_range)):
        failures.append(
            f"the melody spans {value:.0f} semitones: "
            + ("too narrow" if value < low_range else "too wide to sing")
            + f" (needs {low_range}–{high_range})"
        )
    if (value := number("notes_out_of_range")) is not None and value > 0:
        failures.append(f"{value:.0f} notes outside their instrument's range")
    if metrics.get("ends_on_tonic") is False:
        failures.append("the melody does not end on the tonic")
    if metrics.get("final_chord_tonic") is False:
        failures.append("the final chord is not the tonic")
    if metrics.get("ends_in_time") is False:
        failures.append("notes sound past the end of the piece")
    return failures


def check_score(score: Score, thresholds: Thresholds | None = None) -> QualityReport:
    """Symbolic checks against the genre's thresholds (or the ones given)."""
    grid = NoteGrid.from_score(score)
    metrics = _measure(score, grid)
    bars = (float(grid.end_beats.max()) if grid.end_beats.size else 0.0) / score.beats_per_bar
    failures = _symbolic_failures(metrics, thresholds or thresholds_for(score.genre), bars)
    return QualityReport(not failures, metrics, tuple(failures))


def check_audio(
    samples: np.ndarray,
    sample_rate: int,
    expected_s: float,
    integrated_lufs: float,
    true_peak_dbtp: float,
) -> QualityReport:
    """Audio checks on the mastered piece: loudness, true peak, exact length, no clipping, no gap."""
    failures: list[str] = []
    length_s = samples.shape[0] / sample_rate
    clipped = int(np.count_nonzero(np.abs(samples) >= 0.999))
    # Silence longer than a second before the final ring-out would be a hole in the music.
    mono = np.abs(samples).max(axis=1) if samples.ndim == 2 else np.abs(samples)
    window = sample_rate // 10
    usable = mono[: len(mono) - len(mono) % window].reshape(-1, window).max(axis=1)
    silent = usable < 10 ** (-60 / 20)
    gap_s = _longest_run(silent[: max(0, len(silent) - 20)]) * window / sample_rate
    if abs(integrated_lufs - TARGET_LUFS) > LUFS_TOLERANCE:
        failures.append(
            f"loudness {integrated_lufs:.1f} LUFS, target {TARGET_LUFS:g} ± {LUFS_TOLERANCE:g}"
        )
    if true_peak_dbtp > MAX_TRUE_PEAK_DBTP:
        failures.append(f"true peak {true_peak_dbtp:.2f} dBTP above {MAX_TRUE_PEAK_DBTP:g}")
    if abs(length_s - expected_s) > LENGTH_TOLERANCE_S:
        failures.append(f"length {length_s:.2f} s, asked for {expected_s:.2f} s")
    if clipped:
        failures.append(f"{clipped} clipped samples")
    if gap_s >= MAX_SILENT_GAP_S:
        failures.append(f"a silent gap of {gap_s:.1f} s")
    metrics: dict[str, Metric] = {
        "integrated_lufs": round(integrated_lufs, 2),
        "true_peak_dbtp": round(true_peak_dbtp, 2),
        "length_s": round(length_s, 3),
        "clipped_samples": float(clipped),
        "longest_silence_s": round(gap_s, 2),
    }
    return QualityReport(not failures, metrics, tuple(failures))


def _longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of True."""
    if not flags.any():
        return 0
    padded = np.concatenate(([False], flags, [False])).astype(np.int8)
    edges = np.diff(padded)
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())
