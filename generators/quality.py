"""Quality checks every piece passes before anyone hears it.

Symbolic checks read the Score; audio checks read the mastered samples. A failing piece is
composed again from a derived seed (see `pipeline`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from generators.score import Role, Score

TARGET_LUFS = -14.0
LUFS_TOLERANCE = 1.0
MAX_TRUE_PEAK_DBTP = -1.0
LENGTH_TOLERANCE_S = 0.1


@dataclass(frozen=True, slots=True)
class QualityReport:
    passed: bool
    metrics: dict[str, float | bool]
    failures: tuple[str, ...] = field(default=())

    def as_dict(self, attempts: int) -> dict[str, float | bool | int]:
        return {"passed": self.passed, "attempts": attempts, **self.metrics}


def check_score(score: Score) -> QualityReport:
    """Symbolic checks: the melody ends on the tonic, the final chord is the tonic, notes in range."""
    from generators.compose.arrangement import playable_range

    failures: list[str] = []
    lead = score.track(Role.LEAD)
    ends_on_tonic = True
    if lead is not None and lead.notes:
        last = max(lead.notes, key=lambda n: (n.start, n.pitch))
        ends_on_tonic = last.pitch % 12 == score.tonic
    final_chord_tonic = bool(score.chords) and score.chords[-1].chord.root == score.tonic
    out_of_range = 0
    total = 0
    for track in score.tracks:
        if track.is_drum:
            continue
        low, high = playable_range(track.program)
        total += len(track.notes)
        out_of_range += sum(1 for n in track.notes if not low <= n.pitch <= high)
    music_end = max((n.end for t in score.tracks for n in t.notes), default=0.0)
    ends_in_time = score.seconds(music_end) <= score.duration_s + 1e-6
    if not ends_on_tonic:
        failures.append("the melody does not end on the tonic")
    if not final_chord_tonic:
        failures.append("the final chord is not the tonic")
    if out_of_range:
        failures.append(f"{out_of_range} notes outside their instrument's range")
    if not ends_in_time:
        failures.append("notes sound past the end of the piece")
    metrics: dict[str, float | bool] = {
        "ends_on_tonic": ends_on_tonic,
        "final_chord_tonic": final_chord_tonic,
        "notes_out_of_range": float(out_of_range),
        "note_count": float(total),
    }
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
    longest_gap, run = 0, 0
    for is_silent in silent[: max(0, len(silent) - 20)]:
        run = run + 1 if is_silent else 0
        longest_gap = max(longest_gap, run)
    gap_s = longest_gap * window / sample_rate
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
    if gap_s >= 1.0:
        failures.append(f"a silent gap of {gap_s:.1f} s")
    metrics: dict[str, float | bool] = {
        "integrated_lufs": round(integrated_lufs, 2),
        "true_peak_dbtp": round(true_peak_dbtp, 2),
        "length_s": round(length_s, 3),
        "clipped_samples": float(clipped),
        "longest_silence_s": round(gap_s, 2),
    }
    return QualityReport(not failures, metrics, tuple(failures))
