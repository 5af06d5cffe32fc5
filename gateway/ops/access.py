"""Per request: one access-log line and the request metrics, for both listeners."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from gateway.ops.accesslines import AccessLine, AccessLines
from gateway.ops.metrics import Metrics
from gateway.security.identity import Principal
from gateway.security.protocol import client_cert_der

UNMATCHED = "unmatched"  # no route: never the raw path, which is whatever the client typed
REVISION = b"demarc-revision"


@dataclass(slots=True)
class _Sent:
    status: int = 500  # what the client saw if the app died before answering
    bytes: int = 0
    revision: int | None = None


class AccessLog:
    """Outermost on each listener, so refusals by identity are counted and logged too."""

    def __init__(
        self,
        app: Any,
        listener: str,
        metrics: Metrics,
        principal: Callable[[dict[str, Any]], Principal | None],
        lines: AccessLines,
        *,
        log_requests: bool = True,
    ) -> None:
        """``principal`` reads who the identity layer let through from the scope, once the
        request is answered (None: refused before any route)."""
        self.app = app
        self._listener = listener
        self._metrics = metrics
        self._principal = principal
        self._lines = lines
        # the line and the metrics cost several µs each (bench/access.py)
        self._log_requests = log_requests

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = _Sent()

        async def watch(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent.status = message["status"]
                for key, value in message.get("headers") or ():
                    if key.lower() == REVISION:
                        sent.revision = int(value)
            elif message["type"] == "http.response.body":
                sent.bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            self._done(scope, sent, time.perf_counter() - started)

    def _done(self, scope: dict[str, Any], sent: _Sent, seconds: float) -> None:
        principal = self._principal(scope)
        role = principal.role if principal is not None else "none"
        route = getattr(scope.get("route"), "path", None) or UNMATCHED
        status = sent.status
        self._metrics.request(self._listener, route, status, role, seconds)
        if not self._log_requests and status != 403:
            return  # refusals are always logged: staff need to know who was turned away
        lines = self._lines
        if not lines.enabled():
            return
        line = AccessLine(
            time=lines.clock(),
            level="INFO",
            logger="demarc.access",
            message="request",
            principal=principal.id if principal is not None else None,
            listener=self._listener,
            method=scope.get("method"),
            route=route,
            status=status,
            bytes=sent.bytes,
            duration_ms=round(seconds * 1000, 3),
            revision=sent.revision,
        )
        if principal is None:
            # a refusal names what was presented, so staff can tell whom to call
            line.presented_spiffe, line.presented_sha256 = presented(client_cert_der(scope))
        lines.add(line)


def presented(der: bytes | None) -> tuple[str | None, str | None]:
    """The SPIFFE ids and SHA-256 fingerprint of a presented certificate, for a refusal log."""
    if der is None:
        return None, None
    spiffe: str | None = None
    try:
        cert = x509.load_der_x509_certificate(der)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
        spiffe = ",".join(u for u in uris if u.startswith("spiffe://")) or None
    except (ValueError, x509.ExtensionNotFound):
        pass
    return spiffe, hashlib.sha256(der).hexdigest()
