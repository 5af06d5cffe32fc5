"""Atom and iCalendar feeds, made from the disclosed views, valid by their parsers, screened."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime

import feedparser
import pytest
from icalendar import Calendar

from gateway.demo.network import DemoData
from gateway.push.feeds import FeedBody
from tests.conftest import SOURCE, Pki, RunningGateway, feed, make_settings

CUSTOMER = "customer/globex"


@pytest.fixture(scope="module")
def fed(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
) -> Iterator[RunningGateway]:
    data_dir = tmp_path_factory.mktemp("feeds")
    server = RunningGateway(make_settings(data_dir, pki, demo), in_process=True).start()
    try:
        feed(server, pki, demo)
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _secrets(demo: DemoData) -> list[str]:
    return sorted({*demo.secrets.node_names, *demo.secrets.node_ids})


def test_the_incidents_feed_is_valid_atom_with_one_entry_per_incident(
    fed: RunningGateway, pki: Pki, demo: DemoData
) -> None:
    with fed.client("public", CUSTOMER, pki) as client:
        answer = client.get("/v1/feeds/incidents.atom")
        incidents = client.get("/v1/incidents").json()["items"]
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(answer.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert incidents, "the demo has incidents for globex"
    assert len(parsed.entries) == len(incidents)
    for entry, incident in zip(parsed.entries, incidents, strict=True):
        assert entry.id.endswith(f":incident:{incident['id']}")
        assert f"id: {incident['id']}" in entry.content[0].value
        assert incident["impact"].capitalize() in entry.title
    assert not [s for s in _secrets(demo) if s.encode() in answer.content]


def test_the_maintenance_calendar_is_valid_icalendar(
    fed: RunningGateway, pki: Pki, demo: DemoData
) -> None:
    for who in (CUSTOMER, "peer/acme"):
        with fed.client("public", who, pki) as client:
            answer = client.get("/v1/feeds/maintenance.ics")
            windows = client.get("/v1/maintenance").json()["items"]
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/calendar")
        calendar = Calendar.from_ical(answer.content)
        events = list(calendar.walk("VEVENT"))
        dated = [w for w in windows if w.get("start") and w.get("end")]
        assert dated, f"the demo has maintenance for {who}"
        assert len(events) == len(dated)
        for event, window in zip(events, dated, strict=True):
            assert event.decoded("dtstart") == datetime.fromisoformat(window["start"])
            assert event.decoded("dtend") == datetime.fromisoformat(window["end"])
            assert str(event["uid"]).startswith(f"{window['id']}@")
            assert event.get("dtstamp") is not None  # required by RFC 5545
        assert len({str(e["uid"]) for e in events}) == len(events)
        assert not [s for s in _secrets(demo) if s.encode() in answer.content]


def test_feeds_have_etags_and_change_with_their_view(
    fed: RunningGateway, pki: Pki, demo: DemoData
) -> None:
    with fed.client("public", CUSTOMER, pki) as client:
        first = client.get("/v1/feeds/incidents.atom")
        again = client.get("/v1/feeds/incidents.atom")
        cached = client.get(
            "/v1/feeds/incidents.atom", headers={"If-None-Match": first.headers["etag"]}
        )
        head = client.head("/v1/feeds/incidents.atom")
        services = {s["id"]: s for s in client.get("/v1/services").json()["items"]}
        target = next(
            s for s in demo.services["services"]
            if s["customer"] == "globex" and services[s["id"]]["status"] == "operational"
        )  # fmt: skip
        alarm = {"id": "T-FEED-1", "resource": target["endpoints"][0], "severity": "critical",
                 "raised_at": "2031-01-01T00:00:00Z", "probable_cause": "lossOfSignal"}  # fmt: skip
        with fed.client("internal", SOURCE, pki) as source:
            revision = source.post("/v1/ingest/alarms", json={"alarms": [alarm]}).json()["revision"]
        fed.call(fed.gateway.refresher.wait_for(revision))
        changed = client.get("/v1/feeds/incidents.atom")
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert cached.status_code == 304 and cached.content == b""
    assert head.status_code == 200 and head.headers["etag"] == first.headers["etag"]
    assert changed.headers["etag"] != first.headers["etag"]
    entries = feedparser.parse(changed.content).entries
    assert len(entries) == len(feedparser.parse(first.content).entries) + 1


def test_a_feed_of_a_view_not_disclosed_is_404(fed: RunningGateway, pki: Pki) -> None:
    with fed.client("public", "peer/acme", pki) as client:  # peers have no incidents view
        answer = client.get("/v1/feeds/incidents.atom")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_a_feed_naming_something_internal_is_withheld(
    fed: RunningGateway, pki: Pki, demo: DemoData
) -> None:
    """The egress guard screens feeds like every body that is not a view: a feed made wrong
    (here: planted, as if a template copied a router name into it) is not sent."""
    with fed.client("public", CUSTOMER, pki) as client:
        view = fed.gateway.cache.get(CUSTOMER).views["incidents"]
        router = _secrets(demo)[0].encode()
        bad = b"<feed>" + router + b"</feed>"
        made = fed.gateway.push.feeds._made
        made[(CUSTOMER, "incidents.atom")] = FeedBody(bad, '"planted"', view.etag)
        try:
            answer = client.get("/v1/feeds/incidents.atom")
        finally:
            made.pop((CUSTOMER, "incidents.atom"))
    assert answer.status_code == 503
    assert router not in answer.content
    assert answer.json()["error"]["code"] == "withheld"
