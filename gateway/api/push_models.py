"""What the push routes receive and publish: change events, webhook subscriptions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.api.public_models import (
    CustomerMaintenance,
    CustomerService,
    Incident,
    Interconnect,
    PeerAlarm,
    PeerMaintenance,
)


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangedItem(_Out):
    """The item as the audience's view publishes it, under the name of its kind (one key)."""

    interconnect: Interconnect | None = None
    alarm: PeerAlarm | None = None
    maintenance: PeerMaintenance | CustomerMaintenance | None = None
    service: CustomerService | None = None
    incident: Incident | None = None


class ChangeEvent(_Out):
    """One change to one item of a view, in the style of TMF688."""

    eventId: str = Field(description="this audience's event number, in order: 1, 2, 3, …")
    eventTime: str = Field(description="when the gateway published the change (UTC)")
    eventType: str = Field(
        description="`<Kind><Change>Event`: Kind is Interconnect, Alarm, Maintenance, Service "
        "or Incident; Change is Create, StateChange (alarms, incidents) or StatusChange "
        "(interconnects, maintenance, services), AttributeValueChange, Delete"
    )
    view: str = Field(description="the view the item is in: `/v1/<view>`")
    revision: int = Field(description="the view's revision that carries the change")
    policyVersion: str = Field(description="the policy version it was published under")
    event: ChangedItem


class EventsPage(_Out):
    audience: str
    events: list[ChangeEvent]
    next_cursor: str = Field(
        description="give it as `after` for the events after these (the same cursor when "
        "there were none: poll again with it, or hold with `wait`)"
    )


class SubscriptionIn(BaseModel):
    """A webhook subscription (TMF630 hub): where to send this principal's events."""

    model_config = ConfigDict(extra="forbid")

    callback: str = Field(
        min_length=9,
        max_length=2048,
        description="an https URL on this principal's allow-list (configured by staff)",
    )
    query: str | None = Field(
        None,
        max_length=512,
        description="`eventType=AlarmCreateEvent,AlarmStateChangeEvent` and/or "
        "`view=alarms,interconnects`, joined with `&`: only those events; none: every event",
    )


class Subscription(_Out):
    id: str
    callback: str
    query: str | None
    state: Literal["active", "suspended"]
    created_at: str
    delivered: str | None = Field(description="eventId of the last event delivered")
    failures: int = Field(description="failed attempts in a row")
    last_error: str | None = Field(description="why the last attempt failed")
    suspended_at: str | None = Field(description="when it was suspended, after too many failures")


class CreatedSubscription(Subscription):
    secret: str = Field(
        description="`whsec_` + base64 key of the HMAC-SHA256 signatures (Standard Webhooks): "
        "shown once, here"
    )


class Subscriptions(_Out):
    subscriptions: list[Subscription]
