"""What a policy publishes as is to one audience: the terms its leak guard must not flag."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.disclosure.engine import CompiledPolicy
from gateway.disclosure.guard import DisclosedTerms
from gateway.disclosure.policy import PeerPolicy
from gateway.model import Snapshot

_TEXT_VIEWS = (("alarms", "alarm"), ("incidents", "incident"), ("maintenance", "maintenance"))


def disclosed_for(
    policy: CompiledPolicy, snapshot: Snapshot, audience: str, views: Mapping[str, Any]
) -> DisclosedTerms:
    """Shared ids, kept text, the audience's own names: derived from the policy and the rendered
    views, never from what a view happens to contain beyond what the policy allows."""
    rules = policy.loaded.policy.disclose
    name = audience.partition("/")[2]
    texts: set[str] = set()
    other: set[str] = set()
    for view, kind in _TEXT_VIEWS:
        rule = getattr(rules, kind, None)
        items = views.get(view)
        if rule is None or not isinstance(items, list):
            continue
        if rule.text == "keep":
            texts |= {i["text"] for i in items if isinstance(i.get("text"), str)}
        if rule.identifiers == "shared":
            other |= {i["id"] for i in items if isinstance(i.get("id"), str)}
    if isinstance(policy.loaded.policy, PeerPolicy):
        links = snapshot.interconnects_by_peer.get(name, ())
        peer_rules = policy.loaded.policy.disclose
        shared = any(
            rule is not None and rule.identifiers == "shared"
            for rule in (peer_rules.interconnect, peer_rules.topology)
        )
        return DisclosedTerms(
            circuit_names=frozenset(link.name for link in links if shared and link.name),
            # the peer's own identifiers of its end: never a secret to that peer
            remote_ids=frozenset(
                value
                for link in links
                for value in (link.remote_node, link.remote_tp, link.dest_node, link.dest_tp)
                if value
            ),
            texts=frozenset(texts),
            other=frozenset(other),
        )
    services = [s for s in snapshot.services.values() if s.customer == name]
    sv = getattr(rules, "service", None)
    shared_sv = sv is not None and sv.identifiers == "shared"
    return DisclosedTerms(
        service_ids=frozenset(s.service_id for s in services if shared_sv),
        service_names=frozenset(
            s.name for s in services if sv is not None and "name" in sv.fields and s.name
        ),
        texts=frozenset(texts),
        other=frozenset(other),
    )
