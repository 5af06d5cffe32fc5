"""Long-poll for the FastAPI routes: the ``wait`` parameter, ``Prefer: wait``, and the hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Header, Query, Request
from fastapi.responses import Response

from gateway.api.deps import error_response
from gateway.api.fastpath import TOO_MANY_HELD
from gateway.push.longpoll import (
    PREFER_DOC,
    WAIT_DOC,
    WAIT_PATTERN,
    disconnected,
    names_etag,
    prefer_wait,
)
from gateway.views import Served

Wait = Annotated[str | None, Query(pattern=WAIT_PATTERN, description=WAIT_DOC)]
Prefer = Annotated[str | None, Header(alias="Prefer", description=PREFER_DOC)]


def seconds_of(wait: str | None, prefer: str | None) -> float | None:
    """The wait asked for: the query's, else ``Prefer``'s; None when neither asks."""
    if wait is not None:
        return int(wait.rstrip("s"))
    return prefer_wait([(b"prefer", prefer.encode("latin-1"))]) if prefer else None


def too_many() -> Response:
    response = error_response(429, "rate_limited", TOO_MANY_HELD)
    response.headers["Retry-After"] = "1"
    return response


async def hold(
    request: Request,
    who: str,
    view: str,
    inm: str | None,
    wait: str | None,
    prefer: str | None,
    current: Callable[[], Served | None],
) -> Response | None:
    """Long-poll: while ``current()`` still has the ETag ``inm`` names, hold the request for
    the wait asked (README, "Long-poll"); None when the route should answer now."""
    seconds = seconds_of(wait, prefer)
    if not seconds:
        return None  # no wait asked: the route answers, and works out the view only once
    now = current()
    if now is None or not names_etag(inm, now.etag):
        return None
    waiters = request.app.state.gateway.push.waiters
    if not waiters.admit(who):
        return too_many()

    def unchanged() -> bool:
        view_now = current()
        return view_now is not None and names_etag(inm, view_now.etag)

    try:
        await waiters.hold(who, view, seconds, unchanged, disconnected(request.receive))
    finally:
        waiters.release(who)
    return None
