"""The rejection matrix: real handshakes, bad clients under TLS 1.2 and 1.3, each reason recorded.

A refused client gets no HTTP response byte; the server counts and logs why. A verified
certificate that names no principal, or a principal on the wrong listener, gets 403 (DESIGN.md).
"""

from __future__ import annotations

import hashlib
import http.client
import shutil
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.demo.network import DemoData
from gateway.pki import (
    CertificateAuthority,
    IssuedCert,
    init_intermediate,
    init_pki,
    issue_principal,
    revoke,
    rotate_server,
)
from tests.certs import expired_crl, leaf, load_ca
from tests.conftest import TRUST_DOMAIN, Pki, RunningGateway, make_settings

VERSIONS = [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3]
URI = f"spiffe://{TRUST_DOMAIN}/peer/acme"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory, demo: DemoData) -> Path:
    """A PKI of this module's own: revocations here must not touch other tests' CRLs."""
    directory = tmp_path_factory.mktemp("matrix-pki")
    init_pki(directory)
    for principal in ("peer/acme", "customer/globex", "source/feeder", "staff/alice",
                      "peer/mallory"):  # fmt: skip
        role, name = principal.split("/")
        issue_principal(directory, TRUST_DOMAIN, role, name)
    issuer = load_ca(directory)
    leaf(directory, "expired", uri=URI, issuer=issuer,
         not_before=_days_ago(40), days=30)  # fmt: skip
    leaf(directory, "not-yet-valid", uri=URI, issuer=issuer, not_before=_days_ago(-5))
    leaf(directory, "self-signed", uri=URI, issuer=None)
    leaf(directory, "server-eku", uri=URI, issuer=issuer, eku=[ExtendedKeyUsageOID.SERVER_AUTH])
    leaf(directory, "no-eku", uri=URI, issuer=issuer, eku=[])
    leaf(directory, "rsa1024", uri=URI, issuer=issuer, rsa_bits=1024)
    other = CertificateAuthority.create("Someone else's CA")
    IssuedCert(other.cert_pem, other.key_pem).write(directory, "foreign-root")
    leaf(directory, "untrusted-ca", uri=URI, issuer=load_ca(directory, "foreign-root"))
    shutil.copy(directory / "ca.crt", directory / "ca-as-client.crt")
    shutil.copy(directory / "ca.key", directory / "ca-as-client.key")
    expired_crl(directory)
    return directory


def _days_ago(days: int) -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(days=days)


def _server(tmp: Path, pki_dir: Path, demo: DemoData, **overrides: Any) -> RunningGateway:
    settings = make_settings(tmp, Pki(pki_dir, pki_dir), demo, tls_reload_interval_s=0.1,
                             **overrides)  # fmt: skip
    return RunningGateway(settings).start()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, pki_dir: Path, demo: DemoData
) -> Iterator[RunningGateway]:
    running = _server(tmp_path_factory.mktemp("matrix-gw"), pki_dir, demo)
    yield running
    running.stop()


def _context(pki_dir: Path, stem: str | None, version: ssl.TLSVersion) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = version
    ctx.load_verify_locations(pki_dir / "ca.crt")
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # the client offers anything: the server decides
    if stem is not None:
        ctx.load_cert_chain(pki_dir / f"{stem}.crt", pki_dir / f"{stem}.key")
    return ctx


def _http_bytes(port: int, ctx: ssl.SSLContext | None, path: str = "/v1/views") -> bytes:
    """What the server sends back to one request; b'' when it refuses the client."""
    request = f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        if ctx is None:
            raw.sendall(request)
            data = raw.recv(4096)
            return data if data.startswith(b"HTTP") else b""
        try:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(request)
                return tls.recv(4096)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return b""


def _recorded(server: RunningGateway, reason: str, before: int) -> bool:
    counts = server.gateway.tls_rejections.counts
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if counts[reason] > before:
            return True
        time.sleep(0.01)
    return False


CASES: list[tuple[str | None, str]] = [
    (None, "no-certificate"),
    ("untrusted-ca", "untrusted-ca"),
    ("self-signed", "self-signed"),
    ("expired", "expired"),
    ("not-yet-valid", "not-yet-valid"),
    ("server-eku", "wrong-eku"),
    ("no-eku", "no-eku"),
    # OpenSSL's purpose check refuses a CA certificate first (keyCertSign, no clientAuth); the
    # gateway's own check would name it ca-as-client: see test_ca_certificate_is_never_a_client
    ("ca-as-client", "wrong-eku"),
    ("rsa1024", "weak-key"),
]


@pytest.mark.parametrize("version", VERSIONS, ids=["tls1.2", "tls1.3"])
@pytest.mark.parametrize(("stem", "reason"), CASES, ids=[c[1] for c in CASES])
def test_bad_client_gets_no_http_bytes_and_the_reason_is_recorded(
    server: RunningGateway, pki_dir: Path, stem: str | None, reason: str,
    version: ssl.TLSVersion,
) -> None:  # fmt: skip
    before = server.gateway.tls_rejections.counts[reason]
    assert _http_bytes(server.public_port, _context(pki_dir, stem, version)) == b""
    assert _recorded(server, reason, before), dict(server.gateway.tls_rejections.counts)


def test_ca_certificate_is_never_a_client(server: RunningGateway, pki_dir: Path) -> None:
    """The second line behind OpenSSL: a CA certificate that passed a handshake is refused."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    ca = x509.load_pem_x509_certificate((pki_dir / "ca.crt").read_bytes())
    assert server.gateway.tls is not None
    assert server.gateway.tls.refuse(ca.public_bytes(Encoding.DER)) == "ca-as-client"


def test_plain_http_to_the_tls_port(server: RunningGateway) -> None:
    before = server.gateway.tls_rejections.counts["plain-http"]
    assert _http_bytes(server.public_port, None) == b""
    assert _recorded(server, "plain-http", before)


@pytest.mark.parametrize("version", VERSIONS, ids=["tls1.2", "tls1.3"])
@pytest.mark.parametrize(
    ("listener", "stem", "path"),
    [("public", "peer-acme", "/v1/interconnects"),
     ("public", "customer-globex", "/v1/services"),
     ("internal", "source-feeder", "/openapi.json"),
     ("internal", "staff-alice", "/v1/admin/status")],
)  # fmt: skip
def test_positive_controls_for_every_role(
    server: RunningGateway, pki_dir: Path, listener: str, stem: str, path: str,
    version: ssl.TLSVersion,
) -> None:  # fmt: skip
    port = server.public_port if listener == "public" else server.internal_port
    assert _http_bytes(port, _context(pki_dir, stem, version), path).startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("version", VERSIONS, ids=["tls1.2", "tls1.3"])
def test_verified_but_unregistered_san_gets_403(
    server: RunningGateway, pki_dir: Path, version: ssl.TLSVersion
) -> None:
    before = server.gateway.tls_rejections.counts["unknown-principal"]
    data = _http_bytes(server.public_port, _context(pki_dir, "peer-mallory", version))
    assert data.startswith(b"HTTP/1.1 403")
    assert _recorded(server, "unknown-principal", before)


@pytest.mark.parametrize("version", VERSIONS, ids=["tls1.2", "tls1.3"])
def test_forged_xfcc_from_an_untrusted_peer_is_ignored(
    server: RunningGateway, pki_dir: Path, version: ssl.TLSVersion
) -> None:
    ctx = _context(pki_dir, "peer-acme", version)
    forged = _xfcc(pki_dir, "customer-globex")
    before = server.gateway.tls_rejections.counts["xfcc-untrusted"]
    conn = http.client.HTTPSConnection("localhost", server.public_port, context=ctx, timeout=5)
    try:
        conn.request("GET", "/v1/services", headers={"x-forwarded-client-cert": forged})
        response = conn.getresponse()
        assert response.status == 404  # still peer/acme, which has no services view
        response.read()
        conn.request("GET", "/v1/views", headers={"x-forwarded-client-cert": forged})
        assert b'"audience":"peer/acme"' in conn.getresponse().read()
    finally:
        conn.close()
    assert _recorded(server, "xfcc-untrusted", before)


def _xfcc(pki_dir: Path, stem: str, *, digest: str | None = None) -> str:
    pem = (pki_dir / f"{stem}.crt").read_bytes()
    cert = x509.load_pem_x509_certificate(pem)
    der = cert.public_bytes(Encoding.DER)
    digest = digest or hashlib.sha256(der).hexdigest()
    return f'By=spiffe://{TRUST_DOMAIN}/envoy;Hash={digest};Cert="{quote(pem.decode())}"'


@pytest.fixture(scope="module")
def proxied(
    tmp_path_factory: pytest.TempPathFactory, pki_dir: Path, demo: DemoData
) -> Iterator[RunningGateway]:
    """A gateway behind a trusted proxy on 127.0.0.1 (Envoy forwarding client certificates)."""
    running = _server(tmp_path_factory.mktemp("proxied-gw"), pki_dir, demo,
                      trusted_proxies=["127.0.0.0/8"])  # fmt: skip
    yield running
    running.stop()


def _via_proxy(proxied: RunningGateway, pki_dir: Path, xfcc: str, path: str) -> tuple[int, bytes]:
    ctx = _context(pki_dir, "source-feeder", ssl.TLSVersion.TLSv1_3)  # the proxy's own cert
    conn = http.client.HTTPSConnection("localhost", proxied.public_port, context=ctx, timeout=5)
    try:
        conn.request("GET", path, headers={"x-forwarded-client-cert": xfcc})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_trusted_proxy_forwards_a_verified_client(proxied: RunningGateway, pki_dir: Path) -> None:
    status, body = _via_proxy(proxied, pki_dir, _xfcc(pki_dir, "customer-globex"), "/v1/views")
    assert status == 200 and b'"audience":"customer/globex"' in body


@pytest.mark.parametrize(
    ("stem", "tamper", "reason"),
    [("customer-globex", "hash", "xfcc-hash-mismatch"),
     ("untrusted-ca", None, "xfcc-untrusted-cert"),
     ("no-eku", None, "xfcc-no-eku"),
     ("customer-globex", "two", "xfcc-malformed")],
)  # fmt: skip
def test_trusted_proxy_refuses_a_bad_forwarded_certificate(
    proxied: RunningGateway, pki_dir: Path, stem: str, tamper: str | None, reason: str
) -> None:
    xfcc = _xfcc(pki_dir, stem, digest="0" * 64 if tamper == "hash" else None)
    if tamper == "two":
        xfcc = f"{xfcc},{_xfcc(pki_dir, 'peer-acme')}"
    before = proxied.gateway.tls_rejections.counts[reason]
    status, body = _via_proxy(proxied, pki_dir, xfcc, "/v1/views")
    assert status == 403 and b"audience" not in body
    assert _recorded(proxied, reason, before), dict(proxied.gateway.tls_rejections.counts)


def _wait_reload(server: RunningGateway, generation: int) -> None:
    assert server.gateway.tls is not None
    deadline = time.monotonic() + 5
    while server.gateway.tls.generation == generation and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.gateway.tls.generation > generation, "the CRL change was not picked up"


def _fresh(pki_dir: Path, stem: str) -> str:
    cert, key = issue_principal(pki_dir, TRUST_DOMAIN, "peer", "acme")
    shutil.move(cert, pki_dir / f"{stem}.crt")
    shutil.move(key, pki_dir / f"{stem}.key")
    issue_principal(pki_dir, TRUST_DOMAIN, "peer", "acme")  # the shared one stays valid
    return stem


@pytest.mark.parametrize("version", VERSIONS, ids=["tls1.2", "tls1.3"])
def test_revoked_certificate_is_refused_on_a_new_connection(
    server: RunningGateway, pki_dir: Path, version: ssl.TLSVersion
) -> None:
    stem = _fresh(pki_dir, f"revoked-{version.name}")
    ctx = _context(pki_dir, stem, version)
    assert _http_bytes(server.public_port, ctx).startswith(b"HTTP/1.1 200")
    before = server.gateway.tls_rejections.counts["revoked"]
    assert server.gateway.tls is not None
    generation = server.gateway.tls.generation
    revoke(pki_dir, pki_dir / f"{stem}.crt")
    _wait_reload(server, generation)
    assert _http_bytes(server.public_port, _context(pki_dir, stem, version)) == b""
    assert _recorded(server, "revoked", before)


@pytest.mark.parametrize("version", VERSIONS, ids=["tls1.2", "tls1.3"])
def test_connection_opened_before_revocation_is_refused_on_its_next_request(
    server: RunningGateway, pki_dir: Path, version: ssl.TLSVersion
) -> None:
    stem = _fresh(pki_dir, f"revoked-live-{version.name}")
    ctx = _context(pki_dir, stem, version)
    conn = http.client.HTTPSConnection("localhost", server.public_port, context=ctx, timeout=5)
    try:
        conn.request("GET", "/v1/views")
        first = conn.getresponse()
        assert first.status == 200
        first.read()
        before = server.gateway.tls_rejections.counts["revoked-after-connect"]
        assert server.gateway.tls is not None
        generation = server.gateway.tls.generation
        revoke(pki_dir, pki_dir / f"{stem}.crt")
        _wait_reload(server, generation)
        conn.request("GET", "/v1/views")
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
            conn.getresponse()
        assert _recorded(server, "revoked-after-connect", before)
    finally:
        conn.close()


@pytest.mark.parametrize("version", VERSIONS, ids=["tls1.2", "tls1.3"])
def test_revoked_identity_cannot_return_by_session_resumption(
    server: RunningGateway, pki_dir: Path, version: ssl.TLSVersion
) -> None:
    stem = _fresh(pki_dir, f"resumed-{version.name}")
    ctx = _context(pki_dir, stem, version)
    with (
        socket.create_connection(("127.0.0.1", server.public_port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"GET /v1/views HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        assert tls.recv(4096).startswith(b"HTTP/1.1 200")
        session = tls.session
    assert session is not None
    before = server.gateway.tls_rejections.counts["revoked"]
    assert server.gateway.tls is not None
    generation = server.gateway.tls.generation
    revoke(pki_dir, pki_dir / f"{stem}.crt")
    _wait_reload(server, generation)
    request = b"GET /v1/views HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.public_port), timeout=5) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
                tls.sendall(request)
                data = tls.recv(4096)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            data = b""
    assert data == b""
    assert _recorded(server, "revoked", before)


@pytest.mark.parametrize(
    ("crls", "reason"),
    [(lambda d: [d / "no-such-crl.pem"], "crl-missing"),
     (lambda d: [d / "expired-crl.pem"], "crl-expired")],
    ids=["missing-crl", "expired-crl"],
)  # fmt: skip
@pytest.mark.parametrize("version", VERSIONS, ids=["tls1.2", "tls1.3"])
def test_without_a_valid_crl_every_client_of_that_ca_is_refused(
    tmp_path: Path, pki_dir: Path, demo: DemoData, crls: Callable[[Path], list[Path]],
    reason: str, version: ssl.TLSVersion,
) -> None:  # fmt: skip
    running = _server(tmp_path, pki_dir, demo, tls_crls=crls(pki_dir))
    try:
        assert _http_bytes(running.public_port, _context(pki_dir, "peer-acme", version)) == b""
        assert _recorded(running, reason, 0), dict(running.gateway.tls_rejections.counts)
    finally:
        running.stop()


def test_intermediate_ca_issues_clients_and_its_revocations_hold(
    server: RunningGateway, pki_dir: Path
) -> None:
    assert server.gateway.tls is not None
    generation = server.gateway.tls.generation
    init_intermediate(pki_dir, "ops")  # appended to ca.crt, the trust bundle; CRLs re-signed
    _wait_reload(server, generation)
    cert, key = issue_principal(pki_dir, TRUST_DOMAIN, "peer", "acme", issuer="intermediate-ops")
    shutil.move(cert, pki_dir / "via-ops.crt")
    shutil.move(key, pki_dir / "via-ops.key")
    issue_principal(pki_dir, TRUST_DOMAIN, "peer", "acme")
    ctx = _context(pki_dir, "via-ops", ssl.TLSVersion.TLSv1_3)
    assert _http_bytes(server.public_port, ctx).startswith(b"HTTP/1.1 200")
    generation = server.gateway.tls.generation
    revoke(pki_dir, pki_dir / "via-ops.crt")
    _wait_reload(server, generation)
    assert _http_bytes(server.public_port, ctx) == b""


def test_server_certificate_rotates_without_dropping_open_connections(
    server: RunningGateway, pki_dir: Path
) -> None:
    ctx = _context(pki_dir, "peer-acme", ssl.TLSVersion.TLSv1_3)
    conn = http.client.HTTPSConnection("localhost", server.public_port, context=ctx, timeout=5)
    try:
        conn.request("GET", "/v1/views")
        response = conn.getresponse()
        response.read()
        assert conn.sock is not None
        old_serial = conn.sock.getpeercert()["serialNumber"]  # type: ignore[union-attr]
        assert server.gateway.tls is not None
        generation = server.gateway.tls.generation
        rotate_server(pki_dir)
        _wait_reload(server, generation)
        conn.request("GET", "/v1/views")  # the connection opened before still works
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    with (
        socket.create_connection(("127.0.0.1", server.public_port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.getpeercert()["serialNumber"] != old_serial


def test_trusted_proxy_refuses_a_revoked_forwarded_certificate(
    proxied: RunningGateway, pki_dir: Path
) -> None:
    stem = _fresh(pki_dir, "xfcc-revoked")
    xfcc = _xfcc(pki_dir, stem)
    assert _via_proxy(proxied, pki_dir, xfcc, "/v1/views")[0] == 200
    assert proxied.gateway.tls is not None
    generation = proxied.gateway.tls.generation
    before = proxied.gateway.tls_rejections.counts["xfcc-revoked"]
    revoke(pki_dir, pki_dir / f"{stem}.crt")
    _wait_reload(proxied, generation)
    assert _via_proxy(proxied, pki_dir, xfcc, "/v1/views")[0] == 403
    assert _recorded(proxied, "xfcc-revoked", before)
