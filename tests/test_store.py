"""Tests for the store: revisions, durable group commits over SQLite, reopen, failures."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import msgspec
import pytest

from gateway.model import (
    AddMaintenanceUpdates,
    AddMetricSamples,
    Alarm,
    Change,
    DeleteServices,
    IncidentPatch,
    Link,
    LinkKind,
    Maintenance,
    MaintenanceStatus,
    MetricSample,
    Node,
    ReplaceTopology,
    ResourceRef,
    Service,
    Severity,
    Snapshot,
    StatusUpdate,
    TerminationPoint,
    Topology,
    UpsertAlarms,
    UpsertIncidents,
    UpsertMaintenance,
    UpsertServices,
)
from gateway.store import Committed, SqliteBackend, Store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LINK = ResourceRef(link="l1")
T = TypeVar("T")

TOPOLOGY = Topology(
    network_id="net",
    nodes=(
        Node("pe1", name="pe1.example", site="ams", tps=(TerminationPoint("ge-0/0/1"),)),
        Node("pe2", tps=(TerminationPoint("ge-0/0/2", addresses=("192.0.2.1/31",)),)),
    ),
    links=(
        Link("l1", "pe1", "ge-0/0/1", "pe2", "ge-0/0/2", capacity_bps=1e10, srlgs=(7,)),
        Link("ic1", "pe2", "ge-0/0/2", "x", "y", kind=LinkKind.INTERCONNECT, peer="acme"),
    ),
)


def service(sid: str, customer: str = "globex") -> Service:
    return Service(sid, customer, name=f"name {sid}", endpoints=(ResourceRef("pe1", "ge-0/0/1"),))


def sample(value: float, at: datetime, metric: str = "delay_ms") -> MetricSample:
    return MetricSample(LINK, metric, value, at)


ALARM = Alarm("a1", LINK, Severity.MAJOR, T0, probable_cause="los", text="free text")
WINDOW = Maintenance("m1", (LINK, ResourceRef(node="pe2")), T0, T0 + timedelta(hours=2),
                     status=MaintenanceStatus.IN_PROGRESS, description="swap optics")  # fmt: skip


def run(path: Path, body: Callable[[Store], Awaitable[T]], backend: object = None) -> T:
    """Open a store on ``path`` (or ``backend``), run ``body`` with it, close it."""

    async def main() -> T:
        store = Store(backend or SqliteBackend(path))  # type: ignore[arg-type]
        await store.open()
        try:
            return await body(store)
        finally:
            await store.close()

    return asyncio.run(main())


def reopen(path: Path) -> Snapshot:
    async def body(store: Store) -> Snapshot:
        return store.snapshot

    return run(path, body)


async def commit_all(store: Store, changes: Sequence[Change]) -> list[Snapshot]:
    return [await store.commit(change, "tester") for change in changes]


def test_commit_before_open_raises(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "db.sqlite")

    async def main() -> None:
        store = Store(backend)
        with pytest.raises(RuntimeError, match="not open"):
            await store.commit(UpsertServices((service("s1"),)), "tester")
        await store.close()

    asyncio.run(main())


def test_empty_store_opens_at_revision_zero(tmp_path: Path) -> None:
    snap = reopen(tmp_path / "sub" / "db.sqlite")  # the directory is created
    assert snap.revision == 0 and snap.topology == Topology() and dict(snap.kind_revisions) == {}


def test_revisions_increase_by_one_per_commit(tmp_path: Path) -> None:
    changes = [UpsertServices((service(f"s{i}"),)) for i in range(5)]
    snaps = run(tmp_path / "db.sqlite", lambda s: commit_all(s, changes))
    assert [s.revision for s in snaps] == [1, 2, 3, 4, 5]
    assert [len(s.services) for s in snaps] == [1, 2, 3, 4, 5]


def test_kind_revisions_track_each_kind(tmp_path: Path) -> None:
    changes: list[Change] = [
        ReplaceTopology(TOPOLOGY),
        UpsertServices((service("s1"),)),
        UpsertAlarms((ALARM,)),
        AddMetricSamples((sample(1.0, T0),)),
        UpsertMaintenance((WINDOW,)),
        DeleteServices(("s1",)),
        UpsertAlarms((ALARM,)),
    ]
    snaps = run(tmp_path / "db.sqlite", lambda s: commit_all(s, changes))
    assert dict(snaps[0].kind_revisions) == {"topology": 1}
    assert dict(snaps[-1].kind_revisions) == {
        "topology": 1,
        "services": 6,
        "alarms": 7,
        "metrics": 4,
        "maintenance": 5,
    }
    assert dict(reopen(tmp_path / "db.sqlite").kind_revisions) == dict(snaps[-1].kind_revisions)


def test_all_kinds_survive_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    cleared = Alarm("a1", LINK, Severity.CLEARED, T0, cleared_at=T0 + timedelta(minutes=5))
    changes: list[Change] = [
        ReplaceTopology(Topology(network_id="old")),
        ReplaceTopology(TOPOLOGY),
        UpsertServices((service("s1"), service("s2"), service("s3", "initech"))),
        DeleteServices(("s2", "never-existed")),
        UpsertAlarms((ALARM, Alarm("a2", None, Severity.WARNING, T0, labels=(("k", "v"),)))),
        UpsertAlarms((cleared,)),
        AddMetricSamples((sample(1.0, T0), sample(2.0, T0 + timedelta(seconds=30)))),
        AddMetricSamples((sample(50.0, T0, "utilisation_pct"),)),
        UpsertMaintenance((WINDOW,)),
    ]
    before = run(path, lambda s: commit_all(s, changes))[-1]
    after = reopen(path)
    assert after.revision == before.revision == len(changes)
    assert after.topology == TOPOLOGY
    assert dict(after.services) == {"s1": service("s1"), "s3": service("s3", "initech")}
    assert dict(after.alarms) == dict(before.alarms)
    assert after.alarms["a1"] == cleared and after.alarms["a2"].resource is None
    assert dict(after.metrics) == {
        (LINK, "delay_ms"): sample(2.0, T0 + timedelta(seconds=30)),
        (LINK, "utilisation_pct"): sample(50.0, T0, "utilisation_pct"),
    }
    assert dict(after.maintenance) == {"m1": WINDOW}
    assert after.maintenance["m1"].start.tzinfo is not None


def test_incidents_and_updates_of_work_survive_close_and_reopen(tmp_path: Path) -> None:
    """What staff and sources write for customers is acknowledged only once committed, and a
    restart reads it back whole: records, their indexes, timelines merged as they were."""
    path = tmp_path / "db.sqlite"
    said = StatusUpdate(T0, "investigating", "looking into it")
    changes: list[Change] = [
        UpsertMaintenance((WINDOW,)),
        UpsertIncidents(
            (IncidentPatch("i1", title="slow", services=("s1",), alarms=("a1",), updates=(said,)),)
        ),
        UpsertIncidents((IncidentPatch("i1", updates=(StatusUpdate(T0, "resolved"), said)),)),
        AddMaintenanceUpdates((("m1", StatusUpdate(T0, "verifying", "checking")),)),
        # sent again without a status: the window keeps its status and its updates
        UpsertMaintenance(
            (msgspec.structs.replace(WINDOW, description="moved"),), frozenset({"m1"})
        ),
    ]
    before = run(path, lambda s: commit_all(s, changes))[-1]
    after = reopen(path)
    assert dict(after.incidents) == dict(before.incidents)
    record = after.incidents["i1"]
    assert [(u.status, u.text) for u in record.updates] == [
        ("investigating", "looking into it"),
        ("resolved", None),
    ]
    assert set(after.incidents_by_service["s1"]) == set(after.incidents_by_alarm["a1"]) == {"i1"}
    window = after.maintenance["m1"]
    assert window == before.maintenance["m1"]
    assert (window.status, window.description) == (MaintenanceStatus.VERIFYING, "moved")
    assert [u.text for u in window.updates] == ["checking"]
    assert after.kind_revisions["incidents"] == 3


def test_reopened_store_continues_revisions(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    run(path, lambda s: commit_all(s, [UpsertServices((service("s1"),))] * 3))
    again = run(path, lambda s: commit_all(s, [UpsertAlarms((ALARM,))]))
    assert again[0].revision == 4
    assert set(again[0].services) == {"s1"}
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT revision, kind, principal FROM revisions ORDER BY 1").fetchall()
    db.close()
    assert rows == [(1, "services", "tester"), (2, "services", "tester"),
                    (3, "services", "tester"), (4, "alarms", "tester")]  # fmt: skip


def test_late_metric_sample_does_not_replace_newer(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    new, late = sample(9.0, T0 + timedelta(minutes=1)), sample(1.0, T0)
    snaps = run(
        path, lambda s: commit_all(s, [AddMetricSamples((new,)), AddMetricSamples((late,))])
    )
    assert snaps[-1].metrics[(LINK, "delay_ms")] == new
    assert snaps[-1].kind_revisions["metrics"] == 2  # it was still committed
    assert reopen(path).metrics[(LINK, "delay_ms")] == new


def test_late_metric_sample_in_one_group_commit(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    new, late = sample(9.0, T0 + timedelta(minutes=1)), sample(1.0, T0)

    async def body(store: Store) -> None:
        await asyncio.gather(
            store.commit(AddMetricSamples((new,)), "a"),
            store.commit(AddMetricSamples((late,)), "b"),
        )

    run(path, body)
    assert reopen(path).metrics[(LINK, "delay_ms")] == new


@pytest.mark.parametrize("max_batch", [256, 7, 1])
def test_concurrent_commits_get_distinct_revisions(tmp_path: Path, max_batch: int) -> None:
    path = tmp_path / "db.sqlite"
    backend = SqliteBackend(path)

    async def body(store: Store) -> list[Snapshot]:
        changes = [UpsertServices((service(f"s{i:02}"),)) for i in range(50)]
        return list(
            await asyncio.gather(*(store.commit(c, f"p{i}") for i, c in enumerate(changes)))
        )

    async def main() -> list[Snapshot]:
        store = Store(backend, max_batch=max_batch)
        await store.open()
        try:
            return await body(store)
        finally:
            await store.close()

    snaps = asyncio.run(main())
    assert sorted(s.revision for s in snaps) == list(range(1, 51))
    for i, snap in enumerate(snaps):  # each one's snapshot includes its own change
        assert f"s{i:02}" in snap.services
    after = reopen(path)
    assert after.revision == 50 and len(after.services) == 50
    with sqlite3.connect(path) as db:
        assert db.execute(
            "SELECT COUNT(*), MIN(revision), MAX(revision) FROM revisions"
        ).fetchone() == (50, 1, 50)
    db.close()


def test_sqlite_is_wal_with_full_sync(tmp_path: Path) -> None:
    backend = SqliteBackend(tmp_path / "db.sqlite")
    try:
        db = backend._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        backend.close()


class _Exploding(list[Committed]):
    """A batch that fails half-way through the backend's transaction."""

    def __iter__(self) -> Iterator[Committed]:
        yield from list.__iter__(self)
        raise OSError("disk I/O error (injected mid-transaction)")


class FlakyBackend:
    """SqliteBackend with injected faults: before the write, or inside its transaction."""

    def __init__(self, inner: SqliteBackend) -> None:
        self.inner = inner
        self.fail: str | None = None

    def load(self) -> Snapshot:
        return self.inner.load()

    def persist(self, batch: Sequence[Committed], snapshot: Snapshot) -> None:
        if self.fail == "before":
            raise OSError("disk full (injected)")
        if self.fail == "inside":
            batch = _Exploding(batch)
        self.inner.persist(batch, snapshot)

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("fault", ["before", "inside"])
def test_failed_persist_changes_nothing(tmp_path: Path, fault: str) -> None:
    path = tmp_path / "db.sqlite"
    backend = FlakyBackend(SqliteBackend(path))
    notified: list[int] = []

    async def body(store: Store) -> None:
        store.on_commit(lambda batch: notified.extend(c.revision for c in batch))
        first = await store.commit(UpsertServices((service("s1"),)), "tester")
        backend.fail = fault
        with pytest.raises(OSError):
            await store.commit(UpsertServices((service("s2"),)), "tester")
        assert store.snapshot is first  # neither snapshot nor revision moved
        assert store.snapshot.revision == 1 and set(store.snapshot.services) == {"s1"}
        backend.fail = None
        later = await store.commit(UpsertAlarms((ALARM,)), "tester")
        assert later.revision == 2 and set(later.services) == {"s1"}

    run(path, body, backend)
    assert notified == [1, 2]  # the failed commit was never announced
    after = reopen(path)
    assert after.revision == 2 and set(after.services) == {"s1"} and set(after.alarms) == {"a1"}
    assert dict(after.kind_revisions) == {"services": 1, "alarms": 2}


def test_on_commit_runs_after_snapshot_is_current(tmp_path: Path) -> None:
    seen: list[tuple[int, int, list[int]]] = []

    async def body(store: Store) -> None:
        store.on_commit(
            lambda batch: seen.append(
                (store.snapshot.revision, len(store.snapshot.services), [c.revision for c in batch])
            )
        )
        await commit_all(
            store, [UpsertServices((service("s1"),)), UpsertServices((service("s2"),))]
        )

    run(tmp_path / "db.sqlite", body)
    # each listener call carries the changes it announces, and the snapshot already has them
    assert [(rev, n) for rev, n, _ in seen] == [(1, 1), (2, 2)]
    assert [r for _, _, batch in seen for r in batch] == [1, 2]
    assert all(batch[-1] == rev for rev, _, batch in seen)
