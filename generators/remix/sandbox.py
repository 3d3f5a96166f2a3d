"""Reading an uploaded MIDI file in a throwaway child process, with memory, CPU and time limits.

A hostile file can make any parser slow or greedy; here it is the child that runs out of memory,
hits its CPU limit or gets SIGKILLed after `wall_s`, never the bot. Children come from
multiprocessing's forkserver, which imports the importer once, so each one starts in milliseconds
(spawn where there is no forkserver; and if something else in the process started the forkserver
first, without our preload, each child imports the importer itself: slower, still correct).

Blocking: call `import_midi` from an executor thread. One child per call, so the size of that
executor is how many uploads are read at once.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import resource
import signal
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from types import FunctionType, ModuleType

from generators.errors import TunesmithError
from generators.processes import JOIN_TIMEOUT_S, reap
from generators.remix.midi_import import (
    ImportLimits,
    MidiRejected,
    check_upload_size,
    score_from_midi,
)
from generators.score import Score

log = logging.getLogger("tunesmith.remix")

# What the forkserver imports once, before it forks a child per upload (see `_preload`).
_PRELOAD = ("__main__", "generators.remix.midi_import", "generators.remix.sandbox")


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    wall_s: float = 5.0  # from the child's start to its answer; then it is SIGKILLed
    cpu_s: int = 4  # RLIMIT_CPU: SIGXCPU at this many seconds, SIGKILL a second later
    # RLIMIT_AS: the child's whole address space, including the libraries it inherits from the
    # forkserver (about 50 MB under pytest, 190 MB under the `tunesmith` entry point). Reading a
    # 1 MB file of back-to-back notes takes about 130 MB more.
    memory_bytes: int = 512 * 2**20

    def __post_init__(self) -> None:
        if not self.wall_s > 0 or self.cpu_s < 1 or self.memory_bytes < 1:
            raise ValueError(f"sandbox limits must be positive, got {self}")


class SandboxUnavailable(TunesmithError):
    """The sandbox itself failed to start; the message is safe to show."""


def import_midi(
    data: bytes,
    limits: ImportLimits = ImportLimits(),  # noqa: B008 (frozen: a shared default is safe)
    sandbox: SandboxLimits = SandboxLimits(),
    *,
    title: str = "Uploaded MIDI",
) -> Score:
    """`score_from_midi` in a child process within `sandbox` limits; raises MidiRejected (message
    safe to show) for a file it cannot read, including one that is too slow or too big to read."""
    check_upload_size(len(data), limits)
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child_main,
        args=(sender, data, limits, sandbox, title),
        name="tunesmith-midi-import",
        daemon=True,
    )
    try:
        process.start()
    except OSError as error:
        # Not the file's fault: the reader process could not be started (a main module that
        # can't be re-imported, no processes left). Said as such, never blamed on the upload.
        receiver.close()
        log.error("could not start the MIDI reader process: %r", error)
        raise SandboxUnavailable(
            "MIDI files can't be read right now (the reader could not start); try again later"
        ) from error
    except BaseException:
        receiver.close()
        raise
    finally:
        sender.close()  # the child holds the only writing end: its death reads as EOF
    try:
        kind, payload = _answer(receiver, process, sandbox)
    except BaseException:
        if process.exitcode is None:
            process.kill()  # over time, or this thread was interrupted: no answer is coming
        raise
    finally:
        receiver.close()
        reap(process)
    if kind == "score":
        return Score.from_json(payload)
    if kind == "rejected":
        raise MidiRejected(payload)
    if kind == "memory":
        raise MidiRejected(_too_big(sandbox))
    log.error("reading an uploaded MIDI file failed in the sandbox:\n%s", payload)
    raise MidiRejected(
        "this MIDI file could not be read; it may be damaged — try exporting it again"
    )


def _context() -> ForkServerContext | SpawnContext:
    """Forkserver where there is one (cheap: multiprocessing keeps one context and one server
    per process, which nothing else in Tunesmith uses); spawn elsewhere, as the worker pool uses."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Only read when the server starts; later calls change nothing.
    context.set_forkserver_preload(_preload())
    return context


def _preload() -> list[str]:
    """The importer, and whatever the parent's main script imports.

    Every child re-runs a main *script* (the `tunesmith` entry point, `from bot.cli import main`)
    before anything else. The "__main__" preload that should spare it that does not reach the
    children on Python 3.11 (the forkserver is never told the script's path), so the script's
    imports are preloaded instead: its re-run then finds them all imported, rather than spending
    a quarter of a second of the upload's time and CPU limits importing the bot.
    """
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        return list(_PRELOAD)  # `python -m …`: children do not re-run it
    imported = set()
    for key, value in vars(main).items():
        if isinstance(value, ModuleType):
            imported.add(value.__name__)
        elif isinstance(value, type | FunctionType) and not key.startswith("__"):
            imported.add(value.__module__)
    imported -= {"builtins", *_PRELOAD}
    return [*_PRELOAD, *sorted(imported)]


def _answer(receiver: Connection, process: BaseProcess, sandbox: SandboxLimits) -> tuple[str, str]:
    if not receiver.poll(sandbox.wall_s):
        raise MidiRejected(
            f"the MIDI file took too long to read (over {sandbox.wall_s:g} s); it is probably "
            "damaged or far more complicated than a song — try exporting it again, or a part of it"
        )
    try:
        kind, payload = receiver.recv()
    except (EOFError, OSError):  # the child died before (or while) answering
        process.join(JOIN_TIMEOUT_S)
        raise MidiRejected(_death_reason(process.exitcode, sandbox)) from None
    return str(kind), str(payload)


def _death_reason(exitcode: int | None, sandbox: SandboxLimits) -> str:
    if exitcode == -signal.SIGXCPU:
        return (
            f"the MIDI file needed more than {sandbox.cpu_s} s of computing to read; it is "
            "probably damaged or far more complicated than a song — try exporting it again"
        )
    return _too_big(sandbox)


def _too_big(sandbox: SandboxLimits) -> str:
    return (
        "the MIDI file is too big or too complicated to read within our limits "
        f"({sandbox.memory_bytes / 2**20:.0f} MB of memory); try a shorter or simpler file"
    )


# --- the child ------------------------------------------------------------------------------


def _child_main(
    sender: Connection, data: bytes, limits: ImportLimits, sandbox: SandboxLimits, title: str
) -> None:
    # Ctrl-C in a terminal reaches the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reply: tuple[str, str]
    try:
        _confine(sandbox)
        reply = ("score", score_from_midi(data, limits, title=title).to_json())
    except MidiRejected as error:
        reply = ("rejected", str(error))
    except MemoryError:
        reply = ("memory", "")
    except Exception:
        reply = ("failed", traceback.format_exc())
    # A parent that gave up has closed its end; a reply too big for the memory left dies here,
    # which the parent reads as the child's death.
    with contextlib.suppress(OSError):
        sender.send(reply)
    sender.close()


def _confine(sandbox: SandboxLimits) -> None:
    """Lower this process's limits; a child can never raise them again. No core files: SIGXCPU
    would otherwise write one."""
    _lower(resource.RLIMIT_CORE, 0)
    _lower(resource.RLIMIT_AS, sandbox.memory_bytes)
    _lower(resource.RLIMIT_CPU, sandbox.cpu_s, sandbox.cpu_s + 1)


def _lower(kind: int, soft: int, hard: int | None = None) -> None:
    _, current_hard = resource.getrlimit(kind)
    hard = soft if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
        soft = min(soft, hard)
    resource.setrlimit(kind, (soft, hard))
