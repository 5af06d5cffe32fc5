"""Explain agrees with what is published: a field is "disclosed by rule X" iff the view has it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from gateway.disclosure.explain import published_items
from tests.conftest import STAFF, RunningGateway

Client = Callable[[str], httpx.Client]


def _published(public: Client, audience: str) -> dict[str, Any]:
    """Every view of ``audience`` as it fetches them (the whole view: limit 5000)."""
    client = public(audience)
    out = {}
    for view in client.get("/v1/views").json()["views"]:
        href = view["href"]
        got = client.get(href, params={"limit": 5000} if "topology" not in href else None)
        assert got.status_code == 200, got.text
        out[view["view"]] = got.json()
    return out


def _line(text: str, line: int) -> str:
    return text.splitlines()[line - 1]


def test_every_field_of_every_item_in_every_view_is_explained_as_published(
    served: RunningGateway, public: Client, internal: Client
) -> None:
    staff = internal(STAFF)
    checked = 0
    for audience in served.gateway.registry.audiences():
        for view, body in _published(public, audience).items():
            items = published_items(view, body)
            listing = staff.get("/v1/admin/explain", params={"audience": audience, "view": view})
            assert listing.status_code == 200, listing.text
            assert listing.json()["published"] is True
            assert listing.json()["total"] == len(items)
            for n, (section, _, item) in enumerate(items):
                got = staff.get(
                    "/v1/admin/explain", params={"audience": audience, "view": view, "item": n}
                )
                assert got.status_code == 200, got.text
                doc = got.json()
                text = doc["policy"]["text"]
                explained = doc["item"]
                assert explained["section"] == section
                fields = {f["field"]: f for f in explained["fields"]}
                assert set(item) <= set(fields), (audience, view, n)
                for name, field in fields.items():
                    where = f"{audience} {view}[{n}].{name}"
                    disclosed = field["status"] == "disclosed"
                    assert disclosed == (name in item), (where, field)
                    if disclosed:
                        assert field["value"] == item[name], where
                        rule = field["rule"]
                        assert rule is not None, (where, field["reason"])
                        # the line named is the rule: the field or metric listed, or expose
                        source = _line(text, rule["line"])
                        wanted = {name, "expose", "available_bandwidth_mbps"}
                        assert any(w in source for w in wanted), (where, source)
                        checked += 1
                    else:
                        assert field["value"] is None, where
    assert checked > 500  # the demo network: every audience's every view


def test_a_withheld_field_says_which_list_leaves_it_out(internal: Client) -> None:
    staff = internal(STAFF)
    # globalnet's alarms list no probable cause: that is why it is not published
    doc = staff.get(
        "/v1/admin/explain", params={"audience": "peer/globalnet", "view": "alarms", "item": 0}
    ).json()
    cause = next(f for f in doc["item"]["fields"] if f["field"] == "probable_cause")
    assert cause["status"] == "withheld"
    assert "not listed in disclose.alarm.fields" in cause["reason"]
    assert "fields:" in _line(doc["policy"]["text"], cause["rule"]["line"])


def test_a_shared_circuit_id_names_the_identifiers_rule_and_its_line(internal: Client) -> None:
    doc = (
        internal(STAFF)
        .get(
            "/v1/admin/explain",
            params={"audience": "peer/acme", "view": "interconnects", "item": 0},
        )
        .json()
    )
    assert doc["policy"]["number"] == 1 and doc["policy"]["audience"] == "peer/acme"
    ident = next(f for f in doc["item"]["fields"] if f["field"] == "id")
    assert ident["rule"]["path"] == "disclose.interconnect.fields[0]"
    (note,) = [n for n in ident["notes"] if "identifiers" in n["says"]]
    line = _line(doc["policy"]["text"], note["where"]["line"])
    assert "identifiers: shared" in line


def test_a_customer_without_its_own_policy_is_explained_by_customer_star(
    internal: Client,
) -> None:
    doc = (
        internal(STAFF)
        .get("/v1/admin/explain", params={"audience": "customer/initech", "view": "services"})
        .json()
    )
    assert doc["policy"]["audience"] == "customer/*"
    assert doc["rule"]["path"] == "disclose.service"


def test_a_view_the_policy_does_not_disclose_is_explained_as_default_deny(
    internal: Client,
) -> None:
    doc = (
        internal(STAFF)
        .get("/v1/admin/explain", params={"audience": "peer/northwind", "view": "alarms"})
        .json()
    )
    assert doc["published"] is False and doc["items"] == []
    assert "no rule disclose.alarm" in doc["reason"]


def test_explain_refuses_what_it_cannot_name(internal: Client) -> None:
    staff = internal(STAFF)
    for params in (
        {"audience": "peer/nobody", "view": "alarms"},
        {"audience": "peer/acme", "view": "services"},
        {"audience": "peer/acme", "view": "alarms", "item": 10_000},
    ):
        got = staff.get("/v1/admin/explain", params=params)
        assert got.status_code == 404, (params, got.text)
    assert (
        internal("source/feeder")
        .get("/v1/admin/explain", params={"audience": "peer/acme", "view": "alarms"})
        .status_code
        == 403
    )
