"""A ticket as its party sees it (TMF621 names): what it wrote, and what its policy shows of ours.

What the party wrote is sent back as it was given: it is the party's own. Of the operator's
side, ``fields`` decide what is shown; the operator's free text (notes meant for the party,
status change reasons) follows the rule's ``text`` (drop, keep, template) and, when kept, each
piece must pass ``clean`` (the leak guard) or it is left out. ``Rendered.shadow`` is the same
document with the party's own text blanked: the bytes the guard scans as a whole, so that the
party's text, which it knows, cannot turn the guard into an oracle for internal names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.disclosure.policy import TextTemplate, TicketRule
from gateway.disclosure.project import format_time
from gateway.tickets.model import Note, StatusChange, Ticket

API = "/tmf-api/troubleTicket/v5"
TICKETS = API + "/troubleTicket"
VERSION = "5.0.0"  # TMF621 Trouble Ticket API, the release these names follow

Clean = Callable[[str], bool]
#: the rule's scalar fields → the TMF621 attribute a template placeholder reads
_TEMPLATE_SOURCES = {
    "status": "status",
    "expected_resolution": "expectedResolutionDate",
    "resolved_at": "resolutionDate",
    "seller_priority": "sellerPriority",
    "seller_severity": "sellerSeverity",
    "updated_at": "lastUpdate",
}


@dataclass
class Rendered:
    doc: dict[str, Any] = field(default_factory=dict)
    shadow: dict[str, Any] = field(default_factory=dict)
    withheld: int = 0  # pieces of operator text the guard kept back


def _own(at: datetime) -> str | None:
    return format_time(at)  # the party's own acts: to the second, as it did them


def _ours(at: datetime, precision: str, created: str, *, up: bool = False) -> str:
    """One of our times, coarsened, but never before the creation the party saw to the second."""
    return max(format_time(at, precision, up=up) or "", created)


def render_ticket(ticket: Ticket, rule: TicketRule, clean: Clean) -> Rendered:
    fields: set[str] = set(rule.fields)
    precision = rule.time_precision
    out = Rendered()
    doc: dict[str, Any] = {
        "id": ticket.ticket_id,
        "href": f"{TICKETS}/{ticket.ticket_id}",
        "@type": "TroubleTicket",
        "creationDate": _own(ticket.created_at),
        "description": ticket.description,
        "severity": ticket.severity,
        "priority": ticket.priority,
        "ticketType": ticket.ticket_type,
    }
    theirs: list[tuple[dict[str, Any], str]] = [(doc, "description")]
    for attribute, value in (("observedImpact", ticket.observed_impact),
                             ("externalId", ticket.external_id)):  # fmt: skip
        if value is not None:
            doc[attribute] = value
    if ticket.external_id is not None:
        theirs.append((doc, "externalId"))
    if ticket.issue_start is not None:
        doc["issueStartDate"] = _own(ticket.issue_start)
    entities = []
    for entity in ticket.entities:
        ref: dict[str, Any] = {"id": entity.published_id, "@referredType": entity.kind}
        if entity.role is not None:
            ref["role"] = entity.role
            theirs.append((ref, "role"))
        entities.append(ref)
    doc["relatedEntity"] = entities
    if "status" in fields:
        doc["status"] = ticket.status.value
    created = doc["creationDate"] or ""
    if "updated_at" in fields:
        doc["lastUpdate"] = _ours(ticket.updated_at, precision, created)
    if "expected_resolution" in fields and ticket.expected_resolution is not None:
        doc["expectedResolutionDate"] = format_time(ticket.expected_resolution, precision, up=True)
    if "resolved_at" in fields and ticket.resolved_at is not None:
        doc["resolutionDate"] = format_time(ticket.resolved_at, precision, up=True)
    for name, attribute in (("seller_priority", "sellerPriority"),
                            ("seller_severity", "sellerSeverity")):  # fmt: skip
        value = getattr(ticket, name)
        if name in fields and value is not None:
            doc[attribute] = value
    operator_text = _operator_text(rule, doc, clean, out)
    if "status_history" in fields:
        doc["statusChange"] = [
            _change(c, precision, created, operator_text) for c in ticket.history
        ]
    notes = []
    for note in ticket.notes:
        item = _note(note, precision, created, fields, operator_text)
        if item is not None:
            notes.append(item)
            if note.side == "party":
                theirs.extend((item, key) for key in ("text", "author") if key in item)
    if notes:
        doc["note"] = notes
    out.doc = doc
    out.shadow = _blanked(doc, theirs)
    return out


def _operator_text(
    rule: TicketRule, doc: dict[str, Any], clean: Clean, out: Rendered
) -> Callable[[str], str | None]:
    """The operator's free text as the rule shows it (None: not at all)."""
    text = rule.text
    if isinstance(text, TextTemplate):
        values = {k: str(doc.get(v) or "") for k, v in _TEMPLATE_SOURCES.items()}
        shown = text.template.format_map(values)
        return lambda raw: shown
    if text == "keep":

        def kept(raw: str) -> str | None:
            if clean(raw):
                return raw
            out.withheld += 1
            return None

        return kept
    return lambda raw: None


def _change(
    change: StatusChange, precision: str, created: str, text: Callable[[str], str | None]
) -> Any:
    if change.side == "party":
        item: dict[str, Any] = {"status": change.status.value, "changeDate": _own(change.at)}
        return item
    item = {"status": change.status.value, "changeDate": _ours(change.at, precision, created)}
    if change.reason is not None and (reason := text(change.reason)) is not None:
        item["changeReason"] = reason
    return item


def _note(
    note: Note,
    precision: str,
    created: str,
    fields: set[str],
    text: Callable[[str], str | None],
) -> dict[str, Any] | None:
    if note.side == "party":  # its own: always, as it wrote it
        item: dict[str, Any] = {"id": note.note_id, "date": _own(note.at), "source": "buyer"}
        if note.author is not None:
            item["author"] = note.author
        item["text"] = note.text
        return item
    if note.visibility != "party" or "notes" not in fields:
        return None
    shown = text(note.text)
    if shown is None:
        return None
    # no author: a staff member's or a system's name is the operator's internal business
    date = _ours(note.at, precision, created)
    return {"id": note.note_id, "date": date, "source": "seller", "text": shown}


def _blanked(doc: dict[str, Any], theirs: list[tuple[dict[str, Any], str]]) -> dict[str, Any]:
    """A copy of ``doc`` with the party's own strings emptied."""
    originals = [(holder, key, holder[key]) for holder, key in theirs]
    for holder, key, _ in originals:
        holder[key] = ""
    try:
        copied: dict[str, Any] = _copy(doc)
        return copied
    finally:
        for holder, key, value in originals:
            holder[key] = value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
