"""Long-poll: a view request held until its ETag changes, woken by the cache, never polled."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from gateway.views import AudienceViews

#: the longest wait a request may ask for (seconds); ``longpoll.max_wait_s`` may lower it
MAX_WAIT = 60
WAIT_PATTERN = r"^([0-5]?[0-9]|60)s?$"
WAIT_DOC = (
    f"hold the request up to this many seconds (0 to {MAX_WAIT}, e.g. `30` or `30s`) while "
    "`If-None-Match` names the current ETag: answered as soon as the view changes, else 304 "
    "when the wait is over"
)
PREFER_DOC = (
    "RFC 7240 `wait=<seconds>`: the same as `?wait=` (the query wins when both are given; "
    f"more than {MAX_WAIT} counts as {MAX_WAIT})"
)
EVENTS = "events"  # the key the change feed's waiters share with views

_WAIT = re.compile(WAIT_PATTERN.encode())
_PREFER = re.compile(rb"(?:^|[;,\s])wait\s*=\s*\"?([0-9]{1,6})\"?", re.IGNORECASE)


def names_etag(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match names this very ETag (``*`` does not count: a request is held only
    while the client has the current version)."""
    if if_none_match is None:
        return False
    return etag in (t.strip().removeprefix("W/") for t in if_none_match.split(","))


def wait_param(query: bytes) -> float | None:
    """``wait`` from a raw query string: its seconds, None when absent; ValueError when it is
    there and not 0 to MAX_WAIT (the route answers that with 422)."""
    if b"wait" not in query:
        return None
    found = None
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == b"wait":
            if not _WAIT.fullmatch(value):
                raise ValueError("wait")
            found = float(value.rstrip(b"s"))
    return found


def prefer_wait(headers: Iterable[tuple[bytes, bytes]]) -> float | None:
    """RFC 7240 ``Prefer: wait=N`` among raw headers; None without one."""
    for name, value in headers:
        if name == b"prefer":
            match = _PREFER.search(value)
            if match is not None:
                return float(min(int(match.group(1)), MAX_WAIT))
    return None


def requested_wait(scope: dict[str, Any]) -> float | None:
    """The wait a request asks for, query first; ValueError for a bad ``wait`` parameter."""
    asked = wait_param(scope.get("query_string", b""))
    if asked is None:
        asked = prefer_wait(scope.get("headers") or ())
    return asked


class Waiters:
    """One future per (audience, view) that anyone waits on, resolved when the cache
    publishes that view anew: a held request costs a few objects, and no CPU until it wakes.
    """

    def __init__(self, max_wait_s: float, max_per_principal: int) -> None:
        self.max_wait_s = max_wait_s
        self.max_per_principal = max_per_principal
        self._futures: dict[tuple[str, str], asyncio.Future[None]] = {}
        self.held: Counter[str] = Counter()  # requests held now, per principal
        self.refused = 0  # requests answered at once: their principal held too many
        self.closing = False

    def __len__(self) -> int:
        return sum(self.held.values())

    def published(self, audience: str, previous: AudienceViews, new: AudienceViews) -> None:
        """The cache's publish listener: wake whoever waits on a view whose bytes changed."""
        if not self._futures:
            return
        names = set(previous.views) | set(new.views) | previous.withheld | new.withheld
        if previous.withheld != new.withheld:
            changed = names
        else:
            changed = {v for v in names if previous.views.get(v) is not new.views.get(v)}
        self.wake(audience, changed)

    def wake(self, audience: str, views: Iterable[str]) -> None:
        for view in views:
            future = self._futures.pop((audience, view), None)
            if future is not None and not future.done():
                future.set_result(None)

    def close(self) -> None:
        """The gateway is stopping: every held request answers now (a server waits for its
        requests before it stops, and must not wait a minute for long-polls)."""
        self.closing = True
        futures, self._futures = list(self._futures.values()), {}
        for future in futures:
            if not future.done():
                future.set_result(None)

    def admit(self, principal: str) -> bool:
        if self.held[principal] >= self.max_per_principal:
            self.refused += 1
            return False
        self.held[principal] += 1
        return True

    def release(self, principal: str) -> None:
        self.held[principal] -= 1
        if self.held[principal] <= 0:
            del self.held[principal]

    async def hold(
        self,
        audience: str,
        view: str,
        seconds: float,
        unchanged: Callable[[], bool],
        gone: Awaitable[Any] | None = None,
    ) -> None:
        """Return once ``unchanged()`` is false, ``seconds`` (at most ``max_wait_s``) passed,
        or ``gone`` (the client disconnecting) finished."""
        deadline = time.monotonic() + min(seconds, self.max_wait_s)
        watch = asyncio.ensure_future(gone) if gone is not None else None
        try:
            while not self.closing and unchanged():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                key = (audience, view)
                future = self._futures.get(key)
                if future is None or future.done():
                    future = asyncio.get_running_loop().create_future()
                    self._futures[key] = future
                waiting: set[asyncio.Future[Any]] = {future} if watch is None else {future, watch}
                # asyncio.wait, not wait_for: a timeout must not cancel the shared future
                await asyncio.wait(waiting, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                if watch is not None and watch.done():
                    return
        finally:
            if watch is not None and not watch.done():
                watch.cancel()


async def disconnected(receive: Callable[[], Awaitable[MutableMapping[str, Any]]]) -> None:
    """Finishes when the client goes away (a GET's body is already read: the next message
    an ASGI server gives is ``http.disconnect``)."""
    while (await receive())["type"] != "http.disconnect":
        pass
