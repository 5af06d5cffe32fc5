"""Retention of the model: what leaves the live model and the SQLite file, and what never does."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from gateway.demo.network import build_demo
from gateway.disclosure import Pseudonymizer, audience_key, compile_policy, load_policy_dir, render
from gateway.disclosure.project import Settled
from gateway.model import (
    AddMetricSamples,
    Alarm,
    MetricSample,
    PruneAlarms,
    ReplaceTopology,
    ResourceRef,
    Severity,
    Snapshot,
    UpsertAlarms,
    UpsertMaintenance,
    UpsertServices,
)
from gateway.policy.testing import snapshot_from
from gateway.settings import Retention
from gateway.store import SqliteBackend, Store
from gateway.store.retention import PRINCIPAL, ModelRetention, alarm_horizon
from gateway.views.history import AvailabilityHistory
from tests.policyharness import LocalGateway, local_settings

T0 = datetime(2026, 3, 1, tzinfo=UTC)
LINK = ResourceRef(link="l1")
T = TypeVar("T")


def raised(aid: str, at: datetime = T0) -> Alarm:
    return Alarm(aid, LINK, Severity.MAJOR, at, probable_cause="los")


def cleared(aid: str, at: datetime) -> Alarm:
    return Alarm(aid, LINK, Severity.CLEARED, at - timedelta(minutes=5), cleared_at=at)


def with_store(path: Path, body: Callable[[Store, SqliteBackend], Awaitable[T]]) -> T:
    async def main() -> T:
        backend = SqliteBackend(path)
        store = Store(backend)
        await store.open()
        try:
            return await body(store, backend)
        finally:
            await store.close()

    return asyncio.run(main())


def loaded(path: Path) -> Snapshot:
    backend = SqliteBackend(path)
    try:
        return backend.load()
    finally:
        backend.close()


def object_ids(path: Path, kind: str) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {r[0] for r in db.execute("SELECT id FROM objects WHERE kind=?", (kind,))}
    finally:
        db.close()


def test_prune_drops_only_alarms_that_ended_before_the_moment() -> None:
    before = T0 + timedelta(hours=10)
    snap = Snapshot().apply(
        UpsertAlarms(
            (
                cleared("old", T0),
                cleared("recent", before + timedelta(seconds=1)),
                raised("active", T0 - timedelta(days=30)),  # active: never, however old
                Alarm("no-clear-time", LINK, Severity.CLEARED, T0),  # ended, never published
            )
        ),
        1,
    )
    after = snap.apply(PruneAlarms(("old", "recent", "active", "no-clear-time", "gone"), before), 2)
    assert set(after.alarms) == {"recent", "active"}
    assert after.revision == 2 and after.kind_revisions["alarms"] == 2


def test_an_alarm_raised_again_after_the_prune_was_planned_stays(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    before = T0 + timedelta(hours=1)

    async def body(store: Store, backend: SqliteBackend) -> None:
        await store.commit(UpsertAlarms((cleared("a1", T0), cleared("a2", T0))), "src")
        # the re-raise and the prune land in one group commit, the re-raise first
        again = raised("a1", T0 + timedelta(hours=2))
        await asyncio.gather(
            store.commit(UpsertAlarms((again,)), "src"),
            store.commit(PruneAlarms(("a1", "a2"), before), PRINCIPAL),
        )
        assert set(store.snapshot.alarms) == {"a1"} and store.snapshot.alarms["a1"] == again

    with_store(path, body)
    assert object_ids(path, "alarm") == {"a1"}  # acknowledged, so on disk too
    assert loaded(path).alarms["a1"].active


def test_a_pruned_alarm_sent_again_in_the_same_batch_is_kept_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"

    async def body(store: Store, backend: SqliteBackend) -> None:
        await store.commit(UpsertAlarms((cleared("a1", T0),)), "src")
        again = raised("a1", T0 + timedelta(hours=2))
        await asyncio.gather(
            store.commit(PruneAlarms(("a1",), T0 + timedelta(hours=1)), PRINCIPAL),
            store.commit(UpsertAlarms((again,)), "src"),
        )

    with_store(path, body)
    assert set(loaded(path).alarms) == {"a1"} and loaded(path).alarms["a1"].active


def test_retention_removes_expired_alarms_from_model_and_file_as_a_revision(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite"
    now = [T0 + timedelta(hours=30)]
    seen: list[tuple[int, str]] = []

    async def body(store: Store, backend: SqliteBackend) -> None:
        store.on_commit(lambda batch: seen.extend((c.revision, c.principal) for c in batch))
        alarms = [cleared(f"old{i}", T0 + timedelta(minutes=i)) for i in range(7)]
        alarms += [cleared("young", T0 + timedelta(hours=7)), raised("active", T0)]
        await store.commit(UpsertAlarms(tuple(alarms)), "src")
        retention = ModelRetention(
            store,
            backend,
            horizon=lambda: timedelta(hours=24),
            log_days=7,
            clock=lambda: now[0],
            chunk=3,
        )
        result = await retention.run_once()
        assert result.alarms == 7
        assert set(store.snapshot.alarms) == {"young", "active"}
        assert (await retention.run_once()).alarms == 0  # nothing left to do: no commit
        now[0] += timedelta(days=400)
        assert (await retention.run_once()).alarms == 1  # "young" too; "active" never
        assert set(store.snapshot.alarms) == {"active"}

    with_store(path, body)
    # 7 expired alarms in chunks of 3: three committed changes, each with its own revision
    assert seen == [(1, "src"), (2, PRINCIPAL), (3, PRINCIPAL), (4, PRINCIPAL), (5, PRINCIPAL)]
    assert object_ids(path, "alarm") == {"active"}
    reopened = loaded(path)
    assert reopened.revision == 5 and set(reopened.alarms) == {"active"}
    assert dict(reopened.kind_revisions) == {"alarms": 5}


def test_metric_samples_are_one_row_per_resource_and_metric(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"

    async def body(store: Store, backend: SqliteBackend) -> None:
        for minute in range(50):
            at = T0 + timedelta(minutes=minute)
            await store.commit(
                AddMetricSamples(
                    (
                        MetricSample(LINK, "delay_ms", float(minute), at),
                        MetricSample(LINK, "loss_pct", 0.0, at),
                        MetricSample(LINK, "delay_ms", -1.0, at - timedelta(hours=1)),  # late
                    )
                ),
                "src",
            )

    with_store(path, body)
    assert len(object_ids(path, "metric")) == 2
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert "metric_samples" not in tables
    latest = loaded(path).metrics[(LINK, "delay_ms")]
    assert latest.value == 49.0 and latest.at == T0 + timedelta(minutes=49)


def test_load_reads_state_not_history_and_the_log_is_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    now = [T0]
    backend = SqliteBackend(path, clock=lambda: now[0])

    async def main() -> None:
        store = Store(backend)
        await store.open()
        try:
            for hour in range(48):
                now[0] = T0 + timedelta(hours=hour)
                await store.commit(UpsertAlarms((raised(f"a{hour}", now[0]),)), "src")
            dropped = await asyncio.to_thread(backend.trim_log, T0 + timedelta(hours=40))
            assert dropped == 40
            assert backend.row_counts() == {
                "objects.alarm": 48,
                "revisions": 8,
                "service_days": 0,
                "metric_rollups": 0,
            }
        finally:
            await store.close()

    asyncio.run(main())
    reopened = loaded(path)  # the kinds' revisions come from meta, not from the trimmed log
    assert reopened.revision == 48 and dict(reopened.kind_revisions) == {"alarms": 48}
    assert len(reopened.alarms) == 48


def test_a_file_from_an_older_demarc_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE objects (kind TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL,
            revision INTEGER NOT NULL, PRIMARY KEY (kind, id));
        CREATE TABLE metric_samples (resource BLOB NOT NULL, metric TEXT NOT NULL,
            at TEXT NOT NULL, value REAL NOT NULL, revision INTEGER NOT NULL);
        CREATE TABLE revisions (revision INTEGER PRIMARY KEY, kind TEXT NOT NULL,
            principal TEXT NOT NULL, committed_at TEXT NOT NULL);
        INSERT INTO meta VALUES ('revision', '3');
        INSERT INTO revisions VALUES (1, 'alarms', 's', 'x'), (2, 'metrics', 's', 'x'),
            (3, 'alarms', 's', 'x');
        INSERT INTO metric_samples VALUES (x'00', 'delay_ms', 'x', 1.0, 2);
        """
    )
    db.execute(
        "INSERT INTO objects VALUES ('alarm', 'a1', ?, 3)",
        (
            b'{"alarm_id":"a1","resource":null,"severity":"major","raised_at":"2026-03-01T00:00:00Z"}',
        ),
    )
    db.commit()
    db.close()
    snap = loaded(path)
    assert snap.revision == 3 and dict(snap.kind_revisions) == {"alarms": 3, "metrics": 2}
    assert set(snap.alarms) == {"a1"}
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "metric_samples" not in names
    finally:
        db.close()


def test_freed_pages_go_back_to_the_file_system(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    big = "x" * 2000

    async def body(store: Store, backend: SqliteBackend) -> tuple[int, int]:
        alarms = tuple(
            Alarm(f"a{i}", LINK, Severity.CLEARED, T0, cleared_at=T0, text=big) for i in range(2000)
        )
        await store.commit(UpsertAlarms(alarms), "src")
        full = _pages(backend)
        await store.commit(PruneAlarms(tuple(a.alarm_id for a in alarms), T0 + timedelta(1)), "r")
        await asyncio.to_thread(backend.trim_log, T0)
        return full, _pages(backend)

    full, after = with_store(path, body)
    assert full > 1000 and after < full / 10, (full, after)


def _pages(backend: SqliteBackend) -> int:
    with backend._lock:  # the test looks at the file the backend holds
        (pages,) = backend._db.execute("PRAGMA page_count").fetchone()
        return int(pages)


def _aged_copies(snapshot: Snapshot, now: datetime) -> list[Alarm]:
    """Cleared copies of every demo alarm, around each policy's history boundary and beyond,
    with the severity they had (the availability history counts it)."""
    ages = [timedelta(hours=h) for h in (1, 4, 24, 72, 168, 200, 24 * 30)]
    ages += [a + d for a in ages for d in (timedelta(seconds=-1), timedelta(seconds=1))]
    out = []
    for alarm in snapshot.alarms.values():
        for n, age in enumerate(ages):
            ended = now - age
            out.append(
                Alarm(
                    f"{alarm.alarm_id}-aged{n}",
                    alarm.resource,
                    alarm.severity,
                    ended - timedelta(minutes=10),
                    probable_cause=alarm.probable_cause,
                    cleared_at=ended,
                )
            )
    return out


def test_retention_never_removes_what_a_policy_can_still_publish(tmp_path: Path) -> None:
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    demo = build_demo(now)
    base = snapshot_from(demo.documents())
    policies = {p.audience: p for p in map(compile_policy, load_policy_dir(Path("policies")))}
    audiences = [(f"peer/{p}", policies.get(f"peer/{p}")) for p in demo.peers]
    audiences += [(f"customer/{c}", policies.get(f"customer/{c}") or policies["customer/*"])
                  for c in demo.customers]  # fmt: skip
    served = [(a, p) for a, p in audiences if p is not None]

    def views(snap: Snapshot, settled: Settled | None = None) -> dict[str, object]:
        return {
            a: render(p, snap, a, Pseudonymizer(audience_key(b"k" * 32, a)), now, None, settled)
            for a, p in served
        }

    aged = base.apply(UpsertAlarms(tuple(_aged_copies(base, now))), base.revision + 1)
    horizon = alarm_horizon(h for p in policies.values() for h in p.history_hours)
    assert horizon == timedelta(hours=168)  # the longest history in policies/

    history = AvailabilityHistory(None)

    async def body(store: Store, backend: SqliteBackend) -> Snapshot:
        history._backend = backend
        # what the alarms are on, as a gateway holds it: history needs the services' scope
        await store.commit(ReplaceTopology(aged.topology), "src")
        await store.commit(UpsertServices(tuple(aged.services.values())), "src")
        await store.commit(UpsertMaintenance(tuple(aged.maintenance.values())), "src")
        await store.commit(UpsertAlarms(tuple(aged.alarms.values())), "src")
        retention = ModelRetention(
            store,
            backend,
            horizon=lambda: horizon,
            log_days=7,
            clock=lambda: now,
            settle=history.settle,
        )
        assert (await retention.run_once()).alarms > 0
        return store.snapshot

    after = with_store(tmp_path / "db.sqlite", body)
    pruned = set(aged.alarms) - set(after.alarms)
    # what went: cleared more than 168 h ago, and nothing else
    assert pruned and all(not aged.alarms[a].active for a in pruned)
    assert all(aged.alarms[a].cleared_at < now - horizon for a in pruned)  # type: ignore[operator]
    published_before = views(aged)
    # the same data with the alarms the store kept (only alarms went through the store)
    only_alarms_pruned = Snapshot(
        revision=aged.revision,
        topology=aged.topology,
        services=aged.services,
        alarms=after.alarms,
        metrics=aged.metrics,
        maintenance=aged.maintenance,
        kind_revisions=aged.kind_revisions,
        incidents=aged.incidents,
    )
    # the availability history the pruned alarms made was settled first: nothing changes
    assert published_before == views(only_alarms_pruned, history.days)
    assert published_before != views(only_alarms_pruned)  # ... which it had to be
    reopened = AvailabilityHistory(SqliteBackend(tmp_path / "db.sqlite"))
    asyncio.run(reopened.open())  # and it survives a restart
    assert reopened.days == history.days
    # and the views did show aged alarms up to their policy's history (the test is not empty)
    assert views(base) != published_before


def test_the_gateway_keeps_cleared_alarms_for_the_longest_active_history(tmp_path: Path) -> None:
    base = local_settings(tmp_path)
    for floor, kept in ((0, {"young", "active"}), (200, {"old", "young", "active"})):
        retention = Retention(enabled=False, cleared_alarm_min_hours=floor)
        settings = base.model_copy(update={"retention": retention})
        local = LocalGateway(settings).start(feed=False)
        try:
            gateway = local.gateway
            assert gateway.alarm_horizon() == timedelta(hours=max(168, floor))  # policies/
            now = datetime.now(UTC)
            alarms = (
                cleared("old", now - timedelta(hours=170)),
                cleared("young", now - timedelta(hours=100)),
                raised("active", now - timedelta(days=90)),
            )
            local.run(gateway.store.commit(UpsertAlarms(alarms), "source/feeder"))
            pruned, _ = local.run(gateway.retain())
            assert pruned.alarms == 3 - len(kept)
            assert set(gateway.store.snapshot.alarms) == kept
        finally:
            local.close()
