"""Revocation: CRLs written by the dev PKI, and read by the server to refuse revoked clients."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.pki import CertificateAuthority, IssuedCert

REVOKED_FILE = "revoked.json"
CRL_FILE = "crl.pem"

# -- the PKI directory: which CAs it holds, what they revoked ----------------------------------


def _authorities(directory: Path) -> dict[str, CertificateAuthority]:
    """``ca`` (the root) and every intermediate ``intermediate-<name>``, by file stem."""
    out = {"ca": CertificateAuthority.load(directory / "ca.crt", directory / "ca.key")}
    for key in sorted(directory.glob("intermediate-*.key")):
        stem = key.name.removesuffix(".key")
        out[stem] = CertificateAuthority.load(directory / f"{stem}.crt", key)
    return out


def _revoked(directory: Path) -> list[dict[str, str | int]]:
    path = directory / REVOKED_FILE
    if not path.exists():
        return []
    entries: list[dict[str, str | int]] = json.loads(path.read_text(encoding="utf-8"))
    return entries


def write_crls(directory: Path, next_update: timedelta = timedelta(days=7)) -> Path:
    """Sign a fresh CRL for every CA in ``directory`` into ``crl.pem`` (atomically replaced)."""
    entries = _revoked(directory)
    pems = []
    for stem, ca in _authorities(directory).items():
        mine = [(int(e["serial"]), datetime.fromisoformat(str(e["at"])))
                for e in entries if e["issuer"] == stem]  # fmt: skip
        pems.append(ca.sign_crl(mine, next_update))
    target = directory / CRL_FILE
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(b"".join(pems))
    tmp.replace(target)  # a server watching the file never reads half of it
    return target


def revoke(directory: Path, cert_file: Path) -> int:
    """Record ``cert_file`` as revoked by its issuer and rewrite the CRLs; returns its serial."""
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    issuer = next(
        (stem for stem, ca in _authorities(directory).items()
         if ca.certificate.subject == cert.issuer),
        None,
    )  # fmt: skip
    if issuer is None:
        raise ValueError(f"{cert_file} was not issued by a CA in {directory}")
    entries = _revoked(directory)
    if not any(e["serial"] == cert.serial_number and e["issuer"] == issuer for e in entries):
        entries.append(
            {"issuer": issuer, "serial": cert.serial_number, "at": datetime.now(UTC).isoformat()}
        )
        (directory / REVOKED_FILE).write_text(json.dumps(entries, indent=1), encoding="utf-8")
    write_crls(directory)
    return cert.serial_number


def init_intermediate(directory: Path, name: str) -> Path:
    """An intermediate CA ``intermediate-<name>`` under the root, added to ``ca.crt`` (the trust
    bundle); ``demarc pki issue --issuer intermediate-<name>`` issues from it."""
    stem = f"intermediate-{name}"
    if (directory / f"{stem}.key").exists():
        return directory / f"{stem}.crt"
    root = CertificateAuthority.load(directory / "ca.crt", directory / "ca.key")
    inter = root.issue_intermediate(f"Demarc {name} intermediate CA")
    cert_path, _ = IssuedCert(inter.cert_pem, inter.key_pem).write(directory, stem)
    with (directory / "ca.crt").open("ab") as bundle:
        bundle.write(inter.cert_pem)
    write_crls(directory)
    return cert_path


# -- the server side: what a client certificate's issuer says about it ------------------------


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
