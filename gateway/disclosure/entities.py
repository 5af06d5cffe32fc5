"""What an audience names by a published id: its own interconnect or service, and nothing else."""

from __future__ import annotations

from datetime import datetime

from gateway.disclosure.customer import service_id
from gateway.disclosure.peer import interconnect_id
from gateway.disclosure.policy import CustomerPolicy, PeerPolicy, Policy
from gateway.disclosure.project import Context
from gateway.disclosure.pseudonym import Pseudonymizer
from gateway.model import Link, ResourceRef, Service, Snapshot


def _context(snapshot: Snapshot, audience: str, pseudonym: Pseudonymizer, now: datetime) -> Context:
    return Context(snapshot=snapshot, now=now, pseudonym=pseudonym, audience=audience)


def find_interconnect(
    snapshot: Snapshot,
    policy: PeerPolicy,
    audience: str,
    pseudonym: Pseudonymizer,
    published_id: str,
    now: datetime,
) -> Link | None:
    """The audience's own interconnect that its views publish as ``published_id``; None for
    anything else (another peer's circuit, an internal link id, a name that does not exist)."""
    name = interconnect_id(policy)
    ctx = _context(snapshot, audience, pseudonym, now)
    for link in snapshot.interconnects_by_peer.get(audience.partition("/")[2], ()):
        if name(ctx, link) == published_id:
            return link
    return None


def find_service(
    snapshot: Snapshot,
    policy: CustomerPolicy,
    audience: str,
    pseudonym: Pseudonymizer,
    published_id: str,
    now: datetime,
) -> Service | None:
    """The customer's own service that its views publish as ``published_id``; None else."""
    name = service_id(policy)
    ctx = _context(snapshot, audience, pseudonym, now)
    for service in snapshot.services_by_customer.get(audience.partition("/")[2], {}).values():
        if name(ctx, service) == published_id:
            return service
    return None


def find_entity(
    snapshot: Snapshot,
    policy: Policy,
    audience: str,
    pseudonym: Pseudonymizer,
    kind: str,
    published_id: str,
    now: datetime,
) -> ResourceRef | None:
    """An ``Interconnect`` of a peer or a ``Service`` of a customer, as the resource it is;
    None for any other kind, audience or id (the caller answers all of them alike)."""
    if isinstance(policy, PeerPolicy) and kind == "Interconnect":
        link = find_interconnect(snapshot, policy, audience, pseudonym, published_id, now)
        return None if link is None else ResourceRef(link=link.link_id)
    if isinstance(policy, CustomerPolicy) and kind == "Service":
        service = find_service(snapshot, policy, audience, pseudonym, published_id, now)
        return None if service is None else ResourceRef(service=service.service_id)
    return None
