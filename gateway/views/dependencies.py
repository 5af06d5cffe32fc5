"""Which audiences read which resources, and which of their views a set of changes makes stale."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from gateway.disclosure import DAILY, DEPENDS, CompiledPolicy
from gateway.disclosure.reads import (
    NETWORK_VIEWS,
    audience_refs,
    lookup_keys,
    ref_nodes,
    views_reading,
)
from gateway.model import (
    AddMaintenanceUpdates,
    AddMetricSamples,
    Change,
    DeleteServices,
    IncidentPatch,
    Kind,
    PruneAlarms,
    ResourceRef,
    Snapshot,
    UpsertAlarms,
    UpsertIncidents,
    UpsertMaintenance,
    UpsertServices,
)

K = TypeVar("K")
#: audience → views to re-render
Stale = dict[str, set[str]]
Touched = set[tuple[Kind, ResourceRef]]


class DependencyIndex:
    """Resource → audiences whose scope holds it, and node → audiences with anything on it."""

    def __init__(self) -> None:
        self._scopes: dict[str, tuple[frozenset[ResourceRef], frozenset[str]]] = {}
        self._by_ref: dict[ResourceRef, set[str]] = {}
        self._by_node: dict[str, set[str]] = {}

    def __contains__(self, audience: object) -> bool:
        return audience in self._scopes

    def clear(self) -> None:
        self._scopes.clear()
        self._by_ref.clear()
        self._by_node.clear()

    def update(self, snapshot: Snapshot, audience: str) -> None:
        """(Re)compute ``audience``'s scope in ``snapshot``."""
        self.drop(audience)
        refs = audience_refs(snapshot, audience)
        nodes = frozenset(n for ref in refs for n in ref_nodes(snapshot, ref))
        self._scopes[audience] = (refs, nodes)
        for ref in refs:
            self._by_ref.setdefault(ref, set()).add(audience)
        for node in nodes:
            self._by_node.setdefault(node, set()).add(audience)

    def drop(self, audience: str) -> None:
        refs, nodes = self._scopes.pop(audience, (frozenset(), frozenset()))
        for ref in refs:
            _discard(self._by_ref, ref, audience)
        for node in nodes:
            _discard(self._by_node, node, audience)

    def audiences(self, ref: ResourceRef) -> set[str]:
        """Audiences whose views may read data on ``ref``. A node-level resource reaches every
        audience with anything on that node, whether or not its views look the node up."""
        out: set[str] = set()
        for key in lookup_keys(ref):
            out |= self._by_ref.get(key, set())
        if ref.node is not None and ref.tp is None:
            out |= self._by_node.get(ref.node, set())
        return out


def _discard(index: dict[K, set[str]], key: K, audience: str) -> None:
    users = index.get(key)
    if users is not None:
        users.discard(audience)
        if not users:
            del index[key]


@dataclass(slots=True)
class Touches:
    """What a set of changes touched."""

    refs: Touched = field(default_factory=set)  # (kind, resource) pairs
    # of ``refs``, those whose change reaches back before today (UTC): the only ones that
    # can alter the daily views (availability history: complete past days only)
    past: Touched = field(default_factory=set)
    customers: set[str] = field(default_factory=set)  # whose services changed
    everything: bool = False  # a topology, or a change of a type not known here


def touched(changes: Iterable[Change], before: Snapshot, today: datetime) -> Touches:
    """What ``changes`` touched; ``today`` is the start of the current UTC day."""
    out = Touches()
    refs, past = out.refs, out.past
    for change in changes:
        match change:
            case UpsertAlarms(alarms=alarms):
                for alarm in alarms:
                    old = before.alarms.get(alarm.alarm_id)  # an alarm can move: both places
                    for version in (alarm, old):
                        if version is not None and version.resource is not None:
                            refs.add((Kind.ALARMS, version.resource))
                            if version.raised_at < today:
                                past.add((Kind.ALARMS, version.resource))
            case PruneAlarms(alarm_ids=ids):
                # retention: what it drops is past every history, but the views that read
                # those resources are the ones to check
                for alarm_id in ids:
                    pruned = before.alarms.get(alarm_id)
                    if pruned is not None and pruned.resource is not None:
                        refs.add((Kind.ALARMS, pruned.resource))
                        past.add((Kind.ALARMS, pruned.resource))
            case AddMetricSamples(samples=samples):
                refs.update((Kind.METRICS, s.resource) for s in samples)
            case UpsertMaintenance(windows=windows):
                for window in windows:
                    old_mw = before.maintenance.get(window.maintenance_id)
                    for mw in (window, old_mw):
                        if mw is None:
                            continue
                        refs.update((Kind.MAINTENANCE, ref) for ref in mw.resources)
                        if mw.start < today:
                            past.update((Kind.MAINTENANCE, ref) for ref in mw.resources)
            case AddMaintenanceUpdates(updates=updates):
                for maintenance_id, _ in updates:
                    if (was_mw := before.maintenance.get(maintenance_id)) is not None:
                        moved = {(Kind.MAINTENANCE, ref) for ref in was_mw.resources}
                        refs.update(moved)
                        if was_mw.start < today:  # e.g. cancelled: past days count it no more
                            past.update(moved)
            case UpsertIncidents(incidents=patches):
                refs.update(_incident_refs(patches, before))
            case UpsertServices(services=services):
                for service in services:
                    out.customers.add(service.customer)
                    if (was := before.services.get(service.service_id)) is not None:
                        out.customers.add(was.customer)  # a service moved: its old owner too
            case DeleteServices(service_ids=ids):
                out.customers.update(s.customer for i in ids if (s := before.services.get(i)))
            case _:  # a topology, or a change this planner does not know: everything
                out.everything = True
                return out
    return out


def _incident_refs(patches: Iterable[IncidentPatch], before: Snapshot) -> Touched:
    """Where a declared incident reaches customers, before and after: the services it names
    (a customer's scope holds each of its services) and the resources of the alarms it names
    (an alarm it names that came in this same batch re-renders those views itself)."""
    out: Touched = set()
    for patch in patches:
        old = before.incidents.get(patch.incident_id)
        services = {*(patch.services or ()), *(old.services if old else ())}
        alarms = {*(patch.alarms or ()), *(old.alarms if old else ())}
        out.update((Kind.INCIDENTS, ResourceRef(service=sid)) for sid in services)
        for alarm_id in alarms:
            alarm = before.alarms.get(alarm_id)
            if alarm is not None and alarm.resource is not None:
                out.add((Kind.INCIDENTS, alarm.resource))
    return out


def stale_views(
    refs: Touched,
    index: DependencyIndex,
    live: Mapping[str, CompiledPolicy],
    *,
    links_changed: bool,
    past: Touched | None = None,
) -> Stale:
    """The views of ``live`` audiences that data changed on ``refs`` can alter, and, when the
    live state of internal links changed (``links_changed``: ``Snapshot.link_states``), every
    audience's views that read it network-wide. An alarm on an internal link that leaves its
    state as it was (not critical, say) reaches no network view: they do not read it. The
    daily views (``DAILY``) are stale only for changes in ``past`` (all of ``refs`` when it is
    None): an alarm raised today reaches them at midnight, when they all move on anyway."""
    out: Stale = {}
    for kind, ref in refs:
        reaches_past = past is None or (kind, ref) in past
        for audience in index.audiences(ref):
            if (policy := live.get(audience)) is not None:
                views = views_reading(policy.role, policy.views, kind, scoped=True)
                if not reaches_past:
                    views -= DAILY.get(policy.role, frozenset())
                out.setdefault(audience, set()).update(views)
    if links_changed:
        for audience, policy in live.items():
            if views := set(NETWORK_VIEWS.get(policy.role, ())).intersection(policy.views):
                out.setdefault(audience, set()).update(views)
    return out


def unknown_views(policy: CompiledPolicy) -> set[str]:
    """Views the dependency tables do not describe: re-rendered on every change."""
    return set(policy.views) - set(DEPENDS.get(policy.role, {}))


def merge(into: Stale, more: Stale) -> None:
    for audience, views in more.items():
        into.setdefault(audience, set()).update(views)
