#!/usr/bin/env python3
"""Crash-test the ledger: kill a writing process with SIGKILL at random moments, then check.

A child process writes through the sync `Ledger`: creations with three small random media files
(some of them remixes), renames, deletes, likes and transfers. It prints a line before each
write ("intent ...") and one after the call returns ("ack ..."), flushed. The parent reads the
acks, kills the child at random moments (at least --kills times), restarts it, and stops once
--creations creations are acknowledged. Then it reopens the ledger and checks that

- every acknowledged creation is there, with its media (or deleted, if a delete was intended),
- every acknowledged rename, delete, like and transfer is there (or a later intended one is),
- the chain and the tables verify, media content included,
- after the reopen sweep no media file is orphaned or missing.

Usage: .venv/bin/python scripts/ledger_crash_test.py --creations 1000 --kills 20 --data-dir /tmp/x
Prints a summary (also as one JSON line) and exits 1 on any failure.

SIGKILL tests process crashes: what the OS had accepted survives them. Power loss is what
`synchronous=FULL` and the fsyncs are for; this script cannot pull the plug.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.ledger import MEDIA_KINDS, Ledger, LedgerError, Owner

USERS = (
    Owner("cli", "alice", "Alice"),
    Owner("discord", "1001", "Bob"),
    Owner("discord", "1002", "Carol"),
    Owner("discord", "1003", "Dan"),
)
KINDS = ("mp3", "midi", "png")


# --- the child: writes until it is killed -------------------------------------------------------


def run_child(data_dir: Path, seed: int) -> None:
    rng = random.Random(seed)
    ledger = Ledger.open(data_dir / "ledger.db")
    sweep = ledger.last_sweep
    say(
        "sweep",
        len(sweep.orphans_removed),
        sweep.temp_files_removed,
        len(sweep.missing),
        len(sweep.unreferenced),
    )
    owners = {
        row["id"]: Owner(row["owner_platform"], row["owner_id"])
        for row in ledger.db.query("SELECT id, owner_platform, owner_id FROM creations"
                                   " WHERE deleted_at IS NULL")
    }  # fmt: skip
    n = 0
    while True:
        n += 1
        roll = rng.random()
        live = sorted(owners)
        if roll < 0.70 or not live:
            owner = rng.choice(USERS)
            parents = [rng.choice(live)] if live and rng.random() < 0.1 else []
            media = {kind: rng.randbytes(rng.randint(64, 4096)) for kind in KINDS}
            piece_id, title = ledger.new_id(), f"Crash-{seed}-{n}"
            say("intent", "create", piece_id, title, owner.user_id)
            ledger.record_creation(
                owner,
                origin="crash-test",
                piece_id=piece_id,
                title=title,
                request="crash test",
                seed=n,
                score_json=json.dumps({"run": seed, "n": n}),
                media=media,
                parents=parents,
                generator_version="crash-test",
            )
            owners[piece_id] = owner
            say("ack", "create", piece_id, title, owner.user_id)
        elif roll < 0.82:
            piece_id = rng.choice(live)
            title = f"Renamed-{seed}-{n}"
            say("intent", "rename", piece_id, title)
            ledger.rename(piece_id, owners[piece_id], title)
            say("ack", "rename", piece_id, title)
        elif roll < 0.88:
            piece_id = rng.choice(live)
            say("intent", "delete", piece_id)
            ledger.delete(piece_id, owners.pop(piece_id))
            say("ack", "delete", piece_id)
        elif roll < 0.96:
            piece_id, user = rng.choice(live), rng.choice(USERS)
            say("intent", "like", piece_id, user.user_id)
            ledger.like(piece_id, user)
            say("ack", "like", piece_id, user.user_id)
        else:
            piece_id = rng.choice(live)
            recipient = rng.choice([u for u in USERS if not u.is_(owners[piece_id])])
            say("intent", "transfer", piece_id, recipient.user_id)
            try:
                ledger.offer_transfer(piece_id, owners[piece_id], recipient)
                ledger.accept_transfer(piece_id, recipient)
            except LedgerError as error:  # a rule said no: a bug here, reported by the parent
                say("refused", piece_id, str(error).replace(" ", "_"))
                continue
            owners[piece_id] = recipient
            say("ack", "transfer", piece_id, recipient.user_id)


def say(*words: object) -> None:
    print(" ".join(str(word) for word in words), flush=True)


# --- the parent: kills, restarts, checks --------------------------------------------------------


@dataclass
class Log:
    """What the children said, in order, across all runs."""

    acked_creations: list[str] = field(default_factory=list)
    intents: dict[str, list[tuple[int, str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    acks: dict[str, list[tuple[int, str, str]]] = field(default_factory=lambda: defaultdict(list))
    line: int = 0
    sweeps: list[tuple[int, int, int, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def read(self, text: str) -> None:
        self.line += 1
        words = text.split()
        if not words:
            return
        if words[0] == "sweep":
            self.sweeps.append(tuple(int(w) for w in words[1:5]))  # type: ignore[arg-type]
        elif words[0] in ("intent", "ack"):
            op, piece_id, arg = words[1], words[2], " ".join(words[3:])
            (self.intents if words[0] == "intent" else self.acks)[piece_id].append(
                (self.line, op, arg)
            )
            if words[0] == "ack" and op == "create":
                self.acked_creations.append(piece_id)
        elif words[0] == "refused":
            self.problems.append(f"the ledger refused a valid transfer of {words[1]}: {words[2]}")
        else:
            self.problems.append(f"unexpected child output: {text.strip()!r}")


def run_parent(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    rng = random.Random(args.seed)
    kill_points = sorted(rng.sample(range(1, args.creations), args.kills))
    log = Log()
    kills = runs = 0
    started = time.monotonic()
    while len(log.acked_creations) < args.creations:
        runs += 1
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", "--data-dir", str(data_dir),
             "--seed", str(args.seed * 1000 + runs)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert child.stdout is not None and child.stderr is not None
        # The next planned kill, but always at least one acknowledgement into this run.
        acked = len(log.acked_creations)
        target = max(kill_points.pop(0), acked + 1) if kill_points else args.creations
        for text in child.stdout:
            log.read(text)
            if len(log.acked_creations) >= target:
                # Somewhere inside the next write (or between two): a few ms later.
                time.sleep(rng.uniform(0, 0.02))
                break
        child.send_signal(signal.SIGKILL)
        rest = child.stdout.read()  # acks written before the kill are still in the pipe
        for text in rest.splitlines():
            log.read(text)
        code = child.wait()
        stderr = child.stderr.read()
        if code != -signal.SIGKILL:
            log.problems.append(
                f"run {runs}: the child exited by itself ({code}): {stderr[-2000:]}"
            )
            break
        kills += 1
    elapsed = time.monotonic() - started
    summary = check(data_dir, log)
    summary.update(
        creations_acknowledged=len(log.acked_creations),
        kills=kills,
        runs=runs,
        seconds=round(elapsed, 1),
        sweeps_at_restart={
            "orphans_removed": sum(s[0] for s in log.sweeps),
            "temp_files_removed": sum(s[1] for s in log.sweeps),
            "missing": sum(s[2] for s in log.sweeps),
            "unreferenced": sum(s[3] for s in log.sweeps),
        },
    )
    if summary["sweeps_at_restart"]["missing"] or summary["sweeps_at_restart"]["unreferenced"]:
        log.problems.append("a restart's sweep found media missing or unreferenced")
    if kills < args.kills + 1:
        log.problems.append(f"only {kills} kills, wanted {args.kills} and a final one")
    problems = log.problems + summary.pop("problems")
    summary["problems"] = problems
    print(
        f"creations acknowledged: {summary['creations_acknowledged']}, SIGKILLs: {kills} "
        f"({kills - 1} while writing + the final one; {runs} runs, {elapsed:.1f} s)\n"
        f"in the ledger: {summary['creations_in_ledger']} creations "
        f"({summary['deleted']} deleted), {summary['events']} events; "
        f"present but never acknowledged: {summary['unacked_but_present']}\n"
        f"sweeps at restart removed {summary['sweeps_at_restart']['orphans_removed']} orphan "
        f"and {summary['sweeps_at_restart']['temp_files_removed']} temp files; "
        f"final reopen: {summary['final_sweep']}\n"
        f"problems: {len(problems)}"
    )
    for problem in problems[:50]:
        print(f"  - {problem}")
    print(json.dumps(summary, sort_keys=True))
    return 1 if problems else 0


def check(data_dir: Path, log: Log) -> dict[str, object]:
    """Reopen and compare the ledger with what the children acknowledged."""
    problems: list[str] = []
    with Ledger.open(data_dir / "ledger.db") as ledger:
        final_sweep = ledger.last_sweep
        if final_sweep.missing or final_sweep.unreferenced:
            problems.append(f"reopen sweep: {final_sweep}")
        report = ledger.verify(check_media_content=True)
        problems += [f"verify: {problem}" for problem in report.problems]
        rows = {row["id"]: row for row in ledger.db.query("SELECT * FROM creations")}
        likes = {(r["creation_id"], r["user_id"]) for r in ledger.db.query("SELECT * FROM likes")}
        for piece_id in log.acked_creations:
            row = rows.get(piece_id)
            if row is None:
                problems.append(f"acknowledged creation {piece_id} is missing")
                continue
            problems += check_piece(ledger, row, log, likes)
        # The sweep after this reopen must have nothing left to do, and disk = media rows.
        again = ledger.sweep()
        if not again.clean:
            problems.append(f"a second sweep still found work: {again}")
        on_disk = {f.sha256 for f in ledger.media.files()}
        in_table = {r["sha256"] for r in ledger.db.query("SELECT sha256 FROM media")}
        if on_disk != in_table:
            problems.append(
                f"{len(on_disk - in_table)} orphaned and {len(in_table - on_disk)} missing files"
            )
        if list(ledger.media.temp_files()):
            problems.append("temp files left after the sweep")
        return {
            "creations_in_ledger": len(rows),
            "deleted": report.deleted,
            "events": report.events,
            "media_files": len(on_disk),
            "unacked_but_present": len(set(rows) - set(log.acked_creations)),
            "final_sweep": {
                "orphans_removed": len(final_sweep.orphans_removed),
                "temp_files_removed": final_sweep.temp_files_removed,
                "missing": len(final_sweep.missing),
            },
            "problems": problems,
        }


def check_piece(
    ledger: Ledger, row: dict[str, object], log: Log, likes: set[tuple[str, str]]
) -> list[str]:
    """One acknowledged piece against the acks and intents about it."""
    piece_id = str(row["id"])
    problems = []
    acks, intents = log.acks[piece_id], log.intents[piece_id]
    (created,) = [arg for _, op, arg in acks if op == "create"]
    first_title, first_owner = created.split()

    def possible(op: str, initial: str) -> list[str]:
        """Values `op` may have left: the last acknowledged (or initial) one, or a later intent."""
        done = [(line, arg) for line, o, arg in acks if o == op]
        last_line, last = done[-1] if done else (0, initial)
        return [last] + [arg for line, o, arg in intents if o == op and line > last_line]

    deleted = row["deleted_at"] is not None
    if any(op == "delete" for _, op, _ in acks) and not deleted:
        problems.append(f"{piece_id}: acknowledged delete lost")
    if deleted and not any(op == "delete" for _, op, _ in intents):
        problems.append(f"{piece_id}: deleted, but no delete was ever asked for")
    if row["title"] not in (titles := possible("rename", first_title)):
        problems.append(f"{piece_id}: title {row['title']!r}, acknowledged or intended {titles}")
    if row["owner_id"] not in (owners := possible("transfer", first_owner)):
        problems.append(f"{piece_id}: owner {row['owner_id']}, acknowledged or intended {owners}")
    for _, op, user in acks:
        if op == "like" and (piece_id, user) not in likes:
            problems.append(f"{piece_id}: acknowledged like by {user} lost")
    for kind in KINDS:
        digest = row[f"sha256_{kind}"]
        if not isinstance(digest, str):
            problems.append(f"{piece_id}: no {kind} hash")
            continue
        if deleted:
            shared = any(not c.deleted for c in ledger.find_by_sha256(digest))
            if not shared and ledger.media.path_for(digest, MEDIA_KINDS[kind]).exists():
                problems.append(f"{piece_id}: deleted, but its {kind} file is still stored")
            continue
        try:
            path = ledger.path_for(digest)
        except LedgerError as error:
            problems.append(f"{piece_id}: {kind}: {error}")
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{piece_id}: {kind} file does not match its hash")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creations", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(2), "big"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.data_dir, args.seed)
        return 0
    if not 1 <= args.kills < args.creations:
        parser.error("--kills must be at least 1 and fewer than --creations")
    print(f"seed {args.seed}", flush=True)
    return run_parent(args)


if __name__ == "__main__":
    sys.exit(main())
