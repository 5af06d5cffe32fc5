"""The static policy diff calls exactly the right changes widening; the live diff counts objects."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gateway.disclosure import parse_policy
from gateway.disclosure.diff import is_widening, policy_changes, view_diff

BASE = {
    "audience": "peer/acme",
    "disclose": {
        "interconnect": {"fields": ["id", "status", "utilisation_pct"],
                         "round": {"utilisation_pct": 1}, "identifiers": "shared"},
        "alarm": {"fields": ["id", "severity", "raised_at", "text"],
                  "text": {"template": "{severity} alarm"}, "time_precision": "minute",
                  "history_hours": 24},
        "topology": {"expose": "abstract", "metrics": ["delay_ms"]},
    },
}  # fmt: skip


def _policy(change: Any = None) -> Any:
    doc = yaml.safe_load(yaml.safe_dump(BASE))
    if change is not None:
        change(doc["disclose"])
    return parse_policy(yaml.safe_dump(doc)).policy


def _set(kind: str, key: str, value: Any) -> Any:
    return lambda d: d[kind].__setitem__(key, value)


WIDENING = {
    "a kind": lambda d: d.__setitem__("maintenance", {"fields": ["id", "start"]}),
    "a field": lambda d: d["alarm"]["fields"].append("probable_cause"),
    "shared identifiers": _set("alarm", "identifiers", "shared"),
    "text kept": _set("alarm", "text", "keep"),
    "another template": _set("alarm", "text", {"template": "alarm: {severity}"}),
    "longer history": _set("alarm", "history_hours", 48),
    "finer time": _set("alarm", "time_precision", "second"),
    "less rounding": _set("interconnect", "round", {"utilisation_pct": 3}),
    "no rounding": _set("interconnect", "round", {}),
    "more topology": lambda d: d.__setitem__(
        "topology", {"expose": "filtered", "filter": {"roles": ["pe"]}}
    ),
    "a topology metric": _set("topology", "metrics", ["delay_ms", "srlgs"]),
}
NARROWING = {
    "a kind removed": lambda d: d.pop("alarm"),
    "a field removed": lambda d: d["interconnect"]["fields"].remove("utilisation_pct"),
    "pseudonyms": _set("interconnect", "identifiers", "pseudonym"),
    "text dropped": lambda d: (d["alarm"]["fields"].remove("text"), d["alarm"].pop("text")),
    "shorter history": _set("alarm", "history_hours", 4),
    "coarser time": _set("alarm", "time_precision", "hour"),
    "more rounding": _set("interconnect", "round", {"utilisation_pct": 0}),
    "less topology": _set("topology", "expose", "single-node"),
}


@pytest.mark.parametrize("name", sorted(WIDENING))
def test_adding_to_what_is_disclosed_is_widening(name: str) -> None:
    changes = policy_changes(_policy(), _policy(WIDENING[name]))
    assert changes and is_widening(changes)


@pytest.mark.parametrize("name", sorted(NARROWING))
def test_only_taking_away_is_not_widening(name: str) -> None:
    changes = policy_changes(_policy(), _policy(NARROWING[name]))
    assert changes and not is_widening(changes), [c.to_json() for c in changes]


def test_a_brand_new_audience_is_widening_and_an_unchanged_policy_has_no_changes() -> None:
    assert is_widening(policy_changes(None, _policy()))
    assert policy_changes(_policy(), _policy()) == []


def test_a_changed_field_list_names_what_was_added_and_removed() -> None:
    def swap(d: dict[str, Any]) -> None:
        d["interconnect"]["fields"] = ["id", "status", "capacity_mbps"]

    (change,) = policy_changes(_policy(), _policy(swap))
    assert (change.kind, change.aspect) == ("interconnect", "fields")
    assert (change.added, change.removed, change.widening) == (
        ("capacity_mbps",), ("utilisation_pct",), True
    )  # fmt: skip


def test_view_diff_counts_objects_and_fields_published_and_withdrawn() -> None:
    old = [{"id": "A", "status": "up"}, {"id": "B", "status": "up"}, {"id": "C", "status": "up"}]
    new = [{"id": "B", "status": "down", "loss": 1}, {"id": "C", "status": "up", "loss": 0},
           {"id": "D", "status": "up", "loss": 0}]  # fmt: skip
    diff = view_diff("interconnects", old, new).to_json()
    assert diff["objects"]["published"] == ["D"] and diff["objects"]["withdrawn"] == ["A"]
    assert diff["objects"]["changed_count"] == 2 and diff["objects"]["unchanged_count"] == 0
    assert diff["fields"] == {"published": ["loss"], "withdrawn": []}
    assert view_diff("alarms", None, []).status == "added"
    assert view_diff("alarms", old, old).status == "unchanged"


def test_view_diff_looks_inside_a_document_view() -> None:
    old = {"topology": {"mode": "abstract", "nodes": [{"id": "n1"}], "links": []}}
    new = {"topology": {"mode": "filtered", "nodes": [{"id": "n1"}, {"id": "n2", "site": "x"}]}}
    diff = view_diff("topology", old, new)
    assert diff.published == ["topology.nodes/n2"]
    assert "topology.nodes.site" in diff.fields_published and diff.widening


def test_written_text_kept_or_another_title_widens_and_dropping_it_narrows() -> None:
    def customer(**incident: Any) -> Any:
        rule = {"fields": ["id", "title", "services", "impact", "updates"], **incident}
        doc = {"audience": "customer/globex", "disclose": {"incident": rule}}
        return parse_policy(yaml.safe_dump(doc)).policy

    dropped, kept = customer(), customer(written="keep")
    assert is_widening(policy_changes(dropped, kept))
    narrowing = policy_changes(kept, dropped)
    assert narrowing and not is_widening(narrowing)
    titled = customer(title={"template": "{service} {impact}"})
    assert is_widening(policy_changes(dropped, titled))  # other words may be spelt out
    kept_mw = parse_policy(
        yaml.safe_dump(
            {
                "audience": "customer/globex",
                "disclose": {
                    "maintenance": {
                        "fields": ["id", "updates"],
                        "written": "keep",
                        "history_hours": 24,
                    }
                },
            }
        )
    )
    drop_mw = parse_policy(yaml.safe_dump({"audience": "customer/globex", "disclose": {
        "maintenance": {"fields": ["id", "updates"]}}}))  # fmt: skip
    assert is_widening(policy_changes(drop_mw.policy, kept_mw.policy))
    assert not is_widening(policy_changes(kept_mw.policy, drop_mw.policy))
