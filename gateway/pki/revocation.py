"""Revocation in the dev PKI: the revoked list, intermediates, and the CRLs the server reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.errors import PkiError
from gateway.pki.authority import CertificateAuthority, IssuedCert, load_certificate

REVOKED_FILE = "revoked.json"
CRL_FILE = "crl.pem"


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
    cert = load_certificate(cert_file)
    issuer = next(
        (stem for stem, ca in _authorities(directory).items()
         if ca.certificate.subject == cert.issuer),
        None,
    )  # fmt: skip
    if issuer is None:
        raise PkiError(f"{cert_file} was not issued by a CA in {directory}")
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
