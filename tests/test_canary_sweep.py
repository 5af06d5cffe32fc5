"""The canary sweep: a canary in every ingestible field that no policy publishes, fed through
the real ingest API in every format; every public route fetched by every principal, errors
included; no canary comes back. The negative control finds every canary in the internal data."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from gateway.demo.network import DemoData
from tests.conftest import JSON_BODY, SOURCE, Pki, RunningGateway, make_settings

_counter = itertools.count(1)
PLANTED: list[str] = []


def canary(kind: str) -> str:
    value = f"cnry{kind}{next(_counter):05d}q"
    PLANTED.append(value)
    return value


def _plant_topology(doc: dict[str, Any]) -> None:
    for network in doc["ietf-network:networks"]["network"]:
        network["network-id"] = canary("netid")
        for node in network["node"]:
            attrs = node.setdefault("demarc:node-attributes", {})
            attrs["site"] = canary("site")
            attrs["tags"] = [*attrs.get("tags", []), canary("tag")]
            node["ietf-l3-unicast-topology:l3-node-attributes"]["name"] = canary("nodename")
            for tp in node.get("ietf-network-topology:termination-point", []):
                tp["demarc:tp-attributes"] = {"name": canary("tpname")}
        for link in network["ietf-network-topology:link"]:
            te = link.setdefault("ietf-te-topology:te", {}).setdefault("te-link-attributes", {})
            if "external-domain" not in te:  # an interconnect's name is its shared circuit id
                te["name"] = canary("linkname")


def _plant_alertmanager(doc: dict[str, Any]) -> None:
    doc["externalURL"] = f"https://{canary('amhost')}.example.net:9093"
    doc["groupKey"] = canary("groupkey")
    doc["receiver"] = canary("receiver")
    doc["commonLabels"] = {"team": canary("commonlabel")}
    doc["commonAnnotations"] = {"runbook": canary("commonannot")}
    for alert in doc["alerts"]:
        alert["labels"]["instance"] = f"{canary('instance')}:9116"
        alert["labels"]["job"] = canary("job")
        alert["labels"]["rack"] = canary("labelvalue")
        alert["annotations"] = {"summary": canary("summary"), "description": canary("descr")}
        alert["generatorURL"] = f"http://{canary('genhost')}:9090/graph"
        alert["fingerprint"] = canary("fp")


def _plant_native(demo: DemoData) -> dict[str, Any]:
    alarms = copy.deepcopy(demo.alarms)
    for alarm in alarms["alarms"]:
        alarm["id"] = canary("alarmid")
        alarm["text"] = f"{alarm.get('text') or ''} {canary('alarmtext')}"
        alarm["specific_problem"] = canary("specific")  # no sample policy publishes it
    maintenance = copy.deepcopy(demo.maintenance)
    for window in maintenance["maintenance"]:
        window["id"] = canary("mwid")
        window["description"] = canary("mwtext")
    metrics = copy.deepcopy(demo.metrics)
    return {"alarms": alarms, "maintenance": maintenance, "metrics": metrics}


@pytest.fixture(scope="module")
def planted(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
) -> Iterator[tuple[RunningGateway, dict[str, Any]]]:
    topology, alertmanager = copy.deepcopy(demo.topology), copy.deepcopy(demo.alertmanager)
    _plant_topology(topology)
    _plant_alertmanager(alertmanager)
    docs = {"topology": topology, "services": demo.services, "alertmanager": alertmanager,
            **_plant_native(demo)}  # fmt: skip
    server = RunningGateway(make_settings(tmp_path_factory.mktemp("canary"), pki, demo)).start()
    try:
        with httpx.Client(base_url=server.internal_url, verify=pki.context(SOURCE)) as client:
            for route, method, name in (
                ("/v1/ingest/topology", "PUT", "topology"),
                ("/v1/ingest/services", "POST", "services"),
                ("/v1/ingest/metrics", "POST", "metrics"),
                ("/v1/ingest/alarms", "POST", "alarms"),
                ("/v1/ingest/alertmanager", "POST", "alertmanager"),
                ("/v1/ingest/maintenance", "POST", "maintenance"),
            ):
                response = client.request(
                    method, route, content=msgspec.json.encode(docs[name]), headers=JSON_BODY
                )
                assert response.status_code == 200, response.text
        server.call(server.gateway.refresher.wait_for(response.json()["revision"]))
        yield server, docs
    finally:
        server.stop()


ROUTES = ["/v1/views", "/v1/interconnects", "/v1/alarms", "/v1/maintenance", "/v1/services",
          "/v1/incidents", "/v1/topology", "/v1/topology/rfc8345", "/openapi.json",
          "/docs"]  # fmt: skip
BAD = ["/v1/services/nope", "/v1/services/" + "x" * 400, "/v1/interconnects?limit=-1&page=x",
       "/v1/nothing", "/v1/services/%ff%fe", "/v1/topology/rfc8346"]  # fmt: skip


def test_no_canary_leaves_the_public_listener(
    planted: tuple[RunningGateway, dict[str, Any]], pki: Pki, demo: DemoData
) -> None:
    server, _ = planted
    principals = [f"peer/{p}" for p in demo.peers] + [f"customer/{c}" for c in demo.customers]
    canaries = [c.encode() for c in PLANTED]
    assert len(canaries) > 800
    fetched = 0
    hits: list[tuple[str, str]] = []
    for principal in principals:
        with httpx.Client(base_url=server.public_url, verify=pki.context(principal)) as client:
            requests = [("GET", p) for p in ROUTES + BAD] + [
                (m, p) for m in ("POST", "PUT", "DELETE", "PATCH") for p in ROUTES[:3]
            ]
            for method, path in requests:
                response = client.request(method, path, content=b'{"x": 1}', headers=JSON_BODY)
                body = response.content + str(response.headers).encode()
                fetched += 1
                hits += [(principal, path) for c in canaries if c in body]
    assert fetched == len(principals) * (len(ROUTES) + len(BAD) + 4 * 3) > 200
    assert hits == []
    # and not because the guard had to step in: the engine itself published none
    assert dict(server.gateway.screen.counts) == {} and list(server.gateway.leaks) == []
    print(f"canary sweep: {len(canaries)} canaries, {fetched} requests, {len(hits)} hits")


def test_negative_control_every_canary_is_in_the_internal_data(
    planted: tuple[RunningGateway, dict[str, Any]],
) -> None:
    server, docs = planted
    snapshot = server.gateway.store.snapshot
    internal = msgspec.json.encode(docs) + repr(snapshot.topology).encode() + repr(
        list(snapshot.alarms.values()) + list(snapshot.maintenance.values())
    ).encode()  # fmt: skip
    missing = [c for c in PLANTED if c.encode() not in msgspec.json.encode(docs)]
    assert missing == []
    # and the store kept what the payloads carried into the model (the URLs of Alertmanager
    # are dropped at ingest, by design, so they are only in the payload)
    stored = [c for c in PLANTED if c.encode() in internal]
    assert len(stored) > len(PLANTED) * 0.9
