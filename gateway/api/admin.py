"""Internal listener routes for staff: the state of the gateway and its active policies."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import CurrentPrincipal
from gateway.disclosure.stale import stale_references
from gateway.errors import Forbidden
from gateway.ingest import Timestamp
from gateway.policy.audit import MAX_LIMIT, AuditLog, AuditQuery

router = APIRouter(prefix="/v1/admin", tags=["admin"])


class ActivePolicy(BaseModel):
    audience: str
    version: str
    source: str
    views: list[str]


class AlertmanagerStatus(BaseModel):
    """Since start: alerts Alertmanager left out of its notifications, and label values that
    the severity and probable-cause tables do not map (value → alerts)."""

    truncated_alerts: int
    unmapped_severities: dict[str, int]
    unmapped_causes: dict[str, int]


class StaleStatus(BaseModel):
    """Records that name a resource the current topology no longer has (at most 100 ids each;
    the counts are complete): reconcile them at the source, or they age out."""

    services: int
    alarms: int
    maintenance: int
    ids: dict[str, list[str]]


class CaCrl(BaseModel):
    """A trusted CA's CRL: after ``next_update`` (or without one) every client it issued is
    refused; ``warning`` is set from ``crl_warning_days`` before."""

    model_config = ConfigDict(from_attributes=True)

    ca: str
    next_update: datetime | None
    seconds_left: float | None
    warning: bool


class CrlStatus(BaseModel):
    check: bool = Field(description="tls_crl_check: false means no CRL is enforced at all")
    warning_days: float
    cas: list[CaCrl]


class Status(BaseModel):
    revision: int
    views_revision: int
    kind_revisions: dict[str, int]
    audiences: list[str]
    policies: list[ActivePolicy]
    render_failures: int
    disclosures_dropped: int
    tls_rejections: dict[str, int]
    crls: CrlStatus
    leaks_withheld: dict[str, int]
    alertmanager: AlertmanagerStatus
    stale_references: StaleStatus


def _staff(principal: CurrentPrincipal) -> None:
    if principal.role != "staff":
        raise Forbidden("only staff may use the admin API")


@router.get("/status", response_model=Status, summary="Revisions, audiences and active policies")
async def status(request: Request, principal: CurrentPrincipal) -> Status:
    _staff(principal)
    gateway = request.app.state.gateway
    snapshot = gateway.store.snapshot
    stale = await asyncio.to_thread(stale_references, snapshot)  # O(records): off the loop
    crls = await asyncio.to_thread(gateway.crl_status)
    return Status(
        revision=snapshot.revision,
        views_revision=gateway.cache.revision,
        kind_revisions=dict(snapshot.kind_revisions),
        audiences=list(gateway.registry.audiences()),
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
        disclosures_dropped=gateway.audit.dropped,
        tls_rejections=dict(gateway.tls_rejections.counts),
        crls=CrlStatus(
            check=gateway.settings.tls_crl_check,
            warning_days=gateway.settings.crl_warning_days,
            cas=[CaCrl.model_validate(c) for c in crls],
        ),
        leaks_withheld=dict(gateway.screen.counts),
        alertmanager=AlertmanagerStatus(
            truncated_alerts=gateway.alert_stats.truncated_alerts,
            unmapped_severities=dict(gateway.alert_stats.unmapped_severities),
            unmapped_causes=dict(gateway.alert_stats.unmapped_causes),
        ),
        stale_references=StaleStatus(
            services=len(stale.services),
            alarms=len(stale.alarms),
            maintenance=len(stale.maintenance),
            ids={
                "services": list(stale.services[:100]),
                "alarms": list(stale.alarms[:100]),
                "maintenance": list(stale.maintenance[:100]),
            },
        ),
    )


class AuditEvent(BaseModel):
    """One record of the trail; which fields are set depends on its kind."""

    model_config = ConfigDict(extra="forbid")

    id: int
    at: str
    kind: str = Field(description="draft, approve, activate, rollback, rejected, withdraw, "
                                  "disclosure, leak-withheld, disclosures_dropped, …")  # fmt: skip
    principal: str
    audience: str | None = None
    view: str | None = None
    revision: int | None = None
    policy_version: str | None = None
    digest: str | None = None
    detail: Any = None


class AuditPage(BaseModel):
    events: list[AuditEvent]
    next_cursor: str | None = Field(description="pass as cursor for the next (older) page")
    disclosures_dropped: int = Field(description="disclosure records lost since start")


@router.get("/audit", response_model=AuditPage, summary="The audit trail, newest first")
async def audit(
    request: Request,
    principal: CurrentPrincipal,
    principal_id: Annotated[str | None, Query(alias="principal", max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    audience: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[Timestamp | None, Query(description="RFC 3339, with an offset")] = None,
    until: Annotated[Timestamp | None, Query(description="RFC 3339, with an offset")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]+$")] = None,
) -> AuditPage:
    """Policy events (draft, approve, activate, rollback, rejected) and disclosures (who was
    sent which view, at which data revision, under which policy version, and the digest of the
    bytes: the first 128 bits of their SHA-256, as in the ETag)."""
    _staff(principal)
    log: AuditLog = request.app.state.gateway.audit
    query = AuditQuery(
        principal=principal_id,
        kind=kind,
        audience=audience,
        since=since,
        until=until,
        limit=limit,
        # a cursor past any id (SQLite's are below 2**63) means "from the newest": not a 500
        cursor=min(int(cursor), 2**63 - 1) if cursor else None,
    )
    events, next_cursor = await log.query(query)
    return AuditPage(events=events, next_cursor=next_cursor, disclosures_dropped=log.dropped)
