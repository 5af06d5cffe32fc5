"""What the hostile-input defences cost and save, each against a baseline in the same run.

1. Commits with the durable high-water mark (one extra fdatasync per batch) against the same
   backend with the mark replaced by a no-op: one change per commit, and 100 per batch.
2. Parsing hostile policy texts (50,000 nested '[', a nine-line alias bomb) against parsing
   the sample peer policy: the refusals must cost about what an ordinary policy costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

from gateway.disclosure import parse_policy
from gateway.errors import PolicyError
from gateway.model import ReplaceTopology, Topology
from gateway.store import SqliteBackend, Store

ROOT = Path(__file__).resolve().parents[1]
COMMITS = 400
BATCHED = 2000


class _NoMark:
    def advance(self, revision: int) -> None:
        pass

    def read(self) -> int | None:
        return None

    def close(self) -> None:
        pass


async def _commits(path: Path, with_mark: bool, batch: int, total: int) -> float:
    """Changes committed per second, ``batch`` at a time."""
    backend = SqliteBackend(path)
    if not with_mark:
        backend._mark = _NoMark()  # type: ignore[assignment]  # the baseline
    store = Store(backend)
    await store.open()
    started = time.perf_counter()
    for start in range(0, total, batch):
        changes = [ReplaceTopology(Topology(network_id=f"n{start + i}")) for i in range(batch)]
        await asyncio.gather(*(store.commit(c, "source/bench") for c in changes))
    elapsed = time.perf_counter() - started
    await store.close()
    return total / elapsed


def store_figures(directory: Path) -> None:
    for batch, total in ((1, COMMITS), (100, BATCHED)):
        runs: dict[bool, list[float]] = {True: [], False: []}
        for run in range(5):  # alternate, so drift on a shared machine hits both alike
            for with_mark in (False, True):
                db = directory / f"b{batch}-{run}-{with_mark}.db"
                runs[with_mark].append(asyncio.run(_commits(db, with_mark, batch, total)))
        base, mark = statistics.median(runs[False]), statistics.median(runs[True])
        print(f"store, {batch:>3} change(s) per commit: {base:8.0f}/s without the mark, "
              f"{mark:8.0f}/s with it: ratio {mark / base:.2f}")  # fmt: skip


def _parse_ms(text: str, runs: int = 21) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with contextlib.suppress(PolicyError):
            parse_policy(text)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def parse_figures() -> None:
    normal = (ROOT / "policies" / "peer-acme.yaml").read_text()
    nested = "audience: peer/acme\nextra: " + "[" * 50_000 + "]" * 50_000 + "\n"
    lines = ["audience: peer/acme", "a0: &a0 [x,x,x,x,x,x,x,x,x]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = "\n".join(lines) + "\n"
    base = _parse_ms(normal)
    print(f"policy parse, sample peer policy ({len(normal)} bytes): {base:.2f} ms")
    for name, text in (("50,000 nested '['", nested), ("alias bomb", bomb)):
        ms = _parse_ms(text)
        print(f"policy parse, {name} ({len(text)} bytes), refused: {ms:.2f} ms, "
              f"ratio {ms / base:.2f}")  # fmt: skip


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        store_figures(Path(tmp))
    parse_figures()
