"""The private internals gateway/security/protocol.py builds on still exist, as it uses them.

protocol.py subclasses uvicorn's HttpToolsProtocol and Python's asyncio.sslproto.SSLProtocol,
neither of which promises a stable interface. pyproject.toml bounds uvicorn to the versions
checked here; an upgrade of uvicorn or of Python that changes any of these fails this module
with the name of what changed, rather than a refused handshake or a missing identity later.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from asyncio import sslproto
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from gateway.security.protocol import GuardedTLSProtocol, MTLSHttpToolsProtocol

CHANGED = "{what} changed: gateway/security/protocol.py relies on it; read its new code first"


def _params(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_the_versions_checked_here_are_the_ones_installed() -> None:
    major, minor = (int(p) for p in version("uvicorn").split(".")[:2])
    assert (major, minor) < (0, 55), "uvicorn is newer than pyproject.toml allows"
    assert sys.version_info[:2] >= (3, 11), "SSLProtocol before 3.11 is another implementation"


def test_asyncio_ssl_protocol_takes_the_arguments_we_pass() -> None:
    params = _params(sslproto.SSLProtocol.__init__)
    expected = ["self", "loop", "app_protocol", "sslcontext", "waiter", "server_side"]
    assert params[:6] == expected, CHANGED.format(what="SSLProtocol.__init__'s arguments")
    assert "ssl_handshake_timeout" in params, CHANGED.format(what="ssl_handshake_timeout")


def test_asyncio_ssl_protocol_calls_the_handshake_hook_we_override() -> None:
    hook = getattr(sslproto.SSLProtocol, "_on_handshake_complete", None)
    assert hook is not None, CHANGED.format(what="SSLProtocol._on_handshake_complete")
    assert _params(hook) == ["self", "handshake_exc"], CHANGED.format(what="its arguments")
    assert "_on_handshake_complete" in inspect.getsource(sslproto.SSLProtocol._do_handshake)
    assert GuardedTLSProtocol._on_handshake_complete is not hook  # ours is the override


def test_asyncio_ssl_protocol_sets_the_attributes_we_read() -> None:
    # read from the source: an instance left unconnected warns of an unclosed transport, and
    # every TLS test of the suite exercises these attributes on real connections anyway
    source = inspect.getsource(sslproto.SSLProtocol.__init__)
    assert "self._transport = " in source, CHANGED.format(what="SSLProtocol._transport")
    assert "self._sslobj = self._sslcontext.wrap_bio(" in source, CHANGED.format(
        what="SSLProtocol._sslobj (an ssl.SSLObject from wrap_bio)"
    )


class _Transport(asyncio.Transport):
    closed = False

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8443)}.get(
            name, default
        )


def test_uvicorn_http_protocol_takes_what_our_factory_passes_and_has_what_we_use(
    loop: asyncio.AbstractEventLoop,
) -> None:
    params = _params(HttpToolsProtocol.__init__)
    assert params == ["self", "config", "server_state", "app_state", "_loop"], CHANGED.format(
        what="HttpToolsProtocol.__init__'s arguments"
    )
    assert _params(HttpToolsProtocol.connection_made) == ["self", "transport"]
    assert issubclass(MTLSHttpToolsProtocol, HttpToolsProtocol)

    async def app(scope: Any, receive: Any, send: Any) -> None:  # never called
        raise AssertionError

    config = Config(app, lifespan="off")
    config.load()
    protocol = HttpToolsProtocol(config, ServerState(), {}, _loop=loop)
    assert callable(protocol.app) and protocol.cycle is None, CHANGED.format(what="app, cycle")
    protocol.connection_made(_Transport())
    assert protocol.client == ("127.0.0.1", 50000), CHANGED.format(what="HttpToolsProtocol.client")
    assert isinstance(protocol.transport, _Transport), CHANGED.format(what=".transport")
    protocol.connection_lost(None)


def test_uvicorn_request_cycle_still_says_when_the_client_is_gone() -> None:
    source = inspect.getsource(RequestResponseCycle.__init__)
    assert "self.disconnected" in source, CHANGED.format(what="RequestResponseCycle.disconnected")
