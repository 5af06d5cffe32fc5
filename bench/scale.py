"""Operator scale: a real gateway process, leak guard on, at several network sizes; one table."""

# For each size (nodes/services/alarms; always 1,000 customers and 20 peers, each audience with a
# policy and a registered principal) a fresh ``demarc serve`` on loopback mTLS and its own SQLite
# file is fed a generated network (bench/scalenet.py) through the ingest API, then measured:
#
# - ready: seconds from starting the process until every view reflects the whole network;
# - RSS: resident memory once ready (and its peak so far);
# - single / batch: acknowledged alarms per second with 8 concurrent curl clients posting one
#   alarm, then 100 alarms, per request, and the same against a naive FastAPI+SQLite endpoint
#   (WAL, synchronous=FULL, one commit per request) with the same TLS, in the same run;
# - fresh p50/p99: from the acknowledgement of an alarm on a peer's interconnect until that
#   peer's alarms view has a new ETag (polled with If-None-Match);
# - CPU/change: gateway CPU time per single-alarm change, each sent alone and waited for until
#   every view reflects it;
# - DB MB: the SQLite files after a fixed soak (alarm raises and clears, metric samples, view
#   reads), every view caught up;
# - restart: seconds from starting the process again on that database until every view is back:
#   warm, after a clean stop (the views it wrote are taken back: gateway/views/checkpoint.py),
#   and cold, after kill -9 (every view rendered).
#
# A phase that does not finish within --timeout seconds (or a gateway past --max-rss-mb) prints
# "not ready after N s" and ends that size; the baseline figures are still printed.

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import msgspec
from scalenet import Network, generate, new_alarm, rfc3339
from scalerig import (
    GatewayProcess,
    NaiveProcess,
    NotReady,
    Pki,
    cpu_seconds,
    curl_load,
    prepare,
    rss_mb,
)

CLIENTS = 8
BATCH = 100
SIZES = {  # name → (nodes, services, alarms)
    "1k": (1_000, 1_000, 1_000),
    "10k": (10_000, 10_000, 20_000),
    "30k": (30_000, 30_000, 100_000),
}
QUICK = (60, 40, 120)  # at least BATCH alarms: one request never names an alarm twice
CHUNK = 10_000  # records per ingest request while loading
SEVERITY = ("critical", "major", "minor")


@dataclass
class Plan:
    customers: int = 1000
    peers: int = 20
    singles: int = 2000  # single-alarm requests offered per server
    batches: int = 300  # 100-alarm requests offered per server
    window: float = 15.0  # seconds each throughput measurement may last
    samples: int = 20  # freshness and CPU samples
    soak: int = 300  # soak rounds
    timeout: float = 600.0
    max_rss_mb: float = 4096.0


@dataclass
class Row:
    size: str
    cells: dict[str, str] = field(default_factory=dict)
    note: str = ""


COLUMNS = [
    ("size", "nodes/svcs/alarms"), ("ready", "ready s"), ("rss", "RSS MB (peak)"),
    ("single", "1-alarm/s gw|naive"), ("batch", "100-alarm/s gw|naive"),
    ("fresh", "fresh p50|p99 ms"), ("cpu", "CPU ms/change"), ("db", "DB MB soak"),
    ("restart", "restart s warm|cold"),
]  # fmt: skip


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _bodies(directory: Path, name: str, docs: list[list[dict[str, object]]]) -> list[Path]:
    folder = directory / name
    folder.mkdir(exist_ok=True)
    paths = []
    for n, alarms in enumerate(docs):
        path = folder / f"{n}.json"
        path.write_bytes(msgspec.json.encode({"alarms": alarms}))
        paths.append(path)
    return paths


def _updates(net: Network, tag: str, count: int, per: int) -> list[list[dict[str, object]]]:
    """``count`` requests of ``per`` alarms each: updates of the network's own alarms (a new
    severity and text), so that the network keeps its size while it is measured."""
    stored = net.alarms
    assert per <= len(stored), "a request naming one alarm twice is refused (422)"
    return [
        [{**stored[(n * per + k) % len(stored)], "severity": SEVERITY[(n + k) % 3],
          "text": f"update {tag} {n}.{k}"} for k in range(per)]
        for n in range(count)
    ]  # fmt: skip


def load_network(gw: GatewayProcess, net: Network) -> int:
    revision = gw.ingest("/v1/ingest/topology", msgspec.json.encode(net.topology), "PUT")
    for start in range(0, len(net.services), CHUNK):
        body = msgspec.json.encode({"services": net.services[start : start + CHUNK]})
        revision = gw.ingest("/v1/ingest/services", body)
    for start in range(0, len(net.alarms), CHUNK):
        body = msgspec.json.encode({"alarms": net.alarms[start : start + CHUNK]})
        revision = gw.ingest("/v1/ingest/alarms", body)
    return revision


def throughput(gw: GatewayProcess, naive: NaiveProcess, pki: Pki, work: Path, net: Network,
               plan: Plan, row: Row) -> int:  # fmt: skip
    """Single alarms, then batches, to the baseline and then to the gateway."""
    for key, count, per in (("single", plan.singles, 1), ("batch", plan.batches, BATCH)):
        gw_bodies = _bodies(work, f"{key}-gw", _updates(net, "gw", count, per))
        nv_bodies = _bodies(work, f"{key}-nv", _updates(net, "nv", count, per))
        nv = curl_load(naive.url + "/v1/ingest/alarms", nv_bodies, pki, CLIENTS, plan.window)
        ours = curl_load(gw.internal_url + "/v1/ingest/alarms", gw_bodies, pki, CLIENTS,
                         plan.window)  # fmt: skip
        ours, nv = ours * per, nv * per
        ratio = f"{ours / nv:.2f}x" if nv else "no baseline"
        row.cells[key] = f"{ours:,.0f}|{nv:,.0f} ({ratio})"
    status = gw.status()
    assert status is not None
    return int(status["revision"])  # type: ignore[call-overload]


def freshness(gw: GatewayProcess, pki: Pki, net: Network, plan: Plan, deadline: float) -> str:
    peer = net.peers[0]
    circuit = {"link": net.interconnects[peer][0]}
    reader = gw.pki.context(f"peer/{peer}")
    import httpx

    delays = []
    with httpx.Client(base_url=gw.public_url, verify=reader, timeout=60) as view:
        etag = view.get("/v1/alarms").headers.get("etag", "")
        for n in range(plan.samples):
            body = msgspec.json.encode(
                {"alarms": [new_alarm(f"FRESH-{n}", circuit, datetime.now(UTC))]}
            )
            gw.ingest("/v1/ingest/alarms", body)
            acked = time.perf_counter()
            while True:
                response = view.get("/v1/alarms", headers={"If-None-Match": etag})
                if response.status_code == 200 and response.headers["etag"] != etag:
                    delays.append((time.perf_counter() - acked) * 1e3)
                    etag = response.headers["etag"]
                    break
                if time.monotonic() > deadline:
                    raise NotReady("the alarm never appeared")
    return f"{percentile(delays, 50):.0f}|{percentile(delays, 99):.0f}"


def cpu_per_change(gw: GatewayProcess, net: Network, plan: Plan, deadline: float) -> str:
    before = cpu_seconds(gw.pid)
    for n in range(plan.samples):
        resource = net.resources[(n * 13) % len(net.resources)]
        body = msgspec.json.encode({"alarms": [new_alarm(f"CPU-{n}", resource, datetime.now(UTC))]})
        gw.wait_ready(gw.ingest("/v1/ingest/alarms", body), deadline)
    return f"{(cpu_seconds(gw.pid) - before) / plan.samples * 1e3:.0f}"


def soak(gw: GatewayProcess, net: Network, plan: Plan, deadline: float) -> str:
    """A fixed amount of everyday traffic; then the database's size with views caught up."""
    import httpx

    peer = net.peers[0]
    revision = 0
    with httpx.Client(base_url=gw.public_url, verify=gw.pki.context(f"peer/{peer}")) as view:
        for n in range(plan.soak):
            resource = net.resources[(n * 31) % len(net.resources)]
            alarm = new_alarm(f"SOAK-{n % 50}", resource, datetime.now(UTC))
            gw.ingest("/v1/ingest/alarms", msgspec.json.encode({"alarms": [alarm]}))
            alarm["cleared_at"] = rfc3339(datetime.now(UTC))
            gw.ingest("/v1/ingest/alarms", msgspec.json.encode({"alarms": [alarm]}))
            samples = [{"resource": {"link": net.interconnects[peer][k % 2]},
                        "metric": "utilisation_pct", "value": float(n % 100),
                        "at": rfc3339(datetime.now(UTC))} for k in range(10)]  # fmt: skip
            revision = gw.ingest("/v1/ingest/metrics", msgspec.json.encode({"samples": samples}))
            for path in ("/v1/interconnects", "/v1/alarms") * 5:
                view.get(path)
    gw.wait_ready(revision, deadline)
    files = [gw.database, *(gw.database.with_name(gw.database.name + s) for s in ("-wal",))]
    return f"{sum(f.stat().st_size for f in files if f.exists()) / 1e6:.1f}"


def measure(name: str, dims: tuple[int, int, int], plan: Plan, root: Path) -> Row:
    nodes, services, alarms = dims
    row = Row(name, {"size": f"{nodes}/{services}/{alarms}"})
    work = root / name
    work.mkdir()
    net = generate(nodes, services, alarms, plan.customers, plan.peers, now=datetime.now(UTC))
    pki = prepare(work, net.peers, net.customers, [f"peer/{net.peers[0]}"])
    gw = GatewayProcess(work, pki, max_rss_mb=plan.max_rss_mb, phase_timeout=plan.timeout)
    naive = NaiveProcess(work, pki)
    phase, since = "ready", time.monotonic()

    def timed(cell: str, step: Callable[[float], str]) -> None:
        nonlocal phase, since
        phase, since = cell, time.monotonic()
        row.cells[cell] = step(since + plan.timeout)

    try:
        started = time.monotonic()
        gw.start()

        def ready(deadline: float) -> str:
            gw.wait_ready(0, deadline)  # listening
            gw.wait_ready(load_network(gw, net), deadline)
            return f"{time.monotonic() - started:.1f}"

        timed("ready", ready)
        row.cells["rss"] = f"{rss_mb(gw.pid):.0f} ({rss_mb(gw.pid, 'VmHWM'):.0f})"
        phase = "single"
        revision = throughput(gw, naive, pki, work, net, plan, row)
        phase, since = "fresh", time.monotonic()  # first the backlog the load left behind
        gw.wait_ready(revision, time.monotonic() + plan.timeout)
        timed("fresh", lambda d: freshness(gw, pki, net, plan, d))
        timed("cpu", lambda d: cpu_per_change(gw, net, plan, d))
        timed("db", lambda d: soak(gw, net, plan, d))
        status = gw.status()
        assert status is not None
        gw.stop()
        restarted = time.monotonic()
        gw.start()
        last = int(status["revision"])  # type: ignore[call-overload]

        def back(deadline: float) -> str:
            gw.wait_ready(last, deadline)
            warm = time.monotonic() - restarted
            # settled (index and leak-guard terms built, checkpoint consumed), then a crash
            alarm = new_alarm("RESTART", net.resources[0], datetime.now(UTC))
            since_warm = gw.ingest("/v1/ingest/alarms", msgspec.json.encode({"alarms": [alarm]}))
            gw.wait_ready(since_warm, deadline)
            gw.kill()
            cold = time.monotonic()
            gw.start()
            gw.wait_ready(since_warm, deadline)
            return f"{warm:.1f}|{time.monotonic() - cold:.1f}"

        timed("restart", back)
        withheld = status.get("leaks_withheld") or {}
        if withheld:
            row.note = f"leak guard withheld: {withheld}"
    except NotReady as exc:
        row.cells[phase] = f"not ready after {time.monotonic() - since:.0f} s"
        row.note = f"{phase}: {exc}"
        if phase == "ready" and "single" not in row.cells:
            gw.stop()  # a gateway still rendering would slow the baseline down
            baseline_only(naive, pki, work, net, plan, row)
    finally:
        gw.close()
        naive.stop()
    return row


def baseline_only(naive: NaiveProcess, pki: Pki, work: Path, net: Network, plan: Plan,
                  row: Row) -> None:  # fmt: skip
    for key, count, per in (("single", plan.singles, 1), ("batch", plan.batches, BATCH)):
        bodies = _bodies(work, f"{key}-nv", _updates(net, "nv", count, per))
        rate = curl_load(naive.url + "/v1/ingest/alarms", bodies, pki, CLIENTS, plan.window)
        row.cells[key] = f"-|{rate * per:,.0f}"


def print_table(rows: list[Row]) -> None:
    widths = [max(len(title), *(len(r.cells.get(key, "-")) for r in rows))
              for key, title in COLUMNS]  # fmt: skip
    print("  ".join(title.ljust(w) for (_, title), w in zip(COLUMNS, widths, strict=True)))
    for row in rows:
        cells = [row.cells.get(key, "-") for key, _ in COLUMNS]
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
    for row in rows:
        if row.note:
            print(f"{row.size}: {row.note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1k,10k,30k", help="comma-separated: 1k,10k,30k")
    parser.add_argument("--quick", action="store_true",
                        help="one tiny network (20 customers, 3 peers): a smoke test")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per phase")
    parser.add_argument("--max-rss-mb", type=float, default=4096.0,
                        help="stop a gateway that grows past this (a shared machine)")  # fmt: skip
    parser.add_argument("--keep", type=Path, help="keep the work files here")
    args = parser.parse_args(argv)
    if shutil.which("curl") is None:
        raise SystemExit("bench/scale.py needs curl (7.66 or newer, for --parallel)")
    if args.quick:
        plan = Plan(customers=20, peers=3, singles=100, batches=10, window=3.0, samples=3,
                    soak=5, timeout=args.timeout, max_rss_mb=args.max_rss_mb)  # fmt: skip
        sizes = {"quick": QUICK}
    else:
        plan = Plan(timeout=args.timeout, max_rss_mb=args.max_rss_mb)
        unknown = set(args.sizes.split(",")) - set(SIZES)
        if unknown:
            raise SystemExit(f"--sizes: unknown {sorted(unknown)}; choose from {list(SIZES)}")
        sizes = {name: SIZES[name] for name in args.sizes.split(",")}
    print(f"leak guard on; {plan.customers} customers, {plan.peers} peers; {CLIENTS} clients; "
          f"naive = FastAPI+SQLite, WAL, synchronous=FULL, one commit per request")  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory(prefix="demarc-scale-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for name, dims in sizes.items():
            rows.append(measure(name, dims, plan, root))
            sys.stdout.flush()
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
