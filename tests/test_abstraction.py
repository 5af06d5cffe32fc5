"""Border-to-border aggregates checked against an independent networkx oracle on random graphs."""

from __future__ import annotations

import itertools
import math
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.disclosure.abstraction import (
    AbstractLink,
    Border,
    LinkState,
    abstract_pairs,
    build_graph,
)
from gateway.model import Link, LinkKind, Node, OperStatus, Topology

EXAMPLES = settings(max_examples=100, deadline=None)


@st.composite
def networks(draw: st.DrawFn) -> tuple[Topology, dict[str, LinkState], list[Border]]:
    """Up to 8 nodes, optionally a bidirectional ring (connected), plus random directed links
    with asymmetric delays, parallel links, unknown delays or capacities, down links,
    utilisation, SRLGs, and borders (several may share a node)."""
    n = draw(st.integers(1, 8))
    ends = [(i, (i + 1) % n) for i in range(n)] + [((i + 1) % n, i) for i in range(n)]
    pairs = ends if n > 1 and draw(st.booleans()) else []
    node = st.integers(0, n - 1)
    pairs += draw(st.lists(st.tuples(node, node), max_size=16))
    links, states = [], {}
    for k, (s, t) in enumerate(pairs):
        link_id = f"L{k}"
        links.append(
            Link(
                link_id=link_id, source_node=f"n{s}", source_tp=f"t{k}a", dest_node=f"n{t}",
                dest_tp=f"t{k}b", delay_us=draw(st.none() | st.integers(0, 20)),
                capacity_bps=draw(st.none() | st.sampled_from([0.0, 1e9, 2e9, 5e9, 10e9])),
                srlgs=tuple(draw(st.sets(st.integers(1, 6), max_size=2))),
                oper_status=draw(st.sampled_from(list(OperStatus))),
                kind=draw(st.sampled_from([LinkKind.INTERNAL] * 4 + [LinkKind.ACCESS])),
            )
        )  # fmt: skip
        if draw(st.booleans()):
            states[link_id] = LinkState(
                down=draw(st.booleans()),
                utilisation_pct=draw(st.none() | st.sampled_from([0.0, 25.0, 50.0, 90.0])),
                delay_us=draw(st.none() | st.integers(0, 20).map(float)),
            )
    borders = [
        Border(f"b{j}", f"n{draw(node)}", draw(st.none() | st.sampled_from([1e9, 4e9, 20e9])))
        for j in range(draw(st.integers(0, 5)))
    ]
    nodes = tuple(Node(node_id=f"n{i}") for i in range(n))
    return Topology(nodes=nodes, links=tuple(links)), states, borders


def usable(topology: Topology, states: dict[str, LinkState]) -> list[tuple[Link, float, float]]:
    """(link, delay, available bandwidth) of every link the abstraction may use."""
    out = []
    for link in topology.links:
        state = states.get(link.link_id, LinkState())
        if link.kind is not LinkKind.INTERNAL or link.oper_status is OperStatus.DOWN:
            continue
        if state.down or link.source_node == link.dest_node:
            continue
        delay = state.delay_us if state.delay_us is not None else link.delay_us
        bandwidth = link.capacity_bps or 0.0
        if state.utilisation_pct is not None:
            bandwidth *= 1 - state.utilisation_pct / 100
        out.append((link, float(1 if delay is None else delay), bandwidth))
    return out


def oracle(
    topology: Topology, states: dict[str, LinkState], borders: list[Border]
) -> tuple[dict[tuple[str, str], tuple[float, float | None]], Any, dict[Any, Link]]:
    links = usable(topology, states)
    delays: Any = nx.DiGraph()
    delays.add_nodes_from(n.node_id for n in topology.nodes)
    chosen: dict[tuple[str, str], Link] = {}
    for link, delay, _ in links:  # the first of the fastest parallel links
        key = (link.source_node, link.dest_node)
        if key not in chosen or delays.edges[key]["w"] > delay:
            delays.add_edge(*key, w=delay)
            chosen[key] = link
    per_direction: dict[tuple[str, str], float] = {}
    for link, _, width in links:
        key = (link.source_node, link.dest_node)
        per_direction[key] = max(per_direction.get(key, 0.0), width)
    widths: dict[frozenset[str], float] = {}
    for (s, t), width in per_direction.items():
        key = frozenset((s, t))
        widths[key] = min(widths.get(key, math.inf), width)

    def widest(a: str, b: str) -> float:
        if a == b:
            return math.inf
        # the largest w such that a and b connect through edges of width >= w
        for w in sorted({w for w in widths.values() if w > 0}, reverse=True):
            graph: Any = nx.Graph()
            graph.add_nodes_from((a, b))
            graph.add_edges_from(tuple(k) for k, v in widths.items() if v >= w)
            if nx.has_path(graph, a, b):
                return w
        return 0.0

    out: dict[tuple[str, str], tuple[float, float | None]] = {}
    for a in borders:
        reach = nx.single_source_dijkstra_path_length(delays, a.node_id, weight="w")
        for b in borders:
            if a is b or b.node_id not in reach:
                continue
            caps = [c for c in (a.capacity_bps, b.capacity_bps) if c is not None]
            bw = min([widest(a.node_id, b.node_id), *caps])
            out[a.border_id, b.border_id] = (reach[b.node_id], None if math.isinf(bw) else bw)
    return out, delays, chosen


def path_srlg_options(delays: Any, chosen: dict[Any, Link], a: str, b: str) -> set[tuple[int, ...]]:
    if a == b:
        return {()}
    options = set()
    for path in nx.all_shortest_paths(delays, a, b, weight="w"):
        groups = {g for s, t in itertools.pairwise(path) for g in chosen[s, t].srlgs}
        options.add(tuple(sorted(groups)))
    return options


def as_dict(pairs: list[AbstractLink]) -> dict[tuple[str, str], AbstractLink]:
    out = {(p.src, p.dst): p for p in pairs}
    assert len(out) == len(pairs), "one abstract link per ordered pair"
    return out


@EXAMPLES
@given(networks(), st.sampled_from([1, 2, 32]))
def test_delay_and_widest_bandwidth_match_networkx(
    net: tuple[Topology, dict[str, LinkState], list[Border]], chunk: int
) -> None:
    topology, states, borders = net
    expected, _, _ = oracle(topology, states, borders)
    got = as_dict(abstract_pairs(build_graph(topology, states), borders, want_srlgs=False,
                                 chunk=chunk))  # fmt: skip
    assert got.keys() == expected.keys()  # pairs with no path are absent, and only those
    for key, (delay, bandwidth) in expected.items():
        assert got[key].delay_us == pytest.approx(delay)
        assert got[key].available_bandwidth_bps == pytest.approx(bandwidth)
        assert got[key].srlgs == ()


@EXAMPLES
@given(networks())
def test_srlgs_are_those_of_a_minimum_delay_path(
    net: tuple[Topology, dict[str, LinkState], list[Border]],
) -> None:
    topology, states, borders = net
    expected, delays, chosen = oracle(topology, states, borders)
    got = as_dict(abstract_pairs(build_graph(topology, states), borders, want_srlgs=True))
    assert got.keys() == expected.keys()
    nodes = {b.border_id: b.node_id for b in borders}
    for (a, b), link in got.items():
        assert link.srlgs in path_srlg_options(delays, chosen, nodes[a], nodes[b])


def line(*delays: int, capacity: float = 10e9) -> Topology:
    links = [
        Link(link_id=f"L{i}", source_node=f"n{i}", source_tp="e", dest_node=f"n{i + 1}",
             dest_tp="w", delay_us=d, capacity_bps=capacity, srlgs=(i,))
        for i, d in enumerate(delays)
    ]  # fmt: skip
    return Topology(nodes=tuple(Node(f"n{i}") for i in range(len(delays) + 1)), links=tuple(links))


def test_links_are_directed_and_down_links_unused() -> None:
    topology = line(5, 7)
    pairs = as_dict(abstract_pairs(
        build_graph(topology), [Border("a", "n0", None), Border("z", "n2", 4e9)], want_srlgs=True
    ))  # fmt: skip
    assert list(pairs) == [("a", "z")]  # no link back from n2 to n0
    assert pairs["a", "z"] == AbstractLink("a", "z", 12.0, 4e9, (0, 1))
    cut = build_graph(topology, {"L1": LinkState(down=True)})
    assert abstract_pairs(cut, [Border("a", "n0", None), Border("z", "n2", None)],
                          want_srlgs=False) == []  # fmt: skip


def test_same_node_borders_and_unknown_nodes() -> None:
    graph = build_graph(line(5))
    borders = [Border("a", "n0", 1e9), Border("b", "n0", 2e9), Border("c", "n0", None),
               Border("x", "elsewhere", 1e9)]  # fmt: skip
    pairs = as_dict(abstract_pairs(graph, borders, want_srlgs=True))
    assert pairs["a", "b"] == AbstractLink("a", "b", 0.0, 1e9, ())
    assert pairs["c", "b"].available_bandwidth_bps == 2e9
    assert not any("x" in key for key in pairs)
    assert abstract_pairs(graph, [], want_srlgs=True) == []


def test_utilisation_and_measured_delay_override_the_topology() -> None:
    graph = build_graph(line(5, 7), {"L0": LinkState(utilisation_pct=75.0, delay_us=2.5)})
    pairs = as_dict(abstract_pairs(graph, [Border("a", "n0", None), Border("z", "n2", None)],
                                   want_srlgs=False))  # fmt: skip
    assert pairs["a", "z"].delay_us == 9.5
    assert pairs["a", "z"].available_bandwidth_bps == 2.5e9


def test_widest_path_may_differ_from_the_fastest_path() -> None:
    fast = [("n0", "n1", 1, 1e9), ("n1", "n2", 1, 1e9), ("n0", "n2", 10, 8e9)]
    links = [
        Link(link_id=f"L{i}{d}", source_node=s if d else t, source_tp="p", dest_node=t if d else s,
             dest_tp="p", delay_us=delay, capacity_bps=cap)
        for i, (s, t, delay, cap) in enumerate(fast) for d in (0, 1)
    ]  # fmt: skip
    topology = Topology(nodes=tuple(Node(f"n{i}") for i in range(3)), links=tuple(links))
    pairs = as_dict(abstract_pairs(build_graph(topology), [Border("a", "n0", None),
                                   Border("z", "n2", None)], want_srlgs=False))  # fmt: skip
    assert (pairs["a", "z"].delay_us, pairs["a", "z"].available_bandwidth_bps) == (2.0, 8e9)


@EXAMPLES
@given(networks())
def test_pairs_are_kept_with_their_graph_and_asked_again_only_for_other_borders(
    net: tuple[Topology, dict[str, LinkState], list[Border]],
) -> None:
    """A peer's circuit changing renders its topology again on the same internal graph: the
    pairs are those already computed; other borders, or another graph, compute afresh."""
    topology, states, borders = net
    graph = build_graph(topology, states)
    first = abstract_pairs(graph, borders, want_srlgs=True)
    assert abstract_pairs(graph, list(borders), want_srlgs=True) is first
    fresh = abstract_pairs(build_graph(topology, states), borders, want_srlgs=True)
    assert fresh is not first and fresh == first
    if len(borders) > 1:
        fewer = abstract_pairs(graph, borders[:1], want_srlgs=True)
        assert fewer == [] and fewer is not first
