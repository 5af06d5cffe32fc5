"""Internal listener routes for tickets: sources read what changed and post updates; staff too."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from gateway.api.deps import NOT_FOUND, CurrentPrincipal, error_response
from gateway.api.ingest import read_body
from gateway.api.openapi import body, error, errors
from gateway.api.ticket_models import InternalTicket, TicketFeed
from gateway.errors import Forbidden
from gateway.ingest import decode_json
from gateway.ingest._validation import validate
from gateway.tickets.forms import OperatorUpdate
from gateway.tickets.model import Status, Ticket, TicketRefused

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
PREFIX = "tickets."
BODIES: tuple[type[BaseModel], ...] = (OperatorUpdate,)
OPERATORS = frozenset({"source", "staff"})
_encode = msgspec.json.Encoder().encode

TicketId = Annotated[str, Path(max_length=64)]
_ONE: dict[int | str, dict[str, Any]] = {404: error(404, "No such ticket")}


def _operator(principal: CurrentPrincipal) -> None:
    if principal.role not in OPERATORS:
        raise Forbidden("only sources and staff handle tickets")


def _json(value: Any) -> Response:
    return Response(_encode(value), media_type="application/json")


_FEED = (
    "Tickets changed after a point of the feed (opened, noted, moved), oldest change first: "
    "poll with `after=next_after`"
)
_ONE_SUMMARY = "One ticket, all of it: internal notes, who did what, what it names"


@router.get("", response_model=TicketFeed, summary=_FEED)
async def feed(
    request: Request,
    principal: CurrentPrincipal,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="a `next_after`")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    status: Annotated[Status | None, Query(description="only tickets now in this status")] = None,
    audience: Annotated[str | None, Query(max_length=200, description="only this party's")] = None,
) -> Response:
    _operator(principal)
    desk = request.app.state.gateway.tickets
    status_name = status.value if status is not None else None
    tickets: list[Ticket] = await desk.feed(after, limit, audience, status_name)
    return _json({"tickets": tickets, "next_after": tickets[-1].seq if tickets else after})


@router.get("/{ticket_id}", response_model=InternalTicket, responses=_ONE, summary=_ONE_SUMMARY)
async def one(request: Request, principal: CurrentPrincipal, ticket_id: TicketId) -> Response:
    _operator(principal)
    ticket = await request.app.state.gateway.tickets.get(ticket_id)
    if ticket is None:
        return error_response(404, "not_found", NOT_FOUND)
    return _json(ticket)


@router.post("/{ticket_id}/updates", response_model=InternalTicket,
             responses={**_ONE, 409: error(409, "The status cannot move that way, nothing "
                                               "changes, or the ticket holds all the notes it "
                                               "may"), **errors(507)},
             openapi_extra=body(OperatorUpdate, prefix=PREFIX),
             summary="Move a ticket, add a note (for the party, or internal), set the expected "
                     "resolution, seller priority and severity, your own reference")  # fmt: skip
async def update(request: Request, principal: CurrentPrincipal, ticket_id: TicketId) -> Response:
    _operator(principal)
    gateway = request.app.state.gateway
    raw = await read_body(request, gateway.settings.tickets.max_body_bytes)
    change = validate(OperatorUpdate, decode_json(raw))
    try:
        ticket = await gateway.tickets.update(principal.id, ticket_id, change)
    except TicketRefused as exc:
        return error_response(409, exc.code, exc.message)
    if ticket is None:
        return error_response(404, "not_found", NOT_FOUND)
    return _json(ticket)
