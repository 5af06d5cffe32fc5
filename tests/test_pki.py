"""Tests for the dev/test PKI in gateway.pki."""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import socket
import ssl
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.errors import PkiError
from gateway.pki import (
    CertificateAuthority,
    fingerprint_sha256,
    init_pki,
    issue_principal,
    load_ssl_client_context,
    spiffe_id,
)

TD = "demarc.test"


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create()


def _cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def _eku(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_spiffe_id_format() -> None:
    assert spiffe_id(TD, "peer", "as64500") == "spiffe://demarc.test/peer/as64500"


@pytest.mark.parametrize(
    ("trust_domain", "role", "name"),
    [
        (TD, "admin", "alice"),
        (TD, "staff", ""),
        (TD, "staff", "a/b"),
        (TD, "staff", ".."),
        ("", "staff", "alice"),
        ("demarc.test/x", "staff", "alice"),
    ],
)
def test_spiffe_id_rejects_bad_parts(trust_domain: str, role: str, name: str) -> None:
    with pytest.raises(PkiError, match="must"):
        spiffe_id(trust_domain, role, name)


def test_issue_client_rejects_bad_role(ca: CertificateAuthority) -> None:
    with pytest.raises(PkiError, match="role"):
        ca.issue_client(TD, "root", "alice")


def test_keys_are_p256(ca: CertificateAuthority) -> None:
    issued = ca.issue_client(TD, "staff", "alice")
    key = serialization.load_pem_private_key(issued.key_pem, password=None)
    for public in (key.public_key(), ca.certificate.public_key()):
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert isinstance(public.curve, ec.SECP256R1)


def test_ca_constraints(ca: CertificateAuthority) -> None:
    ext = ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert ext.critical and ext.value.ca and ext.value.path_length == 0


def test_client_cert_has_exactly_one_uri_san_equal_to_spiffe_id(
    ca: CertificateAuthority,
) -> None:
    cert = _cert(ca.issue_client(TD, "customer", "acme").cert_pem)
    san = _san(cert)
    assert len(list(san)) == 1
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        spiffe_id(TD, "customer", "acme")
    ]


def test_client_cert_is_client_auth_only(ca: CertificateAuthority) -> None:
    eku = _eku(_cert(ca.issue_client(TD, "source", "probe-1").cert_pem))
    assert ExtendedKeyUsageOID.CLIENT_AUTH in eku
    assert ExtendedKeyUsageOID.SERVER_AUTH not in eku


def test_client_cert_honours_not_before(ca: CertificateAuthority) -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    cert = _cert(ca.issue_client(TD, "staff", "old", valid_days=1, not_before=start).cert_pem)
    assert cert.not_valid_before_utc == start
    assert cert.not_valid_after_utc == start + timedelta(days=1)


def test_server_cert_has_server_auth_and_sans(ca: CertificateAuthority) -> None:
    cert = _cert(ca.issue_server(["localhost", "gw.example"], ["127.0.0.1", "::1"]).cert_pem)
    assert ExtendedKeyUsageOID.SERVER_AUTH in _eku(cert)
    san = _san(cert)
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "gw.example"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]


def test_leaves_verify_against_ca(ca: CertificateAuthority) -> None:
    for issued in (ca.issue_client(TD, "peer", "as64500"), ca.issue_server(["localhost"], [])):
        _cert(issued.cert_pem).verify_directly_issued_by(ca.certificate)


def test_leaf_does_not_verify_against_other_ca(ca: CertificateAuthority) -> None:
    leaf = _cert(ca.issue_client(TD, "peer", "as64500").cert_pem)
    with pytest.raises(InvalidSignature):
        leaf.verify_directly_issued_by(CertificateAuthority.create().certificate)


def test_write_key_file_mode_is_0600(ca: CertificateAuthority, tmp_path: Path) -> None:
    cert_path, key_path = ca.issue_client(TD, "staff", "alice").write(tmp_path, "alice")
    assert (cert_path.name, key_path.name) == ("alice.crt", "alice.key")
    assert _mode(key_path) == 0o600


def test_write_tightens_an_existing_wide_key_file(ca: CertificateAuthority, tmp_path: Path) -> None:
    (tmp_path / "alice.key").write_bytes(b"")
    (tmp_path / "alice.key").chmod(0o644)
    _, key_path = ca.issue_client(TD, "staff", "alice").write(tmp_path, "alice")
    assert _mode(key_path) == 0o600


def test_ca_load_round_trips(ca: CertificateAuthority, tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    (tmp_path / "ca.key").write_bytes(ca.key_pem)
    loaded = CertificateAuthority.load(tmp_path / "ca.crt", tmp_path / "ca.key")
    assert loaded.cert_pem == ca.cert_pem


def test_ca_load_rejects_mismatched_key(ca: CertificateAuthority, tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    (tmp_path / "ca.key").write_bytes(CertificateAuthority.create().key_pem)
    with pytest.raises(PkiError, match="does not belong"):
        CertificateAuthority.load(tmp_path / "ca.crt", tmp_path / "ca.key")


def test_init_pki_writes_files_with_private_modes(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    init_pki(pki)
    names = sorted(p.name for p in pki.iterdir())
    assert names == ["ca.crt", "ca.key", "crl.pem", "server.crt", "server.key"]
    assert _mode(pki) == 0o700
    assert _mode(pki / "ca.key") == 0o600
    assert _mode(pki / "server.key") == 0o600


def test_init_pki_is_idempotent(tmp_path: Path) -> None:
    first = init_pki(tmp_path)
    server_pem = (tmp_path / "server.crt").read_bytes()
    second = init_pki(tmp_path)
    assert second.cert_pem == first.cert_pem
    assert (tmp_path / "ca.crt").read_bytes() == first.cert_pem
    assert (tmp_path / "server.crt").read_bytes() == server_pem


def test_init_pki_recreates_missing_server_cert(tmp_path: Path) -> None:
    ca = init_pki(tmp_path)
    old_cert = (tmp_path / "server.crt").read_bytes()
    (tmp_path / "server.key").unlink()
    init_pki(tmp_path)
    # the old certificate was issued by the same CA too: what proves the repair is a new key,
    # and a new certificate for exactly that key
    assert (tmp_path / "server.key").exists(), "init_pki left the server without a key"
    new_cert = _cert((tmp_path / "server.crt").read_bytes())
    assert new_cert.public_bytes(serialization.Encoding.PEM) != old_cert
    new_cert.verify_directly_issued_by(ca.certificate)
    key = serialization.load_pem_private_key((tmp_path / "server.key").read_bytes(), None)
    assert key.public_key() == new_cert.public_key(), "server.key does not match server.crt"


def test_init_pki_force_replaces_ca_and_server(tmp_path: Path) -> None:
    first = init_pki(tmp_path)
    second = init_pki(tmp_path, force=True)
    assert second.cert_pem != first.cert_pem
    _cert((tmp_path / "server.crt").read_bytes()).verify_directly_issued_by(second.certificate)


def test_issue_principal_without_init_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="demarc pki init"):
        issue_principal(tmp_path, TD, "staff", "alice")


def test_unreadable_or_garbled_pki_files_are_named_in_a_pki_error(tmp_path: Path) -> None:
    init_pki(tmp_path)
    (tmp_path / "ca.key").write_text("not a key")
    with pytest.raises(PkiError, match=r"ca\.key is not an unencrypted PEM private key"):
        issue_principal(tmp_path, TD, "staff", "alice")
    (tmp_path / "ca.crt").write_text("not a certificate")
    with pytest.raises(PkiError, match=r"ca\.crt is not a PEM certificate"):
        issue_principal(tmp_path, TD, "staff", "alice")
    with pytest.raises(PkiError, match=r"cannot load the CA bundle .*missing\.crt"):
        load_ssl_client_context(tmp_path / "missing.crt", tmp_path / "a.crt", tmp_path / "a.key")


def test_issue_principal_writes_role_name_files(tmp_path: Path) -> None:
    ca = init_pki(tmp_path)
    cert_path, key_path = issue_principal(tmp_path, TD, "peer", "as64500")
    assert (cert_path.name, key_path.name) == ("peer-as64500.crt", "peer-as64500.key")
    _cert(cert_path.read_bytes()).verify_directly_issued_by(ca.certificate)


def test_fingerprint_sha256_same_for_pem_and_der(ca: CertificateAuthority) -> None:
    der = ca.certificate.public_bytes(serialization.Encoding.DER)
    expected = hashlib.sha256(der).hexdigest()
    assert fingerprint_sha256(ca.cert_pem) == expected
    assert fingerprint_sha256(der) == expected


def _server_context(pki: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.crt", pki / "server.key")
    context.load_verify_locations(cafile=pki / "ca.crt")
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _serve_once(sock: socket.socket, context: ssl.SSLContext) -> dict[str, Any]:
    with context.wrap_socket(sock, server_side=True) as tls:
        peer = tls.getpeercert()
        tls.sendall(b"ok")
        assert peer is not None
        return peer


def test_tls_handshake_presents_spiffe_id(tmp_path: Path) -> None:
    init_pki(tmp_path)
    crt, key = issue_principal(tmp_path, TD, "source", "probe-1")
    client_context = load_ssl_client_context(tmp_path / "ca.crt", crt, key)
    server_sock, client_sock = socket.socketpair()
    server_sock.settimeout(5)
    client_sock.settimeout(5)
    with ThreadPoolExecutor(1) as pool, server_sock, client_sock:
        served = pool.submit(_serve_once, server_sock, _server_context(tmp_path))
        with client_context.wrap_socket(client_sock, server_hostname="localhost") as tls:
            assert tls.recv(2) == b"ok"
        peer = served.result(timeout=5)
    assert peer["subjectAltName"] == (("URI", spiffe_id(TD, "source", "probe-1")),)


def test_tls_handshake_rejects_client_from_another_ca(tmp_path: Path) -> None:
    init_pki(tmp_path / "ours")
    init_pki(tmp_path / "theirs")
    crt, key = issue_principal(tmp_path / "theirs", TD, "source", "probe-1")
    # Trusting our server but presenting a cert our CA never signed.
    client_context = load_ssl_client_context(tmp_path / "ours" / "ca.crt", crt, key)
    server_sock, client_sock = socket.socketpair()
    server_sock.settimeout(5)
    client_sock.settimeout(5)
    with ThreadPoolExecutor(1) as pool, server_sock, client_sock:
        served = pool.submit(_serve_once, server_sock, _server_context(tmp_path / "ours"))
        # Under TLS 1.3 the client may finish its side before the server's alert arrives.
        with (
            contextlib.suppress(ssl.SSLError, OSError),
            client_context.wrap_socket(client_sock, server_hostname="localhost") as tls,
        ):
            tls.recv(2)
        with pytest.raises(ssl.SSLError, match="certificate"):
            served.result(timeout=5)


def test_the_cli_reports_a_pki_error_with_what_and_where_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli import main

    assert main(["pki", "revoke", "--dir", str(tmp_path), "--cert", str(tmp_path / "x.crt")]) == 2
    assert f"demarc: cannot read the certificate {tmp_path / 'x.crt'}" in capsys.readouterr().err
