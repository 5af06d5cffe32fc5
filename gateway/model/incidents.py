"""Changes to what people write: declared incidents and their indexes, updates of planned work."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from immutables import Map

from gateway.model import indexes as ix
from gateway.model.changes import IncidentPatch
from gateway.model.records import Maintenance, MaintenanceStatus
from gateway.model.status import IncidentRecord, StatusUpdate, merge_updates

ById = Map[str, IncidentRecord]
#: service id or alarm id → incident id → record
Index = Map[str, Map[str, IncidentRecord]]


def service_rows(records: Iterable[IncidentRecord]) -> Iterable[tuple[str, str, IncidentRecord]]:
    return ((sid, r.incident_id, r) for r in records for sid in set(r.services))


def alarm_rows(records: Iterable[IncidentRecord]) -> Iterable[tuple[str, str, IncidentRecord]]:
    return ((aid, r.incident_id, r) for r in records for aid in set(r.alarms))


def upsert(
    incidents: ById, by_service: Index, by_alarm: Index, patches: Iterable[IncidentPatch]
) -> dict[str, Any]:
    """The incident map and its indexes after ``patches`` (O(patches · log n))."""
    by_id, services, alarms = incidents.mutate(), by_service.mutate(), by_alarm.mutate()
    for patch in patches:
        old = by_id.get(patch.incident_id)
        new = patch.apply(old)
        if old is not None:
            for sid in set(old.services):
                ix.group_remove(services, sid, old.incident_id)
            for aid in set(old.alarms):
                ix.group_remove(alarms, aid, old.incident_id)
        by_id[new.incident_id] = new
        for sid in set(new.services):
            ix.group_add(services, sid, new.incident_id, new)
        for aid in set(new.alarms):
            ix.group_add(alarms, aid, new.incident_id, new)
    return {
        "incidents": by_id.finish(),
        "_incidents_by_service": services.finish(),
        "_incidents_by_alarm": alarms.finish(),
    }


def merged_window(old: Maintenance | None, sent: Maintenance, keep_status: bool) -> Maintenance:
    """``sent`` as it is stored over ``old``: the updates of both (a timeline only grows); its
    status as sent, or, sent without one, its latest update's, else the one it had."""
    updates = merge_updates(old.updates if old is not None else (), sent.updates)
    status = sent.status
    if keep_status:
        if sent.updates:
            status = MaintenanceStatus(updates[-1].status)
        else:
            status = old.status if old is not None else MaintenanceStatus.SCHEDULED
    if updates == sent.updates and status is sent.status:
        return sent
    return msgspec.structs.replace(sent, updates=updates, status=status)


def with_updates(
    windows: Mapping[str, Maintenance], updates: Iterable[tuple[str, StatusUpdate]]
) -> tuple[Maintenance, ...]:
    """The windows ``updates`` are about, with them added; the status follows the latest.
    An update for a window that is not there changes nothing (the API refuses it first:
    windows are never deleted)."""
    out: dict[str, Maintenance] = {}
    for maintenance_id, update in updates:
        window = out.get(maintenance_id) or windows.get(maintenance_id)
        if window is None:
            continue
        merged = merge_updates(window.updates, (update,))
        out[maintenance_id] = msgspec.structs.replace(
            window, updates=merged, status=MaintenanceStatus(merged[-1].status)
        )
    return tuple(out.values())
