"""Changes a source can commit: each is one atomic unit of ingest."""

from __future__ import annotations

from dataclasses import dataclass

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
    | AddMetricSamples
    | UpsertMaintenance
)
