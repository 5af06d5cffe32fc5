"""Availability history that outlives the alarms it came from: settled days, kept in the store."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType

from gateway.disclosure.availability import (
    Spans,
    by_day,
    day_start,
    days_between,
    merge,
    service_events,
    timeline,
)
from gateway.disclosure.project import Settled
from gateway.disclosure.scope import coverage
from gateway.model import Alarm, Snapshot
from gateway.store.sqlite import SqliteBackend

Row = tuple[str, date, Spans]


class AvailabilityHistory:
    """Per service and UTC day, the outage, maintenance and degraded spans of days whose
    alarms retention is about to drop.

    A view computes a day from the alarms and windows the model still holds and merges in
    what is settled here (the worst state at each second, so a span present in both counts
    once). Retention settles the days an alarm touched, for every service it touched, just
    before it prunes the alarm: the model never needs to keep raw alarms for history, and
    only days with something to say cost a row.
    """

    def __init__(self, backend: SqliteBackend | None) -> None:
        self._backend = backend
        self._days: dict[str, Mapping[date, Spans]] = {}
        self.days: Settled = MappingProxyType({})  # swapped whole: renders read it in threads

    async def open(self) -> None:
        if self._backend is not None:
            loaded = await asyncio.to_thread(self._backend.load_days)
            self._publish({sid: MappingProxyType(days) for sid, days in loaded.items()})

    def _publish(self, days: dict[str, Mapping[date, Spans]]) -> None:
        self._days = days
        self.days = MappingProxyType(days)

    def settle_rows(self, snapshot: Snapshot, alarm_ids: Iterable[str], now: datetime) -> list[Row]:
        """The settled days that change if ``alarm_ids`` leave ``snapshot`` (pure, no I/O)."""
        alarms = [a for aid in alarm_ids if (a := snapshot.alarms.get(aid)) is not None]
        on = {a.resource for a in alarms if a.resource is not None}
        if not on:
            return []
        rows: list[Row] = []
        for service in snapshot.services.values():
            covered = coverage(snapshot, service)
            mine = [a for a in alarms if a.resource in covered]
            if not mine:
                continue
            found, windows = service_events(snapshot, covered)
            kept = self._days.get(service.service_id, {})
            for day in sorted(_days_of(mine, now)):
                start = day_start(day)
                end = min(start + timedelta(days=1), now)
                live = by_day(timeline(snapshot, covered, found, windows, start, end))
                spans = merge(kept.get(day, ()), live.get(day, ()))
                if spans and spans != kept.get(day, ()):
                    rows.append((service.service_id, day, spans))
        return rows

    async def settle(self, snapshot: Snapshot, alarm_ids: list[str], now: datetime) -> int:
        """Settle, durably, what ``alarm_ids`` told of availability up to ``now``; returns the
        rows written."""
        rows = await asyncio.to_thread(self.settle_rows, snapshot, alarm_ids, now)
        if rows and self._backend is not None:
            await asyncio.to_thread(self._backend.save_days, rows)
        self.apply(rows)
        return len(rows)

    def apply(self, rows: Iterable[Row]) -> None:
        days = dict(self._days)
        for service_id, day, spans in rows:
            days[service_id] = MappingProxyType({**days.get(service_id, {}), day: spans})
        self._publish(days)

    async def forget_before(self, before: date) -> int:
        """Drop settled days older than any view shows."""
        dropped = 0
        if self._backend is not None:
            dropped = await asyncio.to_thread(self._backend.drop_days, before)
        self._publish(
            {
                sid: MappingProxyType({d: s for d, s in days.items() if d >= before})
                for sid, days in self._days.items()
            }
        )
        return dropped


def _days_of(alarms: Iterable[Alarm], now: datetime) -> set[date]:
    out: set[date] = set()
    for alarm in alarms:
        end = min(alarm.cleared_at or now, now)
        out.update(days_between(alarm.raised_at.astimezone(UTC).date(), end.astimezone(UTC).date()))
    return out
