"""Performance history: interconnect metric samples downsampled to 5-minute and hourly buckets.

Written in the transaction that commits the samples (so a sample is in its buckets exactly
when it is acknowledged), read on its own connection, pruned by retention. A bucket keeps the
count, sum, minimum and maximum of its samples, and the time of the latest one it counted:
a sample no later than that (sent twice, or late) is not counted again, so a retried ingest
never skews an average.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.model import LinkKind, MetricSample, Snapshot

#: what is kept per interconnect: the measurements a policy can disclose as history
METRICS = ("utilisation_pct", "delay_ms", "loss_pct", "errors_per_s")
#: bucket widths in seconds: 5 minutes and one hour
WIDTHS = (300, 3600)

SCHEMA = """
CREATE TABLE IF NOT EXISTS rollup_series (
    id INTEGER PRIMARY KEY, link TEXT NOT NULL, metric TEXT NOT NULL, UNIQUE (link, metric)
);
CREATE TABLE IF NOT EXISTS metric_rollups (
    series INTEGER NOT NULL, width INTEGER NOT NULL, bucket INTEGER NOT NULL,
    n INTEGER NOT NULL, total REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL,
    last_ms INTEGER NOT NULL, PRIMARY KEY (series, width, bucket)
) WITHOUT ROWID;
"""
TABLES = ("rollup_series", "metric_rollups", "sqlite_autoindex_rollup_series_1")

_SERIES = "INSERT OR IGNORE INTO rollup_series (link, metric) VALUES (?, ?)"
_UPSERT = (
    "INSERT INTO metric_rollups VALUES ("
    "(SELECT id FROM rollup_series WHERE link=? AND metric=?), ?, ?, 1, ?, ?, ?, ?) "
    "ON CONFLICT (series, width, bucket) DO UPDATE SET n=n+1, total=total+excluded.total, "
    "low=min(low, excluded.low), high=max(high, excluded.high), last_ms=excluded.last_ms "
    "WHERE excluded.last_ms > metric_rollups.last_ms"
)
_READ = (
    "SELECT m.metric, r.bucket, r.low, r.total / r.n, r.high FROM metric_rollups r "
    "JOIN rollup_series m ON m.id = r.series WHERE m.link=? AND r.width=? "
    "AND r.bucket >= ? AND r.bucket < ? ORDER BY m.metric, r.bucket"
)
_PRUNE = "DELETE FROM metric_rollups WHERE width=? AND bucket < ?"
_ORPHANS = (
    "DELETE FROM rollup_series WHERE NOT EXISTS "
    "(SELECT 1 FROM metric_rollups r WHERE r.series = rollup_series.id)"
)
_SIZES = "SELECT name, SUM(pgsize) FROM dbstat WHERE name IN ({}) GROUP BY name".format(
    ", ".join("?" * len(TABLES))
)


@dataclass(frozen=True, slots=True)
class Point:
    """One bucket of one metric: its start (seconds since the epoch) and its statistics."""

    start: int
    low: float
    mean: float
    high: float


Series = Mapping[str, Sequence[Point]]


def _ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def statements(
    samples: Sequence[MetricSample], final: Snapshot
) -> Iterator[tuple[str, tuple[object, ...]]]:
    """The rollup writes for ``samples``: those on interconnects (as the batch's snapshot has
    the topology), of the metrics kept, in time order."""
    links = final.links_by_id
    kept = [
        s
        for s in samples
        if s.metric in METRICS
        and s.resource.link is not None
        and (link := links.get(s.resource.link)) is not None
        and link.kind is LinkKind.INTERCONNECT
    ]
    for key in dict.fromkeys((s.resource.link, s.metric) for s in kept):
        yield _SERIES, key
    for s in sorted(kept, key=lambda s: s.at):
        at = _ms(s.at)
        for width in WIDTHS:
            bucket = at // 1000 // width * width
            yield _UPSERT, (s.resource.link, s.metric, width, bucket, s.value, s.value, s.value, at)


def prune(db: sqlite3.Connection, before: Mapping[int, datetime]) -> int:
    """Drop buckets that start before ``before[width]``; returns how many went."""
    gone = 0
    for width, moment in before.items():
        gone += db.execute(_PRUNE, (width, int(moment.timestamp()))).rowcount
    db.execute(_ORPHANS)  # series of links that left, once their last bucket went
    return gone


class RollupReader:
    """Reads the buckets on a connection of its own (WAL: never blocked by the writer)."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.executescript(SCHEMA)  # the backend made them; harmless if not yet

    def series(
        self, link: str, metrics: Sequence[str], width: int, since: datetime, until: datetime
    ) -> dict[str, list[Point]]:
        """Buckets of ``link`` starting in [since, until), per metric asked for, oldest first."""
        out: dict[str, list[Point]] = {m: [] for m in metrics}
        params = (link, width, int(since.timestamp()), int(until.timestamp()))
        with self._lock:
            rows = self._db.execute(_READ, params).fetchall()
        for metric, start, low, mean, high in rows:
            if metric in out:
                out[metric].append(Point(start, low, mean, high))
        return out

    def sizes(self) -> dict[str, int]:
        """Bytes of the rollup tables and their index in the file (SQLite's dbstat)."""
        with self._lock:
            return dict(self._db.execute(_SIZES, TABLES).fetchall())

    def rows(self) -> dict[int, int]:
        """Buckets kept per width."""
        with self._lock:
            query = "SELECT width, COUNT(*) FROM metric_rollups GROUP BY width"
            return dict(self._db.execute(query).fetchall())

    def close(self) -> None:
        with self._lock:
            self._db.close()
