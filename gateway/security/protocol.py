"""Protocols under uvicorn: TLS with a post-handshake check, and HTTP that hands on the client cert.

uvicorn verifies client certificates but leaves the ASGI scope's ``extensions`` empty and logs
nothing about refused handshakes. Here the TLS layer is ours (asyncio's SSLProtocol, one per
connection, from the TLS state current at accept time): a failed handshake is recorded with its
reason; a verified certificate that must still be refused (revoked, resumed after revocation,
no clientAuth EKU, a CA certificate) closes the connection before any HTTP byte. The HTTP
protocol puts the certificate into ``scope["extensions"]["tls"]`` (ASGI TLS extension) and
re-checks it on every request.
"""

from __future__ import annotations

import asyncio
import ssl
from asyncio import sslproto
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.errors import ClientRefused
from gateway.security.tls import TlsState, classify

TLS_EXTENSION = "tls"
CERT_DER = "client_cert_der"  # beside the ASGI spec's PEM chain, so nothing re-encodes it
HANDSHAKE_TIMEOUT_S = 10.0


class GuardedTLSProtocol(sslproto.SSLProtocol):
    def __init__(
        self, loop: asyncio.AbstractEventLoop, app_protocol: asyncio.Protocol, tls: TlsState
    ) -> None:
        super().__init__(
            loop,
            app_protocol,
            tls.context,
            None,  # type: ignore[arg-type]  # typeshed: waiter is optional at runtime
            server_side=True,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S,  # type: ignore[arg-type]
        )
        self._tls = tls

    def _on_handshake_complete(self, handshake_exc: BaseException | None) -> None:
        peer = self._transport.get_extra_info("peername") if self._transport else None
        if handshake_exc is None:
            sslobj: ssl.SSLObject = getattr(self, "_sslobj")  # noqa: B009 - not in typeshed
            der = sslobj.getpeercert(binary_form=True)
            reason = self._tls.refuse(der)
            if reason is not None:
                self._tls.rejections.record(reason, peer)
                handshake_exc = ClientRefused(reason)
        else:
            self._tls.rejections.record(classify(handshake_exc), peer)
        super()._on_handshake_complete(handshake_exc)


class MTLSHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the client certificate in every request's scope."""

    tls_state: TlsState | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        tls = {
            CERT_DER: der,
            "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
            "tls_version": ssl_object.version() if ssl_object is not None else None,
        }
        self.app = self._wrap(self.app, tls, der)

    def _wrap(self, app: Any, tls: dict[str, Any], der: bytes | None) -> Any:
        state = self.tls_state
        protocol = self

        async def app_with_cert(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if state is not None:
                reason = state.refuse(der)
                if reason is not None:
                    # revoked since the connection opened: drop it without an HTTP byte
                    state.rejections.record(f"{reason}-after-connect", protocol.client)
                    protocol.transport.abort()
                    for _ in range(10):  # let connection_lost mark the cycle disconnected
                        await asyncio.sleep(0)
                        if protocol.cycle is not None and protocol.cycle.disconnected:
                            break
                    return
            scope["extensions"] = {**(scope.get("extensions") or {}), TLS_EXTENSION: tls}
            await app(scope, receive, send)

        return app_with_cert


def protocol_factory(tls: TlsState) -> Callable[..., asyncio.Protocol]:
    """What uvicorn calls per connection (as its ``http`` class): our TLS around its HTTP."""

    class Http(MTLSHttpToolsProtocol):
        tls_state = tls

    def make(**kwargs: Any) -> Any:
        loop = kwargs.get("_loop") or asyncio.get_running_loop()
        return GuardedTLSProtocol(loop, Http(**kwargs), tls)

    return make


def client_cert_der(scope: dict[str, Any]) -> bytes | None:
    """The verified client certificate of this request's connection, if any."""
    tls = (scope.get("extensions") or {}).get(TLS_EXTENSION)
    if not tls:
        return None
    der = tls.get(CERT_DER)
    return der if isinstance(der, bytes) else None
