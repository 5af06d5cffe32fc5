"""A small dev/test PKI: one ECDSA P-256 CA issuing SPIFFE client certs and server certs."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROLES = frozenset({"source", "staff", "peer", "customer"})

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
# Backdate notBefore so a peer whose clock runs a little behind ours still accepts a fresh cert.
_CLOCK_SKEW = timedelta(minutes=5)
_HASH = hashes.SHA256()


def spiffe_id(trust_domain: str, role: str, name: str) -> str:
    """Return ``spiffe://<trust_domain>/<role>/<name>`` after checking each part."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(sorted(ROLES))}, not {role!r}")
    for label, value in (("trust_domain", trust_domain), ("name", name)):
        if not _SEGMENT.fullmatch(value):
            raise ValueError(
                f"{label} must be non-empty and contain only A-Z a-z 0-9 . _ -, not {value!r}"
            )
        # The SPIFFE spec forbids these as path segments; they would also read as directories.
        if value in (".", ".."):
            raise ValueError(f"{label} must not be {value!r}")
    return f"spiffe://{trust_domain}/{role}/{name}"


def fingerprint_sha256(cert_pem_or_der: bytes) -> str:
    """Lowercase hex SHA-256 of the certificate's DER encoding, from PEM or DER input."""
    if cert_pem_or_der.lstrip().startswith(b"-----BEGIN"):
        der = x509.load_pem_x509_certificate(cert_pem_or_der).public_bytes(
            serialization.Encoding.DER
        )
    else:
        x509.load_der_x509_certificate(cert_pem_or_der)  # reject bytes that are not a certificate
        der = cert_pem_or_der
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True)
class IssuedCert:
    cert_pem: bytes
    key_pem: bytes

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write ``<stem>.crt`` and ``<stem>.key`` (mode 0600) into ``directory``."""
        cert_path = directory / f"{stem}.crt"
        key_path = directory / f"{stem}.key"
        cert_path.write_bytes(self.cert_pem)
        # Created 0600 from the start: a write-then-chmod would leave the key readable for a moment.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as key_file:
            # The mode argument only applies to new files; an old key file may be wider.
            os.fchmod(key_file.fileno(), 0o600)
            key_file.write(self.key_pem)
        return cert_path, key_path


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _validity(valid_days: int, not_before: datetime | None) -> tuple[datetime, datetime]:
    if valid_days <= 0:
        raise ValueError(f"valid_days must be positive, not {valid_days}")
    if not_before is None:
        now = datetime.now(UTC)
        return now - _CLOCK_SKEW, now + timedelta(days=valid_days)
    if not_before.tzinfo is None:
        # cryptography would silently read a naive datetime as UTC, which is rarely what was meant.
        raise ValueError("not_before must be timezone-aware")
    return not_before, not_before + timedelta(days=valid_days)


class CertificateAuthority:
    """A self-signed CA that may only sign leaves (path length 0)."""

    def __init__(self, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self._cert = certificate
        self._key = key

    @classmethod
    def create(
        cls, common_name: str = "Demarc dev CA", valid_days: int = 3650
    ) -> CertificateAuthority:
        key = _new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        not_before, not_after = _validity(valid_days, None)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, _HASH)
        )
        return cls(cert, key)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> CertificateAuthority:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            raise ValueError(f"{key_path} is not an ECDSA P-256 private key")
        if key.public_key() != cert.public_key():
            raise ValueError(f"{key_path} does not belong to the certificate in {cert_path}")
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise ValueError(f"{cert_path} is not a CA certificate")
        return cls(cert, key)

    @property
    def certificate(self) -> x509.Certificate:
        return self._cert

    @property
    def cert_pem(self) -> bytes:
        return self._cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return _key_pem(self._key)

    def issue_client(
        self,
        trust_domain: str,
        role: str,
        name: str,
        valid_days: int = 397,
        not_before: datetime | None = None,
    ) -> IssuedCert:
        """A clientAuth leaf whose only identity is its SPIFFE URI SAN."""
        uri = spiffe_id(trust_domain, role, name)
        return self._issue(
            # Decorative: authorization reads the URI SAN, never the CN.
            common_name=f"{role}/{name}",
            usage=ExtendedKeyUsageOID.CLIENT_AUTH,
            sans=[x509.UniformResourceIdentifier(uri)],
            valid_days=valid_days,
            not_before=not_before,
        )

    def issue_server(
        self, hostnames: Sequence[str], ips: Sequence[str], valid_days: int = 397
    ) -> IssuedCert:
        """A serverAuth leaf for the given DNS names and IP addresses."""
        sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        if not sans:
            raise ValueError("a server certificate needs at least one hostname or IP address")
        return self._issue(
            common_name=hostnames[0] if hostnames else ips[0],
            usage=ExtendedKeyUsageOID.SERVER_AUTH,
            sans=sans,
            valid_days=valid_days,
            not_before=None,
        )

    def _issue(
        self,
        *,
        common_name: str,
        usage: x509.ObjectIdentifier,
        sans: list[x509.GeneralName],
        valid_days: int,
        not_before: datetime | None,
    ) -> IssuedCert:
        key = _new_key()
        start, end = _validity(valid_days, not_before)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(self._authority_key_identifier(), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(self._key, _HASH)
        )
        return IssuedCert(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))

    def _authority_key_identifier(self) -> x509.AuthorityKeyIdentifier:
        # Copy the CA's own SKI when present so the two match exactly, as chain builders expect.
        try:
            ski = self._cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        except x509.ExtensionNotFound:
            return x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key())
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def init_pki(
    directory: Path,
    *,
    server_names: Sequence[str] = ("localhost",),
    server_ips: Sequence[str] = ("127.0.0.1", "::1"),
    force: bool = False,
) -> CertificateAuthority:
    """Create (or reuse) ``ca.crt``/``ca.key`` and ``server.crt``/``server.key`` in a directory."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_cert, ca_key = directory / "ca.crt", directory / "ca.key"
    server_cert, server_key = directory / "server.crt", directory / "server.key"
    if ca_key.exists() and not force:
        ca = CertificateAuthority.load(ca_cert, ca_key)
    else:
        ca = CertificateAuthority.create()
        IssuedCert(ca.cert_pem, ca.key_pem).write(directory, "ca")
        # The old server cert was signed by the CA just replaced, so it must go too.
        server_cert.unlink(missing_ok=True)
    if not (server_cert.exists() and server_key.exists()):
        ca.issue_server(server_names, server_ips).write(directory, "server")
    return ca


def issue_principal(directory: Path, trust_domain: str, role: str, name: str) -> tuple[Path, Path]:
    """Issue a client cert from the CA in ``directory``; returns the ``.crt`` and ``.key`` paths."""
    spiffe_id(trust_domain, role, name)  # fail on a bad name before touching the disk
    ca_cert, ca_key = directory / "ca.crt", directory / "ca.key"
    if not (ca_cert.exists() and ca_key.exists()):
        raise FileNotFoundError(
            f"no CA in {directory} (ca.crt and ca.key): run `demarc pki init` first"
        )
    ca = CertificateAuthority.load(ca_cert, ca_key)
    return ca.issue_client(trust_domain, role, name).write(directory, f"{role}-{name}")


def load_ssl_client_context(ca_file: Path, cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A TLS client context that trusts only ``ca_file`` and presents the given client cert."""
    # PROTOCOL_TLS_CLIENT already turns on hostname checking and CERT_REQUIRED.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=ca_file)
    context.load_cert_chain(certfile=cert_file, keyfile=key_file)
    return context
