"""Internal topology: nodes, termination points and links, as sources describe them."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class LinkKind(StrEnum):
    INTERNAL = "internal"
    INTERCONNECT = "interconnect"  # far end in a peer's network (RFC 8795 external-domain)
    ACCESS = "access"  # a customer attachment


class OperStatus(StrEnum):
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


class ResourceRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """What an alarm, metric or maintenance window is on.

    A link (``link``), a termination point (``node`` and ``tp``), a node (``node``) or a
    service (``service``, for service-level metrics).
    """

    node: str | None = None
    tp: str | None = None
    link: str | None = None
    service: str | None = None


class TerminationPoint(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    tp_id: str
    name: str | None = None
    addresses: tuple[str, ...] = ()
    oper_status: OperStatus = OperStatus.UNKNOWN


class Node(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    node_id: str
    name: str | None = None
    router_ids: tuple[str, ...] = ()
    site: str | None = None
    role: str | None = None
    tags: tuple[str, ...] = ()
    tps: tuple[TerminationPoint, ...] = ()


class Link(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    link_id: str
    source_node: str
    source_tp: str
    dest_node: str
    dest_tp: str
    kind: LinkKind = LinkKind.INTERNAL
    name: str | None = None  # RFC 8795 te-link name; on an interconnect, the circuit id
    peer: str | None = None  # external-domain network-ref: the peer network's name
    remote_node: str | None = None  # the peer's own identifiers of its end
    remote_tp: str | None = None
    customer: str | None = None  # on an access link
    capacity_bps: float | None = None
    delay_us: int | None = None
    srlgs: tuple[int, ...] = ()
    oper_status: OperStatus = OperStatus.UNKNOWN


class Topology(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    network_id: str = ""
    nodes: tuple[Node, ...] = ()
    links: tuple[Link, ...] = ()


EMPTY_TOPOLOGY = Topology()
