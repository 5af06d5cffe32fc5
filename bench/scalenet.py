"""A deterministic operator network of any size, in the formats sources send (RFC 8345, native)."""

# Nodes sit on a ring with chords (about three links each, both directions), spread over sites;
# every peer has interconnects on border nodes (RFC 8795 external-domain), every customer has
# services whose endpoints are access ports on edge nodes, and alarms are spread over nodes,
# ports, links and interconnects, a fifth of them cleared. The same seed gives the same network;
# timestamps are relative to ``now``.

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

Json = dict[str, Any]
NETWORK_ID = "scale-core"
CAUSES = ("loss-of-signal", "link-down", "high-ber", "power-problem", "equipment-failure")
SEVERITIES = ("critical", "major", "minor", "warning")


def rfc3339(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Network:
    topology: Json
    services: list[Json]
    alarms: list[Json]
    peers: list[str]
    customers: list[str]
    interconnects: dict[str, list[str]]  # peer → the link ids of its interconnects
    resources: list[Json] = field(default_factory=list)  # what new alarms may be raised on


def _address(i: int, offset: int) -> str:
    return f"10.{(i >> 8) & 0xFF}.{i & 0xFF}.{offset}"


def generate(nodes: int, services: int, alarms: int, customers: int, peers: int, *,
             now: datetime, seed: int = 10) -> Network:  # fmt: skip
    rng = random.Random(seed)
    sites = [f"s{k:03d}" for k in range(max(4, nodes // 50))]
    names = [f"{'p' if i % 10 == 0 else 'pe'}{i}.{sites[i % len(sites)]}.core.example.net"
             for i in range(nodes)]  # fmt: skip
    node_docs: list[Json] = []
    tps: list[list[Json]] = [[] for _ in range(nodes)]
    links: list[Json] = []
    ports = [0] * nodes

    def port(i: int, prefix: str, address: str | None = None) -> str:
        ports[i] += 1
        tp_id = f"{prefix}{ports[i]}"
        entry: Json = {"tp-id": tp_id}
        if address is not None:
            attrs = {"ip-address": [address]}
            entry["ietf-l3-unicast-topology:l3-termination-point-attributes"] = attrs
        tps[i].append(entry)
        return tp_id

    def te(bandwidth_gbps: int, delay_us: int, srlg: int) -> Json:
        return {
            "max-link-bandwidth": {"te-bandwidth": {"generic": str(bandwidth_gbps * 125_000_000)}},
            "te-delay-metric": delay_us,
            "te-srlgs": {"value": [srlg]},
        }

    edges = {(i, (i + 1) % nodes) for i in range(nodes)}
    edges |= {(i, (i * 7 + 13) % nodes) for i in range(0, nodes, 2)}
    for a, b in sorted(e for e in edges if e[0] != e[1]):
        ta, tb = port(a, "et-"), port(b, "et-")
        attrs = te(rng.choice((100, 400)), rng.randint(50, 4000), 1000 + a % 97)
        for (x, tx), (y, ty) in (((a, ta), (b, tb)), ((b, tb), (a, ta))):
            links.append({
                "link-id": f"{names[x]},{tx},{names[y]},{ty}",
                "source": {"source-node": f"nd{x:06d}", "source-tp": tx},
                "destination": {"dest-node": f"nd{y:06d}", "dest-tp": ty},
                "ietf-te-topology:te": {"te-link-attributes": dict(attrs)},
            })  # fmt: skip
    peer_names = [f"peer{k:02d}" for k in range(peers)]
    interconnects: dict[str, list[str]] = {}
    per_peer = max(2, nodes // 500)
    for k, peer in enumerate(peer_names):
        interconnects[peer] = []
        for j in range(per_peer):
            border = (k * per_peer + j) * 3 % nodes
            tp = port(border, "ext-", f"198.18.{k}.{2 * j}")
            link_id = f"{names[border]},{tp},{peer}"
            attrs = te(100, rng.randint(40, 250), 9000 + k)
            attrs["name"] = f"PNI-{peer.upper()}-{j:03d}"
            attrs["external-domain"] = {
                "network-ref": peer,
                "remote-te-node-id": f"192.0.2.{j % 250}",
                "remote-te-link-tp-id": f"xe-0/0/{j}",
            }
            links.append({
                "link-id": link_id,
                "source": {"source-node": f"nd{border:06d}", "source-tp": tp},
                "destination": {"dest-node": f"{peer}-r{j}", "dest-tp": f"xe-0/0/{j}"},
                "ietf-te-topology:te": {"te-link-attributes": attrs},
            })  # fmt: skip
            interconnects[peer].append(link_id)
    customer_names = [f"cust{c:04d}" for c in range(customers)]
    service_docs: list[Json] = []
    resources: list[Json] = []
    for s in range(services):
        edge = (s * 31 + 1) % nodes
        tp = port(edge, "ge-", _address(s, 200) if s % 2 else None)
        node_id = f"nd{edge:06d}"
        service_docs.append({
            "id": f"SVC-{s:06d}",
            "customer": customer_names[s % customers],
            "name": f"Service {s} ({['internet', 'e-line', 'l3vpn'][s % 3]})",
            "type": ["internet", "e-line", "l3vpn"][s % 3],
            "endpoints": [{"node": node_id, "tp": tp}],
            "resources": [{"node": node_id}, {"node": node_id, "tp": tp}],
            "sla": {"availability_pct": 99.9, "max_delay_ms": 30.0},
            "bandwidth_mbps": float(rng.choice((100, 1000, 10000))),
        })  # fmt: skip
        resources.append({"node": node_id, "tp": tp})
    for i in range(nodes):
        node_docs.append({
            "node-id": f"nd{i:06d}",
            "demarc:node-attributes": {"site": sites[i % len(sites)],
                                       "role": "p" if i % 10 == 0 else "pe", "tags": []},
            "ietf-l3-unicast-topology:l3-node-attributes": {
                "name": names[i], "router-id": [_address(i, 1)]},
            "ietf-network-topology:termination-point": tps[i],
        })  # fmt: skip
    resources += [{"node": f"nd{i:06d}"} for i in range(0, nodes, 3)]
    resources += [{"link": link_id} for ids in interconnects.values() for link_id in ids]
    resources += [{"link": link["link-id"]} for link in links[: 2 * nodes : 5]]
    alarm_docs = [_alarm(rng, f"NMS-{a:07d}", rng.choice(resources), now, cleared=a % 5 == 4)
                  for a in range(alarms)]  # fmt: skip
    network = {
        "network-id": NETWORK_ID,
        "network-types": {
            "ietf-l3-unicast-topology:l3-unicast-topology": {},
            "ietf-te-topology:te-topology": {},
        },
        "node": node_docs,
        "ietf-network-topology:link": links,
    }
    return Network(
        {"ietf-network:networks": {"network": [network]}},
        service_docs, alarm_docs, peer_names, customer_names, interconnects, resources,
    )  # fmt: skip


def _alarm(rng: random.Random, alarm_id: str, resource: Json, now: datetime, *,
           cleared: bool) -> Json:  # fmt: skip
    raised = now - timedelta(minutes=rng.randint(40, 600))
    return {
        "cleared_at": rfc3339(raised + timedelta(minutes=30)) if cleared else None,
        "id": alarm_id,
        "resource": resource,
        "severity": rng.choice(SEVERITIES),
        "raised_at": rfc3339(raised),
        "probable_cause": rng.choice(CAUSES),
        "specific_problem": "threshold crossed",
        "text": f"{alarm_id} raised by the NMS",
    }


def new_alarm(alarm_id: str, resource: Json, at: datetime) -> Json:
    """One alarm raised now, as a source sends it during the measurements."""
    return {
        "id": alarm_id,
        "resource": resource,
        "severity": "major",
        "raised_at": rfc3339(at),
        "probable_cause": "link-down",
        "text": f"{alarm_id} raised during the benchmark",
    }
