"""Leak guard benchmark: the shared vocabulary and automaton for 1,020 audiences at 1k and 10k
nodes (30k with --big), against the per-audience guards it replaced, in the same run."""

from __future__ import annotations

import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from gateway.demo.network import build_demo
from gateway.disclosure import (
    Pseudonymizer,
    audience_key,
    compile_policy,
    load_policy_dir,
    parse_policy,
    render,
)
from gateway.disclosure.engine import CompiledPolicy
from gateway.leakguard import Guard, build_vocabulary
from gateway.leakguard.disclosed import disclosed_for
from gateway.leakguard.screen import Screen
from gateway.leakguard.shared import SharedVocabulary
from gateway.model import (
    Alarm,
    Link,
    LinkKind,
    Maintenance,
    Node,
    ResourceRef,
    Service,
    Severity,
    Snapshot,
    TerminationPoint,
    Topology,
    UpsertAlarms,
)
from gateway.policy.testing import snapshot_from
from gateway.store.base import Committed

ROOT = Path(__file__).resolve().parents[1]
OVERHEAD_TARGET_PCT = 10.0
RUNS = 25
PEERS, CUSTOMERS = 20, 1_000
SIZES = ((1_000, 1_000, 1_000), (10_000, 10_000, 20_000))  # nodes, services, alarms
BIG = (30_000, 30_000, 100_000)
CHANGES = 200  # single-alarm changes timed per size
NOW = datetime(2026, 11, 28, 10, 17, 33, tzinfo=UTC)
SITES = ("ams", "lon", "fra", "par", "mad", "mil", "vie", "sto", "cph", "waw", "prg", "dub")
CITIES = ("Amsterdam", "London", "Frankfurt", "Paris", "Madrid", "Milan", "Vienna", "Stockholm")
PLACES = ("Science Park", "Telehouse North", "Kleyer", "Pantin", "Alcobendas", "Caldera", "Kista")


def median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def resident_mb() -> float:
    statm = Path("/proc/self/statm")
    return (
        int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
        if statm.exists()
        else 0.0
    )


def view_body(rnd: random.Random, size: int) -> bytes:
    """A JSON body of published view items: pseudonyms, numbers, times, templated text."""

    def pseudonym(prefix: str) -> str:
        return f"{prefix}-{rnd.getrandbits(64):016x}"

    items: list[dict[str, Any]] = []
    body = b"[]"
    while len(body) < size:
        for _ in range(200):
            day, hour, minute = rnd.randint(1, 28), rnd.randint(0, 23), rnd.randint(0, 59)
            at = f"2026-11-{day:02d}T{hour:02d}:{minute:02d}:00Z"
            kind = rnd.random()
            if kind < 0.5:
                items.append(
                    {
                        "id": pseudonym("ic"),
                        "status": rnd.choice(("up", "down", "degraded")),
                        "capacity_mbps": rnd.choice((10000.0, 100000.0, 400000.0)),
                        "utilisation_pct": round(rnd.random() * 100, 1),
                        "delay_ms": round(rnd.random() * 20, 2),
                        "loss_pct": round(rnd.random(), 3),
                        "local_tp": pseudonym("tp"),
                        "updated_at": at,
                        "remote_tp": f"HundredGigE0/0/0/{rnd.randint(0, 35)}",
                    }
                )
            elif kind < 0.8:
                resource, severity = pseudonym("ic"), rnd.choice(("critical", "major", "minor"))
                items.append(
                    {
                        "id": pseudonym("al"),
                        "resource": resource,
                        "severity": severity,
                        "probable_cause": "lossOfSignal",
                        "state": "active",
                        "raised_at": at,
                        "cleared_at": None,
                        "text": f"{severity} alarm (lossOfSignal) on circuit {resource}",
                    }
                )
            else:
                items.append(
                    {
                        "id": pseudonym("sv"),
                        "name": f"Corporate VPN {rnd.randint(1, 999)}",
                        "type": "l3vpn",
                        "status": "up",
                        "bandwidth_mbps": rnd.choice((100, 1000)),
                        "sla": {"availability_pct": 99.95, "max_delay_ms": 30},
                        "endpoints": 2,
                    }
                )
        body = msgspec.json.encode({"items": items, "revision": rnd.randint(1, 10**6)})
    return body


def demo_snapshot() -> Snapshot:
    return snapshot_from(build_demo(NOW).documents())


def demo_audiences() -> list[tuple[str, CompiledPolicy]]:
    policies = {p.audience: p for p in map(compile_policy, load_policy_dir(ROOT / "policies"))}
    data = build_demo(NOW)
    out = [(f"peer/{p}", policies[f"peer/{p}"]) for p in data.peers if f"peer/{p}" in policies]
    for customer in data.customers:
        audience = f"customer/{customer}"
        out.append((audience, policies.get(audience) or policies["customer/*"]))
    return out


def generated(nodes: int, services: int, alarms: int, seed: int = 8345) -> Snapshot:
    """An operator network: named routers at sites with four addressed ports each, a ring and
    chords, interconnects to 20 peers, 1,000 customers' services, alarms with free text and
    Alertmanager labels on ports and circuits, maintenance windows."""
    rnd = random.Random(seed)
    sites = [f"{SITES[i % len(SITES)]}{i}" for i in range(max(nodes // 25, 1))]
    node_list, ports = [], []
    for i in range(nodes):
        site = sites[i % len(sites)]
        name = f"pe{i}.{site}"
        tps = tuple(
            TerminationPoint(
                f"et-0/0/{k}",
                f"et-0/0/{k}.{i}",
                (f"10.{i >> 8 & 255}.{i & 255}.{k * 4 + 1}", f"2001:db8:{i:x}::{k + 1}"),
            )
            for k in range(4)
        )
        node_list.append(
            Node(
                f"rtr{i}.{site}.core.example.net",
                name,
                (f"100.64.{i >> 8 & 255}.{i & 255}",),
                f"{CITIES[i % len(CITIES)]} {PLACES[i % len(PLACES)]} {i // 50}",
                tps=tps,
            )
        )
        ports += [(node_list[-1].node_id, tp.tp_id) for tp in tps]
    links: list[Link] = []
    for i in range(nodes):
        for j in (i + 1, rnd.randrange(nodes)):
            a, b = node_list[i].node_id, node_list[j % nodes].node_id
            links.append(Link(f"lk-{i}-{j % nodes}", a, "et-0/0/0", b, "et-0/0/1"))
    circuits = []
    for p in range(PEERS):
        for k in range(max(nodes // 500, 2)):
            node = node_list[rnd.randrange(nodes)].node_id
            link = Link(
                f"ic-{p}-{k}",
                node,
                "et-0/0/3",
                f"peer{p}-edge{k}",
                f"xe-{k}/0/0",
                kind=LinkKind.INTERCONNECT,
                name=f"PEER{p}-CKT-{k:04d}",
                peer=f"peer{p}",
                remote_node=f"peer{p}-edge{k}",
                remote_tp=f"xe-{k}/0/0",
            )
            links.append(link)
            circuits.append(link.link_id)
    topology = Topology(network_id="bench-net", nodes=tuple(node_list), links=tuple(links))
    service_map = {}
    for k in range(services):
        sid = f"svc-{k:06d}"
        a, b = rnd.choice(ports), rnd.choice(ports)
        service_map[sid] = Service(
            sid,
            f"cust{k % CUSTOMERS}",
            f"VPN {k % CUSTOMERS}-{k // CUSTOMERS}",
            "l3vpn",
            endpoints=(ResourceRef(node=a[0], tp=a[1]), ResourceRef(node=b[0], tp=b[1])),
        )
    alarm_map = {}
    for k in range(alarms):
        alarm = one_alarm(rnd, k, node_list, circuits)
        alarm_map[alarm.alarm_id] = alarm
    windows = {
        f"mw-{k:05d}": Maintenance(
            f"mw-{k:05d}",
            (ResourceRef(link=rnd.choice(circuits)),),
            NOW,
            NOW + timedelta(hours=2),
            description=f"Line card swap in {node_list[k % nodes].name}",
        )
        for k in range(max(nodes // 100, 1))
    }
    return Snapshot(1, topology, service_map, alarm_map, {}, windows)


def one_alarm(rnd: random.Random, k: int, nodes: list[Node], circuits: list[str]) -> Alarm:
    node = nodes[rnd.randrange(len(nodes))]
    tp = node.tps[rnd.randrange(len(node.tps))]
    on_circuit = rnd.random() < 0.3
    resource = (
        ResourceRef(link=rnd.choice(circuits))
        if on_circuit
        else ResourceRef(node=node.node_id, tp=tp.tp_id)
    )
    text = f"LOS on {node.name} {tp.name} towards {tp.addresses[0]} (ticket INC{k:07d})"
    if k % 5:
        return Alarm(f"alm-{k:07d}", resource, Severity.MAJOR, NOW, "lossOfSignal", text=text)
    labels = (("instance", f"{tp.addresses[0]}:9100"), ("job", "snmp"), ("ifName", tp.name or ""))
    return Alarm(
        f"am-{k:016x}",
        resource,
        Severity.MINOR,
        NOW,
        "lossOfSignal",
        text=text,
        source="alertmanager",
        labels=labels,
    )


def policies() -> list[tuple[str, CompiledPolicy]]:
    peer = (ROOT / "policies" / "peer-acme.yaml").read_text()
    customer = compile_policy(parse_policy((ROOT / "policies" / "customers.yaml").read_text()))
    out = [
        (f"peer/peer{p}", compile_policy(parse_policy(peer.replace("peer/acme", f"peer/peer{p}"))))
        for p in range(PEERS)
    ]
    return out + [(f"customer/cust{c}", customer) for c in range(CUSTOMERS)]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _timed_at(vocabulary: SharedVocabulary, snapshot: Snapshot) -> float:
    start = time.perf_counter()
    vocabulary.at(snapshot)
    return time.perf_counter() - start


def scale(
    nodes: int, services: int, alarms: int, audiences: list[tuple[str, CompiledPolicy]]
) -> bool:
    """One size: every figure measured in this call, the old path beside the new."""
    size = f"{nodes:,} nodes, {services:,} services, {alarms:,} alarms"
    print(f"\n== {size}, {len(audiences):,} audiences")
    snapshot = generated(nodes, services, alarms)
    gc.collect()
    before = resident_mb()
    screen = Screen()
    build_s, _ = timed(lambda: screen.vocabulary.at(snapshot))
    shared_mb = resident_mb() - before
    vocabulary = screen.vocabulary
    print(
        f"shared: {len(vocabulary):,} terms, {len(vocabulary.automaton):,} spellings; "
        f"build {build_s:.2f} s, RSS +{shared_mb:.0f} MB"
    )
    before = resident_mb()
    allow_s, _ = timed(lambda: [screen.guard_for(a, p, snapshot) for a, p in audiences])
    allow_mb = resident_mb() - before
    print(
        f"allowances, all {len(audiences):,} audiences: {allow_s:.2f} s "
        f"({allow_s / len(audiences) * 1e3:.2f} ms each, disclosed_for included), "
        f"RSS +{allow_mb:.0f} MB"
    )

    # one alarm per change: half new alarms, half an existing alarm with new text
    rnd = random.Random(7)
    ids = list(snapshot.alarms)
    times, current = [], snapshot
    for k in range(CHANGES):
        alarm = one_alarm(
            rnd,
            alarms + k,
            list(snapshot.topology.nodes[:50]),
            [c.link_id for c in snapshot.topology.links[-PEERS * 2 :]],
        )
        if k % 2:
            old = snapshot.alarms[ids[rnd.randrange(len(ids))]]
            alarm = Alarm(
                old.alarm_id,
                old.resource,
                old.severity,
                old.raised_at,
                old.probable_cause,
                text=f"{old.text} retry {k} at 2001:db8:ffff::{k:x}",
            )
        change = UpsertAlarms((alarm,))
        current = current.apply(change, current.revision + 1)
        screen.follow([Committed(current.revision, change, "source/bench")])
        times.append(_timed_at(vocabulary, current))
    assert vocabulary.rebuilds == 1, "a followed change must not rebuild"
    change_ms = statistics.median(times) * 1e3
    mean_ms = statistics.fmean(times) * 1e3
    rebuild_s, _ = timed(lambda: SharedVocabulary().at(current))
    print(
        f"one alarm change: median {change_ms:.3f} ms, mean {mean_ms:.3f} ms (merges and "
        f"compactions included) over {CHANGES}; from-scratch shared rebuild {rebuild_s:.2f} s "
        f"= {rebuild_s * 1e3 / mean_ms:,.0f}x the mean change"
    )

    # the old path: a whole-network vocabulary and automaton per audience, rebuilt per change
    peer, policy = audiences[0]
    gc.collect()
    before = resident_mb()
    old_s, old = timed(
        lambda: Guard(build_vocabulary(snapshot, disclosed=disclosed_for(policy, snapshot, peer)))
    )
    old_mb = resident_mb() - before
    print(
        f"old, one audience: build {old_s:.2f} s, RSS +{old_mb:.0f} MB; x {len(audiences):,} "
        f"audiences = {old_s * len(audiences):,.0f} s and {old_mb * len(audiences) / 1e3:,.1f} GB "
        f"per change (projected from this one build)"
    )

    # scan: a 1 MB view body, plain, and with the peer's own circuit names (allowed) recurring
    names = [c.name for c in snapshot.interconnects_by_peer["peer0"] if c.name]
    plain = view_body(random.Random(3), 1_000_000).replace(b"HundredGigE0/0/0/", b"")
    named = plain.replace(b'"remote_tp":"', b'"circuit":"' + names[0].encode() + b'","remote_tp":"')
    guard = screen.guard_for(peer, policy, current)  # the terms moved on with the changes
    clean = True
    for label, body in (("plain", plain), (f"{plain.count(b'remote_tp'):,} allowed names", named)):
        new_hits, old_hits = guard.scan(body), old.scan(body)
        clean = clean and not new_hits and not old_hits
        pairs = [
            (median_ms(lambda b=body: old.scan(b), 3), median_ms(lambda b=body: guard.scan(b), 3))
            for _ in range(5)
        ]
        old_ms = statistics.median(o for o, _ in pairs)
        new_ms = statistics.median(n for _, n in pairs)
        mb = len(body) / 1e6
        print(
            f"scan {mb:.1f} MB ({label}): old {mb / old_ms * 1e3:.0f} MB/s, shared "
            f"{mb / new_ms * 1e3:.0f} MB/s ({old_ms / new_ms:.2f}x); hits old {len(old_hits)}, "
            f"shared {len(new_hits)}"
        )
    return clean


def demo() -> bool:
    """The demo network's real renders: no false positive, and what the scan adds to a render."""
    snapshot = demo_snapshot()
    audiences = demo_audiences()
    pseudonyms = {a: Pseudonymizer(audience_key(b"bench-secret", a)) for a, _ in audiences}

    def render_all() -> list[tuple[str, list[bytes]]]:
        out = []
        for audience, policy in audiences:
            views = render(policy, snapshot, audience, pseudonyms[audience], NOW)
            out.append((audience, [msgspec.json.encode(items) for items in views.values()]))
        return out

    screen = Screen()
    guards = {a: screen.guard_for(a, p, snapshot) for a, p in audiences}
    bodies = [(a, b) for a, views in render_all() for b in views]

    def scan_all() -> int:
        return sum(len(guards[audience].scan(body)) for audience, body in bodies)

    hits = scan_all()
    # interleaved, so that a busy machine slows both figures alike
    pairs = [(median_ms(render_all, 5), median_ms(scan_all, 5)) for _ in range(RUNS // 5)]
    base_ms = statistics.median(base for base, _ in pairs)
    scan_ms = statistics.median(scan for _, scan in pairs)
    size = sum(len(body) for _, body in bodies)
    added = scan_ms / base_ms * 100
    over = "" if added <= OVERHEAD_TARGET_PCT else "  OVER TARGET"
    print(
        f"demo: {len(audiences)} audiences, {len(bodies)} bodies, {size:,} bytes; render + "
        f"msgspec encode {base_ms:.2f} ms, scan {scan_ms:.3f} ms: +{added:.1f}% "
        f"(target <= {OVERHEAD_TARGET_PCT:.0f}%){over}"
    )
    if hits:
        print(f"FAIL: {hits} hits in the demo views")
    return not hits


def main() -> int:
    """Exit status: false positives only (demo renders, clean 1 MB bodies); figures are read."""
    ok = demo()
    audiences = policies()
    for size in (*SIZES, BIG) if "--big" in sys.argv else SIZES:
        ok = scale(*size, audiences) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
