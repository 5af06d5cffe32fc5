"""Trouble tickets as stored, and their state machine (MEF 113/124 statuses, TMF621 names).

Two sides act on a ticket: the *party* that opened it (a peer or a customer: the MEF Buyer)
and the *operator* (a source or a staff member: the MEF Seller).

::

    open ─► acknowledged ─┬─► inProgress ◄──► pending
       (party)            ├─► pending            │
                          ├─► rejected ■         ▼
                          └─► resolved ◄── inProgress, pending, reopened   (operator)
    resolved ──close──► closed ■       (party; or the operator, when the party never answers)
    resolved ──reopen─► reopened ──► inProgress | pending | resolved       (party, then operator)
    acknowledged | inProgress | pending ──cancel──► assessingCancellation  (party)
    assessingCancellation ──► cancelled ■ | inProgress                    (operator)

■: terminal. A party's note or change on a ``pending`` ticket moves it to ``inProgress`` (the
operator was waiting for it). Nothing changes a terminal ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Literal

import msgspec

from gateway.model import ResourceRef


class Status(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "inProgress"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    ASSESSING_CANCELLATION = "assessingCancellation"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


S = Status
TERMINAL = frozenset({S.CLOSED, S.CANCELLED, S.REJECTED})
#: what the operator may move a ticket to, from each status
OPERATOR_MOVES: Mapping[Status, frozenset[Status]] = {
    S.ACKNOWLEDGED: frozenset({S.IN_PROGRESS, S.PENDING, S.RESOLVED, S.REJECTED}),
    S.IN_PROGRESS: frozenset({S.PENDING, S.RESOLVED}),
    S.PENDING: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.REOPENED: frozenset({S.IN_PROGRESS, S.PENDING, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED}),
    S.ASSESSING_CANCELLATION: frozenset({S.CANCELLED, S.IN_PROGRESS}),
}
#: the party's actions: from which statuses, to which
PARTY_ACTIONS: Mapping[str, tuple[frozenset[Status], Status]] = {
    "cancel": (frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS, S.PENDING}), S.ASSESSING_CANCELLATION),
    "close": (frozenset({S.RESOLVED}), S.CLOSED),
    "reopen": (frozenset({S.RESOLVED}), S.REOPENED),
}
#: statuses in which the party may no longer add notes or change what it wrote (MEF R35)
PARTY_FROZEN = TERMINAL | {S.ASSESSING_CANCELLATION}

Side = Literal["party", "operator"]
Visibility = Literal["party", "internal"]


class Note(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    note_id: str
    at: datetime
    side: Side
    text: str  # as written: the party's is shown back to it; the operator's as the policy says
    author: str | None = None  # the party's own wording of who wrote it
    principal: str = ""  # who sent it: for the audit and staff, never published
    visibility: Visibility = "party"  # an operator note: "internal" never reaches the party


class StatusChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    status: Status
    at: datetime
    side: Side
    principal: str
    reason: str | None = None


class Entity(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What a ticket is about: as the party named it, and what that is inside the network."""

    kind: Literal["Interconnect", "Service"]
    published_id: str  # the id the party's views publish (circuit id, service id or pseudonym)
    resource: ResourceRef  # never published
    role: str | None = None


class Ticket(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    ticket_id: str
    audience: str  # the party: the only principal that ever sees it
    created_at: datetime
    updated_at: datetime
    status: Status
    seq: int  # position in the change feed: raised by every change
    entities: tuple[Entity, ...]
    # what the party wrote, stored as given
    description: str
    severity: str
    priority: str
    ticket_type: str
    observed_impact: str | None = None
    external_id: str | None = None
    issue_start: datetime | None = None
    # the operator's side
    seller_priority: str | None = None
    seller_severity: str | None = None
    expected_resolution: datetime | None = None
    resolved_at: datetime | None = None
    operator_ref: str | None = None  # the operator's own ticket reference: internal only
    notes: tuple[Note, ...] = ()
    history: tuple[StatusChange, ...] = ()


class TicketRefused(Exception):
    """A change the state machine or a limit does not allow: nothing was stored."""

    def __init__(self, message: str, *, code: str = "conflict") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def operator_may(current: Status, target: Status) -> bool:
    return target in OPERATOR_MOVES.get(current, frozenset())
