"""What recording a disclosure costs on the request path, against two baselines in the same run.

``AuditLog.disclosed`` runs once per view sent, on the event loop, so it must cost about as
much as appending to a list (baseline 1) and far less than writing the record to SQLite at
once (baseline 2, what the buffered design avoids). Figures are medians of several runs;
the ratios are what to compare between machines.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gateway.policy.audit import AuditLog
from gateway.policy.store import Event, PolicyDb

RECORDS = 100_000
DIRECT = 500  # direct SQLite commits are ~1000x slower: fewer of them give the same figure
RUNS = 7
TARGET_RATIO_TO_APPEND = 10.0  # ``disclosed`` may cost at most this many list appends


def per_record_us(run: Callable[[], None], count: int) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) / count * 1e6)
    return statistics.median(samples)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        db = PolicyDb(Path(tmp) / "audit.db")
        try:
            log = AuditLog(db, capacity=RECORDS * (RUNS + 1))

            def buffered() -> None:
                for n in range(RECORDS):
                    log.disclosed("peer/acme", "interconnects", n, "abcdef123456", '"0123"')

            def appended() -> None:
                sink: list[tuple[float, str, str, int, str, str]] = []
                for n in range(RECORDS):
                    sink.append(
                        (time.time(), "peer/acme", "interconnects", n, "abcdef123456", '"0123"')
                    )

            def direct() -> None:
                for n in range(DIRECT):
                    db.append_events([Event("disclosure", "peer/acme", view=f"v{n}")])

            ours = per_record_us(buffered, RECORDS)
            append = per_record_us(appended, RECORDS)
            sqlite = per_record_us(direct, DIRECT)
            written = asyncio.run(log.flush())
        finally:
            db.close()
    print(f"AuditLog.disclosed       {ours:8.3f} µs per record ({written:,} flushed after)")
    print(f"baseline: list.append    {append:8.3f} µs per record")
    print(f"baseline: SQLite commit  {sqlite:8.1f} µs per record")
    ratio = ours / append
    print(f"ratio to list.append: {ratio:.2f} (target ≤ {TARGET_RATIO_TO_APPEND:.0f})")
    print(f"SQLite commit per record / disclosed: {sqlite / ours:,.0f}x")
    return 0 if ratio <= TARGET_RATIO_TO_APPEND and written == RECORDS * RUNS else 1


if __name__ == "__main__":
    raise SystemExit(main())
