"""Client certificate → principal: the SPIFFE URI SAN, matched exactly against the registry."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509

from gateway.errors import ConfigError

ROLES = ("source", "staff", "peer", "customer")
PUBLIC_ROLES = frozenset({"peer", "customer"})
INTERNAL_ROLES = frozenset({"source", "staff"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True, slots=True)
class Principal:
    role: str
    name: str

    @property
    def id(self) -> str:
        """``role/name``: also the audience name of peers and customers."""
        return f"{self.role}/{self.name}"

    def spiffe(self, trust_domain: str) -> str:
        return f"spiffe://{trust_domain}/{self.role}/{self.name}"


def parse_principal(text: str) -> Principal:
    role, sep, name = text.partition("/")
    if not sep or role not in ROLES or not _NAME.match(name):
        raise ValueError(
            f"{text!r} is not a principal: write '<role>/<name>' with role one of "
            f"{', '.join(ROLES)} and a name of letters, digits, '.', '_' or '-'"
        )
    return Principal(role, name)


class Registry:
    """The known principals. Lookups are cached per certificate, as connections repeat them.

    A principal may be pinned to certificate fingerprints (SHA-256 of the DER): then only
    those certificates identify it, whatever else the CA issues with its SPIFFE id.
    """

    def __init__(
        self,
        trust_domain: str,
        principals: Iterable[Principal],
        pins: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.trust_domain = trust_domain
        self._by_uri = {p.spiffe(trust_domain): p for p in principals}
        # a registry never changes (a reload builds a new one): sorted once, not per commit
        self._sorted = tuple(sorted(self._by_uri.values(), key=lambda p: p.id))
        self._audiences = tuple(p.id for p in self._sorted if p.role in PUBLIC_ROLES)
        self._pins = dict(pins or {})
        self._cache: dict[bytes, Principal | None] = {}

    @property
    def principals(self) -> list[Principal]:
        return list(self._sorted)

    def audiences(self) -> tuple[str, ...]:
        """The peers and customers, sorted (the same tuple every call)."""
        return self._audiences

    def identify(self, der: bytes) -> Principal | None:
        """The principal a verified certificate names, or None.

        Exactly one SPIFFE URI must be present and registered; CN is never an identity.
        """
        if der in self._cache:
            return self._cache[der]
        principal = self._identify(der)
        if len(self._cache) > 100_000:  # bounded: certificates are few, but never trust that
            self._cache.clear()
        self._cache[der] = principal
        return principal

    def _identify(self, der: bytes) -> Principal | None:
        try:
            cert = x509.load_der_x509_certificate(der)
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except (ValueError, x509.ExtensionNotFound):
            return None
        uris = [u for u in san.get_values_for_type(x509.UniformResourceIdentifier)]
        spiffe = [u for u in uris if u.startswith("spiffe://")]
        if len(spiffe) != 1:
            return None
        principal = self._by_uri.get(spiffe[0])
        pins = self._pins.get(principal.id) if principal is not None else None
        if pins is not None and hashlib.sha256(der).hexdigest() not in pins:
            return None
        return principal


def load_registry(path: Path, trust_domain: str) -> Registry:
    """Principals from a YAML file: ``principals: [peer/acme, customer/globex, ...]``; an entry
    may instead be ``{principal: peer/acme, pin_sha256: [<hex>, ...]}``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read principals file {path}: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"principals"}:
        raise ConfigError(f"{path}: expected a mapping with one key, 'principals'")
    entries = data.get("principals") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: 'principals' must be a list of '<role>/<name>'")
    principals = []
    pins: dict[str, frozenset[str]] = {}
    for index, entry in enumerate(entries):
        try:
            principal, pinned = _entry(entry)
        except ValueError as exc:
            raise ConfigError(f"{path}: principals[{index}]: {exc}") from None
        principals.append(principal)
        if pinned is not None:
            pins[principal.id] = pinned
    return Registry(trust_domain, principals, pins)


_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


def _entry(entry: object) -> tuple[Principal, frozenset[str] | None]:
    if not isinstance(entry, dict):
        return parse_principal(str(entry)), None
    if set(entry) - {"principal", "pin_sha256"} or "principal" not in entry:
        raise ValueError("a mapping entry has 'principal' and optionally 'pin_sha256', no more")
    pins = entry.get("pin_sha256")
    if pins is None:
        return parse_principal(str(entry["principal"])), None
    if not isinstance(pins, list) or not pins:
        raise ValueError("pin_sha256 is a non-empty list of SHA-256 fingerprints (64 hex digits)")
    normal = {str(p).lower().replace(":", "") for p in pins}
    bad = sorted(p for p in normal if not _FINGERPRINT.match(p))
    if bad:
        raise ValueError(f"not a SHA-256 fingerprint (64 hex digits): {bad[0]}")
    return parse_principal(str(entry["principal"])), frozenset(normal)
