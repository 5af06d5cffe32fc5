"""Hostile input on the admin routes: huge ids, YAML bombs, bodies sent to the wrong role."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import Pki, RunningGateway
from tests.policyapi import draft, policy_text

HUGE = [2**63, 2**64, 10**30]
StaffClient = Callable[[str], httpx.Client]


def _draft_routes(draft_id: int) -> list[tuple[str, str, Any]]:
    base = f"/v1/admin/drafts/{draft_id}"
    return [
        ("GET", base, None),
        ("PUT", base, {"text": "audience: peer/acme"}),
        ("GET", f"{base}/preview", None),
        ("GET", f"{base}/diff", None),
        ("POST", f"{base}/approve", {"digest": "0" * 64}),
        ("POST", f"{base}/activate", {"digest": "0" * 64}),
    ]


@pytest.mark.parametrize("draft_id", [*HUGE, 0, -1])
def test_out_of_range_draft_ids_are_not_found(internal: StaffClient, draft_id: int) -> None:
    staff = internal("staff/alice")
    for method, path, body in _draft_routes(draft_id):
        response = staff.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("version", HUGE)
def test_out_of_range_rollback_version_is_refused_with_422(
    internal: StaffClient, version: int
) -> None:
    response = internal("staff/alice").post(
        "/v1/admin/policies/peer/acme/rollback", json={"to": version}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["problems"][0]["where"] == "$.to"


def test_an_audit_cursor_past_any_id_starts_from_the_newest(internal: StaffClient) -> None:
    staff = internal("staff/alice")
    newest = staff.get("/v1/admin/audit", params={"limit": 1})
    huge = staff.get("/v1/admin/audit", params={"limit": 1, "cursor": "9" * 20})
    assert newest.status_code == huge.status_code == 200, huge.text
    assert huge.json()["events"] == newest.json()["events"]


def _nested(depth: int) -> str:
    return "audience: peer/acme\nextra: " + "[" * depth + "]" * depth + "\n"


def _alias_bomb() -> str:
    lines = ["audience: peer/acme", 'a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [(_nested(50_000), 2, "nested"), (_alias_bomb(), 3, "alias")],
    ids=["nested-50000", "alias-bomb"],
)
def test_yaml_bombs_are_refused_with_422_naming_the_line(
    internal: StaffClient, text: str, line: int, says: str
) -> None:
    staff = internal("staff/alice")
    response = staff.post("/v1/admin/drafts", json={"text": text})
    assert response.status_code == 422, response.text[:300]
    problem = response.json()["error"]["problems"][0]
    assert problem["where"].startswith(f"<draft>:{line}:"), problem
    assert says in problem["message"], problem
    checked = staff.post("/v1/admin/policies/validate", json={"text": text})
    assert checked.status_code == 200 and checked.json()["valid"] is False
    # the gateway still answers, and an ordinary draft is still accepted
    assert draft(staff, policy_text("peer-acme.yaml"))["audience"] == "peer/acme"


def _headers_only(server: RunningGateway, pki: Pki, who: str, path: str, length: int) -> bytes:
    """Send a request's headers announcing ``length`` body bytes, send none, read the answer."""
    request = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()
    with (
        socket.create_connection(("127.0.0.1", server.internal_port), timeout=10) as raw,
        pki.context(who).wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(request)
        try:
            return tls.recv(65536)
        except (TimeoutError, ssl.SSLError, OSError):
            return b""  # the server waited for a body it had no reason to read


@pytest.mark.parametrize(
    "path",
    ["/v1/admin/drafts/1/approve", "/v1/admin/drafts/1/activate",
     "/v1/admin/policies/peer/acme/rollback", "/v1/admin/drafts"],
)  # fmt: skip
def test_role_is_checked_before_the_body_is_read(
    served_tls: RunningGateway, pki: Pki, path: str
) -> None:
    # real sockets: what matters is when the server answers, not what an ASGI app returns
    answer = _headers_only(served_tls, pki, "source/feeder", path, 50_000_000)
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]


@pytest.mark.parametrize(
    ("path", "body"),
    [("/v1/admin/drafts/1/approve", {"digest": "0" * 64}),
     ("/v1/admin/drafts/1/activate", {"digest": "0" * 64}),
     ("/v1/admin/policies/peer/acme/rollback", {"to": 1})],
)  # fmt: skip
def test_every_admin_body_is_size_limited(
    internal: StaffClient, path: str, body: dict[str, Any]
) -> None:
    padded = {**body, "padding": "x" * 100_000}
    response = internal("staff/alice").post(path, json=padded)
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"]["code"] == "payload_too_large"
