"""The internal model: what sources send. Never returned by a public route."""

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
    "AddMetricSamples",
    "Alarm",
    "Change",
    "DeleteServices",
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
    "TerminationPoint",
    "Topology",
    "UpsertAlarms",
    "UpsertMaintenance",
    "UpsertServices",
]
