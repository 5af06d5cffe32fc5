"""One webhook delivery: Standard Webhooks signature, mutual TLS, to an address checked just now."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import ssl
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx

from gateway.push.callbacks import Network, Refused, Target, resolve

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A subscription's signing secret as Standard Webhooks writes it: ``whsec_`` + base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` (Standard Webhooks)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.digest(key, signed, hashlib.sha256)).decode("ascii")


def client_context(ca: Path | None, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    """How the hub connects: receivers verified (``ca``, else the system's CAs), TLS 1.2 at
    least, and the gateway's own client certificate when configured."""
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


class Sender:
    """POSTs one signed event to a callback. The name is resolved and every answer checked
    before each attempt, and the connection goes to a checked address while TLS (SNI and the
    certificate's name) and ``Host`` keep the callback's name: a DNS answer that changes
    between the check and the connection cannot send the request anywhere else."""

    def __init__(
        self,
        context: ssl.SSLContext,
        timeout_s: float,
        networks: Iterable[Network],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._networks = tuple(networks)
        self._clock = clock
        self._context = context
        self._timeout = timeout_s
        # one client (and connection pool) per callback host: pools are keyed by the address
        # connected to, and a connection verified for one name must never carry another's
        self._clients: dict[tuple[str, int], httpx.AsyncClient] = {}

    def _client(self, target: Target) -> httpx.AsyncClient:
        key = (target.host, target.port)
        client = self._clients.get(key)
        if client is None:
            # no redirects: a callback cannot send the hub on to an address nobody checked
            client = httpx.AsyncClient(
                verify=self._context, timeout=self._timeout, follow_redirects=False
            )
            self._clients[key] = client
        return client

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def send(self, target: Target, secret: str, msg_id: str, body: bytes) -> str | None:
        """None when the receiver answered 2xx; else why not, in words for the subscriber."""
        try:
            addresses = await resolve(target, self._networks)
        except Refused as exc:
            return str(exc)
        timestamp = int(self._clock())
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, body),
            "host": target.authority,
            "user-agent": "demarc-hub",
        }
        error = "the callback could not be reached"
        for address in addresses:  # each one checked; the next only if this one is unreachable
            literal = f"[{address}]" if address.version == 6 else str(address)
            url = f"https://{literal}:{target.port}{target.path}"
            try:
                response = await self._client(target).post(
                    url, content=body, headers=headers, extensions={"sni_hostname": target.host}
                )
            except httpx.TimeoutException:
                return "the callback did not answer in time"
            except (httpx.HTTPError, OSError) as exc:  # ssl.SSLError too: it can come unwrapped
                if _tls(exc):
                    return "TLS with the callback failed (its certificate, or ours, was refused)"
                if isinstance(exc, httpx.ConnectError):
                    error = "the callback refused the connection or could not be reached"
                    continue
                if isinstance(exc, httpx.ReadError):
                    # with TLS 1.3 a receiver refuses a client certificate after the handshake:
                    # the first read fails, with no more said than a closed connection
                    return (
                        "the callback closed the connection without an answer (TLS: a receiver "
                        "that refuses our client certificate does this)"
                    )
                return "the connection to the callback failed"
            if 200 <= response.status_code < 300:
                return None
            return f"the callback answered HTTP {response.status_code}"
        return error


def _tls(exc: BaseException) -> bool:
    """Whether an SSL error is behind ``exc``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
