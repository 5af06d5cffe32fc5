"""Limits uvicorn does not enforce with httptools, enforced by our protocol: real sockets."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from gateway.demo.network import DemoData
from tests.conftest import Pki, RunningGateway, make_settings

LIMITS = {
    "handshake_timeout_s": 1.0,
    "header_timeout_s": 1.0,
    "body_timeout_s": 1.0,
    "max_header_bytes": 4096,
    "max_connections": 5,
    "max_connections_per_address": 3,
}
BOUND_S = 15  # every wait below ends at this bound, or sooner when its condition holds


@pytest.fixture(scope="module")
def limited(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
) -> Iterator[RunningGateway]:
    data = tmp_path_factory.mktemp("limited")
    server = RunningGateway(make_settings(data, pki, demo, limits=LIMITS)).start()
    yield server
    server.stop()


def _connect(
    server: RunningGateway, pki: Pki, who: str = "peer/acme", source: str = "127.0.0.1"
) -> ssl.SSLSocket:
    raw = socket.socket()
    raw.settimeout(BOUND_S)
    raw.bind((source, 0))
    raw.connect(("127.0.0.1", server.public_port))
    return pki.context(who).wrap_socket(raw, server_hostname="localhost")


def _read_until_closed(tls: ssl.SSLSocket) -> bytes:
    """Everything the server sends until it closes (bounded by the socket timeout)."""
    out = b""
    try:
        while chunk := tls.recv(65536):
            out += chunk
    except (ConnectionError, ssl.SSLError):
        pass
    return out


def _count(server: RunningGateway, reason: str) -> int:
    return server.gateway.tls_rejections.counts[reason]


def test_a_connection_that_never_starts_tls_is_closed(limited: RunningGateway) -> None:
    before = _count(limited, "handshake-timeout")
    with (
        socket.create_connection(("127.0.0.1", limited.public_port), timeout=BOUND_S) as raw,
        contextlib.suppress(ConnectionError),
    ):
        assert raw.recv(1024) == b""  # no ClientHello sent: closed, nothing said
    deadline = time.monotonic() + BOUND_S
    while _count(limited, "handshake-timeout") == before and time.monotonic() < deadline:
        time.sleep(0.05)  # the count follows the close on the server's loop
    assert _count(limited, "handshake-timeout") == before + 1


def test_a_connection_that_sends_no_request_is_closed_with_408(
    limited: RunningGateway, pki: Pki
) -> None:
    before = _count(limited, "request-timeout")
    with _connect(limited, pki) as tls:
        assert _read_until_closed(tls).startswith(b"HTTP/1.1 408")
    assert _count(limited, "request-timeout") == before + 1


def test_slow_headers_are_closed(limited: RunningGateway, pki: Pki) -> None:
    before = _count(limited, "request-timeout")
    with _connect(limited, pki) as tls:
        tls.sendall(b"GET /v1/views HTTP/1.1\r\nHost: localhost\r\n")
        deadline = time.monotonic() + BOUND_S
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                tls.sendall(b"x-slow: 1\r\n")  # a slow-loris client: a header now and then
                tls.settimeout(0.2)
                closed = tls.recv(1024).startswith(b"HTTP/1.1 408")
            except TimeoutError:
                continue
            except (ConnectionError, ssl.SSLError):
                closed = True
        assert closed
    assert _count(limited, "request-timeout") == before + 1


def test_a_slow_body_is_closed(limited: RunningGateway, pki: Pki) -> None:
    before = _count(limited, "body-timeout")
    # the public listener has no body routes: the internal one has
    raw = socket.create_connection(("127.0.0.1", limited.internal_port), timeout=BOUND_S)
    with pki.context("source/feeder").wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(
            b"POST /v1/ingest/alarms HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        )
        deadline = time.monotonic() + BOUND_S
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                tls.sendall(b" ")
                tls.settimeout(0.2)
                closed = tls.recv(1024) == b""
            except TimeoutError:
                continue
            except (ConnectionError, ssl.SSLError):
                closed = True
        assert closed
    assert _count(limited, "body-timeout") == before + 1


def test_a_header_past_the_limit_gets_431(limited: RunningGateway, pki: Pki) -> None:
    before = _count(limited, "header-too-large")
    with _connect(limited, pki) as tls:
        tls.sendall(b"GET /v1/views HTTP/1.1\r\nHost: localhost\r\nx-big: " + b"a" * 40_000)
        assert _read_until_closed(tls).startswith(b"HTTP/1.1 431")
    assert _count(limited, "header-too-large") == before + 1


def test_headers_within_the_limit_are_served_however_many_requests(
    limited: RunningGateway, pki: Pki
) -> None:
    # the limit is per request: ten requests of 2 KB headers on one connection pass 4 KiB
    request = b"GET /v1/views HTTP/1.1\r\nHost: localhost\r\nx-fine: " + b"a" * 2000 + b"\r\n"
    with _connect(limited, pki) as tls:
        tls.sendall((request + b"\r\n") * 9 + request + b"Connection: close\r\n\r\n")
        answers = _read_until_closed(tls)
    assert answers.count(b"HTTP/1.1 200") == 10


def _refused(server: RunningGateway, pki: Pki, source: str) -> bool:
    try:
        with _connect(server, pki, source=source) as tls:
            tls.sendall(b"GET /v1/views HTTP/1.1\r\nHost: localhost\r\n\r\n")
            return tls.recv(64) == b""
    except (ConnectionError, ssl.SSLError):
        return True


def _open(server: RunningGateway, pki: Pki, source: str, stack: ExitStack) -> None:
    tls = stack.enter_context(_connect(server, pki, source=source))
    tls.sendall(b"GET /v1/views HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert tls.recv(64).startswith(b"HTTP/1.1 200")  # admitted, and kept open


def test_connections_are_limited_per_address_and_in_total(
    limited: RunningGateway, pki: Pki
) -> None:
    per_address = _count(limited, "address-connection-limit")
    total = _count(limited, "connection-limit")
    with ExitStack() as stack:
        for _ in range(3):
            _open(limited, pki, "127.0.0.1", stack)
        assert _refused(limited, pki, "127.0.0.1")
        assert _count(limited, "address-connection-limit") == per_address + 1
        for _ in range(2):
            _open(limited, pki, "127.0.0.2", stack)  # another address is still let in
        assert _refused(limited, pki, "127.0.0.3")
        assert _count(limited, "connection-limit") == total + 1
    # closed connections are released: a new one is admitted again (once the server saw them go)
    deadline = time.monotonic() + BOUND_S
    while _refused(limited, pki, "127.0.0.1") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _refused(limited, pki, "127.0.0.1")
