"""Database size after a fixed soak, retention on against off (same run), and load times.

Soak: over SOAK_DAYS simulated days (injected clock, no sleeps), ALARMS alarms raised and
cleared an hour later, SAMPLES metric samples, DISCLOSURES view requests audited, through the
real Store, SqliteBackend, AuditLog and retention passes (hourly). "off" runs the same load
with no pass. Then SqliteBackend.load at 1k/10k/30k-sized data, median of LOAD_RUNS.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.model import (
    AddMetricSamples,
    Alarm,
    Link,
    MetricSample,
    Node,
    ReplaceTopology,
    ResourceRef,
    Service,
    Severity,
    TerminationPoint,
    Topology,
    UpsertAlarms,
    UpsertServices,
)
from gateway.policy.audit import AuditLog
from gateway.policy.rotation import AuditRotation
from gateway.policy.store import PolicyDb
from gateway.store import SqliteBackend, Store
from gateway.store.retention import ModelRetention

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SOAK_DAYS = 6
ALARMS = 28_800  # 200 an hour
SAMPLES = 288_000  # 2,000 an hour on 400 (resource, metric) pairs
DISCLOSURES = 288_000  # 2,000 an hour, 50 principals x 2 views
SIZES = ((1_000, 1_000), (10_000, 20_000), (30_000, 100_000))  # nodes (= services), alarms
LOAD_RUNS = 3
LOAD_TARGET_S = 10.0


def _counts(path: Path) -> tuple[int, dict[str, int]]:
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = dict(db.execute("SELECT kind, COUNT(*) FROM objects GROUP BY kind"))
        for table in ("revisions", "audit_events", "disclosure_hours"):
            (rows[table],) = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
    finally:
        db.close()
    return path.stat().st_size, rows


def alarm(hour: int, n: int, cleared_at: datetime | None) -> Alarm:
    return Alarm(
        f"h{hour}-{n}",
        ResourceRef(link=f"l{n % 500}"),
        Severity.MAJOR if cleared_at is None else Severity.CLEARED,
        T0 + timedelta(hours=hour),
        probable_cause="los",
        cleared_at=cleared_at,
        text="loss of signal on the optical path",
    )


async def soak(path: Path, retain: bool) -> tuple[int, dict[str, int]]:
    clock = [T0]
    backend = SqliteBackend(path, clock=lambda: clock[0])
    store = Store(backend)
    await store.open()
    db = PolicyDb(path)
    audit = AuditLog(db, clock=lambda: clock[0].timestamp(), capacity=10**7)
    model = ModelRetention(
        store, backend, horizon=lambda: timedelta(hours=24), log_days=1, clock=lambda: clock[0]
    )
    rotation = AuditRotation(db, path.parent / "archive", disclosure_days=1, summary_days=3)
    hours = SOAK_DAYS * 24
    per_hour, samples_hour, polls_hour = ALARMS // hours, SAMPLES // hours, DISCLOSURES // hours
    try:
        for hour in range(hours):
            now = clock[0] = T0 + timedelta(hours=hour)

            for n in range(0, per_hour, 20):  # in commits of 20, as a source batches them
                chunk = range(n, min(n + 20, per_hour))
                await store.commit(UpsertAlarms(tuple(alarm(hour, i, None) for i in chunk)), "s")
                if hour:
                    done = tuple(alarm(hour - 1, i, now) for i in chunk)
                    await store.commit(UpsertAlarms(done), "s")
            for n in range(0, samples_hour, 400):
                at = now + timedelta(seconds=n)
                samples = tuple(
                    MetricSample(ResourceRef(link=f"l{i // 5}"), f"m{i % 5}", float(n), at)
                    for i in range(400)
                )
                await store.commit(AddMetricSamples(samples), "m")
            for n in range(polls_hour):
                clock[0] = now + timedelta(seconds=n)
                audit.disclosed(
                    f"peer/p{n % 50}",
                    ("alarms", "interconnects")[n % 2],
                    store.snapshot.revision,
                    "v1",
                    f'"{n:032x}"',
                )
            await audit.flush()
            clock[0] = now + timedelta(minutes=59)
            if retain:
                await model.run_once()
                await asyncio.to_thread(rotation.run_once, clock[0])
    finally:
        await store.close()
        db.close()
    return _counts(path)


def make_data(nodes: int, alarms: int) -> tuple[Topology, list[Service], list[Alarm]]:
    topology = Topology(
        "net",
        tuple(
            Node(
                f"n{i}",
                name=f"r{i}.pop{i % 50}.example",
                site=f"s{i % 50}",
                tps=(
                    TerminationPoint(
                        "ge-0/0/0", addresses=(f"10.{i // 256 % 256}.{i % 256}.0/31",)
                    ),
                    TerminationPoint("ge-0/0/1"),
                ),
            )
            for i in range(nodes)
        ),
        tuple(
            Link(f"l{i}", f"n{i}", "ge-0/0/1", f"n{(i + 1) % nodes}", "ge-0/0/0", capacity_bps=1e10)
            for i in range(nodes)
        ),
    )
    services = [
        Service(
            f"svc{i}",
            f"c{i % 1000}",
            name=f"svc {i}",
            endpoints=(ResourceRef(f"n{i}", "ge-0/0/0"),),
        )
        for i in range(nodes)
    ]
    raised = [
        Alarm(
            f"a{i}",
            ResourceRef(link=f"l{i % nodes}"),
            Severity.MAJOR,
            T0 + timedelta(seconds=i),
            probable_cause="los",
            text=f"los on r{i % nodes}",
        )
        for i in range(alarms)
    ]
    return topology, services, raised


async def fill(path: Path, nodes: int, alarms: int) -> None:
    topology, services, raised = make_data(nodes, alarms)
    store = Store(SqliteBackend(path))
    await store.open()
    try:
        await store.commit(ReplaceTopology(topology), "inventory")
        for i in range(0, len(services), 1000):
            await store.commit(UpsertServices(tuple(services[i : i + 1000])), "inventory")
        await asyncio.gather(
            *(
                store.commit(UpsertAlarms(tuple(raised[i : i + 100])), "nms")
                for i in range(0, len(raised), 100)
            )
        )
    finally:
        await store.close()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(
            f"soak: {SOAK_DAYS} days, {ALARMS:,} alarms raised and cleared, "
            f"{SAMPLES:,} metric samples, {DISCLOSURES:,} disclosures audited"
        )
        results = {}
        for retain in (False, True):
            (root / str(retain)).mkdir()
            started = time.perf_counter()
            results[retain] = asyncio.run(soak(root / str(retain) / "demarc.db", retain))
            print(
                f"  retention {'on ' if retain else 'off'}: {time.perf_counter() - started:.1f} s"
            )
        print(f"  {'':24} {'off':>12} {'on':>12} {'on/off':>8}")
        (off_size, off), (on_size, on) = results[False], results[True]
        print(f"  {'file bytes':24} {off_size:>12,} {on_size:>12,} {on_size / off_size:>8.3f}")
        for key in sorted(set(off) | set(on)):
            a, b = off.get(key, 0), on.get(key, 0)
            ratio = f"{b / a:.3f}" if a else "-"
            print(f"  {key + ' rows':24} {a:>12,} {b:>12,} {ratio:>8}")
        print("load (SqliteBackend.load, median of runs):")
        worst = 0.0
        for nodes, alarms in SIZES:
            path = root / f"load-{nodes}.db"
            asyncio.run(fill(path, nodes, alarms))
            times = []
            for _ in range(LOAD_RUNS):
                backend = SqliteBackend(path)
                started = time.perf_counter()
                snapshot = backend.load()
                times.append(time.perf_counter() - started)
                backend.close()
            median = statistics.median(times)
            worst = max(worst, median)
            print(
                f"  {nodes:>6,} nodes {nodes:>6,} services {len(snapshot.alarms):>7,} alarms: "
                f"{median:.2f} s ({path.stat().st_size / 1e6:.0f} MB)"
            )
    print(f"largest load {worst:.2f} s, target < {LOAD_TARGET_S:.0f} s")
    return 0 if worst < LOAD_TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
