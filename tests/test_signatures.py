"""Signed answers (RFC 9421) over real TLS: verified here as a peer would, from the headers."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.conftest import Pki, RunningGateway

ASK = {"Accept-Signature": 'demarc=("@status" "content-digest")'}
INPUT = re.compile(r'^demarc=\((?P<covered>[^)]*)\)(?P<params>(;[a-z]+=("[^"]*"|\d+))*)$')


def handshake_certificate(server: RunningGateway, pki: Pki) -> x509.Certificate:
    """The certificate the public listener presents in its TLS handshake."""
    context = pki.context("peer/acme")
    with (
        socket.create_connection(("127.0.0.1", server.public_port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def verify(response: httpx.Response, certificate: x509.Certificate) -> dict[str, str]:
    """Check the signature as RFC 9421 says, from nothing but the answer and the certificate;
    the signature parameters, or AssertionError / InvalidSignature."""
    body_digest = base64.b64encode(hashlib.sha256(response.content).digest()).decode()
    assert response.headers["content-digest"] == f"sha-256=:{body_digest}:"
    match = INPUT.match(response.headers["signature-input"])
    assert match is not None, response.headers["signature-input"]
    covered = re.findall(r'"([^"]+)"', match["covered"])
    params = dict(re.findall(r';([a-z]+)=("[^"]*"|\d+)', match["params"]))
    lines = []
    for name in covered:
        value = str(response.status_code) if name == "@status" else response.headers[name]
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {response.headers["signature-input"][len("demarc=") :]}')
    signature = response.headers["signature"]
    assert signature.startswith("demarc=:") and signature.endswith(":")
    raw = base64.b64decode(signature[len("demarc=:") : -1])
    assert params["alg"] == '"ecdsa-p256-sha256"' and len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(der, "\n".join(lines).encode(), ec.ECDSA(hashes.SHA256()))
    fingerprint = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()
    assert params["keyid"] == f'"sha256:{fingerprint}"'
    return {k: v.strip('"') for k, v in params.items()}


def test_views_items_pages_and_events_are_signed_on_request(
    served_tls: RunningGateway, pki: Pki
) -> None:
    certificate = handshake_certificate(served_tls, pki)
    with (
        served_tls.client("public", "peer/acme", pki) as acme,
        served_tls.client("public", "customer/globex", pki) as globex,
    ):
        answers = [
            acme.get("/v1/interconnects", headers=ASK),
            acme.get("/v1/interconnects", params={"limit": 1}, headers=ASK),
            acme.get("/v1/topology", headers=ASK),
            globex.get("/v1/summary", headers=ASK),
            globex.get("/v1/history", headers=ASK),
            acme.get("/v1/events", headers=ASK),
            globex.get("/v1/feeds/incidents.atom", headers=ASK),
        ]
        service = globex.get("/v1/services").json()["items"][0]["id"]
        answers.append(globex.get(f"/v1/services/{service}", headers=ASK))
        # the same bytes are signed once: a second read gets the same signature
        again = acme.get("/v1/interconnects", headers=ASK)
    for response in answers:
        assert response.status_code == 200, response.text
        params = verify(response, certificate)
        assert params["tag"] == "demarc" and int(params["created"]) > 0
        if "etag" in response.headers:
            assert '"etag"' in response.headers["signature-input"]  # the ETag is covered
    assert again.headers["signature"] == answers[0].headers["signature"]


def test_a_changed_body_or_etag_no_longer_verifies(served_tls: RunningGateway, pki: Pki) -> None:
    certificate = handshake_certificate(served_tls, pki)
    with served_tls.client("public", "peer/acme", pki) as acme:
        response = acme.get("/v1/interconnects", headers=ASK)
    verify(response, certificate)
    forged = httpx.Response(200, headers={**response.headers, "etag": '"0000"'},
                            content=response.content)  # fmt: skip
    try:
        verify(forged, certificate)
    except InvalidSignature:
        pass
    else:  # pragma: no cover - the point of the test
        raise AssertionError("a changed ETag verified")
    tampered = httpx.Response(200, headers=response.headers, content=response.content + b" ")
    try:
        verify(tampered, certificate)
    except AssertionError:
        pass  # the digest no longer matches the body
    else:  # pragma: no cover
        raise AssertionError("a changed body verified")


def test_without_accept_signature_nothing_is_signed_and_a_304_has_no_signature(
    public: Any,
) -> None:
    acme = public("peer/acme")
    plain = acme.get("/v1/interconnects")
    assert "signature" not in plain.headers and "content-digest" not in plain.headers
    not_modified = acme.get(
        "/v1/interconnects", headers={**ASK, "If-None-Match": plain.headers["etag"]}
    )
    assert not_modified.status_code == 304 and "signature" not in not_modified.headers
