"""Explain a published item: which policy rule, at which line, disclosed or withheld each field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.disclosure.explain_notes import (
    Note,
    Where,
    dotted,
    field_notes,
    inclusion,
    topology_notes,
)
from gateway.disclosure.loader import LoadedPolicy, source_positions
from gateway.disclosure.policy import VIEWS, TopologyRule, allowed_fields

Path_ = tuple[str | int, ...]
DISCLOSED, WITHHELD, EMPTY = "disclosed", "withheld", "empty"
#: topology: what a metric listed in the rule is called on the items that carry it
METRIC_FIELDS = {
    "delay_ms": "delay_ms",
    "available_bandwidth_mbps": "available_bandwidth_mbps",
    "capacity_mbps": "available_bandwidth_mbps",  # an interconnect's: its capacity
    "srlgs": "srlgs",
}
#: topology sections whose items carry metrics, and the names they carry them under
_METRIC_SECTIONS = {"links", "connectivity"}
#: what the exposure mode itself publishes of each topology item (no metric)
_STRUCTURE = frozenset(
    {"mode", "id", "abstract", "tps", "node", "interconnect", "kind", "status", "source",
     "destination", "remote", "name", "from", "to", "ietf-network:networks"}
)  # fmt: skip
TOPOLOGY_SECTIONS = ("nodes", "border_points", "links", "connectivity")


@dataclass(frozen=True, slots=True)
class FieldExplanation:
    field: str
    status: str  # disclosed, withheld, or empty (allowed, but no value for this item)
    rule: Where | None  # the rule that discloses it, or that would list it
    reason: str
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemExplanation:
    section: str  # "items" of a list view; "summary", "document", "links", … of a document
    index: int
    id: str | None
    included: tuple[Note, ...]  # why the item is in the view at all
    fields: tuple[FieldExplanation, ...]


def published_items(view: str, body: Mapping[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """The items of a published view body, as (section, index, item): a list view's items;
    a document's parts (the summary; a topology's mode and each node, border point, link)."""
    if isinstance(body.get("items"), list):
        return [("items", i, item) for i, item in enumerate(body["items"])]
    if view == "summary" and isinstance(body.get("summary"), dict):
        return [("summary", 0, body["summary"])]
    if view == "topology" and isinstance(body.get("topology"), dict):
        doc = body["topology"]
        out: list[tuple[str, int, dict[str, Any]]] = [("document", 0, {"mode": doc.get("mode")})]
        for section in TOPOLOGY_SECTIONS:
            out += [(section, i, item) for i, item in enumerate(doc.get(section) or ())]
        return out
    return [("document", 0, dict(body))]  # RFC 8345, sent bare


class Explainer:
    """One policy version's rules with their places in its text; explains items on demand.

    Off the render path: it reads the policy and an item already published, never the model,
    so what it says can be checked against what was sent (tests/test_explain.py)."""

    def __init__(self, loaded: LoadedPolicy, number: int | None = None) -> None:
        self.loaded = loaded
        self.number = number
        self.role = "peer" if loaded.policy.audience.startswith("peer/") else "customer"
        self._positions = source_positions(loaded.text)

    def where(self, *path: str | int) -> Where | None:
        hit = self._positions.get(path)
        return None if hit is None else Where(dotted(path), hit[0], hit[1])

    def kind(self, view: str) -> str:
        return VIEWS[self.role][view]

    def rule(self, view: str) -> Any:
        return getattr(self.loaded.policy.disclose, self.kind(view), None)

    def view_where(self, view: str) -> Where | None:
        return self.where("disclose", self.kind(view))

    def explain(
        self, view: str, section: str, index: int, item: Mapping[str, Any]
    ) -> ItemExplanation:
        kind, rule = self.kind(view), self.rule(view)
        ident = item.get("id")
        included = inclusion(self.where, self.loaded.policy, kind, section)
        if rule is None:
            why = f"no rule disclose.{kind}: nothing of this view is published (default deny)"
            fields = tuple(FieldExplanation(f, WITHHELD, None, why) for f in item)
        elif isinstance(rule, TopologyRule):
            fields = self._topology(view, section, rule, item)
        else:
            fields = self._listed(kind, rule, item)
        return ItemExplanation(
            section, index, None if ident is None else str(ident), included, fields
        )

    def _listed(
        self, kind: str, rule: Any, item: Mapping[str, Any]
    ) -> tuple[FieldExplanation, ...]:
        """A kind with an allow-list: a field is published iff the rule lists it."""
        listed: Sequence[str] = list(rule.fields)
        allowed = allowed_fields(type(rule))
        out = []
        for name in [*allowed, *(k for k in item if k not in allowed)]:
            if name in listed:
                at = self.where("disclose", kind, "fields", listed.index(name))
                notes = field_notes(self.where, self.loaded.policy, kind, name)
                out.append(
                    FieldExplanation(
                        name, DISCLOSED, at, f"listed in disclose.{kind}.fields", notes
                    )
                )
            elif name in allowed:
                at = self.where("disclose", kind, "fields")
                why = f"not listed in disclose.{kind}.fields: default deny"
                out.append(FieldExplanation(name, WITHHELD, at, why))
            else:
                out.append(FieldExplanation(name, DISCLOSED, None, "no rule discloses this field"))
        return tuple(out)

    def _topology(
        self, view: str, section: str, rule: TopologyRule, item: Mapping[str, Any]
    ) -> tuple[FieldExplanation, ...]:
        """Topology items: the exposure mode publishes their structure, ``metrics`` lists the
        figures they carry; a listed metric without a value (nothing measured) is left out."""
        expose = self.where("disclose", "topology", "expose")
        out = []
        for name in item:
            if name in _STRUCTURE:
                notes = topology_notes(self.where, rule, section, name)
                why = f"published by the exposure mode (expose: {rule.expose})"
                out.append(FieldExplanation(name, DISCLOSED, expose, why, notes))
            elif name not in METRIC_FIELDS:
                out.append(FieldExplanation(name, DISCLOSED, None, "no rule discloses this field"))
        if view != "topology" or section not in _METRIC_SECTIONS:
            return tuple(out)
        capacity = section == "links" and item.get("kind") == "interconnect"
        for name, metric in METRIC_FIELDS.items():
            if (name == "capacity_mbps") != capacity and metric == "available_bandwidth_mbps":
                continue  # an interconnect link carries its capacity, others available bandwidth
            if metric in rule.metrics:
                at = self.where("disclose", "topology", "metrics", rule.metrics.index(metric))
                if name in item:
                    why = f"{metric} is listed in disclose.topology.metrics"
                    out.append(FieldExplanation(name, DISCLOSED, at, why))
                else:
                    why = f"{metric} is listed in disclose.topology.metrics, but this item has "
                    out.append(FieldExplanation(name, EMPTY, at, why + "no value (not measured)"))
            else:
                at = self.where("disclose", "topology", "metrics") or self.where(
                    "disclose", "topology"
                )
                why = f"{metric} is not listed in disclose.topology.metrics: default deny"
                out.append(FieldExplanation(name, WITHHELD, at, why))
        return tuple(out)
