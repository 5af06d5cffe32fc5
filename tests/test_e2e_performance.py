"""A peer's performance history: its own circuits only, the metrics and rounding its policy says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.demo.network import DemoData
from tests.conftest import SOURCE, RunningGateway

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
HOUR = NOW.replace(minute=0) - timedelta(hours=2)  # a whole hour, two hours ago


def _circuits(demo: DemoData, peer: str) -> dict[str, str]:
    """The peer's circuits: agreed circuit id → our internal link id."""
    links = demo.topology["ietf-network:networks"]["network"][0]["ietf-network-topology:link"]
    out = {}
    for link in links:
        attrs = link.get("ietf-te-topology:te", {}).get("te-link-attributes", {})
        if attrs.get("external-domain", {}).get("network-ref") == peer:
            out[attrs["name"]] = link["link-id"]
    return out


@pytest.fixture(scope="module")
def history(served: RunningGateway, pki: Any, demo: DemoData) -> dict[str, str]:
    """Samples every minute for two hours on one acme circuit, as a collector sends them."""
    circuit, link = sorted(_circuits(demo, "acme").items())[0]
    samples = []
    for minute in range(120):
        at = (HOUR + timedelta(minutes=minute)).isoformat()
        for metric, value in (("utilisation_pct", 40 + minute % 10 + 0.123456),
                              ("delay_ms", 1.23456), ("errors_per_s", 0.0)):  # fmt: skip
            samples.append({"resource": {"link": link}, "metric": metric, "value": value, "at": at})
    with served.client("internal", SOURCE, pki) as client:
        done = client.post("/v1/ingest/metrics", json={"samples": samples})
        assert done.status_code == 200, done.text
    served.call(served.gateway.refresher.wait_for(done.json()["revision"]))
    return {"circuit": circuit, "link": link}


def _get(client: Any, circuit: str, **params: str) -> Any:
    return client.get(f"/v1/interconnects/{circuit}/performance", params=params)


def test_five_minute_buckets_rounded_as_the_policy_says(
    public: Any, history: dict[str, str]
) -> None:
    since = HOUR.isoformat()
    until = (HOUR + timedelta(hours=2)).isoformat()
    response = _get(public("peer/acme"), history["circuit"], since=since, until=until)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["audience"] == "peer/acme" and body["view"] == "performance"
    doc = body["performance"]
    assert doc["interconnect"] == history["circuit"] and doc["granularity"] == "5m"
    series = doc["series"]
    # every metric the policy lists, whether or not samples came; nothing it does not list
    assert set(series) == {"utilisation_pct", "delay_ms", "loss_pct", "errors_per_s"}
    assert len(series["utilisation_pct"]) == 24 and series["loss_pct"] == []
    first = series["utilisation_pct"][0]
    assert first == {
        "start": HOUR.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "min": 40.1,
        "avg": 42.1,
        "max": 44.1,
    }  # round: {utilisation_pct: 1}; minutes 0-4 sent 40.123456 … 44.123456
    assert series["delay_ms"][0]["avg"] == 1.23  # round: delay_ms 2
    assert history["link"] not in response.text  # the internal link id is never named


def test_hourly_buckets(public: Any, history: dict[str, str]) -> None:
    since, until = HOUR.isoformat(), (HOUR + timedelta(hours=2)).isoformat()
    client = public("peer/acme")
    response = _get(client, history["circuit"], granularity="1h", since=since, until=until)
    buckets = response.json()["performance"]["series"]["utilisation_pct"]
    assert [b["avg"] for b in buckets] == [44.6, 44.6]  # 40..49, six times each
    assert [b["min"] for b in buckets] == [40.1, 40.1] and [b["max"] for b in buckets] == [49.1] * 2


def test_another_peers_circuit_is_answered_as_one_that_does_not_exist(
    public: Any, demo: DemoData, history: dict[str, str]
) -> None:
    client = public("peer/acme")
    other = sorted(_circuits(demo, "globalnet"))[0]
    theirs, missing = _get(client, other), _get(client, "NO-SUCH-CIRCUIT")
    internal_id = _get(client, history["link"])  # our link id is no name a peer can use
    assert theirs.status_code == missing.status_code == internal_id.status_code == 404
    assert theirs.content == missing.content == internal_id.content


def test_no_performance_rule_no_history(public: Any, demo: DemoData) -> None:
    circuit = sorted(_circuits(demo, "globalnet"))[0]
    assert _get(public("peer/globalnet"), circuit).status_code == 404
    assert _get(public("customer/globex"), circuit).status_code == 404


def test_spans_are_checked_and_bounded(public: Any, history: dict[str, str]) -> None:
    client = public("peer/acme")
    backwards = _get(client, history["circuit"], since=NOW.isoformat(),
                     until=(NOW - timedelta(hours=1)).isoformat())  # fmt: skip
    too_long = _get(client, history["circuit"], since=(NOW - timedelta(days=8)).isoformat())
    for response in (backwards, too_long):
        assert response.status_code == 422
        assert [p["where"] for p in response.json()["error"]["problems"]] == ["query.since"]
    naive = _get(client, history["circuit"], since="2026-01-01T00:00:00")  # no offset
    assert naive.status_code == 422
    # the policy's 90 days bound how far back a peer may look: an earlier since is cut there
    old = _get(client, history["circuit"], granularity="1h",
               since=(NOW - timedelta(days=100)).isoformat(),
               until=(NOW - timedelta(days=20)).isoformat())  # fmt: skip
    assert old.status_code == 200
    since = datetime.fromisoformat(old.json()["performance"]["since"].replace("Z", "+00:00"))
    assert since >= NOW - timedelta(days=90, minutes=1)


def test_an_answer_is_a_recorded_disclosure_and_revalidates(
    served: RunningGateway, public: Any, history: dict[str, str]
) -> None:
    client = public("peer/acme")
    first = _get(client, history["circuit"], since=HOUR.isoformat(),
                 until=(HOUR + timedelta(hours=1)).isoformat())  # fmt: skip
    again = client.get(first.url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    served.call(served.gateway.audit.flush())
    names = [
        row["view"]
        for row in served.gateway.policy_db.events({"principal": "peer/acme"}, limit=200)
        if row["kind"] == "disclosure"
    ]
    assert f"performance/{history['circuit']}" in names
