"""Topology views per exposure mode: nothing internal leaks, RFC 8345/8795 shape, live updates."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from msgspec.structs import replace

from gateway.disclosure.pseudonym import Pseudonymizer, audience_key
from gateway.disclosure.rfc8795 import TE_NODE_ID_SPACE, te_node_ids
from gateway.disclosure.topology_view import (
    MODES,
    ROUTER_SRLG_BASE,
    GraphCache,
    TopologyView,
    dependency_key,
    topology_view,
)
from gateway.model import (
    AddMetricSamples,
    Alarm,
    Link,
    LinkKind,
    MetricSample,
    Node,
    OperStatus,
    ReplaceTopology,
    ResourceRef,
    Service,
    Severity,
    Snapshot,
    TerminationPoint,
    Topology,
    UpsertAlarms,
    UpsertServices,
)

LON, AMS, FRA, PAR = "core-rtr-lon-01", "edge-rtr-ams-02", "edge-rtr-fra-03", "agg-rtr-par-04"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ALL_METRICS = ("delay_ms", "available_bandwidth_mbps", "srlgs")
FORBIDDEN_KEYS = {"supporting-node", "underlay", "information-source", "geolocation", "statistics"}


def node(node_id: str, name: str, site: str, role: str, rid: str, *tps: tuple[str, str]) -> Node:
    return Node(
        node_id=node_id,
        name=name,
        site=site,
        role=role,
        router_ids=(rid,),
        tags=("peering",) if role == "border" else (),
        tps=tuple(TerminationPoint(t, name=f"{t} desc", addresses=(a,)) for t, a in tps),
    )


def both_ways(a: str, a_tp: str, b: str, b_tp: str, delay: int, gbps: int, srlg: int) -> list[Link]:
    return [
        Link(link_id=f"{s}|{st}|{d}|{dt}", source_node=s, source_tp=st, dest_node=d, dest_tp=dt,
             delay_us=delay, capacity_bps=gbps * 1e9, srlgs=(srlg,), oper_status=OperStatus.UP)
        for s, st, d, dt in ((a, a_tp, b, b_tp), (b, b_tp, a, a_tp))
    ]  # fmt: skip


def interconnect(
    n: str, tp: str, peer: str, circuit: str, gbps: float, remote: str, remote_tp: str = "hu-2/0/0"
) -> Link:
    return Link(link_id=f"{n}|{tp}|{peer}", source_node=n, source_tp=tp, dest_node=remote,
                dest_tp=remote_tp, kind=LinkKind.INTERCONNECT, name=circuit, peer=peer,
                remote_node=remote, remote_tp=remote_tp, capacity_bps=gbps * 1e9,
                delay_us=120, oper_status=OperStatus.UP)  # fmt: skip


NODES = (
    node(LON, "lon-core-1", "London-Docklands", "core", "192.0.2.1",
         ("xe-0/0/1", "198.51.100.1"), ("xe-0/0/2", "198.51.100.5"), ("xe-0/0/3", "198.51.100.9")),
    node(AMS, "ams-edge-2", "Amsterdam-Science-Park", "border", "192.0.2.2",
         ("et-0/0/0", "198.51.100.2"), ("et-0/0/7", "203.0.113.1"), ("et-0/0/9", "198.51.100.13")),
    node(FRA, "fra-edge-3", "Frankfurt-Hanauer", "border", "192.0.2.3",
         ("et-1/0/0", "198.51.100.6"), ("et-1/1/0", "203.0.113.5"), ("et-1/1/1", "203.0.113.9"),
         ("et-1/0/9", "198.51.100.14")),
    node(PAR, "par-agg-4", "Paris-Marcoussis", "aggregation", "192.0.2.4",
         ("ge-4/0/1", "198.51.100.10"), ("ge-4/0/2", "192.0.2.129")),
)  # fmt: skip
LINKS = (
    *both_ways(LON, "xe-0/0/1", AMS, "et-0/0/0", 4100, 10, 101),
    *both_ways(LON, "xe-0/0/2", FRA, "et-1/0/0", 3000, 100, 207),
    *both_ways(AMS, "et-0/0/9", FRA, "et-1/0/9", 9000, 40, 300),
    *both_ways(LON, "xe-0/0/3", PAR, "ge-4/0/1", 800, 10, 404),
    interconnect(AMS, "et-0/0/7", "acme", "AMS-IX-PNI-ACME-01", 10, "10.255.0.3", "17"),
    interconnect(FRA, "et-1/1/0", "acme", "FRA-PNI-ACME-02", 100, "acme-border-4"),
    interconnect(FRA, "et-1/1/1", "globex", "FRA-GLOBEX-07", 10, "globex-edge-1"),
    Link(link_id="access|par|ge-4/0/2", source_node=PAR, source_tp="ge-4/0/2",
         dest_node="cust-cpe-9", dest_tp="wan0", kind=LinkKind.ACCESS, customer="bigbank"),
)  # fmt: skip
TOPOLOGY = Topology(network_id="example-core-net", nodes=NODES, links=LINKS)
AMS_FRA = f"{AMS}|et-0/0/9|{FRA}|et-1/0/9"
LON_FRA = f"{LON}|xe-0/0/2|{FRA}|et-1/0/0"

INTERNAL = {"example-core-net"}
for _n in NODES:
    INTERNAL |= {_n.node_id, _n.name or "", _n.site or "", *_n.router_ids}
    for _tp in _n.tps:
        INTERNAL |= {_tp.tp_id, _tp.name or "", *_tp.addresses}
INTERNAL |= {link.link_id for link in LINKS} | {"cust-cpe-9", "bigbank"}


def snapshot() -> Snapshot:
    return Snapshot().apply(ReplaceTopology(TOPOLOGY), 1)


def pseudonym(audience: str = "peer/acme") -> Pseudonymizer:
    return Pseudonymizer(audience_key(b"master-secret-for-tests", audience))


def view(
    snap: Snapshot,
    mode: str,
    *,
    shared: bool = False,
    audience: str = "peer/acme",
    metrics: tuple[str, ...] = ALL_METRICS,
    **kw: Any,
) -> TopologyView:
    return topology_view(snap, "acme", mode, pseudonym(audience), shared_ids=shared,
                         metrics=metrics, graph_cache=GraphCache(), **kw)  # fmt: skip


def path_srlgs(srlgs: list[int]) -> list[int]:
    """The SRLGs of the links on a path, without the router SRLGs of its two ends."""
    return [g for g in srlgs if g < ROUTER_SRLG_BASE]


def keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k.split(":")[-1]
            yield from keys(v)
    elif isinstance(value, list):
        for item in value:
            yield from keys(item)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def network(v: TopologyView) -> dict[str, Any]:
    nets = v.rfc8345["ietf-network:networks"]["network"]
    assert len(nets) == 1
    result: dict[str, Any] = nets[0]
    return result


def abstract_link(v: TopologyView, src: str, dst: str) -> dict[str, Any] | None:
    found = [lk for lk in v.demarc["links"] if lk["kind"] == "abstract"
             and (lk["source"]["tp"], lk["destination"]["tp"]) == (src, dst)]  # fmt: skip
    return found[0] if found else None


FILTERS: dict[str, dict[str, Any]] = {"filtered": {"filter_roles": ["border", "core"]}}


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_no_internal_identifier_or_underlay_in_any_mode(mode: str, shared: bool) -> None:
    v = view(snapshot(), mode, shared=shared, **FILTERS.get(mode, {}))
    for rendering in (v.demarc, v.rfc8345):
        text = msgspec.json.encode(rendering).decode()
        assert not [s for s in INTERNAL if s and s in text]
        assert not FORBIDDEN_KEYS & set(keys(rendering))
        assert "globex" not in text and "FRA-GLOBEX-07" not in text  # another peer's circuit
    if mode == "none":
        assert v.rfc8345 == {"ietf-network:networks": {"network": []}}
        assert not any(v.demarc[k] for k in ("nodes", "border_points", "links", "connectivity"))


def test_interconnect_mode_shows_only_the_peers_border_points() -> None:
    v = view(snapshot(), "interconnect", shared=True)
    assert [b["id"] for b in v.demarc["border_points"]] == ["AMS-IX-PNI-ACME-01", "FRA-PNI-ACME-02"]
    assert {lk["kind"] for lk in v.demarc["links"]} == {"interconnect"}
    assert v.demarc["connectivity"] == []
    ic = next(lk for lk in network(v)["ietf-network-topology:link"]
              if lk["link-id"] == "AMS-IX-PNI-ACME-01")  # fmt: skip
    attrs = ic["ietf-te-topology:te"]["te-link-attributes"]
    assert attrs["name"] == "AMS-IX-PNI-ACME-01"
    assert attrs["external-domain"] == {"network-ref": "acme", "remote-te-node-id": "10.255.0.3",
                                        "remote-te-link-tp-id": 17}  # fmt: skip
    assert ic["source"]["source-tp"] == "AMS-IX-PNI-ACME-01"
    assert ic["destination"] == {"dest-node": "10.255.0.3", "dest-tp": "17"}  # the peer's end
    # ids of the peer's end are not shared unless identifiers are
    private = view(snapshot(), "interconnect")
    assert "10.255.0.3" not in msgspec.json.encode(private.rfc8345).decode()
    assert all(lk["remote"] == {"network": "acme"} for lk in private.demarc["links"])


def test_abstract_mode_aggregates_min_delay_and_widest_bandwidth() -> None:
    v = view(snapshot(), "abstract", shared=True)
    ams_fra = abstract_link(v, "AMS-IX-PNI-ACME-01", "FRA-PNI-ACME-02")
    # fastest AMS→FRA is via LON (4.1 + 3.0 ms); widest is the direct 40G, capped by the 10G PNI
    assert ams_fra is not None
    assert (ams_fra["delay_ms"], ams_fra["available_bandwidth_mbps"]) == (7.1, 10_000)
    assert path_srlgs(ams_fra["srlgs"]) == [101, 207]
    assert len([lk for lk in v.demarc["links"] if lk["kind"] == "abstract"]) == 2
    net = network(v)
    assert net["network-types"] == {"ietf-te-topology:te-topology": {}}
    rfc = next(lk for lk in net["ietf-network-topology:link"] if lk["link-id"] == ams_fra["id"])
    attrs = rfc["ietf-te-topology:te"]["te-link-attributes"]
    assert attrs["is-abstract"] == [None]
    assert attrs["te-delay-metric"] == 7100
    assert float.fromhex(attrs["max-link-bandwidth"]["te-bandwidth"]["generic"]) == 1.25e9
    assert path_srlgs(attrs["te-srlgs"]["value"]) == [101, 207]
    for n in net["node"]:
        assert n["ietf-te-topology:te"]["te-node-attributes"]["is-abstract"] == [None]
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", n["ietf-te-topology:te-node-id"])
    assert b"[null]" in msgspec.json.encode(v.rfc8345)  # YANG JSON empty leaf


def test_single_node_mode_has_one_abstract_node_with_a_connectivity_matrix() -> None:
    v = view(snapshot(), "single-node", metrics=("delay_ms",))
    (only,) = v.demarc["nodes"]
    assert only["abstract"] and only["id"].startswith("an-")
    assert {b["node"] for b in v.demarc["border_points"]} == {only["id"]}
    assert len(v.demarc["connectivity"]) == 2
    assert all(set(c) == {"node", "from", "to", "delay_ms"} for c in v.demarc["connectivity"])
    (rfc_node,) = network(v)["node"]
    attrs = rfc_node["ietf-te-topology:te"]["te-node-attributes"]
    assert attrs["is-abstract"] == [None]
    matrix = attrs["connectivity-matrices"]
    assert matrix["number-of-entries"] == 2
    tps = {tp["tp-id"] for tp in rfc_node["ietf-network-topology:termination-point"]}
    for entry in matrix["connectivity-matrix"]:
        assert {entry["from"]["tp-ref"], entry["to"]["tp-ref"]} == tps
        assert entry["is-allowed"] is True
        (metric,) = entry["path-properties"]["path-metric"]
        assert metric == {"metric-type": "ietf-te-types:path-metric-delay-average",
                          "accumulative-value": "7100"}  # fmt: skip


def test_filtered_mode_is_a_native_subset_with_pseudonymous_ids() -> None:
    v = view(snapshot(), "filtered", filter_tags=["peering"], metrics=("srlgs",))
    assert len(v.demarc["nodes"]) == 2 and not any(n["abstract"] for n in v.demarc["nodes"])
    native = [lk for lk in v.demarc["links"] if lk["kind"] == "native"]
    assert len(native) == 2  # AMS↔FRA, both directions; nothing to LON or PAR
    assert all(lk["srlgs"] == [300] and lk["status"] == "up" for lk in native)
    assert len(v.demarc["border_points"]) == 2
    roles = view(snapshot(), "filtered", filter_roles=["core", "border"])
    assert len(roles.demarc["nodes"]) == 3
    assert view(snapshot(), "filtered").demarc["nodes"] == []  # no filter: nothing chosen
    for n in network(v)["node"]:
        assert "is-abstract" not in n["ietf-te-topology:te"]["te-node-attributes"]


def test_pseudonyms_differ_between_audiences_and_are_stable() -> None:
    snap = snapshot()
    ids_a = set(strings(view(snap, "abstract").rfc8345))
    ids_b = set(strings(view(snap, "abstract", audience="peer/other").rfc8345))
    pseudonyms_a = {s for s in ids_a if re.fullmatch(r"[a-z]+-[0-9a-f]{16}", s)}
    assert pseudonyms_a and not pseudonyms_a & ids_b
    assert view(snap, "abstract").rfc8345 == view(snapshot(), "abstract").rfc8345


def test_a_link_going_down_changes_or_removes_abstract_links() -> None:
    snap = snapshot()
    ams, fra = "AMS-IX-PNI-ACME-01", "FRA-PNI-ACME-02"
    down = [replace(lk, oper_status=OperStatus.DOWN) if lk.link_id == LON_FRA else lk
            for lk in LINKS]  # fmt: skip
    snap_down = snap.apply(ReplaceTopology(replace(TOPOLOGY, links=tuple(down))), 2)
    rerouted = abstract_link(view(snap_down, "abstract", shared=True), ams, fra)
    assert rerouted is not None
    assert (rerouted["delay_ms"], path_srlgs(rerouted["srlgs"])) == (9.0, [300])
    # a critical alarm takes the direct link down as well: no path AMS→FRA remains
    alarm = Alarm(alarm_id="a1", resource=ResourceRef(link=AMS_FRA), severity=Severity.CRITICAL,
                  raised_at=NOW)  # fmt: skip
    cut = snap_down.apply(UpsertAlarms((alarm,)), 3)
    v = view(cut, "abstract", shared=True)
    assert abstract_link(v, ams, fra) is None and abstract_link(v, fra, ams) is not None
    # utilisation shrinks available bandwidth; one busy direction counts for the pair
    busy = snap.apply(AddMetricSamples((
        MetricSample(ResourceRef(link=AMS_FRA), "utilisation_pct", 90.0, NOW),
        MetricSample(ResourceRef(link=f"{LON}|xe-0/0/1|{AMS}|et-0/0/0"), "utilisation_pct", 90.0,
                     NOW),
    )), 4)  # fmt: skip
    single = view(busy, "single-node", shared=True).demarc["connectivity"]
    for a, z in ((ams, fra), (fra, ams)):
        entry = next(c for c in single if (c["from"], c["to"]) == (a, z))
        # direct 40G at 90% leaves 4G, via LON 10G at 90% leaves 1G: below the 10G PNI
        assert entry["available_bandwidth_mbps"] == 4_000


def test_dependency_key_follows_what_the_abstraction_depends_on() -> None:
    snap = snapshot()
    base = dependency_key(snap, "acme")
    assert dependency_key(snap, "acme") == base
    assert dependency_key(snap, "globex") != base
    service = Service(service_id="svc-1", customer="bigbank")
    assert dependency_key(snap.apply(UpsertServices((service,)), 2), "acme") == base
    unrelated = MetricSample(ResourceRef(node=PAR, tp="ge-4/0/2"), "utilisation_pct", 50, NOW)
    assert dependency_key(snap.apply(AddMetricSamples((unrelated,)), 2), "acme") == base
    warning = Alarm(alarm_id="w", resource=ResourceRef(link=AMS_FRA), severity=Severity.WARNING,
                    raised_at=NOW)  # fmt: skip
    assert dependency_key(snap.apply(UpsertAlarms((warning,)), 2), "acme") == base
    util = MetricSample(ResourceRef(link=AMS_FRA), "utilisation_pct", 50, NOW)
    assert dependency_key(snap.apply(AddMetricSamples((util,)), 2), "acme") != base
    critical = replace(warning, severity=Severity.CRITICAL)
    assert dependency_key(snap.apply(UpsertAlarms((critical,)), 2), "acme") != base
    status = [replace(lk, oper_status=OperStatus.DOWN) if lk.link_id == AMS_FRA else lk
              for lk in LINKS]  # fmt: skip
    for changed in (replace(TOPOLOGY, links=tuple(status)), replace(TOPOLOGY, links=LINKS[:-1])):
        assert dependency_key(snap.apply(ReplaceTopology(changed), 2), "acme") != base
    same = Topology(network_id=TOPOLOGY.network_id, nodes=NODES, links=LINKS)  # equal, new object
    assert dependency_key(snap.apply(ReplaceTopology(same), 2), "acme") == base


TE_BANDWIDTH = re.compile(  # RFC 8776 te-bandwidth, one number
    r"0[xX](0((\.0?)?[pP](\+)?0?|(\.0?))|1(\.([\da-fA-F]{0,5}[02468aAcCeE]?)?)?"
    r"[pP](\+)?(12[0-7]|1[01]\d|0?\d?\d)?)|0[xX][\da-fA-F]{1,8}|\d+"
)


def test_te_bandwidth_matches_the_rfc_8776_pattern() -> None:
    for v in (view(snapshot(), "abstract"), view(snapshot(), "filtered", filter_roles=["core"])):
        for lk in network(v)["ietf-network-topology:link"]:
            te = lk["ietf-te-topology:te"]["te-link-attributes"]
            assert TE_BANDWIDTH.fullmatch(te["max-link-bandwidth"]["te-bandwidth"]["generic"])


def test_bad_mode_or_metric_is_rejected() -> None:
    with pytest.raises(ValueError, match="mode"):
        view(snapshot(), "grey")
    with pytest.raises(ValueError, match="metrics"):
        view(snapshot(), "abstract", metrics=("jitter_ms",))


def test_te_node_ids_are_distinct_and_inside_the_reserved_block() -> None:
    # enough ids that a 28-bit hash collides somewhere is unlikely; force one by construction
    ids = [f"nd-{i:016x}" for i in range(5000)]
    published = te_node_ids(ids)
    addresses = [ipaddress.IPv4Address(v) for v in published.values()]
    assert len(set(addresses)) == len(ids)
    assert all(a in TE_NODE_ID_SPACE and a != ipaddress.IPv4Address("255.255.255.255")
               for a in addresses)  # fmt: skip
    assert te_node_ids(reversed(ids)) == published  # stable whatever the order


def test_te_node_id_collisions_move_to_the_next_free_id() -> None:
    # find two ids whose hashes land on the same address (a birthday search: ~20k tries)
    seen: dict[str, str] = {}
    for i in range(200_000):
        node = f"nd-{i}"
        (address,) = te_node_ids([node]).values()
        if address in seen:
            first, second = sorted((seen[address], node))
            break
        seen[address] = node
    else:  # pragma: no cover - 200k draws in 2^28 collide with overwhelming probability
        pytest.fail("no collision found")
    both = te_node_ids([first, second])
    assert both[first] == address
    assert ipaddress.IPv4Address(both[second]) == ipaddress.IPv4Address(address) + 1
    # the same id twice in the input is one node, not a collision
    assert te_node_ids([first, first]) == {first: address}


def test_two_interconnects_on_one_router_share_a_router_srlg_naming_no_router() -> None:
    second = interconnect(FRA, "et-1/1/1", "acme", "FRA-PNI-ACME-03", 10, "acme-border-5")
    links = (*(lk for lk in LINKS if lk.name != "FRA-GLOBEX-07"), second)
    snap = Snapshot().apply(ReplaceTopology(Topology("example-core-net", NODES, links)), 1)
    v = view(snap, "abstract", shared=True)
    risk = {lk["id"]: set(lk["srlgs"]) - set(path_srlgs(lk["srlgs"]))
            for lk in v.demarc["links"] if lk["kind"] == "interconnect"}  # fmt: skip
    assert risk["FRA-PNI-ACME-02"] == risk["FRA-PNI-ACME-03"]  # one router: not diverse
    assert len(risk["FRA-PNI-ACME-02"]) == 1
    assert risk["AMS-IX-PNI-ACME-01"].isdisjoint(risk["FRA-PNI-ACME-02"])  # other router
    # the abstract link between the two FRA border points says the same: one shared SRLG
    fra_fra = abstract_link(v, "FRA-PNI-ACME-02", "FRA-PNI-ACME-03")
    assert fra_fra is not None and set(fra_fra["srlgs"]) == risk["FRA-PNI-ACME-02"]
    single = view(snap, "single-node", shared=True).demarc["connectivity"]
    entry = next(
        e for e in single if {e["from"], e["to"]} == {"FRA-PNI-ACME-02", "FRA-PNI-ACME-03"}
    )
    assert set(entry["srlgs"]) == risk["FRA-PNI-ACME-02"]
    # keyed per audience: another peer's value for the same router is unrelated
    other = view(snap, "abstract", shared=True, audience="peer/other").demarc["links"]
    other_risk = {g for lk in other if lk["kind"] == "interconnect" for g in lk["srlgs"]}
    assert other_risk.isdisjoint(risk["FRA-PNI-ACME-02"])
    body = msgspec.json.encode(v.demarc).decode() + msgspec.json.encode(v.rfc8345).decode()
    assert not {s for s in INTERNAL if s and s in body}
