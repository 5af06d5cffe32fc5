"""Performance buckets: written with the samples' commit, counted once, bounded by retention."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.model import (
    AddMetricSamples,
    Change,
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
from gateway.store.rollups import RollupReader

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # on a bucket boundary of both widths
IC = ResourceRef(link="ic1")
TOPOLOGY = Topology(
    network_id="net",
    nodes=(
        Node("pe1", tps=(TerminationPoint("ge-0/0/1"), TerminationPoint("ge-0/0/3"))),
        Node("pe2", tps=(TerminationPoint("ge-0/0/2"),)),
    ),
    links=(
        Link("l1", "pe1", "ge-0/0/1", "pe2", "ge-0/0/2"),
        Link("ic1", "pe1", "ge-0/0/3", "x", "y", kind=LinkKind.INTERCONNECT, peer="acme"),
    ),
)


class Db:
    """A real SQLite file, written the way the store writes it (one batch per call)."""

    def __init__(self, path: Path) -> None:
        self.backend = SqliteBackend(path)
        self.reader = RollupReader(path)
        self.snapshot = Snapshot()

    def commit(self, change: Change) -> None:
        revision = self.snapshot.revision + 1
        self.snapshot = self.snapshot.apply(change, revision)
        self.backend.persist([Committed(revision, change, "source/test")], self.snapshot)

    def samples(self, *samples: MetricSample) -> None:
        self.commit(AddMetricSamples(samples))

    def series(
        self, width: int, metric: str = "utilisation_pct"
    ) -> list[tuple[int, float, float, float]]:
        got = self.reader.series(
            "ic1", [metric], width, T0 - timedelta(days=1), T0 + timedelta(days=1)
        )
        return [(p.start, p.low, p.mean, p.high) for p in got[metric]]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Db]:
    made = Db(tmp_path / "demarc.db")
    made.commit(ReplaceTopology(TOPOLOGY))
    yield made
    made.reader.close()
    made.backend.close()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def util(value: float, minute: float, ref: ResourceRef = IC) -> MetricSample:
    return MetricSample(ref, "utilisation_pct", value, at(minute))


def test_samples_land_in_5_minute_and_hourly_buckets_with_min_avg_max(db: Db) -> None:
    start = int(T0.timestamp())
    db.samples(util(10, 0), util(20, 1), util(60, 4), util(5, 5))
    db.samples(util(30, 61))
    assert db.series(300) == [
        (start, 10, 30, 60),
        (start + 300, 5, 5, 5),
        (start + 3600, 30, 30, 30),
    ]
    assert db.series(3600) == [(start, 5, 23.75, 60), (start + 3600, 30, 30, 30)]


def test_a_sample_sent_again_or_late_is_not_counted_twice(db: Db) -> None:
    db.samples(util(10, 1), util(20, 2))
    db.samples(util(20, 2))  # a retried ingest whose first answer was lost
    db.samples(util(99, 1.5))  # older than the last counted in its bucket
    start = int(T0.timestamp())
    assert db.series(300) == [(start, 10, 15, 20)]
    # within one document, samples count in time order whatever order they came in
    db.samples(util(40, 7), util(30, 6))
    assert db.series(300)[1] == (start + 300, 30, 35, 40)


def test_only_interconnects_and_the_history_metrics_are_kept(db: Db) -> None:
    db.samples(util(10, 0, ResourceRef(link="l1")), util(10, 0, ResourceRef(node="pe1")),
               MetricSample(IC, "availability_pct", 99.0, at(0)), util(50, 0))  # fmt: skip
    assert db.reader.rows() == {300: 1, 3600: 1}
    assert db.series(300, "availability_pct") == []


def test_buckets_are_in_the_samples_transaction(db: Db, tmp_path: Path) -> None:
    """Acknowledged means durable: a sample is in its buckets once its commit returns, for a
    connection that opens the file afresh (what a restart reads)."""
    db.samples(util(42, 3))
    other = sqlite3.connect(tmp_path / "demarc.db")
    assert other.execute("SELECT n, total FROM metric_rollups").fetchall() == [(1, 42.0)] * 2
    other.close()


def test_retention_drops_old_buckets_per_width_and_forgets_empty_series(db: Db) -> None:
    db.samples(util(10, 0), util(10, 60 * 24 * 10))  # now, and ten days later
    assert db.reader.rows() == {300: 2, 3600: 2}
    gone = db.backend.prune_rollups({300: at(60 * 24 * 3), 3600: at(-60)})
    assert gone == 1 and db.reader.rows() == {300: 1, 3600: 2}
    db.backend.prune_rollups({300: at(60 * 24 * 30), 3600: at(60 * 24 * 30)})
    assert db.reader.rows() == {}
    with sqlite3.connect(db.backend.path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM rollup_series").fetchone() == (0,)


def test_table_sizes_are_measurable(db: Db) -> None:
    db.samples(*(util(float(m % 97), m) for m in range(0, 600)))
    sizes = db.reader.sizes()
    assert sizes["metric_rollups"] >= 4096 and set(sizes) <= {
        "metric_rollups", "rollup_series", "sqlite_autoindex_rollup_series_1"
    }  # fmt: skip
