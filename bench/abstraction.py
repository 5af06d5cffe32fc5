"""Benchmark of abstract-mode topology abstraction against networkx; exits 1 on a missed target."""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.disclosure.abstraction import Border, abstract_pairs, build_graph
from gateway.disclosure.pseudonym import Pseudonymizer
from gateway.disclosure.topology_view import GraphCache, link_states, topology_view
from gateway.model import (
    Link,
    LinkKind,
    Node,
    OperStatus,
    Snapshot,
    TerminationPoint,
    Topology,
)

PEER = "bench-peer"
CAPACITIES = (1e9, 10e9, 100e9)


def make_topology(n: int, links: int, borders: int, seed: int) -> Topology:
    """A ring backbone (so every pair connects) plus random chords; both directions per pair.

    Delays differ a little per direction, capacities are 1/10/100G, 30% of links carry SRLGs,
    1% are down, and ``borders`` distinct nodes each get one interconnect to the peer.
    """
    rng = np.random.default_rng(seed)
    ring = np.arange(n)
    chords = max(links // 2 - n, 0)
    a = np.concatenate([ring, rng.integers(0, n, chords)])
    b = np.concatenate([(ring + 1) % n, rng.integers(0, n, chords)])
    base = rng.integers(50, 5000, len(a))
    cap = rng.choice(CAPACITIES, len(a))
    border_nodes = rng.choice(n, borders, replace=False).tolist()
    out: list[Link] = []
    for i, (x, y) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        if x == y:
            continue
        groups = (int(rng.integers(1, 500)),) if rng.random() < 0.3 else ()
        for d, (s, t) in enumerate(((x, y), (y, x))):
            out.append(
                Link(
                    link_id=f"l{i}.{d}", source_node=f"n{s}", source_tp=f"t{i}.{d}",
                    dest_node=f"n{t}", dest_tp=f"t{i}.{1 - d}", capacity_bps=float(cap[i]),
                    delay_us=int(base[i] * (1 + 0.1 * rng.random())), srlgs=groups,
                    oper_status=OperStatus.DOWN if rng.random() < 0.01 else OperStatus.UP,
                )
            )  # fmt: skip
    for j, node in enumerate(border_nodes):
        out.append(
            Link(
                link_id=f"ic{j}", source_node=f"n{node}", source_tp=f"b{j}", dest_node="peer",
                dest_tp=f"p{j}", kind=LinkKind.INTERCONNECT, name=f"CIRCUIT-{j}", peer=PEER,
                capacity_bps=100e9, oper_status=OperStatus.UP,
            )
        )  # fmt: skip
    tps = {node: (TerminationPoint(f"b{j}"),) for j, node in enumerate(border_nodes)}
    nodes = tuple(Node(node_id=f"n{i}", tps=tps.get(i, ())) for i in range(n))
    return Topology(network_id="bench", nodes=nodes, links=tuple(out))


def borders_of(topology: Topology) -> list[Border]:
    return [
        Border(link.link_id, link.source_node, link.capacity_bps)
        for link in topology.links
        if link.kind is LinkKind.INTERCONNECT
    ]


def core(topology: Topology, want_srlgs: bool) -> dict[tuple[str, str], tuple[float, float]]:
    graph = build_graph(topology)
    pairs = abstract_pairs(graph, borders_of(topology), want_srlgs=want_srlgs)
    return {(p.src, p.dst): (p.delay_us, p.available_bandwidth_bps or 0.0) for p in pairs}


def with_networkx(topology: Topology) -> dict[tuple[str, str], tuple[float, float]]:
    """The same figures with networkx: Dijkstra per border, widest via maximum_spanning_tree."""
    directed: Any = nx.DiGraph()
    best: dict[tuple[str, str], float] = {}
    for link in topology.links:
        if link.kind is not LinkKind.INTERNAL or link.oper_status is OperStatus.DOWN:
            continue
        key = (link.source_node, link.dest_node)
        delay = float(link.delay_us or 1)
        if not directed.has_edge(*key) or directed[key[0]][key[1]]["w"] > delay:
            directed.add_edge(*key, w=delay)
        best[key] = max(best.get(key, 0.0), link.capacity_bps or 0.0)
    undirected: Any = nx.Graph()
    for (s, t), width in best.items():
        old = undirected.get_edge_data(s, t)
        undirected.add_edge(s, t, bw=width if old is None else min(old["bw"], width))
    tree = nx.maximum_spanning_tree(undirected, weight="bw")
    borders = borders_of(topology)
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for a in borders:
        dist = nx.single_source_dijkstra_path_length(directed, a.node_id, weight="w")
        width = {a.node_id: float("inf")}
        for parent, child in nx.bfs_edges(tree, a.node_id):
            width[child] = min(width[parent], tree[parent][child]["bw"])
        for b in borders:
            if b is not a and b.node_id in dist:
                bw = min(width.get(b.node_id, 0.0), a.capacity_bps or 0.0, b.capacity_bps or 0.0)
                out[a.border_id, b.border_id] = (dist[b.node_id], bw)
    return out


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS since the last reset) in MB, from /proc; peak falls back to rusage."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    if "VmRSS" in fields and "VmHWM" in fields:
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover
    return peak, peak  # pragma: no cover


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux clear_refs "5"), so a later peak is this phase's."""
    try:
        Path(f"/proc/{os.getpid()}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10k only, 3 runs, networkx once")
    args = parser.parse_args()
    failed: list[str] = []

    topo = make_topology(10_000, 40_000, 50, seed=1)
    runs = 3 if args.quick else 7
    t_core, mine = timed(lambda: core(topo, want_srlgs=False), runs)
    t_srlg, _ = timed(lambda: core(topo, want_srlgs=True), runs)
    pseudonym = Pseudonymizer(b"bench-key")
    snapshot = Snapshot(topology=topo)

    def view() -> object:
        return topology_view(snapshot, PEER, "abstract", pseudonym, shared_ids=True,
                             metrics=("delay_ms", "available_bandwidth_mbps", "srlgs"),
                             graph_cache=GraphCache())  # fmt: skip

    t_view, _ = timed(view, runs)
    t_nx, theirs = timed(lambda: with_networkx(topo), 1 if args.quick else 3)
    assert isinstance(mine, dict) and isinstance(theirs, dict)
    agree = mine.keys() == theirs.keys() and all(
        abs(mine[k][0] - theirs[k][0]) < 1e-6 and mine[k][1] == theirs[k][1] for k in mine
    )
    ratio = t_nx / t_core
    print("10,000 nodes / 40,000 links / 50 borders, graph built from the topology each run:")
    for label, seconds in (
        (f"delay + bandwidth, median of {runs}", t_core),
        ("... with SRLGs of the min-delay path", t_srlg),
        ("full abstract view, both renderings", t_view),
        ("networkx, same figures", t_nx),
    ):
        print(f"  {label:<40}{seconds * 1000:8.1f} ms")
    print(f"  networkx / ours: {ratio:.1f}x")
    print(f"  results agree with networkx: {agree} ({len(mine)} ordered pairs)")
    if not agree:
        failed.append("results differ from networkx")
    if max(t_core, t_view) > 0.3:
        failed.append("abstract mode over 0.3 s at 10k")
    if ratio < 10:
        failed.append("less than 10x faster than networkx")

    if not args.quick:
        del topo, snapshot, mine, theirs
        big = make_topology(100_000, 400_000, 200, seed=2)
        gc.collect()
        before, _ = rss_mb()
        exact = reset_peak()
        start = time.perf_counter()
        graph = build_graph(big, link_states(Snapshot(topology=big)))
        t_build = time.perf_counter() - start
        pairs = abstract_pairs(graph, borders_of(big), want_srlgs=True)
        t_big = time.perf_counter() - start
        _, peak = rss_mb()
        delta = peak - before
        print("100,000 nodes / 400,000 links / 200 borders (1 run, SRLGs included):")
        print(
            f"  build graph {t_build:.2f} s, all pairs {t_big - t_build:.2f} s, total {t_big:.2f} s"
        )
        print(f"  {len(pairs)} abstract links")
        how = "VmHWM reset before the run" if exact else "ru_maxrss, includes generation"
        print(f"  RSS before {before:.0f} MB, peak {peak:.0f} MB: +{delta:.0f} MB ({how})")
        if t_big > 10:
            failed.append("100k all pairs over 10 s")
        if delta > 600:
            failed.append("100k peak memory over 600 MB")
    for reason in failed:
        print(f"MISSED: {reason}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
