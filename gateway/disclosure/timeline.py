"""Timelines as customers read them: what people wrote, and what the network and the clock say.

An incident's timeline is its written updates, with what its alarms tell added where nobody
wrote it: ``investigating`` when the first alarm was raised, ``resolved`` when the last one
cleared (unless someone wrote later, e.g. ``monitoring``), ``investigating`` again when an
alarm is raised after a resolution. A maintenance window's is its written updates with the
clock's steps: ``in-progress`` at its start, ``completed`` at its end. In both, the status is
the last entry's: the timeline and the status never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.model import Alarm, Maintenance, MaintenanceStatus
from gateway.model.status import IncidentStatus, StatusUpdate, update_key

_FINAL = frozenset({MaintenanceStatus.COMPLETED.value, MaintenanceStatus.CANCELLED.value})
_SCHEDULED = MaintenanceStatus.SCHEDULED.value
_IN_PROGRESS = MaintenanceStatus.IN_PROGRESS.value
_VERIFYING = MaintenanceStatus.VERIFYING.value
_COMPLETED = MaintenanceStatus.COMPLETED.value
_INVESTIGATING = IncidentStatus.INVESTIGATING.value
_RESOLVED = IncidentStatus.RESOLVED.value


@dataclass(frozen=True, slots=True)
class Entry:
    """One step of a timeline; ``written`` when a person or a source wrote it (it may carry
    text), not when the alarms or the clock say it."""

    at: datetime
    status: str
    text: str | None = None
    written: bool = False


@dataclass(frozen=True, slots=True)
class Timeline:
    entries: tuple[Entry, ...]
    status: str

    @property
    def resolved_at(self) -> datetime | None:
        """When it was resolved, if that is where it stands."""
        last = self.entries[-1] if self.entries else None
        return last.at if last is not None and last.status == _RESOLVED else None


def _written(updates: Sequence[StatusUpdate]) -> list[Entry]:
    return [Entry(u.at, u.status, u.text, True) for u in sorted(updates, key=update_key)]


def incident_timeline(updates: Sequence[StatusUpdate], alarms: Sequence[Alarm]) -> Timeline:
    """An incident's timeline from its written ``updates`` and the ``alarms`` behind it."""
    entries = _written(updates)
    if alarms:
        started = min(a.raised_at for a in alarms)
        if not entries or entries[0].at > started:
            entries.insert(0, Entry(started, _INVESTIGATING))
        last = entries[-1]
        if any(a.active for a in alarms):
            # resolved, and then an alarm was raised again: the incident is open again
            again = [a.raised_at for a in alarms if a.active and a.raised_at > last.at]
            if last.status == _RESOLVED and again:
                entries.append(Entry(min(again), _INVESTIGATING))
        else:
            cleared = max(a.cleared_at or a.raised_at for a in alarms)
            if last.status != _RESOLVED and last.at <= cleared:
                entries.append(Entry(cleared, _RESOLVED))
    status = entries[-1].status if entries else _INVESTIGATING
    return Timeline(tuple(entries), status)


def maintenance_timeline(window: Maintenance, now: datetime) -> Timeline:
    """A window's timeline at ``now``: its written updates and the steps the clock takes, as a
    status page tells planned work (scheduled → in-progress at its start → completed at its
    end; verifying, completed early, cancelled as written)."""
    events: list[tuple[datetime, int, Entry | None]] = [
        (u.at, 1, Entry(u.at, u.status, u.text, True)) for u in window.updates
    ]
    # the clock first at one instant: an update written for exactly the start is the word
    events += [(t, 0, None) for t in (window.start, window.end) if t <= now]
    state, entries = _SCHEDULED, []
    for at, _, entry in sorted(events, key=lambda e: (e[0], e[1])):
        if entry is not None:
            state = entry.status
            entries.append(entry)
        elif at == window.start and state == _SCHEDULED:
            state = _IN_PROGRESS
            entries.append(Entry(at, state))
        elif at == window.end and state in (_SCHEDULED, _IN_PROGRESS, _VERIFYING):
            state = _COMPLETED
            entries.append(Entry(at, state))
    # a status the source set on the window itself, not by an update (its time is not known)
    given = window.status.value
    if (given in _FINAL and state not in _FINAL) or (
        not window.updates and given == _VERIFYING and state == _IN_PROGRESS
    ):
        state = given
    return Timeline(tuple(entries), state)


def maintenance_listed(window: Maintenance, now: datetime, history_hours: int) -> bool:
    """Whether a customer's maintenance list shows ``window``: until it is over, and then for
    ``history_hours`` after its end (a finished or cancelled window only with a history)."""
    if history_hours > 0:
        return window.end + timedelta(hours=history_hours) > now
    return window.end > now and window.status.value not in _FINAL
