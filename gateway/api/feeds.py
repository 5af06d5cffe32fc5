"""Feeds on the public listener: Atom of incidents, iCalendar of maintenance windows."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from gateway.api.deps import NOT_FOUND, CurrentPrincipal, error_response
from gateway.api.fastpath import etag_matches
from gateway.api.openapi import error
from gateway.api.public import IfNoneMatch
from gateway.push.feeds import ATOM, ICS

router = APIRouter(prefix="/v1/feeds", tags=["push"])

_HEADERS = {
    "ETag": {"description": "strong: of these bytes", "required": True,
             "schema": {"type": "string"}},
}  # fmt: skip


class AtomResponse(Response):
    media_type = ATOM


class CalendarResponse(Response):
    media_type = ICS


def _responses(media: str, what: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": what, "headers": _HEADERS,
              "content": {media: {"schema": {"type": "string"}}}},
        304: {"description": "Not modified: If-None-Match names its ETag", "headers": _HEADERS},
        404: error(404, "The policy does not disclose the view this feed is made from"),
        503: error(503),
    }  # fmt: skip


async def _feed(
    request: Request, who: str, name: str, source: str, media: str, inm: str | None
) -> Response:
    gateway = request.app.state.gateway
    views = gateway.cache.get(who)
    view = views.views.get(source)
    if view is None:
        if source in views.withheld:
            return error_response(503, "withheld", "this feed is temporarily unavailable")
        return error_response(404, "not_found", NOT_FOUND)
    feeds = gateway.push.feeds
    made = feeds.cached(who, name, view)
    if made is None:
        made = await asyncio.to_thread(feeds.make, who, name, view)
    # the bytes are screened on the way out by the egress guard, like every body not a view
    headers = {"ETag": made.etag, "Cache-Control": "private, no-cache"}
    if etag_matches(inm, made.etag):
        return Response(status_code=304, headers=headers)
    gateway.audit.disclosed(who, f"feeds/{name}", view.revision, view.policy_version,
                            made.etag)  # fmt: skip
    return Response(made.body, media_type=media, headers=headers)


@router.get(
    "/incidents.atom",
    response_class=AtomResponse,
    responses=_responses(ATOM, "Atom (RFC 4287): one entry per incident of the incidents view"),
    summary="Customer: its incidents as an Atom feed, for a feed reader",
)
async def incidents(
    request: Request, principal: CurrentPrincipal, inm: IfNoneMatch = None
) -> Response:
    return await _feed(request, principal.id, "incidents.atom", "incidents", ATOM, inm)


@router.get(
    "/maintenance.ics",
    response_class=CalendarResponse,
    responses=_responses(ICS, "iCalendar (RFC 5545): one event per maintenance window"),
    summary="Customer or peer: planned maintenance as a calendar to subscribe to",
)
async def maintenance(
    request: Request, principal: CurrentPrincipal, inm: IfNoneMatch = None
) -> Response:
    return await _feed(request, principal.id, "maintenance.ics", "maintenance", ICS, inm)
