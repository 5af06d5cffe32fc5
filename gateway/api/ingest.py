"""Internal listener routes for sources: validate, commit, and only then acknowledge."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.requests import ClientDisconnect

from gateway.api.deps import CurrentPrincipal
from gateway.api.openapi import body, errors
from gateway.api.written import check_change
from gateway.errors import BodyIncomplete, Forbidden, PayloadTooLarge, UnsupportedMediaType
from gateway.ingest import (
    AlarmsDoc,
    AlertLabelMap,
    AlertmanagerWebhook,
    AlertStats,
    IncidentsDoc,
    MaintenanceDoc,
    MetricsDoc,
    ServiceDeletionDoc,
    ServicesDoc,
    TopologyDoc,
    decode_json,
    parse_alarms,
    parse_alertmanager_report,
    parse_incidents,
    parse_maintenance,
    parse_metrics,
    parse_services,
    parse_topology,
)
from gateway.model import Change

router = APIRouter(prefix="/v1/ingest", tags=["ingest"])
log = logging.getLogger("demarc.ingest")


# the request bodies, as in schemas/: the models the parsers validate with
PREFIX = "ingest."
BODIES = (TopologyDoc, AlertmanagerWebhook, ServicesDoc, ServiceDeletionDoc, AlarmsDoc,
          MetricsDoc, MaintenanceDoc, IncidentsDoc)  # fmt: skip


class Accepted(BaseModel):
    """The change is durable: it survives a crash from the moment this is sent."""

    model_config = ConfigDict(extra="forbid")

    revision: int
    kind: str


JSON = "application/json"


def media_type(request: Request) -> str | None:
    """The request's Content-Type without parameters, lower-cased; None when it has none."""
    given = request.headers.get("content-type")
    return None if given is None else given.split(";", 1)[0].strip().lower()


async def read_body(request: Request, limit: int, accept: tuple[str, ...] = (JSON,)) -> bytes:
    """The body, refused with 413 past ``limit`` bytes before it is all read, and with 415
    when its Content-Type is not one of ``accept`` (a body must say what it is)."""
    kind = media_type(request)
    if kind is not None and kind not in accept:
        raise UnsupportedMediaType(_unsupported(accept))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the payload is larger than the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the payload is larger than the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # gone, or closed by the body timeout: nothing to answer, and nothing unexpected
        raise BodyIncomplete("the request body did not arrive in time") from None
    if kind is None and size:
        raise UnsupportedMediaType(_unsupported(accept))
    return b"".join(chunks)


def _unsupported(accept: tuple[str, ...]) -> str:
    return f"the body needs Content-Type {' or '.join(accept)}"


async def _ingest(
    request: Request, principal: CurrentPrincipal, kind: str, parse: Callable[[Any], Change]
) -> Accepted:
    if principal.role != "source":
        raise Forbidden("only sources may ingest")
    gateway = request.app.state.gateway
    body = await read_body(request, gateway.settings.max_body_bytes)

    def decode_and_parse() -> Change:
        change = parse(decode_json(body))
        # text written for customers: refused here if it names the network's internals
        check_change(gateway.screen, gateway.store.snapshot, change, datetime.now(UTC))
        return change

    # parsing a large topology is CPU work: keep it off the event loop
    change = await asyncio.to_thread(decode_and_parse)
    snapshot = await gateway.store.commit(change, principal.id)
    return Accepted(revision=snapshot.revision, kind=kind)


_ERRORS = errors(507)


def _body(*models: type[BaseModel]) -> dict[str, Any]:
    return body(*models, prefix=PREFIX)


@router.put(
    "/topology",
    response_model=Accepted,
    responses=_ERRORS,
    openapi_extra=_body(TopologyDoc),
    summary="Replace the topology (RFC 8345 + RFC 8346, RFC 8795 attributes)",
)
async def topology(request: Request, principal: CurrentPrincipal) -> Accepted:
    return await _ingest(request, principal, "topology", parse_topology)


@router.post(
    "/alertmanager",
    response_model=Accepted,
    responses=_ERRORS,
    openapi_extra=_body(AlertmanagerWebhook),
    summary="Alertmanager webhook v4: firing raises, resolved clears",
)
async def alertmanager(request: Request, principal: CurrentPrincipal) -> Accepted:
    gateway = request.app.state.gateway
    labels: AlertLabelMap = gateway.alert_labels
    reports: list[AlertStats] = []

    def parse(doc: Any) -> Change:
        change, report = parse_alertmanager_report(doc, labels)
        reports.append(report)
        return change

    accepted = await _ingest(request, principal, "alarms", parse)
    (report,) = reports
    gateway.alert_stats.add(report)  # counted once acknowledged, like the alarms themselves
    if report.truncated_alerts:
        log.warning(
            "%s sent a webhook without %d alerts (Alertmanager truncated it: raise max_alerts "
            "in its webhook_config, or expect the missing alerts in a later notification)",
            principal.id,
            report.truncated_alerts,
        )
    return accepted


@router.post(
    "/services",
    response_model=Accepted,
    responses=_ERRORS,
    openapi_extra=_body(ServicesDoc, ServiceDeletionDoc),
    summary="Upsert services, or delete them by id",
)
async def services(request: Request, principal: CurrentPrincipal) -> Accepted:
    return await _ingest(request, principal, "services", parse_services)


@router.post(
    "/alarms",
    response_model=Accepted,
    responses=_ERRORS,
    openapi_extra=_body(AlarmsDoc),
    summary="Raise, update or clear alarms (Demarc JSON)",
)
async def alarms(request: Request, principal: CurrentPrincipal) -> Accepted:
    return await _ingest(request, principal, "alarms", parse_alarms)


@router.post(
    "/metrics",
    response_model=Accepted,
    responses=_ERRORS,
    openapi_extra=_body(MetricsDoc),
    summary="Add metric samples",
)
async def metrics(request: Request, principal: CurrentPrincipal) -> Accepted:
    return await _ingest(request, principal, "metrics", parse_metrics)


@router.post(
    "/maintenance",
    response_model=Accepted,
    responses=_ERRORS,
    openapi_extra=_body(MaintenanceDoc),
    summary="Upsert maintenance windows, with updates written for customers",
)
async def maintenance(request: Request, principal: CurrentPrincipal) -> Accepted:
    return await _ingest(request, principal, "maintenance", parse_maintenance)


@router.post(
    "/incidents",
    response_model=Accepted,
    responses=_ERRORS,
    openapi_extra=_body(IncidentsDoc),
    summary="Declare or update incidents: title, services, alarms, timeline updates",
)
async def incidents(request: Request, principal: CurrentPrincipal) -> Accepted:
    return await _ingest(request, principal, "incidents", parse_incidents)
