"""The console's pages and files, and the browser guard: what a browser may and may not do."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from gateway.api.console import CSP
from gateway.api.csrf import csrf_token
from tests.conftest import JSON_BODY, SOURCE, STAFF, RunningGateway
from tests.policyapi import BOB, Clients, policy_text

Client = Callable[[str], httpx.Client]
ORIGIN = "http://internal.in-process"  # the in-process listener's own origin
PAGES = [
    "/console",
    "/console/audiences/peer/acme",
    "/console/drafts/new",
    "/console/drafts/1",
    "/console/audit",
    "/console/status",
    "/console/explain",
]


def _token(server: RunningGateway, principal: str) -> str:
    return csrf_token(server.gateway._secret, principal)


@pytest.mark.parametrize("path", PAGES)
def test_a_page_is_html_with_a_strict_policy_and_the_principals_token(
    served: RunningGateway, internal: Client, path: str
) -> None:
    got = internal(STAFF).get(path)
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("text/html")
    assert got.headers["content-security-policy"] == CSP
    assert "default-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
    assert "'unsafe-inline'" not in CSP
    assert got.headers["x-frame-options"] == "DENY"
    assert got.headers["cache-control"] == "no-store"
    assert f'content="{_token(served, STAFF)}"' in got.text
    assert "<script>" not in got.text and " style=" not in got.text  # nothing inline


def test_each_staff_member_has_a_token_of_their_own(served: RunningGateway) -> None:
    assert _token(served, STAFF) != _token(served, BOB)
    assert len(_token(served, STAFF)) == 43


def test_every_file_the_shell_loads_is_served_by_the_gateway(internal: Client) -> None:
    staff = internal(STAFF)
    for path, kind in [
        ("/console/static/js/app.js", "text/javascript"),
        ("/console/static/js/editor.js", "text/javascript"),
        ("/console/static/console.css", "text/css"),
        ("/console/static/favicon.svg", "image/svg+xml"),
    ]:
        got = staff.get(path)
        assert got.status_code == 200, path
        assert got.headers["content-type"].startswith(kind)
        assert got.headers["x-content-type-options"] == "nosniff"
    for missing in ("/console/static/nope.js", "/console/static/../shell.html"):
        assert staff.get(missing).status_code == 404
    # every module app.js imports is there (no CDN, no build step)
    app = staff.get("/console/static/js/app.js").text
    for line in app.splitlines():
        if line.startswith("import ") and "from './" in line:
            name = line.split("from './")[1].split("'")[0]
            assert staff.get(f"/console/static/js/{name}").status_code == 200, name


def test_only_staff_get_the_console(internal: Client) -> None:
    for path in ("/console", "/console/static/js/app.js"):
        got = internal(SOURCE).get(path)
        assert got.status_code == 403
        assert got.json()["error"]["message"] == "only staff may use the console"
    assert internal(STAFF).get("/console/audiences/staff/alice").status_code == 404


def _validate(client: httpx.Client, **headers: str) -> httpx.Response:
    body = {"text": policy_text("peer-acme.yaml")}
    return client.post("/v1/admin/policies/validate", json=body, headers={**JSON_BODY, **headers})


def test_a_browser_change_needs_same_origin_and_the_token(
    served: RunningGateway, internal: Client
) -> None:
    staff = internal(STAFF)
    token = _token(served, STAFF)
    same = {"sec-fetch-site": "same-origin", "origin": ORIGIN}
    counts = served.gateway.tls_rejections.counts
    before = dict(counts)
    assert _validate(staff).status_code == 200  # the command line: no browser headers
    assert _validate(staff, **same, **{"x-demarc-csrf": token}).status_code == 200
    refused = [
        ({**same}, "csrf-no-token"),
        ({**same, "x-demarc-csrf": _token(served, BOB)}, "csrf-bad-token"),
        (
            {
                "sec-fetch-site": "cross-site",
                "origin": "https://evil.example",
                "x-demarc-csrf": token,
            },
            "csrf-cross-site",
        ),
        ({"sec-fetch-site": "same-site", "x-demarc-csrf": token}, "csrf-cross-site"),
        ({"origin": "https://evil.example", "x-demarc-csrf": token}, "csrf-cross-origin"),
        ({"origin": "null", "x-demarc-csrf": token}, "csrf-cross-origin"),
    ]
    for headers, reason in refused:
        got = _validate(staff, **headers)
        assert got.status_code == 403, headers
        assert got.json()["error"]["code"] == "forbidden"
        assert counts[reason] > before.get(reason, 0), reason
    assert "X-Demarc-CSRF" in _validate(staff, **same).json()["error"]["message"]


def test_a_browser_read_from_another_site_is_refused_but_a_link_opens_the_page(
    internal: Client,
) -> None:
    staff = internal(STAFF)
    fetched = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "cors"}
    assert staff.get("/v1/admin/status", headers=fetched).status_code == 403
    assert (
        staff.get("/console", headers={**fetched, "sec-fetch-mode": "no-cors"}).status_code == 403
    )
    followed = {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate"}
    assert staff.get("/console", headers=followed).status_code == 200
    own = staff.get("/v1/admin/status", headers={"sec-fetch-site": "same-origin"})
    assert own.status_code == 200
    assert own.headers["cache-control"] == "no-store"  # what a browser gets is not kept


def test_a_forged_empty_post_no_longer_activates_a_draft(
    fresh: RunningGateway, clients: Clients
) -> None:
    """Before the guard, a page on any site could POST an empty body (a "simple" request,
    no preflight) to activate a narrowing draft with the staff member's certificate."""
    alice = clients.internal(STAFF)
    narrower = policy_text("peer-northwind.yaml", lambda d: d["disclose"]["interconnect"]
                           .update(fields=["id"]))  # fmt: skip
    draft = alice.post("/v1/admin/drafts", json={"text": narrower}, headers=JSON_BODY).json()
    forged = alice.post(
        f"/v1/admin/drafts/{draft['id']}/activate",
        headers={
            "sec-fetch-site": "cross-site",
            "sec-fetch-mode": "no-cors",
            "origin": "https://evil.example",
        },
    )
    assert forged.status_code == 403
    assert alice.get(f"/v1/admin/drafts/{draft['id']}").json()["state"] == "open"
    # the console itself, same origin with the token, activates it
    token = _token(fresh, STAFF)
    own = alice.post(
        f"/v1/admin/drafts/{draft['id']}/activate",
        headers={"sec-fetch-site": "same-origin", "origin": ORIGIN, "x-demarc-csrf": token},
    )
    assert own.status_code == 200, own.text
