"""Border-to-border path aggregates for ACTN abstraction: min delay, widest bandwidth, SRLGs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

# scipy ships no type information; these two entry points are all this module uses
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree  # type: ignore[import-untyped]

from gateway.disclosure.linkstate import LinkState, available_bps
from gateway.model import LinkKind, OperStatus, Topology

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

DEFAULT_DELAY_US = 1.0
"""Delay assumed for a link that reports none: the link stays usable, each such hop costs 1 µs."""


class Border(NamedTuple):
    border_id: str
    node_id: str
    capacity_bps: float | None  # the interconnect's capacity; None when unknown


class AbstractLink(NamedTuple):
    src: str
    dst: str
    delay_us: float
    available_bandwidth_bps: float | None  # None: nothing on the path bounds it (unknown)
    srlgs: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Graph:
    """The usable internal links of one topology, indexed for csgraph; built once, then queried.

    ``delay`` is directed (RFC 8345 links are unidirectional), the minimum-delay link kept per
    ordered node pair. The widest-path structure is a maximum spanning forest of the undirected
    bandwidth graph, its edges ordered widest first (``tree_*``).
    """

    node_ids: tuple[str, ...]
    index: Mapping[str, int]
    delay: Any  # scipy.sparse.csr_matrix, nxn, weight = delay in µs
    edge_srlgs: Mapping[int, tuple[int, ...]]  # key src*n+dst of the link kept in ``delay``
    tree_u: IntArray
    tree_v: IntArray
    tree_bw: FloatArray
    # abstract_pairs per (borders, want_srlgs): a peer's view renders again when one of its
    # own circuits changes, which leaves the internal graph, and so the pairs, as they were
    pairs: dict[tuple[tuple[Border, ...], bool], list[AbstractLink]] = field(
        default_factory=dict, repr=False
    )

    @property
    def size(self) -> int:
        return len(self.node_ids)


def build_graph(
    topology: Topology,
    link_metrics: Mapping[str, LinkState] | None = None,
    *,
    default_delay_us: float = DEFAULT_DELAY_US,
) -> Graph:
    """Index the internal links that are not down.

    A link's bandwidth is ``available_bps``, or 0 when its capacity is unknown (never advertise
    bandwidth nobody vouched for). For widest paths a node pair's bandwidth is the best parallel
    link per direction, then the MIN over the directions present: conservative, since the
    undirected spanning tree cannot tell which way traffic will flow. A link with no delay
    counts ``default_delay_us``.
    """
    states = link_metrics or {}
    index: dict[str, int] = {}
    for node in topology.nodes:
        index.setdefault(node.node_id, len(index))
    src: list[int] = []
    dst: list[int] = []
    delay: list[float] = []
    bandwidth: list[float] = []
    srlgs: list[tuple[int, ...]] = []
    for link in topology.links:
        if link.kind is not LinkKind.INTERNAL or link.oper_status is OperStatus.DOWN:
            continue
        state = states.get(link.link_id)
        if state is not None and state.down:
            continue
        u = index.setdefault(link.source_node, len(index))
        v = index.setdefault(link.dest_node, len(index))
        if u == v:
            continue  # a self-loop carries nothing between nodes
        measured = state.delay_us if state is not None else None
        if measured is not None and not math.isfinite(measured):
            measured = None  # a broken sample must not poison every path through the link
        configured = link.delay_us if link.delay_us is not None else default_delay_us
        src.append(u)
        dst.append(v)
        delay.append(max(measured if measured is not None else configured, 0.0))
        bandwidth.append(available_bps(link.capacity_bps, state) or 0.0)
        srlgs.append(link.srlgs)
    n = len(index)
    u_arr = np.asarray(src, dtype=np.int64)
    v_arr = np.asarray(dst, dtype=np.int64)
    d_arr = np.asarray(delay, dtype=np.float64)
    bw_arr = np.asarray(bandwidth, dtype=np.float64)

    # csr_matrix sums duplicate entries, so keep one link per ordered pair: the fastest
    order = np.lexsort((d_arr, v_arr, u_arr))
    keys = u_arr[order] * n + v_arr[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    kept = order[first]
    delay_m = csr_matrix((d_arr[kept], (u_arr[kept], v_arr[kept])), shape=(n, n))
    edge_srlgs = {int(u_arr[i] * n + v_arr[i]): srlgs[i] for i in kept.tolist() if srlgs[i]}
    tree_u, tree_v, tree_bw = _widest_forest(u_arr, v_arr, bw_arr, n)
    return Graph(tuple(index), index, delay_m, edge_srlgs, tree_u, tree_v, tree_bw)


def _widest_forest(
    u: IntArray, v: IntArray, bw: FloatArray, n: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Maximum spanning forest (Kruskal, via scipy on negated weights), widest edge first."""
    if n == 0 or len(u) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=np.float64)
    # per direction the best parallel link, then per unordered pair the worse direction
    directed = u * n + v
    order = np.lexsort((-bw, directed))
    first = np.ones(len(order), dtype=bool)
    first[1:] = directed[order][1:] != directed[order][:-1]
    best = order[first]
    lo, hi = np.minimum(u[best], v[best]), np.maximum(u[best], v[best])
    pair = lo * n + hi
    order2 = np.lexsort((bw[best], pair))
    first2 = np.ones(len(order2), dtype=bool)
    first2[1:] = pair[order2][1:] != pair[order2][:-1]
    pick = order2[first2]
    lo, hi, width = lo[pick], hi[pick], bw[best][pick]
    usable = width > 0  # scipy drops zero weights; a 0-wide edge adds no bandwidth anyway
    neg = csr_matrix((-width[usable], (lo[usable], hi[usable])), shape=(n, n))
    tree = minimum_spanning_tree(neg).tocoo()
    widest_first = np.argsort(tree.data, kind="stable")
    return (
        tree.row[widest_first].astype(np.int64),
        tree.col[widest_first].astype(np.int64),
        -tree.data[widest_first].astype(np.float64),
    )


def _bottlenecks(graph: Graph, nodes: IntArray) -> FloatArray:
    """Widest-path bottleneck between every two of ``nodes`` (distinct graph indexes).

    Replays Kruskal over the spanning forest with a union-find: when two components first
    join through an edge of width w, w is the bottleneck of every pair across them. Costs
    O(n log* n + k^2) for k nodes; pairs never joined stay 0.
    """
    k = len(nodes)
    out = np.zeros((k, k), dtype=np.float64)
    np.fill_diagonal(out, np.inf)
    parent = list(range(graph.size))
    members: dict[int, list[int]] = {int(node): [i] for i, node in enumerate(nodes.tolist())}
    pending = len(members) - 1  # merges of border-bearing components still to come

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving
            x = parent[x]
        return x

    for a, b, width in zip(
        graph.tree_u.tolist(), graph.tree_v.tolist(), graph.tree_bw.tolist(), strict=True
    ):
        if pending <= 0:
            break
        ra, rb = find(a), find(b)
        if ra == rb:  # pragma: no cover - a forest has no cycles
            continue
        ma, mb = members.pop(ra, None), members.pop(rb, None)
        parent[rb] = ra
        if ma is not None and mb is not None:
            out[np.ix_(ma, mb)] = width
            out[np.ix_(mb, ma)] = width
            pending -= 1
        merged = (ma or []) + (mb or [])
        if merged:
            members[ra] = merged
    return out


def abstract_pairs(
    graph: Graph, borders: Sequence[Border], *, want_srlgs: bool, chunk: int = 32
) -> list[AbstractLink]:
    """One abstract link per ordered pair of borders connected inside the network.

    Delay is that of the minimum-delay path; available bandwidth the bottleneck of the widest
    path, capped by both interconnects; SRLGs the union over the min-delay path's links.
    Dijkstra runs from ``chunk`` border nodes at a time, so memory stays chunk x n. The
    result is kept with the graph (the caller must not change it).
    """
    key = (tuple(borders), want_srlgs)
    known = graph.pairs.get(key)
    if known is None:
        known = graph.pairs[key] = _abstract_pairs(graph, borders, want_srlgs, chunk)
    return known


def _abstract_pairs(
    graph: Graph, borders: Sequence[Border], want_srlgs: bool, chunk: int
) -> list[AbstractLink]:
    chunk = max(chunk, 1)
    located = [(b, graph.index.get(b.node_id)) for b in borders]
    sites = np.asarray(sorted({i for _, i in located if i is not None}), dtype=np.int64)
    pos = {int(node): p for p, node in enumerate(sites.tolist())}
    k = len(sites)
    delays = np.full((k, k), np.inf)
    path_srlgs: dict[tuple[int, int], tuple[int, ...]] = {}
    walk = want_srlgs and bool(graph.edge_srlgs)
    for start in range(0, k, chunk):
        sources = sites[start : start + chunk]
        result = dijkstra(
            graph.delay, directed=True, indices=sources, return_predecessors=walk, min_only=False
        )
        dist: FloatArray = result[0] if walk else result
        delays[start : start + len(sources)] = dist[:, sites]
        if walk:
            for row, source in enumerate(sources.tolist()):
                reached = [t for t in sites.tolist() if np.isfinite(dist[row, t])]
                for target, groups in _tree_srlgs(graph, result[1][row], source, reached):
                    path_srlgs[pos[source], pos[target]] = groups
    widths = _bottlenecks(graph, sites)
    out: list[AbstractLink] = []
    for a, ia in located:
        for b, ib in located:
            if a is b or ia is None or ib is None:
                continue
            pa, pb = pos[ia], pos[ib]
            delay = float(delays[pa, pb])
            if not np.isfinite(delay):
                continue
            caps = [c for c in (a.capacity_bps, b.capacity_bps) if c is not None]
            width = min([float(widths[pa, pb]), *caps])
            bandwidth = width if np.isfinite(width) else None
            srlgs = path_srlgs.get((pa, pb), ()) if want_srlgs else ()
            out.append(AbstractLink(a.border_id, b.border_id, delay, bandwidth, srlgs))
    return out


def _tree_srlgs(
    graph: Graph, preds: IntArray, source: int, targets: list[int]
) -> list[tuple[int, tuple[int, ...]]]:
    """SRLG union along each target's predecessor chain back to ``source``.

    The chains form one shortest-path tree, so each node's union is memoised and shared by
    every target below it.
    """
    n = graph.size
    memo: dict[int, frozenset[int]] = {source: frozenset()}
    for target in targets:
        chain: list[int] = []
        node = target
        while node not in memo:
            chain.append(node)
            node = int(preds[node])
        acc = memo[node]
        for child in reversed(chain):
            groups = graph.edge_srlgs.get(int(preds[child]) * n + child)
            if groups:
                acc = acc | frozenset(groups)
            memo[child] = acc
    return [(t, tuple(sorted(memo[t]))) for t in targets]
