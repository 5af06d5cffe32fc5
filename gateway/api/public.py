"""Public listener routes: peers and customers read their views, served from rendered bytes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from gateway.api.deps import NOT_FOUND, CurrentPrincipal, error_response
from gateway.api.fastpath import YANG, etag_matches, view_headers
from gateway.api.filters import Filter, filtered
from gateway.api.held import Prefer, Wait, hold
from gateway.api.openapi import error
from gateway.api.paging import BAD_CURSOR, CURSOR_DOC, DEFAULT_LIMIT, LIMIT_DOC, MAX_LIMIT, select
from gateway.api.public_models import (
    HistoryItem,
    HistoryView,
    IncidentsView,
    InterconnectsView,
    MaintenanceView,
    PeerAlarmsView,
    Rfc8345View,
    ServiceItem,
    ServicesView,
    SummaryView,
    TopologyView,
    ViewIndex,
)
from gateway.errors import InvalidInput, Problem
from gateway.ingest import Timestamp
from gateway.leakguard.egress import PRESCANNED
from gateway.views import AudienceViews, RenderedView, Served
from gateway.views.cursor import MAX_CURSOR, CursorError

# a GET of a view that exists is answered by fastpath.ViewFastPath before it gets here: these
# routes answer the rest (missing or withheld views, the index) and describe the API in OpenAPI
router = APIRouter(prefix="/v1", tags=["views"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=LIMIT_DOC)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=MAX_CURSOR, description=CURSOR_DOC)]
ServiceFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=256,
        description="only items of this service (its published id): a service's own item, or "
        "items whose `services` name it",
    ),
]
Since = Annotated[
    Timestamp | None,
    Query(description="only items whose published period (e.g. started_at to cleared_at, "
          "start to end, a history's days) reaches past this RFC 3339 time, with an offset; "
          "an item that publishes no time is in every period"),
]  # fmt: skip
Until = Annotated[
    Timestamp | None,
    Query(description="only items whose published period begins before this RFC 3339 time "
          "(after `since`)"),
]  # fmt: skip
NO_FILTER = Filter()
IfNoneMatch = Annotated[
    str | None,
    Header(alias="If-None-Match", description="an ETag from an earlier answer: 304 if unchanged"),
]
_HEADERS = {
    "ETag": ("strong: the first 128 bits of the SHA-256 of the body", "string"),
    "Demarc-Revision": ("the data revision at which this view's content last changed", "integer"),
    "Demarc-Policy-Version": ("the policy version it was rendered under", "string"),
    "Cache-Control": ("always `private, no-cache`: revalidate with If-None-Match", "string"),
}
VIEW_HEADERS = {
    name: {"description": words, "required": True, "schema": {"type": kind}}
    for name, (words, kind) in _HEADERS.items()
}


class YangResponse(JSONResponse):
    """Only names the media type in the document: the route sends the rendered bytes."""

    media_type = YANG


def _view_responses() -> dict[int | str, dict[str, Any]]:
    return {
        200: {"description": "The view, as rendered for this audience", "headers": VIEW_HEADERS},
        304: {"description": "Not modified: If-None-Match names its ETag", "headers": VIEW_HEADERS},
        404: error(404, "No such view for this audience (its policy does not disclose it)"),
        503: error(503),
    }


_VIEW = _view_responses()
_LIST = {
    **_VIEW,
    422: error(422, "a `limit` out of range, a `since` or `until` that is not an RFC 3339 "
                    "time with an offset (or an `until` not after `since`), or a cursor not "
                    "issued for this view (`invalid_cursor`)"),
}  # fmt: skip


def _send(
    request: Request,
    who: str,
    name: str,
    views: AudienceViews,
    view: Served | None,
    if_none_match: str | None,
    media_type: str = "application/json",
    link: str | None = None,
    prescanned: bool = True,
) -> Response:
    if view is None:
        if name in views.withheld:  # the leak guard stopped it and there is nothing older
            return error_response(503, "withheld", "this view is temporarily unavailable")
        return error_response(404, "not_found", NOT_FOUND)
    # these bytes were scanned before they were published (a filtered list's are cut from
    # them but joined anew: the egress guard scans those on the way out)
    request.scope[PRESCANNED] = prescanned
    headers = view_headers(view, link)
    if etag_matches(if_none_match, view.etag):
        return Response(status_code=304, headers=headers)
    # a list append: the audit log writes its buffer in batches, off the request path
    audit = request.app.state.gateway.audit
    audit.disclosed(who, name, view.revision, view.policy_version, view.etag)
    return Response(view.body, media_type=media_type, headers=headers)


async def _view(
    request: Request,
    principal: CurrentPrincipal,
    name: str,
    inm: str | None,
    wait: str | None = None,
    prefer: str | None = None,
) -> Response:
    cache = request.app.state.gateway.cache

    def current() -> RenderedView | None:
        found: RenderedView | None = cache.get(principal.id).views.get(name)
        return found

    held = await hold(request, principal.id, name, inm, wait, prefer, current)
    if held is not None:
        return held
    views = cache.get(principal.id)
    return _send(request, principal.id, name, views, views.views.get(name), inm)


async def _list(
    request: Request,
    principal: CurrentPrincipal,
    name: str,
    inm: str | None,
    limit: int,
    cursor: str | None,
    flt: Filter = NO_FILTER,
    wait: str | None = None,
    prefer: str | None = None,
) -> Response:
    """A page of a list view: ``limit`` items after the item ``cursor`` names, of those the
    filter selects."""
    gateway = request.app.state.gateway
    cursors = gateway.cursors
    path = request.url.path

    def current() -> RenderedView | None:
        view = gateway.cache.get(principal.id).views.get(name)
        if view is None:
            return None
        if flt and view.pages is not None:
            view = filtered(view, name, flt)
        try:
            page: RenderedView = select(
                view, principal.id, name, path, cursors, limit, cursor, flt.query()
            ).view
        except CursorError:
            return None
        return page

    held = await hold(request, principal.id, name, inm, wait, prefer, current)
    if held is not None:
        return held
    views = gateway.cache.get(principal.id)
    view = views.views.get(name)
    if view is None:
        return _send(request, principal.id, name, views, None, inm)
    if flt and view.pages is not None:
        view = filtered(view, name, flt)
    try:
        page = select(view, principal.id, name, request.url.path, cursors, limit, cursor,
                      flt.query())  # fmt: skip
    except CursorError:
        problems = [{"where": "query.cursor", "message": BAD_CURSOR}]
        return error_response(422, "invalid_cursor", BAD_CURSOR, problems=problems)
    return _send(request, principal.id, name, views, page.view, inm, link=page.link,
                 prescanned=not flt)  # fmt: skip


def _filter(service: str | None, since: datetime | None, until: datetime | None) -> Filter:
    if since is not None and until is not None and until <= since:
        raise InvalidInput([Problem("query.until", "until is not after since")])
    return Filter(frozenset([service] if service is not None else ()), since, until)


def _href(view: str) -> str:
    return "/v1/" + view.replace("-rfc8345", "/rfc8345")


async def _item(
    request: Request,
    principal: CurrentPrincipal,
    view: str,
    item_id: str,
    inm: str | None,
    wait: str | None = None,
    prefer: str | None = None,
) -> Response:
    """One item of a view, rendered on its own (``/v1/services/{id}``, ``/v1/history/{id}``)."""
    cache = request.app.state.gateway.cache

    def current() -> Served | None:
        found: Served | None = cache.get(principal.id).items.get((view, item_id))
        return found

    held = await hold(request, principal.id, view, inm, wait, prefer, current)
    if held is not None:
        return held
    views = cache.get(principal.id)
    item = views.items.get((view, item_id))
    return _send(request, principal.id, f"{view}/{item_id}", views, item, inm)


@router.get("/views", response_model=ViewIndex, summary="The views this audience may read",
            responses={503: error(503)})  # fmt: skip
async def index(request: Request, principal: CurrentPrincipal) -> Response:
    views = request.app.state.gateway.cache.get(principal.id).views
    body = {
        "audience": principal.id,
        "views": [
            {"view": name, "href": _href(name), "etag": v.etag, "revision": v.revision}
            for name, v in sorted(views.items())
        ],
    }
    return Response(msgspec.json.encode(body), media_type="application/json")


@router.get("/interconnects", response_model=InterconnectsView, responses=_LIST,
            summary="Peer: the interconnect links to this peer")  # fmt: skip
async def interconnects(
    request: Request,
    principal: CurrentPrincipal,
    inm: IfNoneMatch = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    wait: Wait = None,
    prefer: Prefer = None,
) -> Response:
    return await _list(
        request, principal, "interconnects", inm, limit, cursor, wait=wait, prefer=prefer
    )


@router.get("/alarms", response_model=PeerAlarmsView, responses=_LIST,
            summary="Peer: alarms on this peer's interconnects")  # fmt: skip
async def alarms(
    request: Request,
    principal: CurrentPrincipal,
    inm: IfNoneMatch = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    since: Since = None,
    until: Until = None,
    wait: Wait = None,
    prefer: Prefer = None,
) -> Response:
    return await _list(
        request, principal, "alarms", inm, limit, cursor, _filter(None, since, until), wait, prefer
    )


@router.get("/maintenance", response_model=MaintenanceView, responses=_LIST,
            summary="Peer or customer: planned work that affects this audience")  # fmt: skip
async def maintenance(
    request: Request,
    principal: CurrentPrincipal,
    inm: IfNoneMatch = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    service: ServiceFilter = None,
    since: Since = None,
    until: Until = None,
    wait: Wait = None,
    prefer: Prefer = None,
) -> Response:
    flt = _filter(service, since, until)
    return await _list(request, principal, "maintenance", inm, limit, cursor, flt, wait, prefer)


@router.get("/services", response_model=ServicesView, responses=_LIST,
            summary="Customer: its services with their derived status")  # fmt: skip
async def services(
    request: Request,
    principal: CurrentPrincipal,
    inm: IfNoneMatch = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    service: ServiceFilter = None,
    since: Since = None,
    until: Until = None,
    wait: Wait = None,
    prefer: Prefer = None,
) -> Response:
    flt = _filter(service, since, until)
    return await _list(request, principal, "services", inm, limit, cursor, flt, wait, prefer)


@router.get("/services/{service_id}", response_model=ServiceItem, responses=_VIEW,
            summary="Customer: one of its services")  # fmt: skip
async def service(
    request: Request,
    principal: CurrentPrincipal,
    service_id: Annotated[str, Path(max_length=256)],
    inm: IfNoneMatch = None,
    wait: Wait = None,
    prefer: Prefer = None,
) -> Response:
    return await _item(request, principal, "services", service_id, inm, wait, prefer)


@router.get("/incidents", response_model=IncidentsView, responses=_LIST,
            summary="Customer: incidents affecting its services")  # fmt: skip
async def incidents(
    request: Request,
    principal: CurrentPrincipal,
    inm: IfNoneMatch = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    service: ServiceFilter = None,
    since: Since = None,
    until: Until = None,
    wait: Wait = None,
    prefer: Prefer = None,
) -> Response:
    flt = _filter(service, since, until)
    return await _list(request, principal, "incidents", inm, limit, cursor, flt, wait, prefer)


@router.get("/summary", response_model=SummaryView, responses=_VIEW,
            summary="Customer: overall status, services by group, open incidents and "
                    "maintenance: one small document for a dashboard to poll")  # fmt: skip
async def summary(
    request: Request,
    principal: CurrentPrincipal,
    inm: IfNoneMatch = None,
    wait: Wait = None,
    prefer: Prefer = None,
) -> Response:
    return await _view(request, principal, "summary", inm, wait, prefer)


@router.get("/history", response_model=HistoryView, responses=_LIST,
            summary="Customer: daily availability per service, SLA met per month; `since` "
                    "and `until` keep the days and months of a period")  # fmt: skip
async def history(
    request: Request,
    principal: CurrentPrincipal,
    inm: IfNoneMatch = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    service: ServiceFilter = None,
    since: Since = None,
    until: Until = None,
    wait: Wait = None,
    prefer: Prefer = None,
) -> Response:
    flt = _filter(service, since, until)
    return await _list(request, principal, "history", inm, limit, cursor, flt, wait, prefer)


@router.get("/history/{service_id}", response_model=HistoryItem, responses=_VIEW,
            summary="Customer: one service's availability history")  # fmt: skip
async def service_history(
    request: Request,
    principal: CurrentPrincipal,
    service_id: Annotated[str, Path(max_length=256)],
    inm: IfNoneMatch = None,
    wait: Wait = None,
    prefer: Prefer = None,
) -> Response:
    return await _item(request, principal, "history", service_id, inm, wait, prefer)


@router.get("/topology", response_model=TopologyView, responses=_VIEW,
            summary="Peer: the topology its policy exposes, as Demarc JSON (ACTN modes: "
                    "interconnect, abstract, single-node, filtered)")  # fmt: skip
async def topology(
    request: Request,
    principal: CurrentPrincipal,
    inm: IfNoneMatch = None,
    wait: Wait = None,
    prefer: Prefer = None,
) -> Response:
    return await _view(request, principal, "topology", inm, wait, prefer)


@router.get("/topology/rfc8345", response_model=Rfc8345View, responses=_VIEW,
            response_class=YangResponse,
            summary="Peer: the same topology as RFC 8345 + RFC 8795 JSON")  # fmt: skip
async def topology_rfc8345(
    request: Request,
    principal: CurrentPrincipal,
    inm: IfNoneMatch = None,
    wait: Wait = None,
    prefer: Prefer = None,
) -> Response:
    cache, name = request.app.state.gateway.cache, "topology-rfc8345"

    def current() -> RenderedView | None:
        found: RenderedView | None = cache.get(principal.id).views.get(name)
        return found

    held = await hold(request, principal.id, name, inm, wait, prefer, current)
    if held is not None:
        return held
    views = cache.get(principal.id)
    return _send(request, principal.id, name, views, views.views.get(name), inm,
                 YANG)  # fmt: skip
