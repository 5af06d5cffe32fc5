"""Page cursors: the sort key of the last item given, bound to its audience and view, signed."""

from __future__ import annotations

import base64
import binascii
import hmac
import re

import msgspec

from gateway.views.pages import Key

_CONTEXT = b"demarc/page-cursor/v1\x00"
_VERSION = 1
_MAC_BYTES = 12  # 96 bits: a forgery is as likely as guessing a random 96-bit number
#: the longest cursor accepted (characters); an item id is at most a few hundred bytes
MAX_CURSOR = 1024


class CursorError(ValueError):
    """A cursor this gateway did not issue for this audience and view."""


_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")
_decode = msgspec.json.Decoder(tuple[int, str, str, str]).decode


class Cursors:
    """Encodes and checks cursors with a key per audience, derived from the gateway's master
    secret: a cursor survives restarts and new revisions, and is refused by any other audience
    or view. It holds only published values (the view's name and an item's published id), so
    it tells its holder nothing the page did not."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._keys: dict[str, bytes] = {}

    def _key(self, audience: str) -> bytes:
        key = self._keys.get(audience)
        if key is None:
            key = hmac.digest(self._secret, _CONTEXT + audience.encode(), "sha256")
            self._keys[audience] = key
        return key

    def encode(self, audience: str, view: str, key: Key) -> str:
        data = msgspec.json.encode([_VERSION, view, key[0], key[1]])
        mac = hmac.digest(self._key(audience), data, "sha256")[:_MAC_BYTES]
        return base64.urlsafe_b64encode(data + mac).rstrip(b"=").decode("ascii")

    def decode(self, audience: str, view: str, cursor: str) -> Key:
        """The key a cursor names; CursorError if it is malformed, altered or not for here."""
        if len(cursor) > MAX_CURSOR:
            raise CursorError("too long")
        if not _ALPHABET.fullmatch(cursor):
            raise CursorError("not base64url")
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError) as exc:  # e.g. a length no encoding has
            raise CursorError("not base64url") from exc
        if base64.urlsafe_b64encode(raw).rstrip(b"=") != cursor.encode("ascii"):
            raise CursorError("not base64url")  # spare bits set: not a cursor we wrote
        data, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        expected = hmac.digest(self._key(audience), data, "sha256")[:_MAC_BYTES]
        if len(raw) <= _MAC_BYTES or not hmac.compare_digest(mac, expected):
            raise CursorError("not issued for this audience, or altered")
        version, named, ident, tie = _decode(data)  # signed by us: well-formed
        if version != _VERSION or named != view:
            raise CursorError("issued for another view")
        return ident, tie
