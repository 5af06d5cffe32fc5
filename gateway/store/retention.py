"""Retention of the model: cleared alarms past every view's history leave, as committed changes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.model import PruneAlarms, Snapshot
from gateway.store.base import Store
from gateway.store.sqlite import SqliteBackend

PRINCIPAL = "demarc/retention"


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one retention pass removed."""

    alarms: int
    log_entries: int


def alarm_horizon(histories: Iterable[int], min_hours: int = 0) -> timedelta:
    """How long a cleared alarm stays: the longest history any policy publishes (its
    ``history_hours``), or ``min_hours`` if that is longer."""
    return timedelta(hours=max(max(histories, default=0), min_hours))


class ModelRetention:
    """Drops cleared alarms older than ``horizon()`` and trims the commit log.

    ``horizon`` must be at least the longest history any active policy publishes: a cleared
    alarm leaves the live model only once no view can show it any more. The prune is a change
    like any other (``PruneAlarms``), committed through the store, so it has a revision and
    everything that follows commits (refresher, replicas) sees it.
    """

    def __init__(
        self,
        store: Store,
        backend: SqliteBackend | None,
        *,
        horizon: Callable[[], timedelta],
        log_days: float,
        clock: Callable[[], datetime],
        chunk: int = 5000,
        vacuum_pages: int = 10_000,
        settle: Callable[[Snapshot, list[str], datetime], Awaitable[object]] | None = None,
    ) -> None:
        self._store = store
        self._backend = backend
        self._horizon = horizon
        self._log_age = timedelta(days=log_days)
        self._clock = clock
        self._chunk = chunk
        # returned to the file system per pass: a bounded pause for the writer (40 MB at 4 KiB
        # pages); what is left is returned by the next passes
        self._vacuum_pages = vacuum_pages
        # called with the alarms about to go, before they go: what they say of the past (the
        # availability history) is kept first; if it fails, nothing is pruned
        self._settle = settle

    def expired(self, now: datetime) -> tuple[list[str], datetime]:
        """The alarms a pass at ``now`` would drop, and the moment they ended before."""
        before = now - self._horizon()
        alarms = self._store.snapshot.alarms
        return sorted(a.alarm_id for a in alarms.values() if a.ended_before(before)), before

    async def run_once(self) -> Pruned:
        now = self._clock()
        ids, before = self.expired(now)
        if ids and self._settle is not None:
            await self._settle(self._store.snapshot, ids, now)
        dropped = 0
        # in chunks: one commit stays small, and ingest interleaves with a large first pass
        for start in range(0, len(ids), self._chunk):
            chunk = tuple(ids[start : start + self._chunk])
            after = await self._store.commit(PruneAlarms(chunk, before), PRINCIPAL)
            # the snapshot right after this change: an alarm raised again meanwhile stayed
            dropped += sum(1 for a in chunk if a not in after.alarms)
        entries = 0
        if self._backend is not None:
            entries = await asyncio.to_thread(
                self._backend.trim_log, now - self._log_age, self._vacuum_pages
            )
        return Pruned(alarms=dropped, log_entries=entries)
