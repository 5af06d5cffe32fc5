"""The change feed: events made from what each audience's views published, in order, resumable."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from gateway.demo.network import DemoData
from tests.conftest import SOURCE, Pki, RunningGateway, feed, make_settings
from tests.waiting import wait_until

PEER, CUSTOMER = "peer/acme", "customer/globex"


@pytest.fixture(scope="module")
def fed(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
) -> Iterator[RunningGateway]:
    data_dir = tmp_path_factory.mktemp("events")
    server = RunningGateway(make_settings(data_dir, pki, demo), in_process=True).start()
    try:
        feed(server, pki, demo)
        settle(server)
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def settle(server: RunningGateway) -> None:
    """Every publication so far is written to the feed."""
    server.call(server.gateway.push.feed.settled())


def ingest(server: RunningGateway, pki: Pki, route: str, body: dict[str, Any]) -> None:
    with server.client("internal", SOURCE, pki) as client:
        answer = client.post(route, json=body)
        assert answer.status_code == 200, answer.text
    server.call(server.gateway.refresher.wait_for(answer.json()["revision"]))
    settle(server)


def read_all(client: httpx.Client, after: str | None = None) -> tuple[list[dict[str, Any]], str]:
    events: list[dict[str, Any]] = []
    while True:
        params = {"limit": "1000", **({"after": after} if after else {})}
        answer = client.get("/v1/events", params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        events += page["events"]
        if not page["events"]:
            return events, page["next_cursor"]
        after = page["next_cursor"]


def _acme_circuit(demo: DemoData) -> tuple[str, str]:
    """(internal link id, agreed circuit name) of one of acme's interconnects."""
    links = demo.topology["ietf-network:networks"]["network"][0]["ietf-network-topology:link"]
    for link in links:
        attrs = link.get("ietf-te-topology:te", {}).get("te-link-attributes", {})
        if attrs.get("external-domain", {}).get("network-ref") == "acme":
            return link["link-id"], attrs["name"]
    raise AssertionError("acme has interconnects in the demo")


def test_the_feed_starts_with_every_item_as_the_views_publish_it(
    fed: RunningGateway, pki: Pki, demo: DemoData
) -> None:
    with fed.client("public", PEER, pki) as client:
        events, _ = read_all(client)
        views = {v: client.get(f"/v1/{v}").json()["items"]
                 for v in ("interconnects", "alarms", "maintenance")}  # fmt: skip
    assert [e["eventId"] for e in events] == [str(i) for i in range(1, len(events) + 1)]
    kinds = {"interconnects": "interconnect", "alarms": "alarm", "maintenance": "maintenance"}
    for view, items in views.items():
        # the feed replayed in order gives each item exactly as the view publishes it now
        latest: dict[str, Any] = {}
        for e in events:
            if e["view"] == view:
                item = e["event"][kinds[view]]
                if e["eventType"].endswith("DeleteEvent"):
                    latest.pop(item["id"])
                else:
                    latest[item["id"]] = item
        assert list(latest.values()) == items or sorted(latest) == [i["id"] for i in items]
        assert all(latest[i["id"]] == i for i in items)
    secret = [*demo.secrets.node_names, *demo.secrets.node_ids]
    assert not any(name in str(events) for name in secret)


def test_an_alarm_raised_and_cleared_is_two_events_in_order(
    fed: RunningGateway, pki: Pki, demo: DemoData
) -> None:
    link, circuit = _acme_circuit(demo)
    with fed.client("public", PEER, pki) as client:
        _, cursor = read_all(client)
        alarm = {"id": "T-EV-1", "resource": {"link": link}, "severity": "major",
                 "raised_at": "2031-01-01T00:00:00Z", "probable_cause": "lossOfSignal",
                 "text": "LOS behind p1.lon2"}  # fmt: skip
        ingest(fed, pki, "/v1/ingest/alarms", {"alarms": [alarm]})
        raised, cursor2 = read_all(client, cursor)
        ingest(fed, pki, "/v1/ingest/alarms",
               {"alarms": [{**alarm, "cleared_at": "2031-01-01T00:05:00Z"}]})  # fmt: skip
        cleared, _ = read_all(client, cursor2)
        alarms = client.get("/v1/alarms").json()["items"]
    created = [e for e in raised if e["eventType"] == "AlarmCreateEvent"]
    assert len(created) == 1
    item = created[0]["event"]["alarm"]
    assert item["resource"] == circuit and item["state"] == "active"
    assert "text" not in item or "p1.lon2" not in item["text"]  # as the policy publishes it
    changes = [e for e in cleared if e["view"] == "alarms"]
    assert [e["eventType"] for e in changes] == ["AlarmStateChangeEvent"]
    assert changes[0]["event"]["alarm"]["state"] == "cleared"
    assert changes[0]["event"]["alarm"] in alarms
    assert int(changes[0]["eventId"]) > int(created[0]["eventId"])
    # the interconnect went degraded and back: its status changes are events too
    statuses = [e["event"]["interconnect"]["status"] for e in raised + cleared
                if e["eventType"] == "InterconnectStatusChangeEvent"]  # fmt: skip
    assert statuses == ["degraded", "up"]


def test_a_customer_hears_of_its_service_going_down(
    fed: RunningGateway, pki: Pki, demo: DemoData
) -> None:
    with fed.client("public", CUSTOMER, pki) as client:
        _, cursor = read_all(client)
        services = {s["id"]: s for s in client.get("/v1/services").json()["items"]}
        target = next(
            s for s in demo.services["services"]
            if s["customer"] == "globex" and services[s["id"]]["status"] == "operational"
        )  # fmt: skip
        alarm = {"id": "T-EV-2", "resource": target["endpoints"][0], "severity": "critical",
                 "raised_at": "2031-01-01T00:00:00Z", "probable_cause": "lossOfSignal"}  # fmt: skip
        ingest(fed, pki, "/v1/ingest/alarms", {"alarms": [alarm]})
        events, _ = read_all(client, cursor)
    types = [e["eventType"] for e in events]
    assert "ServiceStatusChangeEvent" in types
    assert "IncidentCreateEvent" in types
    changed = next(e for e in events if e["eventType"] == "ServiceStatusChangeEvent")
    assert changed["event"]["service"]["id"] == target["id"]
    assert changed["event"]["service"]["status"] == "outage"


def test_a_maintenance_window_is_a_create_event(
    fed: RunningGateway, pki: Pki, demo: DemoData
) -> None:
    link, _ = _acme_circuit(demo)
    with fed.client("public", PEER, pki) as client:
        _, cursor = read_all(client)
        window = {"id": "T-CHG-1", "resources": [{"link": link}], "start": "2031-02-01T00:00:00Z",
                  "end": "2031-02-01T04:00:00Z", "status": "scheduled"}  # fmt: skip
        ingest(fed, pki, "/v1/ingest/maintenance", {"maintenance": [window]})
        events, _ = read_all(client, cursor)
    assert [e["eventType"] for e in events] == ["MaintenanceCreateEvent"]
    assert events[0]["event"]["maintenance"]["start"] == "2031-02-01T00:00:00Z"


def test_a_cursor_of_another_audience_or_altered_is_422(fed: RunningGateway, pki: Pki) -> None:
    with fed.client("public", PEER, pki) as acme, fed.client("public", CUSTOMER, pki) as globex:
        _, theirs = read_all(globex)
        stolen = acme.get("/v1/events", params={"after": theirs})
        altered = acme.get("/v1/events", params={"after": theirs[:-2] + "AA"})
    for answer in (stolen, altered):
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "invalid_cursor"
        assert answer.json()["error"]["problems"][0]["where"] == "query.after"


def test_start_latest_gives_no_events_and_a_cursor_to_follow(fed: RunningGateway, pki: Pki) -> None:
    with fed.client("public", PEER, pki) as client:
        latest = client.get("/v1/events", params={"start": "latest"}).json()
        after = client.get("/v1/events", params={"after": latest["next_cursor"]}).json()
    assert latest["events"] == [] and after["events"] == []
    assert after["next_cursor"] == latest["next_cursor"]


def test_a_held_feed_answers_with_the_next_event(
    fed: RunningGateway, pki: Pki, demo: DemoData
) -> None:
    link, _ = _acme_circuit(demo)
    with fed.client("public", PEER, pki) as client, ThreadPoolExecutor(1) as pool:
        _, cursor = read_all(client)
        started = time.monotonic()
        held = pool.submit(client.get, "/v1/events", params={"after": cursor, "wait": "30"})
        wait_until(lambda: fed.gateway.push.waiters.held[PEER] == 1, "the feed to be held")
        window = {"id": "T-CHG-2", "resources": [{"link": link}], "start": "2031-03-01T00:00:00Z",
                  "end": "2031-03-01T04:00:00Z", "status": "scheduled"}  # fmt: skip
        ingest(fed, pki, "/v1/ingest/maintenance", {"maintenance": [window]})
        answer = held.result(timeout=20)
    assert answer.status_code == 200
    assert [e["eventType"] for e in answer.json()["events"]] == ["MaintenanceCreateEvent"]
    assert time.monotonic() - started < 10


def test_a_cursor_older_than_the_retention_is_410(fed: RunningGateway, pki: Pki) -> None:
    feed_ = fed.gateway.push.feed
    with fed.client("public", PEER, pki) as client:
        first = client.get("/v1/events", params={"limit": "1"}).json()
        # a day's retention, at most one event per audience: all but the newest go
        capped = fed.call(asyncio.to_thread(feed_.prune, 24, 1, {}))
        kept = client.get("/v1/events").json()
        gone = client.get("/v1/events", params={"after": first["next_cursor"]})
        # a retention of a few µs: every event goes; the feed's position stays
        aged = fed.call(asyncio.to_thread(feed_.prune, 1e-9, 1000, {}))
        empty = client.get("/v1/events").json()
        followed = client.get("/v1/events", params={"after": kept["next_cursor"]})
    assert capped > 0 and aged >= 1  # one per audience
    assert len(kept["events"]) == 1
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "gone"
    assert "re-read the views" in gone.json()["error"]["message"]
    assert empty["events"] == [] and empty["next_cursor"] == kept["next_cursor"]
    assert followed.status_code == 200 and followed.json()["events"] == []


def test_the_feed_goes_on_across_a_restart_without_repeating(
    tmp_path: Any, pki: Pki, demo: DemoData
) -> None:
    settings = make_settings(tmp_path / "gw", pki, demo)
    server = RunningGateway(settings, in_process=True).start()
    try:
        feed(server, pki, demo)
        settle(server)
        with server.client("public", PEER, pki) as client:
            before, cursor = read_all(client)
    finally:
        server.stop()
    again = RunningGateway(settings, in_process=True).start()
    try:
        settle(again)
        link, _ = _acme_circuit(demo)
        with again.client("public", PEER, pki) as client:
            nothing, _ = read_all(client, cursor)
            window = {"id": "T-CHG-3", "resources": [{"link": link}],
                      "start": "2031-04-01T00:00:00Z", "end": "2031-04-01T04:00:00Z",
                      "status": "scheduled"}  # fmt: skip
            ingest(again, pki, "/v1/ingest/maintenance", {"maintenance": [window]})
            after, _ = read_all(client, cursor)
    finally:
        again.stop()
    assert before and nothing == []  # the restart re-published the same items: no event
    assert [e["eventId"] for e in after] == [str(len(before) + 1)]
