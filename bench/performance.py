"""Performance history: its storage per circuit per day, its steady state, its answers' sizes.

Through the real SqliteBackend (WAL, synchronous=FULL), one sample a minute of each of the
four history metrics on CIRCUITS interconnects for DAYS simulated days (injected times, no
sleeps), with a retention pass (7 days of 5-minute, 90 days of hourly buckets) each day.
Day 1 is committed a minute at a time (what a collector polling every minute sends), each
commit timed against the same commit to another file where the links are internal (no
buckets), the two interleaved so that a busy machine slows both alike; later days are
committed an hour at a time (the stored bytes do not depend on it). Reported: the ingest
cost, bytes of the rollup tables (SQLite dbstat) after day 1 and at the end per circuit,
and the sizes of /v1/interconnects/{id}/performance answers (acme's rounding, 4 metrics).
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from gateway.disclosure.performance import performance_doc
from gateway.disclosure.policy import PerformanceRule
from gateway.model import (
    AddMetricSamples,
    Link,
    LinkKind,
    MetricSample,
    Node,
    ReplaceTopology,
    ResourceRef,
    Snapshot,
    TerminationPoint,
    Topology,
)
from gateway.store import Committed, SqliteBackend
from gateway.store.rollups import METRICS, RollupReader

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CIRCUITS = 4
DAYS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
RULE = PerformanceRule(
    metrics=list(METRICS),
    round={"utilisation_pct": 1, "delay_ms": 2, "loss_pct": 3, "errors_per_s": 1},
)


def _topology(kind: LinkKind) -> Topology:
    tps = tuple(TerminationPoint(f"et-{i}") for i in range(CIRCUITS))
    links = tuple(
        Link(f"c{i}", "pe1", f"et-{i}", "x", f"y{i}", kind=kind,
             peer="acme" if kind is LinkKind.INTERCONNECT else None)
        for i in range(CIRCUITS)
    )  # fmt: skip
    return Topology("net", (Node("pe1", tps=tps), Node("x")), links)


class Rig:
    def __init__(self, path: Path, kind: LinkKind) -> None:
        self.backend = SqliteBackend(path)
        self.snapshot = Snapshot()
        self.commit([ReplaceTopology(_topology(kind))])

    def commit(self, changes: list[ReplaceTopology] | list[AddMetricSamples]) -> None:
        batch = []
        for change in changes:
            revision = self.snapshot.revision + 1
            self.snapshot = self.snapshot.apply(change, revision)
            batch.append(Committed(revision, change, "source/bench"))
        self.backend.persist(batch, self.snapshot)

    def minutes(self, at: datetime, count: int = 1) -> float:
        """Commit ``count`` minutes of samples from ``at`` in one transaction; its seconds."""
        samples = tuple(
            MetricSample(ResourceRef(link=f"c{i}"), metric, 10.0 + (t.minute % 37) / 3, t)
            for t in (at + timedelta(minutes=m) for m in range(count))
            for i in range(CIRCUITS)
            for metric in METRICS
        )
        start = time.perf_counter()
        self.commit([AddMetricSamples(samples)])
        return time.perf_counter() - start


def _first_day(base: Rig, rig: Rig) -> tuple[float, float]:
    plain = buckets = 0.0
    for minute in range(1440):
        at = T0 + timedelta(minutes=minute)
        plain += base.minutes(at)
        buckets += rig.minutes(at)
    return plain, buckets


def _kib(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Rig(Path(tmp) / "internal.db", LinkKind.INTERNAL)
        rig = Rig(Path(tmp) / "history.db", LinkKind.INTERCONNECT)
        reader = RollupReader(Path(tmp) / "history.db")
        # the same samples, no buckets: the baseline of this run, interleaved with it
        plain, first = _first_day(base, rig)
        per_sample = CIRCUITS * len(METRICS) * 1440
        print(f"ingest, one commit a minute of {CIRCUITS * len(METRICS)} samples: "
              f"{per_sample / plain:,.0f} samples/s on internal links, "
              f"{per_sample / first:,.0f} on interconnects (with buckets): "
              f"{first / plain:.2f}x the time")  # fmt: skip
        day_one = sum(reader.sizes().values())
        rows = reader.rows()
        print(f"after day 1: {_kib(day_one / CIRCUITS)} per circuit "
              f"({rows.get(300, 0) // CIRCUITS} 5-minute and {rows.get(3600, 0) // CIRCUITS} "
              f"hourly buckets per circuit, {len(METRICS)} metrics)")  # fmt: skip
        for day in range(1, DAYS):
            for hour in range(24):
                rig.minutes(T0 + timedelta(days=day, hours=hour), 60)
            now = T0 + timedelta(days=day + 1)
            keep = {300: now - timedelta(days=7), 3600: now - timedelta(days=90)}
            rig.backend.prune_rollups(keep)
        end = sum(reader.sizes().values())
        rows = reader.rows()
        print(f"after {DAYS} days with retention: {_kib(end / CIRCUITS)} per circuit "
              f"({rows.get(300, 0) // CIRCUITS} 5-minute and {rows.get(3600, 0) // CIRCUITS} "
              f"hourly buckets per circuit)")  # fmt: skip
        until = T0 + timedelta(days=DAYS)
        for granularity, width, span in (("5m", 300, 1), ("5m", 300, 7), ("1h", 3600, 7),
                                         ("1h", 3600, 30), ("1h", 3600, 90)):  # fmt: skip
            since = until - timedelta(days=span)
            series = reader.series("c0", list(METRICS), width, since, until)
            doc = performance_doc(RULE, "AMS-PNI-ACME-01", granularity, since, until, series)
            envelope = {"audience": "peer/acme", "view": "performance",
                        "policy_version": "2d0d99d35927", "performance": doc}  # fmt: skip
            size = len(msgspec.json.encode(envelope))
            print(f"answer {granularity} over {span} days: {_kib(size)} "
                  f"({sum(len(v) for v in series.values())} buckets)")  # fmt: skip
        reader.close()
        rig.backend.close()
        base.backend.close()


if __name__ == "__main__":
    main()
