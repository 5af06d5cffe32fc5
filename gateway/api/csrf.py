"""Cross-site request forgery: a browser's change must be same-origin and carry the token.

A staff member's client certificate is ambient authority: any page open in the same browser
can make it send a request to the internal listener. Requests that carry no fetch metadata and
no ``Origin`` (the command line, curl, sources) are not from a browser and pass as before; a
browser always sends ``Sec-Fetch-Site`` to an HTTPS origin, and ``Origin`` with every POST,
PUT, PATCH and DELETE, so it cannot leave both out.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from typing import Any

from gateway.api.deps import PRINCIPAL_KEY, error_response
from gateway.security.identity import Principal

TOKEN_HEADER = "x-demarc-csrf"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CROSS_SITE = "a browser request that changes state must come from the console's own origin"
NO_TOKEN = (
    "a browser request that changes state must carry the console's X-Demarc-CSRF token: "
    "reload the console page"
)
CROSS_SITE_READ = "a cross-site browser request for this resource is refused"
# what a browser may cache of the internal listener: nothing (staff data, tokens)
_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


def csrf_token(secret: bytes, principal: str) -> str:
    """The console's token for ``principal``: an HMAC of its id under a key derived from the
    gateway's secret, so it is bound to the certificate's principal and survives restarts."""
    key = hmac.digest(secret, b"demarc console csrf v1", "sha256")
    mac = hmac.digest(key, principal.encode(), "sha256")
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


class BrowserGuard:
    """ASGI: refuses a browser's cross-site reads and any browser change without same origin
    and token (403, counted as ``csrf-<reason>``); marks what a browser gets ``no-store``."""

    def __init__(self, app: Any, secret: bytes, refused: Callable[[str, Any], None]) -> None:
        self.app = app
        self._secret = secret
        self._refused = refused

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        site, origin = headers.get(b"sec-fetch-site"), headers.get(b"origin")
        if site is None and origin is None:
            await self.app(scope, receive, send)  # not a browser
            return
        reason, message = self._verdict(scope, headers, site, origin)
        if reason is not None:
            self._refused(f"csrf-{reason}", scope.get("client"))
            await error_response(403, "forbidden", message)(scope, receive, send)
            return

        async def marked(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", ())}
                extra = [(k, v) for k, v in _HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, marked)

    def _verdict(
        self, scope: dict[str, Any], headers: dict[bytes, bytes], site: bytes | None,
        origin: bytes | None,
    ) -> tuple[str | None, str]:  # fmt: skip
        if scope["method"] not in UNSAFE:
            # a link followed from elsewhere may open a page; nothing else from another site
            navigation = headers.get(b"sec-fetch-mode") == b"navigate"
            if site in (b"cross-site", b"same-site") and not navigation:
                return "cross-site-read", CROSS_SITE_READ
            return None, ""
        if site is not None and site != b"same-origin":
            return "cross-site", CROSS_SITE
        if origin is not None and origin.decode("latin-1").lower() != _own_origin(scope, headers):
            return "cross-origin", CROSS_SITE
        principal = scope.get(PRINCIPAL_KEY)
        given = headers.get(TOKEN_HEADER.encode(), b"").decode("latin-1")
        if not isinstance(principal, Principal):
            return "no-principal", NO_TOKEN
        expected = csrf_token(self._secret, principal.id)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return ("bad-token" if given else "no-token"), NO_TOKEN
        return None, ""


def _headers(scope: dict[str, Any]) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    for key, value in scope.get("headers") or ():
        # a header sent twice is a forged or broken request: keep it, so it compares unequal
        out[key] = out[key] + b"," + value if key in out else value
    return out


def _own_origin(scope: dict[str, Any], headers: dict[bytes, bytes]) -> str:
    """The origin the request was sent to, as a browser spells it in ``Origin``."""
    scheme = scope.get("scheme", "https")
    host = headers.get(b"host", b"").decode("latin-1").lower()
    return f"{scheme}://{host}"
