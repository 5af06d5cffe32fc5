"""CRL expiry seen before it locks everyone out: a warning from a margin before nextUpdate."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509

log = logging.getLogger("demarc.crl")


class CaNames:
    """CA subject DER → readable name, re-read only when the bundle file changes."""

    def __init__(self, bundle: Path) -> None:
        self._bundle = bundle
        self._cached: tuple[float, dict[bytes, str]] | None = None

    def __call__(self) -> dict[bytes, str]:
        try:
            mtime = self._bundle.stat().st_mtime
        except OSError:
            return {}
        if self._cached is None or self._cached[0] != mtime:
            cas = x509.load_pem_x509_certificates(self._bundle.read_bytes())
            self._cached = (
                mtime,
                {c.subject.public_bytes(): c.subject.rfc4514_string() for c in cas},
            )
        return self._cached[1]


class CrlExpiry:
    """Warns once per CA and CRL (a re-signed CRL may warn again) when its nextUpdate is less
    than ``margin`` away: after it, every client of that CA is refused."""

    def __init__(self, margin: timedelta, names: CaNames) -> None:
        self._margin = margin
        self._names = names
        self._warned: set[tuple[bytes, datetime]] = set()

    def check(self, next_update: Mapping[bytes, datetime], now: datetime) -> list[str]:
        """The CAs warned about by this call."""
        out = []
        for issuer, when in sorted(next_update.items(), key=lambda kv: kv[1]):
            if when - now > self._margin or (issuer, when) in self._warned:
                continue
            self._warned.add((issuer, when))
            name = self._names().get(issuer, "unknown CA")
            left = when - now
            log.warning(
                "the CRL of CA %s %s at %s: re-sign it (demarc pki crl, or your CA's tooling) "
                "or every client certificate this CA issued is refused",
                name,
                "expired" if left <= timedelta(0) else f"expires in {_human(left)}",
                when.isoformat(),
            )
            out.append(name)
        return out


def _human(left: timedelta) -> str:
    hours = left.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
