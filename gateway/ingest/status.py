"""Demarc's JSON for what is written for customers: incidents, and updates of planned work."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.ingest._validation import MAX_ITEMS, Id, Timestamp, check, duplicates, validate
from gateway.model import (
    IncidentPatch,
    IncidentStatus,
    MaintenanceStatus,
    StatusUpdate,
    UpsertIncidents,
)

MAX_UPDATES = 1000  # one incident's timeline: a status page tells tens, not thousands
Title = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]


class _Written(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


IncidentStatusIn = Annotated[IncidentStatus, Field(strict=False)]
MaintenanceStatusIn = Annotated[MaintenanceStatus, Field(strict=False)]


UpdateId = Annotated[
    Id | None,
    Field(description="the source's id of this update: sent again, it replaces the update "
          "with that id (a corrected time or text) instead of adding one"),
]  # fmt: skip


class IncidentUpdateIn(_Written):
    """One step of an incident's timeline, written for customers."""

    id: UpdateId = None
    at: Timestamp
    status: IncidentStatusIn = Field(description="investigating, identified, monitoring, resolved")
    text: Text | None = Field(
        None,
        description="for customers: a text naming the network's internals (a router, a port, "
        "an address, a site) is refused",
    )

    def to_model(self) -> StatusUpdate:
        return StatusUpdate(self.at, self.status.value, self.text, self.id)


class MaintenanceUpdateIn(_Written):
    """One step of planned work, written for customers (the clock adds in-progress at the
    window's start and completed at its end)."""

    id: UpdateId = None
    at: Timestamp
    status: MaintenanceStatusIn = Field(
        description="scheduled, in-progress, verifying, completed, cancelled"
    )
    text: Text | None = Field(None, description="for customers, as for incident updates")

    def to_model(self) -> StatusUpdate:
        return StatusUpdate(self.at, self.status.value, self.text, self.id)


class IncidentIn(_Written):
    """An incident to declare or update: fields given replace, fields left out stay; updates
    join its timeline (one sent again is kept once)."""

    id: Id
    title: Title | None = Field(None, description="for customers, as update texts")
    services: Annotated[list[Id], Field(max_length=MAX_ITEMS)] | None = Field(
        None, description="the services it affects (their customers see it)"
    )
    alarms: Annotated[list[Id], Field(max_length=MAX_ITEMS)] | None = Field(
        None,
        description="alarms it is about: the incident their alarms tell of becomes this one",
    )
    impact: Literal["outage", "degraded", "none"] | None = None
    updates: Annotated[list[IncidentUpdateIn], Field(max_length=MAX_UPDATES)] = Field(
        default_factory=list
    )

    def to_model(self) -> IncidentPatch:
        return IncidentPatch(
            incident_id=self.id,
            title=self.title,
            services=tuple(dict.fromkeys(self.services)) if self.services is not None else None,
            alarms=tuple(dict.fromkeys(self.alarms)) if self.alarms is not None else None,
            impact=self.impact,
            updates=tuple(u.to_model() for u in self.updates),
        )


class IncidentsDoc(_Written):
    """Incidents to declare or update, by id."""

    incidents: Annotated[list[IncidentIn], Field(max_length=MAX_ITEMS)]


def parse_incidents(doc: object) -> UpsertIncidents:
    """``{"incidents": [...]}`` as declared incidents."""
    parsed = validate(IncidentsDoc, doc)
    pairs = ((i.id, ("incidents", n, "id")) for n, i in enumerate(parsed.incidents))
    check(duplicates(pairs, "id"))
    return UpsertIncidents(tuple(i.to_model() for i in parsed.incidents))
