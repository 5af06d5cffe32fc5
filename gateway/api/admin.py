"""Internal listener routes for staff: the state of the gateway and its active policies."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from gateway.api.deps import CurrentPrincipal
from gateway.errors import Forbidden

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class ActivePolicy(BaseModel):
    audience: str
    version: str
    source: str
    views: list[str]


class Status(BaseModel):
    revision: int
    views_revision: int
    kind_revisions: dict[str, int]
    audiences: list[str]
    policies: list[ActivePolicy]
    render_failures: int
    tls_rejections: dict[str, int]


def _staff(principal: CurrentPrincipal) -> None:
    if principal.role != "staff":
        raise Forbidden("only staff may use the admin API")


@router.get("/status", response_model=Status, summary="Revisions, audiences and active policies")
async def status(request: Request, principal: CurrentPrincipal) -> Status:
    _staff(principal)
    gateway = request.app.state.gateway
    snapshot = gateway.store.snapshot
    return Status(
        revision=snapshot.revision,
        views_revision=gateway.cache.revision,
        kind_revisions=dict(snapshot.kind_revisions),
        audiences=gateway.registry.audiences(),
        policies=[
            ActivePolicy(
                audience=p.audience,
                version=p.version,
                source=p.loaded.source,
                views=sorted(p.views),
            )
            for p in gateway.policies
        ],
        render_failures=gateway.refresher.failures,
        tls_rejections=dict(gateway.tls_rejections.counts),
    )
