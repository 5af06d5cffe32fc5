"""Availability from the network: a service's status over time, by the rule of its live status.

The live status (``scope.service_status``) says, at one moment: outage when a critical alarm
on what supports the service is not explained by planned work, else maintenance while a
window is open on it, else degraded while a major or minor alarm is, else operational. Here
that rule is applied at every moment of a period: the result is a list of disjoint spans of
outage, maintenance and degraded, split per UTC day, from which availability is computed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from gateway.disclosure.scope import containers
from gateway.model import Alarm, Maintenance, MaintenanceStatus, ResourceRef, Severity, Snapshot

OUTAGE, MAINTENANCE, DEGRADED = "outage", "maintenance", "degraded"
#: at one moment the worst state wins: the order of the live rule's tests
RANK: Mapping[str, int] = {OUTAGE: 3, MAINTENANCE: 2, DEGRADED: 1}
DAY_S = 86_400
#: (start, end, state), in seconds from the start of a UTC day, start < end, disjoint, sorted
Span = tuple[int, int, str]
Spans = tuple[Span, ...]
_COUNTED = frozenset({Severity.CRITICAL, Severity.MAJOR, Severity.MINOR})
_NEVER = datetime.max.replace(tzinfo=UTC)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def service_events(
    snapshot: Snapshot, covered: frozenset[ResourceRef]
) -> tuple[list[Alarm], list[Maintenance]]:
    """The alarms and windows on ``covered`` that can change the service's status."""
    alarms: dict[str, Alarm] = {}
    windows: dict[str, Maintenance] = {}
    for ref in covered:
        for alarm in snapshot.alarms_by_resource.get(ref, {}).values():
            if alarm.severity in _COUNTED and alarm.resource is not None:
                alarms[alarm.alarm_id] = alarm
        for window in snapshot.maintenance_by_resource.get(ref, {}).values():
            if window.status is not MaintenanceStatus.CANCELLED and window.end > window.start:
                windows[window.maintenance_id] = window
    return list(alarms.values()), list(windows.values())


def timeline(
    snapshot: Snapshot,
    covered: frozenset[ResourceRef],
    alarms: Sequence[Alarm],
    windows: Sequence[Maintenance],
    start: datetime,
    end: datetime,
) -> list[tuple[datetime, datetime, str]]:
    """The service's non-operational intervals within [start, end): disjoint, in time order."""
    if end <= start:
        return []
    cuts = {start, end}
    for alarm in alarms:
        cuts.update(t for t in (alarm.raised_at, alarm.cleared_at) if t and start < t < end)
    for window in windows:
        cuts.update(t for t in (window.start, window.end) if start < t < end)
    points = sorted(cuts)
    out: list[tuple[datetime, datetime, str]] = []
    for lo, hi in itertools.pairwise(points):
        state = _state_at(snapshot, covered, alarms, windows, lo)
        if state is None:
            continue
        if out and out[-1][1] == lo and out[-1][2] == state:
            out[-1] = (out[-1][0], hi, state)
        else:
            out.append((lo, hi, state))
    return out


def _state_at(
    snapshot: Snapshot,
    covered: frozenset[ResourceRef],
    alarms: Sequence[Alarm],
    windows: Sequence[Maintenance],
    moment: datetime,
) -> str | None:
    """``scope.service_status`` at ``moment``, for a window's whole planned time."""
    planned = {
        ref for w in windows if w.start <= moment < w.end for ref in w.resources if ref in covered
    }
    state: str | None = None
    for alarm in alarms:
        if not alarm.raised_at <= moment < (alarm.cleared_at or _NEVER):
            continue
        assert alarm.resource is not None
        if alarm.severity is Severity.CRITICAL:
            if planned.isdisjoint(containers(snapshot, alarm.resource)):
                return OUTAGE
        else:
            state = DEGRADED
    return MAINTENANCE if planned else state


def by_day(intervals: Iterable[tuple[datetime, datetime, str]]) -> dict[date, Spans]:
    """Intervals cut at UTC midnights, as spans of each day."""
    out: dict[date, list[Span]] = {}
    for lo, hi, state in intervals:
        lo, hi = lo.astimezone(UTC), hi.astimezone(UTC)
        day = lo.date()
        while day_start(day) < hi:
            base = day_start(day)
            a = max(0, int((lo - base).total_seconds()))
            b = min(DAY_S, int((hi - base).total_seconds()))
            if a < b:
                out.setdefault(day, []).append((a, b, state))
            day += timedelta(days=1)
    return {day: merge(spans) for day, spans in out.items()}


def merge(*groups: Iterable[Span]) -> Spans:
    """One set of disjoint spans from overlapping ones: at every second the worst state."""
    spans = [s for group in groups for s in group if s[0] < s[1]]
    if not spans:
        return ()
    cuts = sorted({t for a, b, _ in spans for t in (a, b)})
    out: list[Span] = []
    for lo, hi in itertools.pairwise(cuts):
        states = [state for a, b, state in spans if a <= lo and hi <= b]
        if not states:
            continue
        state = max(states, key=RANK.__getitem__)
        if out and out[-1][1] == lo and out[-1][2] == state:
            out[-1] = (out[-1][0], hi, state)
        else:
            out.append((lo, hi, state))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Figures:
    """Seconds of one period: observed, and in each non-operational state."""

    observed: int
    outage: int = 0
    maintenance: int = 0
    degraded: int = 0

    def downtime(self, maintenance_counts: bool) -> int:
        return self.outage + (self.maintenance if maintenance_counts else 0)

    def availability_pct(self, maintenance_counts: bool) -> float | None:
        """Share of the observed time not down; excluded maintenance counts as available."""
        if self.observed <= 0:
            return None
        return 100.0 * (1 - min(self.downtime(maintenance_counts), self.observed) / self.observed)

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.observed + other.observed,
            self.outage + other.outage,
            self.maintenance + other.maintenance,
            self.degraded + other.degraded,
        )


def figures(spans: Spans, observed: int) -> Figures:
    """Totals of ``spans`` cut to the first ``observed`` seconds of the day."""
    totals = {OUTAGE: 0, MAINTENANCE: 0, DEGRADED: 0}
    for a, b, state in spans:
        totals[state] += max(0, min(b, observed) - a)
    return Figures(observed, totals[OUTAGE], totals[MAINTENANCE], totals[DEGRADED])


def days_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
