"""Keyed pseudonyms: stable for one audience, unlinkable between audiences."""

from __future__ import annotations

import hashlib
import hmac

_CONTEXT = b"demarc-pseudonym-v1\x00"


def audience_key(master_secret: bytes, audience: str) -> bytes:
    """The per-audience HMAC key, derived from the gateway's master secret."""
    return hmac.digest(master_secret, _CONTEXT + audience.encode(), "sha256")


class Pseudonymizer:
    """Maps (kind, internal id) to ``<prefix>-<16 hex>``; memoised, as the same ids recur."""

    __slots__ = ("_base", "_memo")

    def __init__(self, key: bytes) -> None:
        # a pre-keyed HMAC copied per id costs half of hmac.digest (DESIGN.md)
        self._base = hmac.new(key, digestmod=hashlib.sha256)
        self._memo: dict[tuple[str, str], str] = {}

    def __call__(self, prefix: str, internal_id: str) -> str:
        memo_key = (prefix, internal_id)
        hit = self._memo.get(memo_key)
        if hit is not None:
            return hit
        mac = self._base.copy()
        mac.update(prefix.encode() + b"\x00" + internal_id.encode())
        value = f"{prefix}-{mac.hexdigest()[:16]}"
        self._memo[memo_key] = value
        return value
