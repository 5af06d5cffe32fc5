"""Both listeners in one process and one event loop, over mutually authenticated TLS."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import uvicorn

from gateway.app import Gateway
from gateway.errors import ConfigError
from gateway.ops.listener import ops_app, ops_server
from gateway.security.limits import ConnectionCounter, ConnectionLimits
from gateway.security.protocol import protocol_factory
from gateway.security.tls import TlsState
from gateway.settings import Limits

log = logging.getLogger("demarc.server")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when it is installed (uvicorn[standard] brings it on Linux and macOS), else asyncio.

    Our TLS layer is asyncio's SSLProtocol (gateway/security/protocol.py), which runs on any
    loop; uvloop makes the socket and transport work under it cheaper.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows, or a trimmed install
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(main: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run`` on ``new_event_loop()``."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(main)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one (tests), reported by ``getsockname``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted connections only then,
    # and without it every response body waits ~40 ms for a delayed ACK (Nagle)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror}; stop what uses it, or set "
            "public.port / internal.port to a free port"
        ) from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _config(app: Any, tls: TlsState, log_level: str, limits: Limits) -> uvicorn.Config:
    """One listener's server; every connection limit and timeout is applied here."""
    counter = ConnectionCounter(
        ConnectionLimits(
            handshake_timeout_s=limits.handshake_timeout_s,
            header_timeout_s=limits.header_timeout_s,
            body_timeout_s=limits.body_timeout_s,
            keepalive_timeout_s=limits.keepalive_timeout_s,
            max_header_bytes=limits.max_header_bytes,
            max_connections=limits.max_connections,
            max_connections_per_address=limits.max_connections_per_address,
        )
    )
    return uvicorn.Config(
        app,
        # TLS is not uvicorn's here: our protocol (gateway/security/protocol.py) wraps its HTTP one
        http=protocol_factory(tls, counter),  # type: ignore[arg-type]
        lifespan="off",  # the Gateway's life is managed here, once for both listeners
        log_level=log_level,
        log_config=None,  # uvicorn logs through the process's JSON handler (gateway.ops.logs)
        access_log=False,  # gateway.ops.access writes one line per request instead
        server_header=False,
        proxy_headers=False,  # no X-Forwarded-* from anyone: the socket peer is the client
        timeout_keep_alive=limits.keepalive_timeout_s,  # type: ignore[arg-type]  # a float works
    )


async def serve(
    gateway: Gateway,
    public_sock: socket.socket | None = None,
    internal_sock: socket.socket | None = None,
    *,
    log_level: str = "info",
    ready: Callable[[], Awaitable[None] | None] | None = None,
    stop: asyncio.Event | None = None,
    ops_sock: socket.socket | None = None,
) -> None:
    """Run until ``stop`` is set or a listener exits (SIGINT/SIGTERM in the main thread).
    With ``ops_sock``, also serve /metrics, /livez and /readyz there (plain HTTP)."""
    settings = gateway.settings
    tls = TlsState(
        settings.cert_path,
        settings.key_path,
        settings.ca_path,
        settings.crl_paths,
        check_crls=settings.tls_crl_check,
        rejections=gateway.tls_rejections,
    )
    gateway.tls = tls
    public_sock = public_sock or bind(settings.public.host, settings.public.port)
    internal_sock = internal_sock or bind(settings.internal.host, settings.internal.port)
    servers = [
        uvicorn.Server(_config(gateway.public_app, tls, log_level, settings.limits)),
        uvicorn.Server(_config(gateway.internal_app, tls, log_level, settings.limits)),
    ]
    socks = [public_sock, internal_sock]
    if ops_sock is not None:
        servers.append(ops_server(ops_app(gateway.metrics, gateway.readings), log_level))
        socks.append(ops_sock)
    signalled = _on_exit_signals()
    await gateway.start()
    gateway.warn_crl_expiry()
    watcher = asyncio.create_task(_watch_tls(tls, settings.tls_reload_interval_s, gateway))
    _on_sighup(tls, gateway)
    try:
        tasks = [
            asyncio.create_task(server.serve(sockets=[sock]))
            for server, sock in zip(servers, socks, strict=True)
        ]
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.01)
        log.info(
            "public listener on %s, internal listener on %s%s",
            _where(public_sock),
            _where(internal_sock),
            f", ops listener on {_where(ops_sock, 'http')}" if ops_sock is not None else "",
        )
        if ready is not None:
            result = ready()
            if result is not None:
                await result
        waiters: list[asyncio.Future[Any]] = [*tasks, asyncio.ensure_future(signalled.wait())]
        if stop is not None:
            waiters.append(asyncio.ensure_future(stop.wait()))
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        gateway.push.waiters.close()  # held long-polls answer now: uvicorn waits for them
        # one listener stopping (a signal reaches only one of them) stops both
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        for waiter in waiters:
            waiter.cancel()
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await gateway.stop()


async def _watch_tls(tls: TlsState, interval: float, gateway: Gateway) -> None:
    """Pick up a new CA bundle, CRL, server certificate or principal registry without a
    restart."""
    while True:
        await asyncio.sleep(interval)
        await asyncio.to_thread(tls.reload_if_changed)
        gateway.reload_registry()  # on the loop: it swaps what the middleware reads
        gateway.warn_crl_expiry()


def _on_exit_signals() -> asyncio.Event:
    """SIGINT and SIGTERM stop the gateway cleanly (store closed, audit flushed, views kept
    for a warm start). uvicorn takes them over while it serves and, once stopped, raises the
    signal again for the handler it found: with Python's default one, SIGTERM would end the
    process there, before the gateway could stop. This is the handler it finds."""
    signalled = asyncio.Event()
    if threading.current_thread() is threading.main_thread():
        loop = asyncio.get_running_loop()

        def handler(signum: int, frame: object) -> None:
            loop.call_soon_threadsafe(signalled.set)  # again after uvicorn: already stopping

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, handler)
    return signalled


def _on_sighup(tls: TlsState, gateway: Gateway) -> None:
    def reload() -> None:
        tls.reload()
        gateway.reload_registry(force=True)

    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP"):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)


def _where(sock: socket.socket, scheme: str = "https") -> str:
    host, port = sock.getsockname()[:2]
    return f"{scheme}://{host}:{port}"
