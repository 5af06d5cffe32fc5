"""Published view types: the shapes peers and customers receive (documentation of the bytes).

These are distinct from the internal model on purpose; every field is optional because a
policy's allow-list decides which appear.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Published(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Interconnect(_Published):
    id: str | None = None
    status: Literal["up", "degraded", "down", "maintenance"] | None = None
    capacity_mbps: float | None = None
    utilisation_pct: float | None = None
    delay_ms: float | None = None
    loss_pct: float | None = None
    local_tp: str | None = None
    remote_node: str | None = None
    remote_tp: str | None = None
    updated_at: str | None = None


class PeerAlarm(_Published):
    id: str | None = None
    resource: str | None = None
    severity: str | None = None
    probable_cause: str | None = None
    specific_problem: str | None = None
    state: Literal["active", "cleared"] | None = None
    raised_at: str | None = None
    cleared_at: str | None = None
    text: str | None = None


class PeerMaintenance(_Published):
    id: str | None = None
    resources: list[str] | None = None
    start: str | None = None
    end: str | None = None
    status: str | None = None
    text: str | None = None


Status = Literal["operational", "degraded", "outage", "maintenance", "unknown"]


class CustomerService(_Published):
    id: str | None = None
    name: str | None = None
    type: str | None = None
    status: Status | None = None
    sla: dict[str, float] | None = None
    bandwidth_mbps: float | None = None
    endpoints: int | None = None
    group: str | None = None


class SummaryGroup(_Published):
    name: str | None  # the services' own ``group``; null for services without one
    status: Status | None = None  # the worst of its services'
    services: list[CustomerService]


class IncidentCounts(_Published):
    active: int
    resolved: int


class MaintenanceCounts(_Published):
    in_progress: int
    scheduled: int


class Summary(_Published):
    status: Status | None = None  # the worst of every service's: what a dashboard shows first
    groups: list[SummaryGroup] | None = None
    incidents: IncidentCounts | None = None
    maintenance: MaintenanceCounts | None = None


class HistoryDay(_Published):
    date: str  # a complete UTC day, YYYY-MM-DD (today is not in the history: see /v1/summary)
    availability_pct: float | None
    downtime_minutes: float  # outage, and maintenance when the SLA includes it
    outage_minutes: float
    degraded_minutes: float
    maintenance_minutes: float


class HistoryMonth(_Published):
    month: str  # YYYY-MM; only the days of the history's period in it
    availability_pct: float | None
    downtime_minutes: float
    target_pct: float | None
    met: bool | None  # null without a target
    days: int


class HistorySla(_Published):
    availability_pct: float | None
    maintenance: Literal["excluded", "included"]


class ServiceHistory(_Published):
    id: str | None = None
    name: str | None = None
    group: str | None = None
    sla: HistorySla | None = None
    days: list[HistoryDay] | None = None
    months: list[HistoryMonth] | None = None


class TimelineEntry(_Published):
    """One step of a timeline: written by staff or a source (with its text, when the policy
    keeps written text), or told by the alarms and the clock (no text)."""

    at: str
    status: str
    text: str | None


IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
MaintenanceStatus = Literal["scheduled", "in-progress", "verifying", "completed", "cancelled"]


class Incident(_Published):
    id: str | None = None
    title: str | None = None
    services: list[str] | None = None
    impact: Literal["outage", "degraded", "none"] | None = None
    severity: str | None = None
    probable_cause: str | None = None
    state: Literal["active", "resolved"] | None = None
    status: IncidentStatus | None = Field(None, description="its timeline's last step")
    started_at: str | None = None
    cleared_at: str | None = None
    count: int | None = None
    text: str | None = None
    updates: list[TimelineEntry] | None = Field(None, description="in time order")


class CustomerMaintenance(_Published):
    id: str | None = None
    services: list[str] | None = None
    start: str | None = None
    end: str | None = None
    status: MaintenanceStatus | None = None
    text: str | None = None
    updates: list[TimelineEntry] | None = Field(None, description="in time order")


class _Envelope(_Published):
    audience: str
    view: str
    revision: int
    policy_version: str


class _Page(_Envelope):
    next_cursor: str | None = Field(
        None,
        description="present when more items follow: pass it as `cursor` for the next page "
        '(the `Link: rel="next"` header names the same page)',
    )


class InterconnectsView(_Page):
    items: list[Interconnect]


class PeerAlarmsView(_Page):
    items: list[PeerAlarm]


class MaintenanceView(_Page):
    items: list[PeerMaintenance | CustomerMaintenance]


class ServicesView(_Page):
    items: list[CustomerService]


class ServiceItem(_Envelope):
    item: CustomerService


class IncidentsView(_Page):
    items: list[Incident]


class SummaryView(_Envelope):
    summary: Summary


class HistoryView(_Page):
    items: list[ServiceHistory]


class HistoryItem(_Envelope):
    item: ServiceHistory


class ViewIndexEntry(_Published):
    view: str
    href: str
    etag: str
    revision: int


class ViewIndex(_Published):
    audience: str
    views: list[ViewIndexEntry]


class TopologyNode(_Published):
    id: str
    abstract: bool = Field(description="true for an abstract node (ACTN), false for a native one")
    tps: list[str]


class BorderPoint(_Published):
    id: str
    node: str
    interconnect: str


class LinkEnd(_Published):
    node: str
    tp: str


class RemoteEnd(_Published):
    network: str
    node: str | None = None
    tp: str | None = None


class TopologyLink(_Published):
    id: str
    kind: Literal["interconnect", "abstract", "native"]
    status: str
    source: LinkEnd
    destination: LinkEnd | None = None
    remote: RemoteEnd | None = None
    name: str | None = None
    delay_ms: float | None = None
    capacity_mbps: float | None = None
    available_bandwidth_mbps: float | None = None
    srlgs: list[int] | None = None


class Connectivity(_Published):
    """single-node: one entry of the connectivity matrix between two border points."""

    node: str
    from_: str = Field(alias="from")
    to: str
    delay_ms: float | None = None
    available_bandwidth_mbps: float | None = None
    srlgs: list[int] | None = None


class Topology(_Published):
    mode: Literal["none", "interconnect", "abstract", "single-node", "filtered"]
    nodes: list[TopologyNode]
    border_points: list[BorderPoint]
    links: list[TopologyLink]
    connectivity: list[Connectivity]


class TopologyView(_Envelope):
    topology: Topology


class Rfc8345Networks(BaseModel):
    """RFC 8345 ``ietf-network:networks`` with RFC 8795 TE attributes (YANG data, extensible by
    augmentation: its objects are described by the RFCs, not repeated here)."""

    network: list[dict[str, Any]]


class Rfc8345View(BaseModel):
    networks: Rfc8345Networks = Field(alias="ietf-network:networks")
