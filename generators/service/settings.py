"""How the generator service runs: one frozen value, built in `main` and passed in."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from generators.remix.sandbox import SandboxLimits
from generators.settings import Settings


def _default_workers() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = field(default_factory=_default_workers)  # worker processes, one warm synth each
    queue_size: int | None = None  # pending jobs beyond the in-flight ones; None → 2 × workers
    job_timeout_s: float = 60.0  # a job running longer has its worker killed and replaced
    max_body_bytes: int = 16384
    max_source_bytes: int = 4 * 2**20  # a remix's body: the stored piece's Score as JSON
    max_midi_bytes: int = 2**20  # an uploaded MIDI file to import
    import_sandbox: SandboxLimits = field(default_factory=SandboxLimits)
    artifact_ttl_s: float = 900.0  # how long finished files can be downloaded
    max_artifacts: int = 500  # pieces kept on disk at most; the oldest go first
    shutdown_grace_s: float = 30.0  # how long in-flight jobs may run on after shutdown begins
    soundfont: Path | None = None  # None → resolved through generators.soundfonts
    scratch_dir: Path | None = None  # None → a temporary folder removed at shutdown
    max_duration_s: float | None = None  # cap on piece length below the catalogue's 5 min
    # Honour the `_test_hold_s` request field (tests only: a job that holds its worker).
    allow_test_hooks: bool = False

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if self.queue_size is not None and self.queue_size < 0:
            raise ValueError(f"queue_size must be 0 or more, got {self.queue_size}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {self.port}")
        for name in ("job_timeout_s", "artifact_ttl_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be more than 0, got {getattr(self, name)}")
        if self.shutdown_grace_s < 0:
            raise ValueError(f"shutdown_grace_s must be 0 or more, got {self.shutdown_grace_s}")
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes must be at least 1024, got {self.max_body_bytes}")
        if self.max_duration_s is not None and not 5 <= self.max_duration_s <= 300:
            raise ValueError(f"max_duration_s must be between 5 and 300, got {self.max_duration_s}")
        if self.max_artifacts < 1:
            raise ValueError(f"max_artifacts must be at least 1, got {self.max_artifacts}")

    @property
    def pending_limit(self) -> int:
        """Jobs that may wait for a worker beyond the ones running."""
        return 2 * self.workers if self.queue_size is None else self.queue_size

    @classmethod
    def from_settings(cls, settings: Settings, **changes: Any) -> ServiceSettings:
        """Service settings from the application's settings (`TUNESMITH_SOUNDFONT`), plus changes."""
        soundfont = Path(settings.soundfont) if settings.soundfont else None
        return replace(cls(soundfont=soundfont), **changes)
