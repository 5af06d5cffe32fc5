"""The moments at which views change with no new data, kept as a heap as changes arrive."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta

from gateway.model import (
    AddMaintenanceUpdates,
    Alarm,
    Change,
    IncidentStatus,
    Kind,
    Maintenance,
    ResourceRef,
    Snapshot,
    StatusUpdate,
    UpsertAlarms,
    UpsertIncidents,
    UpsertMaintenance,
)

_Entry = tuple[datetime, int, Kind, str]  # moment, tie-break, what kind of object, its id


class Moments:
    """A window opens or closes (or leaves a history); a cleared alarm or a resolved incident
    leaves a history. Each change pushes its
    object's moments (O(change · log n)); an entry an object no longer has is dropped when
    due, as the change that made it stale was rendered when it was committed."""

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._hours: frozenset[int] = frozenset()
        self._tie = itertools.count()

    def rebuild(self, snapshot: Snapshot, hours: frozenset[int], now: datetime) -> None:
        """Every moment after ``now`` (views were just rendered at ``now``)."""
        self._hours = hours
        heap = [e for w in snapshot.maintenance.values() for e in self._window(w)]
        heap += [e for a in snapshot.alarms.values() for e in self._alarm(a)]
        heap += [
            e for r in snapshot.incidents.values() for e in self._resolved(r.incident_id, r.updates)
        ]
        self._heap = [e for e in heap if _pending(e, now)]
        heapq.heapify(self._heap)

    @property
    def hours(self) -> frozenset[int]:
        return self._hours

    def add(self, change: Change, now: datetime) -> None:
        """The moments of what ``change`` committed, after ``now`` (it renders at ``now``)."""
        match change:
            case UpsertAlarms(alarms=alarms):
                entries: Iterable[_Entry] = (e for a in alarms for e in self._alarm(a))
            case UpsertMaintenance(windows=windows):
                entries = (e for w in windows for e in self._window(w))
            case UpsertIncidents(incidents=patches):
                entries = (e for p in patches for e in self._resolved(p.incident_id, p.updates))
            case AddMaintenanceUpdates():
                return  # a window's moments are its times, which updates do not move
            case _:
                return
        for entry in entries:
            if _pending(entry, now):
                heapq.heappush(self._heap, entry)

    def due(self, snapshot: Snapshot, now: datetime) -> set[tuple[Kind, ResourceRef]]:
        """What the clock changed by ``now``, and no longer pending."""
        out: set[tuple[Kind, ResourceRef]] = set()
        held: list[_Entry] = []
        while self._heap and self._heap[0][0] <= now:
            entry = heapq.heappop(self._heap)
            if _pending(entry, now):
                held.append(entry)  # an alarm exactly at its horizon: still shown
                continue
            moment, _, kind, key = entry
            out.update((kind, ref) for ref in self._current(snapshot, moment, kind, key))
        for entry in held:
            heapq.heappush(self._heap, entry)
        return out

    def upcoming(self, now: datetime) -> datetime | None:
        """The first moment after ``now``: when to wake up next."""
        held = []
        while self._heap and self._heap[0][0] <= now:
            held.append(heapq.heappop(self._heap))  # only alarms exactly at ``now``
        first = self._heap[0][0] if self._heap else None
        for entry in held:
            heapq.heappush(self._heap, entry)
        return first

    def _current(self, snapshot: Snapshot, moment: datetime, kind: Kind,
                 key: str) -> tuple[ResourceRef, ...]:  # fmt: skip
        if kind is Kind.MAINTENANCE:
            window = snapshot.maintenance.get(key)
            if window is not None and moment in {e[0] for e in self._window(window)}:
                return window.resources
            return ()
        if kind is Kind.INCIDENTS:
            record = snapshot.incidents.get(key)
            if record is None:
                return ()
            alarms = (snapshot.alarms.get(a) for a in record.alarms)
            return (
                *(ResourceRef(service=s) for s in record.services),
                *(a.resource for a in alarms if a is not None and a.resource is not None),
            )
        alarm = snapshot.alarms.get(key)
        if alarm is not None and moment in {e[0] for e in self._alarm(alarm)}:
            return (alarm.resource,) if alarm.resource is not None else ()
        return ()

    def _alarm(self, alarm: Alarm) -> list[_Entry]:
        if alarm.cleared_at is None or alarm.resource is None:
            return []
        cleared = alarm.cleared_at
        return [(cleared + timedelta(hours=h), next(self._tie), Kind.ALARMS, alarm.alarm_id)
                for h in self._hours]  # fmt: skip

    def _window(self, window: Maintenance) -> list[_Entry]:
        # opens, closes, and leaves each history a policy keeps of ended windows
        ends = (window.end + timedelta(hours=h) for h in self._hours if h)
        return [(t, next(self._tie), Kind.MAINTENANCE, window.maintenance_id)
                for t in (window.start, window.end, *ends)]  # fmt: skip

    def _resolved(self, incident_id: str, updates: Iterable[StatusUpdate]) -> list[_Entry]:
        """A declared incident resolved as written leaves each history after its hours (one
        the alarms resolve leaves with its alarms)."""
        resolved = IncidentStatus.RESOLVED.value
        return [(u.at + timedelta(hours=h), next(self._tie), Kind.INCIDENTS, incident_id)
                for u in updates if u.status == resolved for h in self._hours]  # fmt: skip


def _pending(entry: _Entry, now: datetime) -> bool:
    """Whether a view rendered at ``now`` still has this moment ahead: a window opens or
    closes at its instant; a cleared alarm or a resolved incident is still shown at its
    horizon and leaves after."""
    moment, _, kind, _ = entry
    return moment >= now if kind in (Kind.ALARMS, Kind.INCIDENTS) else moment > now
