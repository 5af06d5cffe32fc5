"""A steady load through the real store and audit for several retention periods: size is bounded."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from gateway.model import (
    AddMetricSamples,
    Alarm,
    MetricSample,
    ResourceRef,
    Severity,
    UpsertAlarms,
)
from gateway.policy.audit import AuditLog
from gateway.policy.rotation import AuditRotation
from gateway.policy.store import PolicyDb
from gateway.store import SqliteBackend, Store
from gateway.store.retention import ModelRetention

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 7
ALARMS_PER_HOUR = 20
METRICS = ("delay_ms", "loss_pct", "utilisation_pct", "errors_per_s", "availability_pct")
VIEWS = [(f"peer/p{n}", view) for n in range(5) for view in ("alarms", "interconnects")]
POLLS_PER_VIEW_HOUR = 10


def counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(path)
    try:
        out = {
            f"objects.{k}": n
            for k, n in db.execute("SELECT kind, COUNT(*) FROM objects GROUP BY kind")
        }
        for table in ("revisions", "audit_events", "disclosure_hours", "audit_rotations"):
            (out[table],) = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()
        (pages,) = db.execute("PRAGMA page_count").fetchone()
        (free,) = db.execute("PRAGMA freelist_count").fetchone()
        out["pages_in_use"] = pages - free
        return out
    finally:
        db.close()


def alarm(hour: int, n: int, now: datetime, cleared: bool) -> Alarm:
    raised = now - timedelta(hours=1) if cleared else now
    return Alarm(
        f"h{hour}-{n}",
        ResourceRef(link=f"l{n}"),
        Severity.CLEARED if cleared else Severity.MAJOR,
        raised,
        probable_cause="los",
        cleared_at=now if cleared else None,
        text="loss of signal " * 8,
    )


def test_a_steady_load_reaches_a_steady_size(tmp_path: Path) -> None:
    path = tmp_path / "demarc.db"
    clock = [T0]
    daily: list[dict[str, int]] = []
    recorded = 0

    async def main() -> None:
        nonlocal recorded
        backend = SqliteBackend(path, clock=lambda: clock[0])
        store = Store(backend)
        await store.open()
        db = PolicyDb(path)
        audit = AuditLog(db, clock=lambda: clock[0].timestamp())
        model = ModelRetention(
            store, backend, horizon=lambda: timedelta(hours=24), log_days=1, clock=lambda: clock[0]
        )
        rotation = AuditRotation(db, tmp_path / "archive", disclosure_days=1, summary_days=3)
        try:
            for hour in range(DAYS * 24):
                clock[0] = T0 + timedelta(hours=hour)
                raised = tuple(alarm(hour, n, clock[0], False) for n in range(ALARMS_PER_HOUR))
                await store.commit(UpsertAlarms(raised), "source/nms")
                if hour:  # last hour's alarms clear
                    done = tuple(alarm(hour - 1, n, clock[0], True) for n in range(ALARMS_PER_HOUR))
                    await store.commit(UpsertAlarms(done), "source/nms")
                samples = tuple(
                    MetricSample(
                        ResourceRef(link=f"l{n}"),
                        m,
                        float(minute),
                        clock[0] + timedelta(minutes=minute),
                    )
                    for minute in range(0, 60, 6)
                    for n in range(10)
                    for m in METRICS
                )
                await store.commit(AddMetricSamples(samples), "source/metrics")
                for minute in range(0, 60, 6):
                    clock[0] = T0 + timedelta(hours=hour, minutes=minute)
                    for who, view in VIEWS:
                        audit.disclosed(who, view, store.snapshot.revision, "v1", '"d"')
                        recorded += 1
                await audit.flush()
                clock[0] = T0 + timedelta(hours=hour, minutes=59)
                await model.run_once()
                await asyncio.to_thread(rotation.run_once, clock[0])
                if hour % 24 == 23:
                    daily.append(counts(path))
            # nothing acknowledged is lost: the active alarms, and every alarm a 24 h history
            # still shows, are in the model and survive a restart
            last = DAYS * 24 - 1
            expected = {f"h{last}-{n}" for n in range(ALARMS_PER_HOUR)}
            expected |= {f"h{h}-{n}" for h in range(last - 24, last) for n in range(20)}
            assert expected <= set(store.snapshot.alarms)
        finally:
            await store.close()
            db.close()
        reopened = SqliteBackend(path)
        try:
            snap = reopened.load()
        finally:
            reopened.close()
        assert expected <= set(snap.alarms)
        assert all(snap.alarms[f"h{last}-{n}"].active for n in range(ALARMS_PER_HOUR))
        assert len(snap.metrics) == 10 * len(METRICS)

    asyncio.run(main())

    # the load is periodic, so once every retention period (3 days at most) has passed, each
    # day ends with the same rows as the day before: nothing grows
    # (the rotation log, append-only, grows by one row per hour rotated, whatever the load)
    steady = daily[4:]
    growing = ("pages_in_use", "audit_rotations")
    for day in steady[1:]:
        rows = {k: v for k, v in day.items() if k not in growing}
        assert rows == {k: v for k, v in steady[0].items() if k not in growing}, daily
    assert all(b["audit_rotations"] - a["audit_rotations"] <= 24 for a, b in pairwise(daily))
    assert daily[-1]["objects.alarm"] <= ALARMS_PER_HOUR * 26  # a day of history, and active
    assert daily[-1]["objects.metric"] == 10 * len(METRICS)
    assert daily[-1]["revisions"] <= 24 * 4 + 2  # a day of commits (3 of ingest, 1 prune)
    assert daily[-1]["audit_events"] <= 25 * len(VIEWS) * POLLS_PER_VIEW_HOUR
    assert daily[-1]["disclosure_hours"] <= 4 * 24 * len(VIEWS)
    # the file's pages in use stop growing too (freed pages are returned)
    assert max(d["pages_in_use"] for d in steady) <= 1.1 * min(d["pages_in_use"] for d in steady)
    # and no disclosure vanished: each one is a raw record, counted in a summary, or archived
    summarised = sum(
        json.loads(line)["count"]
        for p in (tmp_path / "archive").glob("disclosure-hours-*.jsonl")
        for line in p.read_text().splitlines()
    )
    db = sqlite3.connect(path)
    (in_hours,) = db.execute("SELECT COALESCE(SUM(count), 0) FROM disclosure_hours").fetchone()
    (raw,) = db.execute("SELECT COUNT(*) FROM audit_events WHERE kind='disclosure'").fetchone()
    db.close()
    assert summarised + in_hours + raw == recorded
    archived = sum(
        len(p.read_text().splitlines()) for p in (tmp_path / "archive").glob("disclosures-*")
    )
    assert archived + raw == recorded
