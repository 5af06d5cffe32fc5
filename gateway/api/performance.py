"""Peer route: an interconnect's performance history, downsampled, as the policy discloses it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import NOT_FOUND, CurrentPrincipal, error_response
from gateway.api.fastpath import etag_matches
from gateway.api.openapi import error
from gateway.api.public import IfNoneMatch
from gateway.disclosure.performance import GRANULARITIES, find_interconnect, performance_doc
from gateway.disclosure.policy import PeerPolicy
from gateway.errors import InvalidInput, Problem
from gateway.ingest import Timestamp
from gateway.views.pages import etag_of

router = APIRouter(prefix="/v1", tags=["views"])
_encode = msgspec.json.Encoder().encode

#: the longest span one request may cover, per granularity (about 2,000 buckets a metric)
MAX_SPAN = {"5m": timedelta(days=7), "1h": timedelta(days=90)}
#: what a request without ``since`` covers
DEFAULT_SPAN = {"5m": timedelta(days=1), "1h": timedelta(days=7)}


class Bucket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: str = Field(description="the bucket's start (UTC); it covers one granularity")
    min: float
    avg: float
    max: float


class Performance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interconnect: str = Field(description="the circuit, as the interconnects view names it")
    granularity: Literal["5m", "1h"]
    since: str
    until: str
    series: dict[str, list[Bucket]] = Field(
        description="per metric the policy discloses (utilisation_pct, delay_ms, loss_pct, "
        "errors_per_s): its buckets with samples, oldest first"
    )


class PerformanceView(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: str
    view: Literal["performance"]
    policy_version: str
    performance: Performance


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The circuit's buckets in the span asked for"},
    304: {"description": "Not modified: If-None-Match names its ETag"},
    404: error(404, "No such interconnect of this peer, or its policy discloses no "
                    "performance history"),
}  # fmt: skip


def _problem(where: str, message: str) -> InvalidInput:
    return InvalidInput([Problem(where, message)], "the request is invalid: see problems")


def _span(
    granularity: str, since: datetime | None, until: datetime | None, now: datetime, days: int
) -> tuple[datetime, datetime]:
    """[since, until) as asked (defaults: until now, a day of 5-minute or a week of hourly
    buckets), within what the policy lets this peer look back to."""
    until = until or now
    since = since or until - DEFAULT_SPAN[granularity]
    if since >= until:
        raise _problem("query.since", "since must be before until")
    if until - since > MAX_SPAN[granularity]:
        limit = MAX_SPAN[granularity].days
        raise _problem("query.since", f"at most {limit} days of {granularity} buckets a request")
    return max(since, now - timedelta(days=days)), until


@router.get("/interconnects/{interconnect_id}/performance", response_model=PerformanceView,
            responses=_RESPONSES,
            summary="Peer: an interconnect's measurements as min/avg/max per 5 minutes "
                    "(7 days) or per hour (90 days)")  # fmt: skip
async def performance(
    request: Request,
    principal: CurrentPrincipal,
    interconnect_id: Annotated[str, Path(max_length=256)],
    granularity: Annotated[Literal["5m", "1h"], Query(description="bucket width")] = "5m",
    since: Annotated[Timestamp | None, Query(description="RFC 3339, with an offset")] = None,
    until: Annotated[Timestamp | None, Query(description="RFC 3339, with an offset")] = None,
    inm: IfNoneMatch = None,
) -> Response:
    gateway = request.app.state.gateway
    compiled = gateway.policies.for_audience(principal.id)
    policy = compiled.loaded.policy if compiled is not None else None
    if not isinstance(policy, PeerPolicy) or policy.disclose.performance is None:
        return error_response(404, "not_found", NOT_FOUND)
    rule = policy.disclose.performance
    now = datetime.now(UTC)
    start, end = _span(granularity, since, until, now, rule.days)
    snapshot = gateway.store.snapshot
    pseudonym = gateway.pseudonymizer(principal.id)
    link = find_interconnect(snapshot, policy, principal.id, pseudonym, interconnect_id, now)
    if link is None:  # another peer's circuit is answered as one that does not exist
        return error_response(404, "not_found", NOT_FOUND)
    width = GRANULARITIES[granularity]
    series = await asyncio.to_thread(
        gateway.rollups.series, link.link_id, list(rule.metrics), width, start, end
    )
    doc = performance_doc(rule, interconnect_id, granularity, start, end, series)
    body = _encode(
        {
            "audience": principal.id,
            "view": "performance",
            "policy_version": compiled.version,
            "performance": doc,
        }
    )
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag_matches(inm, etag):
        return Response(status_code=304, headers=headers)
    revision = snapshot.kind_revisions.get("metrics", 0)
    gateway.audit.disclosed(
        principal.id, f"performance/{interconnect_id}", revision, compiled.version, etag
    )
    # not pre-scanned: the egress guard scans these bytes with the audience's terms
    return Response(body, media_type="application/json", headers=headers)
