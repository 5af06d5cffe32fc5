"""The audit tables' SQL: disclosures to rotate, hourly summaries, rotations, export pages."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

RAW = ("id", "at", "principal", "audience", "view", "revision", "policy_version", "digest")
HOURS = ("principal", "view", "hour", "count", "first_at", "last_at", "renders")
EVENT_COLUMNS = (
    "id", "at", "kind", "principal", "audience", "view", "revision", "policy_version", "digest",
    "detail",
)  # fmt: skip


class AuditTables:
    """Part of :class:`gateway.policy.store.PolicyDb`: the statements retention and export run
    on the audit tables. Blocking, like the rest of the store."""

    def _transaction(self) -> AbstractContextManager[sqlite3.Cursor]:
        raise NotImplementedError  # PolicyDb's

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[Any]:
        raise NotImplementedError  # PolicyDb's

    def old_disclosures(self, cutoff: str, limit: int) -> list[dict[str, Any]]:
        """Disclosure records up to the newest one before ``cutoff``, by id (a record a few ms
        out of order with its neighbours goes with them), at most ``limit``."""
        rows = self._read(
            f"SELECT {', '.join(RAW)} FROM audit_events WHERE kind='disclosure' AND id <= "
            "(SELECT COALESCE(MAX(id), 0) FROM audit_events "
            " WHERE kind='disclosure' AND at < ?) ORDER BY id LIMIT ?",
            (cutoff, limit),
        )
        return [dict(zip(RAW, row, strict=True)) for row in rows]

    def rotate_disclosures(
        self,
        hours: dict[tuple[str, str, str], dict[str, Any]],
        rotation: tuple[str, int, int, int, str, str],
    ) -> None:
        """In one transaction: merge ``hours`` into the summaries, record ``rotation`` (at,
        first id, last id, rows, archive, sha256), delete the records it archived."""
        _, _, upto, expected, _, _ = rotation
        with self._transaction() as cur:
            for key, hour in hours.items():
                _merge(cur, key, hour)
            cur.execute(
                "INSERT INTO audit_rotations (at, first_id, upto_id, rows, archive, sha256) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rotation,
            )
            deleted = cur.execute(
                "DELETE FROM audit_events WHERE kind='disclosure' AND id <= ?", (upto,)
            ).rowcount
            if deleted != expected:  # something appeared below the mark: keep everything
                raise RuntimeError(f"rotation expected {expected} records, found {deleted}")

    def hour_summaries(
        self, *, before: str | None = None, principal: str | None = None
    ) -> list[dict[str, Any]]:
        """Hourly disclosure summaries, oldest first: those of hours before ``before``, or of
        ``principal``, or all."""
        where, params = "", ()  # type: tuple[str, tuple[object, ...]]
        if before is not None:
            where, params = "WHERE hour < ?", (before,)
        elif principal is not None:
            where, params = "WHERE principal=?", (principal,)
        rows = self._read(
            f"SELECT {', '.join(HOURS)} FROM disclosure_hours {where} "
            "ORDER BY hour, principal, view",
            params,
        )
        out = [dict(zip(HOURS, row, strict=True)) for row in rows]
        for record in out:
            record["renders"] = json.loads(record["renders"])
        return out

    def rotations(self) -> list[tuple[int, str, str]]:
        """Every rotation on record, oldest first: (rows, archive file name, its sha256)."""
        return [
            tuple(r)
            for r in self._read("SELECT rows, archive, sha256 FROM audit_rotations ORDER BY id")
        ]

    def delete_hours(self, before: str) -> None:
        with self._transaction() as cur:
            cur.execute("DELETE FROM disclosure_hours WHERE hour < ?", (before,))

    def iter_events(
        self, since: str | None = None, until: str | None = None, page: int = 10_000
    ) -> Iterator[dict[str, Any]]:
        """Every event, oldest first, a page at a time; ``detail`` decoded."""
        clauses: list[str] = ["id > ?"]
        params: list[object] = [0]
        if since is not None:
            clauses.append("at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("at < ?")
            params.append(until)
        sql = (
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM audit_events "
            f"WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?"
        )
        while rows := self._read(sql, (*params, page)):
            for row in rows:
                event = {k: v for k, v in zip(EVENT_COLUMNS, row, strict=True) if v is not None}
                if "detail" in event:
                    event["detail"] = json.loads(event["detail"])
                yield event
            params[0] = rows[-1][0]


def _merge(cur: sqlite3.Cursor, key: tuple[str, str, str], new: dict[str, Any]) -> None:
    old = cur.execute(
        "SELECT count, first_at, last_at, renders FROM disclosure_hours "
        "WHERE principal=? AND view=? AND hour=?",
        key,
    ).fetchone()
    count, first, last, renders = new["count"], new["first_at"], new["last_at"], new["renders"]
    if old is not None:  # a late record of an hour already summarised
        count += old[0]
        first, last = min(first, old[1]), max(last, old[2])
        renders = renders | {tuple(r) for r in json.loads(old[3])}
    cur.execute(
        "INSERT OR REPLACE INTO disclosure_hours VALUES (?, ?, ?, ?, ?, ?, ?)",
        (*key, count, first, last, json.dumps(sorted(renders, key=_render_order))),
    )


def _render_order(render: tuple[Any, ...]) -> tuple[int, str, str]:
    revision, version, digest = render
    return (revision or 0, version or "", digest or "")
