"""Shared fixtures: a real PKI, a real gateway on loopback TLS sockets, clients per principal."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import yaml

from gateway.app import Gateway
from gateway.demo.network import DemoData, build_demo
from gateway.pki import init_pki, issue_principal, load_ssl_client_context
from gateway.server import bind, new_event_loop, serve
from gateway.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
TRUST_DOMAIN = "demarc.example"
SOURCE = "source/feeder"
STAFF = "staff/alice"
UNREGISTERED = "peer/mallory"  # a valid certificate from the trusted CA, naming no principal
JSON_BODY = {"content-type": "application/json"}
TEST_SWITCHES = frozenset({"DEMARC_UPDATE_GOLDEN"})  # switches of the tests, not settings


@pytest.fixture(scope="session", autouse=True)
def no_demarc_environment() -> Iterator[None]:
    """A developer's shell can never point the tests at real data: every ``DEMARC_*`` setting
    is removed for the whole session (before any gateway or subprocess is made) and restored
    after. Session-scoped, so it runs before the session and module fixtures that build
    settings; a test that needs a variable sets it with ``monkeypatch``."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("DEMARC_") and name not in TEST_SWITCHES:
                patch.delenv(name)
        yield


@dataclass
class Pki:
    directory: Path
    other_ca: Path  # a second, untrusted CA with its own "peer/acme"

    def context(self, principal: str, *, other_ca: bool = False) -> ssl.SSLContext:
        role, name = principal.split("/")
        where = self.other_ca if other_ca else self.directory
        return load_ssl_client_context(
            self.directory / "ca.crt", where / f"{role}-{name}.crt", where / f"{role}-{name}.key"
        )


@dataclass
class RunningGateway:
    """A gateway serving both listeners from a background thread with its own event loop.

    ``in_process=True``: the same gateway and event loop, no sockets and no TLS; clients from
    ``client()`` reach its ASGI apps through tests/inprocess.py with the principal's
    certificate in the scope. For everything that does not test TLS itself: it saves the
    handshakes and the sockets, and leaves every check after the handshake in place.
    """

    settings: Settings
    in_process: bool = False
    gateway: Gateway = field(init=False)
    public_port: int = 0
    internal_port: int = 0
    ops: bool = False  # also serve the ops listener (metrics, health) on a free port
    ops_port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _stop: asyncio.Event | None = None

    def start(self) -> RunningGateway:
        self.gateway = Gateway(self.settings)
        if self.in_process:
            return self._start_in_process()
        public = bind("127.0.0.1", 0)
        internal = bind("127.0.0.1", 0)
        self.public_port = public.getsockname()[1]
        self.internal_port = internal.getsockname()[1]
        ops = bind("127.0.0.1", 0) if self.ops else None
        self.ops_port = ops.getsockname()[1] if ops is not None else 0
        started = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = new_event_loop()  # the loop `demarc serve` runs on
            self._loop = loop
            self._stop = asyncio.Event()

            async def ready() -> None:
                started.set()

            try:
                loop.run_until_complete(
                    serve(self.gateway, public, internal, log_level="warning", ready=ready,
                          stop=self._stop, ops_sock=ops)
                )  # fmt: skip
            except BaseException as exc:  # surfaced to the test below
                errors.append(exc)
                started.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="demarc-test-server", daemon=True)
        self._thread.start()
        if not started.wait(20) or errors:
            raise RuntimeError(f"gateway did not start: {errors}")
        return self

    def _start_in_process(self) -> RunningGateway:
        started = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stop = asyncio.Event()

            async def main() -> None:
                assert self._stop is not None
                await self.gateway.start()
                started.set()
                try:
                    await self._stop.wait()
                finally:
                    await self.gateway.stop()

            try:
                loop.run_until_complete(main())
                loop.run_until_complete(loop.shutdown_default_executor())
            except BaseException as exc:  # surfaced to the test below
                errors.append(exc)
                started.set()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="demarc-test-gateway", daemon=True)
        self._thread.start()
        if not started.wait(20) or errors:
            raise RuntimeError(f"gateway did not start: {errors}")
        return self

    def client(self, listener: str, principal: str, pki: Pki) -> httpx.Client:
        """An httpx client on ``listener`` ("public" or "internal") as ``principal``: over
        TLS with its certificate, or in-process with the same certificate in the scope."""
        url = self.public_url if listener == "public" else self.internal_url
        if not self.in_process:
            return httpx.Client(base_url=url, verify=pki.context(principal))
        from tests.inprocess import certificate_der, in_process_client

        assert self._loop is not None, "start the gateway first"
        app = self.gateway.public_app if listener == "public" else self.gateway.internal_app
        return in_process_client(app, self._loop, url, certificate_der(pki.directory, principal))

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(20)
            assert not self._thread.is_alive(), "gateway did not stop"
        self._thread = None

    def call(self, coro: Any) -> Any:
        """Run a coroutine on the gateway's loop (e.g. refresher.wait_for) and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    @property
    def public_url(self) -> str:
        return (
            "http://public.in-process"
            if self.in_process
            else f"https://localhost:{self.public_port}"
        )

    @property
    def internal_url(self) -> str:
        if self.in_process:
            return "http://internal.in-process"
        return f"https://localhost:{self.internal_port}"


@pytest.fixture(scope="session")
def demo() -> DemoData:
    return build_demo(datetime.now(UTC))


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory, demo: DemoData) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    init_pki(directory)
    for principal in [*_principals(demo), UNREGISTERED]:
        role, name = principal.split("/")
        issue_principal(directory, TRUST_DOMAIN, role, name)
    other = tmp_path_factory.mktemp("other-pki")
    init_pki(other)
    issue_principal(other, TRUST_DOMAIN, "peer", "acme")
    return Pki(directory, other)


def _principals(demo: DemoData) -> list[str]:
    return (
        [SOURCE, STAFF, "staff/bob"]
        + [f"peer/{p}" for p in demo.peers]
        + [f"customer/{c}" for c in demo.customers]
    )


def make_settings(data_dir: Path, pki: Pki, demo: DemoData, **overrides: Any) -> Settings:
    data_dir.mkdir(parents=True, exist_ok=True)
    principals = data_dir / "principals.yaml"
    principals.write_text(yaml.safe_dump({"principals": _principals(demo)}), encoding="utf-8")
    return load_settings(
        None,
        data_dir=data_dir,
        policies_dir=overrides.pop("policies_dir", POLICIES),
        pki_dir=pki.directory,
        trust_domain=TRUST_DOMAIN,
        refresh_debounce_s=0,
        **overrides,
    )


def feed(server: RunningGateway, pki: Pki, demo: DemoData) -> int:
    """Push the demo documents through the internal listener, as a source would."""
    from gateway.demo.run import FEEDS

    revision = 0
    with server.client("internal", SOURCE, pki) as client:
        for route, method, attr in FEEDS:
            response = client.request(
                method, route, content=msgspec.json.encode(getattr(demo, attr)), headers=JSON_BODY
            )
            assert response.status_code == 200, response.text
            revision = response.json()["revision"]
    server.call(server.gateway.refresher.wait_for(revision))
    return revision


def serve_demo(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData, *, in_process: bool
) -> Iterator[RunningGateway]:
    data_dir = tmp_path_factory.mktemp("gateway")
    settings = make_settings(data_dir, pki, demo, max_body_bytes=4 * 1024 * 1024)
    server = RunningGateway(settings, in_process=in_process)
    server.start()
    try:
        feed(server, pki, demo)
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
) -> Iterator[RunningGateway]:
    """One gateway with the demo network fed in, shared by a module's read-only tests;
    in-process (see RunningGateway). A module about TLS overrides it with ``served_tls``."""
    yield from serve_demo(tmp_path_factory, pki, demo, in_process=True)


@pytest.fixture(scope="module")
def served_tls(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
) -> Iterator[RunningGateway]:
    """The same, over real TLS sockets on loopback."""
    yield from serve_demo(tmp_path_factory, pki, demo, in_process=False)


def _clients(
    server: RunningGateway, listener: str, pki: Pki
) -> Iterator[Callable[[str], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(principal: str) -> httpx.Client:
        client = server.client(listener, principal, pki)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def public(served: RunningGateway, pki: Pki) -> Iterator[Callable[[str], httpx.Client]]:
    """``public("peer/acme")`` → an httpx client on the public listener as that principal."""
    yield from _clients(served, "public", pki)


@pytest.fixture
def internal(served: RunningGateway, pki: Pki) -> Iterator[Callable[[str], httpx.Client]]:
    yield from _clients(served, "internal", pki)


@pytest.fixture
def fresh(tmp_path: Path, pki: Pki, demo: DemoData) -> Iterator[RunningGateway]:
    """A gateway of its own, with a copy of the sample policies: for tests that change them."""
    from tests.policyapi import gateway_with_copied_policies

    with gateway_with_copied_policies(tmp_path, pki, demo) as server:
        yield server


@pytest.fixture
def fresh_tls(tmp_path: Path, pki: Pki, demo: DemoData) -> Iterator[RunningGateway]:
    """The same, over real TLS sockets: for a client that is a separate program (the CLI)."""
    from tests.policyapi import gateway_with_copied_policies

    with gateway_with_copied_policies(tmp_path, pki, demo, in_process=False) as server:
        yield server


@pytest.fixture
def clients(fresh: RunningGateway, pki: Pki) -> Iterator[Any]:
    from tests.policyapi import Clients

    made = Clients(fresh, pki)
    yield made
    made.close()
