"""The audit trail: policy events written as they happen, disclosures buffered and batched."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.policy.store import Event, PolicyDb

log = logging.getLogger("demarc.audit")

MAX_LIMIT = 1000
DISCLOSURE = "disclosure"
DROPPED = "disclosures_dropped"

_Pending = tuple[float, str, str, int, str, str]


def _iso(at: datetime | float) -> str:
    moment = datetime.fromtimestamp(at, UTC) if isinstance(at, float) else at.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class AuditQuery:
    principal: str | None = None
    kind: str | None = None
    audience: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    cursor: int | None = None  # the id of the last event of the previous page


class AuditLog:
    """Append-only. ``disclosed`` is on the public request path, so it only appends to a list;
    a background task writes the list in one transaction every ``interval_s``. Past
    ``capacity`` pending records, new ones are dropped, counted and reported in the trail."""

    def __init__(
        self,
        db: PolicyDb,
        *,
        capacity: int = 100_000,
        interval_s: float = 0.25,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._clock = clock  # seconds since the epoch; tests and soaks inject their own
        self._capacity = capacity
        self._interval = interval_s
        self._pending: list[_Pending] = []
        self._task: asyncio.Task[None] | None = None
        self._unreported = 0
        self.dropped = 0  # disclosure records lost since start (buffer full or a failed write)

    def disclosed(
        self, principal: str, view: str, revision: int, policy_version: str, digest: str
    ) -> None:
        """Record that ``principal`` was sent ``view``; never blocks, never raises."""
        if len(self._pending) >= self._capacity:
            self.dropped += 1
            self._unreported += 1
            return
        self._pending.append((self._clock(), principal, view, revision, policy_version, digest))

    async def record(self, *events: Event) -> None:
        """Policy events are rare and must not be lost: written and durable before returning."""
        await asyncio.to_thread(self._db.append_events, events)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="demarc-audit-writer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()

    async def flush(self) -> int:
        """Write what is pending; returns how many disclosures were written."""
        batch, self._pending = self._pending, []
        unreported, self._unreported = self._unreported, 0
        rows: list[tuple[object, ...]] = [
            (
                _iso(at),
                DISCLOSURE,
                principal,
                principal,
                view,
                revision,
                version,
                digest.strip('"'),
                None,
            )
            for at, principal, view, revision, version, digest in batch
        ]
        if unreported:
            detail = {"count": unreported, "total_since_start": self.dropped}
            rows.append(Event(DROPPED, "demarc", detail=detail).row())
        if not rows:
            return 0
        try:
            await asyncio.to_thread(self._db.append_rows, rows)
        except Exception as exc:
            # the records are gone; say so in the next batch rather than pretend
            lost = len(batch)
            self.dropped += lost
            self._unreported += lost + unreported
            log.error("writing %d audit records failed (%s)", len(rows), type(exc).__name__)
            return 0
        return len(batch)

    async def query(self, q: AuditQuery) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; the cursor of the next page, or None on the last one."""
        await self.flush()  # staff see every disclosure made so far
        return await asyncio.to_thread(query_events, self._db, q)


def query_events(db: PolicyDb, q: AuditQuery) -> tuple[list[dict[str, Any]], str | None]:
    limit = max(1, min(q.limit, MAX_LIMIT))
    equal = {"principal": q.principal, "kind": q.kind, "audience": q.audience}
    rows = db.events(
        {k: v for k, v in equal.items() if v is not None},
        since=_iso(q.since) if q.since is not None else None,
        until=_iso(q.until) if q.until is not None else None,
        before_id=q.cursor,
        limit=limit + 1,  # one more tells whether there is a next page
    )
    events = []
    for row in rows[:limit]:
        event = {k: v for k, v in row.items() if v is not None}
        if "detail" in event:
            event["detail"] = json.loads(event["detail"])
        events.append(event)
    more = len(rows) > limit
    return events, (str(events[-1]["id"]) if more else None)


def iter_events(
    db: PolicyDb, since: datetime | None = None, until: datetime | None = None, page: int = 10_000
) -> Iterator[dict[str, Any]]:
    """Every event in the database, oldest first, read a page at a time (for export)."""
    return db.iter_events(
        _iso(since) if since is not None else None,
        _iso(until) if until is not None else None,
        page,
    )
