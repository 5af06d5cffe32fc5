"""Published view types: the shapes peers and customers receive (documentation of the bytes).

These are distinct from the internal model on purpose; every field is optional because a
policy's allow-list decides which appear.
"""

from __future__ import annotations

from typing import Literal

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


class ViewIndexEntry(_Published):
    view: str
    href: str
    etag: str
    revision: int


class ViewIndex(_Published):
    audience: str
    views: list[ViewIndexEntry]


class ErrorBody(_Published):
    error: dict[str, str]
