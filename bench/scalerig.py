"""What bench/scale.py runs against: a real gateway process, a naive baseline, curl load, /proc."""

# Everything is on loopback with mutual TLS: the gateway is ``demarc serve`` on its own SQLite
# file; the baseline is the naive way to take alarms (FastAPI, uvicorn's defaults, one SQLite
# commit per request, WAL, synchronous=FULL) with the same TLS context and client certificate.

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import uvicorn
import yaml
from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from gateway.pki import init_pki, issue_principal, load_ssl_client_context, write_crls
from gateway.security.tls import server_context

ROOT = Path(__file__).resolve().parents[1]
TRUST = "demarc.example"
SOURCE, STAFF = "source/bench", "staff/bench"


class NotReady(Exception):
    """A phase did not finish within its time (or the gateway outgrew its memory cap)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory now (VmRSS) or at its peak (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Pki:
    directory: Path

    def files(self, principal: str) -> tuple[Path, Path]:
        role, name = principal.split("/")
        return self.directory / f"{role}-{name}.crt", self.directory / f"{role}-{name}.key"

    def context(self, principal: str) -> ssl.SSLContext:
        return load_ssl_client_context(self.directory / "ca.crt", *self.files(principal))


def prepare(directory: Path, peers: list[str], customers: list[str], clients: list[str]) -> Pki:
    """A PKI with certificates for ``clients``, every audience registered, one policy each."""
    pki = Pki(directory / "pki")
    init_pki(pki.directory)
    write_crls(pki.directory)
    for principal in [SOURCE, STAFF, *clients]:
        role, name = principal.split("/")
        issue_principal(pki.directory, TRUST, role, name)
    audiences = [f"peer/{p}" for p in peers] + [f"customer/{c}" for c in customers]
    (directory / "principals.yaml").write_text(
        yaml.safe_dump({"principals": [SOURCE, STAFF, *audiences]})
    )
    policies = directory / "policies"
    policies.mkdir()
    template = yaml.safe_load((ROOT / "policies" / "peer-acme.yaml").read_text())
    for peer in peers:  # every peer gets ACME's policy (abstract topology, alarms, maintenance)
        doc = {**template, "audience": f"peer/{peer}", "description": f"Interconnects of {peer}"}
        (policies / f"peer-{peer}.yaml").write_text(yaml.safe_dump(doc))
    # one policy for every customer ("customer/*")
    (policies / "customers.yaml").write_text((ROOT / "policies" / "customers.yaml").read_text())
    return pki


class GatewayProcess:
    """``demarc serve`` on the bench's data directory; its log is kept beside the database."""

    def __init__(
        self,
        directory: Path,
        pki: Pki,
        *,
        max_rss_mb: float,
        phase_timeout: float,
        leak_guard: bool = True,
    ) -> None:
        self.directory = directory
        self.max_rss_mb = max_rss_mb
        self.over_cap = False  # the watchdog killed the gateway for its memory
        self.pki = pki
        self.public, self.internal = free_port(), free_port()
        self.database = directory / "demarc.db"
        self.config = directory / "demarc.yaml"
        self.config.write_text(yaml.safe_dump({
            "data_dir": str(directory), "policies_dir": str(directory / "policies"),
            "trust_domain": TRUST, "leak_guard": leak_guard,
            "max_body_bytes": 512 * 1024 * 1024,
            "public": {"host": "127.0.0.1", "port": self.public},
            "internal": {"host": "127.0.0.1", "port": self.internal},
            # no ops listener: its fixed default port would collide with a demo or a second
            # bench; readiness is read from /v1/admin/status
            "ops": None,
            # the per-principal rate limit (100/s by default) would measure itself, not ingest:
            # one source sending single alarms from 8 clients is what this bench is about
            "limits": {"rate_per_s": 1_000_000, "rate_burst": 1_000_000},
        }))  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        self.staff = httpx.Client(base_url=self.internal_url, verify=pki.context(STAFF), timeout=60)
        # no single acknowledgement may take longer than a whole phase
        self.source = httpx.Client(
            base_url=self.internal_url, verify=pki.context(SOURCE), timeout=phase_timeout
        )

    @property
    def internal_url(self) -> str:
        return f"https://localhost:{self.internal}"

    @property
    def public_url(self) -> str:
        return f"https://localhost:{self.public}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        command = [str(Path(sys.executable).with_name("demarc")), "serve",
                   "--config", str(self.config), "--log-level", "warning"]  # fmt: skip
        with (self.directory / "demarc.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        threading.Thread(target=self._watch, args=(self.process,), daemon=True).start()

    def _watch(self, process: subprocess.Popen[bytes]) -> None:
        """Kill the gateway once it grows past the cap, whatever the bench is waiting on: the
        machine is shared, and a gateway that outgrows it would take the others down too."""
        while process.poll() is None:
            try:
                big = rss_mb(process.pid) > self.max_rss_mb
            except OSError:
                return
            if big:
                self.over_cap = True
                process.kill()
                return
            time.sleep(0.2)

    def check(self) -> None:
        """NotReady if the gateway is gone (killed for its memory, or crashed)."""
        if self.process is None or self.process.poll() is not None:
            if self.over_cap:
                raise NotReady(f"stopped: RSS over {self.max_rss_mb:.0f} MB")
            raise NotReady("the gateway exited (see demarc.log)")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """kill -9: no clean stop, so no view checkpoint; the next start renders every view."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        self.staff.close()
        self.source.close()

    def status(self) -> dict[str, object] | None:
        try:
            response = self.staff.get("/v1/admin/status")
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]

    def wait_ready(self, revision: int, deadline: float) -> dict[str, object]:
        """Poll until every view reflects ``revision``; NotReady past the deadline or the cap."""
        while True:
            self.check()
            status = self.status()
            if status is not None and int(status["views_revision"]) >= revision:  # type: ignore[call-overload]
                return status
            if time.monotonic() > deadline:
                raise NotReady("views not caught up")
            time.sleep(0.05)

    def ingest(self, route: str, body: bytes, method: str = "POST") -> int:
        try:
            response = self.source.request(
                method, route, content=body, headers={"content-type": "application/json"}
            )
        except httpx.TimeoutException:
            raise NotReady("an ingest request was not acknowledged in time") from None
        except httpx.HTTPError:
            self.check()
            raise
        if response.status_code != 200:
            raise RuntimeError(f"{route} answered {response.status_code}: {response.text[:300]}")
        return int(response.json()["revision"])


def naive_main(port: int, database: Path, pki: Path) -> None:
    """The baseline: FastAPI, one INSERT per alarm and one commit per request, no validation
    beyond JSON, one connection behind a lock (SQLite allows one writer anyway)."""
    import sqlite3
    import threading

    db = sqlite3.connect(database, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS alarms (id TEXT PRIMARY KEY, doc BLOB)")
    lock = threading.Lock()
    app = FastAPI()

    def write(rows: list[tuple[str, bytes]]) -> int:
        with lock:
            cursor = db.executemany("INSERT OR REPLACE INTO alarms VALUES (?, ?)", rows)
            db.commit()
            return cursor.rowcount

    @app.post("/v1/ingest/alarms")
    async def alarms(request: Request) -> Response:
        doc = msgspec.json.decode(await request.body())
        rows = [(a["id"], msgspec.json.encode(a)) for a in doc["alarms"]]
        count = await run_in_threadpool(write, rows)
        return Response(msgspec.json.encode({"revision": count}), media_type="application/json")

    def context(config: object, default: object) -> ssl.SSLContext:
        return server_context(pki / "server.crt", pki / "server.key", pki / "ca.crt",
                              [pki / "crl.pem"])  # fmt: skip

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                ssl_context_factory=context)  # fmt: skip


class NaiveProcess:
    def __init__(self, directory: Path, pki: Pki) -> None:
        self.port = free_port()
        command = [sys.executable, __file__, str(self.port), str(directory / "naive.db"),
                   str(pki.directory)]  # fmt: skip
        self.process = subprocess.Popen(command)
        self.url = f"https://localhost:{self.port}"
        ctx = pki.context(SOURCE)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url + "/", verify=ctx, timeout=5)
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the naive baseline did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def curl_load(url: str, bodies: list[Path], pki: Pki, clients: int, window: float) -> float:
    """POST every body with ``clients`` keep-alive connections (curl --parallel); acknowledged
    requests (200) per second, counted over at most ``window`` seconds."""
    cert, key = pki.files(SOURCE)
    config = bodies[0].parent / "curl.conf"
    entry = (f'url = "{url}"\nheader = "content-type: application/json"\n'
             f'cert = "{cert}"\nkey = "{key}"\ncacert = "{pki.directory / "ca.crt"}"\n'
             'output = "/dev/null"\nwrite-out = "%{stderr}%{http_code}\\n"\nsilent\n')  # fmt: skip
    config.write_text("next\n".join(entry + f'data-binary = "@{body}"\n' for body in bodies))
    command = ["curl", "--silent", "--parallel", "--parallel-immediate",
               "--parallel-max", str(clients), "--config", str(config)]  # fmt: skip
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = process.communicate(timeout=window)
    except subprocess.TimeoutExpired:
        process.terminate()  # what finished so far is written line by line to stderr
        _, err = process.communicate()
    elapsed = min(time.perf_counter() - start, window)
    return err.split().count(b"200") / elapsed


if __name__ == "__main__":
    naive_main(int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
