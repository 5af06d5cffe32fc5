"""``demarc demo``: a dev PKI, the sample network fed through the real ingest API, curl lines."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import yaml

from gateway.app import Gateway
from gateway.demo.network import PROBABLE_CAUSES, DemoData, build_demo
from gateway.pki import init_pki, issue_principal, load_ssl_client_context, write_crls
from gateway.server import bind, run, serve
from gateway.settings import load_settings

SOURCE = "source/demo-feeder"
STAFF = "staff/alice"
REVIEWER = "staff/bob"  # a second staff member: widening changes need another's approval

#: (ingest route, method, DemoData attribute) in the order a real deployment would feed them
FEEDS: tuple[tuple[str, str, str], ...] = (
    ("/v1/ingest/topology", "PUT", "topology"),
    ("/v1/ingest/services", "POST", "services"),
    ("/v1/ingest/metrics", "POST", "metrics"),
    ("/v1/ingest/alarms", "POST", "alarms"),
    ("/v1/ingest/alertmanager", "POST", "alertmanager"),
    ("/v1/ingest/maintenance", "POST", "maintenance"),
    ("/v1/ingest/incidents", "POST", "incidents"),
)


def prepare(directory: Path, data: DemoData, trust_domain: str) -> list[str]:
    """PKI, certificates and the principal registry for the demo; returns the principals."""
    pki = directory / "pki"
    init_pki(pki)
    write_crls(pki)  # a fresh nextUpdate: the server refuses every client once a CRL expires
    principals = [SOURCE, STAFF, REVIEWER]
    principals += [f"peer/{p}" for p in data.peers]
    principals += [f"customer/{c}" for c in data.customers]
    for principal in principals:
        role, name = principal.split("/")
        if not (pki / f"{role}-{name}.crt").exists():
            issue_principal(pki, trust_domain, role, name)
    registry = directory / "principals.yaml"
    if not registry.exists():  # written once: principals added by hand survive the next run
        registry.write_text(
            "# the demo's principals: each is spiffe://<trust_domain>/<role>/<name>\n"
            "# edit freely: the gateway reloads this file when it changes\n"
            + yaml.safe_dump({"principals": principals}, sort_keys=False),
            encoding="utf-8",
        )
    return principals


async def feed(base_url: str, pki: Path, data: DemoData) -> int:
    """Push every demo document through the internal listener as a source would."""
    ctx = load_ssl_client_context(
        pki / "ca.crt", pki / "source-demo-feeder.crt", pki / "source-demo-feeder.key"
    )
    revision = 0
    async with httpx.AsyncClient(base_url=base_url, verify=ctx, timeout=60) as client:
        for route, method, attr in FEEDS:
            body = msgspec.json.encode(getattr(data, attr))
            response = await client.request(
                method, route, content=body, headers={"content-type": "application/json"}
            )
            if response.status_code != 200:
                raise RuntimeError(f"{route} answered {response.status_code}: {response.text}")
            revision = int(response.json()["revision"])
    return revision


def curl_lines(directory: Path, port: int, principal: str, paths: list[str]) -> list[str]:
    role, name = principal.split("/")
    pki = directory / "pki"
    flags = (
        f"--cert {shlex.quote(str(pki / f'{role}-{name}.crt'))} "
        f"--key {shlex.quote(str(pki / f'{role}-{name}.key'))} "
        f"--cacert {shlex.quote(str(pki / 'ca.crt'))}"
    )
    return [f"curl {flags} {shlex.quote(f'https://localhost:{port}{p}')}" for p in paths]


def admin_configure_line(directory: Path, port: int, principal: str) -> str:
    role, name = principal.split("/")
    pki = directory / "pki"
    config = directory / f"admin-{name}.yaml"
    return (
        f"demarc admin --config {shlex.quote(str(config))} configure "
        f"--url https://localhost:{port} "
        f"--cert {shlex.quote(str(pki / f'{role}-{name}.crt'))} "
        f"--key {shlex.quote(str(pki / f'{role}-{name}.key'))} "
        f"--ca {shlex.quote(str(pki / 'ca.crt'))}"
    )


def run_demo(
    directory: Path,
    policies: Path,
    public_port: int = 8443,
    internal_port: int = 9443,
    ops_port: int = 9464,
    *,
    echo: Callable[[str], None] = print,
    started: float | None = None,
) -> None:
    started = started or time.monotonic()
    directory.mkdir(parents=True, exist_ok=True)
    data = build_demo(datetime.now(UTC))
    settings = load_settings(
        None,
        data_dir=directory,
        policies_dir=policies,
        public={"host": "127.0.0.1", "port": public_port},
        internal={"host": "127.0.0.1", "port": internal_port},
        ops={"host": "127.0.0.1", "port": ops_port},
        alert_labels={"probable_causes": PROBABLE_CAUSES},
    )
    prepare(directory, data, settings.trust_domain)
    gateway = Gateway(settings)
    public_sock = bind("127.0.0.1", public_port)
    internal_sock = bind("127.0.0.1", internal_port)
    ops_sock = bind("127.0.0.1", ops_port)

    async def ready() -> None:
        revision = await feed(f"https://localhost:{internal_port}", settings.pki_path, data)
        await gateway.refresher.wait_for(revision)
        elapsed = time.monotonic() - started
        peer, customer = f"peer/{data.peers[0]}", f"customer/{data.customers[0]}"
        services = gateway.cache.get(customer).views.get("services")
        first_service = ""
        if services is not None:
            items = msgspec.json.decode(services.body)["items"]
            first_service = items[0]["id"] if items else ""
        echo(f"\nDemarc demo is serving (data revision {revision}, ready in {elapsed:.1f} s).")
        echo(f"State: {directory}/ (SQLite {settings.database_path.name}, PKI in pki/)\n")
        echo(f"As the peer {peer}:")
        for line in curl_lines(
            directory,
            public_port,
            peer,
            [
                "/v1/views",
                "/v1/interconnects",
                "/v1/alarms",
                "/v1/maintenance",
                "/v1/topology",
                "/v1/topology/rfc8345",
            ],
        ):
            echo("  " + line)
        echo(f"\nAs the customer {customer}:")
        paths = ["/v1/services", "/v1/summary", "/v1/incidents", "/v1/maintenance"]
        if first_service:
            paths.insert(1, f"/v1/services/{first_service}")
            paths += [f"/v1/history/{first_service}", f"/v1/incidents?service={first_service}"]
        for line in curl_lines(directory, public_port, customer, paths):
            echo("  " + line)
        echo(
            "\nOther principals: " + ", ".join(f"{p}" for p in sorted(gateway.registry.audiences()))
        )
        echo(
            "Staff status: " + curl_lines(directory, internal_port, STAFF, ["/v1/admin/status"])[0]
        )
        echo("Staff command line, once per staff member (four eyes: alice drafts, bob approves):")
        for who in (STAFF, REVIEWER):
            echo("  " + admin_configure_line(directory, internal_port, who))
        echo(f"Metrics and health (no certificate): http://127.0.0.1:{ops_port}/metrics, "
             "/readyz, /livez")  # fmt: skip
        echo("OpenAPI: /openapi.json on each listener. Stop with Ctrl-C.")
        sys.stdout.flush()

    run(
        serve(gateway, public_sock, internal_sock, log_level="warning", ready=ready,
              ops_sock=ops_sock)
    )  # fmt: skip
