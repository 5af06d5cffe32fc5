"""Server TLS: a strict mTLS context, and a uvicorn protocol that hands the client certificate on.

uvicorn verifies client certificates but leaves the ASGI scope's ``extensions`` empty; this
protocol reads the verified peer certificate once per connection and puts it into
``scope["extensions"]["tls"]`` (ASGI TLS extension) for every request on that connection.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

try:  # httptools is the fast parser; h11 is the pure-Python fallback
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover
    _Base = H11Protocol  # type: ignore[misc,assignment]

# ECDHE key exchange with AEAD ciphers only (TLS 1.2); TLS 1.3 suites are all AEAD
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
TLS_EXTENSION = "tls"
CERT_DER = "client_cert_der"  # our addition beside the ASGI spec's PEM chain: no re-encoding


def server_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """TLS ≥ 1.2, ECDHE+AEAD, client certificate required, no session tickets.

    Tickets are off so that a client whose certificate was revoked cannot resume a session
    and skip the certificate check (DESIGN.md).
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(CIPHERS)
    ctx.options |= ssl.OP_NO_TICKET | ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.num_tickets = 0
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_cert_chain(certfile=str(cert), keyfile=str(key))
    ctx.load_verify_locations(cafile=str(ca))
    return ctx


def _with_client_cert(app: Any, tls: dict[str, Any]) -> Any:
    async def app_with_cert(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["extensions"] = {**(scope.get("extensions") or {}), TLS_EXTENSION: tls}
        await app(scope, receive, send)

    return app_with_cert


def _tls_info(transport: Any) -> dict[str, Any]:
    ssl_object = transport.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    pem = ssl.DER_cert_to_PEM_cert(der) if der else None
    return {
        CERT_DER: der,
        "client_cert_chain": [pem] if pem else [],
        "tls_version": ssl_object.version() if ssl_object is not None else None,
    }


class MTLSHttpToolsProtocol(_Base):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.app = _with_client_cert(self.app, _tls_info(transport))


class MTLSH11Protocol(H11Protocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.app = _with_client_cert(self.app, _tls_info(transport))


def client_cert_der(scope: dict[str, Any]) -> bytes | None:
    """The verified client certificate of this request's connection, if any."""
    tls = (scope.get("extensions") or {}).get(TLS_EXTENSION)
    if not tls:
        return None
    der = tls.get(CERT_DER)
    return der if isinstance(der, bytes) else None
