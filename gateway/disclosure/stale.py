"""Stale references: records that name a resource the current topology no longer has."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
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
    """What staff should reconcile after a topology replace (for the admin API). Each part is
    worked out again only when what it reads changed (status is polled after every commit),
    and alarms are found by resource, not by scanning every alarm."""
    topology = snapshot.topology
    return StaleReferences(
        _memo("services", (topology, snapshot.services), lambda: _services(snapshot)),
        _memo("alarms", (topology, snapshot.services, snapshot.alarms), lambda: _alarms(snapshot)),
        _memo(
            "maintenance",
            (topology, snapshot.services, snapshot.maintenance),
            lambda: _windows(snapshot),
        ),
    )


_PARTS: dict[str, tuple[tuple[object, ...], tuple[str, ...]]] = {}


def _memo(
    part: str, inputs: tuple[object, ...], compute: Callable[[], list[str]]
) -> tuple[str, ...]:
    """One entry per part, for the objects it was computed from (held: identities stay valid)."""
    with _LOCK:
        hit = _PARTS.get(part)
        if hit is not None and all(a is b for a, b in zip(hit[0], inputs, strict=True)):
            return hit[1]
    ids = tuple(sorted(compute()))
    with _LOCK:
        _PARTS[part] = (inputs, ids)
    return ids


def _services(snapshot: Snapshot) -> list[str]:
    return [
        s.service_id
        for s in snapshot.services.values()
        if not all_resolve(snapshot, (*s.endpoints, *s.resources))
    ]


def _alarms(snapshot: Snapshot) -> list[str]:
    """Active alarms on a resource that does not resolve: by resource (a set difference), so
    100,000 alarms on resources that exist cost no per-alarm work."""
    unknown = set(snapshot.alarms_by_resource.keys()) - known_resources(snapshot.topology)
    return [
        alarm.alarm_id
        for ref in unknown
        if not resolves(snapshot, ref)  # a service reference: the service may exist
        for alarm in snapshot.alarms_by_resource[ref].values()
        if alarm.active
    ]


def _windows(snapshot: Snapshot) -> list[str]:
    return [
        w.maintenance_id
        for w in snapshot.maintenance.values()
        if w.status not in _FINISHED and not all_resolve(snapshot, w.resources)
    ]
