"""What a policy publishes as is to one audience: the terms its leak guard must not flag."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from gateway.disclosure.loader import LoadedPolicy
from gateway.disclosure.policy import PeerPolicy
from gateway.disclosure.scope import coverage, customer_services, peer_resources
from gateway.leakguard.terms import DisclosedTerms
from gateway.model import Alarm, IncidentRecord, ResourceRef, Snapshot
from gateway.model.status import written_text


class ActivePolicy(Protocol):
    """What the guard reads of a compiled policy, typed structurally so that the guard does not
    import the engine it checks."""

    @property
    def version(self) -> str: ...

    @property
    def loaded(self) -> LoadedPolicy: ...


def disclosed_for(policy: ActivePolicy, snapshot: Snapshot, audience: str) -> DisclosedTerms:
    """Shared ids, kept text, the audience's own names: derived from the policy and the data in
    the audience's own scope, never from the rendered views, so a broken render that copies an
    internal term into a kept-text or shared-id field is still caught."""
    rules = policy.loaded.policy.disclose
    name = audience.partition("/")[2]
    if isinstance(policy.loaded.policy, PeerPolicy):
        peer_rules = policy.loaded.policy.disclose
        links = snapshot.interconnects_by_peer.get(name, ())
        scope: set[ResourceRef] = set(peer_resources(snapshot, name))
        alarm_rule = peer_rules.alarm
        shared = any(
            rule is not None and rule.identifiers == "shared"
            for rule in (peer_rules.interconnect, peer_rules.topology)
        )
        circuit_names = frozenset(link.name for link in links if shared and link.name)
        # the peer's own identifiers of its end: never a secret to that peer
        remote_ids = frozenset(
            value
            for link in links
            for value in (link.remote_node, link.remote_tp, link.dest_node, link.dest_tp)
            if value
        )
        service_ids: frozenset[str] = frozenset()
        service_names: frozenset[str] = frozenset()
    else:
        services = customer_services(snapshot, name)
        scope = set().union(*(coverage(snapshot, s) for s in services))
        alarm_rule = getattr(rules, "incident", None)
        sv = getattr(rules, "service", None)
        circuit_names = remote_ids = frozenset()
        service_ids = frozenset(
            s.service_id for s in services if sv is not None and sv.identifiers == "shared"
        )
        service_names = frozenset(
            s.name for s in services if sv is not None and "name" in sv.fields and s.name
        )
    # through the per-resource indexes: proportional to the audience's scope, not the network
    by_resource, by_window = snapshot.alarms_by_resource, snapshot.maintenance_by_resource
    alarms = [a for ref in scope for a in by_resource.get(ref, {}).values()]
    windows = list(
        {w.maintenance_id: w for ref in scope for w in by_window.get(ref, {}).values()}.values()
    )
    mw_rule = getattr(rules, "maintenance", None)
    texts = _kept(alarm_rule, (a.text for a in alarms)) | _kept(
        mw_rule, (w.description for w in windows)
    )
    other = _shared(alarm_rule, (a.alarm_id for a in alarms)) | _shared(
        mw_rule, (w.maintenance_id for w in windows)
    )
    written: frozenset[str] = frozenset()
    if not isinstance(policy.loaded.policy, PeerPolicy):
        records = _records(snapshot, (s.service_id for s in services), alarms)
        written = _written(alarm_rule, ("title", "updates"), (r.written for r in records))
        written |= _written(
            mw_rule, ("updates",), (written_text(u.text for u in w.updates) for w in windows)
        )
        other |= _shared(alarm_rule, (r.incident_id for r in records))
    return DisclosedTerms(
        circuit_names=circuit_names,
        remote_ids=remote_ids,
        service_ids=service_ids,
        service_names=service_names,
        texts=texts,
        written=written,
        other=other,
    )


def _kept(rule: Any, texts: Iterable[str | None]) -> frozenset[str]:
    """Free text the rule publishes as written (``text: keep``, with ``text`` in fields)."""
    if rule is None or rule.text != "keep" or "text" not in rule.fields:
        return frozenset()
    return frozenset(t for t in texts if t)


def _records(
    snapshot: Snapshot, service_ids: Iterable[str], alarms: Iterable[Alarm]
) -> list[IncidentRecord]:
    """The declared incidents that can reach the customer: by its services, by its alarms."""
    found: dict[str, IncidentRecord] = {}
    for sid in service_ids:
        found.update(snapshot.incidents_by_service.get(sid, {}))
    for alarm in alarms:
        found.update(snapshot.incidents_by_alarm.get(alarm.alarm_id, {}))
    return list(found.values())


def _written(rule: Any, fields: tuple[str, ...], texts: Iterable[str | None]) -> frozenset[str]:
    """Text written for customers that the rule publishes (``written: keep``)."""
    if rule is None or getattr(rule, "written", "drop") != "keep":
        return frozenset()
    if not any(f in rule.fields for f in fields):
        return frozenset()
    return frozenset(t for t in texts if t)


def _shared(rule: Any, ids: Iterable[str]) -> frozenset[str]:
    if rule is None or rule.identifiers != "shared" or "id" not in rule.fields:
        return frozenset()
    return frozenset(ids)
