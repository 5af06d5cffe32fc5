"""CRLs on the serving path: revoked serials per issuer, read from CRLs a trusted CA signed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa


@dataclass(frozen=True)
class CrlSet:
    """Revoked serials per issuer, from CRLs whose signature a trusted CA verified."""

    revoked: frozenset[tuple[bytes, int]] = frozenset()  # (issuer name DER, serial)
    next_update: dict[bytes, datetime] = field(default_factory=dict)  # issuer → CRL expiry
    problems: tuple[str, ...] = ()

    def reason(self, cert: x509.Certificate, now: datetime) -> str | None:
        """Why ``cert`` must be refused on revocation grounds, or None."""
        issuer = cert.issuer.public_bytes()
        expiry = self.next_update.get(issuer)
        if expiry is None:
            return "crl-missing"
        if expiry <= now:
            return "crl-expired"
        if (issuer, cert.serial_number) in self.revoked:
            return "revoked"
        return None


def load_crls(crl_files: Sequence[Path], ca_bundle: Path, now: datetime) -> CrlSet:
    """Every CRL in ``crl_files`` checked against the CAs of ``ca_bundle``; problems named."""
    cas = x509.load_pem_x509_certificates(ca_bundle.read_bytes())
    revoked: set[tuple[bytes, int]] = set()
    next_update: dict[bytes, datetime] = {}
    problems: list[str] = []
    for path in crl_files:
        try:
            crls = _read_crls(path)
        except (OSError, ValueError) as exc:
            problems.append(f"cannot read CRL file {path}: {exc}")
            continue
        for crl in crls:
            ca = next((c for c in cas if c.subject == crl.issuer), None)
            if ca is None or not _signed_by(crl, ca):
                problems.append(f"{path}: a CRL of {crl.issuer.rfc4514_string()} is not signed by "
                                "a trusted CA; ignored")  # fmt: skip
                continue
            issuer = crl.issuer.public_bytes()
            expiry = crl.next_update_utc or now
            if issuer in next_update and next_update[issuer] >= expiry:
                continue  # keep the newest CRL of each CA
            next_update[issuer] = expiry
            revoked.difference_update({r for r in revoked if r[0] == issuer})
            revoked.update((issuer, r.serial_number) for r in crl)
    for ca in cas:
        issuer = ca.subject.public_bytes()
        name = ca.subject.rfc4514_string()
        if issuer not in next_update:
            problems.append(f"no CRL for CA {name}: every client certificate it issued is refused")
        elif next_update[issuer] <= now:
            problems.append(f"the CRL of CA {name} expired at {next_update[issuer].isoformat()}: "
                            "every client certificate it issued is refused")  # fmt: skip
    return CrlSet(frozenset(revoked), next_update, tuple(problems))


def _read_crls(path: Path) -> list[x509.CertificateRevocationList]:
    data = path.read_bytes()
    if b"-----BEGIN X509 CRL-----" not in data:
        return [x509.load_der_x509_crl(data)]
    out = []
    for block in data.split(b"-----END X509 CRL-----")[:-1]:
        out.append(x509.load_pem_x509_crl(block + b"-----END X509 CRL-----\n"))
    return out


def _signed_by(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    key = ca.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return False
    return crl.is_signature_valid(key)
