"""RFC 8345 network topology JSON, with RFC 8346 L3 and RFC 8795 TE attributes, as a topology."""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from gateway.errors import Problem, json_path
from gateway.ingest._validation import MAX_ITEMS, Id, Loc, check, duplicates, validate
from gateway.model import (
    Link,
    LinkKind,
    Node,
    OperStatus,
    ReplaceTopology,
    TerminationPoint,
    Topology,
)

# re.ASCII: \d would otherwise match any script's digits, which float() also accepts
_DECIMAL = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_HEX_FLOAT = re.compile(
    r"0[xX](?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)?|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?", re.ASCII
)


def parse_te_bandwidth(value: object) -> float:
    """An RFC 8795 te-bandwidth (bytes per second): a decimal or a C99 hexadecimal float."""
    expected = 'expected bytes per second as a decimal ("1250000000") or hex float ("0x1.2ap+33")'
    if not isinstance(value, str):
        raise ValueError(f"te-bandwidth is a string in YANG JSON; {expected}")
    try:
        if _DECIMAL.fullmatch(value):
            parsed = float(value)
        elif _HEX_FLOAT.fullmatch(value):
            parsed = float.fromhex(value)
        else:
            raise ValueError
    except (ValueError, OverflowError):
        raise ValueError(f"unparseable bandwidth {value!r}; {expected}") from None
    if not math.isfinite(parsed):
        raise ValueError(f"bandwidth {value!r} is too large; {expected}")
    return parsed


TeBandwidth = Annotated[
    float,
    PlainValidator(parse_te_bandwidth),
    WithJsonSchema({"type": "string", "pattern": f"^(?:{_DECIMAL.pattern}|{_HEX_FLOAT.pattern})$"}),
]
Uint32 = Annotated[int, Field(ge=0, le=2**32 - 1)]
# te-types te-admin-status and te-oper-status share these values
TeStatus = Literal["up", "down", "testing", "preparing-maintenance", "maintenance", "unknown"]
UpDown = Literal["up", "down"]


class _Yang(BaseModel):
    # unknown keys are ignored: YANG data is extensible by augmentation
    model_config = ConfigDict(strict=True, allow_inf_nan=False, frozen=True)


class _Demarc(BaseModel):
    # Demarc's own augmentations: an unknown key is a mistake, not an extension
    model_config = ConfigDict(strict=True, allow_inf_nan=False, frozen=True, extra="forbid")


class L3NodeAttributes(_Yang):
    name: str | None = None
    router_id: list[str] = Field(default_factory=list, alias="router-id", max_length=MAX_ITEMS)


class DemarcNodeAttributes(_Demarc):
    site: str | None = None
    role: str | None = None
    tags: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)


class L3TpAttributes(_Yang):
    ip_address: list[str] = Field(default_factory=list, alias="ip-address", max_length=MAX_ITEMS)


class DemarcTpAttributes(_Demarc):
    oper_status: UpDown | None = Field(default=None, alias="oper-status")
    name: str | None = None


class TerminationPointIn(_Yang):
    tp_id: Id = Field(alias="tp-id")
    l3: L3TpAttributes | None = Field(
        default=None, alias="ietf-l3-unicast-topology:l3-termination-point-attributes"
    )
    demarc: DemarcTpAttributes | None = Field(default=None, alias="demarc:tp-attributes")


class NodeIn(_Yang):
    node_id: Id = Field(alias="node-id")
    l3: L3NodeAttributes | None = Field(
        default=None, alias="ietf-l3-unicast-topology:l3-node-attributes"
    )
    demarc: DemarcNodeAttributes | None = Field(default=None, alias="demarc:node-attributes")
    tps: list[TerminationPointIn] = Field(
        default_factory=list, alias="ietf-network-topology:termination-point", max_length=MAX_ITEMS
    )


class Source(_Yang):
    source_node: Id = Field(alias="source-node")
    source_tp: Id = Field(alias="source-tp")


class Destination(_Yang):
    dest_node: Id = Field(alias="dest-node")
    dest_tp: Id = Field(alias="dest-tp")


class ExternalDomain(_Yang):
    network_ref: Id = Field(alias="network-ref")
    remote_te_node_id: str | None = Field(default=None, alias="remote-te-node-id")
    # te-tp-id is a union of uint32 (a JSON number) and an IP address (a string)
    remote_te_link_tp_id: str | Uint32 | None = Field(default=None, alias="remote-te-link-tp-id")


class TeBandwidthIn(_Yang):
    generic: TeBandwidth | None = None  # other technologies' choices are not capacities we use


class MaxLinkBandwidth(_Yang):
    te_bandwidth: TeBandwidthIn = Field(alias="te-bandwidth")


class Srlgs(_Yang):
    value: list[Uint32] = Field(default_factory=list, max_length=MAX_ITEMS)


class TeLinkAttributes(_Yang):
    name: str | None = None
    admin_status: TeStatus | None = Field(default=None, alias="admin-status")
    oper_status: TeStatus | None = Field(default=None, alias="oper-status")
    external_domain: ExternalDomain | None = Field(default=None, alias="external-domain")
    max_link_bandwidth: MaxLinkBandwidth | None = Field(default=None, alias="max-link-bandwidth")
    te_delay_metric: Uint32 | None = Field(default=None, alias="te-delay-metric")
    te_srlgs: Srlgs | None = Field(default=None, alias="te-srlgs")


class TeLink(_Yang):
    te_link_attributes: TeLinkAttributes | None = Field(default=None, alias="te-link-attributes")
    oper_status: TeStatus | None = Field(default=None, alias="oper-status")


class DemarcLinkAttributes(_Demarc):
    kind: Literal["access"] | None = None
    customer: str | None = None
    oper_status: UpDown | None = Field(default=None, alias="oper-status")


class LinkIn(_Yang):
    link_id: Id = Field(alias="link-id")
    source: Source
    destination: Destination
    te: TeLink | None = Field(default=None, alias="ietf-te-topology:te")
    demarc: DemarcLinkAttributes | None = Field(default=None, alias="demarc:link-attributes")


class NetworkIn(_Yang):
    network_id: Id = Field(alias="network-id")
    nodes: list[NodeIn] = Field(default_factory=list, alias="node", max_length=MAX_ITEMS)
    links: list[LinkIn] = Field(
        default_factory=list, alias="ietf-network-topology:link", max_length=MAX_ITEMS
    )


class Networks(_Yang):
    # an empty document would replace the whole topology with nothing: almost surely a mistake
    network: list[NetworkIn] = Field(min_length=1, max_length=MAX_ITEMS)


class TopologyDoc(_Yang):
    """An ``ietf-network:networks`` document (RFC 8345 JSON, RFC 7951 encoding)."""

    networks: Networks = Field(alias="ietf-network:networks")


_ROOT: Loc = ("ietf-network:networks", "network")
_TP, _LINK = "ietf-network-topology:termination-point", "ietf-network-topology:link"
_STATUS = {"up": OperStatus.UP, "down": OperStatus.DOWN}


def _status(*candidates: str | None) -> OperStatus:
    """The first status given, most specific first; testing or maintenance count as unknown."""
    for candidate in candidates:
        if candidate is not None:
            return _STATUS.get(candidate, OperStatus.UNKNOWN)
    return OperStatus.UNKNOWN


def _kind(link: LinkIn) -> LinkKind:
    attrs = link.te.te_link_attributes if link.te else None
    if attrs is not None and attrs.external_domain is not None:
        return LinkKind.INTERCONNECT
    if link.demarc is not None and link.demarc.kind == "access":
        return LinkKind.ACCESS
    return LinkKind.INTERNAL


def _node(node: NodeIn) -> Node:
    l3, demarc = node.l3 or L3NodeAttributes(), node.demarc or DemarcNodeAttributes()
    tps = tuple(
        TerminationPoint(
            tp_id=tp.tp_id,
            name=tp.demarc.name if tp.demarc else None,
            addresses=tuple(tp.l3.ip_address) if tp.l3 else (),
            oper_status=_status(tp.demarc.oper_status if tp.demarc else None),
        )
        for tp in node.tps
    )
    return Node(
        node_id=node.node_id,
        name=l3.name,
        router_ids=tuple(l3.router_id),
        site=demarc.site,
        role=demarc.role,
        tags=tuple(demarc.tags),
        tps=tps,
    )


def _link(link: LinkIn) -> Link:
    te = link.te or TeLink()
    attrs = te.te_link_attributes or TeLinkAttributes()
    demarc = link.demarc or DemarcLinkAttributes()
    ext = attrs.external_domain
    bandwidth = attrs.max_link_bandwidth.te_bandwidth.generic if attrs.max_link_bandwidth else None
    remote_tp = ext.remote_te_link_tp_id if ext else None
    return Link(
        link_id=link.link_id,
        source_node=link.source.source_node,
        source_tp=link.source.source_tp,
        dest_node=link.destination.dest_node,
        dest_tp=link.destination.dest_tp,
        kind=_kind(link),
        name=attrs.name,
        peer=ext.network_ref if ext else None,
        remote_node=ext.remote_te_node_id if ext else None,
        remote_tp=str(remote_tp) if remote_tp is not None else None,
        customer=demarc.customer,
        capacity_bps=bandwidth * 8 if bandwidth is not None else None,  # bytes/s → bits/s
        delay_us=attrs.te_delay_metric,
        srlgs=tuple(attrs.te_srlgs.value) if attrs.te_srlgs else (),
        oper_status=_status(
            demarc.oper_status, te.oper_status, attrs.oper_status, attrs.admin_status
        ),
    )


def _dangling(node: str, tp: str, loc: Loc, end: str, tps: dict[str, set[str]]) -> list[Problem]:
    if node not in tps:
        where, what = f"{end}-node", f'{end}-node "{node}" is not a node of this topology'
        expected = "the node-id of a node in the document"
    elif tp not in tps[node]:
        where, what = f"{end}-tp", f'{end}-tp "{tp}" is not a termination point of "{node}"'
        expected = "the tp-id of one of its termination points"
    else:
        return []
    return [Problem(json_path((*loc, where)), f"{what}; expected {expected}")]


def _semantic_problems(doc: TopologyDoc) -> list[Problem]:
    nets = list(enumerate(doc.networks.network))
    nodes = [(n, i, node) for n, net in nets for i, node in enumerate(net.nodes)]
    links = [(n, i, link) for n, net in nets for i, link in enumerate(net.links)]
    # the networks are merged into one topology, so ids must be unique across all of them
    problems = duplicates(
        ((node.node_id, (*_ROOT, n, "node", i, "node-id")) for n, i, node in nodes), "node-id"
    )
    tps: dict[str, set[str]] = {}
    for n, i, node in nodes:
        tp_ids = [
            (tp.tp_id, (*_ROOT, n, "node", i, _TP, t, "tp-id")) for t, tp in enumerate(node.tps)
        ]
        problems += duplicates(tp_ids, f'tp-id in node "{node.node_id}"')
        tps.setdefault(node.node_id, set()).update(tp_id for tp_id, _ in tp_ids)
    problems += duplicates(
        ((link.link_id, (*_ROOT, n, _LINK, i, "link-id")) for n, i, link in links), "link-id"
    )
    for n, i, link in links:
        loc: Loc = (*_ROOT, n, _LINK, i)
        src, dst = link.source, link.destination
        problems += _dangling(src.source_node, src.source_tp, (*loc, "source"), "source", tps)
        kind = _kind(link)
        if kind is LinkKind.INTERCONNECT and link.demarc and link.demarc.kind == "access":
            problems.append(
                Problem(
                    json_path((*loc, "demarc:link-attributes", "kind")),
                    "a link with an RFC 8795 external-domain is an interconnect; "
                    'expected no "kind": "access" on it',
                )
            )
        # the far end of an interconnect or access link is outside this network
        if kind is LinkKind.INTERNAL:
            problems += _dangling(dst.dest_node, dst.dest_tp, (*loc, "destination"), "dest", tps)
    return problems


def parse_topology(doc: object) -> ReplaceTopology:
    """An ``ietf-network:networks`` document as one merged topology.

    The topology's ``network_id`` is the first network's. Raises :class:`InvalidInput` listing
    every problem, each at its JSON path.
    """
    parsed = validate(TopologyDoc, doc)
    check(_semantic_problems(parsed))
    nets = parsed.networks.network
    return ReplaceTopology(
        Topology(
            network_id=nets[0].network_id,
            nodes=tuple(_node(node) for net in nets for node in net.nodes),
            links=tuple(_link(link) for net in nets for link in net.links),
        )
    )
