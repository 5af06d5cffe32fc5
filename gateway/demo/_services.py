"""The demo customers' services, attached to access ports on the demo network's PE routers."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from itertools import pairwise

from gateway.demo._plan import SITE_SPANS, SITES, Json, Plan, Router, Tp

CUSTOMERS = (
    ("globex", "Globex"),
    ("initech", "Initech"),
    ("umbrella", "Umbrella"),
    ("hooli", "Hooli"),
    ("stark", "Stark Industries"),
    ("wayne", "Wayne Enterprises"),
)
LOCATIONS = ("HQ", "Branch", "DC1", "DC2", "Lab", "Warehouse", "Campus", "Plant", "Office")
PURPOSES = ("Corporate", "Payments", "Voice", "Backup", "SCADA", "Retail", "Guest")
TYPES = ("internet", "l3vpn", "e-line")
BANDWIDTHS = {
    "internet": (100, 500, 1000, 10000),
    "l3vpn": (50, 100, 200, 1000),
    "e-line": (1000, 10000, 20000),
}
GROUPS = {"internet": "Internet access", "l3vpn": "Private network", "e-line": "Site links"}
SLAS = {
    "internet": {"availability_pct": 99.95, "max_delay_ms": 30, "max_loss_pct": 0.1},
    "l3vpn": {"availability_pct": 99.99, "max_delay_ms": 25, "max_loss_pct": 0.05},
    "e-line": {"availability_pct": 99.99, "max_delay_ms": 15, "max_loss_pct": 0.01},
}


@dataclass(frozen=True)
class Service:
    service_id: str
    customer: str
    name: str
    kind: str
    access: tuple[tuple[Router, Tp], ...]  # (PE, access port) per endpoint
    doc: Json

    @property
    def pes(self) -> tuple[Router, ...]:
        return tuple(pe for pe, _ in self.access)


def _label(mbps: int) -> str:
    return f"{mbps // 1000}G" if mbps >= 1000 else f"{mbps}M"


def site_path(a: str, b: str) -> list[str]:
    """The site codes on a shortest path (in hops) from site `a` to site `b`."""
    came_from: dict[str, str] = {a: a}
    queue = deque([a])
    while queue:
        here = queue.popleft()
        for x, y in SITE_SPANS:
            for there in (y,) if x == here else (x,) if y == here else ():
                if there not in came_from:
                    came_from[there] = here
                    queue.append(there)
    path = [b]
    while path[-1] != a:
        path.append(came_from[path[-1]])
    return path[::-1]


def _attach(plan: Plan, pe: Router, kind: str, mbps: int) -> Tp:
    family = "ge" if mbps <= 1000 else "xe" if mbps <= 10000 else "lag"
    if kind == "internet":
        return pe.port(family, [plan.internet_pool.block()(1)])
    if kind == "l3vpn":
        return pe.port(family, [plan.vpn_pool.block()(1)])
    return pe.port(family)  # an e-line is layer 2: no address on the port


def _resources(plan: Plan, access: tuple[tuple[Router, Tp], ...]) -> list[Json]:
    refs: list[Json] = []
    for pe, tp in access:
        refs += [{"node": pe.node_id}, {"node": pe.node_id, "tp": tp.tp_id}]
    for pe, _ in access:
        for p in plan.at(pe.site.code, "p"):
            refs += [
                {"link": plan.between[pair].link_id}
                for pair in ((pe.name, p.name), (p.name, pe.name))
            ]
    hub = access[0][0].site.code
    for pe, _ in access[1:]:
        path = site_path(hub, pe.site.code)
        for a, b in pairwise(path):
            for plane in ("p1", "p2"):
                ra, rb = f"{plane}.{a}", f"{plane}.{b}"
                refs += [
                    {"link": plan.between[(ra, rb)].link_id},
                    {"link": plan.between[(rb, ra)].link_id},
                ]
    unique: list[Json] = []
    for ref in refs:
        if ref not in unique:
            unique.append(ref)
    return unique


def build_services(plan: Plan) -> list[Service]:
    rng = plan.rng
    services: list[Service] = []
    for customer, display in CUSTOMERS:
        locations, purposes = rng.sample(LOCATIONS, 8), rng.sample(PURPOSES, 4)
        for n in range(1, rng.randint(1, 4) + 1):
            first_globex = customer == "globex" and n == 1
            kind = "internet" if first_globex else rng.choice(TYPES)
            mbps = 1000 if first_globex else rng.choice(BANDWIDTHS[kind])
            count = {"internet": 1, "e-line": 2, "l3vpn": rng.randint(2, 4)}[kind]
            sites = rng.sample([s.code for s in SITES], count)
            access = tuple(
                (pe, _attach(plan, pe, kind, mbps))
                for pe in (rng.choice(plan.at(code, "pe")) for code in sites)
            )
            if kind == "internet":
                name = f"{display} {locations.pop(0)} Internet {_label(mbps)}"
            elif kind == "l3vpn":
                name = f"{display} {purposes.pop(0)} VPN"
            else:
                name = f"{display} {locations.pop(0)}-{locations.pop(0)} E-Line {_label(mbps)}"
            service_id = f"SVC-{customer.upper()}-{n:04d}"
            doc: Json = {
                "id": service_id,
                "customer": customer,
                "name": name,
                "type": kind,
                "endpoints": [{"node": pe.node_id, "tp": tp.tp_id} for pe, tp in access],
                "resources": _resources(plan, access),
                "sla": dict(SLAS[kind]),
                "bandwidth_mbps": mbps,
                "group": GROUPS[kind],  # the customer's own grouping: by product
            }
            services.append(Service(service_id, customer, name, kind, access, doc))
    return services
