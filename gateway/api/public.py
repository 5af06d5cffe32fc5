"""Public listener routes: peers and customers read their views, served from rendered bytes."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse, Response

from gateway.api.deps import NOT_FOUND, CurrentPrincipal, error_response
from gateway.api.fastpath import YANG, etag_matches, view_headers
from gateway.api.openapi import error
from gateway.api.public_models import (
    IncidentsView,
    InterconnectsView,
    MaintenanceView,
    PeerAlarmsView,
    Rfc8345View,
    ServiceItem,
    ServicesView,
    TopologyView,
    ViewIndex,
)
from gateway.leakguard.egress import PRESCANNED
from gateway.views import AudienceViews, RenderedView

# a GET of a view that exists is answered by fastpath.ViewFastPath before it gets here: these
# routes answer the rest (missing or withheld views, the index) and describe the API in OpenAPI
router = APIRouter(prefix="/v1", tags=["views"])

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


def _send(
    request: Request,
    who: str,
    name: str,
    views: AudienceViews,
    view: RenderedView | None,
    if_none_match: str | None,
    media_type: str = "application/json",
) -> Response:
    if view is None:
        if name in views.withheld:  # the leak guard stopped it and there is nothing older
            return error_response(503, "withheld", "this view is temporarily unavailable")
        return error_response(404, "not_found", NOT_FOUND)
    request.scope[PRESCANNED] = True  # these bytes were scanned before they were published
    headers = view_headers(view)
    if etag_matches(if_none_match, view.etag):
        return Response(status_code=304, headers=headers)
    # a list append: the audit log writes its buffer in batches, off the request path
    audit = request.app.state.gateway.audit
    audit.disclosed(who, name, view.revision, view.policy_version, view.etag)
    return Response(view.body, media_type=media_type, headers=headers)


def _view(request: Request, principal: CurrentPrincipal, name: str, inm: str | None) -> Response:
    views = request.app.state.gateway.cache.get(principal.id)
    return _send(request, principal.id, name, views, views.views.get(name), inm)


def _href(view: str) -> str:
    return "/v1/" + view.replace("-rfc8345", "/rfc8345")


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


@router.get("/interconnects", response_model=InterconnectsView, responses=_VIEW,
            summary="Peer: the interconnect links to this peer")  # fmt: skip
async def interconnects(
    request: Request, principal: CurrentPrincipal, inm: IfNoneMatch = None
) -> Response:
    return _view(request, principal, "interconnects", inm)


@router.get("/alarms", response_model=PeerAlarmsView, responses=_VIEW,
            summary="Peer: alarms on this peer's interconnects")  # fmt: skip
async def alarms(
    request: Request, principal: CurrentPrincipal, inm: IfNoneMatch = None
) -> Response:
    return _view(request, principal, "alarms", inm)


@router.get("/maintenance", response_model=MaintenanceView, responses=_VIEW,
            summary="Peer or customer: planned work that affects this audience")  # fmt: skip
async def maintenance(
    request: Request, principal: CurrentPrincipal, inm: IfNoneMatch = None
) -> Response:
    return _view(request, principal, "maintenance", inm)


@router.get("/services", response_model=ServicesView, responses=_VIEW,
            summary="Customer: its services with their derived status")  # fmt: skip
async def services(
    request: Request, principal: CurrentPrincipal, inm: IfNoneMatch = None
) -> Response:
    return _view(request, principal, "services", inm)


@router.get("/services/{service_id}", response_model=ServiceItem, responses=_VIEW,
            summary="Customer: one of its services")  # fmt: skip
async def service(
    request: Request,
    principal: CurrentPrincipal,
    service_id: Annotated[str, Path(max_length=256)],
    inm: IfNoneMatch = None,
) -> Response:
    views = request.app.state.gateway.cache.get(principal.id)
    item = views.items.get(("services", service_id))
    return _send(request, principal.id, f"services/{service_id}", views, item, inm)


@router.get("/incidents", response_model=IncidentsView, responses=_VIEW,
            summary="Customer: incidents affecting its services")  # fmt: skip
async def incidents(
    request: Request, principal: CurrentPrincipal, inm: IfNoneMatch = None
) -> Response:
    return _view(request, principal, "incidents", inm)


@router.get("/topology", response_model=TopologyView, responses=_VIEW,
            summary="Peer: the topology its policy exposes, as Demarc JSON (ACTN modes: "
                    "interconnect, abstract, single-node, filtered)")  # fmt: skip
async def topology(
    request: Request, principal: CurrentPrincipal, inm: IfNoneMatch = None
) -> Response:
    return _view(request, principal, "topology", inm)


@router.get("/topology/rfc8345", response_model=Rfc8345View, responses=_VIEW,
            response_class=YangResponse,
            summary="Peer: the same topology as RFC 8345 + RFC 8795 JSON")  # fmt: skip
async def topology_rfc8345(
    request: Request, principal: CurrentPrincipal, inm: IfNoneMatch = None
) -> Response:
    views = request.app.state.gateway.cache.get(principal.id)
    name = "topology-rfc8345"
    return _send(request, principal.id, name, views, views.views.get(name), inm,
                 YANG)  # fmt: skip
