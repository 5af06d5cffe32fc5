"""The embedded store: one SQLite file in WAL mode with synchronous=FULL."""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from gateway.errors import ConfigError, StorageFull, StoreBehind
from gateway.model import (
    AddMetricSamples,
    Alarm,
    Change,
    DeleteServices,
    Maintenance,
    MetricSample,
    ReplaceTopology,
    ResourceRef,
    Service,
    Snapshot,
    Topology,
    UpsertAlarms,
    UpsertMaintenance,
    UpsertServices,
)
from gateway.model.snapshot import change_kind
from gateway.store.base import Committed
from gateway.store.highwater import HighWater

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, revision INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS metric_samples (
    resource BLOB NOT NULL, metric TEXT NOT NULL, at TEXT NOT NULL, value REAL NOT NULL,
    revision INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS revisions (
    revision INTEGER PRIMARY KEY, kind TEXT NOT NULL, principal TEXT NOT NULL,
    committed_at TEXT NOT NULL
);
"""

_encode = msgspec.json.Encoder().encode
log = logging.getLogger("demarc.store")
CORRUPT = (
    "the database {path} is damaged: restore it from a backup (or move it away to start "
    "empty, accepting the loss with --accept-data-loss)"
)
BEHIND = (
    "the database {path} is at revision {found} but revision {mark} was acknowledged (see "
    "{mark_path}): acknowledged data is lost. Restore the database from a backup, or start "
    "with --accept-data-loss to serve what is left"
)
FULL = (
    "the gateway's storage is full: nothing of this request was stored; retry once space is freed"
)


class SqliteBackend:
    """Blocking SQLite access; the Store calls it from worker threads, one at a time."""

    def __init__(self, path: Path, *, accept_loss: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._accept_loss = accept_loss
        self._mark = HighWater(path.with_name(path.name + ".acked"))
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before it is acknowledged, even across a power loss
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # a damaged page found now, not by a failing write hours later
            problems = [r[0] for r in self._db.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise ConfigError(f"{CORRUPT.format(path=path)}: {'; '.join(problems)}")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if _disk_full(exc):
                message = f"the disk holding {path} is full: free space, then start again"
                raise ConfigError(message) from None
            raise ConfigError(f"{CORRUPT.format(path=path)}: {exc}") from None
        except ConfigError:
            self._db.close()
            raise

    def load(self) -> Snapshot:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='revision'").fetchone()
            revision = int(row[0]) if row else 0
            kinds = dict(
                self._db.execute("SELECT kind, MAX(revision) FROM revisions GROUP BY kind")
            )
            rows = self._db.execute("SELECT kind, body FROM objects").fetchall()
        revision = self._check_mark(revision)
        topology = Topology()
        services: dict[str, Service] = {}
        alarms: dict[str, Alarm] = {}
        maintenance: dict[str, Maintenance] = {}
        metrics: dict[tuple[ResourceRef, str], MetricSample] = {}
        for kind, body in rows:
            if kind == "topology":
                topology = msgspec.json.decode(body, type=Topology)
            elif kind == "service":
                s = msgspec.json.decode(body, type=Service)
                services[s.service_id] = s
            elif kind == "alarm":
                a = msgspec.json.decode(body, type=Alarm)
                alarms[a.alarm_id] = a
            elif kind == "maintenance":
                m = msgspec.json.decode(body, type=Maintenance)
                maintenance[m.maintenance_id] = m
            elif kind == "metric":
                sample = msgspec.json.decode(body, type=MetricSample)
                metrics[(sample.resource, sample.metric)] = sample
        return Snapshot(
            revision=revision,
            topology=topology,
            services=services,
            alarms=alarms,
            metrics=metrics,
            maintenance=maintenance,
            kind_revisions=kinds,
        )

    def persist(self, batch: Sequence[Committed], snapshot: Snapshot) -> None:
        now = datetime.now(UTC).isoformat()
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for item in batch:
                    for sql, params in _statements(item.change, item.revision, snapshot):
                        cur.execute(sql, params)
                    cur.execute(
                        "INSERT INTO revisions VALUES (?, ?, ?, ?)",
                        (item.revision, change_kind(item.change).value, item.principal, now),
                    )
                cur.execute(
                    "INSERT INTO meta VALUES ('revision', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (str(snapshot.revision),),
                )
                cur.execute("COMMIT")
                self._mark.advance(snapshot.revision)
            except BaseException as exc:
                # after SQLITE_FULL SQLite has already rolled back: a second ROLLBACK would fail
                # and hide the cause under "cannot rollback - no transaction is active"
                if self._db.in_transaction:
                    cur.execute("ROLLBACK")
                if _disk_full(exc):
                    log.error("storage full writing %s: %s", self.path, exc)
                    raise StorageFull(FULL) from exc
                raise

    def _check_mark(self, revision: int) -> int:
        """The revision to go on from: refuse to start below the acknowledged mark, unless the
        operator accepts the loss; then numbering resumes above the mark, never reusing one."""
        mark = self._mark.read()
        if mark is None or revision >= mark:
            self._mark.advance(revision)
            return revision
        message = BEHIND.format(
            path=self.path, found=revision, mark=mark, mark_path=self._mark.path
        )
        if not self._accept_loss:
            raise StoreBehind(message)
        log.warning("accepted by --accept-data-loss: %s", message)
        return mark

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._mark.close()


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


_UPSERT = (
    "INSERT INTO objects VALUES (?, ?, ?, ?) "
    "ON CONFLICT(kind, id) DO UPDATE SET body=excluded.body, revision=excluded.revision"
)


def _statements(
    change: Change, revision: int, final: Snapshot
) -> Iterator[tuple[str, tuple[object, ...]]]:
    match change:
        case ReplaceTopology(topology=topology):
            yield _UPSERT, ("topology", "current", _encode(topology), revision)
        case UpsertServices(services=services):
            for s in services:
                yield _UPSERT, ("service", s.service_id, _encode(s), revision)
        case DeleteServices(service_ids=ids):
            for sid in ids:
                yield "DELETE FROM objects WHERE kind='service' AND id=?", (sid,)
        case UpsertAlarms(alarms=alarms):
            for a in alarms:
                yield _UPSERT, ("alarm", a.alarm_id, _encode(a), revision)
        case UpsertMaintenance(windows=windows):
            for w in windows:
                yield _UPSERT, ("maintenance", w.maintenance_id, _encode(w), revision)
        case AddMetricSamples(samples=samples):
            for sample in samples:
                resource = _encode(sample.resource)
                yield (
                    "INSERT INTO metric_samples VALUES (?, ?, ?, ?, ?)",
                    (resource, sample.metric, sample.at.isoformat(), sample.value, revision),
                )
                # the latest per (resource, metric) as the snapshot decided it: a sample that
                # arrives late must not replace a newer one
                latest = final.metrics[(sample.resource, sample.metric)]
                key = resource.decode() + "|" + sample.metric
                yield _UPSERT, ("metric", key, _encode(latest), revision)
