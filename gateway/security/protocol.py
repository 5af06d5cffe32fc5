"""Protocols under uvicorn: TLS with a post-handshake check, and HTTP that hands on the client cert.

uvicorn verifies client certificates but leaves the ASGI scope's ``extensions`` empty and logs
nothing about refused handshakes. Here the TLS layer is ours (asyncio's SSLProtocol, one per
connection, from the TLS state current at accept time): a failed handshake is recorded with its
reason; a verified certificate that must still be refused (revoked, resumed after revocation,
no clientAuth EKU, a CA certificate) closes the connection before any HTTP byte. The HTTP
protocol puts the certificate into ``scope["extensions"]["tls"]`` (ASGI TLS extension) and
re-checks it on every request. Connection limits are applied before the handshake; header
size and header, body and first-request timeouts in the HTTP protocol (``limits.py``).
"""

from __future__ import annotations

import asyncio
import ssl
from asyncio import sslproto
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.errors import ClientRefused
from gateway.security.limits import ConnectionCounter, ConnectionLimits
from gateway.security.tls import Rejections, TlsState, classify

TLS_EXTENSION = "tls"
CERT_DER = "client_cert_der"  # beside the ASGI spec's PEM chain, so nothing re-encodes it
HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n"
    b"connection: close\r\n\r\n"
)
REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class AdmissionGate(asyncio.Protocol):
    """The first protocol of every connection: counts it in, or refuses it before any TLS or
    HTTP state exists (asyncio's SSLProtocol builds its SSL object and zero-fills its read
    buffer when it is created, so a flood of idle sockets must not get that far)."""

    def __init__(
        self,
        build: Callable[[Callable[[], None]], asyncio.BufferedProtocol],
        counter: ConnectionCounter,
        rejections: Rejections,
    ) -> None:
        self._build = build
        self._counter = counter
        self._rejections = rejections

    def connection_made(self, transport: Any) -> None:
        # uvloop's TCPTransport is no asyncio.Transport subclass, but has what is used here
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        reason = self._counter.admit(address)
        if reason is not None:
            self._rejections.record(reason, peer)
            transport.abort()
            return
        # from here on the transport talks to TLS; reading starts after this returns
        inner = self._build(lambda: self._counter.release(address))
        transport.set_protocol(inner)
        inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:  # never: refused, or handed over
        pass


class GuardedTLSProtocol(sslproto.SSLProtocol):
    # asyncio zero-fills a 256 KiB read buffer per connection: a TLS record holds at most
    # 16 KiB, so 32 KiB costs no throughput and an eighth of the memory
    max_size = 32 * 1024

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        app_protocol: asyncio.Protocol,
        tls: TlsState,
        handshake_timeout_s: float = 10.0,
        on_lost: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(
            loop,
            app_protocol,
            tls.context,
            None,  # type: ignore[arg-type]  # typeshed: waiter is optional at runtime
            server_side=True,
            ssl_handshake_timeout=handshake_timeout_s,  # type: ignore[arg-type]
        )
        self._tls = tls
        self._on_lost: Callable[[], None] | None = on_lost

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._on_lost is not None:  # once: the connection no longer counts
            self._on_lost()
            self._on_lost = None
        super().connection_lost(exc)

    def _check_handshake_timeout(self) -> None:
        # asyncio aborts a slow handshake without calling _on_handshake_complete: count it here
        if getattr(self, "_state", None) == sslproto.SSLProtocolState.DO_HANDSHAKE:
            peer = self._transport.get_extra_info("peername") if self._transport else None
            self._tls.rejections.record("handshake-timeout", peer)
        super()._check_handshake_timeout()

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
    """uvicorn's httptools protocol, with the client certificate in every request's scope,
    and the header size limit and request timeouts uvicorn does not enforce with httptools."""

    tls_state: TlsState | None = None
    limits: ConnectionLimits = ConnectionLimits()

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._in_head = True  # waiting for (the rest of) a request line and headers
        self._head_bytes = 0
        self._heads = 0  # requests whose headers ended: did the last chunk end one?
        self._deadline: asyncio.TimerHandle | None = None
        # a connection that never sends a request is closed like a slow one
        self._arm("request-timeout", self.limits.header_timeout_s)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        tls = {
            CERT_DER: der,
            "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
            "tls_version": ssl_object.version() if ssl_object is not None else None,
        }
        self.app = self._wrap(self.app, tls, der)

    def data_received(self, data: bytes) -> None:
        if self._in_head and self._deadline is None:  # the first byte of a keep-alive request
            self._arm("header-timeout", self.limits.header_timeout_s)
        heads, in_head = self._heads, self._in_head
        super().data_received(data)
        if in_head and heads == self._heads and not self.transport.is_closing():
            # the headers did not end in this chunk, so all of it was head: httptools would
            # buffer a header of any size (the limit overshoots by one chunk at most)
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_header_bytes:
                self._close("header-too-large", HEADERS_TOO_LARGE)

    def on_headers_complete(self) -> None:
        self._heads += 1
        self._in_head = False
        self._head_bytes = 0
        self._arm("body-timeout", self.limits.body_timeout_s)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._in_head = True
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, reason: str, after: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(after, self._expired, reason)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, reason: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        # mid-body, the application owns the response: the connection just ends
        self._close(reason, REQUEST_TIMEOUT if self._in_head else b"")

    def _close(self, reason: str, response: bytes) -> None:
        if self.tls_state is not None:
            self.tls_state.rejections.record(reason, self.client)
        if response:
            self.transport.write(response)
        self.transport.close()

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


def protocol_factory(
    tls: TlsState, counter: ConnectionCounter | None = None
) -> Callable[..., asyncio.Protocol]:
    """What uvicorn calls per connection (as its ``http`` class): an admission gate, then our
    TLS around its HTTP."""
    counter = counter or ConnectionCounter(ConnectionLimits())
    limits = counter.limits

    class Http(MTLSHttpToolsProtocol):
        tls_state = tls

    Http.limits = limits

    def make(**kwargs: Any) -> Any:
        loop = kwargs.get("_loop") or asyncio.get_running_loop()

        def build(on_lost: Callable[[], None]) -> GuardedTLSProtocol:
            http = Http(**kwargs)
            return GuardedTLSProtocol(loop, http, tls, limits.handshake_timeout_s, on_lost)

        return AdmissionGate(build, counter, tls.rejections)

    return make


def client_cert_der(scope: dict[str, Any]) -> bytes | None:
    """The verified client certificate of this request's connection, if any."""
    tls = (scope.get("extensions") or {}).get(TLS_EXTENSION)
    if not tls:
        return None
    der = tls.get(CERT_DER)
    return der if isinstance(der, bytes) else None
