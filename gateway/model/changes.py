"""Changes a source can commit: each is one atomic unit of ingest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.model.records import Alarm, Maintenance, MetricSample, Service
from gateway.model.status import Impact, IncidentRecord, StatusUpdate, merge_updates
from gateway.model.topology import Topology


@dataclass(frozen=True, slots=True)
class ReplaceTopology:
    topology: Topology


@dataclass(frozen=True, slots=True)
class UpsertServices:
    services: tuple[Service, ...]


@dataclass(frozen=True, slots=True)
class DeleteServices:
    service_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UpsertAlarms:
    alarms: tuple[Alarm, ...]


@dataclass(frozen=True, slots=True)
class PruneAlarms:
    """Retention: drop these alarms if they are still inactive and ended before ``before``.

    The condition is checked again when the change is applied, so an alarm raised again after
    the prune was planned stays."""

    alarm_ids: tuple[str, ...]
    before: datetime


@dataclass(frozen=True, slots=True)
class AddMetricSamples:
    samples: tuple[MetricSample, ...]


@dataclass(frozen=True, slots=True)
class UpsertMaintenance:
    """Windows to create or replace. Updates already on a window stay (its timeline only
    grows); a window in ``keep_status`` was sent without a status and keeps the one it has
    (or its last update's; scheduled when new)."""

    windows: tuple[Maintenance, ...]
    keep_status: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class AddMaintenanceUpdates:
    """Staff or a source tell how planned work goes: each update joins its window's timeline,
    and the window's status follows its latest update."""

    updates: tuple[tuple[str, StatusUpdate], ...]  # (maintenance id, update)


@dataclass(frozen=True, slots=True)
class IncidentPatch:
    """What one write says of an incident: the fields given replace, None keeps what is there;
    its updates join the timeline."""

    incident_id: str
    title: str | None = None
    services: tuple[str, ...] | None = None
    alarms: tuple[str, ...] | None = None
    impact: Impact | None = None
    updates: tuple[StatusUpdate, ...] = ()

    def apply(self, old: IncidentRecord | None) -> IncidentRecord:
        base = old or IncidentRecord(self.incident_id)
        return IncidentRecord(
            incident_id=self.incident_id,
            title=self.title if self.title is not None else base.title,
            services=self.services if self.services is not None else base.services,
            alarms=self.alarms if self.alarms is not None else base.alarms,
            impact=self.impact if self.impact is not None else base.impact,
            updates=merge_updates(base.updates, self.updates),
        )


@dataclass(frozen=True, slots=True)
class UpsertIncidents:
    """Incidents declared or updated by staff or a source (a missing one is created)."""

    incidents: tuple[IncidentPatch, ...]


Change = (
    ReplaceTopology
    | UpsertServices
    | DeleteServices
    | UpsertAlarms
    | PruneAlarms
    | AddMetricSamples
    | UpsertMaintenance
    | AddMaintenanceUpdates
    | UpsertIncidents
)
