"""How long provenance takes: a function for `tunesmith bench` and the report, not for tests."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.provenance.credentials import SigningIdentity, load_or_create_credentials
from bot.provenance.credits import Credit, licence_url_for, tagged_mp3
from bot.provenance.manifest import Composition, sign_mp3
from bot.provenance.reading import read_provenance

__all__ = ["SigningTimings", "measure_signing"]


@dataclass(frozen=True, slots=True)
class SigningTimings:
    """Medians in seconds over `runs` repetitions."""

    runs: int
    mp3_bytes: int
    credentials_s: float  # load the keys from disk and check they belong together
    identity_s: float  # build the c2pa Signer and Context (once per process)
    tags_s: float  # credit tags alone, in memory
    sign_s: float  # tags + manifest + signature + atomic write: what each piece pays
    read_s: float  # read_provenance with our root trusted

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def measure_signing(mp3: Path, keys_dir: Path | None = None, runs: int = 10) -> SigningTimings:
    """Time credit tagging and signing of `mp3` (a copy is signed; the file is not changed).

    `keys_dir` defaults to a fresh temporary folder, so the first-run key creation is not timed.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    source = Path(mp3).read_bytes()
    credit = Credit(
        creator="Benchmark",
        owner_platform="cli",
        owner_id="bench",
        year=2026,
        licence="CC-BY-4.0",
        licence_url=licence_url_for("CC-BY-4.0"),
        piece_id="bench",
        title="Benchmark piece",
    )
    composition = Composition(request="lofi 30s", seed=1, genre="lofi")

    def median(call: Callable[[], object]) -> float:
        times = []
        for _ in range(runs):
            clock = time.perf_counter()
            call()
            times.append(time.perf_counter() - clock)
        return statistics.median(times)

    with tempfile.TemporaryDirectory(prefix="tunesmith-bench-") as scratch:
        folder = Path(keys_dir) if keys_dir else Path(scratch) / "keys"
        credentials = load_or_create_credentials(folder, "benchmark")
        credentials_s = median(lambda: load_or_create_credentials(folder, "benchmark"))
        identity_s = median(lambda: SigningIdentity(credentials).close())
        dest = Path(scratch) / "signed.mp3"
        with SigningIdentity(credentials) as identity:
            tags_s = median(lambda: tagged_mp3(source, credit))
            sign_s = median(lambda: sign_mp3(identity, credit, composition, source, dest))
            read_s = median(lambda: read_provenance(dest, identity))
    return SigningTimings(runs, len(source), credentials_s, identity_s, tags_s, sign_s, read_s)
