"""Child processes that must not outlive their work: the worker pool's and the MIDI sandbox's."""

from __future__ import annotations

import contextlib
from multiprocessing.process import BaseProcess

JOIN_TIMEOUT_S = 5.0


def reap(process: BaseProcess) -> None:
    """Wait for a child that was told to stop (or died), killing it if it will not go: no
    zombie, no stray process. Blocking: call it from an executor thread, never the event loop."""
    process.join(JOIN_TIMEOUT_S)
    if process.is_alive():
        process.kill()  # SIGKILL: a synth or a parser stuck in C code ignores anything gentler
        process.join(JOIN_TIMEOUT_S)
    with contextlib.suppress(ValueError):
        process.close()
