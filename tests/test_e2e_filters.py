"""A customer's lists filtered by service and time: subsets of what is published, paged alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gateway.demo.network import DemoData

Client = Callable[[str], httpx.Client]


def _items(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _all_pages(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item, following ``Link: rel="next"`` as a client would."""
    out: list[dict[str, Any]] = []
    response = client.get(path, params=params)
    while True:
        assert response.status_code == 200, response.text
        out += response.json()["items"]
        link = response.headers.get("link")
        if link is None:
            return out
        response = client.get(link.split(">")[0].lstrip("<"))


@pytest.mark.parametrize("view", ["incidents", "maintenance", "services", "history"])
def test_a_service_filter_keeps_exactly_the_items_of_that_service(
    public: Client, view: str
) -> None:
    client = public("customer/globex")
    every = _items(client, f"/v1/{view}")
    services = [s["id"] for s in _items(client, "/v1/services")]
    for service in services:
        expected = [
            i for i in every
            if (i["id"] == service if view in ("services", "history") else service in i["services"])
        ]  # fmt: skip
        assert _items(client, f"/v1/{view}", service=service) == expected
    # another customer's service, or one that does not exist: nothing, and nothing said
    other = _items(public("customer/initech"), "/v1/services")[0]["id"]
    assert _items(client, f"/v1/{view}", service=other) == []
    assert _items(client, f"/v1/{view}", service="SVC-NONE") == []


def test_a_period_keeps_the_incidents_and_work_that_overlap_it(public: Client) -> None:
    client = public("customer/globex")
    incidents = _items(client, "/v1/incidents")
    assert any(i["cleared_at"] for i in incidents) and any(not i["cleared_at"] for i in incidents)
    now = datetime.now(UTC)
    since = now - timedelta(hours=2)
    recent = _items(client, "/v1/incidents", since=since.isoformat())
    assert recent == [i for i in incidents if not i["cleared_at"] or _t(i["cleared_at"]) > since]
    assert len(recent) < len(incidents)  # the one resolved yesterday is left out
    until = now - timedelta(hours=6)
    older = _items(client, "/v1/incidents", until=until.isoformat())
    assert older == [i for i in incidents if _t(i["started_at"]) < until]
    work = _items(client, "/v1/maintenance")
    future = _items(client, "/v1/maintenance", since=(now + timedelta(days=1)).isoformat())
    assert future == [w for w in work if _t(w["end"]) > now + timedelta(days=1)]


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_a_period_cuts_a_history_to_its_days_and_months(public: Client) -> None:
    client = public("customer/globex")
    whole = _items(client, "/v1/history")
    days = [d["date"] for d in whole[0]["days"]]
    first, last = days[10], days[16]
    cut = _items(client, "/v1/history", since=f"{first}T00:00:00Z", until=f"{last}T00:00:00Z")
    assert [i["id"] for i in cut] == [i["id"] for i in whole]
    for item, full in zip(cut, whole, strict=True):
        assert [d["date"] for d in item["days"]] == days[10:16]
        assert item["days"] == full["days"][10:16]  # the figures as published
        months = {d[:7] for d in days[10:16]}
        assert [m["month"] for m in item["months"]] == sorted(months)
        assert item["sla"] == full["sla"]


def test_filtered_lists_are_paged_and_the_next_link_keeps_the_filter(public: Client) -> None:
    client = public("customer/globex")
    service = _items(client, "/v1/services")[0]["id"]
    expected = _items(client, "/v1/history", service=service)
    first = client.get("/v1/history", params={"service": service, "limit": 1})
    assert first.status_code == 200
    since = "2000-01-01T00:00:00Z"
    paged = _all_pages(client, "/v1/history", service=service, since=since, limit=1)
    assert [i["id"] for i in paged] == [i["id"] for i in expected]
    everything = _all_pages(client, "/v1/incidents", since=since, limit=1)
    assert everything == _items(client, "/v1/incidents")
    link = client.get("/v1/incidents", params={"since": since, "limit": 1}).headers["link"]
    assert link.startswith("</v1/incidents?since=2000-01-01T00:00:00Z&limit=1&cursor=")
    # a filtered answer has its own ETag, and a poll with it is a 304
    etag = first.headers["etag"]
    again = client.get("/v1/history", params={"service": service, "limit": 1},
                       headers={"if-none-match": etag})  # fmt: skip
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"since": "yesterday"}, "query.since"),
        ({"until": "2026-01-01T00:00:00"}, "query.until"),  # no offset
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "query.until"),
        ({"service": "x" * 300}, "query.service"),
        ({"service": ""}, "query.service"),
    ],
)
def test_a_filter_that_does_not_validate_is_a_422_saying_where(
    public: Client, params: dict[str, str], where: str
) -> None:
    for view in ("incidents", "maintenance", "services", "history"):
        response = public("customer/globex").get(f"/v1/{view}", params=params)
        assert response.status_code == 422, (view, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_input"
        assert next(p["where"] for p in error["problems"]).startswith(where), error


def test_filtered_bytes_are_cut_from_the_published_items(public: Client, demo: DemoData) -> None:
    """Nothing in a filtered answer that the whole list did not publish."""
    client = public("customer/globex")
    whole = client.get("/v1/incidents").content
    service = _items(client, "/v1/services")[0]["id"]
    for item in _items(client, "/v1/incidents", service=service):
        assert item in _items(client, "/v1/incidents")
    assert all(s.encode() not in whole for s in demo.secrets.node_names)


def test_a_peer_filters_its_alarms_by_period(public: Client) -> None:
    client = public("peer/acme")
    alarms = _items(client, "/v1/alarms")
    assert alarms
    for alarm in alarms:
        raised = _t(alarm["raised_at"])
        before = _items(client, "/v1/alarms", until=raised.isoformat())
        after = _items(client, "/v1/alarms", until=(raised + timedelta(seconds=1)).isoformat())
        assert alarm not in before and alarm in after
        assert after == [a for a in alarms if _t(a["raised_at"]) <= raised]
