"""Hypothesis strategies for the leak property test: canary networks and random valid policies.

Every internal string of a generated network is a *canary*: a distinct token ``cnry`` + 10
lower-case letters and digits (always one digit at least, so that it reads as an identifier,
not as an English word), or a distinct random address. The structure of the network (how many
nodes, which links, alarms, windows...) is drawn by Hypothesis and shrinks; the canaries'
spellings come from one drawn seed, as shrinking an opaque token teaches nothing.
"""

from __future__ import annotations

import ipaddress
import json
import random
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import yaml
from hypothesis import strategies as st

from gateway.disclosure import LoadedPolicy, parse_policy
from gateway.disclosure.policy import (
    CustomerMaintenanceRule,
    IncidentRule,
    InterconnectRule,
    PeerAlarmRule,
    PeerMaintenanceRule,
    ServiceRule,
    TopologyMetric,
    TopologyMode,
    allowed_fields,
)
from gateway.model import (
    METRICS,
    Alarm,
    Kind,
    Link,
    LinkKind,
    Maintenance,
    MaintenanceStatus,
    MetricSample,
    Node,
    OperStatus,
    ResourceRef,
    Service,
    Severity,
    SlaTargets,
    Snapshot,
    TerminationPoint,
    Topology,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)

PEERS = ("acme", "globalnet", "northwind")
CUSTOMERS = ("globex", "initech", "umbrella")
OUTSIDER_PEER, OUTSIDER_CUSTOMER = "nobody-peer", "nobody-cust"  # audiences with nothing
ROLES = ("pe", "p", "rr", "agg", "border")  # classification words, not identifiers
TAGS = ("metro", "pni", "ixp", "lab", "dc")
CAUSES = ("loss-of-signal", "link-down", "high-ber", "power-problem", None)
WORDS = ("link", "flap", "observed", "optic", "swap", "near", "replace", "card", "reboot")
TEMPLATE_WORDS = ("Alarm", "on", "circuit", "state", "affecting", "Planned", "work", "-", ":")

CANARY_PREFIX = "cnry"
_ALNUM = string.ascii_lowercase + string.digits
_V4_NETS = tuple(
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "198.18.0.0/15", "203.0.113.0/24")
)


class C:
    """Canary classes: what kind of internal field a canary stands in."""

    NETWORK_ID = "network_id"
    NODE_ID = "node_id"
    NODE_NAME = "node_name"
    SITE = "site"
    TP_ID = "tp_id"
    TP_NAME = "tp_name"
    ADDRESS = "address"  # TP addresses, router ids, instance addresses, remote nodes
    LINK_ID = "link_id"
    LINK_NAME = "link_name"  # internal te-link names
    CIRCUIT = "circuit"  # an interconnect's te-link name: the circuit id agreed with the peer
    FAR_END = "far_end"  # remote_node / remote_tp / dest ids of an interconnect: the peer's ids
    CPE = "cpe"  # dest ids of an access link: the customer's equipment
    SERVICE_ID = "service_id"
    SERVICE_NAME = "service_name"
    ALARM_ID = "alarm_id"
    ALARM_TEXT = "alarm_text"
    LABEL_VALUE = "label_value"
    INSTANCE_HOST = "instance_host"  # the host of an Alertmanager ``instance`` host:port label
    URL_HOST = "url_host"  # the first label of a host in an annotation URL label
    MAINTENANCE_ID = "maintenance_id"
    MAINTENANCE_TEXT = "maintenance_text"


@dataclass(frozen=True, slots=True)
class Canary:
    value: str  # the token, or the address in its compressed form
    cls: str
    owner: str | None = None  # the peer or customer it belongs to, if any

    @property
    def is_address(self) -> bool:
        return not self.value.startswith(CANARY_PREFIX)

    def forms(self) -> tuple[str, ...]:
        """How it may be spelled: a token as is; an address compressed and exploded."""
        if not self.is_address:
            return (self.value,)
        ip = ipaddress.ip_address(self.value)
        return tuple(dict.fromkeys((str(ip), ip.exploded)))


@dataclass
class Network:
    """A snapshot whose internal strings are canaries, and where each canary sits."""

    snapshot: Snapshot
    canaries: dict[str, Canary]
    peers: tuple[str, ...]
    customers: tuple[str, ...]
    circuits: dict[str, set[str]] = field(default_factory=dict)  # peer -> circuit canaries
    far_ends: dict[str, set[str]] = field(default_factory=dict)  # peer -> its own ids
    service_ids: dict[str, set[str]] = field(default_factory=dict)  # customer -> canaries
    service_names: dict[str, set[str]] = field(default_factory=dict)
    alarm_ids: dict[str, str] = field(default_factory=dict)  # alarm id -> its id canary
    alarm_texts: dict[str, str] = field(default_factory=dict)  # alarm id -> its text canary
    mw_ids: dict[str, str] = field(default_factory=dict)
    mw_texts: dict[str, str] = field(default_factory=dict)


class _Mint:
    """Distinct canaries from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.canaries: dict[str, Canary] = {}

    def token(self, cls: str, owner: str | None = None) -> str:
        while True:
            body = [self.rng.choice(_ALNUM) for _ in range(10)]
            body[self.rng.randrange(10)] = self.rng.choice(string.digits)
            value = CANARY_PREFIX + "".join(body)
            if value not in self.canaries:
                self.canaries[value] = Canary(value, cls, owner)
                return value

    def address(self, owner: str | None = None, *, v6: bool | None = None) -> str:
        rng = self.rng
        while True:
            if v6 is None:
                v6 = rng.random() < 0.4
            if v6:
                groups = [rng.getrandbits(16) if rng.random() < 0.7 else 0 for _ in range(8)]
                if rng.random() < 0.5:  # 2001:db8::/32
                    groups[:2] = [0x2001, 0x0DB8]
                else:  # fd00::/8
                    groups[0] = 0xFD00 | (groups[0] & 0xFF)
                ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv6Address(
                    sum(g << (16 * (7 - i)) for i, g in enumerate(groups))
                )
            else:
                net = rng.choice(_V4_NETS)
                ip = net[rng.randrange(1, net.num_addresses - 1)]
            value = str(ip)
            if value not in self.canaries:
                self.canaries[value] = Canary(value, C.ADDRESS, owner)
                return value

    def text(self, cls: str) -> tuple[str, str]:
        """Free text around one canary: (the text, its canary)."""
        canary = self.token(cls)
        words = self.rng.sample(WORDS, 3)
        return f"{words[0]} {canary} {words[1]} {words[2]}", canary


_STATUS = st.sampled_from([OperStatus.UP, OperStatus.UP, OperStatus.DOWN, OperStatus.UNKNOWN])
_CAPACITY = st.sampled_from([None, 1e9, 10e9, 100e9, 400e9])
_DELAY = st.none() | st.integers(1, 20_000)
_SRLGS = st.lists(st.integers(1, 60), max_size=3, unique=True).map(tuple)


@st.composite
def networks(draw: st.DrawFn, *, rich_labels: bool = False) -> Network:
    """``rich_labels``: the first alarm is an Alertmanager one with every kind of label."""
    mint = _Mint(draw(st.integers(0, 2**32 - 1)))
    sites = [mint.token(C.SITE) for _ in range(draw(st.integers(1, 4)))]

    # nodes and their termination points
    nodes: list[Node] = []
    for _ in range(draw(st.integers(3, 25))):
        tps = []
        for _ in range(draw(st.integers(1, 4))):
            addresses = []
            for _ in range(draw(st.integers(0, 2))):
                address = mint.address()
                if draw(st.booleans()):  # as sources send it: with its prefix length
                    address += "/64" if ":" in address else f"/{draw(st.integers(24, 31))}"
                addresses.append(address)
            tps.append(
                TerminationPoint(
                    mint.token(C.TP_ID),
                    name=mint.token(C.TP_NAME) if draw(st.booleans()) else None,
                    addresses=tuple(addresses),
                    oper_status=draw(_STATUS),
                )
            )
        nodes.append(
            Node(
                mint.token(C.NODE_ID),
                name=mint.token(C.NODE_NAME) if draw(st.booleans()) else None,
                router_ids=tuple(mint.address() for _ in range(draw(st.integers(0, 2)))),
                site=draw(st.sampled_from([None, *sites])),
                role=draw(st.sampled_from([None, *ROLES])),
                tags=tuple(draw(st.lists(st.sampled_from(TAGS), max_size=2, unique=True))),
                tps=tuple(tps),
            )
        )

    def tp_of(node: int, tp: int) -> tuple[str, str]:
        n = nodes[node % len(nodes)]
        return n.node_id, n.tps[tp % len(n.tps)].tp_id

    node_index = st.integers(0, len(nodes) - 1)
    tp_index = st.integers(0, 3)
    links: list[Link] = []
    for _ in range(draw(st.integers(0, 2 * len(nodes)))):
        (sn, stp), (dn, dtp) = (
            tp_of(draw(node_index), draw(tp_index)),
            tp_of(draw(node_index), draw(tp_index)),
        )
        links.append(
            Link(
                mint.token(C.LINK_ID),
                sn,
                stp,
                dn,
                dtp,
                name=mint.token(C.LINK_NAME) if draw(st.booleans()) else None,
                capacity_bps=draw(_CAPACITY),
                delay_us=draw(_DELAY),
                srlgs=draw(_SRLGS),
                oper_status=draw(_STATUS),
            )
        )

    # peers and their interconnects (te-link name = circuit id; remote ids = the peer's own)
    peers = PEERS[: draw(st.integers(1, 3))]
    circuits: dict[str, set[str]] = {}
    far_ends: dict[str, set[str]] = {}
    interconnects: list[Link] = []
    for peer in peers:
        circuits[peer], far_ends[peer] = set(), set()
        for _ in range(draw(st.integers(1, 4))):
            sn, stp = tp_of(draw(node_index), draw(tp_index))
            name = mint.token(C.CIRCUIT, peer) if draw(st.integers(0, 3)) else None
            remote_node = draw(st.sampled_from(["token", "address", None]))
            remote_node = (
                mint.token(C.FAR_END, peer)
                if remote_node == "token"
                else mint.address(peer)
                if remote_node == "address"
                else None
            )
            remote_tp = mint.token(C.FAR_END, peer) if draw(st.booleans()) else None
            dest = (mint.token(C.FAR_END, peer), mint.token(C.FAR_END, peer))
            link = Link(
                mint.token(C.LINK_ID),
                sn,
                stp,
                *dest,
                kind=LinkKind.INTERCONNECT,
                name=name,
                peer=peer,
                remote_node=remote_node,
                remote_tp=remote_tp,
                capacity_bps=draw(_CAPACITY),
                delay_us=draw(_DELAY),
                srlgs=draw(_SRLGS),
                oper_status=draw(_STATUS),
            )
            interconnects.append(link)
            circuits[peer] |= {name} if name else set()
            far_ends[peer] |= {v for v in (remote_node, remote_tp, *dest) if v}

    # customers, their services, and access links to their equipment
    customers = CUSTOMERS[: draw(st.integers(1, 3))]
    services: list[Service] = []
    service_ids: dict[str, set[str]] = {}
    service_names: dict[str, set[str]] = {}
    access: list[Link] = []
    all_links = [*links, *interconnects]
    for customer in customers:
        service_ids[customer], service_names[customer] = set(), set()
        for _ in range(draw(st.integers(1, 3))):
            endpoints = [
                ResourceRef(*tp_of(draw(node_index), draw(tp_index)))
                for _ in range(draw(st.integers(1, 2)))
            ]
            resources: list[ResourceRef] = []
            for _ in range(draw(st.integers(0, 3))):
                on_link: bool = draw(st.booleans())
                if all_links and on_link:
                    link = all_links[draw(st.integers(0, len(all_links) - 1))]
                    resources.append(ResourceRef(link=link.link_id))
                else:
                    resources.append(ResourceRef(node=nodes[draw(node_index)].node_id))
            sid = mint.token(C.SERVICE_ID, customer)
            name = mint.token(C.SERVICE_NAME, customer) if draw(st.booleans()) else None
            service_ids[customer].add(sid)
            service_names[customer] |= {name} if name else set()
            services.append(
                Service(
                    sid,
                    customer,
                    name=name,
                    service_type=draw(st.sampled_from([None, "l3vpn", "l2vpn", "internet"])),
                    endpoints=tuple(endpoints),
                    resources=tuple(resources),
                    sla=SlaTargets(availability_pct=draw(st.sampled_from([None, 99.9, 99.99]))),
                    bandwidth_mbps=draw(st.sampled_from([None, 100.0, 1000.0])),
                )
            )
            for ep in endpoints:
                if draw(st.booleans()):
                    assert ep.node is not None and ep.tp is not None
                    access.append(
                        Link(
                            mint.token(C.LINK_ID),
                            ep.node,
                            ep.tp,
                            mint.token(C.CPE, customer),
                            mint.token(C.CPE, customer),
                            kind=LinkKind.ACCESS,
                            customer=customer,
                            oper_status=draw(_STATUS),
                        )
                    )

    topology = Topology(mint.token(C.NETWORK_ID), tuple(nodes), (*links, *interconnects, *access))

    # resources alarms, metrics and windows may be on: interconnects first, so that shrinking
    # keeps rows in some audience's scope
    refs: list[ResourceRef] = []
    for link in interconnects:
        refs += [
            ResourceRef(link=link.link_id),
            ResourceRef(node=link.source_node, tp=link.source_tp),
        ]
    for service in services:
        refs += [ResourceRef(service=service.service_id), *service.endpoints, *service.resources]
    refs += [ResourceRef(link=link.link_id) for link in (*links, *access)]
    refs += [ResourceRef(node=n.node_id) for n in nodes]
    refs += [ResourceRef(node=n.node_id, tp=tp.tp_id) for n in nodes for tp in n.tps]
    ref = st.sampled_from(refs)

    alarms: dict[str, Alarm] = {}
    alarm_ids: dict[str, str] = {}
    alarm_texts: dict[str, str] = {}
    for index in range(draw(st.integers(1 if rich_labels else 0, 12))):
        rich = rich_labels and index == 0
        resource = draw(st.none() | ref) if draw(st.integers(0, 9)) == 0 else draw(ref)
        severity = draw(st.sampled_from(list(Severity)))
        raised = NOW - draw(st.integers(0, 200)) * H / 4
        cleared = None if draw(st.integers(0, 2)) else raised + draw(st.integers(0, 100)) * H / 4
        if cleared is not None and cleared > NOW:
            cleared = NOW
        text, text_canary = mint.text(C.ALARM_TEXT) if draw(st.integers(0, 4)) else (None, None)
        cause = draw(st.sampled_from(CAUSES))
        if rich or draw(
            st.booleans()
        ):  # Alertmanager: am-<fingerprint>, labels kept for the record
            fingerprint = mint.token(C.ALARM_ID)
            alarm_id = f"am-{fingerprint}"
            labels = _labels(draw, mint, resource, severity, cause, rich=rich)
            source = "alertmanager"
        else:
            fingerprint = alarm_id = mint.token(C.ALARM_ID)
            labels, source = (), "native"
        alarm_ids[alarm_id] = fingerprint
        if text_canary:
            alarm_texts[alarm_id] = text_canary
        alarms[alarm_id] = Alarm(
            alarm_id,
            resource,
            severity,
            raised,
            probable_cause=cause,
            specific_problem=draw(st.sampled_from([None, cause])),
            cleared_at=cleared,
            text=text,
            source=source,
            labels=labels,
        )

    metrics: dict[tuple[ResourceRef, str], MetricSample] = {}
    for _ in range(draw(st.integers(0, 15))):
        target, metric = draw(ref), draw(st.sampled_from(sorted(METRICS)))
        value = draw(st.floats(0, 100, allow_nan=False, allow_infinity=False))
        metrics[(target, metric)] = MetricSample(target, metric, value, NOW - H / 60)

    windows: dict[str, Maintenance] = {}
    mw_ids: dict[str, str] = {}
    mw_texts: dict[str, str] = {}
    for _ in range(draw(st.integers(0, 6))):
        mid = mint.token(C.MAINTENANCE_ID)
        start = NOW + draw(st.integers(-48, 48)) * H
        description, canary = (
            mint.text(C.MAINTENANCE_TEXT) if draw(st.integers(0, 4)) else (None, None)
        )
        mw_ids[mid] = mid
        if canary:
            mw_texts[mid] = canary
        windows[mid] = Maintenance(
            mid,
            tuple(draw(st.lists(ref, min_size=1, max_size=3, unique=True))),
            start,
            start + draw(st.integers(1, 12)) * H,
            status=draw(st.sampled_from(list(MaintenanceStatus))),
            description=description,
        )

    for site in sites:  # a site no node is at is in no snapshot: no canary
        if not any(n.site == site for n in nodes):
            del mint.canaries[site]
    snapshot = Snapshot(
        revision=1,
        topology=topology,
        services={s.service_id: s for s in services},
        alarms=alarms,
        metrics=metrics,
        maintenance=windows,
        kind_revisions={kind.value: 1 for kind in Kind},
    )
    return Network(
        snapshot,
        mint.canaries,
        peers,
        customers,
        circuits,
        far_ends,
        service_ids,
        service_names,
        alarm_ids,
        alarm_texts,
        mw_ids,
        mw_texts,
    )


def _labels(
    draw: st.DrawFn,
    mint: _Mint,
    resource: ResourceRef | None,
    severity: Severity,
    cause: str | None,
    *,
    rich: bool = False,
) -> tuple[tuple[str, str], ...]:
    """Alertmanager-like labels: the resource's ids, an ``instance`` host:port, free values."""
    labels: dict[str, str] = {"alertname": cause or "Unknown", "severity": severity.value}
    labels["job"] = draw(st.sampled_from(["snmp", "blackbox", "node"]))
    if resource is not None:
        for key, value in (
            ("node", resource.node),
            ("interface", resource.tp),
            ("link", resource.link),
            ("service", resource.service),
        ):
            if value:
                labels[key] = value
    port = draw(st.sampled_from([9100, 9116, 161]))
    match "host" if rich else draw(st.sampled_from(["host", "v4", "v6", None])):
        case "host":
            labels["instance"] = f"{mint.token(C.INSTANCE_HOST)}:{port}"
        case "v4":
            labels["instance"] = f"{mint.address(v6=False)}:{port}"
        case "v6":
            labels["instance"] = f"[{mint.address(v6=True)}]:{port}"
    for key in draw(st.lists(st.sampled_from(["cluster", "device", "rack"]), unique=True)):
        labels[key] = mint.token(C.LABEL_VALUE)
    if rich or draw(st.booleans()):
        labels["runbook_url"] = f"https://{mint.token(C.URL_HOST)}.example.net/runbooks/x"
    return tuple(sorted(labels.items()))


# -- policies ------------------------------------------------------------------------------


def _fields(draw: st.DrawFn, model: Any) -> list[str]:
    return draw(st.lists(st.sampled_from(allowed_fields(model)), min_size=1, unique=True))


def _text_rule(draw: st.DrawFn, fields: list[str]) -> Any:
    """drop, keep or a template over published fields; valid for ``fields`` by construction."""
    choices = ["keep", "template"] if "text" in fields else ["omit", "drop", "keep", "template"]
    choice = draw(st.sampled_from(choices))
    if choice != "template":
        return choice
    usable = [f for f in fields if f != "text"]
    parts = draw(
        st.lists(
            st.sampled_from(TEMPLATE_WORDS) | st.sampled_from(usable).map(lambda f: f"{{{f}}}")
            if usable
            else st.sampled_from(TEMPLATE_WORDS),
            min_size=1,
            max_size=6,
        )
    )
    return {"template": " ".join(parts)}


def _rule(draw: st.DrawFn, model: Any, *, timed: bool, text: bool, history: bool,
          written: bool = False) -> dict[str, Any]:  # fmt: skip
    fields = _fields(draw, model)
    rule: dict[str, Any] = {"fields": fields}
    identifiers = draw(st.sampled_from(["omit", "pseudonym", "shared"]))
    if identifiers != "omit":
        rule["identifiers"] = identifiers
    if timed and draw(st.booleans()):
        rule["time_precision"] = draw(st.sampled_from(["second", "minute", "hour"]))
    if history and draw(st.booleans()):
        rule["history_hours"] = draw(st.sampled_from([0, 1, 4, 24, 168, 720]))
    if text:
        text_rule = _text_rule(draw, fields)
        if text_rule != "omit":
            rule["text"] = text_rule
    if written and (choice := draw(st.sampled_from(["omit", "drop", "keep"]))) != "omit":
        rule["written"] = choice  # text staff and sources wrote for customers
    return rule


def _parsed(doc: dict[str, Any]) -> LoadedPolicy:
    text = yaml.safe_dump(doc, sort_keys=False)
    return parse_policy(text, "<leak-property>")  # raises if the generator made an invalid one


@st.composite
def peer_policies(draw: st.DrawFn, audience: str) -> LoadedPolicy:
    disclose: dict[str, Any] = {}
    if draw(st.integers(0, 4)):
        mode: TopologyMode = draw(
            st.sampled_from(["none", "interconnect", "abstract", "single-node", "filtered"])
        )
        topo: dict[str, Any] = {"expose": mode}
        identifiers = draw(st.sampled_from(["omit", "pseudonym", "shared"]))
        if identifiers != "omit":
            topo["identifiers"] = identifiers
        metrics: list[TopologyMetric] = draw(
            st.lists(
                st.sampled_from(["delay_ms", "available_bandwidth_mbps", "srlgs"]), unique=True
            )
        )
        if metrics:
            topo["metrics"] = metrics
        if mode == "filtered":
            tags = draw(st.lists(st.sampled_from((*TAGS, "absent-tag")), unique=True))
            roles = draw(
                st.lists(
                    st.sampled_from((*ROLES, "absent-role")), min_size=0 if tags else 1, unique=True
                )
            )
            topo["filter"] = {k: v for k, v in (("tags", tags), ("roles", roles)) if v}
        disclose["topology"] = topo
    if draw(st.integers(0, 4)):
        ic = _rule(draw, InterconnectRule, timed=False, text=False, history=False)
        numeric = ["capacity_mbps", "utilisation_pct", "delay_ms", "loss_pct"]
        rounding = draw(st.dictionaries(st.sampled_from(numeric), st.integers(0, 6)))
        if rounding:
            ic["round"] = rounding
        disclose["interconnect"] = ic
    if draw(st.integers(0, 4)):
        disclose["alarm"] = _rule(draw, PeerAlarmRule, timed=True, text=True, history=True)
    if draw(st.integers(0, 4)):
        disclose["maintenance"] = _rule(
            draw, PeerMaintenanceRule, timed=True, text=True, history=False
        )
    return _parsed({"audience": audience, "disclose": disclose})


@st.composite
def customer_policies(draw: st.DrawFn, audience: str) -> LoadedPolicy:
    disclose: dict[str, Any] = {}
    if draw(st.integers(0, 4)):
        disclose["service"] = _rule(draw, ServiceRule, timed=False, text=False, history=False)
    if draw(st.integers(0, 4)):
        disclose["incident"] = _rule(
            draw, IncidentRule, timed=True, text=True, history=True, written=True
        )
    if draw(st.integers(0, 4)):
        disclose["maintenance"] = _rule(
            draw, CustomerMaintenanceRule, timed=True, text=True, history=True, written=True
        )
    return _parsed({"audience": audience, "disclose": disclose})


class Case:
    """One network and, per audience, the policy that serves it.

    Not a dataclass: Hypothesis prints those field by field, and a failing example's network
    would be tens of kB of text; this repr is the snapshot as compact JSON (a summary when
    that is still too long) and each policy as the YAML it was parsed from, on one line.
    """

    __slots__ = ("audiences", "network")

    def __init__(self, network: Network, audiences: tuple[tuple[str, LoadedPolicy], ...]) -> None:
        self.network = network
        self.audiences = audiences

    def __repr__(self) -> str:
        snap = self.network.snapshot
        full = msgspec.json.encode(
            {
                "topology": snap.topology,
                "services": list(snap.services.values()),
                "alarms": list(snap.alarms.values()),
                "maintenance": list(snap.maintenance.values()),
                "metrics": list(snap.metrics.values()),
            }
        ).decode()
        if len(full) > 12_000:
            topo = snap.topology
            full = (
                f"<{len(topo.nodes)} nodes, {len(topo.links)} links, {len(snap.services)} "
                f"services, {len(snap.alarms)} alarms, {len(snap.maintenance)} windows>"
            )
        policies = {a: yaml.safe_load(p.text) for a, p in self.audiences}
        return f"Case(network={full}, policies={json.dumps(policies)})"


@st.composite
def cases(draw: st.DrawFn, *, rich_labels: bool = False) -> Case:
    network = draw(networks(rich_labels=rich_labels))
    audiences: list[tuple[str, LoadedPolicy]] = []
    for peer in (*network.peers, OUTSIDER_PEER):
        audience = f"peer/{peer}"
        audiences.append((audience, draw(peer_policies(audience))))
    for customer in (*network.customers, OUTSIDER_CUSTOMER):
        audience = f"customer/{customer}"
        # the catch-all policy serves a customer as its own does
        policy_audience = draw(st.sampled_from([audience, "customer/*"]))
        audiences.append((audience, draw(customer_policies(policy_audience))))
    return Case(network, tuple(audiences))
