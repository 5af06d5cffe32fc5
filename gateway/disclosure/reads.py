"""What each audience's views read: the resources in its scope, and which changes reach them.

The refresher plans from this; when it cannot tell, it must re-render (a stale view is a
correctness bug). Everything here mirrors how ``peer.py``, ``customer.py`` and ``scope.py``
look data up, and the refresher's tests compare against a from-scratch render.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from gateway.disclosure.engine import DEPENDS
from gateway.disclosure.scope import coverage, customer_services, peer_resources
from gateway.model import Kind, ResourceRef, Snapshot

#: views that read the topology and internal links network-wide (utilisation, measured delay,
#: critical alarms: see ``topology_view.dependency_key``), not the audience's own scope
NETWORK_VIEWS: Mapping[str, frozenset[str]] = {
    "peer": frozenset({"topology", "topology-rfc8345"}),
    "customer": frozenset(),
}


def audience_refs(snapshot: Snapshot, audience: str) -> frozenset[ResourceRef]:
    """Every resource whose alarms, metrics or maintenance one of the audience's views reads."""
    role, _, name = audience.partition("/")
    if role == "peer":
        return frozenset(peer_resources(snapshot, name))
    if role == "customer":
        refs: set[ResourceRef] = set()
        for service in customer_services(snapshot, name):
            refs |= coverage(snapshot, service)
        return frozenset(refs)
    raise ValueError(f"unknown audience role in {audience!r}")


def ref_nodes(snapshot: Snapshot, ref: ResourceRef) -> Iterator[str]:
    """The nodes a resource is on: its own, or both ends of its link."""
    if ref.node is not None:
        yield ref.node
    if ref.link is not None and (link := snapshot.links_by_id.get(ref.link)) is not None:
        yield link.source_node
        yield link.dest_node


def lookup_keys(ref: ResourceRef) -> set[ResourceRef]:
    """``ref`` and the plain forms a view may look it up by (a link; a node and port)."""
    keys = {ref}
    if ref.link is not None:
        keys.add(ResourceRef(link=ref.link))
    if ref.node is not None and ref.tp is not None:
        keys.add(ResourceRef(node=ref.node, tp=ref.tp))
    if ref.service is not None:
        keys.add(ResourceRef(service=ref.service))
    return keys


def views_reading(role: str, views: Iterable[str], kind: Kind, *, scoped: bool) -> set[str]:
    """Of ``views``, those a change of ``kind`` can alter: in the audience's scope
    (``scoped``: every view reading that kind) or on an internal link (the network views). A
    view this module does not know reads everything."""
    deps = DEPENDS.get(role, {})
    network = NETWORK_VIEWS.get(role, frozenset())
    out = set()
    for view in views:
        kinds = deps.get(view)
        # a network view reads internal links and, like the others, the audience's own
        # interconnects (their status and delay are in the topology as in /v1/interconnects)
        if kinds is None or (kind in kinds and (scoped or view in network)):
            out.add(view)
    return out
