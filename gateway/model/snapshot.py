"""An immutable snapshot of the whole internal model at one revision, with lookup indexes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property

from gateway.model.changes import (
    AddMetricSamples,
    Change,
    DeleteServices,
    PruneAlarms,
    ReplaceTopology,
    UpsertAlarms,
    UpsertMaintenance,
    UpsertServices,
)
from gateway.model.records import Alarm, Maintenance, MetricSample, Service
from gateway.model.topology import EMPTY_TOPOLOGY, Link, LinkKind, ResourceRef, Topology


class Kind(StrEnum):
    """The kinds of data a view can depend on; each has its own revision."""

    TOPOLOGY = "topology"
    SERVICES = "services"
    ALARMS = "alarms"
    METRICS = "metrics"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True, eq=False)
class Snapshot:
    revision: int = 0
    topology: Topology = EMPTY_TOPOLOGY
    services: Mapping[str, Service] = field(default_factory=dict)
    alarms: Mapping[str, Alarm] = field(default_factory=dict)
    # the latest sample per (resource, metric)
    metrics: Mapping[tuple[ResourceRef, str], MetricSample] = field(default_factory=dict)
    maintenance: Mapping[str, Maintenance] = field(default_factory=dict)
    kind_revisions: Mapping[str, int] = field(default_factory=dict)

    def apply(self, change: Change, revision: int) -> Snapshot:
        """The snapshot after ``change``, committed as ``revision``."""
        kind = change_kind(change)
        kinds = {**self.kind_revisions, kind.value: revision}
        match change:
            case ReplaceTopology(topology=topology):
                return replace(self, revision=revision, topology=topology, kind_revisions=kinds)
            case UpsertServices(services=services):
                merged = {**self.services, **{s.service_id: s for s in services}}
                return replace(self, revision=revision, services=merged, kind_revisions=kinds)
            case DeleteServices(service_ids=ids):
                gone = set(ids)
                kept = {k: v for k, v in self.services.items() if k not in gone}
                return replace(self, revision=revision, services=kept, kind_revisions=kinds)
            case UpsertAlarms(alarms=alarms):
                merged_alarms = {**self.alarms, **{a.alarm_id: a for a in alarms}}
                return replace(self, revision=revision, alarms=merged_alarms, kind_revisions=kinds)
            case PruneAlarms(alarm_ids=ids, before=before):
                pruned = {
                    a for a in ids if a in self.alarms and self.alarms[a].ended_before(before)
                }
                kept_alarms = {k: v for k, v in self.alarms.items() if k not in pruned}
                return replace(self, revision=revision, alarms=kept_alarms, kind_revisions=kinds)
            case AddMetricSamples(samples=samples):
                latest = dict(self.metrics)
                for s in samples:
                    key = (s.resource, s.metric)
                    old = latest.get(key)
                    if old is None or old.at <= s.at:
                        latest[key] = s
                return replace(self, revision=revision, metrics=latest, kind_revisions=kinds)
            case UpsertMaintenance(windows=windows):
                merged_mw = {**self.maintenance, **{w.maintenance_id: w for w in windows}}
                return replace(self, revision=revision, maintenance=merged_mw, kind_revisions=kinds)
        raise TypeError(f"unknown change {type(change).__name__}")  # pragma: no cover

    # -- indexes, built once per snapshot on first use -------------------------------------

    @cached_property
    def links_by_id(self) -> Mapping[str, Link]:
        return {link.link_id: link for link in self.topology.links}

    @cached_property
    def interconnects_by_peer(self) -> Mapping[str, tuple[Link, ...]]:
        out: dict[str, list[Link]] = {}
        for link in self.topology.links:
            if link.kind is LinkKind.INTERCONNECT and link.peer is not None:
                out.setdefault(link.peer, []).append(link)
        return {peer: tuple(links) for peer, links in out.items()}

    @cached_property
    def alarms_by_resource(self) -> Mapping[ResourceRef, tuple[Alarm, ...]]:
        out: dict[ResourceRef, list[Alarm]] = {}
        for alarm in self.alarms.values():
            if alarm.resource is not None:
                out.setdefault(alarm.resource, []).append(alarm)
        return {ref: tuple(sorted(a, key=lambda x: x.alarm_id)) for ref, a in out.items()}

    @cached_property
    def metrics_by_resource(self) -> Mapping[ResourceRef, Mapping[str, MetricSample]]:
        out: dict[ResourceRef, dict[str, MetricSample]] = {}
        for (ref, metric), sample in self.metrics.items():
            out.setdefault(ref, {})[metric] = sample
        return out

    @cached_property
    def maintenance_by_resource(self) -> Mapping[ResourceRef, tuple[Maintenance, ...]]:
        out: dict[ResourceRef, list[Maintenance]] = {}
        for window in self.maintenance.values():
            for ref in window.resources:
                out.setdefault(ref, []).append(window)
        return {ref: tuple(w) for ref, w in out.items()}


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
        case UpsertMaintenance():
            return Kind.MAINTENANCE
    raise TypeError(f"unknown change {type(change).__name__}")  # pragma: no cover
