"""Built-in row scopes and derived status: which rows concern an audience, and how they fare.

No policy can widen these: a peer only ever reaches its own interconnects, a customer only its
own services.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Never

from gateway.disclosure.timeline import maintenance_timeline
from gateway.model import (
    Alarm,
    Link,
    Maintenance,
    MaintenanceStatus,
    OperStatus,
    ResourceRef,
    Service,
    Severity,
    Snapshot,
)

INCIDENT_SEVERITIES = frozenset({Severity.CRITICAL, Severity.MAJOR, Severity.MINOR})
_NONE: Mapping[str, Never] = {}  # nothing on a resource


def interconnect_refs(link: Link) -> tuple[ResourceRef, ...]:
    """The resources that stand for one interconnect: the link, our end of it, and the router
    our end is on (a router that is down takes its interconnects with it, for peers exactly as
    it takes the services on it for customers)."""
    return (
        ResourceRef(link=link.link_id),
        ResourceRef(node=link.source_node, tp=link.source_tp),
        ResourceRef(node=link.source_node),
    )


def peer_resources(snapshot: Snapshot, peer: str) -> dict[ResourceRef, Link]:
    """Every resource in a peer's scope, mapped to the interconnect it belongs to."""
    out: dict[ResourceRef, Link] = {}
    for link in snapshot.interconnects_by_peer.get(peer, ()):
        for ref in interconnect_refs(link):
            out.setdefault(ref, link)
    return out


def customer_services(snapshot: Snapshot, customer: str) -> list[Service]:
    mine = snapshot.services_by_customer.get(customer, _NONE)
    return [mine[sid] for sid in sorted(mine)]


def coverage(snapshot: Snapshot, service: Service) -> frozenset[ResourceRef]:
    """Every resource whose trouble touches the service.

    A termination point brings its node; a link brings both ends and their nodes: an alarm on
    a router or an interface under a link the service rides on affects the service.
    """
    refs: set[ResourceRef] = {ResourceRef(service=service.service_id)}
    for ref in (*service.endpoints, *service.resources):
        refs |= containers(snapshot, ref)
    return frozenset(refs)


def alarms_on(
    snapshot: Snapshot, refs: Iterable[ResourceRef], now: datetime, history_hours: int
) -> list[Alarm]:
    """Active alarms on ``refs``, and those cleared within ``history_hours``."""
    horizon = now - timedelta(hours=history_hours)
    seen: dict[str, Alarm] = {}
    by_ref = snapshot.alarms_by_resource
    for ref in refs:
        for alarm in by_ref.get(ref, _NONE).values():
            if alarm.active or (alarm.cleared_at is not None and alarm.cleared_at >= horizon):
                seen[alarm.alarm_id] = alarm
    return [seen[k] for k in sorted(seen)]


def maintenance_on(
    snapshot: Snapshot, refs: Iterable[ResourceRef], now: datetime
) -> list[Maintenance]:
    """Windows on ``refs`` that are not over, cancelled or completed."""
    seen: dict[str, Maintenance] = {}
    by_ref = snapshot.maintenance_by_resource
    for ref in refs:
        for window in by_ref.get(ref, _NONE).values():
            if window.end > now and window.status not in _FINISHED:
                seen[window.maintenance_id] = window
    return [seen[k] for k in sorted(seen)]


_FINISHED = (MaintenanceStatus.CANCELLED, MaintenanceStatus.COMPLETED)


def maintenance_status(window: Maintenance, now: datetime) -> str:
    """scheduled, in-progress (from its start), verifying, completed (at its end, or when
    written so), cancelled: the last step of its timeline (``timeline``)."""
    return maintenance_timeline(window, now).status


def interconnect_status(snapshot: Snapshot, link: Link, now: datetime) -> str:
    """up, degraded, down or maintenance, from alarms, oper-status and maintenance."""
    refs = interconnect_refs(link)
    # planned work explains whatever the link does meanwhile, as it does for customers
    if any(w.active_at(now) for w in maintenance_on(snapshot, refs, now)):
        return "maintenance"
    worst = worst_severity(a.severity for a in alarms_on(snapshot, refs, now, 0) if a.active)
    if worst is Severity.CRITICAL or link.oper_status is OperStatus.DOWN:
        return "down"
    if worst in (Severity.MAJOR, Severity.MINOR):
        return "degraded"
    return "up"


def service_status(snapshot: Snapshot, covered: frozenset[ResourceRef], now: datetime) -> str:
    """operational, degraded, outage or maintenance, without naming what caused it.

    A critical alarm on a resource under active maintenance (or inside one: a port of a router
    under maintenance, a link ending on it) is the maintenance's doing, so it reads as
    maintenance, not outage; a critical alarm elsewhere is an outage.
    """
    in_maintenance = {
        ref
        for ref in covered
        for w in snapshot.maintenance_by_resource.get(ref, _NONE).values()
        if w.active_at(now)
    }
    status = "operational"
    for alarm in alarms_on(snapshot, covered, now, 0):
        if not alarm.active or alarm.resource is None:
            continue
        planned = not in_maintenance.isdisjoint(containers(snapshot, alarm.resource))
        if alarm.severity is Severity.CRITICAL and not planned:
            return "outage"
        if alarm.severity in (Severity.MAJOR, Severity.MINOR):
            status = "degraded"
    if in_maintenance:
        return "maintenance"
    return status


def containers(snapshot: Snapshot, ref: ResourceRef) -> set[ResourceRef]:
    """``ref`` and what contains it: a port's router; a link's two ends and their routers."""
    out = {ref}
    if ref.node is not None and ref.tp is not None:
        out.add(ResourceRef(node=ref.node))
    if ref.link is not None:
        link = snapshot.links_by_id.get(ref.link)
        if link is not None:
            out.update(
                (
                    ResourceRef(node=link.source_node, tp=link.source_tp),
                    ResourceRef(node=link.source_node),
                    ResourceRef(node=link.dest_node, tp=link.dest_tp),
                    ResourceRef(node=link.dest_node),
                )
            )
    return out


def incident_impact(alarm: Alarm) -> str:
    return "outage" if alarm.severity is Severity.CRITICAL else "degraded"


_RANK: Mapping[Severity, int] = {
    Severity.CRITICAL: 5,
    Severity.MAJOR: 4,
    Severity.MINOR: 3,
    Severity.WARNING: 2,
    Severity.INDETERMINATE: 1,
    Severity.CLEARED: 0,
}


def worst_severity(severities: Iterable[Severity]) -> Severity | None:
    worst: Severity | None = None
    for sev in severities:
        if worst is None or _RANK[sev] > _RANK[worst]:
            worst = sev
    return worst
