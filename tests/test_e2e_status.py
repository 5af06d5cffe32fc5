"""A customer's status page over the public API: summary and availability history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.demo.network import DemoData

WORST = ("outage", "degraded", "maintenance", "unknown", "operational")


def test_summary_is_the_worst_status_and_every_service_in_its_group(
    public: Any, demo: DemoData
) -> None:
    client = public("customer/globex")
    services = client.get("/v1/services").json()["items"]
    response = client.get("/v1/summary")
    assert response.status_code == 200, response.text
    assert response.headers["etag"] and response.json()["view"] == "summary"
    summary = response.json()["summary"]
    assert summary["status"] == min((s["status"] for s in services), key=WORST.index)
    listed = [s for g in summary["groups"] for s in g["services"]]
    assert sorted(listed, key=lambda s: s["id"]) == sorted(services, key=lambda s: s["id"])
    for group in summary["groups"]:
        assert all(s["group"] == group["name"] for s in group["services"])
        assert group["status"] == min((s["status"] for s in group["services"]), key=WORST.index)
    incidents = client.get("/v1/incidents").json()["items"]
    assert summary["incidents"]["active"] == sum(i["state"] == "active" for i in incidents)
    assert (
        client.get("/v1/summary", headers={"if-none-match": response.headers["etag"]}).status_code
        == 304
    )


def test_history_has_every_day_of_the_period_and_months_judged_on_the_sla(public: Any) -> None:
    client = public("customer/globex")
    items = client.get("/v1/history").json()["items"]
    services = {s["id"]: s for s in client.get("/v1/services").json()["items"]}
    assert {i["id"] for i in items} == set(services)
    today = datetime.now(UTC).date()
    for item in items:
        days = item["days"]
        assert len(days) == 90
        # whole UTC days up to yesterday (a test running across midnight sees either)
        yesterday = today - timedelta(days=1)
        assert days[-1]["date"] in (yesterday.isoformat(), today.isoformat())
        assert days[0]["date"] in (
            (today - timedelta(days=90)).isoformat(),
            (today - timedelta(days=91)).isoformat(),
        )
        assert all(
            0 <= d["availability_pct"] <= 100 for d in days if d["availability_pct"] is not None
        )
        assert item["sla"]["availability_pct"] == services[item["id"]]["sla"]["availability_pct"]
        for month in item["months"]:
            assert month["met"] == (month["availability_pct"] >= month["target_pct"]) or (
                round(month["availability_pct"], 3) == round(month["target_pct"], 3)
            )
        assert sum(m["days"] for m in item["months"]) == 90
    one = items[0]
    single = client.get(f"/v1/history/{one['id']}")
    assert single.status_code == 200 and single.json()["item"] == one


def test_history_and_summary_are_customer_views_only(public: Any) -> None:
    client = public("peer/acme")
    assert client.get("/v1/summary").status_code == 404
    assert client.get("/v1/history").status_code == 404
    other = public("customer/initech").get("/v1/history").json()["items"]
    mine = {i["id"] for i in public("customer/globex").get("/v1/history").json()["items"]}
    assert mine.isdisjoint(i["id"] for i in other)
    assert public("customer/initech").get(f"/v1/history/{sorted(mine)[0]}").status_code == 404
