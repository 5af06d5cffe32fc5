"""TMF642 Alarm Management (v5) for peers: their alarms view, as TM Forum tooling asks for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import NOT_FOUND, CurrentPrincipal, error_response
from gateway.api.fastpath import etag_matches
from gateway.api.openapi import error
from gateway.api.paging import DEFAULT_LIMIT, MAX_LIMIT
from gateway.api.public import IfNoneMatch
from gateway.views.pages import etag_of
from gateway.views.tmf642 import (
    ALARMS,
    ATTRIBUTES,
    SEVERITIES,
    STATE_NAMES,
    VERSION,
    comma_list,
    matching,
    selected,
)

router = APIRouter(prefix=ALARMS, tags=["TMF642 alarm management"])
VIEW = "alarms"  # the Demarc view these resources are another rendering of
_encode = msgspec.json.Encoder().encode


def _one_of(names: Sequence[str]) -> str:
    """A regular expression for a comma-separated list of ``names`` (TMF630 "or")."""
    choice = "|".join(names)
    return rf"^({choice})(,({choice}))*$"


class AlarmedObjectRef(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(description="the circuit as the alarms view names it (agreed id or pseudonym)")
    type_: Literal["AlarmedObjectRef"] = Field(alias="@type")
    referred_type: Literal["Interconnect"] = Field(alias="@referredType")


class TmfAlarm(BaseModel):
    """A TMF642 Alarm; only what the peer's policy discloses is present."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str | None = None
    href: str | None = None
    type_: Literal["Alarm"] | None = Field(None, alias="@type")
    alarmType: str | None = Field(None, description="X.733 event type of the probable cause")
    perceivedSeverity: str | None = None
    probableCause: str | None = None
    specificProblem: str | None = None
    state: Literal["raised", "updated", "cleared"] | None = None
    alarmRaisedTime: str | None = None
    alarmChangedTime: str | None = Field(
        None, description="the latest of the published times (the clear, else the raise)"
    )
    alarmClearedTime: str | None = None
    alarmedObject: AlarmedObjectRef | None = None
    alarmDetails: str | None = Field(None, description="the alarm's text, as the policy shows it")


_COUNTS = {
    "X-Total-Count": {
        "description": "alarms that match the filters, on every page",
        "schema": {"type": "integer"},
    },
    "X-Result-Count": {"description": "alarms in this answer", "schema": {"type": "integer"}},
    "ETag": {"description": "strong: of this body", "schema": {"type": "string"}},
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The alarms, as the alarms view publishes them", "headers": _COUNTS},
    304: {"description": "Not modified: If-None-Match names its ETag"},
    404: error(404, "No alarms view for this audience (its policy does not disclose alarms), "
                    "or no such alarm"),
    503: error(503),
}  # fmt: skip

Fields = Annotated[
    str | None,
    Query(
        max_length=400,
        pattern=_one_of(ATTRIBUTES),
        description="attributes to return, comma-separated (`id`, `href` and `@type` always "
        "are): " + ", ".join(f"`{a}`" for a in ATTRIBUTES),
    ),
]
States = Annotated[
    str | None,
    Query(max_length=100, pattern=_one_of(STATE_NAMES),
          description="only alarms in one of these states, comma-separated"),
]  # fmt: skip
Severities = Annotated[
    str | None,
    Query(alias="perceivedSeverity", max_length=100, pattern=_one_of(SEVERITIES),
          description="only alarms of one of these severities, comma-separated"),
]  # fmt: skip
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="alarms to skip")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"at most this many (≤ {MAX_LIMIT})")]


def _alarms(request: Request, audience: str) -> Sequence[dict[str, Any]] | Response:
    """The audience's alarms in TMF form, or the answer to send when there are none to give."""
    gateway = request.app.state.gateway
    views = gateway.cache.get(audience)
    view = views.views.get(VIEW)
    if view is None:
        if VIEW in views.withheld:  # as /v1/alarms answers it
            return error_response(503, "withheld", "this view is temporarily unavailable")
        return error_response(404, "not_found", NOT_FOUND)
    alarms: Sequence[dict[str, Any]] = gateway.tmf642.alarms(audience, view.etag, view.content())
    return alarms


def _send(
    request: Request, who: str, name: str, doc: Any, headers: dict[str, str], inm: str | None
) -> Response:
    body = _encode(doc)
    etag = etag_of(body)
    headers = {**headers, "ETag": etag, "Cache-Control": "private, no-cache"}
    if etag_matches(inm, etag):
        return Response(status_code=304, headers=headers)
    gateway = request.app.state.gateway
    view = gateway.cache.get(who).views[VIEW]
    # recorded as any view is: who, which resource, from which revision and policy, the digest
    gateway.audit.disclosed(who, name, view.revision, view.policy_version, etag)
    # not marked as pre-scanned: the egress guard scans these bytes with the audience's terms
    return Response(body, media_type="application/json", headers=headers)


@router.get("", response_model=list[TmfAlarm], responses=_RESPONSES,
            summary=f"Peer: alarms on its interconnects (TMF642 v{VERSION} listAlarm)")  # fmt: skip
async def list_alarms(
    request: Request,
    principal: CurrentPrincipal,
    fields: Fields = None,
    state: States = None,
    perceived_severity: Severities = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_LIMIT,
    inm: IfNoneMatch = None,
) -> Response:
    found = _alarms(request, principal.id)
    if isinstance(found, Response):
        return found
    chosen = matching(found, comma_list(state), comma_list(perceived_severity))
    page = chosen[offset : offset + limit]
    wanted = comma_list(fields)
    doc = [selected(alarm, wanted) for alarm in page]
    counts = {"X-Total-Count": str(len(chosen)), "X-Result-Count": str(len(page))}
    return _send(request, principal.id, "tmf642/alarm", doc, counts, inm)


@router.get("/{alarm_id}", response_model=TmfAlarm, responses=_RESPONSES,
            summary=f"Peer: one alarm (TMF642 v{VERSION} retrieveAlarm)")  # fmt: skip
async def retrieve_alarm(
    request: Request,
    principal: CurrentPrincipal,
    alarm_id: Annotated[str, Path(max_length=256)],
    fields: Fields = None,
    inm: IfNoneMatch = None,
) -> Response:
    found = _alarms(request, principal.id)
    if isinstance(found, Response):
        return found
    alarm = next((a for a in found if a.get("id") == alarm_id), None)
    if alarm is None:
        return error_response(404, "not_found", NOT_FOUND)
    doc = selected(alarm, comma_list(fields))
    return _send(request, principal.id, f"tmf642/alarm/{alarm_id}", doc, {}, inm)
