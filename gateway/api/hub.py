"""Webhook subscriptions on the public listener (TMF630 hub): ``/v1/hub``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import ValidationError

from gateway.api.deps import CurrentPrincipal
from gateway.api.ingest import read_body
from gateway.api.openapi import body, errors
from gateway.api.push_models import (
    CreatedSubscription,
    Subscription,
    SubscriptionIn,
    Subscriptions,
)
from gateway.errors import Conflict, InvalidInput, NotFound, Problem, json_path
from gateway.ingest import decode_json
from gateway.push.hub import Refused, TooMany
from gateway.store.subscriptions import SubscriptionRecord

router = APIRouter(prefix="/v1/hub", tags=["push"])

MAX_BODY = 16 * 1024
SubscriptionId = Annotated[str, Path(max_length=64, description="as `POST /v1/hub` gave it")]


def _out(record: SubscriptionRecord) -> Subscription:
    return Subscription(
        id=record.id,
        callback=record.callback,
        query=record.query,
        state="active" if record.state == "active" else "suspended",
        created_at=record.created_at,
        delivered=str(record.delivered) if record.delivered else None,
        failures=record.failures,
        last_error=record.last_error,
        suspended_at=record.suspended_at,
    )


async def _read(request: Request) -> SubscriptionIn:
    doc = decode_json(await read_body(request, MAX_BODY))
    try:
        return SubscriptionIn.model_validate(doc)
    except ValidationError as exc:
        problems = [Problem(json_path(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        raise InvalidInput(problems) from None


@router.post(
    "",
    status_code=201,
    response_model=CreatedSubscription,
    responses={**errors(409), 201: {"description": "Subscribed: the secret is shown this once",
                                    "headers": {"Location": {"schema": {"type": "string"}}}}},
    openapi_extra=body(SubscriptionIn),
    summary="Peer or customer: send its change events to a callback, signed",
)  # fmt: skip
async def subscribe(request: Request, principal: CurrentPrincipal) -> Response:
    wanted = await _read(request)
    hub = request.app.state.gateway.push.hub
    try:
        record = await hub.create(principal.id, wanted.callback, wanted.query)
    except Refused as exc:
        raise InvalidInput([Problem("$.callback", str(exc))]) from None
    except ValueError as exc:
        raise InvalidInput([Problem("$.query", str(exc))]) from None
    except TooMany as exc:
        raise Conflict(str(exc)) from None
    out = CreatedSubscription(**_out(record).model_dump(), secret=record.secret)
    return Response(
        out.model_dump_json(),
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/v1/hub/{record.id}"},
    )


@router.get("", response_model=Subscriptions,
            summary="Peer or customer: its subscriptions")  # fmt: skip
async def subscriptions(request: Request, principal: CurrentPrincipal) -> Subscriptions:
    records = await request.app.state.gateway.push.hub.list(principal.id)
    return Subscriptions(subscriptions=[_out(r) for r in records])


@router.get(
    "/{subscription_id}",
    response_model=Subscription,
    summary="Peer or customer: one of its subscriptions, with why it failed or was suspended",
)
async def subscription(
    request: Request, principal: CurrentPrincipal, subscription_id: SubscriptionId
) -> Subscription:
    record = await request.app.state.gateway.push.hub.get(principal.id, subscription_id)
    if record is None:
        raise NotFound("no such subscription")
    return _out(record)


@router.delete(
    "/{subscription_id}",
    status_code=204,
    responses={204: {"description": "Unsubscribed: nothing more is sent to it"}},
    summary="Peer or customer: end one of its subscriptions",
)
async def unsubscribe(
    request: Request, principal: CurrentPrincipal, subscription_id: SubscriptionId
) -> Response:
    if not await request.app.state.gateway.push.hub.delete(principal.id, subscription_id):
        raise NotFound("no such subscription")
    return Response(status_code=204)
