"""The change feed's durable tables: events per audience, the items they were diffed against."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS push_events (
    audience TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, type TEXT NOT NULL,
    view TEXT NOT NULL, revision INTEGER NOT NULL, policy_version TEXT NOT NULL,
    body BLOB NOT NULL, PRIMARY KEY (audience, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS push_events_by_time ON push_events (at);
CREATE TABLE IF NOT EXISTS push_items (
    audience TEXT NOT NULL, view TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (audience, view, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS push_feeds (
    audience TEXT PRIMARY KEY, last INTEGER NOT NULL, floor INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event to append; ``body`` is its envelope, which names its own sequence number."""

    seq: int
    at: str
    type: str
    view: str
    revision: int
    policy_version: str
    body: bytes


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    type: str
    view: str
    revision: int
    policy_version: str
    body: bytes


class EventDb:
    """Blocking access on its own connection to the gateway's SQLite file; callers on the
    event loop use asyncio.to_thread. One writer (the feed) appends; readers page."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an event served is an event kept
        self._db.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    cur.execute("ROLLBACK")
                raise

    def read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- the feed -----------------------------------------------------------------------------

    def positions(self) -> dict[str, tuple[int, int]]:
        """audience → (floor, last): events after ``floor`` up to ``last`` are kept."""
        rows = self.read("SELECT audience, floor, last FROM push_feeds")
        return {audience: (floor, last) for audience, floor, last in rows}

    def items(self, audience: str) -> dict[tuple[str, str], bytes]:
        """The items the audience's feed last saw, (view, id) → the item's bytes."""
        rows = self.read("SELECT view, id, body FROM push_items WHERE audience=?", (audience,))
        return {(view, ident): body for view, ident, body in rows}

    def append(
        self,
        audience: str,
        events: Sequence[NewEvent],
        upserts: Sequence[tuple[str, str, bytes]],
        deletes: Sequence[tuple[str, str]],
    ) -> None:
        """Append ``events`` and move the audience's item state on, in one durable transaction."""
        self.append_many([(audience, events, upserts, deletes)])

    def append_many(
        self,
        appends: Sequence[
            tuple[
                str, Sequence[NewEvent], Sequence[tuple[str, str, bytes]], Sequence[tuple[str, str]]
            ]
        ],
    ) -> None:
        """Several audiences' appends in one durable transaction: all of them or none."""
        with self.transaction() as cur:
            for audience, events, upserts, deletes in appends:
                _append(cur, audience, events, upserts, deletes)

    def events_after(self, audience: str, after: int, limit: int) -> list[StoredEvent]:
        rows = self.read(
            "SELECT seq, type, view, revision, policy_version, body FROM push_events "
            "WHERE audience=? AND seq>? ORDER BY seq LIMIT ?",
            (audience, after, limit),
        )
        return [StoredEvent(*row) for row in rows]

    def prune(self, before: str, keep: int, hold: dict[str, int]) -> int:
        """Delete events older than ``before`` (ISO time) and beyond the newest ``keep`` of
        each audience, but none after ``hold[audience]`` (what an active webhook subscription
        has still to deliver); each audience's floor is raised to its last deleted event."""
        deleted = 0
        with self.transaction() as cur:
            feeds = cur.execute("SELECT audience, floor, last FROM push_feeds").fetchall()
            for audience, floor, last in feeds:
                (old,) = cur.execute(
                    "SELECT COALESCE(MAX(seq), 0) FROM push_events WHERE audience=? AND at<?",
                    (audience, before),
                ).fetchone()
                upto = min(max(old, last - keep), hold.get(audience, last))
                if upto <= floor:
                    continue
                deleted += cur.execute(
                    "DELETE FROM push_events WHERE audience=? AND seq<=?", (audience, upto)
                ).rowcount
                cur.execute("UPDATE push_feeds SET floor=? WHERE audience=?", (upto, audience))
        return deleted

    def count(self) -> int:
        (n,) = self.read("SELECT COUNT(*) FROM push_events")[0]
        return int(n)


def _append(
    cur: sqlite3.Cursor,
    audience: str,
    events: Sequence[NewEvent],
    upserts: Sequence[tuple[str, str, bytes]],
    deletes: Sequence[tuple[str, str]],
) -> None:
    cur.executemany(
        "INSERT INTO push_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (audience, e.seq, e.at, e.type, e.view, e.revision, e.policy_version, e.body)
            for e in events
        ],
    )
    cur.executemany(
        "INSERT INTO push_items VALUES (?, ?, ?, ?) ON CONFLICT(audience, view, id) "
        "DO UPDATE SET body=excluded.body",
        [(audience, view, ident, body) for view, ident, body in upserts],
    )
    cur.executemany(
        "DELETE FROM push_items WHERE audience=? AND view=? AND id=?",
        [(audience, view, ident) for view, ident in deletes],
    )
    if events:
        cur.execute(
            "INSERT INTO push_feeds VALUES (?, ?, 0) ON CONFLICT(audience) "
            "DO UPDATE SET last=excluded.last",
            (audience, events[-1].seq),
        )
