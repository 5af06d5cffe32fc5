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


class CustomerService(_Published):
    id: str | None = None
    name: str | None = None
    type: str | None = None
    status: Literal["operational", "degraded", "outage", "maintenance"] | None = None
    sla: dict[str, float] | None = None
    bandwidth_mbps: float | None = None
    endpoints: int | None = None


class Incident(_Published):
    id: str | None = None
    services: list[str] | None = None
    impact: Literal["outage", "degraded"] | None = None
    severity: str | None = None
    probable_cause: str | None = None
    state: Literal["active", "resolved"] | None = None
    started_at: str | None = None
    cleared_at: str | None = None
    text: str | None = None


class CustomerMaintenance(_Published):
    id: str | None = None
    services: list[str] | None = None
    start: str | None = None
    end: str | None = None
    status: str | None = None
    text: str | None = None


class _Envelope(_Published):
    audience: str
    view: str
    revision: int
    policy_version: str


class InterconnectsView(_Envelope):
    items: list[Interconnect]


class PeerAlarmsView(_Envelope):
    items: list[PeerAlarm]


class MaintenanceView(_Envelope):
    items: list[PeerMaintenance | CustomerMaintenance]


class ServicesView(_Envelope):
    items: list[CustomerService]


class ServiceItem(_Envelope):
    item: CustomerService


class IncidentsView(_Envelope):
    items: list[Incident]


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
