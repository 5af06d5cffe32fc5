"""An immutable snapshot of the internal model at one revision; changes share its structure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from immutables import Map

from gateway.model import incidents as inc
from gateway.model import indexes as ix
from gateway.model import linklive as ll
from gateway.model.changes import (
    AddMaintenanceUpdates,
    AddMetricSamples,
    Change,
    DeleteServices,
    PruneAlarms,
    ReplaceTopology,
    UpsertAlarms,
    UpsertIncidents,
    UpsertMaintenance,
    UpsertServices,
)
from gateway.model.records import Alarm, Maintenance, MetricSample, Service
from gateway.model.status import IncidentRecord
from gateway.model.topology import EMPTY_TOPOLOGY, Link, ResourceRef, Topology


class Kind(StrEnum):
    """The kinds of data a view can depend on; each has its own revision."""

    TOPOLOGY = "topology"
    SERVICES = "services"
    ALARMS = "alarms"
    METRICS = "metrics"
    MAINTENANCE = "maintenance"
    INCIDENTS = "incidents"  # declared by staff or sources (status.IncidentRecord)


MetricKey = tuple[ResourceRef, str]


class Snapshot:
    """The model at one revision. Never mutated: renders read it in worker threads while the
    store commits the next one. ``apply`` returns a new snapshot that shares every unchanged
    part with this one (persistent maps), indexes included, so a change costs O(change).
    """

    __slots__ = (
        "__weakref__",
        "_alarms_by_resource",
        "_critical_by_link",
        "_incidents_by_alarm",
        "_incidents_by_service",
        "_interconnects_by_peer",
        "_link_states",
        "_link_states_revision",
        "_links_by_id",
        "_maintenance_by_resource",
        "_metrics_by_resource",
        "_services_by_customer",
        "alarms",
        "incidents",
        "kind_revisions",
        "maintenance",
        "metrics",
        "revision",
        "services",
        "topology",
    )
    revision: int
    topology: Topology
    services: Map[str, Service]
    alarms: Map[str, Alarm]
    metrics: Map[MetricKey, MetricSample]  # the latest sample per (resource, metric)
    maintenance: Map[str, Maintenance]
    incidents: Map[str, IncidentRecord]
    kind_revisions: Map[str, int]
    _links_by_id: Mapping[str, Link]
    _interconnects_by_peer: Mapping[str, tuple[Link, ...]]
    _services_by_customer: Map[str, Map[str, Service]]
    _alarms_by_resource: ix.Grouped[Alarm]
    _metrics_by_resource: ix.Grouped[MetricSample]
    _maintenance_by_resource: ix.Grouped[Maintenance]
    _incidents_by_service: Map[str, Map[str, IncidentRecord]]
    _incidents_by_alarm: Map[str, Map[str, IncidentRecord]]
    _critical_by_link: Map[str, int]  # active critical alarms per link id
    _link_states: Map[str, ll.LinkState]  # internal links with a live state
    _link_states_revision: int  # the revision that last changed _link_states

    def __init__(
        self,
        revision: int = 0,
        topology: Topology = EMPTY_TOPOLOGY,
        services: Mapping[str, Service] | None = None,
        alarms: Mapping[str, Alarm] | None = None,
        metrics: Mapping[MetricKey, MetricSample] | None = None,
        maintenance: Mapping[str, Maintenance] | None = None,
        kind_revisions: Mapping[str, int] | None = None,
        incidents: Mapping[str, IncidentRecord] | None = None,
    ) -> None:
        """A snapshot built from scratch (loading, tests); every index is built here once."""
        services_map: Map[str, Service] = Map((services or {}).items())
        alarms_map: Map[str, Alarm] = Map((alarms or {}).items())
        metrics_map: Map[MetricKey, MetricSample] = Map((metrics or {}).items())
        maintenance_map: Map[str, Maintenance] = Map((maintenance or {}).items())
        incidents_map: Map[str, IncidentRecord] = Map((incidents or {}).items())
        links = ix.links_by_id(topology)
        critical = ll.count_critical(alarms_map.values())
        self._fill(
            revision=revision,
            topology=topology,
            services=services_map,
            alarms=alarms_map,
            metrics=metrics_map,
            maintenance=maintenance_map,
            incidents=incidents_map,
            kind_revisions=Map((kind_revisions or {}).items()),
            _links_by_id=links,
            _interconnects_by_peer=ix.interconnects_by_peer(topology),
            _critical_by_link=critical,
            _link_states=ll.build(links, critical, metrics_map),
            _link_states_revision=revision,
            _services_by_customer=ix.group(ix.service_rows(services_map.values())),
            _alarms_by_resource=ix.group(ix.alarm_rows(alarms_map.values())),
            _metrics_by_resource=ix.group(ix.metric_rows(metrics_map)),
            _maintenance_by_resource=ix.group(ix.maintenance_rows(maintenance_map.values())),
            _incidents_by_service=ix.group(inc.service_rows(incidents_map.values())),
            _incidents_by_alarm=ix.group(inc.alarm_rows(incidents_map.values())),
        )

    def _fill(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Snapshot is immutable; cannot set {name!r} (use apply)")

    def _derive(self, **changes: Any) -> Snapshot:
        """A new snapshot sharing everything with this one except ``changes``."""
        new = Snapshot.__new__(Snapshot)
        new._fill(**{**{name: getattr(self, name) for name in _FIELDS}, **changes})
        return new

    # -- indexes, kept up to date by apply ------------------------------------------------

    @property
    def links_by_id(self) -> Mapping[str, Link]:
        return self._links_by_id

    @property
    def interconnects_by_peer(self) -> Mapping[str, tuple[Link, ...]]:
        return self._interconnects_by_peer

    @property
    def services_by_customer(self) -> Mapping[str, Mapping[str, Service]]:
        """Services by the customer they belong to (service id → service)."""
        return self._services_by_customer

    @property
    def link_states(self) -> Mapping[str, ll.LinkState]:
        """Live state of internal links: utilisation, measured delay, down under a critical
        alarm; only links that have one (link id → state)."""
        return self._link_states

    @property
    def link_states_revision(self) -> int:
        """The revision of the last change to ``link_states`` (or to the topology's links)."""
        return self._link_states_revision

    @property
    def alarms_by_resource(self) -> Mapping[ResourceRef, Mapping[str, Alarm]]:
        """Alarms by the resource they are on (alarm id → alarm; in no particular order)."""
        return self._alarms_by_resource

    @property
    def metrics_by_resource(self) -> Mapping[ResourceRef, Mapping[str, MetricSample]]:
        return self._metrics_by_resource

    @property
    def maintenance_by_resource(self) -> Mapping[ResourceRef, Mapping[str, Maintenance]]:
        """Windows by each resource they list (maintenance id → window)."""
        return self._maintenance_by_resource

    @property
    def incidents_by_service(self) -> Mapping[str, Mapping[str, IncidentRecord]]:
        """Declared incidents by each service they name (incident id → record)."""
        return self._incidents_by_service

    @property
    def incidents_by_alarm(self) -> Mapping[str, Mapping[str, IncidentRecord]]:
        """Declared incidents by each alarm they name (incident id → record)."""
        return self._incidents_by_alarm

    # -- changes --------------------------------------------------------------------------

    def apply(self, change: Change, revision: int) -> Snapshot:
        """The snapshot after ``change``, committed as ``revision``; this one is unchanged."""
        kinds = self.kind_revisions.set(change_kind(change).value, revision)
        match change:
            case ReplaceTopology(topology=topology):
                links = ix.links_by_id(topology)
                states = ll.build(links, self._critical_by_link, self.metrics)
                return self._derive(
                    revision=revision,
                    kind_revisions=kinds,
                    topology=topology,
                    _links_by_id=links,
                    _interconnects_by_peer=ix.interconnects_by_peer(topology),
                    _link_states=states,
                    _link_states_revision=(
                        self._link_states_revision if states == self._link_states else revision
                    ),
                )
            case UpsertServices(services=services):
                return self._derive(revision=revision, kind_revisions=kinds,
                                    **self._services(services, ()))  # fmt: skip
            case DeleteServices(service_ids=ids):
                return self._derive(revision=revision, kind_revisions=kinds,
                                    **self._services((), ids))  # fmt: skip
            case UpsertAlarms(alarms=alarms):
                return self._derive(revision=revision, kind_revisions=kinds,
                                    **self._upsert_alarms(alarms, revision))  # fmt: skip
            case PruneAlarms(alarm_ids=ids, before=before):
                return self._derive(revision=revision, kind_revisions=kinds,
                                    **self._prune_alarms(ids, before))  # fmt: skip
            case AddMetricSamples(samples=samples):
                return self._derive(revision=revision, kind_revisions=kinds,
                                    **self._add_samples(samples, revision))  # fmt: skip
            case UpsertMaintenance(windows=windows, keep_status=keep):
                return self._derive(revision=revision, kind_revisions=kinds,
                                    **self._upsert_windows(windows, keep))  # fmt: skip
            case AddMaintenanceUpdates(updates=updates):
                windows = inc.with_updates(self.maintenance, updates)
                return self._derive(revision=revision, kind_revisions=kinds,
                                    **self._upsert_windows(windows, frozenset()))  # fmt: skip
            case UpsertIncidents(incidents=patches):
                return self._derive(revision=revision, kind_revisions=kinds,
                                    **inc.upsert(self.incidents, self._incidents_by_service,
                                                 self._incidents_by_alarm, patches))  # fmt: skip
        raise TypeError(f"unknown change {type(change).__name__}")  # pragma: no cover

    def _services(self, upsert: tuple[Service, ...], delete: tuple[str, ...]) -> dict[str, Any]:
        by_id, by_customer = self.services.mutate(), self._services_by_customer.mutate()
        for sid in (*delete, *(s.service_id for s in upsert)):
            old = by_id.pop(sid, None)
            if old is not None:
                ix.group_remove(by_customer, old.customer, sid)
        for service in upsert:
            old = by_id.get(service.service_id)  # listed twice in one change: the last wins
            if old is not None:
                ix.group_remove(by_customer, old.customer, old.service_id)
            by_id[service.service_id] = service
            ix.group_add(by_customer, service.customer, service.service_id, service)
        return {"services": by_id.finish(), "_services_by_customer": by_customer.finish()}

    def _upsert_alarms(self, alarms: tuple[Alarm, ...], revision: int) -> dict[str, Any]:
        by_id, by_ref = self.alarms.mutate(), self._alarms_by_resource.mutate()
        critical, touched = self._critical_by_link.mutate(), set[str]()
        for alarm in alarms:
            old = by_id.get(alarm.alarm_id)
            if old is not None and old.resource is not None:
                ix.group_remove(by_ref, old.resource, old.alarm_id)
            by_id[alarm.alarm_id] = alarm
            if alarm.resource is not None:
                ix.group_add(by_ref, alarm.resource, alarm.alarm_id, alarm)
            for link in (ll.adjust(critical, old, -1), ll.adjust(critical, alarm, +1)):
                if link is not None:
                    touched.add(link)
        counts = critical.finish()
        return {
            "alarms": by_id.finish(),
            "_alarms_by_resource": by_ref.finish(),
            "_critical_by_link": counts,
            **self._relink(touched, counts, self.metrics, revision),
        }

    def _relink(
        self,
        touched: set[str],
        critical: Map[str, int],
        metrics: Map[MetricKey, MetricSample],
        revision: int,
    ) -> dict[str, Any]:
        """Link states with ``touched`` recomputed, and the revision that last changed them."""
        if not touched:
            return {}
        states = ll.update(self._link_states, self._links_by_id, touched, critical, metrics)
        changed = any(states.get(i) != self._link_states.get(i) for i in touched)
        if not changed:
            return {}
        return {"_link_states": states.finish(), "_link_states_revision": revision}

    def _prune_alarms(self, ids: tuple[str, ...], before: datetime) -> dict[str, Any]:
        """Drop the alarms of ``ids`` that ended before ``before`` (an alarm raised again since
        the prune was planned is active, or ended later, and stays)."""
        by_id, by_ref = self.alarms.mutate(), self._alarms_by_resource.mutate()
        for alarm_id in ids:
            old = by_id.get(alarm_id)
            if old is None or not old.ended_before(before):
                continue
            if old.resource is not None:
                ix.group_remove(by_ref, old.resource, alarm_id)
            del by_id[alarm_id]
        return {"alarms": by_id.finish(), "_alarms_by_resource": by_ref.finish()}

    def _add_samples(self, samples: tuple[MetricSample, ...], revision: int) -> dict[str, Any]:
        latest, by_ref = self.metrics.mutate(), self._metrics_by_resource.mutate()
        touched = set[str]()
        for s in samples:
            key = (s.resource, s.metric)
            old = latest.get(key)
            if old is None or old.at <= s.at:  # a late sample never replaces a newer one
                latest[key] = s
                ix.group_add(by_ref, s.resource, s.metric, s)
                if s.resource.link is not None and s.metric in (ll.UTILISATION, ll.DELAY):
                    touched.add(s.resource.link)
        metrics = latest.finish()
        return {
            "metrics": metrics,
            "_metrics_by_resource": by_ref.finish(),
            **self._relink(touched, self._critical_by_link, metrics, revision),
        }

    def _upsert_windows(
        self, windows: tuple[Maintenance, ...], keep_status: frozenset[str]
    ) -> dict[str, Any]:
        by_id, by_ref = self.maintenance.mutate(), self._maintenance_by_resource.mutate()
        for sent in windows:
            old = by_id.get(sent.maintenance_id)
            window = inc.merged_window(old, sent, sent.maintenance_id in keep_status)
            if old is not None:
                for ref in old.resources:
                    ix.group_remove(by_ref, ref, old.maintenance_id)
            by_id[window.maintenance_id] = window
            for ref in window.resources:
                ix.group_add(by_ref, ref, window.maintenance_id, window)
        return {"maintenance": by_id.finish(), "_maintenance_by_resource": by_ref.finish()}


_FIELDS = tuple(name for name in Snapshot.__slots__ if name != "__weakref__")


def change_kind(change: Change) -> Kind:
    match change:
        case ReplaceTopology():
            return Kind.TOPOLOGY
        case UpsertServices() | DeleteServices():
            return Kind.SERVICES
        case UpsertAlarms() | PruneAlarms():
            return Kind.ALARMS
        case AddMetricSamples():
            return Kind.METRICS
        case UpsertMaintenance() | AddMaintenanceUpdates():
            return Kind.MAINTENANCE
        case UpsertIncidents():
            return Kind.INCIDENTS
    raise TypeError(f"unknown change {type(change).__name__}")  # pragma: no cover
