"""The demo network's sites, routers, ports and links, rendered as RFC 8345 JSON."""

from __future__ import annotations

import ipaddress
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]

DOMAIN = ".core.example.net"
NETWORK_ID = "example-core"


@dataclass(frozen=True)
class Site:
    name: str
    code: str
    lat: float
    lon: float


SITES = (
    Site("London Telehouse North", "lon2", 51.511, -0.001),
    Site("Amsterdam Science Park", "ams1", 52.356, 4.954),
    Site("Frankfurt Kleyer", "fra1", 50.099, 8.630),
    Site("Paris Pantin", "par3", 48.897, 2.409),
    Site("Madrid Alcobendas", "mad1", 40.536, -3.641),
    Site("Milan Caldera", "mil2", 45.478, 9.098),
    Site("Vienna Floridsdorf", "vie1", 48.257, 16.399),
    Site("Stockholm Kista", "sto2", 59.403, 17.944),
)
SITE_SPANS = (
    ("lon2", "ams1"),
    ("lon2", "par3"),
    ("lon2", "fra1"),
    ("ams1", "fra1"),
    ("ams1", "sto2"),
    ("fra1", "par3"),
    ("fra1", "mil2"),
    ("fra1", "vie1"),
    ("fra1", "sto2"),
    ("par3", "mad1"),
    ("mad1", "mil2"),
    ("mil2", "vie1"),
)
RR_SITES = ("lon2", "fra1")

# peer -> the (site, ASBR number) of each of its interconnects
PEERINGS: dict[str, tuple[tuple[str, int], ...]] = {
    "acme": (("ams1", 1), ("lon2", 1), ("fra1", 2)),
    "globalnet": (("fra1", 1), ("par3", 1), ("lon2", 2), ("mil2", 1)),
    "northwind": (("sto2", 1), ("ams1", 2), ("vie1", 1)),
}
# how each peer names its own end: (router, port, router-id) from the interconnect's number
PEER_SIDE: dict[str, Callable[[int], tuple[str, str, str]]] = {
    "acme": lambda k: (f"acme-border-{k}", f"hu-2/0/{k}", f"203.0.113.{100 + k}"),
    "globalnet": lambda k: (f"gn-edge{k}", f"HundredGigE0/0/0/{k}", f"203.0.113.{150 + k}"),
    "northwind": lambda k: (f"nw-cr{k}", f"et-0/1/{k}", f"203.0.113.{200 + k}"),
}

PORTS: dict[str, Callable[[int], str]] = {
    "core": lambda n: f"et-{n // 8}/0/{n % 8}",
    "bundle": lambda n: f"ae{n + 1}",
    "ext": lambda n: f"et-1/1/{n}",
    "ge": lambda n: f"ge-0/1/{n}",
    "xe": lambda n: f"xe-1/2/{n}",
    "lag": lambda n: f"ae{n + 12}",
}
GBPS = 1e9 / 8  # RFC 8795 te-bandwidth is in bytes per second


@dataclass
class Tp:
    tp_id: str
    addresses: list[str]


@dataclass
class Router:
    name: str
    site: Site
    role: str
    router_id: str
    tags: tuple[str, ...]
    tps: list[Tp] = field(default_factory=list)
    used: dict[str, int] = field(default_factory=dict)

    @property
    def node_id(self) -> str:
        return self.name + DOMAIN

    def port(self, family: str, addresses: Sequence[str] = ()) -> Tp:
        n = self.used.get(family, 0)
        self.used[family] = n + 1
        tp = Tp(PORTS[family](n), list(addresses))
        self.tps.append(tp)
        return tp


@dataclass
class Link:
    link_id: str
    src: Router
    src_tp: Tp
    dst: Router | None  # None: the far end is in a peer's network
    dst_tp: Tp | None
    bandwidth: str  # bytes per second, decimal or C99 hexadecimal float
    delay_us: int
    srlgs: tuple[int, ...]
    peer: str | None = None
    circuit: str | None = None
    remote: tuple[str, str, str] | None = None  # the peer's router, port and router-id


class Pool:
    """Consecutive blocks of `size` addresses from one prefix."""

    def __init__(self, prefix: str, size: int) -> None:
        self._base = ipaddress.ip_network(prefix).network_address
        self._size = size
        self._taken = 0

    def block(self) -> Callable[[int], str]:
        base = self._base + self._taken * self._size
        self._taken += 1
        return lambda offset: str(base + offset)


@dataclass
class Plan:
    rng: random.Random
    routers: list[Router] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    between: dict[tuple[str, str], Link] = field(default_factory=dict)
    internet_pool: Pool = field(default_factory=lambda: Pool("100.127.0.0/16", 4))
    vpn_pool: Pool = field(default_factory=lambda: Pool("10.200.0.0/16", 4))

    def router(self, name: str) -> Router:
        return next(r for r in self.routers if r.name == name)

    def at(self, code: str, role: str) -> list[Router]:
        return [r for r in self.routers if r.site.code == code and r.role == role]

    def interconnects(self, peer: str) -> list[Link]:
        return [link for link in self.links if link.peer == peer]

    def bandwidth(self, gbps: float) -> str:
        value = gbps * GBPS
        return float.hex(value) if self.rng.random() < 0.35 else str(int(value))

    def connect(
        self,
        a: Router,
        b: Router,
        families: tuple[str, str],
        gbps: float,
        delay_us: int,
        srlgs: tuple[int, ...],
        v4: Pool,
        v6: Pool | None = None,
    ) -> None:
        """Both directions of one internal connection (RFC 8345 links are one-way)."""
        four, six = v4.block(), (v6.block() if v6 else None)
        ta = a.port(families[0], [four(0)] + ([six(1)] if six else []))
        tb = b.port(families[1], [four(1)] + ([six(2)] if six else []))
        bandwidth = self.bandwidth(gbps)
        for x, tx, y, ty in ((a, ta, b, tb), (b, tb, a, ta)):
            link_id = f"{x.name},{tx.tp_id},{y.name},{ty.tp_id}"
            link = Link(link_id, x, tx, y, ty, bandwidth, delay_us, srlgs)
            self.links.append(link)
            self.between[(x.name, y.name)] = link


def _span_delay(rng: random.Random, a: Site, b: Site) -> int:
    """Fibre delay in microseconds: great-circle distance, a route factor, ~5 µs per km."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dl = math.radians(b.lon - a.lon)
    cos = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    km = 6371 * math.acos(min(1.0, cos))
    return max(2000, min(15000, round(km * 1.45 * 4.9 * rng.uniform(0.97, 1.05))))


def _add_routers(plan: Plan) -> None:
    rng = plan.rng
    for idx, site in enumerate(SITES):
        members: list[tuple[str, str, tuple[str, ...]]] = [
            ("p", f"p{i}", ("ptx10008", "core", "sr-mpls")) for i in (1, 2)
        ]
        members += [("pe", f"pe{i}", ("mx10004", "edge")) for i in range(1, rng.randint(5, 6) + 1)]
        needed = max(
            [n for peer in PEERINGS.values() for code, n in peer if code == site.code] or [1]
        )
        asbrs = max(needed, rng.randint(1, 2))
        members += [("asbr", f"asbr{i}", ("mx10008", "border")) for i in range(1, asbrs + 1)]
        if site.code in RR_SITES:
            members.append(("rr", f"rr{RR_SITES.index(site.code) + 1}", ("vrr", "control-plane")))
        for seq, (role, prefix, tags) in enumerate(members, start=1):
            name = f"{prefix}.{site.code}"
            plan.routers.append(Router(name, site, role, f"10.255.{idx}.{seq}", tags))


def _add_internal_links(plan: Plan) -> None:
    rng = plan.rng
    for idx, site in enumerate(SITES):
        local = Pool(f"10.{16 + idx}.0.0/16", 2)
        p1, p2 = plan.at(site.code, "p")
        srlg = 100 * (idx + 1)
        plan.connect(p1, p2, ("bundle", "bundle"), 800, rng.randint(50, 120), (srlg,), local)
        for role, gbps in (("pe", 100.0), ("asbr", 400.0), ("rr", 10.0)):
            for r in plan.at(site.code, role):
                for plane, p in enumerate((p1, p2), start=1):
                    delay = rng.randint(60, 300)
                    plan.connect(r, p, ("core", "core"), gbps, delay, (srlg + plane,), local)
    core4, core6 = Pool("100.64.0.0/16", 2), Pool("2001:db8:100::/48", 1 << 64)
    sites = {s.code: s for s in SITES}
    for n, (a, b) in enumerate(SITE_SPANS, start=1):
        delay = _span_delay(rng, sites[a], sites[b])
        shared_duct = rng.random() < 0.25  # both planes in one duct on part of the route
        for plane in (1, 2):
            srlgs = (1000 + 10 * n,) if shared_duct else (1000 + 10 * n + plane,)
            gbps = rng.choice((100.0, 400.0))
            ra, rb = plan.router(f"p{plane}.{a}"), plan.router(f"p{plane}.{b}")
            plan.connect(ra, rb, ("core", "core"), gbps, delay + 7 * plane, srlgs, core4, core6)


def _add_interconnects(plan: Plan) -> None:
    rng = plan.rng
    v4, v6 = Pool("198.51.100.128/25", 2), Pool("2001:db8:ffff::/48", 1 << 64)
    for peer, places in PEERINGS.items():
        for k, (code, asbr_no) in enumerate(places, start=1):
            asbr = plan.router(f"asbr{asbr_no}.{code}")
            four, six = v4.block(), v6.block()
            asbr.used.setdefault("ext", rng.randint(0, 5))  # ports in use for other peerings
            tp = asbr.port("ext", [four(0), six(1)])
            remote = PEER_SIDE[peer](k)
            circuit = f"{code[:3].upper()}-PNI-{peer.upper()}-{k:02d}"
            srlg = 100 * (SITES.index(asbr.site) + 1) + 9
            link = Link(
                f"{asbr.name},{tp.tp_id},{peer}",
                asbr,
                tp,
                None,
                None,
                plan.bandwidth(rng.choice((100.0, 100.0, 400.0))),
                rng.randint(40, 250),
                (srlg,),
                peer,
                circuit,
                remote,
            )
            plan.links.append(link)


def build_plan(rng: random.Random) -> Plan:
    plan = Plan(rng)
    _add_routers(plan)
    _add_internal_links(plan)
    _add_interconnects(plan)
    return plan


def _node(r: Router) -> Json:
    tps: list[Json] = []
    for tp in r.tps:
        entry: Json = {"tp-id": tp.tp_id}
        if tp.addresses:
            attrs = {"ip-address": list(tp.addresses)}
            entry["ietf-l3-unicast-topology:l3-termination-point-attributes"] = attrs
        tps.append(entry)
    return {
        "node-id": r.node_id,
        "demarc:node-attributes": {"site": r.site.name, "role": r.role, "tags": list(r.tags)},
        "ietf-l3-unicast-topology:l3-node-attributes": {
            "name": r.name,
            "router-id": [r.router_id],
        },
        "ietf-network-topology:termination-point": tps,
    }


def _link(link: Link) -> Json:
    te: Json = {}
    if link.remote is not None:
        node, tp, router_id = link.remote
        te["name"] = link.circuit
        te["external-domain"] = {
            "network-ref": link.peer,
            "remote-te-node-id": router_id,
            "remote-te-link-tp-id": tp,
        }
        dest = {"dest-node": node, "dest-tp": tp}
    else:
        assert link.dst is not None and link.dst_tp is not None
        dest = {"dest-node": link.dst.node_id, "dest-tp": link.dst_tp.tp_id}
    te["max-link-bandwidth"] = {"te-bandwidth": {"generic": link.bandwidth}}
    te["te-delay-metric"] = link.delay_us
    te["te-srlgs"] = {"value": list(link.srlgs)}
    return {
        "link-id": link.link_id,
        "source": {"source-node": link.src.node_id, "source-tp": link.src_tp.tp_id},
        "destination": dest,
        "ietf-te-topology:te": {"te-link-attributes": te},
    }


def render_topology(plan: Plan) -> Json:
    network = {
        "network-id": NETWORK_ID,
        "network-types": {
            "ietf-l3-unicast-topology:l3-unicast-topology": {},
            "ietf-te-topology:te-topology": {},
        },
        "node": [_node(r) for r in plan.routers],
        "ietf-network-topology:link": [_link(link) for link in plan.links],
    }
    return {"ietf-network:networks": {"network": [network]}}
