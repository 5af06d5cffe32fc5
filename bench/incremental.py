"""What one alarm costs: snapshot apply and the refresh it causes, against the old full rework.

For generated networks of 1k/10k/30k nodes (1,000 customers, 20 peers, services as many as
nodes, 1k/20k/100k alarms), in one process:

- apply: ``Snapshot.apply`` of one alarm (persistent maps, indexes kept) against the old way
  measured here on the same data (copy the alarm dict, rebuild the per-resource index);
- refresh: the refresh after one alarm on a peer's interconnect and after one on a customer's
  port, against a refresh of every view of every audience (what the refresher did before for
  any alarm, give or take the maintenance views it skipped); leak guard off in both (it is
  measured by bench/leakguard.py);
- event loop: acknowledgement latency of single-alarm commits into SQLite while a full
  refresh of every audience runs, against the same commits with nothing rendering.

Prints figures and ratios only; no wall-clock target is asserted.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from gateway.disclosure import PolicySet, compile_policy, parse_policy
from gateway.leakguard.screen import Screen
from gateway.model import (
    Alarm,
    Link,
    LinkKind,
    Maintenance,
    MetricSample,
    Node,
    ResourceRef,
    Service,
    Severity,
    Snapshot,
    TerminationPoint,
    Topology,
    UpsertAlarms,
)
from gateway.store import Committed, SqliteBackend, Store
from gateway.views import Refresher, ViewCache

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
H = timedelta(hours=1)
SIZES = ((1_000, 1_000), (10_000, 20_000), (30_000, 100_000))  # nodes (= services), alarms
PEERS, CUSTOMERS = 20, 1_000


def network(nodes: int, alarms: int, rnd: random.Random) -> Snapshot:
    """A ring of routers with chords, 5 interconnects per peer, services on access ports."""
    node_list = [
        Node(f"n{i}", name=f"r{i}.pop{i % 97}.int", site=f"pop{i % 97}",
             tps=tuple(TerminationPoint(f"t{j}") for j in range(6)))
        for i in range(nodes)
    ]  # fmt: skip
    links = [Link(f"l{i}", f"n{i}", "t0", f"n{(i + 1) % nodes}", "t1", capacity_bps=1e11,
                  delay_us=100 + i % 900) for i in range(nodes)]  # fmt: skip
    links += [Link(f"c{i}", f"n{i}", "t2", f"n{rnd.randrange(nodes)}", "t3", capacity_bps=4e10,
                   delay_us=200 + i % 700) for i in range(0, nodes, 2)]  # fmt: skip
    for p in range(PEERS):
        for k in range(5):
            at = rnd.randrange(nodes)
            links.append(Link(f"ic{p}-{k}", f"n{at}", "t4", f"far{p}", f"x{k}",
                              kind=LinkKind.INTERCONNECT, peer=f"peer{p}", name=f"CIR-{p}-{k}",
                              capacity_bps=1e10))  # fmt: skip
    services = {}
    for s in range(nodes):
        at = rnd.randrange(nodes)
        services[f"sv{s}"] = Service(
            f"sv{s}", f"cust{s % CUSTOMERS}", name=f"service {s}",
            endpoints=(ResourceRef(f"n{at}", "t5"),),
            resources=(ResourceRef(link=f"l{at}"), ResourceRef(link=f"l{(at + 1) % nodes}")),
        )  # fmt: skip
    refs = [ResourceRef(link=lk.link_id) for lk in links] + [
        ResourceRef(node=f"n{i}", tp="t5") for i in range(nodes)
    ]
    alarm_map = {}
    for a in range(alarms):
        raised = NOW - rnd.randrange(1, 400) * H / 4
        cleared = None if rnd.random() < 0.3 else raised + H
        severity = rnd.choice(list(Severity)[:4])
        alarm_map[f"a{a}"] = Alarm(f"a{a}", rnd.choice(refs), severity, raised, cleared_at=cleared)
    windows = {}
    for w in range(nodes // 20):
        start, end = NOW + rnd.randrange(-48, 48) * H, NOW + rnd.randrange(49, 96) * H
        windows[f"mw{w}"] = Maintenance(f"mw{w}", (rnd.choice(refs),), start, end)
    metrics = {
        (ResourceRef(link=lk.link_id), "utilisation_pct"): MetricSample(
            ResourceRef(link=lk.link_id), "utilisation_pct", rnd.random() * 90, NOW - H / 12
        )
        for lk in links[:: max(1, len(links) // 2000)]
    }
    return Snapshot(1, Topology("bench", tuple(node_list), tuple(links)), services, alarm_map,
                    metrics, windows, {"topology": 1})  # fmt: skip


def policies() -> PolicySet:
    peer = yaml.safe_load((ROOT / "policies" / "peer-acme.yaml").read_text())
    loaded = [parse_policy((ROOT / "policies" / "customers.yaml").read_text(), "customers.yaml")]
    for p in range(PEERS):
        loaded.append(parse_policy(yaml.safe_dump({**peer, "audience": f"peer/peer{p}"}), "peer"))
    return PolicySet(compile_policy(p) for p in loaded)


AUDIENCES = [f"peer/peer{p}" for p in range(PEERS)]
AUDIENCES += [f"customer/cust{c}" for c in range(CUSTOMERS)]


def median_ms(fn: Callable[[], object], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def old_apply(snapshot: Snapshot, alarm: Alarm) -> object:
    """The previous Snapshot.apply for one alarm, and the index its first reader rebuilt."""
    merged = {**dict(snapshot.alarms), alarm.alarm_id: alarm}
    out: dict[ResourceRef, list[Alarm]] = {}
    for a in merged.values():
        if a.resource is not None:
            out.setdefault(a.resource, []).append(a)
    return {ref: tuple(sorted(a, key=lambda x: x.alarm_id)) for ref, a in out.items()}


class Harness:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot, self.policies = snapshot, policies()
        self.refresher = Refresher(ViewCache(), lambda: self.snapshot, lambda: AUDIENCES,
                                   lambda: self.policies, b"bench", clock=lambda: NOW,
                                   screen=Screen(enabled=False))  # fmt: skip

    async def one_alarm(self, alarm: Alarm) -> tuple[float, int]:
        revision = self.snapshot.revision + 1
        change = UpsertAlarms((alarm,))
        before = sum(self.refresher.renders.values())
        start = time.perf_counter()
        self.snapshot = self.snapshot.apply(change, revision)
        self.refresher.poke([Committed(revision, change, "bench")])
        await self.refresher.refresh()
        return time.perf_counter() - start, sum(self.refresher.renders.values()) - before

    async def all_alarm_views(self) -> float:
        """What any alarm used to cost: every audience's views re-rendered (a snapshot the
        refresher is not told about makes it do exactly that)."""
        self.snapshot = self.snapshot.apply(UpsertAlarms(()), self.snapshot.revision + 1)
        start = time.perf_counter()
        await self.refresher.refresh()
        return time.perf_counter() - start


async def size_row(nodes: int, alarms: int) -> None:
    rnd = random.Random(nodes)
    snapshot = network(nodes, alarms, rnd)
    ic = snapshot.interconnects_by_peer["peer3"][0]
    new = Alarm("bench-new", ResourceRef(link=ic.link_id), Severity.CRITICAL, NOW)
    new_ms = median_ms(lambda: snapshot.apply(UpsertAlarms((new,)), 2))
    old_ms = median_ms(lambda: old_apply(snapshot, new), runs=5)
    print(f"{nodes:>6} nodes {alarms:>7} alarms | apply one alarm: {new_ms:8.3f} ms, "
          f"old copy+reindex {old_ms:8.1f} ms ({old_ms / new_ms:,.0f}x)")  # fmt: skip
    h = Harness(snapshot)
    start = time.perf_counter()
    await h.refresher.refresh()
    first = time.perf_counter() - start
    full = statistics.median([await h.all_alarm_views() for _ in range(3)])
    peer_s, peer_n = zip(*[await h.one_alarm(
        Alarm(f"p{i}", ResourceRef(link=ic.link_id), Severity.MAJOR, NOW)) for i in range(7)],
        strict=True)  # fmt: skip
    port = next(iter(h.snapshot.services_by_customer["cust7"].values())).endpoints[0]
    cust_s, cust_n = zip(*[await h.one_alarm(
        Alarm(f"c{i}", port, Severity.MAJOR, NOW)) for i in range(7)], strict=True)  # fmt: skip
    p, c = statistics.median(peer_s), statistics.median(cust_s)
    print(f"{'':>22} | first refresh {first:6.2f} s; every audience re-rendered {full * 1e3:8.0f}"
          f" ms; one alarm on an interconnect {p * 1e3:7.1f} ms ({full / p:,.0f}x, "
          f"{statistics.median(peer_n):.0f} views), on a customer port {c * 1e3:7.1f} ms "
          f"({full / c:,.0f}x, {statistics.median(cust_n):.0f} views)")  # fmt: skip


async def latency(nodes: int, alarms: int) -> None:
    """Single-alarm commit latency (SQLite, synchronous=FULL) with and without a full refresh
    of every audience running meanwhile."""
    snapshot = network(nodes, alarms, random.Random(nodes))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(SqliteBackend(Path(tmp) / "db.sqlite"))
        await store.open()
        h = Harness(snapshot)
        h.snapshot = snapshot  # the store starts empty; the refresh renders the big network
        await h.refresher.refresh()
        ic = snapshot.interconnects_by_peer["peer1"][0]

        async def commits(n: int) -> list[float]:
            out = []
            for i in range(n):
                alarm = Alarm(f"lat{i}", ResourceRef(link=ic.link_id), Severity.MINOR, NOW)
                start = time.perf_counter()
                await store.commit(UpsertAlarms((alarm,)), "bench")
                out.append(time.perf_counter() - start)
            return out

        idle = await commits(200)
        busy: list[float] = []
        render = asyncio.create_task(h.all_alarm_views())
        while not render.done():
            busy += await commits(10)
        await render
        await store.close()
    for name, xs in (("idle", idle), ("during a full refresh", busy)):
        xs = sorted(xs)
        print(f"  single-alarm commit latency {name:>22}: p50 {xs[len(xs) // 2] * 1e3:6.2f} ms,"
              f" p99 {xs[int(len(xs) * 0.99)] * 1e3:6.2f} ms, max {xs[-1] * 1e3:6.2f} ms "
              f"({len(xs)} commits)")  # fmt: skip


def main() -> int:
    sizes = SIZES[: int(sys.argv[1])] if len(sys.argv) > 1 else SIZES
    for nodes, alarms in sizes:
        asyncio.run(size_row(nodes, alarms))
    print("event loop, 10k nodes:")
    asyncio.run(latency(10_000, 20_000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
