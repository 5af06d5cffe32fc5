"""Serving cached view bytes: Demarc against a bare FastAPI app with the same TLS, same run."""

# Both servers run as their own processes on loopback, each with the same server certificate,
# CA, CRLs and TLS context (``gateway.security.tls.server_context``), and both are read by the
# same mTLS client certificate (a peer's). The bare app is what uvicorn gives by default (uvloop,
# httptools) with one FastAPI route returning the very bytes Demarc serves for that view.
#
# Load comes from ``curl --parallel`` (C, keep-alive, CLIENTS connections) so that the client is
# not the bottleneck; each round runs both servers back to back, in alternating order, and
# reports requests per second and the server process's CPU time per request (from /proc, so it
# does not depend on what else the machine is doing). The figures printed are medians of the
# per-round ratios.

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml

from gateway.demo.network import build_demo
from gateway.demo.run import feed, prepare
from gateway.pki import load_ssl_client_context

ROOT = Path(__file__).resolve().parents[1]
TRUST = "demarc.example"
VIEW = "/v1/interconnects"  # --view: another, e.g. a page "/v1/alarms?limit=2"
TARGET = 0.9


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(
    url: str, ctx: ssl.SSLContext, timeout: float, want: int | None = 200, revision: int = 0
) -> bytes:
    """Poll ``url`` until it answers ``want`` (None: anything) from data ``revision`` on;
    bounded, so a server that never comes up fails instead of hanging."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, verify=ctx, timeout=5)
            seen = int(response.headers.get("demarc-revision", 0))
            if (want is None or response.status_code == want) and seen >= revision:
                return response.content
            last = response.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer {want} within {timeout:.0f} s (last: {last})")


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str


def start_demarc(directory: Path, pki: Path, access_log: bool) -> tuple[Server, int]:
    public, internal = free_port(), free_port()
    config = directory / "demarc.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(directory),
                "policies_dir": str(ROOT / "policies"),
                "trust_domain": TRUST,
                "public": {"host": "127.0.0.1", "port": public},
                "internal": {"host": "127.0.0.1", "port": internal},
                # the per-principal rate limit would refuse the load itself (one client
                # certificate), and the ops listener's fixed port could be taken by a demo
                "limits": {"rate_per_s": 1_000_000, "rate_burst": 1_000_000},
                "ops": None,
                "access_log": access_log,  # the default is on: a JSON line per request
            }
        )
    )
    demarc = Path(sys.executable).with_name("demarc")
    command = [str(demarc), "serve", "--config", str(config), "--log-level", "warning"]
    with (directory / "demarc.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=directory, stdout=log, stderr=log)
    return Server("demarc", process, f"https://localhost:{public}"), internal


def start_bare(body_file: Path, pki: Path, view: str) -> Server:
    port = free_port()
    command = [sys.executable, __file__, "--bare", str(port), str(body_file), str(pki),
               "--view", view]  # fmt: skip
    return Server("bare", subprocess.Popen(command), f"https://localhost:{port}")


def bare_main(port: int, body_file: Path, pki: Path, view: str) -> None:
    """The baseline: one FastAPI route, uvicorn's defaults, Demarc's TLS context."""
    import uvicorn
    from fastapi import FastAPI, Response

    from gateway.security.tls import server_context

    body = body_file.read_bytes()
    app = FastAPI()

    @app.get(view.partition("?")[0])  # the same bytes whatever the query
    async def answer() -> Response:
        return Response(body, media_type="application/json", headers={"ETag": '"bare"'})

    def context(config: object, default: object) -> ssl.SSLContext:
        return server_context(
            pki / "server.crt", pki / "server.key", pki / "ca.crt", [pki / "crl.pem"]
        )

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        ssl_context_factory=context,
    )


def load(
    server: Server, pki: Path, principal: str, clients: int, requests: int, view: str
) -> tuple[float, float]:
    """(requests per second, server CPU µs per request) for one burst of keep-alive requests."""
    role, name = principal.split("/")
    command = [
        "curl", "--silent", "--fail", "--parallel", "--parallel-immediate",
        "--parallel-max", str(clients),
        "--cert", str(pki / f"{role}-{name}.crt"), "--key", str(pki / f"{role}-{name}.key"),
        "--cacert", str(pki / "ca.crt"),
        "--output", "/dev/null", "--write-out", "%{http_code}\n",
        f"{server.url}{view}{'&' if '?' in view else '?'}n=[1-{requests}]",
    ]  # fmt: skip
    cpu0 = cpu_seconds(server.process.pid)
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(server.process.pid) - cpu0
    codes = done.stdout.split()
    if done.returncode != 0 or len(codes) != requests or set(codes) != {"200"}:
        bad = sorted(set(codes) - {"200"})
        raise SystemExit(f"{server.name}: curl exit {done.returncode}, codes {bad}")
    return requests / elapsed, cpu / requests * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=4000, help="per server per round")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument(
        "--no-access-log", action="store_true", help="measure without the per-request log line"
    )
    parser.add_argument("--view", default=VIEW, help=f"path and query to GET (default {VIEW})")
    parser.add_argument("--bare", nargs=3, metavar=("PORT", "BODY", "PKI"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_main(int(args.bare[0]), Path(args.bare[1]), Path(args.bare[2]), args.view)
        return 0
    if shutil.which("curl") is None:
        raise SystemExit("bench/serve.py needs curl (7.66 or newer, for --parallel)")
    with tempfile.TemporaryDirectory(prefix="demarc-serve-") as tmp:
        return run(Path(tmp), args)


def run(directory: Path, args: argparse.Namespace) -> int:
    data = build_demo(datetime(2026, 11, 28, tzinfo=UTC))
    prepare(directory, data, TRUST)
    pki = directory / "pki"
    peer = f"peer/{data.peers[0]}"
    role, name = peer.split("/")
    ctx = load_ssl_client_context(pki / "ca.crt", pki / f"{role}-{name}.crt",
                                  pki / f"{role}-{name}.key")  # fmt: skip
    source = load_ssl_client_context(
        pki / "ca.crt", pki / "source-demo-feeder.crt", pki / "source-demo-feeder.key"
    )
    demarc, internal = start_demarc(directory, pki, not args.no_access_log)
    servers = [demarc]
    try:
        wait_for(f"https://localhost:{internal}/v1/admin/status", source, 60, want=None)
        revision = asyncio.run(feed(f"https://localhost:{internal}", pki, data))
        view = args.view
        body = wait_for(demarc.url + view, ctx, 60, revision=revision)
        body_file = directory / "view.json"
        body_file.write_bytes(body)
        bare = start_bare(body_file, pki, view)
        servers.append(bare)
        wait_for(bare.url + view, ctx, 60)
        # warm both (identity caches, imports) before measuring
        for server in (bare, demarc):
            load(server, pki, peer, args.clients, 500, view)
        ratios, cpu_ratios = [], []
        print(f"GET {view} ({len(body)} bytes) as {peer}, {args.clients} keep-alive mTLS "
              f"connections, {args.requests} requests per server per round")  # fmt: skip
        print(f"{'round':>5} {'bare req/s':>11} {'demarc req/s':>13} {'ratio':>6} "
              f"{'bare µs cpu':>12} {'demarc µs cpu':>14} {'cpu ratio':>10}")  # fmt: skip
        for round_ in range(args.rounds):
            order = (bare, demarc) if round_ % 2 == 0 else (demarc, bare)
            results = {s.name: load(s, pki, peer, args.clients, args.requests, view) for s in order}
            (b_rps, b_cpu), (d_rps, d_cpu) = results["bare"], results["demarc"]
            ratios.append(d_rps / b_rps)
            cpu_ratios.append(b_cpu / d_cpu)
            print(f"{round_ + 1:>5} {b_rps:>11.0f} {d_rps:>13.0f} {ratios[-1]:>6.2f} "
                  f"{b_cpu:>12.0f} {d_cpu:>14.0f} {cpu_ratios[-1]:>10.2f}")  # fmt: skip
        ratio, cpu_ratio = statistics.median(ratios), statistics.median(cpu_ratios)
        print(
            f"median: Demarc serves {ratio:.2f}x the bare app's req/s (server CPU per "
            f"request, bare/demarc: {cpu_ratio:.2f}x); target >= {TARGET}x"
        )
        # the access log really was written, a line per request, once Demarc stopped cleanly
        stop(demarc)
        log = (directory / "demarc.log").read_bytes()
        lines = log.count(b'"logger":"demarc.access"')
        served = 500 + args.rounds * args.requests
        print(f"access log: {lines} lines written for the {served} measured requests and the "
              f"few before them (access_log: {str(not args.no_access_log).lower()})")  # fmt: skip
        return 0 if ratio >= TARGET else 1
    finally:
        for server in servers:
            stop(server)


def stop(server: Server) -> None:
    if server.process.poll() is not None:
        return
    server.process.terminate()  # SIGTERM: a clean shutdown, its pending log lines written
    try:
        server.process.wait(20)
    except subprocess.TimeoutExpired:
        server.process.kill()


if __name__ == "__main__":
    sys.exit(main())
