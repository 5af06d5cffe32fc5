"""A small dev/test PKI: ECDSA P-256 CAs issuing SPIFFE client certs and server certs."""

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

from gateway.errors import PkiError

ROLES = frozenset({"source", "staff", "peer", "customer"})

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
# Backdate notBefore so a peer whose clock runs a little behind ours still accepts a fresh cert.
_CLOCK_SKEW = timedelta(minutes=5)
_HASH = hashes.SHA256()


def load_certificate(path: Path) -> x509.Certificate:
    """A PEM certificate from ``path``; a PkiError naming the file if it cannot be one."""
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except OSError as exc:
        raise PkiError(f"cannot read the certificate {path}: {exc.strerror}") from None
    except ValueError:
        raise PkiError(f"{path} is not a PEM certificate") from None


def spiffe_id(trust_domain: str, role: str, name: str) -> str:
    """Return ``spiffe://<trust_domain>/<role>/<name>`` after checking each part."""
    if role not in ROLES:
        raise PkiError(f"role must be one of {', '.join(sorted(ROLES))}, not {role!r}")
    for label, value in (("trust_domain", trust_domain), ("name", name)):
        if not _SEGMENT.fullmatch(value):
            raise PkiError(
                f"{label} must be non-empty and contain only A-Z a-z 0-9 . _ -, not {value!r}"
            )
        # The SPIFFE spec forbids these as path segments; they would also read as directories.
        if value in (".", ".."):
            raise PkiError(f"{label} must not be {value!r}")
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
        raise PkiError(f"valid_days must be positive, not {valid_days}")
    if not_before is None:
        now = datetime.now(UTC)
        return now - _CLOCK_SKEW, now + timedelta(days=valid_days)
    if not_before.tzinfo is None:
        # cryptography would silently read a naive datetime as UTC, which is rarely what was meant.
        raise PkiError("not_before must be timezone-aware")
    return not_before, not_before + timedelta(days=valid_days)


def _ca_certificate(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    valid_days: int,
    path_length: int,
    authority: x509.AuthorityKeyIdentifier | None = None,
) -> x509.Certificate:
    not_before, not_after = _validity(valid_days, None)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if authority is not None:
        builder = builder.add_extension(authority, critical=False)
    return builder.sign(issuer_key, _HASH)


class CertificateAuthority:
    """A CA: self-signed (``create``) or an intermediate signed by another (``issue_intermediate``).

    A root made with ``path_length=0`` may only sign leaves; ``path_length=1`` lets it sign one
    level of intermediates, which themselves sign only leaves.
    """

    def __init__(self, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self._cert = certificate
        self._key = key

    @classmethod
    def create(
        cls, common_name: str = "Demarc dev CA", valid_days: int = 3650, path_length: int = 0
    ) -> CertificateAuthority:
        key = _new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        return cls(_ca_certificate(name, key, name, key, valid_days, path_length), key)

    def issue_intermediate(self, common_name: str, valid_days: int = 1825) -> CertificateAuthority:
        """A CA under this one that signs leaves only (path length 0)."""
        key = _new_key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        cert = _ca_certificate(name, key, self._cert.subject, self._key, valid_days, 0,
                               authority=self._authority_key_identifier())  # fmt: skip
        return CertificateAuthority(cert, key)

    def sign_crl(
        self, revoked: Sequence[tuple[int, datetime]], next_update: timedelta = timedelta(days=7)
    ) -> bytes:
        """A CRL (PEM) naming ``revoked`` (serial, revocation time), valid until now+next_update."""
        now = datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self._cert.subject)
            .last_update(now - _CLOCK_SKEW)
            .next_update(now + next_update)
            .add_extension(self._authority_key_identifier(), critical=False)
            .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
        )
        for serial, when in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
            )
        return builder.sign(self._key, _HASH).public_bytes(serialization.Encoding.PEM)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> CertificateAuthority:
        cert = load_certificate(cert_path)
        try:
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except OSError as exc:
            raise PkiError(f"cannot read the CA key {key_path}: {exc.strerror}") from None
        except (ValueError, TypeError):
            raise PkiError(f"{key_path} is not an unencrypted PEM private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(
            key.curve, ec.SECP256R1
        ):
            raise PkiError(f"{key_path} is not an ECDSA P-256 private key")
        if key.public_key() != cert.public_key():
            raise PkiError(f"{key_path} does not belong to the certificate in {cert_path}")
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            raise PkiError(f"{cert_path} is not a CA certificate")
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
            raise PkiError("a server certificate needs at least one hostname or IP address")
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
    crl = directory / "crl.pem"
    if ca_key.exists() and not force:
        ca = CertificateAuthority.load(ca_cert, ca_key)
    else:
        # path length 1: the root may sign intermediates (`demarc pki intermediate`)
        ca = CertificateAuthority.create(path_length=1)
        IssuedCert(ca.cert_pem, ca.key_pem).write(directory, "ca")
        # The old server cert and CRL were signed by the CA just replaced, so they must go too.
        server_cert.unlink(missing_ok=True)
        crl.unlink(missing_ok=True)
    if not (server_cert.exists() and server_key.exists()):
        ca.issue_server(server_names, server_ips).write(directory, "server")
    if not crl.exists():
        # servers check CRLs and refuse every client of a CA without one: start with an empty CRL
        crl.write_bytes(ca.sign_crl([]))
    return ca


def rotate_server(
    directory: Path,
    server_names: Sequence[str] = ("localhost",),
    server_ips: Sequence[str] = ("127.0.0.1", "::1"),
) -> tuple[Path, Path]:
    """A new server key and certificate; a running server picks them up without a restart."""
    ca = CertificateAuthority.load(directory / "ca.crt", directory / "ca.key")
    issued = ca.issue_server(server_names, server_ips)
    # write beside, then rename: a reload never sees a new certificate with the old key
    cert, key = issued.write(directory, "server.next")
    key.replace(directory / "server.key")
    cert.replace(directory / "server.crt")
    return directory / "server.crt", directory / "server.key"


def issue_principal(
    directory: Path, trust_domain: str, role: str, name: str, issuer: str = "ca"
) -> tuple[Path, Path]:
    """Issue a client cert from the CA in ``directory`` (or from the intermediate ``issuer``);
    returns the ``.crt`` (with the intermediate appended, as clients must send it) and ``.key``."""
    spiffe_id(trust_domain, role, name)  # fail on a bad name before touching the disk
    ca_cert, ca_key = directory / f"{issuer}.crt", directory / f"{issuer}.key"
    if not (ca_cert.exists() and ca_key.exists()):
        hint = "run `demarc pki init` first" if issuer == "ca" else "run `demarc pki intermediate`"
        raise PkiError(f"no CA in {directory} ({ca_cert.name} and {ca_key.name}): {hint}")
    ca = CertificateAuthority.load(ca_cert, ca_key)
    issued = ca.issue_client(trust_domain, role, name)
    if issuer != "ca":
        issued = IssuedCert(issued.cert_pem + ca.cert_pem, issued.key_pem)
    return issued.write(directory, f"{role}-{name}")


def load_ssl_client_context(ca_file: Path, cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A TLS client context that trusts only ``ca_file`` and presents the given client cert."""
    # PROTOCOL_TLS_CLIENT already turns on hostname checking and CERT_REQUIRED.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise PkiError(f"cannot load the CA bundle {ca_file}: {exc}") from None
    try:
        context.load_cert_chain(certfile=cert_file, keyfile=key_file)
    except (OSError, ssl.SSLError) as exc:
        raise PkiError(
            f"cannot load the client certificate {cert_file} ({key_file}): {exc}"
        ) from None
    return context
