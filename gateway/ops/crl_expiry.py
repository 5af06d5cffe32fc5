"""CRL expiry seen before it locks everyone out: a warning from a margin before nextUpdate."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class CrlState:
    """One trusted CA's CRL as staff see it in ``/v1/admin/status``."""

    ca: str
    next_update: datetime | None  # None: no valid CRL loaded, every client of this CA refused
    seconds_left: float | None  # negative once it has passed
    warning: bool  # missing, expired, or within the warning margin of nextUpdate


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

    def status(self, next_update: Mapping[bytes, datetime], now: datetime) -> list[CrlState]:
        """Every CA of the bundle, and any CA a CRL was loaded for, soonest expiry first (a CA
        without a CRL first of all: it already refuses every client)."""
        names = self._names()
        out = []
        for issuer in set(names) | set(next_update):
            when = next_update.get(issuer)
            left = (when - now).total_seconds() if when is not None else None
            warning = left is None or left <= self._margin.total_seconds()
            out.append(CrlState(names.get(issuer, "unknown CA"), when, left, warning))
        return sorted(out, key=lambda s: (s.seconds_left is not None, s.seconds_left or 0, s.ca))


def _human(left: timedelta) -> str:
    hours = left.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
