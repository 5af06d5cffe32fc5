"""Each change to a ticket as a pure function: the ticket after it, and its audit event."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from gateway.policy.records import Event
from gateway.tickets.forms import NoteIn, OperatorUpdate, TicketCreate, TicketPatch
from gateway.tickets.model import (
    PARTY_ACTIONS,
    PARTY_FROZEN,
    Entity,
    Note,
    Side,
    Status,
    StatusChange,
    Ticket,
    TicketRefused,
    operator_may,
)


def new_id(prefix: str, size: int = 10) -> str:
    """Random and unguessable: a sequential id would tell every party how many tickets (or
    notes, internal ones included) the operator has."""
    return prefix + base64.b32encode(secrets.token_bytes(size)).decode().rstrip("=")


@dataclass(frozen=True, slots=True)
class Actor:
    principal: str
    now: datetime
    max_notes: int


def _event(action: str, actor: Actor, ticket: Ticket, **detail: Any) -> Event:
    # what changed, never the texts: those stay with the ticket
    return Event(
        kind=f"ticket-{action}",
        principal=actor.principal,
        audience=ticket.audience,
        view=ticket.ticket_id,
        detail={"status": ticket.status.value, "seq": ticket.seq, **detail},
    )


def _party_notes(notes: list[NoteIn], actor: Actor) -> tuple[Note, ...]:
    return tuple(
        Note(new_id("n-", 5), actor.now, "party", n.text, n.author, actor.principal) for n in notes
    )


def _with_notes(ticket: Ticket, added: tuple[Note, ...], actor: Actor) -> tuple[Note, ...]:
    notes = ticket.notes + added
    if len(notes) > actor.max_notes:
        raise TicketRefused(f"a ticket holds at most {actor.max_notes} notes")
    return notes


def _moved(ticket: Ticket, status: Status, side: Side, actor: Actor, reason: str | None = None
           ) -> tuple[StatusChange, ...]:  # fmt: skip
    return (*ticket.history, StatusChange(status, actor.now, side, actor.principal, reason))


def opened(
    form: TicketCreate, audience: str, entities: tuple[Entity, ...], actor: Actor, seq: int
) -> tuple[Ticket, Event]:
    """A new ticket, ``acknowledged``: validated, stored as given."""
    ticket = Ticket(
        ticket_id=new_id("TT-"),
        audience=audience,
        created_at=actor.now,
        updated_at=actor.now,
        status=Status.ACKNOWLEDGED,
        seq=seq,
        entities=entities,
        description=form.description,
        severity=form.severity,
        priority=form.priority,
        ticket_type=form.ticket_type,
        observed_impact=form.observed_impact,
        external_id=form.external_id,
        issue_start=form.issue_start,
        notes=_party_notes(form.note, actor),
        history=(StatusChange(Status.ACKNOWLEDGED, actor.now, "party", actor.principal),),
    )
    if len(ticket.notes) > actor.max_notes:
        raise TicketRefused(f"a ticket holds at most {actor.max_notes} notes")
    return ticket, _event("open", actor, ticket, entities=len(entities), notes=len(ticket.notes))


def patched(ticket: Ticket, patch: TicketPatch, actor: Actor, seq: int) -> tuple[Ticket, Event]:
    """The party's merge patch: its own fields, and notes appended."""
    if ticket.status in PARTY_FROZEN:
        raise TicketRefused(f"a ticket that is {ticket.status.value} cannot be changed")
    changes: dict[str, Any] = {
        name: value
        for name in ("external_id", "priority", "severity", "observed_impact", "issue_start")
        if (value := getattr(patch, name)) is not None
    }
    if not changes and not patch.note:
        raise TicketRefused("nothing changes: null leaves a field as it is")
    notes = _with_notes(ticket, _party_notes(patch.note, actor), actor)
    status, history = ticket.status, ticket.history
    if status is Status.PENDING:  # the operator was waiting for the party (MEF R37)
        status, history = Status.IN_PROGRESS, _moved(ticket, Status.IN_PROGRESS, "party", actor)
    new = msgspec.structs.replace(
        ticket, **changes, notes=notes, status=status, history=history, seq=seq,
        updated_at=actor.now,
    )  # fmt: skip
    return new, _event("patch", actor, new, fields=sorted(changes), notes=len(patch.note),
                       previous=ticket.status.value)  # fmt: skip


def acted(
    ticket: Ticket, action: str, reason: str | None, actor: Actor, seq: int
) -> tuple[Ticket, Event]:
    """The party cancels, closes or reopens (a reopen's reason is kept as its note)."""
    allowed, target = PARTY_ACTIONS[action]
    if ticket.status not in allowed:
        raise TicketRefused(
            f"{action} applies to a ticket that is {' or '.join(sorted(allowed))}, "
            f"not {ticket.status.value}"
        )
    notes = ticket.notes
    if reason is not None:
        note = Note(
            new_id("n-", 5), actor.now, "party", reason, "closureRejection", actor.principal
        )
        notes = _with_notes(ticket, (note,), actor)
    new = msgspec.structs.replace(
        ticket, status=target, history=_moved(ticket, target, "party", actor), notes=notes,
        seq=seq, updated_at=actor.now,
    )  # fmt: skip
    return new, _event(action, actor, new, previous=ticket.status.value)


def updated(ticket: Ticket, update: OperatorUpdate, actor: Actor, seq: int) -> tuple[Ticket, Event]:
    """What a source or staff member changes; only what the party could see moves
    ``updated_at`` (an internal note or reference is no news it may learn of)."""
    changes: dict[str, Any] = {}
    visible = False
    if update.status is not None and update.status is not ticket.status:
        if not operator_may(ticket.status, update.status):
            raise TicketRefused(
                f"a ticket that is {ticket.status.value} cannot become {update.status.value}"
            )
        changes["status"] = update.status
        changes["history"] = _moved(ticket, update.status, "operator", actor, update.reason)
        if update.status is Status.RESOLVED:
            changes["resolved_at"] = actor.now
        visible = True
    for name in ("expected_resolution", "seller_priority", "seller_severity"):
        value = getattr(update, name)
        if value is not None and value != getattr(ticket, name):
            changes[name] = value
            visible = True
    if update.operator_ref is not None:
        changes["operator_ref"] = update.operator_ref
    if update.note is not None:
        note = Note(new_id("n-", 5), actor.now, "operator", update.note.text, None,
                    actor.principal, update.note.visibility)  # fmt: skip
        changes["notes"] = _with_notes(ticket, (note,), actor)
        visible = visible or update.note.visibility == "party"
    if not changes:
        raise TicketRefused("nothing changes: the ticket already says that", code="conflict")
    new = msgspec.structs.replace(
        ticket, **changes, seq=seq, updated_at=actor.now if visible else ticket.updated_at
    )
    seen = None if update.note is None else update.note.visibility
    return new, _event("update", actor, new, previous=ticket.status.value,
                       fields=sorted(set(changes) - {"history", "notes"}), note=seen)  # fmt: skip
