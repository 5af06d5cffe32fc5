"""Certificates that are wrong in one way each, for the rejection matrix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Key = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def load_ca(directory: Path, stem: str = "ca") -> tuple[x509.Certificate, Key]:
    cert = x509.load_pem_x509_certificate((directory / f"{stem}.crt").read_bytes())
    key = serialization.load_pem_private_key((directory / f"{stem}.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return cert, key


def leaf(
    directory: Path,
    stem: str,
    *,
    uri: str,
    issuer: tuple[x509.Certificate, Key] | None,
    eku: list[x509.ObjectIdentifier] | None = None,
    rsa_bits: int | None = None,
    not_before: datetime | None = None,
    days: int = 30,
) -> tuple[Path, Path]:
    """Write ``<stem>.crt/.key``: a leaf for ``uri``, signed by ``issuer`` (None: self-signed).

    ``eku=None`` gives clientAuth; ``eku=[]`` leaves the extension out.
    """
    key: Key = (
        rsa.generate_private_key(65537, rsa_bits)
        if rsa_bits
        else ec.generate_private_key(ec.SECP256R1())
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, stem)])
    start = not_before or datetime.now(UTC) - timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer[0].subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), False)
    )
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH] if eku is None else eku
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def expired_crl(directory: Path) -> Path:
    """A CRL of the directory's CA whose nextUpdate has passed."""
    cert, key = load_ca(directory)
    now = datetime.now(UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(cert.subject)
        .last_update(now - timedelta(days=2))
        .next_update(now - timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = directory / "expired-crl.pem"
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return path
