"""Internal listener routes for staff: declare incidents, and tell how incidents and work go."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.api.deps import CurrentPrincipal
from gateway.api.ingest import read_body
from gateway.api.openapi import errors
from gateway.api.written import check_text, check_update, vocabulary
from gateway.disclosure.timeline import maintenance_timeline
from gateway.errors import Conflict, Forbidden, InvalidInput, NotFound, Problem, json_path
from gateway.ingest import decode_json
from gateway.ingest._validation import Id, Timestamp
from gateway.ingest.status import Text, Title
from gateway.model import (
    AddMaintenanceUpdates,
    Change,
    IncidentPatch,
    IncidentRecord,
    Maintenance,
    StatusUpdate,
    UpsertIncidents,
)
from gateway.policy.records import Event

router = APIRouter(prefix="/v1/admin", tags=["incidents"])

MAX_BODY = 64 * 1024
M = TypeVar("M", bound=BaseModel)
# an id in a path: what ingest accepts as an id (longer or odd ones name nothing: 404)
PathId = Annotated[str, Path(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


IncidentStatusIn = Literal["investigating", "identified", "monitoring", "resolved"]
MaintenanceStatusIn = Literal["scheduled", "in-progress", "verifying", "completed", "cancelled"]


def _json(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra``: the body a route reads itself (a flat model: no $defs to place)."""
    schema = model.model_json_schema()
    assert "$defs" not in schema, model
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class UpdateIn(_In):
    """One step, written now (``at`` left out) or dated when it happened."""

    status: IncidentStatusIn
    text: Text | None = Field(None, description="for customers: naming internals is refused")
    at: Timestamp | None = Field(None, description="default: now")


class MaintenanceUpdateIn(_In):
    status: MaintenanceStatusIn = Field(
        description="verifying, completed, cancelled (in-progress, scheduled: the clock says "
        "those by itself)"
    )
    text: Text | None = Field(None, description="for customers: naming internals is refused")
    at: Timestamp | None = Field(None, description="default: now")


class IncidentIn(UpdateIn):
    """A new incident and its first update; ``id`` left out: one is made."""

    id: Id | None = None
    title: Title | None = None
    # an incident concerns a few services and alarms; a body stays far below MAX_BODY
    services: Annotated[list[Id], Field(max_length=100)] = Field(default_factory=list)
    alarms: Annotated[list[Id], Field(max_length=100)] = Field(default_factory=list)
    impact: Literal["outage", "degraded", "none"] | None = None


class EntryOut(BaseModel):
    at: datetime
    status: str
    text: str | None


class IncidentOut(BaseModel):
    """An incident as staff and sources wrote it (customers see it through their policies)."""

    id: str
    title: str | None
    services: list[str]
    alarms: list[str]
    impact: str | None
    status: str = Field(description="its latest written update's")
    updates: list[EntryOut]
    revision: int = Field(description="the data revision that holds it as shown")


class MaintenanceOut(BaseModel):
    id: str
    start: datetime
    end: datetime
    status: str = Field(description="now, as customers are told it (the clock's steps too)")
    updates: list[EntryOut] = Field(description="the timeline customers are told")
    revision: int


async def _staff(principal: CurrentPrincipal) -> None:
    """Refuses anyone but staff before the request body is even looked at."""
    if principal.role != "staff":
        raise Forbidden("only staff may write incidents and maintenance updates")


Staff = Annotated[None, Depends(_staff)]


async def _body(request: Request, model: type[M]) -> M:
    raw = await read_body(request, MAX_BODY)
    try:
        return model.model_validate(decode_json(raw))
    except ValidationError as exc:
        problems = [Problem(json_path(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        raise InvalidInput(problems) from None


def _entries(updates: Any) -> list[EntryOut]:
    return [EntryOut(at=u.at, status=u.status, text=u.text) for u in updates]


def _incident(record: IncidentRecord, revision: int) -> IncidentOut:
    return IncidentOut(
        id=record.incident_id,
        title=record.title,
        services=list(record.services),
        alarms=list(record.alarms),
        impact=record.impact,
        status=record.updates[-1].status if record.updates else "investigating",
        updates=_entries(record.updates),
        revision=revision,
    )


def _maintenance(window: Maintenance, revision: int) -> MaintenanceOut:
    timeline = maintenance_timeline(window, datetime.now(UTC))
    return MaintenanceOut(
        id=window.maintenance_id,
        start=window.start,
        end=window.end,
        status=timeline.status,
        updates=_entries(timeline.entries),
        revision=revision,
    )


def _check(gateway: Any, update: StatusUpdate, title: str | None = None) -> None:
    """Refuse (422, at ``$.text``, ``$.title``, ``$.at``) text naming the network's
    internals, and an update dated ahead. Blocking: off the event loop."""
    vocab = vocabulary(gateway.screen, gateway.store.snapshot)
    problems = check_text(vocab, title, ("title",))
    problems += check_update(vocab, update, (), datetime.now(UTC))
    if problems:
        raise InvalidInput(problems)


async def _commit(request: Request, principal: CurrentPrincipal, change: Change,
                  kind: str, detail: dict[str, Any]) -> int:  # fmt: skip
    """Commit (durable before this returns), and record who wrote what, durably too."""
    gateway = request.app.state.gateway
    snapshot = await gateway.store.commit(change, principal.id)
    event = Event(kind, principal.id, revision=snapshot.revision, detail=detail)
    await gateway.audit.record(event)
    revision: int = snapshot.revision
    return revision


def _update(body: UpdateIn | MaintenanceUpdateIn) -> StatusUpdate:
    return StatusUpdate(body.at or datetime.now(UTC), body.status, body.text)


@router.post(
    "/incidents",
    response_model=IncidentOut,
    responses=errors(409),
    openapi_extra=_json(IncidentIn),
    summary="Declare an incident with its first update",
)
async def declare(request: Request, principal: CurrentPrincipal, _: Staff) -> IncidentOut:
    body = await _body(request, IncidentIn)
    ident = body.id or f"INC-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
    gateway = request.app.state.gateway
    if ident in gateway.store.snapshot.incidents:
        raise Conflict(f"incident {ident} exists: POST an update to /v1/admin/incidents/"
                       f"{ident}/updates")  # fmt: skip
    update = _update(body)
    await asyncio.to_thread(_check, gateway, update, body.title)
    patch = IncidentPatch(
        ident,
        title=body.title,
        services=tuple(dict.fromkeys(body.services)),
        alarms=tuple(dict.fromkeys(body.alarms)),
        impact=body.impact,
        updates=(update,),
    )
    detail = {"incident": ident, "status": update.status, "title": body.title,
              "text": update.text}  # fmt: skip
    revision = await _commit(request, principal, UpsertIncidents((patch,)), "incident", detail)
    return _incident(gateway.store.snapshot.incidents[ident], revision)


def _latest(record: IncidentRecord) -> tuple[datetime, str]:
    return (record.updates[-1].at if record.updates else _NEVER), record.incident_id


_NEVER = datetime.min.replace(tzinfo=UTC)


@router.get(
    "/incidents",
    response_model=list[IncidentOut],
    summary="Declared incidents, the latest updated first",
)
async def list_incidents(
    request: Request,
    principal: CurrentPrincipal,
    _: Staff,
    service: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[IncidentOut]:
    snapshot = request.app.state.gateway.store.snapshot
    records = (
        snapshot.incidents_by_service.get(service, {}).values()
        if service is not None
        else snapshot.incidents.values()
    )
    latest = sorted(records, key=_latest, reverse=True)
    return [_incident(r, snapshot.revision) for r in latest[:limit]]


@router.get("/incidents/{incident_id}", response_model=IncidentOut, summary="One declared incident")
async def get_incident(
    request: Request, principal: CurrentPrincipal, _: Staff, incident_id: PathId
) -> IncidentOut:
    snapshot = request.app.state.gateway.store.snapshot
    record = snapshot.incidents.get(incident_id)
    if record is None:
        raise NotFound(f"no incident {incident_id}")
    return _incident(record, snapshot.revision)


@router.post(
    "/incidents/{incident_id}/updates",
    response_model=IncidentOut,
    openapi_extra=_json(UpdateIn),
    summary="Add an update to an incident's timeline",
)
async def update_incident(
    request: Request, principal: CurrentPrincipal, _: Staff, incident_id: PathId
) -> IncidentOut:
    gateway = request.app.state.gateway
    if incident_id not in gateway.store.snapshot.incidents:
        raise NotFound(f"no incident {incident_id}")
    body = await _body(request, UpdateIn)
    update = _update(body)
    await asyncio.to_thread(_check, gateway, update)
    change = UpsertIncidents((IncidentPatch(incident_id, updates=(update,)),))
    detail = {"incident": incident_id, "status": update.status, "text": update.text}
    revision = await _commit(request, principal, change, "incident-update", detail)
    return _incident(gateway.store.snapshot.incidents[incident_id], revision)


@router.post(
    "/maintenance/{maintenance_id}/updates",
    response_model=MaintenanceOut,
    openapi_extra=_json(MaintenanceUpdateIn),
    summary="Add an update to planned work: verifying, completed, cancelled, with text",
)
async def update_maintenance(
    request: Request, principal: CurrentPrincipal, _: Staff, maintenance_id: PathId
) -> MaintenanceOut:
    gateway = request.app.state.gateway
    if maintenance_id not in gateway.store.snapshot.maintenance:
        raise NotFound(f"no maintenance window {maintenance_id}")
    body = await _body(request, MaintenanceUpdateIn)
    update = _update(body)
    await asyncio.to_thread(_check, gateway, update)
    change = AddMaintenanceUpdates(((maintenance_id, update),))
    detail = {"maintenance": maintenance_id, "status": update.status, "text": update.text}
    revision = await _commit(request, principal, change, "maintenance-update", detail)
    return _maintenance(gateway.store.snapshot.maintenance[maintenance_id], revision)
