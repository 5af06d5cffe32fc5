"""A peer's topology view per exposure mode (RFC 8453), as Demarc JSON and RFC 8345/8795 JSON."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from gateway.disclosure.linkstate import LinkState, available_bps
from gateway.disclosure.pseudonym import Pseudonymizer
from gateway.disclosure.rfc8795 import rfc8345
from gateway.disclosure.scope import interconnect_status
from gateway.model import Link, LinkKind, OperStatus, ResourceRef, Snapshot, Topology

MODES = ("none", "interconnect", "abstract", "single-node", "filtered")
VIEW_METRICS = frozenset({"delay_ms", "available_bandwidth_mbps", "srlgs"})
Json = dict[str, Any]

if TYPE_CHECKING:
    # numpy and scipy load only when an abstract topology is computed (imported where it is),
    # not for every command that imports the engine, such as demarc policy check
    import gateway.disclosure.abstraction as ab


@dataclass(frozen=True)
class TopologyView:
    demarc: Json
    rfc8345: Json


class _Topo(NamedTuple):
    digest: bytes
    node_ids: frozenset[str]
    internal_links: frozenset[str]


_TOPOLOGIES: OrderedDict[int, tuple[Topology, _Topo]] = OrderedDict()
_LOCK = threading.Lock()


def _topo(topology: Topology) -> _Topo:
    """Content digest and id sets of a topology, memoised per object (held, so ids stay valid)."""
    with _LOCK:
        hit = _TOPOLOGIES.get(id(topology))
        if hit is not None and hit[0] is topology:
            _TOPOLOGIES.move_to_end(id(topology))
            return hit[1]
    info = _Topo(
        hashlib.blake2b(msgspec.msgpack.encode(topology), digest_size=16).digest(),
        frozenset(n.node_id for n in topology.nodes),
        frozenset(lk.link_id for lk in topology.links if lk.kind is LinkKind.INTERNAL),
    )
    with _LOCK:
        _TOPOLOGIES[id(topology)] = (topology, info)
        while len(_TOPOLOGIES) > 4:
            _TOPOLOGIES.popitem(last=False)
    return info


def _states(snapshot: Snapshot) -> tuple[Mapping[str, LinkState], bytes]:
    """The snapshot's internal link states (kept per change by the model) and a key that
    changes whenever they may have: the revision that last changed them."""
    return snapshot.link_states, snapshot.link_states_revision.to_bytes(8, "big")


def link_states(snapshot: Snapshot) -> Mapping[str, LinkState]:
    """Live state of internal links: utilisation, measured delay, down under a critical alarm."""
    return snapshot.link_states


def dependency_key(snapshot: Snapshot, peer: str) -> bytes:
    """Changes only when a topology view for ``peer`` may change: topology (incl. oper status),
    or utilisation, measured delay or critical alarms of internal links. Cheap once memoised.
    """
    parts = (b"topology-view-v1", _topo(snapshot.topology).digest, _states(snapshot)[1], peer)
    return hashlib.blake2b(msgspec.msgpack.encode(parts), digest_size=16).digest()


ROUTER_SRLG_BASE = 0xFF000000
"""Router SRLGs are published in 0xFF000000 to 0xFFFFFFFF: a value per border router, keyed per
audience (unlinkable between peers, naming no router), so that two interconnects or border
points on one router share an SRLG, as RFC 8795 expresses shared risk."""


def router_srlg(pseudonym: Pseudonymizer, node: str) -> int:
    return ROUTER_SRLG_BASE | int(pseudonym("rs", node)[-6:], 16)


class GraphCache:
    """Graphs of the last few (topology, link states): a graph costs O(links)."""

    def __init__(self, size: int = 2) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[bytes, bytes], ab.Graph] = OrderedDict()
        self._lock = threading.Lock()

    def graph(self, snapshot: Snapshot) -> ab.Graph:
        states, digest = _states(snapshot)
        key = (_topo(snapshot.topology).digest, digest)
        with self._lock:  # held while building: two renderers never build the same graph
            hit = self._entries.get(key)
            if hit is None:
                import gateway.disclosure.abstraction as ab  # loads numpy and scipy: see top

                hit = self._entries[key] = ab.build_graph(snapshot.topology, states)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(key)
            return hit


DEFAULT_GRAPH_CACHE = GraphCache()


class _Bp(NamedTuple):
    node: str  # internal: never published
    tp: str
    link: Link
    id: str


def _metrics(
    wanted: Collection[str],
    delay_us: float | None,
    bw_bps: float | None,
    srlgs: tuple[int, ...],
    bw_key: str = "available_bandwidth_mbps",
) -> Json:
    out: Json = {}
    if "delay_ms" in wanted and delay_us is not None:
        out["delay_ms"] = round(delay_us / 1000, 3)
    if "available_bandwidth_mbps" in wanted and bw_bps is not None:
        out[bw_key] = round(bw_bps / 1e6, 3)
    if "srlgs" in wanted:
        out["srlgs"] = sorted(set(srlgs))
    return out


def _borders(snapshot: Snapshot, peer: str, pseudonym: Pseudonymizer,
             shared_ids: bool) -> dict[tuple[str, str], _Bp]:  # fmt: skip
    """The peer's border termination points: our end of each of its interconnects."""
    ours = _topo(snapshot.topology).node_ids
    out: dict[tuple[str, str], _Bp] = {}
    for link in sorted(snapshot.interconnects_by_peer.get(peer, ()), key=lambda lk: lk.link_id):
        if link.source_node in ours:
            end = (link.source_node, link.source_tp)
        elif link.dest_node in ours:
            end = (link.dest_node, link.dest_tp)
        else:
            continue
        bid = link.name if shared_ids and link.name else pseudonym("btp", "\x00".join(end))
        out.setdefault(end, _Bp(*end, link, bid))
    return out


def topology_view(snapshot: Snapshot, peer: str, mode: str, pseudonym: Pseudonymizer, *,
                  shared_ids: bool, metrics: Collection[str], filter_tags: Collection[str] = (),
                  filter_roles: Collection[str] = (),
                  graph_cache: GraphCache | None = None,
                  now: datetime | None = None) -> TopologyView:  # fmt: skip
    """What ``peer`` may see of the topology under ``mode``; ids are per-audience pseudonyms,
    or, with ``shared_ids``, the interconnect circuit names (te-link name) for its circuits.

    Each interconnect's status and delay follow the rule of the interconnects view
    (:func:`interconnect_live`), so both views tell a peer the same thing.
    """
    if mode not in MODES:
        raise ValueError(f"unknown topology mode {mode!r}; expected one of {', '.join(MODES)}")
    if unknown := set(metrics) - VIEW_METRICS:
        raise ValueError(f"unknown topology metrics {sorted(unknown)}")
    view: Json = {"mode": mode, "nodes": [], "border_points": [], "links": [], "connectivity": []}
    if mode == "none":
        return TopologyView(view, rfc8345(view, pseudonym))
    borders = _borders(snapshot, peer, pseudonym, shared_ids)
    selected: dict[str, str] = {}  # filtered mode: internal node id -> published id
    if mode == "filtered":
        tags, roles = set(filter_tags), set(filter_roles)
        selected = {n.node_id: pseudonym("nd", n.node_id) for n in snapshot.topology.nodes
                    if n.role in roles or tags.intersection(n.tags)}  # fmt: skip
        borders = {k: b for k, b in borders.items() if b.node in selected}
    domain = pseudonym("an", "domain")

    def host(b: _Bp) -> str:  # the published node a border point sits on
        if mode == "single-node":
            return domain
        if mode == "filtered":
            return selected[b.node]
        # grey topology: one abstract node per border point, so routers are not grouped
        return pseudonym("an", f"border\x00{b.node}\x00{b.tp}")

    bps = sorted(borders.values(), key=lambda b: b.id)
    nodes: dict[str, Json] = {host(b): {"id": host(b), "abstract": True, "tps": []} for b in bps}
    nodes.update({p: {"id": p, "abstract": False, "tps": []} for p in selected.values()})
    links: list[Json] = []
    for b in bps:
        link = b.link
        ic = link.name if shared_ids and link.name else pseudonym("ic", link.link_id)
        view["border_points"].append({"id": b.id, "node": host(b), "interconnect": ic})
        # the peer's own ids of its end go out only where ids are agreed to be shared
        remote = {"network": peer, **({"node": link.remote_node, "tp": link.remote_tp}
                                      if shared_ids else {})}  # fmt: skip
        remote = {k: v for k, v in remote.items() if v is not None}
        status, delay_us = interconnect_live(snapshot, link, now)
        risk = (*link.srlgs, router_srlg(pseudonym, b.node))
        links.append({"id": ic, "kind": "interconnect", "source": {"node": host(b), "tp": b.id},
                      "remote": remote, "status": status,
                      **({"name": ic} if ic == link.name else {}),
                      **_metrics(metrics, delay_us, link.capacity_bps, risk,
                                 "capacity_mbps")})  # fmt: skip
    if mode in ("abstract", "single-node") and bps:
        graph = (graph_cache or DEFAULT_GRAPH_CACHE).graph(snapshot)
        by_id = {b.id: b for b in bps}
        import gateway.disclosure.abstraction as ab  # loads numpy and scipy: see top

        pairs = ab.abstract_pairs(graph, [ab.Border(b.id, b.node, b.link.capacity_bps)
                                          for b in bps], want_srlgs="srlgs" in metrics)  # fmt: skip
        for p in pairs:
            a, z = by_id[p.src], by_id[p.dst]
            # the routers at both ends are shared risks of the pair: two border points on one
            # router show the same router SRLG at both ends, so they read as not diverse
            risk = (*p.srlgs, router_srlg(pseudonym, a.node), router_srlg(pseudonym, z.node))
            figures = _metrics(metrics, p.delay_us, p.available_bandwidth_bps, risk)
            if mode == "single-node":
                view["connectivity"].append({"node": domain, "from": a.id, "to": z.id, **figures})
            else:
                # a pair gets a link only while a path of links that are up joins it
                links.append({"id": pseudonym("al", f"{a.node}\x00{a.tp}\x00{z.node}\x00{z.tp}"),
                              "kind": "abstract", "status": "up",
                              "source": {"node": host(a), "tp": a.id},
                              "destination": {"node": host(z), "tp": z.id}, **figures})  # fmt: skip
    if selected:
        links += _native_links(snapshot, selected, borders, nodes, pseudonym, metrics)
    for n in nodes.values():
        n["tps"] = sorted(set(n["tps"]))
    view["nodes"] = sorted(nodes.values(), key=lambda n: n["id"])
    view["links"] = sorted(links, key=lambda lk: (lk["kind"], lk["id"]))
    return TopologyView(view, rfc8345(view, pseudonym))


def _native_links(
    snapshot: Snapshot,
    selected: dict[str, str],
    borders: dict[tuple[str, str], _Bp],
    nodes: dict[str, Json],
    pseudonym: Pseudonymizer,
    metrics: Collection[str],
) -> list[Json]:
    """Filtered mode: internal links between selected nodes; their ends join the nodes' tps."""
    states = link_states(snapshot)
    out = []
    for link in snapshot.topology.links:
        if link.kind is not LinkKind.INTERNAL or not (
            link.source_node in selected and link.dest_node in selected
        ):
            continue
        ends = []
        for node, tp in ((link.source_node, link.source_tp), (link.dest_node, link.dest_tp)):
            border = borders.get((node, tp))
            ends.append(
                {
                    "node": selected[node],
                    "tp": border.id if border else pseudonym("tp", f"{node}\x00{tp}"),
                }
            )
            if border is None:
                nodes[selected[node]]["tps"].append(ends[-1]["tp"])
        state = states.get(link.link_id)
        down = link.oper_status is OperStatus.DOWN or (state is not None and state.down)
        delay = state.delay_us if state and state.delay_us is not None else link.delay_us
        bandwidth = available_bps(link.capacity_bps, state)
        out.append({"id": pseudonym("ln", link.link_id), "kind": "native",
                    "source": ends[0], "destination": ends[1],
                    "status": "down" if down else link.oper_status.value,
                    **_metrics(metrics, delay, bandwidth, link.srlgs)})  # fmt: skip
    return out


def interconnect_live(
    snapshot: Snapshot, link: Link, now: datetime | None
) -> tuple[str, float | None]:
    """An interconnect's status and delay (µs) as the interconnects view tells them: status from
    alarms, maintenance and oper status; delay measured when there is a sample, else the TE
    metric. Without ``now`` (no clock: a static rendering), the oper status as ingested."""
    sample = snapshot.metrics.get((ResourceRef(link=link.link_id), "delay_ms"))
    delay_us = sample.value * 1000.0 if sample is not None else link.delay_us
    status = link.oper_status.value if now is None else interconnect_status(snapshot, link, now)
    return status, delay_us
