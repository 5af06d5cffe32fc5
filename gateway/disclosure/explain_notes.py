"""What a rule does to a published value, and why an item is in a view, with the rule's place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.disclosure.policy import Policy, TextTemplate, TopologyRule

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Where:
    """A place in the policy text: the path of a key or list item, 1-based line and column."""

    path: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Note:
    """Something a rule does to a value (rounding, pseudonyms, a template), and where it is."""

    says: str
    where: Where | None


WhereFn = Callable[..., Where | None]


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


#: (role, kind, field) → the kind whose ``identifiers`` decides how that field names things
_IDS = {
    ("peer", "interconnect", "id"): "interconnect",
    ("peer", "alarm", "id"): "alarm",
    ("peer", "alarm", "resource"): "interconnect",
    ("peer", "maintenance", "id"): "maintenance",
    ("peer", "maintenance", "resources"): "interconnect",
    ("customer", "service", "id"): "service",
    ("customer", "incident", "id"): "incident",
    ("customer", "incident", "services"): "service",
    ("customer", "maintenance", "id"): "maintenance",
    ("customer", "maintenance", "services"): "service",
    ("customer", "history", "id"): "service",
}
_TIMES = {
    "interconnect": frozenset({"updated_at"}),
    "alarm": frozenset({"raised_at", "cleared_at"}),
    "maintenance": frozenset({"start", "end"}),
    "incident": frozenset({"started_at", "cleared_at"}),
}
_ENDS = frozenset({"cleared_at", "end"})
_DERIVED = {
    ("peer", "interconnect", "status"): "derived from alarms, maintenance and oper status on "
    "the circuit, our end of it and its router, without naming them",
    ("customer", "service", "status"): "derived from alarms and maintenance on what supports "
    "the service, without naming it",
    ("customer", "service", "endpoints"): "a count of attachments, never which routers or "
    "ports they are on",
    ("customer", "incident", "impact"): "outage for a critical alarm, else degraded",
    ("customer", "summary", "status"): "the worst status of the customer's services",
}


def _role(policy: Policy) -> str:
    return "peer" if policy.audience.startswith("peer/") else "customer"


def identifiers(where: WhereFn, policy: Policy, kind: str) -> Note:
    rule = getattr(policy.disclose, kind, None)
    at = where("disclose", kind, "identifiers")
    if rule is not None and rule.identifiers == "shared":
        agreed = "the agreed circuit name (an internal link id is never published)"
        what = agreed if kind in ("interconnect", "topology") else "the agreed id"
        return Note(f"{what}: disclose.{kind}.identifiers is shared", at)
    if at is not None:
        return Note("a keyed pseudonym per audience (identifiers: pseudonym)", at)
    return Note(
        f"a keyed pseudonym per audience (the default: disclose.{kind}.identifiers is not set)",
        where("disclose", kind),
    )


def field_notes(where: WhereFn, policy: Policy, kind: str, name: str) -> tuple[Note, ...]:
    """What the rules do to one disclosed field's value."""
    role = _role(policy)
    rule: Any = getattr(policy.disclose, kind)
    notes: list[Note] = []
    ids = _IDS.get((role, kind, name))
    if ids is not None:
        notes.append(identifiers(where, policy, ids))
    if name in _TIMES.get(kind, ()):
        precision = getattr(rule, "time_precision", "second")
        way = "upwards (the end of an interval)" if name in _ENDS else "downwards"
        notes.append(
            Note(f"coarsened {way} to the {precision}", where("disclose", kind, "time_precision"))
        )
    digits = getattr(rule, "round", {}).get(name)
    if digits is not None:
        notes.append(
            Note(f"rounded to {digits} decimal places", where("disclose", kind, "round", name))
        )
    if name == "text":
        text = rule.text
        says = (
            f"replaced by the template {text.template!r}"
            if isinstance(text, TextTemplate)
            else "the free text as written (text: keep)"
        )
        notes.append(Note(says, where("disclose", kind, "text")))
    derived = _DERIVED.get((role, kind, name))
    if derived is not None:
        notes.append(Note(derived, None))
    if kind == "history" and name in ("days", "months"):
        days = rule.days
        notes.append(
            Note(f"the last {days} complete UTC days", where("disclose", "history", "days"))
        )
    if kind == "summary" and name != "status":
        part = {"groups": "service", "incidents": "incident", "maintenance": "maintenance"}[name]
        says = {
            "groups": "each service shown as disclose.service shows it",
            "incidents": "counts of the incidents the incidents view lists",
            "maintenance": "counts of the windows the maintenance view lists",
        }[name]
        notes.append(Note(says, where("disclose", part)))
    return tuple(notes)


def inclusion(where: WhereFn, policy: Policy, kind: str, section: str) -> tuple[Note, ...]:
    """Why an item is in the view at all: the built-in row scope, then the rule's own limits."""
    notes = [
        Note(
            "built-in scope: only this peer's own interconnects and what is on them (the "
            "circuit, our end of it, its router); no policy can widen it"
            if _role(policy) == "peer"
            else "built-in scope: only this customer's own services and what supports them; "
            "no policy can widen it",
            None,
        ),
    ]
    if policy.audience == "customer/*":
        notes.append(Note("no policy of its own: customer/* serves it", where("audience")))
    notes.append(Note(f"the view is published because disclose.{kind} is present",
                      where("disclose", kind)))  # fmt: skip
    rule: Any = getattr(policy.disclose, kind, None)
    hours = getattr(rule, "history_hours", None)
    if hours is not None:
        says = f"active ones, and cleared ones for {hours} hours after they cleared"
        notes.append(Note(says, where("disclose", kind, "history_hours")))
    if kind == "incident" and rule is not None:
        says = f"alarms on the same services within {rule.group_minutes} minutes are one incident"
        notes.append(Note(says, where("disclose", kind, "group_minutes")))
    if kind == "maintenance":
        notes.append(Note("windows that are not over, cancelled or completed", None))
    if isinstance(rule, TopologyRule) and section != "document":
        notes.append(Note(f"part of the {rule.expose} topology", where("disclose", kind, "expose")))
    return tuple(notes)


def topology_notes(where: WhereFn, rule: TopologyRule, section: str, name: str) -> tuple[Note, ...]:
    """What the exposure mode does to a structural field of a topology item."""
    if name == "mode":
        return (Note(f"expose: {rule.expose}", where("disclose", "topology", "expose")),)
    if name in ("id", "interconnect", "name") and section in ("border_points", "links"):
        at = where("disclose", "topology", "identifiers")
        if rule.identifiers == "shared":
            return (Note("the agreed circuit names where there are (identifiers: shared)", at),)
        return (Note("keyed pseudonyms per audience, naming no router or port", at),)
    if name == "id" and section == "nodes":
        return (Note("an abstract node: a pseudonym per audience, naming no router", None),)
    if name == "remote":
        at = where("disclose", "topology", "identifiers")
        return (Note("the peer's own network; its node and port only with identifiers: shared",
                     at),)  # fmt: skip
    return ()
