"""Policy versions, drafts, approvals and the audit trail, kept in the gateway's SQLite file."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from gateway.policy.audittables import AuditTables
from gateway.policy.records import Approval, DraftRecord, Event, NewVersion, VersionRecord, now_iso

__all__ = ["Approval", "DraftRecord", "Event", "NewVersion", "PolicyDb", "VersionRecord", "now_iso"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS policy_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, audience TEXT NOT NULL, number INTEGER NOT NULL,
    digest TEXT NOT NULL, text TEXT NOT NULL, author TEXT NOT NULL, approver TEXT,
    activated_by TEXT NOT NULL, activated_at TEXT NOT NULL, origin TEXT NOT NULL,
    draft_id INTEGER, widening INTEGER NOT NULL, UNIQUE (audience, number)
);
CREATE TABLE IF NOT EXISTS policy_drafts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, audience TEXT NOT NULL, text TEXT NOT NULL,
    digest TEXT NOT NULL, authors TEXT NOT NULL, base INTEGER, origin TEXT NOT NULL,
    source TEXT, state TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS policy_approvals (
    draft_id INTEGER NOT NULL, digest TEXT NOT NULL, base INTEGER NOT NULL,
    approver TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (draft_id, digest, base, approver)
);
CREATE TABLE IF NOT EXISTS policy_files (path TEXT PRIMARY KEY, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL,
    principal TEXT NOT NULL, audience TEXT, view TEXT, revision INTEGER, policy_version TEXT,
    digest TEXT, detail TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_principal ON audit_events (principal, id);
CREATE INDEX IF NOT EXISTS audit_by_kind ON audit_events (kind, id);
CREATE INDEX IF NOT EXISTS audit_by_audience ON audit_events (audience, id);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_events (at);
CREATE TABLE IF NOT EXISTS audit_rotations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, first_id INTEGER NOT NULL,
    upto_id INTEGER NOT NULL, rows INTEGER NOT NULL, archive TEXT NOT NULL, sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_rotations_upto ON audit_rotations (upto_id);
CREATE TABLE IF NOT EXISTS disclosure_hours (
    principal TEXT NOT NULL, view TEXT NOT NULL, hour TEXT NOT NULL, count INTEGER NOT NULL,
    first_at TEXT NOT NULL, last_at TEXT NOT NULL, renders TEXT NOT NULL,
    PRIMARY KEY (principal, view, hour)
);
CREATE INDEX IF NOT EXISTS disclosure_hours_by_hour ON disclosure_hours (hour);
"""

# history and audit are append-only in the database itself, not only by the code's good manners
_APPEND_ONLY = ("policy_versions", "policy_approvals", "audit_events", "audit_rotations")
TRIGGERS = "".join(
    f"CREATE TRIGGER IF NOT EXISTS {t}_no_{op} BEFORE {op.upper()} ON {t} "
    f"BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END;\n"
    for t in _APPEND_ONLY
    for op in ("update", "delete")
    if (t, op) != ("audit_events", "delete")
) + (
    # the one exception: disclosure records that a recorded rotation summarised and archived
    # (gateway/policy/rotation.py); policy, leak and drop events can never be deleted
    "DROP TRIGGER IF EXISTS audit_events_no_delete;\n"
    "CREATE TRIGGER IF NOT EXISTS audit_events_rotated_only BEFORE DELETE ON audit_events "
    "WHEN OLD.kind <> 'disclosure' "
    "OR OLD.id > (SELECT COALESCE(MAX(upto_id), 0) FROM audit_rotations) "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only; disclosure records leave only "
    "through a recorded rotation'); END;\n"
)


_AUDIT_COLS = "id, at, kind, principal, audience, view, revision, policy_version, digest, detail"
_INSERT_EVENT = (
    "INSERT INTO audit_events (at, kind, principal, audience, view, revision, policy_version, "
    "digest, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: for a store of the same file that records its own events in its own transactions (tickets)
INSERT_EVENT = _INSERT_EVENT
_VERSION_COLS = (
    "id, audience, number, digest, text, author, approver, activated_by, activated_at, origin, "
    "draft_id, widening"
)
_DRAFT_COLS = (
    "id, audience, text, digest, authors, base, origin, source, state, created_at, updated_at"
)


def _version(row: Sequence[Any]) -> VersionRecord:
    values = list(row)
    values[11] = bool(values[11])
    return VersionRecord(*values)


def _draft(row: Sequence[Any]) -> DraftRecord:
    values = list(row)
    values[4] = tuple(json.loads(values[4]))
    return DraftRecord(*values)


class PolicyDb(AuditTables):
    """Blocking access on its own connection; callers on the event loop use asyncio.to_thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # recorded before it is acknowledged
        self._db.executescript(SCHEMA + TRIGGERS)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- versions ----------------------------------------------------------------------------

    def has_versions(self) -> bool:
        return bool(self._read("SELECT 1 FROM policy_versions LIMIT 1"))

    def active_versions(self) -> dict[str, VersionRecord]:
        rows = self._read(
            f"SELECT {_VERSION_COLS} FROM policy_versions v WHERE number = "
            "(SELECT MAX(number) FROM policy_versions w WHERE w.audience = v.audience)"
        )
        return {r[1]: _version(r) for r in rows}

    def active(self, audience: str) -> VersionRecord | None:
        rows = self._read(
            f"SELECT {_VERSION_COLS} FROM policy_versions WHERE audience=? "
            "ORDER BY number DESC LIMIT 1",
            (audience,),
        )
        return _version(rows[0]) if rows else None

    def history(self, audience: str | None = None) -> list[VersionRecord]:
        where, params = ("WHERE audience=?", (audience,)) if audience else ("", ())
        rows = self._read(
            f"SELECT {_VERSION_COLS} FROM policy_versions {where} ORDER BY id", params
        )
        return [_version(r) for r in rows]

    def version_number(self, version_id: int | None) -> int | None:
        """The number of the version with this row id (a draft's base), or None."""
        rows = self._read("SELECT number FROM policy_versions WHERE id=?", (version_id,))
        return int(rows[0][0]) if rows else None

    def version(self, audience: str, number: int) -> VersionRecord | None:
        rows = self._read(
            f"SELECT {_VERSION_COLS} FROM policy_versions WHERE audience=? AND number=?",
            (audience, number),
        )
        return _version(rows[0]) if rows else None

    def add_versions(
        self, versions: Sequence[NewVersion], events: Sequence[Event], close_drafts: Sequence[int]
    ) -> list[VersionRecord]:
        """New active versions, their audit events and the drafts they came from: all or none."""
        with self._transaction() as cur:
            ids = []
            for v in versions:
                (top,) = cur.execute(
                    "SELECT COALESCE(MAX(number), 0) FROM policy_versions WHERE audience=?",
                    (v.audience,),
                ).fetchone()
                cur.execute(
                    "INSERT INTO policy_versions (audience, number, digest, text, author, "
                    "approver, activated_by, activated_at, origin, draft_id, widening) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        v.audience,
                        top + 1,
                        v.digest,
                        v.text,
                        v.author,
                        v.approver,
                        v.activated_by,
                        now_iso(),
                        v.origin,
                        v.draft_id,
                        int(v.widening),
                    ),
                )
                ids.append(cur.lastrowid)
            for draft_id in close_drafts:
                cur.execute(
                    "UPDATE policy_drafts SET state='activated', updated_at=? WHERE id=?",
                    (now_iso(), draft_id),
                )
            cur.executemany(_INSERT_EVENT, [e.row() for e in events])
            rows = [
                cur.execute(
                    f"SELECT {_VERSION_COLS} FROM policy_versions WHERE id=?", (i,)
                ).fetchone()
                for i in ids
            ]
        return [_version(r) for r in rows]

    # -- drafts and approvals ----------------------------------------------------------------

    def draft(self, draft_id: int) -> DraftRecord | None:
        rows = self._read(f"SELECT {_DRAFT_COLS} FROM policy_drafts WHERE id=?", (draft_id,))
        return _draft(rows[0]) if rows else None

    def drafts(self, audience: str | None = None, state: str = "open") -> list[DraftRecord]:
        sql = f"SELECT {_DRAFT_COLS} FROM policy_drafts WHERE state=?"
        params: tuple[object, ...] = (state,)
        if audience is not None:
            sql, params = sql + " AND audience=?", (*params, audience)
        return [_draft(r) for r in self._read(sql + " ORDER BY id", params)]

    def save_draft(
        self, draft: DraftRecord | None, values: Mapping[str, Any], event: Event
    ) -> DraftRecord:
        """Create a draft (``draft`` None) or update it, with its audit event, in one commit."""
        now = now_iso()
        with self._transaction() as cur:
            authors = json.dumps(list(values["authors"]))
            if draft is None:
                cur.execute(
                    "INSERT INTO policy_drafts (audience, text, digest, authors, base, origin, "
                    "source, state, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                    (
                        values["audience"],
                        values["text"],
                        values["digest"],
                        authors,
                        values["base"],
                        values["origin"],
                        values.get("source"),
                        now,
                        now,
                    ),
                )
                draft_id = cur.lastrowid
            else:
                draft_id = draft.id
                cur.execute(
                    "UPDATE policy_drafts SET text=?, digest=?, authors=?, base=?, updated_at=? "
                    "WHERE id=?",
                    (values["text"], values["digest"], authors, values["base"], now, draft_id),
                )
            row = cur.execute(
                f"SELECT {_DRAFT_COLS} FROM policy_drafts WHERE id=?", (draft_id,)
            ).fetchone()
            saved = _draft(row)
            detail = {**(event.detail or {}), "draft": saved.id}
            cur.execute(_INSERT_EVENT, replace(event, detail=detail).row())
        return saved

    def approve(self, draft: DraftRecord, approver: str, event: Event) -> None:
        with self._transaction() as cur:
            cur.execute(
                "INSERT OR IGNORE INTO policy_approvals VALUES (?, ?, ?, ?, ?)",
                (draft.id, draft.digest, draft.base or 0, approver, now_iso()),
            )
            cur.execute(_INSERT_EVENT, event.row())

    def withdraw(self, draft: DraftRecord, event: Event) -> None:
        """Close an open draft without activating it; its text and history stay."""
        with self._transaction() as cur:
            cur.execute(
                "UPDATE policy_drafts SET state='withdrawn', updated_at=? "
                "WHERE id=? AND state='open'",
                (now_iso(), draft.id),
            )
            cur.execute(_INSERT_EVENT, event.row())

    def approvals(self, draft_id: int) -> list[Approval]:
        rows = self._read(
            "SELECT draft_id, digest, base, approver, at FROM policy_approvals "
            "WHERE draft_id=? ORDER BY at",
            (draft_id,),
        )
        return [Approval(*r) for r in rows]

    # -- files and audit ---------------------------------------------------------------------

    def file_digest(self, path: str) -> str | None:
        rows = self._read("SELECT digest FROM policy_files WHERE path=?", (path,))
        return str(rows[0][0]) if rows else None

    def set_file_digest(self, path: str, digest: str) -> None:
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO policy_files VALUES (?, ?) "
                "ON CONFLICT(path) DO UPDATE SET digest=excluded.digest",
                (path, digest),
            )

    def append_events(self, events: Sequence[Event]) -> None:
        if events:
            with self._transaction() as cur:
                cur.executemany(_INSERT_EVENT, [e.row() for e in events])

    def append_rows(self, rows: Sequence[tuple[object, ...]]) -> None:
        """Audit rows already in column order (the disclosure recorder's batches)."""
        if rows:
            with self._transaction() as cur:
                cur.executemany(_INSERT_EVENT, rows)

    def events(
        self,
        equal: Mapping[str, str],
        *,
        since: str | None = None,
        until: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Audit events newest first, as column → value: those whose columns in ``equal``
        (principal, kind, audience) match, at or after ``since``, before ``until`` (ISO times)
        and with an id below ``before_id`` (a page cursor)."""
        clauses: list[str] = []
        params: list[object] = []
        for column, value in equal.items():
            if column not in ("principal", "kind", "audience"):
                raise KeyError(f"audit events are not filtered by {column!r}")
            clauses.append(f"{column} = ?")
            params.append(value)
        bounds: tuple[tuple[str, object], ...] = (
            ("at >= ?", since),
            ("at < ?", until),
            ("id < ?", before_id),
        )
        for clause, bound in bounds:
            if bound is not None:
                clauses.append(clause)
                params.append(bound)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._read(
            f"SELECT {_AUDIT_COLS} FROM audit_events {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        columns = _AUDIT_COLS.split(", ")
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def count_events(self, kind: str) -> int:
        (count,) = self._read("SELECT count(*) FROM audit_events WHERE kind = ?", (kind,))[0]
        return int(count)
