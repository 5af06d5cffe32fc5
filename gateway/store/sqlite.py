"""The embedded store: one SQLite file in WAL mode with synchronous=FULL."""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec

from gateway.errors import ConfigError, StorageFull, StoreBehind
from gateway.model import (
    AddMaintenanceUpdates,
    AddMetricSamples,
    Alarm,
    Change,
    DeleteServices,
    IncidentRecord,
    Maintenance,
    MetricSample,
    PruneAlarms,
    ReplaceTopology,
    Service,
    Snapshot,
    Topology,
    UpsertAlarms,
    UpsertIncidents,
    UpsertMaintenance,
    UpsertServices,
)
from gateway.model.snapshot import change_kind
from gateway.store import rollups
from gateway.store.base import Committed
from gateway.store.highwater import HighWater

log = logging.getLogger("demarc.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, revision INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS service_days (
    service_id TEXT NOT NULL, day TEXT NOT NULL, spans BLOB NOT NULL,
    PRIMARY KEY (service_id, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS revisions (
    revision INTEGER PRIMARY KEY, kind TEXT NOT NULL, principal TEXT NOT NULL,
    committed_at TEXT NOT NULL
);
"""

_encode = msgspec.json.Encoder().encode
# typed decoders made once: at 100k rows, measurably faster than msgspec.json.decode(type=)
# per row, and than joining a table's rows into one array (bench/retention.py measures load)
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "service": msgspec.json.Decoder(Service),
    "alarm": msgspec.json.Decoder(Alarm),
    "maintenance": msgspec.json.Decoder(Maintenance),
    "metric": msgspec.json.Decoder(MetricSample),
    "incident": msgspec.json.Decoder(IncidentRecord),
}
_kinds_decoder = msgspec.json.Decoder(dict[str, int])
#: one day of a service's availability: (start s, end s, state) from the day's UTC midnight
Spans = tuple[tuple[int, int, str], ...]
_spans_decoder = msgspec.json.Decoder(Spans)

Clock = Callable[[], datetime]
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
    """Blocking SQLite access; the Store calls it from worker threads, one at a time.

    The file holds the current state only (one row per object, the latest sample per metric),
    the per-kind revisions in ``meta``, and a commit log that retention trims: opening it
    reads the state, never the history.
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Clock = lambda: datetime.now(UTC),
        accept_loss: bool = False,
    ) -> None:
        self.path = path
        self._clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._accept_loss = accept_loss
        self._mark = HighWater(path.with_name(path.name + ".acked"))
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            # before any table exists: freed pages can then be returned to the file system
            self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before it is acknowledged, even across a power loss
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # a damaged page found now, not by a failing write hours later
            problems = [r[0] for r in self._db.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise ConfigError(f"{CORRUPT.format(path=path)}: {'; '.join(problems)}")
            self._db.executescript(SCHEMA + rollups.SCHEMA)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            if _disk_full(exc):
                message = f"the disk holding {path} is full: free space, then start again"
                raise ConfigError(message) from None
            raise ConfigError(f"{CORRUPT.format(path=path)}: {exc}") from None
        except ConfigError:
            self._db.close()
            raise

    def _migrate(self) -> None:
        """Bring a file written by an older Demarc to this layout; idempotent."""
        db = self._db
        # every sample was written and none was ever read; the latest per metric is in objects
        db.execute("DROP TABLE IF EXISTS metric_samples")
        if db.execute("SELECT 1 FROM meta WHERE key='kinds'").fetchone() is None:
            kinds = dict(db.execute("SELECT kind, MAX(revision) FROM revisions GROUP BY kind"))
            db.execute("INSERT INTO meta VALUES ('kinds', ?)", (_encode(kinds).decode(),))
        if db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            # an older file: the mode only changes with a full VACUUM, once
            log.info("converting %s to incremental auto-vacuum (one-time VACUUM)", self.path)
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")
            db.execute("VACUUM")

    def load(self) -> Snapshot:
        with self._lock:
            meta = dict(self._db.execute("SELECT key, value FROM meta"))
            # one query per kind, in key order (the primary key's index), bodies kept as bytes
            bodies = {
                kind: [
                    row[0]
                    for row in self._db.execute("SELECT body FROM objects WHERE kind=?", (kind,))
                ]
                for kind in ("topology", *_DECODERS)
            }
        topology = (
            msgspec.json.decode(bodies["topology"][0], type=Topology)
            if bodies["topology"]
            else Topology()
        )
        services: list[Service] = _decode_all("service", bodies["service"])
        alarms: list[Alarm] = _decode_all("alarm", bodies["alarm"])
        windows: list[Maintenance] = _decode_all("maintenance", bodies["maintenance"])
        samples: list[MetricSample] = _decode_all("metric", bodies["metric"])
        incidents: list[IncidentRecord] = _decode_all("incident", bodies["incident"])
        return Snapshot(
            revision=self._check_mark(int(meta.get("revision", 0))),
            topology=topology,
            services={s.service_id: s for s in services},
            alarms={a.alarm_id: a for a in alarms},
            metrics={(s.resource, s.metric): s for s in samples},
            maintenance={m.maintenance_id: m for m in windows},
            incidents={i.incident_id: i for i in incidents},
            kind_revisions=_kinds_decoder.decode(meta.get("kinds", "{}")),
        )

    def persist(self, batch: Sequence[Committed], snapshot: Snapshot) -> None:
        now = self._clock().astimezone(UTC).isoformat()
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
                cur.executemany(
                    _SET_META,
                    (
                        ("revision", str(snapshot.revision)),
                        ("kinds", _encode(dict(snapshot.kind_revisions)).decode()),
                    ),
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

    def trim_log(self, before: datetime, vacuum_pages: int = 0) -> int:
        """Drop commit-log entries committed before ``before``, then return up to
        ``vacuum_pages`` free pages (0: all) to the file system. Returns the entries dropped."""
        cutoff = before.astimezone(UTC).isoformat()
        with self._lock:
            # the log is in commit order, so its old end is a revision range (primary key)
            (last,) = self._db.execute(
                "SELECT MAX(revision) FROM revisions WHERE committed_at < ?", (cutoff,)
            ).fetchone()
            dropped = 0
            if last is not None:
                dropped = self._db.execute(
                    "DELETE FROM revisions WHERE revision <= ?", (last,)
                ).rowcount
            # executescript steps the pragma to the end; execute() frees one page per step
            self._db.executescript(f"PRAGMA incremental_vacuum({int(vacuum_pages)})")
        return dropped

    def prune_rollups(self, before: dict[int, datetime]) -> int:
        """Drop performance buckets older than ``before[width]`` (retention)."""
        with self._lock:
            return rollups.prune(self._db, before)

    def load_days(self) -> dict[str, dict[date, Spans]]:
        """Every settled day of availability: service id → UTC day → spans."""
        out: dict[str, dict[date, Spans]] = {}
        with self._lock:
            rows = self._db.execute("SELECT service_id, day, spans FROM service_days").fetchall()
        for service_id, day, spans in rows:
            out.setdefault(service_id, {})[date.fromisoformat(day)] = _spans_decoder.decode(spans)
        return out

    def save_days(self, rows: Sequence[tuple[str, date, Spans]]) -> None:
        """Write settled days (replacing what was there) in one durable transaction."""
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.executemany(
                    "INSERT INTO service_days VALUES (?, ?, ?) ON CONFLICT(service_id, day) "
                    "DO UPDATE SET spans=excluded.spans",
                    ((sid, day.isoformat(), _encode(spans)) for sid, day, spans in rows),
                )
                cur.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    cur.execute("ROLLBACK")
                if _disk_full(exc):
                    raise StorageFull(FULL) from exc
                raise

    def drop_days(self, before: date) -> int:
        """Forget settled days before ``before``; returns how many rows went."""
        with self._lock:
            return self._db.execute(
                "DELETE FROM service_days WHERE day < ?", (before.isoformat(),)
            ).rowcount

    def row_counts(self) -> dict[str, int]:
        """Rows per table and per kind of object: what retention keeps bounded."""
        with self._lock:
            counts = {f"objects.{k}": n for k, n in self._db.execute(_COUNT_KINDS)}
            (counts["revisions"],) = self._db.execute("SELECT COUNT(*) FROM revisions").fetchone()
            (counts["service_days"],) = self._db.execute(
                "SELECT COUNT(*) FROM service_days"
            ).fetchone()
            (counts["metric_rollups"],) = self._db.execute(
                "SELECT COUNT(*) FROM metric_rollups"
            ).fetchone()
        return counts

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._mark.close()


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC


def _decode_all(kind: str, bodies: list[bytes]) -> list[Any]:
    decode = _DECODERS[kind].decode
    return [decode(body) for body in bodies]


_COUNT_KINDS = "SELECT kind, COUNT(*) FROM objects GROUP BY kind"
_SET_META = "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value"
_UPSERT = (
    "INSERT INTO objects VALUES (?, ?, ?, ?) "
    "ON CONFLICT(kind, id) DO UPDATE SET body=excluded.body, revision=excluded.revision"
)
_DELETE = "DELETE FROM objects WHERE kind=? AND id=?"


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
                yield _DELETE, ("service", sid)
        case UpsertAlarms(alarms=alarms):
            for a in alarms:
                yield _UPSERT, ("alarm", a.alarm_id, _encode(a), revision)
        case PruneAlarms(alarm_ids=ids):
            # only what the batch's final snapshot no longer has: an alarm the prune kept (it
            # was raised again) or a later change of this batch re-added keeps its row
            for aid in ids:
                if aid not in final.alarms:
                    yield _DELETE, ("alarm", aid)
        case UpsertMaintenance(windows=windows):
            # as the final snapshot has it: merged with the updates already there
            for mid in dict.fromkeys(w.maintenance_id for w in windows):
                body = _encode(final.maintenance[mid])
                yield _UPSERT, ("maintenance", mid, body, revision)
        case AddMaintenanceUpdates(updates=updates):
            for mid in dict.fromkeys(m for m, _ in updates):
                if (window := final.maintenance.get(mid)) is not None:
                    yield _UPSERT, ("maintenance", mid, _encode(window), revision)
        case UpsertIncidents(incidents=patches):
            for iid in dict.fromkeys(p.incident_id for p in patches):
                body = _encode(final.incidents[iid])
                yield _UPSERT, ("incident", iid, body, revision)
        case AddMetricSamples(samples=samples):
            # only the latest per (resource, metric) is ever read: one row each, upserted, as
            # the snapshot decided it (a sample that arrives late does not replace a newer one)
            for key in dict.fromkeys((s.resource, s.metric) for s in samples):
                latest = final.metrics[key]
                row_id = _encode(key[0]).decode() + "|" + key[1]
                yield _UPSERT, ("metric", row_id, _encode(latest), revision)
            # every sample on an interconnect also counts in its 5-minute and hourly buckets
            yield from rollups.statements(samples, final)
