"""Trouble tickets for peers and customers: TMF621 v5 routes, MEF LSO Sonata/Cantata semantics."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from gateway.api.deps import NOT_FOUND, CurrentPrincipal, error_response
from gateway.api.ingest import read_body
from gateway.api.openapi import body, error, errors
from gateway.api.paging import DEFAULT_LIMIT, MAX_LIMIT
from gateway.api.ratelimit import RATE_LIMITED
from gateway.api.ticket_models import TroubleTicket
from gateway.api.ticket_publish import CONFLICT, Party, WithheldAnswer, publish, withheld
from gateway.disclosure.entities import find_entity
from gateway.ingest import Timestamp, decode_json
from gateway.ingest._validation import validate
from gateway.security.identity import Principal
from gateway.tickets.forms import Reason, TicketCreate, TicketPatch
from gateway.tickets.model import Entity, TicketRefused
from gateway.tickets.render import TICKETS, VERSION

router = APIRouter(prefix=TICKETS, tags=["TMF621 trouble tickets"])
PREFIX = "tickets."  # OpenAPI component names of the bodies below
BODIES: tuple[type[BaseModel], ...] = (TicketCreate, TicketPatch, Reason)
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"

_ONE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The ticket, as this party sees it"},
    404: error(
        404,
        "No such ticket of this principal (another's is answered alike), or its policy has no "
        "ticket rule",
    ),
    409: error(
        409, "The ticket's status does not allow that, or a limit is reached (open tickets, notes)"
    ),
    **errors(503, 507),
}
_WRITE = {**_ONE, **errors(422)}


async def _form(request: Request, model: type[BaseModel], accept: tuple[str, ...] = (JSON,)) -> Any:
    limit = request.app.state.gateway.settings.tickets.max_body_bytes
    return validate(model, decode_json(await read_body(request, limit, accept)))


def _limited(request: Request, principal: Principal) -> Response | None:
    """Ticket writes have a bucket of their own per principal, on top of the listener's."""
    gateway = request.app.state.gateway
    wait = gateway.ticket_buckets.take(principal.id)
    if wait <= 0:
        return None
    # counted as the listener's refusals are (status, metrics), not logged
    gateway.tls_rejections.counts["rate-limited"] += 1
    gateway.metrics.rate_limited("public", principal.role)
    refusal = error_response(429, "rate_limited", RATE_LIMITED)
    refusal.headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return refusal


def _refused(exc: TicketRefused) -> Response:
    return error_response(409, exc.code, exc.message or CONFLICT)


_CREATED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "Stored (durably) and acknowledged, as this party sees it",
        "headers": {"Location": {"description": "the ticket", "schema": {"type": "string"}}},
    },
    **{k: v for k, v in _WRITE.items() if k != 200},
}
_LISTED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Its tickets, oldest first",
        "headers": {
            "X-Total-Count": {"description": "tickets that match", "schema": {"type": "integer"}},
            "X-Result-Count": {"description": "in this answer", "schema": {"type": "integer"}},
        },
    },
    404: _ONE[404],
    503: _ONE[503],
}
_V = f"TMF621 v{VERSION}"


@router.post(
    "",
    status_code=201,
    response_model=TroubleTicket,
    responses=_CREATED,
    openapi_extra=body(TicketCreate, prefix=PREFIX),
    summary=f"Peer or customer: open a ticket on its own interconnect or service ({_V} create)",
)
async def create_ticket(request: Request, principal: CurrentPrincipal) -> Response:
    party = await Party.of(request, principal)
    if party is None:
        return error_response(404, "not_found", NOT_FOUND)
    if (refusal := _limited(request, principal)) is not None:
        return refusal
    form: TicketCreate = await _form(request, TicketCreate)
    gateway = request.app.state.gateway
    now = datetime.now(UTC)
    pseudonym = gateway.pseudonymizer(principal.id)
    entities = []
    for given in form.related_entity:
        kind, name = given.referred_type, given.id
        resource = find_entity(
            gateway.store.snapshot, party.policy, principal.id, pseudonym, kind, name, now
        )
        if resource is None:  # someone else's, or nothing: answered as a ticket that is not
            return error_response(404, "not_found", NOT_FOUND)
        entities.append(Entity(kind, name, resource, given.role))
    try:
        ticket = await gateway.tickets.open(principal.id, form, tuple(entities), party.check)
    except TicketRefused as exc:
        return _refused(exc)
    except WithheldAnswer:  # nothing was stored
        return withheld(request, party, "ticket/new")
    response = publish(request, party, [ticket], one=True, status=201)
    response.headers["Location"] = f"{TICKETS}/{ticket.ticket_id}"
    return response


Commas = Annotated[str | None, Query(max_length=200, description="any of, comma-separated")]
Text = Annotated[str | None, Query(max_length=256)]
TicketId = Annotated[str, Path(max_length=64)]


@router.get(
    "",
    response_model=list[TroubleTicket],
    responses=_LISTED,
    summary=f"Peer or customer: its tickets ({_V} list)",
)
async def list_tickets(
    request: Request,
    principal: CurrentPrincipal,
    status: Commas = None,
    severity: Commas = None,
    priority: Commas = None,
    ticket_type: Annotated[str | None, Query(alias="ticketType", max_length=200)] = None,
    external_id: Annotated[str | None, Query(alias="externalId", max_length=200)] = None,
    related_entity: Annotated[str | None, Query(alias="relatedEntityId", max_length=256)] = None,
    created_after: Annotated[Timestamp | None, Query(alias="creationDate.gt")] = None,
    created_before: Annotated[Timestamp | None, Query(alias="creationDate.lt")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Response:
    party = await Party.of(request, principal)
    if party is None:
        return error_response(404, "not_found", NOT_FOUND)
    tickets = await request.app.state.gateway.tickets.mine(principal.id)
    shows_status = "status" in party.rule.fields

    def wanted(value: str | None, given: str | None) -> bool:
        return given is None or value in given.split(",")

    chosen = [
        t
        for t in tickets
        # a status it is not shown matches no status filter: the filter tells nothing either
        if wanted(t.status.value if shows_status else None, status)
        and wanted(t.severity, severity)
        and wanted(t.priority, priority)
        and wanted(t.ticket_type, ticket_type)
        and wanted(t.external_id, external_id)
        and (related_entity is None or any(e.published_id == related_entity for e in t.entities))
        and (created_after is None or t.created_at > created_after)
        and (created_before is None or t.created_at < created_before)
    ]
    page = chosen[offset : offset + limit]
    response = publish(request, party, page, one=False)
    if response.status_code == 200:
        response.headers["X-Total-Count"] = str(len(chosen))
        response.headers["X-Result-Count"] = str(len(page))
    return response


@router.get(
    "/{ticket_id}",
    response_model=TroubleTicket,
    responses=_ONE,
    summary=f"Peer or customer: one of its tickets ({_V} retrieve)",
)
async def get_ticket(
    request: Request, principal: CurrentPrincipal, ticket_id: TicketId
) -> Response:
    party = await Party.of(request, principal)
    ticket = None
    if party is not None:
        ticket = await request.app.state.gateway.tickets.one(principal.id, ticket_id)
    if party is None or ticket is None:
        return error_response(404, "not_found", NOT_FOUND)
    return publish(request, party, [ticket], one=True)


@router.patch(
    "/{ticket_id}",
    response_model=TroubleTicket,
    responses=_WRITE,
    openapi_extra=body(TicketPatch, prefix=PREFIX, media=MERGE_PATCH),
    summary=f"Peer or customer: add notes, change what it wrote ({_V} patch, JSON merge "
    "patch; notes are appended)",
)
async def patch_ticket(
    request: Request, principal: CurrentPrincipal, ticket_id: TicketId
) -> Response:
    party = await Party.of(request, principal)
    if party is None:
        return error_response(404, "not_found", NOT_FOUND)
    if (refusal := _limited(request, principal)) is not None:
        return refusal
    patch: TicketPatch = await _form(request, TicketPatch, (JSON, MERGE_PATCH))
    try:
        ticket = await request.app.state.gateway.tickets.patch(principal.id, ticket_id, patch)
    except TicketRefused as exc:
        return _refused(exc)
    if ticket is None:
        return error_response(404, "not_found", NOT_FOUND)
    return publish(request, party, [ticket], one=True)


async def _act(request: Request, principal: Principal, ticket_id: str, action: str) -> Response:
    party = await Party.of(request, principal)
    if party is None:
        return error_response(404, "not_found", NOT_FOUND)
    if (refusal := _limited(request, principal)) is not None:
        return refusal
    reason = (await _form(request, Reason)).reason if action == "reopen" else None
    desk = request.app.state.gateway.tickets
    try:
        ticket = await desk.act(principal.id, ticket_id, action, reason)
    except TicketRefused as exc:
        return _refused(exc)
    if ticket is None:
        return error_response(404, "not_found", NOT_FOUND)
    return publish(request, party, [ticket], one=True)


@router.post(
    "/{ticket_id}/cancel",
    response_model=TroubleTicket,
    responses=_ONE,
    summary="Ask for cancellation: acknowledged, inProgress or pending → assessingCancellation",
)
async def cancel_ticket(
    request: Request, principal: CurrentPrincipal, ticket_id: TicketId
) -> Response:
    return await _act(request, principal, ticket_id, "cancel")


@router.post(
    "/{ticket_id}/close",
    response_model=TroubleTicket,
    responses=_ONE,
    summary="Confirm the resolution: resolved → closed",
)
async def close_ticket(
    request: Request, principal: CurrentPrincipal, ticket_id: TicketId
) -> Response:
    return await _act(request, principal, ticket_id, "close")


@router.post(
    "/{ticket_id}/reopen",
    response_model=TroubleTicket,
    responses=_WRITE,
    openapi_extra=body(Reason, prefix=PREFIX),
    summary="Refuse the resolution: resolved → reopened, the reason kept as a note",
)
async def reopen_ticket(
    request: Request, principal: CurrentPrincipal, ticket_id: TicketId
) -> Response:
    return await _act(request, principal, ticket_id, "reopen")
