"""A development and test PKI: CAs, SPIFFE client certificates, revocation and CRLs.

A tool for demos, tests and small sites, run from ``demarc pki``. Nothing on the serving path
imports it: the server reads certificates and CRLs as files (``gateway.security``).
"""

from gateway.pki.authority import (
    ROLES,
    CertificateAuthority,
    IssuedCert,
    fingerprint_sha256,
    init_pki,
    issue_principal,
    load_ssl_client_context,
    rotate_server,
    spiffe_id,
)
from gateway.pki.revocation import CRL_FILE, REVOKED_FILE, init_intermediate, revoke, write_crls

__all__ = [
    "CRL_FILE",
    "REVOKED_FILE",
    "ROLES",
    "CertificateAuthority",
    "IssuedCert",
    "fingerprint_sha256",
    "init_intermediate",
    "init_pki",
    "issue_principal",
    "load_ssl_client_context",
    "revoke",
    "rotate_server",
    "spiffe_id",
    "write_crls",
]
