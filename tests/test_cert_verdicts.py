"""Cached certificate verdicts expire with the certificate: forwarded (XFCC) and direct."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.pki import init_pki
from gateway.security import proxy
from gateway.security.proxy import ForwardedCertVerifier
from gateway.security.tls import TlsState


class _Clock:
    """Stands in for ``datetime`` in a module, so ``datetime.now`` can be moved on."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self, tz: object = None) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def short_lived(tmp_path: Path) -> Path:
    """A PKI directory with ``short.crt``: a client certificate valid for one day."""
    ca = init_pki(tmp_path)
    ca.issue_client("demarc.example", "peer", "acme", valid_days=1).write(tmp_path, "short")
    return tmp_path


def _xfcc(pem: bytes) -> str:
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    return f'Hash={hashlib.sha256(der).hexdigest()};Cert="{quote(pem.decode())}"'


def test_forwarded_certificate_stops_verifying_when_it_expires(
    short_lived: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock()
    monkeypatch.setattr(proxy, "datetime", clock)
    verifier = ForwardedCertVerifier(short_lived / "ca.crt")
    header = _xfcc((short_lived / "short.crt").read_bytes())
    assert verifier.verify(header).reason is None  # valid now, and remembered
    clock.offset = timedelta(days=2)
    assert verifier.verify(header).reason == "xfcc-untrusted-cert"


def test_direct_certificate_verdict_expires_with_the_certificate(
    short_lived: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.security import tls as tls_module

    clock = _Clock()
    monkeypatch.setattr(tls_module, "datetime", clock)
    state = TlsState(
        short_lived / "server.crt",
        short_lived / "server.key",
        short_lived / "ca.crt",
        [short_lived / "crl.pem"],
        check_crls=False,  # the CRL's own expiry is another test's business
    )
    der = x509.load_pem_x509_certificate((short_lived / "short.crt").read_bytes()).public_bytes(
        Encoding.DER
    )
    assert state.refuse(der) is None
    clock.offset = timedelta(days=2)
    assert state.refuse(der) == "expired"
