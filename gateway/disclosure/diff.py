"""Disclosure diffs: what a policy change adds to or removes from what an audience is shown."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from gateway.disclosure.engine import CompiledPolicy, PolicySet, render
from gateway.disclosure.policy import Policy
from gateway.disclosure.project import Item
from gateway.disclosure.pseudonym import Pseudonymizer, audience_key
from gateway.model import Snapshot

#: lower is finer: a finer timestamp discloses more
_PRECISION = {"second": 0, "minute": 1, "hour": 2}
#: RFC 8453 topology exposure, from nothing to a native subset
_EXPOSE = {"none": 0, "interconnect": 1, "single-node": 2, "abstract": 3, "filtered": 4}
_LISTS = frozenset({"fields", "metrics"})  # allow-lists: an added entry discloses more
_NEUTRAL_KEYS = frozenset({"audience", "description"})
MAX_IDS = 200  # ids listed per view and direction; the counts are always exact


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """One difference between two policy documents, and whether it discloses more."""

    kind: str  # the object kind under ``disclose``, or "(policy)" for a top-level key
    aspect: str  # kind, fields, identifiers, text, time_precision, history_hours, round, ...
    before: Any
    after: Any
    widening: bool
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "aspect": self.aspect,
            "before": self.before,
            "after": self.after,
            "widening": self.widening,
        }
        if self.added or self.removed:
            out["added"], out["removed"] = list(self.added), list(self.removed)
        if self.note:
            out["note"] = self.note
        return out


def policy_changes(old: Policy | None, new: Policy | None) -> list[PolicyChange]:
    """The static diff of two documents for one audience; ``old`` None: a brand-new audience."""
    a = old.model_dump(mode="json") if old is not None else {}
    b = new.model_dump(mode="json") if new is not None else {}
    out: list[PolicyChange] = []
    if old is None and new is not None:
        out.append(
            PolicyChange(
                "(policy)",
                "audience",
                None,
                new.audience,
                True,
                note="a policy for an audience that had none",
            )
        )
    olds: dict[str, Any] = a.get("disclose") or {}
    news: dict[str, Any] = b.get("disclose") or {}
    for kind in sorted(set(olds) | set(news)):
        out.extend(_rule_changes(kind, olds.get(kind), news.get(kind)))
    for key in sorted((set(a) | set(b)) - _NEUTRAL_KEYS - {"disclose"}):
        if a.get(key) != b.get(key):
            # a part of the format this diff does not model: fail closed, call it widening
            out.append(
                PolicyChange(
                    "(policy)",
                    key,
                    a.get(key),
                    b.get(key),
                    True,
                    note="not analysed; treated as widening",
                )
            )
    return out


def _rule_changes(kind: str, old: Any, new: Any) -> list[PolicyChange]:
    if old == new:
        return []
    if old is None:
        fields = tuple(new.get("fields", ()))
        return [PolicyChange(kind, "kind", None, new, True, added=fields)]
    if new is None:
        fields = tuple(old.get("fields", ()))
        return [PolicyChange(kind, "kind", old, None, False, removed=fields)]
    out: list[PolicyChange] = []
    for aspect in sorted(set(old) | set(new)):
        before, after = old.get(aspect), new.get(aspect)
        if before != after:
            out.append(_aspect(kind, aspect, before, after))
    return [c for c in out if c.aspect not in _LISTS or c.added or c.removed]


def _aspect(kind: str, aspect: str, before: Any, after: Any) -> PolicyChange:
    if aspect in _LISTS:
        added = tuple(f for f in after or () if f not in (before or ()))
        removed = tuple(f for f in before or () if f not in (after or ()))
        return PolicyChange(kind, aspect, before, after, bool(added), added, removed)
    if aspect == "identifiers":
        return PolicyChange(kind, aspect, before, after, after == "shared")
    if aspect in ("text", "written"):  # written: drop or keep, as text is
        return PolicyChange(kind, aspect, before, after, _text_widens(before, after))
    if aspect == "time_precision" and before in _PRECISION and after in _PRECISION:
        return PolicyChange(kind, aspect, before, after, _PRECISION[after] < _PRECISION[before])
    if aspect == "expose" and before in _EXPOSE and after in _EXPOSE:
        return PolicyChange(kind, aspect, before, after, _EXPOSE[after] > _EXPOSE[before])
    if aspect == "history_hours" and isinstance(before, int) and isinstance(after, int):
        return PolicyChange(kind, aspect, before, after, after > before)
    if aspect == "days" and isinstance(before, int) and isinstance(after, int):
        return PolicyChange(kind, aspect, before, after, after > before)  # a longer history
    if aspect == "group_minutes" and isinstance(before, int) and isinstance(after, int):
        # a shorter window splits episodes: more, finer-grained incidents are told
        return PolicyChange(kind, aspect, before, after, after < before)
    if aspect == "round":
        return PolicyChange(kind, aspect, before, after, _round_widens(before or {}, after or {}))
    return PolicyChange(kind, aspect, before, after, True, note="not analysed; treated as widening")


def _text_widens(before: Any, after: Any) -> bool:
    def rank(rule: Any) -> int:
        return {"drop": 0, "keep": 2}.get(rule, 1) if isinstance(rule, str) else 1

    # a different template may spell out other words: count it as more, as a reviewer should
    return rank(after) > rank(before) or (rank(after) == rank(before) == 1 and before != after)


def _round_widens(before: Mapping[str, int], after: Mapping[str, int]) -> bool:
    # a field no longer rounded, or rounded to more decimals, is told more precisely
    return any(name not in after or after[name] > digits for name, digits in before.items())


def is_widening(changes: Iterable[PolicyChange]) -> bool:
    return any(c.widening for c in changes)


# -- live diff: the same data rendered under both policies -------------------------------------


@dataclass(slots=True)
class ViewDiff:
    view: str
    status: str  # added, removed, changed, unchanged
    published: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    changed: int = 0
    unchanged: int = 0
    fields_published: list[str] = field(default_factory=list)
    fields_withdrawn: list[str] = field(default_factory=list)

    @property
    def widening(self) -> bool:
        return bool(self.published or self.fields_published)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "objects": {
                "published": self.published[:MAX_IDS],
                "withdrawn": self.withdrawn[:MAX_IDS],
                "published_count": len(self.published),
                "withdrawn_count": len(self.withdrawn),
                "changed_count": self.changed,
                "unchanged_count": self.unchanged,
                "truncated": max(len(self.published), len(self.withdrawn)) > MAX_IDS,
            },
            "fields": {"published": self.fields_published, "withdrawn": self.fields_withdrawn},
        }


def _key(item: Item) -> str:
    if "id" in item:
        return str(item["id"])
    # an item without an id (the policy does not publish it) is known by its content
    return "#" + msgspec.json.encode(item, order="sorted").hex()[:16]


Objects = dict[str, tuple[str, Item]]  # key → (where its fields are named from, the object)


def objects(data: Any) -> Objects:
    """A view's objects: a list view's items by published id; in a document view (a topology)
    every list of objects by its path and id, and loose values as one object of their path."""
    if isinstance(data, list):
        return {_key(i): ("", i) for i in data if isinstance(i, dict)}
    out: Objects = {}

    def walk(node: Mapping[str, Any], path: str) -> None:
        loose: Item = {}
        for name, value in node.items():
            here = f"{path}.{name}" if path else name
            if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
                out.update({f"{here}/{_key(x)}": (here, x) for x in value})
            elif isinstance(value, dict):
                walk(value, here)
            else:
                loose[name] = value
        if loose:
            out[path or "(document)"] = (path, loose)

    if isinstance(data, dict):
        walk(data, "")
    return out


def _fields(found: Objects) -> set[str]:
    return {f"{where}.{f}" if where else f for where, item in found.values() for f in item}


def view_diff(view: str, old: Any, new: Any) -> ViewDiff:
    status = "added" if old is None else "removed" if new is None else "changed"
    before, after = objects(old or []), objects(new or [])
    both = [k for k in after if k in before]
    changed = sum(1 for k in both if before[k] != after[k])
    old_fields, new_fields = _fields(before), _fields(after)
    diff = ViewDiff(
        view=view,
        status=status,
        published=sorted(k for k in after if k not in before),
        withdrawn=sorted(k for k in before if k not in after),
        changed=changed,
        unchanged=len(both) - changed,
        fields_published=sorted(new_fields - old_fields),
        fields_withdrawn=sorted(old_fields - new_fields),
    )
    if status == "changed" and not (diff.published or diff.withdrawn or changed):
        diff.status = "unchanged"
    return diff


def render_for(
    policy: CompiledPolicy | None, snapshot: Snapshot, audience: str, secret: bytes, now: datetime
) -> dict[str, Any]:
    """What ``policy`` shows ``audience`` of ``snapshot``: nothing without a policy."""
    if policy is None:
        return {}
    return render(policy, snapshot, audience, Pseudonymizer(audience_key(secret, audience)), now)


def audience_diff(audience: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    views = [view_diff(v, old.get(v), new.get(v)) for v in sorted(set(old) | set(new))]
    return {
        "audience": audience,
        "widening": any(v.widening for v in views),
        "views": {v.view: v.to_json() for v in views},
    }


def live_diff(
    old_set: PolicySet,
    new_set: PolicySet,
    audiences: Iterable[str],
    snapshot: Snapshot,
    secret: bytes,
    now: datetime,
) -> list[dict[str, Any]]:
    """Per audience and view: objects and fields newly published and withdrawn."""
    out = []
    for audience in audiences:
        old = render_for(old_set.for_audience(audience), snapshot, audience, secret, now)
        new = render_for(new_set.for_audience(audience), snapshot, audience, secret, now)
        out.append(audience_diff(audience, old, new))
    return out


def with_policy(policies: PolicySet, policy: CompiledPolicy) -> PolicySet:
    """``policies`` with ``policy`` in place of whatever served its audience key."""
    return PolicySet([*(p for p in policies if p.audience != policy.audience), policy])


def applies_to(policy_audience: str, registered: Iterable[str], policies: PolicySet) -> list[str]:
    """The registered audiences ``policies`` serves with the policy for ``policy_audience``."""
    out = []
    for audience in registered:
        served = policies.for_audience(audience)
        if served is not None and served.audience == policy_audience:
            out.append(audience)
    return sorted(out)
