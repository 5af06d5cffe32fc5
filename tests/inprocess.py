"""Requests to a gateway's ASGI apps in-process, as a given principal, without TLS or sockets.

In production the principal comes from the client certificate: the TLS layer
(gateway/security/protocol.py) puts the verified certificate's DER into the ASGI scope
(``scope["extensions"]["tls"]``) and ``IdentityMiddleware`` maps it to a principal. Here the
same certificate, read from the test PKI, is put into the scope by ``with_client_cert``, a
wrapper that exists only in the tests: the gateway's own code has no way to name a principal
other than a certificate, so nothing reachable from the network can do what this does. Every
check after the TLS handshake (registry lookup, role per listener, routes, error bodies,
leak guard, audit) runs as it does behind a socket.

What this cannot test, and the TLS end-to-end tests do: the handshake itself, certificate
verification, revocation and its re-check on open connections, the trusted proxy's socket.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

import httpx

from gateway.security.protocol import CERT_DER, TLS_EXTENSION

ASGIApp = Any


def certificate_der(pki_dir: Path, principal: str) -> bytes:
    """The DER of ``<role>-<name>.crt`` that the test PKI issued for ``principal``."""
    role, name = principal.split("/")
    pem = (pki_dir / f"{role}-{name}.crt").read_text(encoding="ascii")
    return ssl.PEM_cert_to_DER_cert(pem)


def with_client_cert(app: ASGIApp, der: bytes) -> ASGIApp:
    """``app`` as the TLS layer would hand it a connection from the holder of ``der``."""
    tls = {CERT_DER: der, "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)]}

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        extensions = {**(scope.get("extensions") or {}), TLS_EXTENSION: tls}
        await app({**scope, "extensions": extensions}, receive, send)

    return wrapped


class LoopTransport(httpx.BaseTransport):
    """A synchronous httpx transport that runs each request on the gateway's own event loop
    (in its thread, as a served request is), through ``httpx.ASGITransport``."""

    def __init__(self, app: ASGIApp, loop: asyncio.AbstractEventLoop) -> None:
        # a 500 is answered as a server would, not raised into the test
        self._asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def run() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            inner = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._asgi.handle_async_request(inner)
            content = await response.aread()
            return response.status_code, response.headers.raw, content

        status, headers, content = asyncio.run_coroutine_threadsafe(run(), self._loop).result(60)
        return httpx.Response(status, headers=headers, content=content, request=request)


def in_process_client(
    app: ASGIApp, loop: asyncio.AbstractEventLoop, base_url: str, der: bytes
) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, transport=LoopTransport(with_client_cert(app, der), loop)
    )
