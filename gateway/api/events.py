"""The change feed on the public listener: ``GET /v1/events?after=<cursor>``."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

import msgspec
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gateway.api.deps import CurrentPrincipal, error_response
from gateway.api.held import Prefer, Wait, seconds_of, too_many
from gateway.api.openapi import error
from gateway.api.push_models import EventsPage
from gateway.push.longpoll import EVENTS, disconnected
from gateway.views.cursor import MAX_CURSOR, CursorError, Cursors
from gateway.views.pages import etag_of

router = APIRouter(prefix="/v1", tags=["push"])

DEFAULT_EVENTS = 100
MAX_EVENTS = 1000
GONE = (
    "the events after this cursor are no longer kept (older than the retention, or the "
    "gateway's database was restored): re-read the views, then follow the feed from "
    "GET /v1/events?start=latest"
)
BAD_CURSOR = "the cursor is not one this feed issued: start again without one"
_CURSOR_VIEW = "events"  # cursors are the paging cursors' kind, bound to this name

After = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_CURSOR,
        description="the `next_cursor` of an earlier answer: the events after it",
    ),
]
Limit = Annotated[
    int, Query(ge=1, le=MAX_EVENTS, description=f"events per answer, at most {MAX_EVENTS}")
]
Start = Annotated[
    Literal["oldest", "latest"],
    Query(
        description="without `after`: from the oldest event kept, or from now on (`latest`: "
        "no events, a cursor to follow)"
    ),
]


def cursor_of(cursors: Cursors, audience: str, seq: int) -> str:
    return cursors.encode(audience, _CURSOR_VIEW, (str(seq), ""))


def seq_of(cursors: Cursors, audience: str, cursor: str) -> int:
    """The event number a cursor stands for; CursorError if this feed did not issue it."""
    ident, _ = cursors.decode(audience, _CURSOR_VIEW, cursor)
    if not ident.isdigit():
        raise CursorError("not an event cursor")
    return int(ident)


@router.get(
    "/events",
    response_model=EventsPage,
    summary="Peer or customer: the changes to its views, in order, from a cursor",
    responses={
        410: error(410),
        422: error(422, "`limit` out of range, a bad `wait`, or a cursor this feed did not "
                        "issue (`invalid_cursor`)"),
    },
)  # fmt: skip
async def events(
    request: Request,
    principal: CurrentPrincipal,
    after: After = None,
    limit: Limit = DEFAULT_EVENTS,
    start: Start = "oldest",
    wait: Wait = None,
    prefer: Prefer = None,
) -> Response:
    gateway = request.app.state.gateway
    feed, cursors, who = gateway.push.feed, gateway.cursors, principal.id
    floor, last = feed.position(who)
    if after is None:
        seq = last if start == "latest" else floor
    else:
        try:
            seq = seq_of(cursors, who, after)
        except CursorError:
            problems = [{"where": "query.after", "message": BAD_CURSOR}]
            return error_response(422, "invalid_cursor", BAD_CURSOR, problems=problems)
        if not floor <= seq <= last:
            return error_response(410, "gone", GONE)
    seconds = seconds_of(wait, prefer)
    if seconds and seq >= last:
        waiters = gateway.push.waiters
        if not waiters.admit(who):
            return too_many()
        try:
            await waiters.hold(who, EVENTS, seconds, lambda: feed.position(who)[1] <= seq,
                               disconnected(request.receive))  # fmt: skip
        finally:
            waiters.release(who)
    rows = await asyncio.to_thread(feed.read, who, seq, limit)
    if seq < feed.position(who)[0]:  # retention passed it meanwhile
        return error_response(410, "gone", GONE)
    token = cursor_of(cursors, who, rows[-1].seq if rows else seq)
    head = msgspec.json.encode({"audience": who})[:-1]
    body = head + b',"events":[' + b",".join(r.body for r in rows) + b'],"next_cursor":"'
    body += token.encode("ascii") + b'"}'
    if rows:
        newest = rows[-1]
        gateway.audit.disclosed(who, "events", newest.revision, newest.policy_version,
                                etag_of(body))  # fmt: skip
    return Response(body, media_type="application/json")
