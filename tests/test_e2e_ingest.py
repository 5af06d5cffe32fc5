"""End to end over real TLS: ingest validates, commits before acknowledging, survives restarts."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import msgspec

from gateway.demo.network import DemoData
from tests.conftest import JSON_BODY, SOURCE, STAFF, Pki, RunningGateway, feed, make_settings


def _status(internal: Any) -> dict[str, Any]:
    response = internal(STAFF).get("/v1/admin/status")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _views(public: Any) -> dict[str, bytes]:
    out = {}
    for principal, path in (("peer/acme", "/v1/interconnects"), ("peer/acme", "/v1/alarms"),
                            ("customer/globex", "/v1/services")):  # fmt: skip
        out[f"{principal}{path}"] = public(principal).get(path).content
    return out


def test_invalid_topology_is_rejected_with_paths_and_changes_nothing(
    internal: Any, public: Any, demo: DemoData
) -> None:
    before, views = _status(internal), _views(public)
    bad = copy.deepcopy(demo.topology)
    network = bad["ietf-network:networks"]["network"][0]
    network["node"][2]["node-id"] = 42  # wrong type
    del network["ietf-network-topology:link"][5]["source"]  # missing
    response = internal(SOURCE).put(
        "/v1/ingest/topology", content=msgspec.json.encode(bad), headers=JSON_BODY
    )
    assert response.status_code == 422
    wheres = {p["where"] for p in response.json()["error"]["problems"]}
    assert wheres == {
        "$.ietf-network:networks.network[0].node[2].node-id",
        "$.ietf-network:networks.network[0].ietf-network-topology:link[5].source",
    }
    # structurally valid, but a link that ends on a node that does not exist
    dangling = copy.deepcopy(demo.topology)
    links = dangling["ietf-network:networks"]["network"][0]["ietf-network-topology:link"]
    links[7]["destination"]["dest-node"] = "nowhere.example.net"
    response = internal(SOURCE).put(
        "/v1/ingest/topology", content=msgspec.json.encode(dangling), headers=JSON_BODY
    )
    assert response.status_code == 422
    wheres = {p["where"] for p in response.json()["error"]["problems"]}
    assert any(w.startswith("$.ietf-network:networks.network[0].ietf-network-topology:link[7]")
               for w in wheres)  # fmt: skip
    assert _status(internal)["revision"] == before["revision"]
    assert _views(public) == views


def test_invalid_alertmanager_payload_is_rejected_with_paths_and_changes_nothing(
    internal: Any, public: Any, demo: DemoData
) -> None:
    before, views = _status(internal), _views(public)
    bad = copy.deepcopy(demo.alertmanager)
    bad["alerts"][0]["status"] = "exploded"
    bad["alerts"][1]["startsAt"] = "yesterday"
    response = internal(SOURCE).post(
        "/v1/ingest/alertmanager", content=msgspec.json.encode(bad), headers=JSON_BODY
    )
    assert response.status_code == 422
    wheres = {p["where"] for p in response.json()["error"]["problems"]}
    assert {"$.alerts[0].status", "$.alerts[1].startsAt"} <= wheres
    assert _status(internal)["revision"] == before["revision"]
    assert _views(public) == views


def test_malformed_json_is_422_at_the_root(internal: Any) -> None:
    response = internal(SOURCE).post(
        "/v1/ingest/alarms", content=b'{"alarms": [', headers=JSON_BODY
    )
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["where"] == "$"


def test_oversized_payload_is_413_and_changes_nothing(
    served: RunningGateway, internal: Any
) -> None:
    before = _status(internal)["revision"]
    limit = served.settings.max_body_bytes
    body = b'{"alarms": [' + b" " * limit + b"]}"
    response = internal(SOURCE).post("/v1/ingest/alarms", content=body, headers=JSON_BODY)
    assert response.status_code == 413
    assert _status(internal)["revision"] == before


def test_oversized_chunked_payload_without_length_is_413(internal: Any) -> None:
    def chunks() -> Any:
        for _ in range(80):
            yield b" " * 65536  # 5 MiB in all, above the 4 MiB limit of this server

    response = internal(SOURCE).post("/v1/ingest/alarms", content=chunks(), headers=JSON_BODY)
    assert response.status_code == 413


def test_alertmanager_resolved_clears_the_alarm_for_the_peer(
    served: RunningGateway, internal: Any, public: Any, demo: DemoData
) -> None:
    down = [i for i in public("peer/globalnet").get("/v1/interconnects").json()["items"]
            if i["status"] == "down"]  # fmt: skip
    assert len(down) == 1
    resolved = copy.deepcopy(demo.alertmanager)
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2099-01-01T00:00:00Z"
    response = internal(SOURCE).post(
        "/v1/ingest/alertmanager", content=msgspec.json.encode(resolved), headers=JSON_BODY
    )
    assert response.status_code == 200
    served.call(served.gateway.refresher.wait_for(response.json()["revision"]))
    items = public("peer/globalnet").get("/v1/interconnects").json()["items"]
    assert [i["status"] for i in items if i["id"] == down[0]["id"]] == ["up"]


def test_acknowledged_data_is_on_disk_and_survives_a_restart(
    tmp_path: Path, pki: Pki, demo: DemoData
) -> None:
    settings = make_settings(tmp_path / "gw", pki, demo)
    server = RunningGateway(settings).start()
    try:
        revision = feed(server, pki, demo)
        with httpx.Client(base_url=server.public_url, verify=pki.context("peer/acme")) as c:
            before = c.get("/v1/interconnects").json()
    finally:
        server.stop()
    # the acknowledged revision is in the SQLite file itself
    with sqlite3.connect(settings.database_path) as db:
        assert db.execute("SELECT value FROM meta WHERE key='revision'").fetchone() == (
            str(revision),
        )
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    again = RunningGateway(settings).start()
    try:
        with httpx.Client(base_url=again.public_url, verify=pki.context("peer/acme")) as c:
            after = c.get("/v1/interconnects")
        assert after.status_code == 200
        assert after.json()["items"] == before["items"]
        # the revision of the view's content as its body states it, within what was acknowledged
        assert after.headers["demarc-revision"] == str(after.json()["revision"])
        assert 0 < before["revision"] <= after.json()["revision"] <= revision
    finally:
        again.stop()


def test_staff_see_truncated_alerts_and_unmapped_values_in_status(
    internal: Any, demo: DemoData
) -> None:
    before = _status(internal)["alertmanager"]
    payload = copy.deepcopy(demo.alertmanager)
    payload["truncatedAlerts"] = 3
    payload["alerts"] = payload["alerts"][:1]
    payload["alerts"][0]["labels"].update({"alertname": "PNIDown_fra1", "severity": "P9"})
    response = internal(SOURCE).post(
        "/v1/ingest/alertmanager", content=msgspec.json.encode(payload), headers=JSON_BODY
    )
    assert response.status_code == 200
    after = _status(internal)["alertmanager"]
    assert after["truncated_alerts"] == before["truncated_alerts"] + 3
    assert after["unmapped_causes"].get("PNIDown_fra1", 0) == (
        before["unmapped_causes"].get("PNIDown_fra1", 0) + 1
    )
    assert (
        after["unmapped_severities"].get("P9", 0) == before["unmapped_severities"].get("P9", 0) + 1
    )


def test_staff_status_counts_stale_references_and_the_demo_has_none(internal: Any) -> None:
    stale = _status(internal)["stale_references"]
    assert stale == {
        "services": 0,
        "alarms": 0,
        "maintenance": 0,
        "ids": {"services": [], "alarms": [], "maintenance": []},
    }


def test_lenient_bodies_are_refused_and_change_nothing(internal: Any, public: Any) -> None:
    """A key named twice, a body without a JSON Content-Type: refused, nothing stored."""
    before, views = _status(internal), _views(public)
    source = internal(SOURCE)
    twice = b'{"alarms": [], "alarms": [{"id": "x"}]}'
    response = source.post("/v1/ingest/alarms", content=twice, headers=JSON_BODY)
    assert response.status_code == 422
    [problem] = response.json()["error"]["problems"]
    assert problem["where"] == "$" and 'the key "alarms" appears twice' in problem["message"]
    for headers in ({"content-type": "text/plain"}, {"content-type": "application/yaml"}, {}):
        response = source.post("/v1/ingest/alarms", content=b'{"alarms": []}', headers=headers)
        assert response.status_code == 415, headers
        error = response.json()["error"]
        assert error == {
            "code": "unsupported_media_type",
            "message": "the body needs Content-Type application/json",
        }
    with_charset = {"content-type": "application/json; charset=utf-8"}
    ok = source.post("/v1/ingest/alarms", content=b'{"alarms": []}', headers=with_charset)
    assert ok.status_code == 200
    assert _views(public) == views
    assert _status(internal)["kind_revisions"].get("topology") == before["kind_revisions"].get(
        "topology"
    )
