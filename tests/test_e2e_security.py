"""End to end over real TLS: who can connect, on which listener, and that nothing internal leaks."""

from __future__ import annotations

import re
import socket
import ssl
import warnings
from typing import Any

import httpx
import msgspec
import pytest

from gateway.demo.network import DemoData
from tests.conftest import JSON_BODY, UNREGISTERED, Pki, RunningGateway


@pytest.fixture(scope="module")
def served(served_tls: RunningGateway) -> RunningGateway:
    """This module is about TLS: its shared gateway serves real sockets (the representative
    end-to-end path of both listeners, with public/internal clients over TLS)."""
    return served_tls


PUBLIC_ROUTES = [
    "/v1/views", "/v1/interconnects", "/v1/alarms", "/v1/maintenance", "/v1/services",
    "/v1/incidents", "/v1/topology", "/v1/topology/rfc8345", "/openapi.json", "/docs",
]  # fmt: skip


def _handshake_refused(port: int, ctx: ssl.SSLContext) -> bool:
    """True when the server refuses the connection before sending any HTTP response bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET /v1/views HTTP/1.1\r\nHost: localhost\r\n\r\n")
                data = tls.recv(1024)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return True
    return data == b""


def test_no_client_certificate_gets_no_response(served: RunningGateway, pki: Pki) -> None:
    ctx = ssl.create_default_context(cafile=str(pki.directory / "ca.crt"))
    assert _handshake_refused(served.public_port, ctx)
    assert _handshake_refused(served.internal_port, ctx)


def test_certificate_from_another_ca_gets_no_response(served: RunningGateway, pki: Pki) -> None:
    ctx = pki.context("peer/acme", other_ca=True)  # same SPIFFE id, untrusted issuer
    assert _handshake_refused(served.public_port, ctx)


def test_positive_control_registered_peer_is_served(served: RunningGateway, pki: Pki) -> None:
    assert not _handshake_refused(served.public_port, pki.context("peer/acme"))


def test_tls_below_1_2_is_refused(served: RunningGateway, pki: Pki) -> None:
    ctx = pki.context("peer/acme")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer TLS 1.1: the server must refuse
    with (
        socket.create_connection(("127.0.0.1", served.public_port), timeout=5) as raw,
        pytest.raises(ssl.SSLError) as refused,
    ):
        ctx.wrap_socket(raw, server_hostname="localhost")
    assert refused.value.reason != "NO_PROTOCOLS_AVAILABLE", "the client never offered TLS 1.1"


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_no_session_tickets_are_issued(
    served: RunningGateway, pki: Pki, version: ssl.TLSVersion
) -> None:
    ctx = pki.context("peer/acme")
    ctx.minimum_version = ctx.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", served.public_port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"GET /v1/views HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert tls.recv(1024).startswith(b"HTTP/1.1 200")
        session = tls.session
        assert session is not None
        assert not session.has_ticket
        assert tls.cipher()[0].startswith(("ECDHE", "TLS_AES", "TLS_CHACHA20"))


def test_verified_certificate_naming_no_principal_gets_403(public: Any) -> None:
    response = public(UNREGISTERED).get("/v1/views")
    assert response.status_code == 403
    assert "mallory" not in response.text


@pytest.mark.parametrize(
    ("listener", "principal"),
    [("public", "source/feeder"), ("public", "staff/alice"), ("internal", "peer/acme"),
     ("internal", "customer/globex")],
)  # fmt: skip
def test_principal_on_the_wrong_listener_gets_403(
    public: Any, internal: Any, listener: str, principal: str
) -> None:
    client = (public if listener == "public" else internal)(principal)
    for path in ("/v1/views", "/v1/ingest/topology", "/v1/admin/status", "/openapi.json"):
        assert client.get(path).status_code == 403


def test_ingest_and_admin_do_not_exist_on_the_public_listener(public: Any) -> None:
    client = public("peer/acme")
    for path in ("/v1/ingest/topology", "/v1/ingest/alertmanager", "/v1/ingest/services",
                 "/v1/ingest/alarms", "/v1/ingest/metrics", "/v1/ingest/maintenance",
                 "/v1/admin/status"):  # fmt: skip
        for method in ("GET", "POST", "PUT"):
            assert client.request(method, path, content=b"{}").status_code == 404


def test_customer_cannot_ingest_and_source_cannot_administer(internal: Any) -> None:
    assert internal("staff/alice").post("/v1/ingest/alarms", json={"alarms": []}).status_code == 403
    assert internal("source/feeder").get("/v1/admin/status").status_code == 403


class _Secret:
    """One internal string to look for; short hex-only names (ae1) would match inside hex
    pseudonyms by chance, so those are matched as whole tokens."""

    def __init__(self, secret: str) -> None:
        self.raw = secret.encode()
        self.token: re.Pattern[bytes] | None = None
        if re.fullmatch(r"[0-9a-f]+", secret):
            self.token = re.compile(rb"(?<![0-9a-z])" + re.escape(self.raw) + rb"(?![0-9a-z])")

    def search(self, body: bytes) -> bool:
        if self.token is not None:
            return self.token.search(body) is not None
        return self.raw in body


def _secret_patterns(demo: DemoData) -> list[tuple[str, _Secret]]:
    return [(secret, _Secret(secret)) for secret in sorted(demo.secrets.all())]


def _public_bodies(public: Any, demo: DemoData) -> list[tuple[str, str, bytes]]:
    principals = [f"peer/{p}" for p in demo.peers] + [f"customer/{c}" for c in demo.customers]
    other_ids = [s["id"] for s in demo.services["services"]] + ["x" * 300, "..%2f..%2fetc"]
    seen = []
    for principal in principals:
        client = public(principal)
        paths = PUBLIC_ROUTES + [f"/v1/services/{sid}" for sid in other_ids]
        paths += ["/v1/nope", "/v1/interconnects?page=-1", "/v1/services/%00"]
        for path in paths:
            for method in ("GET", "DELETE"):
                response = client.request(method, path)
                raw = b"".join(f"{k}: {v}\n".encode() for k, v in response.headers.items())
                seen.append((principal, f"{method} {path}", raw + response.content))
    return seen


def test_no_internal_name_address_or_site_in_any_public_response(
    public: Any, demo: DemoData
) -> None:
    patterns = _secret_patterns(demo)
    assert len(patterns) > 500, "the sweep must look for every internal identifier"
    bodies = _public_bodies(public, demo)
    assert len(bodies) > 200
    leaks = [
        (principal, request, secret)
        for principal, request, body in bodies
        for secret, pattern in patterns
        if pattern.search(body) or pattern.search(_unescaped(body))
    ]
    assert leaks == []


def _unescaped(body: bytes) -> bytes:
    try:
        return msgspec.json.encode(msgspec.json.decode(body.split(b"\n")[-1] or b"null")).replace(
            b"\\/", b"/"
        )
    except msgspec.DecodeError:
        return body


def test_negative_control_the_sweep_finds_secrets_in_internal_data(demo: DemoData) -> None:
    patterns = _secret_patterns(demo)
    internal = msgspec.json.encode(demo.topology) + msgspec.json.encode(demo.alertmanager)
    assert sum(1 for _, p in patterns if p.search(internal)) > 300


def test_peers_never_see_each_others_interconnects(public: Any, demo: DemoData) -> None:
    bodies = {p: public(f"peer/{p}").get("/v1/interconnects") for p in demo.peers}
    acme = bodies["acme"].json()["items"]
    for peer, response in bodies.items():
        if peer == "acme":
            continue
        text = response.text
        assert not any(item["id"] in text for item in acme)
        assert not any(item["remote_tp"] in text for item in acme if item.get("remote_tp"))


def test_errors_carry_no_trace_or_internal_path(public: Any, internal: Any) -> None:
    response = internal("source/feeder").put(
        "/v1/ingest/topology", content=b"{not json", headers=JSON_BODY
    )
    assert response.status_code == 422
    body = response.text
    assert "Traceback" not in body and "/work/" not in body and "gateway/" not in body
    assert public("peer/acme").get("/v1/services/" + "%ff" * 10).status_code == 404


def test_httpx_client_without_certificate_cannot_connect(served: RunningGateway, pki: Pki) -> None:
    ctx = ssl.create_default_context(cafile=str(pki.directory / "ca.crt"))
    with httpx.Client(verify=ctx) as client, pytest.raises(httpx.TransportError):
        client.get(f"{served.public_url}/v1/views")


_ID_KEYS = {
    "id",
    "resource",
    "resources",
    "services",
    "node",
    "from",
    "to",
    "network-id",
    "node-id",
    "tp-id",
    "link-id",
    "source-node",
    "source-tp",
    "dest-node",
    "dest-tp",
}


def _ids_in(value: Any, key: str = "") -> set[str]:
    if isinstance(value, dict):
        return set().union(set(), *(_ids_in(v, k) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(set(), *(_ids_in(v, key) for v in value))
    return {value} if isinstance(value, str) and key in _ID_KEYS else set()


def _published_ids(client: httpx.Client) -> set[str]:
    """Every identifier this audience's views publish (items, topology documents)."""
    out: set[str] = set()
    for view in client.get("/v1/views").json()["views"]:
        out |= _ids_in(client.get(view["href"]).json())
    return out


def test_cross_audience_matrix(public: Any, demo: DemoData) -> None:
    """Every public route that takes an id x every other audience's ids, for every principal:
    404 with the body of a thing that never existed, and no other audience's ids anywhere."""
    principals = [f"peer/{p}" for p in demo.peers] + [f"customer/{c}" for c in demo.customers]
    ids = {p: _published_ids(public(p)) for p in principals}
    tried = 0
    for principal in principals:
        client = public(principal)
        never = client.get("/v1/services/never-existed")
        assert never.status_code == 404
        others = set().union(*(ids[o] for o in principals if o != principal)) - ids[principal]
        for other_id in sorted(others):
            response = client.get(f"/v1/services/{other_id}")
            assert response.status_code == 404, (principal, other_id)
            assert response.content == never.content
            tried += 1
        bodies = b"".join(client.get(v["href"]).content
                          for v in client.get("/v1/views").json()["views"])  # fmt: skip
        leaked = [o for o in others if o.encode() in bodies]
        assert leaked == [], principal
    assert tried > 100
    print(f"cross-audience requests tried: {tried}")
