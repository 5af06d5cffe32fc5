"""Trusted-proxy mode: a client certificate forwarded by Envoy in x-forwarded-client-cert.

Honoured only from configured socket peers; from anyone else the header is ignored and the
attempt counted. The forwarded certificate is verified as if it had been presented directly:
its Hash must match it, it must chain to a trusted CA, be valid now, carry clientAuth, and pass
the same revocation checks as a direct client.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

XFCC = b"x-forwarded-client-cert"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Forwarded:
    """The certificate a proxy forwarded (DER), and why it is refused (None: verified)."""

    der: bytes | None
    reason: str | None


def parse_networks(entries: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def trusted(peer: object, networks: Sequence[Network]) -> bool:
    if not networks or not isinstance(peer, tuple | list) or not peer:
        return False
    try:
        address = ipaddress.ip_address(str(peer[0]))
    except ValueError:
        return False
    return any(address in network for network in networks)


def _elements(header: str) -> list[dict[str, str]]:
    """Envoy's format: elements separated by ',', pairs by ';', values may be quoted."""
    elements: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key, buf, quoted = "", "", False
    for ch in header + ",":
        if ch == '"':
            quoted = not quoted
        elif ch == "=" and not quoted and not key:
            key, buf = buf.strip(), ""
        elif ch in ";," and not quoted:
            if key:
                current[key.lower()] = buf
            key, buf = "", ""
            if ch == ",":
                elements.append(current)
                current = {}
        else:
            buf += ch
    return [e for e in elements if e]


class ForwardedCertVerifier:
    """Checks forwarded certificates against the CA bundle.

    Verdicts are cached per header value, but only within the certificate's validity: a cached
    "verified" must not outlive ``notAfter``. CRL changes rebuild the verifier (a new TLS
    generation), and revocation itself is checked by the TLS layer on every request.
    """

    def __init__(self, ca_bundle: Path) -> None:
        self._store = Store(x509.load_pem_x509_certificates(ca_bundle.read_bytes()))
        self._cache: dict[str, tuple[Forwarded, datetime, datetime]] = {}

    def verify(self, header: str, now: datetime | None = None) -> Forwarded:
        now = now or datetime.now(UTC)
        hit = self._cache.get(header)
        if hit is not None and hit[1] <= now < hit[2]:
            return hit[0]
        result, validity = self._verify(header, now)
        if len(self._cache) > 10_000:
            self._cache.clear()
        if validity is not None and validity[0] <= now < validity[1]:
            self._cache[header] = (result, *validity)
        else:
            self._cache.pop(header, None)
        return result

    def _verify(
        self, header: str, now: datetime
    ) -> tuple[Forwarded, tuple[datetime, datetime] | None]:
        """The verdict, and the period it holds for (None: not to be cached)."""
        elements = _elements(header)
        if len(elements) != 1:
            # one hop, set by the proxy we trust (Envoy SANITIZE_SET); more is a chain of
            # proxies we do not know, or a client's own header appended to
            return Forwarded(None, "xfcc-malformed"), None
        fields = elements[0]
        pem, digest = fields.get("cert"), fields.get("hash")
        if not pem or not digest:
            return Forwarded(None, "xfcc-malformed"), None
        try:
            cert = x509.load_pem_x509_certificate(unquote(pem).encode())
            chain = x509.load_pem_x509_certificates(unquote(fields["chain"]).encode()) if (
                "chain" in fields) else []  # fmt: skip
        except ValueError:
            return Forwarded(None, "xfcc-malformed"), None
        der = cert.public_bytes(Encoding.DER)
        if hashlib.sha256(der).hexdigest() != digest.lower():
            return Forwarded(None, "xfcc-hash-mismatch"), None
        verifier = PolicyBuilder().store(self._store).time(now).build_client_verifier()
        try:
            path = verifier.verify(cert, [c for c in chain if c != cert]).chain
        except VerificationError:
            return Forwarded(der, "xfcc-untrusted-cert"), None  # der kept: to name the cause
        # the verdict holds while every certificate of the verified path is within its dates
        start = max(c.not_valid_before_utc for c in path)
        end = min(c.not_valid_after_utc for c in path)
        return Forwarded(der, None), (start, end)
