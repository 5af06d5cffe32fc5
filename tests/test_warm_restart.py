"""A clean stop writes the published views; the next start serves them back, if still exact."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from gateway.demo.network import DemoData
from gateway.views.checkpoint import take
from tests.conftest import JSON_BODY, SOURCE, Pki, RunningGateway, feed, make_settings

VIEWS = ("/v1/interconnects", "/v1/alarms", "/v1/maintenance", "/v1/topology")
AUDIENCES = ("peer/acme", "customer/globex")


def published(server: RunningGateway, pki: Pki) -> dict[tuple[str, str], tuple[int, str, bytes]]:
    out = {}
    for who in AUDIENCES:
        with server.client("public", who, pki) as client:
            for path in (*VIEWS, "/v1/services", "/v1/incidents"):
                r = client.get(path)
                out[(who, path)] = (r.status_code, r.headers.get("etag", ""), r.content)
    return out


def content(views: dict[tuple[str, str], tuple[int, str, bytes]]) -> dict[Any, Any]:
    out = {}
    for key, (status, _, body) in views.items():
        doc = msgspec.json.decode(body)
        doc.pop("revision", None)
        out[key] = (status, doc)
    return out


def renders(server: RunningGateway) -> int:
    return sum(server.gateway.refresher.renders.values())


def start(data: Path, pki: Pki, demo: DemoData, **overrides: Any) -> RunningGateway:
    return RunningGateway(make_settings(data, pki, demo, **overrides), in_process=True).start()


def fed_and_stopped(
    data: Path, pki: Pki, demo: DemoData
) -> tuple[RunningGateway, dict[tuple[str, str], tuple[int, str, bytes]]]:
    """A gateway fed the demo network and stopped cleanly, and what it published."""
    server = start(data, pki, demo)
    try:
        feed(server, pki, demo)
        return server, published(server, pki)
    finally:
        server.stop()


def test_a_clean_restart_serves_the_same_bytes_without_rendering(
    tmp_path: Path, pki: Pki, demo: DemoData
) -> None:
    server, before = fed_and_stopped(tmp_path, pki, demo)
    checkpoint = server.gateway.checkpoint_path
    assert checkpoint.exists()
    again = start(tmp_path, pki, demo)
    try:
        assert renders(again) == 0  # every view taken back: none rendered to start
        assert again.gateway.cache.revision == again.gateway.store.snapshot.revision
        assert not checkpoint.exists()  # consumed: a crash later cannot bring these back
        assert published(again, pki) == before
        # and it goes on as usual: an alarm on acme's circuit reaches its views
        link = again.gateway.store.snapshot.interconnects_by_peer["acme"][0].link_id
        alarm = {"id": "warm-1", "resource": {"link": link}, "severity": "critical",
                 "raised_at": datetime.now(UTC).isoformat()}  # fmt: skip
        with again.client("internal", SOURCE, pki) as client:
            body = msgspec.json.encode({"alarms": [alarm]})
            r = client.post("/v1/ingest/alarms", content=body, headers=JSON_BODY)
            assert r.status_code == 200, r.text
        again.call(again.gateway.refresher.wait_for(r.json()["revision"]))
        after = published(again, pki)
        assert after[("peer/acme", "/v1/alarms")] != before[("peer/acme", "/v1/alarms")]
    finally:
        again.stop()


def test_a_checkpoint_that_no_longer_holds_is_not_used(
    tmp_path: Path, pki: Pki, demo: DemoData
) -> None:
    server, before = fed_and_stopped(tmp_path, pki, demo)
    path = server.gateway.checkpoint_path
    raw = path.read_bytes()
    # another pseudonym key: every view would name other pseudonyms
    (tmp_path / "secret").write_bytes(b"k" * 32)
    assert take(path, b"k" * 32) is None
    path.write_bytes(raw)
    other = start(tmp_path, pki, demo)
    try:
        assert renders(other) > 0
        assert published(other, pki) != before
    finally:
        other.stop()


def test_an_unreadable_checkpoint_means_a_cold_start(
    tmp_path: Path, pki: Pki, demo: DemoData
) -> None:
    server, before = fed_and_stopped(tmp_path, pki, demo)
    path = server.gateway.checkpoint_path
    path.write_bytes(path.read_bytes()[:1000])  # torn
    again = start(tmp_path, pki, demo)
    try:
        assert renders(again) > 0
        # rendered again: the same content (a cold start dates every view at its revision)
        assert content(published(again, pki)) == content(before)
    finally:
        again.stop()


def test_a_moment_passed_while_stopped_means_a_cold_start(
    tmp_path: Path, pki: Pki, demo: DemoData
) -> None:
    """A window on acme's circuit that opens while the gateway is down changes views with no
    new data: the views of the stop are not what a render gives at the start."""
    import time
    from datetime import timedelta

    server = start(tmp_path, pki, demo)
    try:
        feed(server, pki, demo)
        link = server.gateway.store.snapshot.interconnects_by_peer["acme"][0].link_id
        opens = datetime.now(UTC) + timedelta(seconds=5)
        window = {"id": "mw-warm", "resources": [{"link": link}], "start": opens.isoformat(),
                  "end": (opens + timedelta(hours=1)).isoformat()}  # fmt: skip
        with server.client("internal", SOURCE, pki) as client:
            body = msgspec.json.encode({"maintenance": [window]})
            r = client.post("/v1/ingest/maintenance", content=body, headers=JSON_BODY)
            assert r.status_code == 200, r.text
        server.call(server.gateway.refresher.wait_for(r.json()["revision"]))
    finally:
        server.stop()
    assert datetime.now(UTC) < opens, "stopped after the window opened: nothing to test"
    assert server.gateway.checkpoint_path.exists()
    while datetime.now(UTC) <= opens:
        time.sleep(0.1)
    again = start(tmp_path, pki, demo)
    try:
        assert renders(again) > 0
    finally:
        again.stop()


def test_topologies_held_down_at_a_stop_are_rendered_then_and_kept(
    tmp_path: Path, pki: Pki, demo: DemoData
) -> None:
    """An internal link changed within the hold-down: the stop renders the peers' topologies
    (they take milliseconds here) and writes the views, which the next start serves as they
    are, every one of them reflecting the last commit."""
    server = start(tmp_path, pki, demo)
    try:
        feed(server, pki, demo)
        # from now on as a gateway whose topologies take long would hold them down
        server.gateway.refresher._holddown = 60.0
        links = server.gateway.store.snapshot.topology.links
        internal = next(link for link in links if link.kind.value == "internal")
        alarm = {"id": "held-1", "resource": {"link": internal.link_id}, "severity": "critical",
                 "raised_at": datetime.now(UTC).isoformat()}  # fmt: skip
        with server.client("internal", SOURCE, pki) as client:
            body = msgspec.json.encode({"alarms": [alarm]})
            r = client.post("/v1/ingest/alarms", content=body, headers=JSON_BODY)
            assert r.status_code == 200, r.text
        server.call(server.gateway.refresher.refresh())
        assert server.gateway.refresher.settled() == "topology views held down"
    finally:
        server.stop()
    assert server.gateway.checkpoint_path.exists()
    again = start(tmp_path, pki, demo)
    try:
        assert renders(again) == 0
        assert (
            again.gateway.cache.revision
            == again.gateway.store.snapshot.revision
            == int(r.json()["revision"])
        )
    finally:
        again.stop()
