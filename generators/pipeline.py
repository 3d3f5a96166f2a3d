"""Request → finished piece: compose, check, render, master, encode, picture.

`PieceMaker` holds the warm resources (one synth per process) and is built once and passed in.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pedalboard import LowpassFilter, Pedalboard

from generators import __version__
from generators.catalog import Catalog
from generators.compose import compose
from generators.encode import Tags, encode_mp3
from generators.fingerprint import FingerprintError, fingerprint_pcm
from generators.master import colour_for, master
from generators.midi import midi_bytes
from generators.pianoroll import render_piano_roll
from generators.quality import QualityReport, QualityValue, check_audio, check_score
from generators.remix import RemixChanges, remix
from generators.render import Renderer
from generators.request import CompositionRequest
from generators.score import Score

MAX_ATTEMPTS = 3
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class PieceFiles:
    mp3: Path
    midi: Path
    png: Path


@dataclass(frozen=True, slots=True)
class Piece:
    piece_id: str
    score: Score
    files: PieceFiles
    sha256: dict[str, str]
    quality: dict[str, QualityValue]
    timings: dict[str, float] = field(default_factory=dict)
    fingerprint: str | None = None  # Chromaprint of the mastered audio, compressed base64


def derived_seed(seed: int, attempt: int) -> int:
    """The seed for a retry: deterministic, so a retried piece can be reproduced from the record."""
    if attempt == 0:
        return seed
    digest = hashlib.sha256(f"{seed}:retry:{attempt}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _rejection(score: Score, verdict: QualityReport) -> str:
    """What the record keeps about a rejected attempt: its seed and why."""
    return f"seed {score.seed}: " + "; ".join(verdict.failures)


class PieceMaker:
    """Makes pieces with warm resources. `cores` > 1 lets one piece use several cores (the CLI);
    a service with one worker process per core keeps the default of 1."""

    def __init__(
        self, renderer: Renderer, catalog: Catalog, cores: int = 1, fingerprint: bool = True
    ) -> None:
        self.renderer = renderer
        self.catalog = catalog
        self.cores = max(1, cores)
        self.fingerprint = fingerprint  # off only for the benchmark's A/B of its cost

    def make(
        self,
        request: CompositionRequest,
        seed: int,
        out_dir: Path,
        piece_id: str,
        artist: str = "Tunesmith",
        progress: Progress | None = None,
    ) -> Piece:
        """Make the piece and write `<id>.mp3`, `<id>.mid` and `<id>.png` into `out_dir`."""
        return self._make(
            lambda attempt_seed: compose(request, attempt_seed, self.catalog),
            seed,
            out_dir,
            piece_id,
            artist,
            progress,
        )

    def make_remix(
        self,
        source: Score,
        changes: RemixChanges,
        seed: int,
        out_dir: Path,
        piece_id: str,
        artist: str = "Tunesmith",
        progress: Progress | None = None,
    ) -> Piece:
        """Remix `source` (a stored piece's Score) and make the result as `make` does.

        A remix that fails the checks is tried again from a derived seed, like a composition:
        the seed decides the new genre's groove, a new melody or new chords."""
        return self._make(
            lambda attempt_seed: remix(source, changes, attempt_seed, self.catalog),
            seed,
            out_dir,
            piece_id,
            artist,
            progress,
        )

    def _make(
        self,
        write: Callable[[int], Score],
        seed: int,
        out_dir: Path,
        piece_id: str,
        artist: str,
        progress: Progress | None,
    ) -> Piece:
        report = progress or (lambda stage: None)
        timings: dict[str, float] = {}
        out_dir.mkdir(parents=True, exist_ok=True)

        # Compose, check the score, render, master, check the sound; a piece that fails either check
        # is composed again from a derived seed. The last attempt is kept whatever it measures,
        # flagged with its failures: a piece that is slightly off beats no piece at all.
        timings.update(compose=0.0, render=0.0, master=0.0)
        rejected: list[str] = []
        for attempt in range(MAX_ATTEMPTS):
            last_attempt = attempt == MAX_ATTEMPTS - 1
            clock = time.perf_counter()
            report("composing")
            score = write(derived_seed(seed, attempt))
            symbolic = check_score(score)
            timings["compose"] += time.perf_counter() - clock
            if not symbolic.passed and not last_attempt:
                rejected.append(_rejection(score, symbolic))
                continue

            report("rendering")
            clock = time.perf_counter()
            audio = self.renderer.render(score)
            timings["render"] += time.perf_counter() - clock

            report("mastering")
            clock = time.perf_counter()
            audio = filtered_intro(score, audio, self.renderer.sample_rate)
            mastered = master(
                audio,
                self.renderer.sample_rate,
                colour_for(score.colour or score.genre),
                score.seed,
            )
            verdict = symbolic.merged(
                check_audio(
                    mastered.samples,
                    mastered.sample_rate,
                    score.duration_s,
                    mastered.integrated_lufs,
                    mastered.true_peak_dbtp,
                )
            )
            timings["master"] += time.perf_counter() - clock
            if verdict.passed or last_attempt:
                break
            rejected.append(_rejection(score, verdict))
        quality: dict[str, QualityValue] = {**verdict.as_dict(attempt + 1), "rejected": rejected}

        report("encoding")
        clock = time.perf_counter()
        mp3_path = out_dir / f"{piece_id}.mp3"
        # ffmpeg encodes on another core while this thread writes the MIDI and draws the picture.
        encoder = _Background(
            lambda: encode_mp3(
                mastered.samples,
                mastered.sample_rate,
                mp3_path,
                tags_for(score, piece_id, artist),
                parts=self.cores,
            )
        )
        # Chromaprint releases the GIL, so the fingerprint costs next to nothing beside the encoder.
        fingerprint_clock = time.perf_counter()
        fingerprint: str | None = None
        try:
            if self.fingerprint:
                fingerprint = fingerprint_pcm(mastered.samples, mastered.sample_rate).encoded
        except FingerprintError:  # a piece too short to identify is still a piece
            fingerprint = None
        timings["fingerprint"] = time.perf_counter() - fingerprint_clock
        midi_path = out_dir / f"{piece_id}.mid"
        midi_data = midi_bytes(score)
        midi_path.write_bytes(midi_data)
        png_path = out_dir / f"{piece_id}.png"
        picture_clock = time.perf_counter()
        png_data = render_piano_roll(score)
        png_path.write_bytes(png_data)
        timings["picture"] = time.perf_counter() - picture_clock
        encoder.result()
        timings["encode"] = time.perf_counter() - clock

        sha256 = {
            "mp3": hashlib.sha256(mp3_path.read_bytes()).hexdigest(),
            "midi": hashlib.sha256(midi_data).hexdigest(),
            "png": hashlib.sha256(png_data).hexdigest(),
        }
        return Piece(
            piece_id,
            score,
            PieceFiles(mp3_path, midi_path, png_path),
            sha256,
            quality,
            timings,
            fingerprint,
        )


class _Background:
    """Run one blocking call on a short-lived thread; `result()` joins it and re-raises its error."""

    def __init__(self, call: Callable[[], object]) -> None:
        self._error: BaseException | None = None
        self._call = call
        self._thread = threading.Thread(target=self._run, name="tunesmith-encode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._call()
        except BaseException as error:  # handed to the caller in result()
            self._error = error

    def result(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


def filtered_intro(score: Score, audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Lofi opens as if through a small speaker: the intro low-passed, opening up into the beat."""
    if (
        (score.colour or score.genre) != "lofi"
        or not score.sections
        or score.sections[0].name != "intro"
    ):
        return audio
    intro = score.sections[0]
    end = round(score.seconds(intro.bars * score.beats_per_bar) * sample_rate)
    fade = round(0.4 * sample_rate)
    length = min(len(audio), end + fade)
    if end <= 0 or length <= 0:
        return audio
    board = Pedalboard([LowpassFilter(cutoff_frequency_hz=1100.0)])
    filtered = board(np.ascontiguousarray(audio[:length].T), sample_rate, reset=True).T
    # Fully filtered until shortly before the beat comes in, then a short crossfade to full range.
    weight = np.clip((end + fade - np.arange(length)) / (2 * fade), 0.0, 1.0).astype(np.float32)[
        :, None
    ]
    out = audio.copy()
    out[:length] = filtered * weight + audio[:length] * (1.0 - weight)
    return out


def tags_for(score: Score, piece_id: str, artist: str) -> Tags:
    from generators.catalog import NOTE_NAMES

    minor = score.mode in ("minor", "dorian", "phrygian")
    return Tags(
        title=score.title,
        artist=artist,
        genre=score.genre,
        bpm=round(score.tempo_bpm),
        key=NOTE_NAMES[score.tonic] + ("m" if minor else ""),
        comment=f"request: {score.request_text or score.genre}; seed: {score.seed}; Tunesmith {__version__}",
        piece_id=piece_id,
        year=time.gmtime().tm_year,
    )
