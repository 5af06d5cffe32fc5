"""Certificate → principal: exact SPIFFE match, one URI only, optional fingerprint pins."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.errors import ConfigError
from gateway.pki import CertificateAuthority, fingerprint_sha256
from gateway.security.identity import Principal, Registry, load_registry

DOMAIN = "demarc.example"


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create()


def _der(ca: CertificateAuthority, role: str, name: str, domain: str = DOMAIN) -> bytes:
    pem = ca.issue_client(domain, role, name).cert_pem
    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


def test_registered_spiffe_id_identifies(ca: CertificateAuthority) -> None:
    registry = Registry(DOMAIN, [Principal("peer", "acme")])
    assert registry.identify(_der(ca, "peer", "acme")) == Principal("peer", "acme")


def test_unregistered_name_role_or_trust_domain_do_not(ca: CertificateAuthority) -> None:
    registry = Registry(DOMAIN, [Principal("peer", "acme")])
    assert registry.identify(_der(ca, "peer", "acme2")) is None
    assert registry.identify(_der(ca, "customer", "acme")) is None
    assert registry.identify(_der(ca, "peer", "acme", "evil.example")) is None


def test_pinned_principal_accepts_only_its_pinned_certificate(
    ca: CertificateAuthority, tmp_path: Path
) -> None:
    pinned, other = _der(ca, "peer", "acme"), _der(ca, "peer", "acme")
    path = tmp_path / "principals.yaml"
    path.write_text(
        "principals:\n  - customer/globex\n"
        f"  - {{principal: peer/acme, pin_sha256: ['{fingerprint_sha256(pinned).upper()}']}}\n"
    )
    registry = load_registry(path, DOMAIN)
    assert registry.identify(pinned) == Principal("peer", "acme")
    assert registry.identify(other) is None  # same SPIFFE id, same CA, not the pinned cert
    assert registry.identify(_der(ca, "customer", "globex")) == Principal("customer", "globex")


@pytest.mark.parametrize(
    "entry",
    ["admin/x", "peer/", "{principal: peer/acme, pin_sha256: [abc]}",
     "{principal: peer/acme, pins: []}", "{pin_sha256: []}"],
)  # fmt: skip
def test_bad_registry_entries_are_refused_with_their_index(tmp_path: Path, entry: str) -> None:
    path = tmp_path / "principals.yaml"
    path.write_text(f"principals:\n  - peer/ok\n  - {entry}\n")
    with pytest.raises(ConfigError, match=r"principals\[1\]"):
        load_registry(path, DOMAIN)
