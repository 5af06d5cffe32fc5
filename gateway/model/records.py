"""Internal records beside the topology: services, alarms, metric samples, maintenance."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

import msgspec

from gateway.model.status import StatusUpdate
from gateway.model.topology import ResourceRef


class Severity(StrEnum):
    """ITU-T X.733 perceived severity."""

    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"
    INDETERMINATE = "indeterminate"
    CLEARED = "cleared"


class MaintenanceStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in-progress"
    VERIFYING = "verifying"  # the work is done and being checked
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class SlaTargets(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    availability_pct: float | None = None
    max_delay_ms: float | None = None
    max_loss_pct: float | None = None
    # whether time under planned maintenance counts as downtime for availability_pct
    maintenance: Literal["excluded", "included"] = "excluded"


class Service(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    service_id: str
    customer: str
    name: str | None = None
    service_type: str | None = None
    endpoints: tuple[ResourceRef, ...] = ()  # access termination points
    resources: tuple[ResourceRef, ...] = ()  # what supports the service inside the network
    sla: SlaTargets = SlaTargets()
    bandwidth_mbps: float | None = None
    group: str | None = None  # the customer's own grouping (a site, a product): its label


class Alarm(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    alarm_id: str
    resource: ResourceRef | None
    severity: Severity
    raised_at: datetime
    probable_cause: str | None = None
    specific_problem: str | None = None
    cleared_at: datetime | None = None
    text: str | None = None  # free text: never published unless a policy allows it
    source: str = "native"  # "native" or "alertmanager"
    labels: tuple[tuple[str, str], ...] = ()  # raw labels from Alertmanager, kept for the record

    @property
    def active(self) -> bool:
        return self.cleared_at is None and self.severity is not Severity.CLEARED

    def ended_before(self, moment: datetime) -> bool:
        """Inactive, and cleared before ``moment`` (raised before it, when no clear time came:
        such an alarm is in no view's history)."""
        return not self.active and (self.cleared_at or self.raised_at) < moment


class MetricSample(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    resource: ResourceRef
    metric: str
    value: float
    at: datetime


class Maintenance(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    maintenance_id: str
    resources: tuple[ResourceRef, ...]
    start: datetime
    end: datetime
    status: MaintenanceStatus = MaintenanceStatus.SCHEDULED
    description: str | None = None  # free text
    # written for customers by staff or the source, in time order (status.merge_updates);
    # ``status`` follows the last one
    updates: tuple[StatusUpdate, ...] = ()

    def active_at(self, now: datetime) -> bool:
        if self.status in (MaintenanceStatus.CANCELLED, MaintenanceStatus.COMPLETED):
            return False
        return self.start <= now < self.end
