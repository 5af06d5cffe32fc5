"""A customer's incidents as episodes: alarms on the same services close in time are one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.disclosure.scope import worst_severity
from gateway.model import Alarm, Service, Severity


@dataclass(frozen=True, slots=True)
class Incident:
    """One episode: its alarms by start time (the first names it) and the services they hit."""

    alarms: tuple[Alarm, ...]
    services: tuple[Service, ...]

    @property
    def first(self) -> Alarm:
        return self.alarms[0]

    @property
    def worst(self) -> Alarm:
        """The most severe alarm, the earliest of those."""
        top = worst_severity(a.severity for a in self.alarms)
        return next(a for a in self.alarms if a.severity is top)

    @property
    def active(self) -> bool:
        return any(a.active for a in self.alarms)

    @property
    def started_at(self) -> datetime:
        return self.first.raised_at

    @property
    def cleared_at(self) -> datetime | None:
        if self.active:
            return None
        return max((a.cleared_at for a in self.alarms if a.cleared_at is not None), default=None)

    @property
    def severity(self) -> Severity:
        return self.worst.severity


def group_incidents(
    hits: Iterable[tuple[Alarm, Sequence[Service]]], window: timedelta
) -> list[Incident]:
    """Alarms that hit the same set of services and start within ``window`` of the first alarm
    of an episode join it (a burst of 150 alerts on one service is one incident, with a count);
    a zero window gives one incident per alarm. Ordered by the id of each episode's first alarm.
    """
    by_services: dict[tuple[str, ...], tuple[list[Alarm], tuple[Service, ...]]] = {}
    for alarm, services in hits:
        ordered = tuple(sorted(services, key=lambda s: s.service_id))
        key = tuple(s.service_id for s in ordered)
        by_services.setdefault(key, ([], ordered))[0].append(alarm)
    out: list[Incident] = []
    for alarms, services in by_services.values():
        alarms.sort(key=lambda a: (a.raised_at, a.alarm_id))
        episode: list[Alarm] = []
        for alarm in alarms:
            if episode and (
                window <= timedelta(0) or alarm.raised_at - episode[0].raised_at > window
            ):
                out.append(Incident(tuple(episode), services))
                episode = []
            episode.append(alarm)
        if episode:
            out.append(Incident(tuple(episode), services))
    out.sort(key=lambda incident: incident.first.alarm_id)
    return out
