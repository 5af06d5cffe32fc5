"""End to end over real TLS: each audience sees its own views, from cached bytes with ETags."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.demo.network import DemoData
from tests.conftest import RunningGateway


def _items(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _acme_circuits(demo: DemoData) -> set[str]:
    links = demo.topology["ietf-network:networks"]["network"][0]["ietf-network-topology:link"]
    out = set()
    for link in links:
        attrs = link.get("ietf-te-topology:te", {}).get("te-link-attributes", {})
        if attrs.get("external-domain", {}).get("network-ref") == "acme":
            out.add(attrs["name"])
    return out


def test_peer_sees_its_interconnects_by_agreed_circuit_id(public: Any, demo: DemoData) -> None:
    items = _items(public("peer/acme"), "/v1/interconnects")
    assert {i["id"] for i in items} == _acme_circuits(demo)
    assert all(set(i) == {"id", "status", "capacity_mbps", "utilisation_pct", "delay_ms",
                          "loss_pct", "remote_tp", "updated_at"} for i in items)  # fmt: skip
    assert all(i["capacity_mbps"] > 0 for i in items)


def test_peer_alarm_on_its_interconnect_is_listed_against_the_circuit(
    public: Any, demo: DemoData
) -> None:
    items = _items(public("peer/acme"), "/v1/alarms")
    circuits = _acme_circuits(demo)
    assert items, "the demo raises alarms on acme's interconnects"
    assert {i["resource"] for i in items} <= circuits
    assert any(i["state"] == "active" and i["severity"] == "major" for i in items)
    statuses = {i["id"]: i["status"] for i in _items(public("peer/acme"), "/v1/interconnects")}
    assert "degraded" in statuses.values()


def test_pseudonymous_peer_sees_a_down_interconnect_without_circuit_names(
    public: Any, demo: DemoData
) -> None:
    items = _items(public("peer/globalnet"), "/v1/interconnects")
    assert len(items) == 4
    assert all(i["id"].startswith("ic-") and len(i["id"]) == 19 for i in items)
    assert [i["status"] for i in items].count("down") == 1  # the firing InterfaceDown alert


def test_peer_without_a_view_in_its_policy_gets_404(public: Any) -> None:
    client = public("peer/northwind")
    assert client.get("/v1/interconnects").status_code == 200
    assert client.get("/v1/alarms").status_code == 404


def test_customer_sees_derived_status_of_each_of_its_services(public: Any, demo: DemoData) -> None:
    situation = demo.situation
    expected = {
        situation.outage: "outage",
        situation.degraded: "degraded",
        situation.maintenance: "maintenance",
    }
    for service_id, status in expected.items():
        customer = next(s["customer"] for s in demo.services["services"] if s["id"] == service_id)
        items = _items(public(f"customer/{customer}"), "/v1/services")
        by_id = {i["id"]: i for i in items}
        assert by_id[service_id]["status"] == status
        mine = {s["id"] for s in demo.services["services"] if s["customer"] == customer}
        assert set(by_id) == mine


def test_customer_incident_names_services_not_resources(public: Any, demo: DemoData) -> None:
    outage = demo.situation.outage
    customer = next(s["customer"] for s in demo.services["services"] if s["id"] == outage)
    items = _items(public(f"customer/{customer}"), "/v1/incidents")
    hit = [i for i in items if outage in i["services"] and i["state"] == "active"]
    assert hit and hit[0]["impact"] == "outage"
    assert all("resource" not in i for i in items)


def test_one_service_by_id_and_another_customers_service_is_404(
    public: Any, demo: DemoData
) -> None:
    services = demo.services["services"]
    mine = next(s for s in services if s["customer"] == "globex")
    theirs = next(s for s in services if s["customer"] != "globex")
    client = public("customer/globex")
    response = client.get(f"/v1/services/{mine['id']}")
    assert response.status_code == 200
    assert response.json()["item"]["id"] == mine["id"]
    foreign = client.get(f"/v1/services/{theirs['id']}")
    missing = client.get("/v1/services/SVC-DOES-NOT-EXIST")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content  # no hint that the other service exists


def test_etag_and_304_and_revision_header(public: Any) -> None:
    client = public("peer/acme")
    first = client.get("/v1/interconnects")
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    # the revision of this view's content, as in its body: not the global ingest counter
    assert int(first.headers["demarc-revision"]) == first.json()["revision"] > 0
    again = client.get("/v1/interconnects", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = client.get("/v1/interconnects", headers={"If-None-Match": '"nope"'})
    assert other.status_code == 200


def test_metrics_change_the_view_and_unrelated_ingest_does_not(
    served: RunningGateway, public: Any, internal: Any, demo: DemoData
) -> None:
    client = public("peer/acme")
    before = client.get("/v1/interconnects")
    source = internal("source/feeder")
    # a service change is not something a peer's interconnect view depends on
    service = dict(demo.services["services"][0], name="Renamed for the test")
    rev = source.post("/v1/ingest/services", json={"services": [service]}).json()["revision"]
    served.call(served.gateway.refresher.wait_for(rev))
    unchanged = client.get("/v1/interconnects")
    assert unchanged.headers["etag"] == before.headers["etag"]
    # unrelated ingest moves no header: an audience cannot count what others are sent
    assert unchanged.headers["demarc-revision"] == before.headers["demarc-revision"]
    assert int(unchanged.headers["demarc-revision"]) < rev
    # a new utilisation sample on one of acme's interconnects changes it
    link_id = _acme_link_ids(demo)[0]
    sample = {"resource": {"link": link_id}, "metric": "utilisation_pct", "value": 97.25,
              "at": "2030-01-01T00:00:00Z"}  # fmt: skip
    rev = source.post("/v1/ingest/metrics", json={"samples": [sample]}).json()["revision"]
    served.call(served.gateway.refresher.wait_for(rev))
    after = client.get("/v1/interconnects")
    assert after.headers["etag"] != before.headers["etag"]
    assert after.json()["revision"] == rev
    assert 97.2 in {i["utilisation_pct"] for i in after.json()["items"]}  # rounded to 1 place


def _acme_link_ids(demo: DemoData) -> list[str]:
    links = demo.topology["ietf-network:networks"]["network"][0]["ietf-network-topology:link"]
    return [
        link["link-id"]
        for link in links
        if link.get("ietf-te-topology:te", {}).get("te-link-attributes", {})
        .get("external-domain", {}).get("network-ref") == "acme"
    ]  # fmt: skip


def test_view_index_lists_only_what_the_policy_discloses(public: Any) -> None:
    body = public("peer/globalnet").get("/v1/views").json()
    assert body["audience"] == "peer/globalnet"
    assert [v["view"] for v in body["views"]] == [
        "alarms",
        "interconnects",
        "topology",
        "topology-rfc8345",
    ]
    assert body["views"][-1]["href"] == "/v1/topology/rfc8345"


def test_each_listener_publishes_its_own_openapi(public: Any, internal: Any) -> None:
    public_paths = set(public("peer/acme").get("/openapi.json").json()["paths"])
    internal_paths = set(internal("staff/alice").get("/openapi.json").json()["paths"])
    assert "/v1/interconnects" in public_paths and "/v1/services/{service_id}" in public_paths
    assert not any(p.startswith(("/v1/ingest", "/v1/admin")) for p in public_paths)
    assert "/v1/ingest/topology" in internal_paths and "/v1/admin/status" in internal_paths
    assert not any(p in internal_paths for p in public_paths if p.startswith("/v1/"))
