"""The internal model: what sources send. Never returned by a public route."""

from gateway.model.changes import (
    AddMaintenanceUpdates,
    AddMetricSamples,
    Change,
    DeleteServices,
    IncidentPatch,
    PruneAlarms,
    ReplaceTopology,
    UpsertAlarms,
    UpsertIncidents,
    UpsertMaintenance,
    UpsertServices,
)
from gateway.model.linklive import LinkState
from gateway.model.records import (
    Alarm,
    Maintenance,
    MaintenanceStatus,
    MetricSample,
    Service,
    Severity,
    SlaTargets,
)
from gateway.model.snapshot import Kind, Snapshot
from gateway.model.status import IncidentRecord, IncidentStatus, StatusUpdate
from gateway.model.topology import (
    EMPTY_TOPOLOGY,
    Link,
    LinkKind,
    Node,
    OperStatus,
    ResourceRef,
    TerminationPoint,
    Topology,
)

METRICS = frozenset({"utilisation_pct", "errors_per_s", "delay_ms", "loss_pct", "availability_pct"})

__all__ = [
    "EMPTY_TOPOLOGY",
    "METRICS",
    "AddMaintenanceUpdates",
    "AddMetricSamples",
    "Alarm",
    "Change",
    "DeleteServices",
    "IncidentPatch",
    "IncidentRecord",
    "IncidentStatus",
    "Kind",
    "Link",
    "LinkKind",
    "LinkState",
    "Maintenance",
    "MaintenanceStatus",
    "MetricSample",
    "Node",
    "OperStatus",
    "PruneAlarms",
    "ReplaceTopology",
    "ResourceRef",
    "Service",
    "Severity",
    "SlaTargets",
    "Snapshot",
    "StatusUpdate",
    "TerminationPoint",
    "Topology",
    "UpsertAlarms",
    "UpsertIncidents",
    "UpsertMaintenance",
    "UpsertServices",
]
