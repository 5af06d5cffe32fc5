"""The raw ASGI fast path for view GETs answers exactly as the FastAPI routes behind it do."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.api.deps import PRINCIPAL_KEY
from gateway.api.fastpath import VIEW_PATHS, ViewFastPath
from gateway.demo.network import DemoData
from gateway.security.identity import parse_principal
from tests.conftest import RunningGateway

IGNORED = {"date"}  # set by the server per response


Answer = tuple[int, dict[str, str], bytes]


def _fast_path(server: RunningGateway) -> ViewFastPath:
    """The fast path inside the public app's middleware chain (identity, rate limit, ...)."""
    layer: Any = server.gateway.public_app
    while not isinstance(layer, ViewFastPath):
        layer = layer.app  # every layer before it wraps the next as .app
    return layer


async def _through_routes(
    server: RunningGateway, principal: str, path: str, headers: list[tuple[bytes, bytes]]
) -> Answer:
    """The same request answered by the FastAPI app alone, bypassing the fast path."""
    fast = _fast_path(server)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "https", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 443),
        PRINCIPAL_KEY: parse_principal(principal),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await fast.app(scope, receive, send)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def _cases(demo: DemoData) -> list[tuple[str, str]]:
    customer = demo.services["services"][0]["customer"]
    service = demo.services["services"][0]["id"]
    peer_paths = [p for p, (name, _) in VIEW_PATHS.items() if name not in ("services", "incidents")]
    return [
        *[("peer/acme", p) for p in peer_paths],
        *[(f"customer/{customer}", p) for p in ("/v1/services", "/v1/incidents")],
        (f"customer/{customer}", f"/v1/services/{service}"),
    ]


def test_every_view_path_answers_as_the_fastapi_route(
    served: RunningGateway, public: Any, demo: DemoData
) -> None:
    compared = 0
    for principal, path in _cases(demo):
        fast = public(principal).get(path)
        status, headers, body = served.call(_through_routes(served, principal, path, []))
        assert fast.status_code == status, (principal, path)
        assert fast.content == body, (principal, path)
        got = {k: v for k, v in fast.headers.items() if k not in IGNORED}
        assert got == headers, (principal, path)
        compared += status == 200
    assert compared >= 6, "the demo policies publish most of these views"


def test_not_modified_matches_the_route_for_lists_and_weak_tags(
    served: RunningGateway, public: Any
) -> None:
    client = public("peer/acme")
    etag = client.get("/v1/interconnects").headers["etag"]
    for value in (etag, f'"other", W/{etag}', "*"):
        fast = client.get("/v1/interconnects", headers={"If-None-Match": value})
        status, headers, body = served.call(
            _through_routes(served, "peer/acme", "/v1/interconnects",
                            [(b"if-none-match", value.encode())])
        )  # fmt: skip
        assert fast.status_code == status == 304, value
        assert fast.content == body == b""
        assert {k: v for k, v in fast.headers.items() if k not in IGNORED} == headers


def test_repeated_if_none_match_fields_are_one_list(public: Any) -> None:
    client = public("peer/acme")
    etag = client.get("/v1/interconnects").headers["etag"]
    headers = [("If-None-Match", '"other"'), ("If-None-Match", etag)]
    assert client.get("/v1/interconnects", headers=headers).status_code == 304


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/interconnects", 405),
        # the route's length limit still applies: a path no id can match is an unknown one
        ("GET", "/v1/services/" + "x" * 257, 404),
        ("GET", "/v1/services/no-such-service", 404),
        ("GET", "/v1/nothing-here", 404),
    ],
)
def test_what_the_fast_path_does_not_serve_goes_to_the_routes(
    public: Any, demo: DemoData, method: str, path: str, status: int
) -> None:
    customer = demo.services["services"][0]["customer"]
    principal = f"customer/{customer}" if path.startswith("/v1/services/") else "peer/acme"
    response = public(principal).request(method, path)
    assert response.status_code == status
    if method != "HEAD":
        assert response.json()["error"]["code"] in ("not_found", "method_not_allowed")


def test_a_view_that_exists_is_answered_without_the_app_behind(served: RunningGateway) -> None:
    _fast_path(served)  # the public app has one
    reached: list[str] = []

    async def behind(scope: dict[str, Any], receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    gateway = served.gateway
    alone = ViewFastPath(behind, lambda: gateway.cache, lambda: gateway.audit, gateway.cursors)
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def ask(path: str) -> None:
        scope = {"type": "http", "method": "GET", "path": path, "headers": [],
                 PRINCIPAL_KEY: parse_principal("peer/acme")}  # fmt: skip
        await alone(scope, None, send)

    served.call(ask("/v1/interconnects"))
    assert reached == [] and sent[0]["status"] == 200
    view = served.gateway.cache.get("peer/acme").views["interconnects"]
    assert sent[1]["body"] == view.body
    served.call(ask("/v1/views"))  # the index is not a view: the routes answer it
    assert reached == ["/v1/views"]


def test_head_answers_as_get_without_a_body_and_405_says_what_is_allowed(public: Any) -> None:
    client = public("peer/acme")
    got = client.get("/v1/interconnects")
    head = client.head("/v1/interconnects")
    assert head.status_code == 200 and head.content == b""
    for name in ("etag", "demarc-revision", "demarc-policy-version", "content-type"):
        assert head.headers[name] == got.headers[name], name
    assert head.headers["content-length"] == str(len(got.content))
    assert client.head("/v1/views").status_code == 200  # the index, through the routes
    assert client.head("/v1/no-such-view").status_code == 404
    refused = client.post("/v1/interconnects")
    assert refused.status_code == 405
    assert "GET" in refused.headers["allow"]
