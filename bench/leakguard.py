"""Leak guard benchmark: scan time over 100,000 terms and 1 MB, and its cost on demo renders."""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from gateway.demo.network import build_demo
from gateway.disclosure import Pseudonymizer, audience_key, compile_policy, load_policy_dir, render
from gateway.disclosure.engine import CompiledPolicy
from gateway.leakguard import Guard, TermClass, Vocabulary, build_vocabulary
from gateway.leakguard.disclosed import disclosed_for
from gateway.model import Snapshot
from gateway.policy.testing import snapshot_from

ROOT = Path(__file__).resolve().parents[1]
SCAN_TARGET_MS = 20.0
OVERHEAD_TARGET_PCT = 10.0
RUNS = 25
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


def synthetic_terms(rnd: random.Random, count: int) -> dict[str, TermClass]:
    """Router names, interface names, IPv4/IPv6 addresses and sites of a large network."""
    # LAG names are hex: they occur inside pseudonyms and must be rejected at token boundaries
    terms: dict[str, TermClass] = {f"ae{i}": TermClass.TP_NAME for i in range(1, 65)}
    while len(terms) < count:
        site = f"{rnd.choice(SITES)}{rnd.randint(1, 40)}"
        router = f"{rnd.choice(('p', 'pe', 'asbr', 'rr', 'agg', 'acc'))}{rnd.randint(1, 60)}.{site}"
        kind = rnd.random()
        if kind < 0.15:
            terms[router] = TermClass.NODE_NAME
            terms[f"{router}.core.example.net"] = TermClass.NODE_ID
        elif kind < 0.40:
            port = f"{rnd.choice(('et', 'xe', 'ge'))}-{rnd.randint(0, 11)}/{rnd.randint(0, 3)}"
            terms[f"{port}/{rnd.randint(0, 47)}.{rnd.randint(100, 4000)}"] = TermClass.TP_NAME
        elif kind < 0.70:
            octets = ".".join(str(rnd.randint(0, 255)) for _ in range(3))
            terms[f"{rnd.choice((10, 100, 172, 198))}.{octets}"] = TermClass.ADDRESS
        elif kind < 0.97:
            groups = ":".join(f"{rnd.getrandbits(16):x}" for _ in range(rnd.randint(1, 3)))
            terms[f"2001:db8:{groups}::{rnd.getrandbits(16):x}"] = TermClass.ADDRESS
        else:
            place = f"{rnd.choice(CITIES)} {rnd.choice(PLACES)} {rnd.randint(1, 99)}"
            terms[place] = TermClass.SITE
    return terms


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
                items.append({
                    "id": pseudonym("ic"), "status": rnd.choice(("up", "down", "degraded")),
                    "capacity_mbps": rnd.choice((10000.0, 100000.0, 400000.0)),
                    "utilisation_pct": round(rnd.random() * 100, 1),
                    "delay_ms": round(rnd.random() * 20, 2), "loss_pct": round(rnd.random(), 3),
                    "local_tp": pseudonym("tp"), "updated_at": at,
                    "remote_tp": f"HundredGigE0/0/0/{rnd.randint(0, 35)}",
                })  # fmt: skip
            elif kind < 0.8:
                resource, severity = pseudonym("ic"), rnd.choice(("critical", "major", "minor"))
                items.append({
                    "id": pseudonym("al"), "resource": resource, "severity": severity,
                    "probable_cause": "lossOfSignal", "state": "active", "raised_at": at,
                    "cleared_at": None,
                    "text": f"{severity} alarm (lossOfSignal) on circuit {resource}",
                })  # fmt: skip
            else:
                items.append({
                    "id": pseudonym("sv"), "name": f"Corporate VPN {rnd.randint(1, 999)}",
                    "type": "l3vpn", "status": "up", "bandwidth_mbps": rnd.choice((100, 1000)),
                    "sla": {"availability_pct": 99.95, "max_delay_ms": 30}, "endpoints": 2,
                })  # fmt: skip
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


def main() -> int:
    rnd = random.Random(8345)
    terms = synthetic_terms(rnd, 100_000)
    body = view_body(rnd, 1_000_000)
    before, start = resident_mb(), time.perf_counter()
    guard = Guard(Vocabulary(terms))
    build_s, guard_mb = time.perf_counter() - start, resident_mb() - before
    hits = guard.scan(body)
    scan_ms = median_ms(lambda: guard.scan(body))
    print(f"terms: {len(terms):,}  spellings: {len(guard):,}  body: {len(body):,} bytes")
    print(f"automaton build: {build_s:.2f} s, resident size about {guard_mb:.0f} MB")
    print(f"scan 1 MB: median {scan_ms:.2f} ms of {RUNS} runs (target <= {SCAN_TARGET_MS:.0f} ms)")
    ok = scan_ms <= SCAN_TARGET_MS and not hits
    if hits:
        print(f"FAIL: {len(hits)} false positives in a clean body, e.g. {hits[0]}")

    snapshot = demo_snapshot()
    audiences = demo_audiences()
    pseudonyms = {a: Pseudonymizer(audience_key(b"bench-secret", a)) for a, _ in audiences}

    def render_all() -> list[tuple[str, list[bytes]]]:
        out = []
        for audience, policy in audiences:
            views = render(policy, snapshot, audience, pseudonyms[audience], NOW)
            out.append((audience, [msgspec.json.encode(items) for items in views.values()]))
        return out

    def build_guards() -> dict[str, Guard]:
        guards = {}
        for audience, policy in audiences:
            disclosed = disclosed_for(policy, snapshot, audience)
            guards[audience] = Guard(build_vocabulary(snapshot, disclosed=disclosed))
        return guards

    guards = build_guards()

    bodies = [(a, b) for a, views in render_all() for b in views]

    def scan_all() -> int:
        return sum(len(guards[audience].scan(body)) for audience, body in bodies)

    demo_hits = scan_all()
    # interleaved, so that a busy machine slows both figures alike
    pairs = [(median_ms(render_all, 5), median_ms(scan_all, 5)) for _ in range(RUNS)]
    base_ms = statistics.median(base for base, _ in pairs)
    scan_ms = statistics.median(scan for _, scan in pairs)
    build_ms = median_ms(build_guards, 10)
    added, build_pct = scan_ms / base_ms * 100, build_ms / base_ms * 100
    size = sum(len(body) for _, body in bodies)
    print(f"demo: {len(audiences)} audiences, {len(bodies)} view bodies, {size:,} bytes")
    print(f"demo: render + msgspec encode {base_ms:.2f} ms, scan {scan_ms:.3f} ms")
    over = "" if added <= OVERHEAD_TARGET_PCT else "  OVER TARGET"
    print(f"demo: scan adds {added:.1f}% (target <= {OVERHEAD_TARGET_PCT:.0f}%){over}")
    print(f"demo: scan {scan_ms * 1e6 / size:.1f} ns per byte; a view whose render is cached")
    print("      costs its scan alone: rescan only bodies whose digest changed")
    print(f"demo: guard builds, every audience {build_ms:.2f} ms; +{build_pct:.0f}% if rebuilt on")
    print("      every refresh, but a guard is cached per (vocabulary revision, policy, audience)")
    if demo_hits:
        print(f"FAIL: {demo_hits} hits in the demo views")
    # the exit status gates the 1 MB scan target and false positives; the demo overhead depends
    # on how many bytes other views render cheaply, so it is reported, not gated
    ok = ok and not demo_hits
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
