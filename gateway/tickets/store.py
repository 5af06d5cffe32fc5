"""Tickets in the gateway's SQLite file: one row each, a change sequence, audited in one commit.

Every change is one transaction on a connection of this store's own (WAL, synchronous=FULL):
the ticket read, checked and written, its sequence number taken, and the audit event appended
to ``audit_events``, together; a change is acknowledged only once that commit is durable.
"""

from __future__ import annotations

import errno
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from gateway.errors import StorageFull
from gateway.policy.records import Event
from gateway.policy.store import INSERT_EVENT, TRIGGERS
from gateway.policy.store import SCHEMA as POLICY_SCHEMA
from gateway.tickets.model import TERMINAL, Ticket, TicketRefused

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY, audience TEXT NOT NULL, status TEXT NOT NULL,
    seq INTEGER NOT NULL UNIQUE, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS tickets_by_audience ON tickets (audience, created_at, id);
CREATE TABLE IF NOT EXISTS ticket_seq (
    id INTEGER PRIMARY KEY CHECK (id = 0), value INTEGER NOT NULL
);
INSERT OR IGNORE INTO ticket_seq VALUES (0, 0);
"""
_TERMINAL = tuple(sorted(s.value for s in TERMINAL))
_OPEN_COUNT = "SELECT COUNT(*) FROM tickets WHERE audience=? AND status NOT IN ({})".format(
    ", ".join("?" * len(_TERMINAL))
)
_INSERT = "INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?, ?)"
_UPDATE = "UPDATE tickets SET status=?, seq=?, updated_at=?, body=? WHERE id=?"
_BODY = "SELECT body FROM tickets WHERE id=?"
_NEXT = "UPDATE ticket_seq SET value = value + 1 WHERE id = 0 RETURNING value"
_OF = "SELECT body FROM tickets WHERE audience=? ORDER BY created_at, id"
_PRUNE = "DELETE FROM tickets WHERE updated_at < ? AND status IN ({})".format(
    ", ".join("?" * len(_TERMINAL))
)
FULL = "the gateway's storage is full: the ticket was not changed; retry once space is freed"

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Ticket).decode

Mutation = Callable[[Ticket, int], tuple[Ticket, Event]]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TicketDb:
    """Blocking; callers on the event loop use asyncio.to_thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # durable before it is acknowledged
        # the audit table is the policy store's; made here too when this store opens first
        self._db.executescript(POLICY_SCHEMA + TRIGGERS + SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    cur.execute("ROLLBACK")
                if _disk_full(exc):
                    raise StorageFull(FULL) from exc
                raise

    def create(self, make: Callable[[int], tuple[Ticket, Event]], max_open: int) -> Ticket:
        """Store the ticket ``make`` builds with the next sequence number, unless its audience
        already has ``max_open`` tickets that are not closed, cancelled or rejected."""
        with self._transaction() as cur:
            seq = cur.execute(_NEXT).fetchone()[0]
            ticket, event = make(seq)
            (open_now,) = cur.execute(_OPEN_COUNT, (ticket.audience, *_TERMINAL)).fetchone()
            if open_now >= max_open:
                raise TicketRefused(
                    f"this principal has {open_now} open tickets, the most it may have: close "
                    "or cancel one first"
                )
            cur.execute(_INSERT, _row(ticket))
            cur.execute(INSERT_EVENT, event.row())
        return ticket

    def change(self, ticket_id: str, mutate: Mutation) -> Ticket | None:
        """Apply ``mutate`` to the ticket as stored now (None if there is none); it returns the
        new ticket and the audit event, or raises TicketRefused and nothing is written."""
        with self._transaction() as cur:
            row = cur.execute(_BODY, (ticket_id,)).fetchone()
            if row is None:
                return None
            seq = cur.execute(_NEXT).fetchone()[0]
            ticket, event = mutate(_decode(row[0]), seq)
            cur.execute(
                _UPDATE,
                (ticket.status.value, ticket.seq, _iso(ticket.updated_at), _encode(ticket),
                 ticket.ticket_id),
            )  # fmt: skip
            cur.execute(INSERT_EVENT, event.row())
        return ticket

    def get(self, ticket_id: str) -> Ticket | None:
        with self._lock:
            row = self._db.execute(_BODY, (ticket_id,)).fetchone()
        return None if row is None else _decode(row[0])

    def of(self, audience: str) -> list[Ticket]:
        """Every ticket of one party, oldest first."""
        with self._lock:
            rows = self._db.execute(_OF, (audience,)).fetchall()
        return [_decode(r[0]) for r in rows]

    def feed(
        self, after: int, limit: int, audience: str | None = None, status: str | None = None
    ) -> list[Ticket]:
        """Tickets whose last change is after sequence number ``after``, in change order."""
        where, params = ["seq > ?"], [after]
        for column, value in (("audience", audience), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)  # type: ignore[arg-type]
        sql = f"SELECT body FROM tickets WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        return [_decode(r[0]) for r in rows]

    def prune(self, before: datetime) -> int:
        """Forget closed, cancelled and rejected tickets last changed before ``before`` (their
        audit events stay)."""
        with self._transaction() as cur:
            return cur.execute(_PRUNE, (_iso(before), *_TERMINAL)).rowcount

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _row(ticket: Ticket) -> tuple[object, ...]:
    return (
        ticket.ticket_id,
        ticket.audience,
        ticket.status.value,
        ticket.seq,
        _iso(ticket.created_at),
        _iso(ticket.updated_at),
        _encode(ticket),
    )


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno == errno.ENOSPC
