"""Paged list views through the public API: limit, cursor, Link, ETag and 304 per page."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from gateway.api.deps import PRINCIPAL_KEY
from gateway.api.paging import DEFAULT_LIMIT, MAX_LIMIT
from gateway.demo.network import DemoData
from gateway.security.identity import parse_principal
from tests.conftest import JSON_BODY, SOURCE, Pki, RunningGateway, feed, make_settings
from tests.test_fastpath import IGNORED, _fast_path

CIRCUIT = {"link": "asbr1.ams1,et-1/1/3,acme"}  # an interconnect of peer/acme
EXTRA = 1200  # alarms added on it: with the demo's, three pages at the default limit
LINK = re.compile(r'^<(/v1/[a-z]+\?limit=\d+&cursor=[A-Za-z0-9_-]+)>; rel="next"$')


def _alarms(prefix: str, n: int) -> bytes:
    raised = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    alarms = [
        {"id": f"{prefix}-{i:05d}", "resource": CIRCUIT, "severity": "minor",
         "raised_at": raised, "probable_cause": "degradedSignal"}
        for i in range(n)
    ]  # fmt: skip
    return msgspec.json.encode({"alarms": alarms})


def _ingest(server: RunningGateway, pki: Pki, body: bytes) -> None:
    with server.client("internal", SOURCE, pki) as client:
        response = client.post("/v1/ingest/alarms", content=body, headers=JSON_BODY)
        assert response.status_code == 200, response.text
    server.call(server.gateway.refresher.wait_for(response.json()["revision"]))


@pytest.fixture(scope="module")
def many(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
) -> Iterator[RunningGateway]:
    """The demo gateway, with EXTRA more alarms on one of ACME's circuits."""
    data_dir = tmp_path_factory.mktemp("paging")
    server = RunningGateway(make_settings(data_dir, pki, demo), in_process=True)
    server.start()
    try:
        feed(server, pki, demo)
        _ingest(server, pki, _alarms("PAGE", EXTRA))
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def acme(many: RunningGateway, pki: Pki) -> Iterator[httpx.Client]:
    with many.client("public", "peer/acme", pki) as client:
        yield client


def _whole(server: RunningGateway, view: str = "alarms") -> list[Any]:
    """Every item of the view, from the bytes the refresher published (and scanned)."""
    body = server.gateway.cache.get("peer/acme").views[view].body
    items: list[Any] = msgspec.json.decode(body)["items"]
    return items


def _follow(client: httpx.Client, first: str) -> list[httpx.Response]:
    pages = [client.get(first)]
    while "link" in pages[-1].headers:
        assert pages[-1].status_code == 200
        href = LINK.fullmatch(pages[-1].headers["link"])
        assert href is not None, pages[-1].headers["link"]
        assert pages[-1].json()["next_cursor"] in href.group(1)
        pages.append(client.get(href.group(1)))
    assert pages[-1].status_code == 200 and "next_cursor" not in pages[-1].json()
    return pages


def test_a_poll_without_limit_gets_the_default_page_and_links_lead_through_the_view(
    many: RunningGateway, acme: httpx.Client
) -> None:
    whole = _whole(many)
    assert len(whole) > 2 * DEFAULT_LIMIT
    pages = _follow(acme, "/v1/alarms")
    assert [len(p.json()["items"]) for p in pages[:-1]] == [DEFAULT_LIMIT] * (len(pages) - 1)
    assert [item for p in pages for item in p.json()["items"]] == whole
    full = many.gateway.cache.get("peer/acme").views["alarms"]
    assert all(len(p.content) < len(full.body) for p in pages)
    assert len({p.headers["etag"] for p in pages}) == len(pages)
    for p in pages:
        envelope = {k: v for k, v in p.json().items() if k not in ("items", "next_cursor")}
        assert envelope == {
            "audience": "peer/acme",
            "view": "alarms",
            "revision": full.revision,
            "policy_version": full.policy_version,
        }
        assert p.headers["demarc-revision"] == str(full.revision)


def test_a_limit_that_covers_the_view_gives_the_view_itself(
    many: RunningGateway, acme: httpx.Client
) -> None:
    full = many.gateway.cache.get("peer/acme").views["alarms"]
    got = acme.get(f"/v1/alarms?limit={MAX_LIMIT}")
    assert got.content == full.body and got.headers["etag"] == full.etag
    assert "link" not in got.headers
    assert [i for p in _follow(acme, "/v1/alarms?limit=97") for i in p.json()["items"]] == (
        _whole(many)
    )


@pytest.mark.parametrize("limit", ["0", "-1", str(MAX_LIMIT + 1), "ten", "", "2.5"])
def test_a_limit_out_of_range_is_a_422_naming_the_parameter(acme: httpx.Client, limit: str) -> None:
    got = acme.get(f"/v1/alarms?limit={limit}")
    assert got.status_code == 422  # a bad parameter, as a bad body: one status (issue 13)
    assert got.json()["error"]["code"] == "invalid_input"
    assert [p["where"] for p in got.json()["error"]["problems"]] == ["query.limit"]


def test_an_altered_or_foreign_cursor_is_a_422_and_sends_nothing(
    many: RunningGateway, pki: Pki, acme: httpx.Client
) -> None:
    cursor = acme.get("/v1/alarms?limit=10").json()["next_cursor"]
    altered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
    with many.client("public", "peer/globalnet", pki) as globalnet:
        answers = [
            acme.get("/v1/alarms", params={"cursor": altered}),
            acme.get("/v1/alarms", params={"cursor": "not a cursor"}),
            acme.get("/v1/maintenance", params={"cursor": cursor}),  # another view's
            globalnet.get("/v1/alarms", params={"cursor": cursor}),  # another audience's
        ]
    for got in answers:
        assert got.status_code == 422, got.request.url
        error = got.json()["error"]
        assert error["code"] == "invalid_cursor"
        assert [p["where"] for p in error["problems"]] == ["query.cursor"]
        assert cursor not in got.text and "al-" not in got.text
    assert acme.get("/v1/alarms", params={"cursor": ""}).status_code == 422
    assert acme.get("/v1/alarms", params={"cursor": cursor}).status_code == 200


def test_each_page_has_its_etag_and_304_and_head(acme: httpx.Client) -> None:
    first = acme.get("/v1/alarms")
    second = acme.get(LINK.fullmatch(first.headers["link"]).group(1))  # type: ignore[union-attr]
    url = second.request.url
    again = acme.get(url, headers={"If-None-Match": second.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == second.headers["etag"]
    assert again.headers["link"] == second.headers["link"]
    other = acme.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert other.status_code == 200 and other.content == second.content
    head = acme.head(url)
    assert head.status_code == 200 and head.content == b""
    for name in ("etag", "link", "demarc-revision", "content-type"):
        assert head.headers[name] == second.headers[name], name
    assert head.headers["content-length"] == str(len(second.content))


def test_paging_while_alarms_arrive_gives_every_item_once_in_order(
    many: RunningGateway, pki: Pki, acme: httpx.Client
) -> None:
    before = {item["id"] for item in _whole(many)}
    got: list[Any] = []
    href: str | None = "/v1/alarms?limit=400"
    added = 0
    while href is not None:
        page = acme.get(href)
        assert page.status_code == 200
        got += page.json()["items"]
        link = page.headers.get("link")
        href = LINK.fullmatch(link).group(1) if link else None  # type: ignore[union-attr]
        if href is not None:
            # new alarms land before and after the cursor: none moves the pages that follow
            _ingest(many, pki, _alarms(f"LATE{added}", 50))
            added += 1
    ids = [item["id"] for item in got]
    assert added >= 2
    assert len(ids) == len(set(ids)), "an alarm was given twice"
    assert ids == sorted(ids)
    assert before <= set(ids), "an alarm present throughout was skipped"
    assert len(set(ids) - before) < added * 50  # the ones behind the cursor were not


def test_documents_are_not_paged(acme: httpx.Client) -> None:
    whole = acme.get("/v1/topology")
    assert acme.get("/v1/topology?limit=1&cursor=x").content == whole.content
    assert "link" not in whole.headers


async def _through_routes(
    server: RunningGateway, path: str, query: bytes
) -> tuple[int, dict[str, str], bytes]:
    """The request answered by the FastAPI app behind the fast path."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "https", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query, "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 443),
        PRINCIPAL_KEY: parse_principal("peer/acme"),
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await _fast_path(server).app(scope, receive, send)
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


def test_the_fast_path_pages_exactly_as_the_routes_do(
    many: RunningGateway, acme: httpx.Client
) -> None:
    cursor = acme.get("/v1/alarms?limit=300").json()["next_cursor"]
    for query in ("", "limit=300", f"limit=300&cursor={cursor}", f"cursor={cursor}",
                  "limit=0", "cursor=bogus"):  # fmt: skip
        fast = acme.get(f"/v1/alarms?{query}")
        status, headers, body = many.call(_through_routes(many, "/v1/alarms", query.encode()))
        assert (fast.status_code, fast.content) == (status, body), query
        assert {k: v for k, v in fast.headers.items() if k not in IGNORED} == headers, query


def test_the_openapi_document_declares_limit_and_cursor_on_every_list(acme: httpx.Client) -> None:
    paths = acme.get("/openapi.json").json()["paths"]
    for path in ("/v1/interconnects", "/v1/alarms", "/v1/maintenance", "/v1/services",
                 "/v1/incidents"):  # fmt: skip
        params = {p["name"]: p for p in paths[path]["get"]["parameters"]}
        limit = params["limit"]["schema"]
        assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, MAX_LIMIT, 500)
        assert "cursor" in params, path
    assert "limit" not in {p["name"] for p in paths["/v1/topology"]["get"].get("parameters", [])}
