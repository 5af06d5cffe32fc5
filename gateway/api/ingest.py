"""Internal listener routes for sources: validate, commit, and only then acknowledge."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from gateway.api.deps import CurrentPrincipal
from gateway.errors import BodyIncomplete, Forbidden, PayloadTooLarge
from gateway.ingest import (
    AlertLabelMap,
    AlertStats,
    decode_json,
    parse_alarms,
    parse_alertmanager_report,
    parse_maintenance,
    parse_metrics,
    parse_services,
    parse_topology,
)
from gateway.model import Change

router = APIRouter(prefix="/v1/ingest", tags=["ingest"])
log = logging.getLogger("demarc.ingest")


class Accepted(BaseModel):
    """The change is durable: it survives a crash from the moment this is sent."""

    revision: int
    kind: str


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 past ``limit`` bytes before it is all read."""
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
    return b"".join(chunks)


async def _ingest(
    request: Request, principal: CurrentPrincipal, kind: str, parse: Callable[[Any], Change]
) -> Accepted:
    if principal.role != "source":
        raise Forbidden("only sources may ingest")
    gateway = request.app.state.gateway
    body = await read_body(request, gateway.settings.max_body_bytes)

    def decode_and_parse() -> Change:
        return parse(decode_json(body))

    # parsing a large topology is CPU work: keep it off the event loop
    change = await asyncio.to_thread(decode_and_parse)
    snapshot = await gateway.store.commit(change, principal.id)
    return Accepted(revision=snapshot.revision, kind=kind)


_INVALID: dict[int | str, dict[str, Any]] = {
    413: {"description": "larger than max_body_bytes; nothing stored"},
    422: {"description": "invalid; the JSON path of every problem; nothing stored"},
}


@router.put("/topology", response_model=Accepted, responses=_INVALID,
            summary="Replace the topology (RFC 8345 + RFC 8346, RFC 8795 attributes)")  # fmt: skip
async def topology(request: Request, principal: CurrentPrincipal) -> Accepted:
    return await _ingest(request, principal, "topology", parse_topology)


@router.post("/alertmanager", response_model=Accepted, responses=_INVALID,
             summary="Alertmanager webhook v4: firing raises, resolved clears")  # fmt: skip
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


@router.post("/services", response_model=Accepted, responses=_INVALID,
             summary="Upsert services, or delete them by id")  # fmt: skip
async def services(request: Request, principal: CurrentPrincipal) -> Accepted:
    return await _ingest(request, principal, "services", parse_services)


@router.post("/alarms", response_model=Accepted, responses=_INVALID,
             summary="Raise, update or clear alarms (Demarc JSON)")  # fmt: skip
async def alarms(request: Request, principal: CurrentPrincipal) -> Accepted:
    return await _ingest(request, principal, "alarms", parse_alarms)


@router.post("/metrics", response_model=Accepted, responses=_INVALID,
             summary="Add metric samples")  # fmt: skip
async def metrics(request: Request, principal: CurrentPrincipal) -> Accepted:
    return await _ingest(request, principal, "metrics", parse_metrics)


@router.post("/maintenance", response_model=Accepted, responses=_INVALID,
             summary="Upsert maintenance windows")  # fmt: skip
async def maintenance(request: Request, principal: CurrentPrincipal) -> Accepted:
    return await _ingest(request, principal, "maintenance", parse_maintenance)
