"""The view GETs in raw ASGI: rendered bytes out without FastAPI's per-request layers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from gateway.api.deps import PRINCIPAL_KEY, error_response
from gateway.api.paging import paging_params, select
from gateway.policy.audit import AuditLog
from gateway.push.longpoll import Waiters, disconnected, names_etag, requested_wait
from gateway.security.identity import Principal
from gateway.views import AudienceViews, RenderedView, Served, ViewCache
from gateway.views.cursor import CursorError, Cursors

JSON = "application/json"
YANG = "application/yang-data+json"
SERVICES = "/v1/services/"
HISTORY = "/v1/history/"
SERVICE_ID_MAX = 256  # the FastAPI route's Path(max_length=...): longer ids go there for a 400

# path → (view name, media type); the FastAPI routes in public.py answer the same paths
VIEW_PATHS: dict[str, tuple[str, str]] = {
    "/v1/interconnects": ("interconnects", JSON),
    "/v1/alarms": ("alarms", JSON),
    "/v1/maintenance": ("maintenance", JSON),
    "/v1/services": ("services", JSON),
    "/v1/incidents": ("incidents", JSON),
    "/v1/summary": ("summary", JSON),
    "/v1/history": ("history", JSON),
    "/v1/topology": ("topology", JSON),
    "/v1/topology/rfc8345": ("topology-rfc8345", YANG),
}


class _Route(NamedTuple):
    path: str


#: prefix of a path naming one item of a view → (the view, the route template)
ITEM_PATHS: dict[str, tuple[str, _Route]] = {
    SERVICES: ("services", _Route(SERVICES + "{service_id}")),
    HISTORY: ("history", _Route(HISTORY + "{service_id}")),
}


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: weak comparison, a list, or ``*``."""
    if if_none_match is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def view_headers(view: Served, link: str | None = None) -> dict[str, str]:
    headers = {
        "ETag": view.etag,
        # the revision of this view's own content: never the global ingest counter, which
        # would tell an audience how often anything at all is ingested
        "Demarc-Revision": str(view.revision),
        "Demarc-Policy-Version": view.policy_version,
        "Cache-Control": "private, no-cache",
    }
    if link is not None:
        headers["Link"] = link  # RFC 8288: the next page of a list view
    return headers


def find_view(views: AudienceViews, path: str) -> tuple[str, Served | None, str] | None:
    """(audit name, the view or None, media type) for a view path; None if it names no view."""
    known = VIEW_PATHS.get(path)
    if known is not None:
        return known[0], views.views.get(known[0]), known[1]
    for prefix, (view, _) in ITEM_PATHS.items():
        if path.startswith(prefix):
            item = path[len(prefix) :]
            if item and "/" not in item and len(item) <= SERVICE_ID_MAX:
                return f"{view}/{item}", views.items.get((view, item)), JSON
    return None


def _route(path: str) -> _Route:
    """The route template of a view path, as FastAPI would have set it (metrics, access log)."""
    if path in VIEW_PATHS:
        return _Route(path)
    return next(route for prefix, (_, route) in ITEM_PATHS.items() if path.startswith(prefix))


class ViewFastPath:
    """Answers GETs of views that exist from the cache; passes every other request on.

    A view GET is the public listener's hot path, and FastAPI's routing, dependency resolution
    and response classes cost more server CPU than everything else it does (issue 10). This
    layer sits behind ``IdentityMiddleware`` (the principal is established, and the TLS
    protocol has re-checked the connection's certificate against revocations) and in front of
    the egress guard. It sends the routes' headers, ETag/304 and audit record; the FastAPI
    routes in ``public.py`` answer the rest (a missing or withheld view, other methods, the
    index) and document the API.
    """

    def __init__(
        self,
        app: Any,
        cache: Callable[[], ViewCache],
        audit: Callable[[], AuditLog],
        cursors: Cursors,
        waiters: Waiters | None = None,
    ) -> None:
        self.app = app
        self._cache = cache
        self._audit = audit
        self._cursors = cursors
        self._waiters = waiters

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            principal = scope.get(PRINCIPAL_KEY)
            if isinstance(principal, Principal):
                views = self._cache().get(principal.id)
                found = find_view(views, scope["path"])
                if found is not None and await self._serve(
                    scope, receive, send, principal.id, *found
                ):
                    return
        await self.app(scope, receive, send)

    async def _serve(self, scope: dict[str, Any], receive: Any, send: Any, who: str,
                     name: str, view: Served | None, media: str) -> bool:  # fmt: skip
        """Answer from the cache; False to leave the request to the routes."""
        if view is None:
            return False
        try:
            wait = requested_wait(scope) if self._waiters is not None else None
        except ValueError:
            return False  # the route answers a bad ``wait`` with 422, as any bad parameter
        link = None
        if view.pages is not None:
            paged = self._page(scope, who, name, view)
            if paged is None:
                # a limit out of range or a cursor we did not issue: the route answers it,
                # in the shape of every other validation error
                return False
            view, link = paged
        inm = _if_none_match(scope)
        if wait and self._waiters is not None and names_etag(inm, view.etag):
            waiters = self._waiters
            if not waiters.admit(who):
                await error_response(429, "rate_limited", TOO_MANY_HELD,
                                     )(scope, receive, _retry_after(send))  # fmt: skip
                return True

            def unchanged() -> bool:
                now = self._current(scope, who)
                return now is not None and names_etag(inm, now[0].etag)

            try:
                await waiters.hold(who, name.split("/")[0], wait, unchanged, disconnected(receive))
            finally:
                waiters.release(who)
            current = self._current(scope, who)
            if current is None:
                return False  # withdrawn or withheld meanwhile: the route says so
            view, link = current
        # the route template, as FastAPI would have set it (metrics, access log)
        scope["route"] = _route(scope["path"])
        await self._send(scope, send, who, name, view, media, link)
        return True

    def _current(self, scope: dict[str, Any], who: str) -> tuple[Served, str | None] | None:
        """What the request's path (and page) names now."""
        found = find_view(self._cache().get(who), scope["path"])
        if found is None:
            return None
        name, view, _ = found
        if view is None:
            return None
        if view.pages is None:
            return view, None
        return self._page(scope, who, name, view)

    def _page(
        self, scope: dict[str, Any], who: str, name: str, view: RenderedView
    ) -> tuple[RenderedView, str | None] | None:
        params = paging_params(scope.get("query_string", b""))
        if params is None:
            return None
        try:
            return select(view, who, name, scope["path"], self._cursors, *params)
        except CursorError:
            return None

    async def _send(self, scope: dict[str, Any], send: Any, who: str, name: str,
                    view: Served, media: str, link: str | None) -> None:  # fmt: skip
        # the routes' headers, from the one place that says what they are
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1"))
            for k, v in view_headers(view, link).items()
        ]
        if etag_matches(_if_none_match(scope), view.etag):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        # these bytes were scanned by the leak guard before they were published: sent as they
        # are, as the egress guard does for PRESCANNED responses
        body = view.body  # an item's is put together here: once
        headers.append((b"content-length", str(len(body)).encode()))
        headers.append((b"content-type", media.encode()))
        # a list append: the audit log writes its buffer in batches, off the request path
        self._audit().disclosed(who, name, view.revision, view.policy_version, view.etag)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


TOO_MANY_HELD = "this principal has too many requests held: retry after Retry-After seconds"


def _retry_after(send: Any) -> Any:
    async def with_header(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message["headers"], (b"retry-after", b"1")]}
        await send(message)

    return with_header


def _if_none_match(scope: dict[str, Any]) -> str | None:
    """Every If-None-Match field joined as one list, as RFC 9110 says repeated fields combine."""
    values = [v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"]
    return ",".join(values) if values else None
