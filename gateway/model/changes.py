"""Changes a source can commit: each is one atomic unit of ingest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.model.records import Alarm, Maintenance, MetricSample, Service
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
    windows: tuple[Maintenance, ...]


Change = (
    ReplaceTopology
    | UpsertServices
    | DeleteServices
    | UpsertAlarms
    | PruneAlarms
    | AddMetricSamples
    | UpsertMaintenance
)
