"""What the leak guard adds to refreshing every view of the demo network, through the refresher.

Each run refreshes all 9 demo audiences from scratch (fresh compiled policies, so topology
abstractions are recomputed too, as after a topology change) with the guard off, then on, in
alternation, and compares medians measured in the same process. Guards are built once and
cached per (vocabulary revision, policy, disclosed terms), as in the running gateway; their
build time is printed apart.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from leakguard import demo_snapshot

from gateway.demo.network import build_demo
from gateway.disclosure import PolicySet, compile_policy, load_policy_dir
from gateway.leakguard.screen import Screen
from gateway.views import Refresher, ViewCache

ROOT = Path(__file__).resolve().parents[1]
RUNS = 21
TARGET_PCT = 10.0


def audiences() -> list[str]:
    demo = build_demo(datetime(2026, 11, 28, tzinfo=UTC))
    return [f"peer/{p}" for p in demo.peers] + [f"customer/{c}" for c in demo.customers]


def refresh_once(snapshot: object, screen: Screen) -> float:
    loaded = load_policy_dir(ROOT / "policies")
    policies = PolicySet(compile_policy(p) for p in loaded)
    refresher = Refresher(
        ViewCache(), lambda: snapshot, audiences, lambda: policies, b"bench-secret",  # type: ignore[arg-type,return-value]
        screen=screen,
    )  # fmt: skip
    start = time.perf_counter()
    asyncio.run(refresher.refresh())
    elapsed = time.perf_counter() - start
    if refresher.failures:
        raise SystemExit("a render failed")
    return elapsed


def main() -> int:
    snapshot = demo_snapshot()
    off, on = Screen(enabled=False), Screen(enabled=True)
    start = time.perf_counter()
    refresh_once(snapshot, on)  # builds and caches every audience's guard
    cold = time.perf_counter() - start
    refresh_once(snapshot, off)
    plain, guarded = [], []
    for _ in range(RUNS):
        plain.append(refresh_once(snapshot, off))
        guarded.append(refresh_once(snapshot, on))
    if on.counts:
        raise SystemExit(f"the guard withheld demo views: {dict(on.counts)}")
    p, g = statistics.median(plain) * 1e3, statistics.median(guarded) * 1e3
    pct = (g - p) / p * 100
    print(f"refresh of every demo view, median of {RUNS}: guard off {p:.1f} ms, "
          f"guard on {g:.1f} ms: +{pct:.1f}% (target <= {TARGET_PCT:.0f}%)")  # fmt: skip
    print(f"first refresh with the guard, building every audience's guard: {cold * 1e3:.0f} ms")
    return 0 if pct <= TARGET_PCT else 1


if __name__ == "__main__":
    sys.exit(main())
