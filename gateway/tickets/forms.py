"""What is received about tickets: a party's TMF621 bodies and the operator's updates, strictly."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from gateway.ingest import Timestamp
from gateway.ingest._validation import Id
from gateway.tickets.model import Status

Severity = Literal["minor", "moderate", "significant", "extensive"]  # MEF TroubleTicketSeverity
Priority = Literal["low", "medium", "high", "critical"]  # MEF TroubleTicketPriorityType
TicketType = Literal[
    "assistance", "degraded", "failure", "information", "installation", "maintenance"
]  # fmt: skip
Impact = Literal["degraded", "intermittent", "down"]  # MEF ObservedImpactType

# free text keeps line breaks and tabs; other control characters break logs and terminals
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
FREE_TEXT_PATTERN = "^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters other than line breaks and tabs")
    return value


Text = Annotated[
    str,
    Field(min_length=1, max_length=4000, pattern=FREE_TEXT_PATTERN),
    AfterValidator(_no_control),
]
Description = Annotated[
    str,
    Field(min_length=1, max_length=8000, pattern=FREE_TEXT_PATTERN),
    AfterValidator(_no_control),
]
Short = Annotated[
    str,
    Field(min_length=1, max_length=200, pattern=FREE_TEXT_PATTERN),
    AfterValidator(_no_control),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoteIn(_In):
    """A note to append: its date, id and source are the gateway's to set."""

    text: Text
    author: Short | None = None


class EntityIn(_In):
    """The interconnect (a peer) or service (a customer) the ticket is about, by the id the
    audience's views publish."""

    id: Id
    referred_type: Literal["Interconnect", "Service"] = Field(alias="@referredType")
    role: Short | None = None


class TicketCreate(_In):
    """TMF621 / MEF TroubleTicket_Create: what the party says of the issue."""

    description: Description
    severity: Severity
    priority: Priority
    ticket_type: TicketType = Field(alias="ticketType")
    observed_impact: Impact | None = Field(None, alias="observedImpact")
    external_id: Short | None = Field(None, alias="externalId", description="your own reference")
    issue_start: Timestamp | None = Field(None, alias="issueStartDate")
    related_entity: list[EntityIn] = Field(alias="relatedEntity", min_length=1, max_length=8)
    note: list[NoteIn] = Field(default_factory=list, max_length=20)


class TicketPatch(_In):
    """TMF621 / MEF TroubleTicket_Update (JSON merge patch): notes are appended, never
    replaced; a change of priority, severity or issue start comes with a note (MEF R30); null
    changes nothing (nothing the party wrote is removed)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "minProperties": 1,
            "dependentRequired": {k: ["note"] for k in ("priority", "severity", "issueStartDate")},
        },
    )

    note: list[NoteIn] = Field(default_factory=list, min_length=1, max_length=20)
    external_id: Short | None = Field(None, alias="externalId")
    priority: Priority | None = None
    severity: Severity | None = None
    observed_impact: Impact | None = Field(None, alias="observedImpact")
    issue_start: Timestamp | None = Field(None, alias="issueStartDate")

    @model_validator(mode="after")
    def _something(self) -> TicketPatch:
        # by presence, as the JSON Schema says it (minProperties, dependentRequired)
        if not self.model_fields_set:
            raise ValueError("nothing to change: give note, externalId, priority, severity, "
                             "observedImpact or issueStartDate")  # fmt: skip
        told = {"priority", "severity", "issue_start"} & self.model_fields_set
        if told and "note" not in self.model_fields_set:
            raise ValueError("a change of priority, severity or issueStartDate needs a note "
                             "saying why")  # fmt: skip
        return self


class Reason(_In):
    """Why the party reopens a resolved ticket (kept as its note, author closureRejection)."""

    reason: Text


class OperatorNote(_In):
    text: Text
    visibility: Literal["party", "internal"] = Field(
        "internal",
        description="party: shown to the ticket's party as its policy's text rule says, after "
        "the leak guard; internal (default): never published",
    )


class OperatorUpdate(_In):
    """What a source or a staff member changes on a ticket: at least one thing."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"minProperties": 1, "dependentRequired": {"reason": ["status"]}},
    )

    status: Status | None = None
    reason: Text | None = Field(None, description="why the status changes (free text)")
    note: OperatorNote | None = None
    expected_resolution: Timestamp | None = None
    seller_priority: Priority | None = None
    seller_severity: Severity | None = None
    operator_ref: Short | None = Field(None, description="your own ticket id: internal only")

    @model_validator(mode="after")
    def _something(self) -> OperatorUpdate:
        if not self.model_fields_set:
            raise ValueError("nothing to change")
        if "reason" in self.model_fields_set and "status" not in self.model_fields_set:
            raise ValueError("a reason goes with a status change")
        return self
