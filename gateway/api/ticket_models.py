"""Ticket bodies as sent (documentation of the bytes): the party's TMF621 view, the operator's."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.tickets.model import Status


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RelatedEntity(_Out):
    id: str = Field(description="the circuit or service, as the audience's views name it")
    referred_type: Literal["Interconnect", "Service"] = Field(alias="@referredType")
    role: str | None = None


class TicketNote(_Out):
    id: str
    date: str
    source: Literal["buyer", "seller"] = Field(
        description="buyer: the party wrote it; seller: the operator (no author is named)"
    )
    author: str | None = None
    text: str


class StatusChangeOut(_Out):
    status: Status
    changeDate: str
    changeReason: str | None = None


class TroubleTicket(_Out):
    """What the party wrote is always there; the operator's side as the policy discloses it."""

    id: str
    href: str
    type_: Literal["TroubleTicket"] = Field(alias="@type")
    creationDate: str
    description: str
    severity: str
    priority: str
    ticketType: str
    observedImpact: str | None = None
    externalId: str | None = None
    issueStartDate: str | None = None
    relatedEntity: list[RelatedEntity]
    status: Status | None = None
    lastUpdate: str | None = None
    expectedResolutionDate: str | None = None
    resolutionDate: str | None = None
    sellerPriority: str | None = None
    sellerSeverity: str | None = None
    statusChange: list[StatusChangeOut] | None = None
    note: list[TicketNote] | None = None


# -- the operator's view (internal listener): everything, as stored ---------------------------


class ResourceOut(_Out):
    node: str | None = None
    tp: str | None = None
    link: str | None = None
    service: str | None = None


class EntityOut(_Out):
    kind: Literal["Interconnect", "Service"]
    published_id: str
    resource: ResourceOut = Field(description="what the party's id names inside the network")
    role: str | None = None


class NoteOut(_Out):
    note_id: str
    at: str
    side: Literal["party", "operator"]
    text: str
    author: str | None = None
    principal: str = Field(description="who sent it")
    visibility: Literal["party", "internal"]


class ChangeOut(_Out):
    status: Status
    at: str
    side: Literal["party", "operator"]
    principal: str
    reason: str | None = None


class InternalTicket(_Out):
    ticket_id: str
    audience: str = Field(description="the party: the only principal that sees the ticket")
    created_at: str
    updated_at: str = Field(description="the last change the party could see")
    status: Status
    seq: int = Field(description="the ticket's place in the change feed (GET /v1/tickets?after=)")
    entities: list[EntityOut]
    description: str
    severity: str
    priority: str
    ticket_type: str
    observed_impact: str | None = None
    external_id: str | None = None
    issue_start: str | None = None
    seller_priority: str | None = None
    seller_severity: str | None = None
    expected_resolution: str | None = None
    resolved_at: str | None = None
    operator_ref: str | None = None
    notes: list[NoteOut]
    history: list[ChangeOut]


class TicketFeed(_Out):
    tickets: list[InternalTicket] = Field(description="changed after `after`, in change order")
    next_after: int = Field(description="pass as `after` for what changes next")
