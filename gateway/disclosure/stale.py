"""Stale references: records that name a resource the current topology no longer has."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from gateway.model import MaintenanceStatus, ResourceRef, Snapshot, Topology

_LOCK = threading.Lock()
_FINISHED = (MaintenanceStatus.COMPLETED, MaintenanceStatus.CANCELLED)
_LAST: list[tuple[Topology, frozenset[ResourceRef]]] = []  # one entry: the current topology


def known_resources(topology: Topology) -> frozenset[ResourceRef]:
    """Every node, termination point and link of ``topology``, memoised for the latest one."""
    with _LOCK:
        if _LAST and _LAST[0][0] is topology:
            return _LAST[0][1]
    refs: set[ResourceRef] = set()
    for node in topology.nodes:
        refs.add(ResourceRef(node=node.node_id))
        refs.update(ResourceRef(node=node.node_id, tp=tp.tp_id) for tp in node.tps)
    refs.update(ResourceRef(link=link.link_id) for link in topology.links)
    known = frozenset(refs)
    with _LOCK:
        _LAST[:] = [(topology, known)]
    return known


def resolves(snapshot: Snapshot, ref: ResourceRef) -> bool:
    """Whether ``ref`` names something the snapshot has (a service, or a topology resource)."""
    if ref.service is not None:
        return ref.service in snapshot.services
    return ref in known_resources(snapshot.topology)


def all_resolve(snapshot: Snapshot, refs: Iterable[ResourceRef]) -> bool:
    return all(resolves(snapshot, ref) for ref in refs)


def in_topology(snapshot: Snapshot, refs: Iterable[ResourceRef]) -> bool:
    """Whether every topology resource of ``refs`` is still in the topology. A service named
    among them is another customer's business: its deletion must not change this service's
    status (nor could the refresher know to re-render it)."""
    known = known_resources(snapshot.topology)
    return all(ref in known for ref in refs if ref.service is None)


@dataclass(frozen=True, slots=True)
class StaleReferences:
    """Ids of services, active alarms and unfinished maintenance whose resources are gone."""

    services: tuple[str, ...]
    alarms: tuple[str, ...]
    maintenance: tuple[str, ...]


def stale_references(snapshot: Snapshot) -> StaleReferences:
    """What staff should reconcile after a topology replace. O(records): for the admin API."""
    services = [
        s.service_id
        for s in snapshot.services.values()
        if not all_resolve(snapshot, (*s.endpoints, *s.resources))
    ]
    alarms = [
        a.alarm_id
        for a in snapshot.alarms.values()
        if a.active and a.resource is not None and not resolves(snapshot, a.resource)
    ]
    windows = [
        w.maintenance_id
        for w in snapshot.maintenance.values()
        if w.status not in _FINISHED and not all_resolve(snapshot, w.resources)
    ]
    return StaleReferences(tuple(sorted(services)), tuple(sorted(alarms)), tuple(sorted(windows)))
