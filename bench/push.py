"""Push: memory of held long-polls; latency from an acknowledged alarm to a long-poll, a webhook."""

# One gateway process on loopback (the demo network, the sample policies); the bench holds
# HELD long-polls open over mutual TLS (one connection each, as real clients would) and reads
# the gateway's resident memory before and after; then, TRIALS times each, it ingests an alarm
# on acme's interconnect and times from the ingest's acknowledgement to (a) a held long-poll
# of /v1/alarms answering and (b) a webhook receiver (HTTPS, mutual TLS, loopback) receiving
# the AlarmCreateEvent. Latency figures depend on the machine being otherwise idle.

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import yaml

from gateway.demo.network import build_demo
from gateway.demo.run import feed, prepare
from gateway.pki import load_ssl_client_context

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import ROOT, TRUST, free_port, wait_for

PEER = "peer/acme"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit("no VmRSS")


class Hook:
    """The webhook receiver: HTTPS with a required client certificate; notes arrival times."""

    def __init__(self, pki: Path) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki / "server.crt", pki / "server.key")
        context.load_verify_locations(pki / "ca.crt")
        context.verify_mode = ssl.CERT_REQUIRED
        self.arrived: dict[str, float] = {}  # alarm id (as published) → time.perf_counter()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                at = time.perf_counter()
                alarm = json.loads(body)["event"].get("alarm")
                if alarm is not None:
                    hook.arrived.setdefault(alarm["id"], at)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"https://localhost:{self.server.server_address[1]}/hook"


def start(directory: Path, held: int, hook_url: str) -> tuple[object, str, int]:
    import subprocess

    public, internal = free_port(), free_port()
    pki = directory / "pki"
    config = {
        "data_dir": str(directory), "policies_dir": str(ROOT / "policies"), "trust_domain": TRUST,
        "public": {"host": "127.0.0.1", "port": public},
        "internal": {"host": "127.0.0.1", "port": internal}, "ops": None,
        "limits": {"rate_per_s": 1_000_000, "rate_burst": 1_000_000, "keepalive_timeout_s": 300,
                   "max_connections": held + 200, "max_connections_per_address": held + 200},
        "longpoll": {"max_waiters_per_principal": held + 10},
        "hub": {"callbacks": {PEER: [hook_url]}, "allow_networks": ["127.0.0.1/32"],
                "client_cert": str(pki / "source-demo-feeder.crt"),
                "client_key": str(pki / "source-demo-feeder.key"), "ca": str(pki / "ca.crt")},
    }  # fmt: skip
    (directory / "demarc.yaml").write_text(yaml.safe_dump(config))
    demarc = Path(sys.executable).with_name("demarc")
    command = [str(demarc), "serve", "--config", str(directory / "demarc.yaml"),
               "--log-level", "warning"]  # fmt: skip
    log = (directory / "demarc.log").open("wb")
    process = subprocess.Popen(command, cwd=directory, stdout=log, stderr=log)
    return process, f"https://localhost:{public}", internal


async def connect(port: int, ctx: ssl.SSLContext, etag: str, count: int) -> list[object]:
    """``count`` connections, each idle (kept alive) after one request answered 304."""
    request = (f"GET /v1/alarms HTTP/1.1\r\nHost: localhost\r\n"
               f"If-None-Match: {etag}\r\n\r\n").encode()  # fmt: skip
    gate = asyncio.Semaphore(50)  # handshakes at a time

    async def one() -> object:
        async with gate:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=ctx, server_hostname="localhost"
            )
            writer.write(request)
            await reader.readuntil(b"\r\n\r\n")  # the 304's head
            return reader, writer

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def hold(connections: list[object], etag: str) -> None:
    """On each connection, a long-poll of /v1/alarms held (60 s)."""
    request = (f"GET /v1/alarms?wait=60 HTTP/1.1\r\nHost: localhost\r\n"
               f"If-None-Match: {etag}\r\n\r\n").encode()  # fmt: skip
    for _, writer in connections:  # type: ignore[misc]
        writer.write(request)
    await asyncio.gather(*(w.drain() for _, w in connections))  # type: ignore[misc]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--held", type=int, default=5000, help="long-polls held at once")
    parser.add_argument("--trials", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="demarc-push-") as tmp:
        directory = Path(tmp)
        data = build_demo(datetime(2026, 11, 28, tzinfo=UTC))
        prepare(directory, data, TRUST)
        pki = directory / "pki"
        hook = Hook(pki)
        peer = load_ssl_client_context(pki / "ca.crt", pki / "peer-acme.crt", pki / "peer-acme.key")
        source = load_ssl_client_context(
            pki / "ca.crt", pki / "source-demo-feeder.crt", pki / "source-demo-feeder.key"
        )
        process, url, internal = start(directory, args.held, hook.url)
        try:
            wait_for(f"https://localhost:{internal}/v1/admin/status", source, 60, want=None)
            revision = asyncio.run(feed(f"https://localhost:{internal}", pki, data))
            wait_for(url + "/v1/alarms", peer, 60, revision=revision)
            return run(args, data, process, url, internal, peer, source, hook)
        finally:
            process.terminate()  # type: ignore[attr-defined]
            process.wait(30)  # type: ignore[attr-defined]


def run(args: argparse.Namespace, data: object, process: object, url: str, internal: int,
        peer: ssl.SSLContext, source: ssl.SSLContext, hook: Hook) -> int:  # fmt: skip
    pid = process.pid  # type: ignore[attr-defined]
    port = int(url.rsplit(":", 1)[1])
    links = data.topology["ietf-network:networks"]["network"][0]["ietf-network-topology:link"]  # type: ignore[attr-defined]
    link = next(lk["link-id"] for lk in links
                if lk.get("ietf-te-topology:te", {}).get("te-link-attributes", {})
                .get("external-domain", {}).get("network-ref") == "acme")  # fmt: skip
    client = httpx.Client(base_url=url, verify=peer, timeout=70)
    ingest = httpx.Client(base_url=f"https://localhost:{internal}", verify=source, timeout=30)
    sub = client.post("/v1/hub", json={"callback": hook.url, "query": "eventType=AlarmCreateEvent"})
    assert sub.status_code == 201, sub.text
    etag = client.get("/v1/alarms").headers["etag"]
    loop = asyncio.new_event_loop()

    async def close(connections: list[object]) -> None:
        for _, writer in connections:  # type: ignore[misc]
            writer.close()
        await asyncio.gather(*(w.wait_closed() for _, w in connections),  # type: ignore[misc]
                             return_exceptions=True)  # fmt: skip

    time.sleep(2)
    base = rss_kib(pid)
    connections = loop.run_until_complete(connect(port, peer, etag, args.held))
    time.sleep(3)
    idle = rss_kib(pid)
    loop.run_until_complete(hold(connections, etag))
    time.sleep(3)
    held = rss_kib(pid)
    loop.run_until_complete(close(connections))
    loop.close()
    n = args.held
    print(
        f"gateway RSS {base / 1024:.1f} MiB; with {n} idle mTLS connections "
        f"{idle / 1024:.1f} MiB; with a long-poll held on each {held / 1024:.1f} MiB"
    )
    print(
        f"per 1,000: {(idle - base) / n * 1000 / 1024:.2f} MiB the connections, "
        f"{(held - idle) / n * 1000 / 1024:.2f} MiB the held requests"
    )
    poll_ms, hook_ms = [], []
    for n in range(args.trials):
        etag = client.get("/v1/alarms").headers["etag"]
        with httpx.Client(base_url=url, verify=peer, timeout=70) as waiter:
            result: list[float] = []

            def held(
                waiter: httpx.Client = waiter, etag: str = etag, result: list[float] = result
            ) -> None:
                answer = waiter.get("/v1/alarms?wait=30", headers={"If-None-Match": etag})
                result.append(time.perf_counter())
                assert answer.status_code == 200

            thread = threading.Thread(target=held)
            thread.start()
            time.sleep(0.05)  # the poll is held
            alarm = {"id": f"B-{n}", "resource": {"link": link}, "severity": "minor",
                     "raised_at": "2031-01-01T00:00:00Z",
                     "probable_cause": "lossOfSignal"}  # fmt: skip
            known = set(hook.arrived)
            answer = ingest.post("/v1/ingest/alarms", json={"alarms": [alarm]})
            acked = time.perf_counter()
            assert answer.status_code == 200
            thread.join(30)
            poll_ms.append((result[0] - acked) * 1000)
            deadline = time.monotonic() + 30
            while len(hook.arrived) == len(known) and time.monotonic() < deadline:
                time.sleep(0.001)
            (new,) = set(hook.arrived) - known
            hook_ms.append((hook.arrived[new] - acked) * 1000)
    client.close()
    ingest.close()  # an idle keep-alive connection would hold the gateway's stop up
    for name, values in (("long-poll answered", poll_ms), ("webhook received", hook_ms)):
        print(
            f"ack → {name}: p50 {statistics.median(values):.1f} ms, "
            f"p99 {percentile(values, 0.99):.1f} ms over {len(values)} trials"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
