"""A webhook receiver for the tests: HTTPS on loopback that requires a client certificate."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    client_sans: list[str]  # the URIs of the client certificate the hub presented


@dataclass
class Receiver:
    """Serves ``https://localhost:<port>/hook`` with the test PKI's server certificate and
    accepts only clients whose certificate ``client_ca`` issued. ``answer`` picks the status
    for each delivery (by its index); every delivery is recorded, whatever the answer."""

    pki: Path
    client_ca: Path | None = None
    answer: Callable[[int], int] = lambda index: 204
    deliveries: list[Delivery] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.pki / "server.crt", self.pki / "server.key")
        context.load_verify_locations(self.client_ca or self.pki / "ca.crt")
        context.verify_mode = ssl.CERT_REQUIRED
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                cert = self.connection.getpeercert()  # type: ignore[attr-defined]
                sans = [v for k, v in (cert or {}).get("subjectAltName", ()) if k == "URI"]
                with receiver._lock:
                    index = len(receiver.deliveries)
                    receiver.deliveries.append(Delivery(dict(self.headers), body, sans))
                    status = receiver.answer(index)
                    receiver.answered.append(status)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True).start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/hook"

    def bodies(self) -> list[bytes]:
        with self._lock:
            return [d.body for d in self.deliveries]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
