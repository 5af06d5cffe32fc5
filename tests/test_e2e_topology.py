"""End to end over real TLS: each peer's topology view in the mode its policy chose, kept fresh."""

from __future__ import annotations

from typing import Any

from gateway.demo.network import DemoData
from tests.conftest import SOURCE, RunningGateway


def _links(demo: DemoData) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = demo.topology["ietf-network:networks"]["network"][0][
        "ietf-network-topology:link"
    ]
    return links


def _te(link: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = link.get("ietf-te-topology:te", {}).get("te-link-attributes", {})
    return attrs


def test_abstract_mode_joins_the_peers_border_points(public: Any, demo: DemoData) -> None:
    circuits = {_te(link)["name"] for link in _links(demo)
                if _te(link).get("external-domain", {}).get("network-ref") == "acme"}  # fmt: skip
    body = public("peer/acme").get("/v1/topology").json()["topology"]
    assert body["mode"] == "abstract"
    assert {b["id"] for b in body["border_points"]} == circuits
    abstract = [link for link in body["links"] if link["kind"] == "abstract"]
    n = len(circuits)
    assert len(abstract) == n * (n - 1)  # the demo core is connected: every ordered pair
    assert all(link["delay_ms"] > 0 and link["available_bandwidth_mbps"] > 0 for link in abstract)
    assert all("srlgs" in link for link in abstract)


def test_rfc8345_view_is_standard_json_with_nothing_from_below(public: Any) -> None:
    response = public("peer/acme").get("/v1/topology/rfc8345")
    assert response.headers["content-type"].startswith("application/yang-data+json")
    network = response.json()["ietf-network:networks"]["network"][0]
    assert "ietf-te-topology:te-topology" in network["network-types"]
    text = response.text
    for forbidden in ("supporting-node", "underlay", "information-source", "geolocation",
                      "statistics"):  # fmt: skip
        assert forbidden not in text


def test_single_node_mode_publishes_a_connectivity_matrix(public: Any) -> None:
    network = (
        public("peer/globalnet")
        .get("/v1/topology/rfc8345")
        .json()["ietf-network:networks"]["network"][0]
    )
    (node,) = network["node"]
    assert "connectivity-matrices" in node["ietf-te-topology:te"]["te-node-attributes"]


def test_interconnect_mode_has_no_abstract_links(public: Any) -> None:
    body = public("peer/northwind").get("/v1/topology").json()["topology"]
    assert body["mode"] == "interconnect"
    assert {link["kind"] for link in body["links"]} == {"interconnect"}


def test_links_going_down_change_the_abstraction_and_unrelated_ingest_does_not(
    served: RunningGateway, public: Any, internal: Any, demo: DemoData
) -> None:
    client, source = public("peer/acme"), internal(SOURCE)
    before = client.get("/v1/topology")
    # an unrelated change: a service renamed
    service = dict(demo.services["services"][1], name="Renamed again")
    rev = source.post("/v1/ingest/services", json={"services": [service]}).json()["revision"]
    served.call(served.gateway.refresher.wait_for(rev))
    assert client.get("/v1/topology").headers["etag"] == before.headers["etag"]
    # every internal link of one of acme's border routers goes down (critical alarms)
    border = next(link for link in _links(demo)
                  if _te(link).get("external-domain", {}).get("network-ref") == "acme")  # fmt: skip
    router, circuit = border["source"]["source-node"], _te(border)["name"]
    alarms = [
        {"id": f"T-{i}", "resource": {"link": link["link-id"]}, "severity": "critical",
         "raised_at": "2026-11-27T00:00:00Z"}
        for i, link in enumerate(_links(demo))
        if router in (link["source"]["source-node"], link["destination"]["dest-node"])
        and "external-domain" not in _te(link)
    ]  # fmt: skip
    assert alarms
    rev = source.post("/v1/ingest/alarms", json={"alarms": alarms}).json()["revision"]
    served.call(served.gateway.refresher.wait_for(rev))
    after = client.get("/v1/topology")
    assert after.headers["etag"] != before.headers["etag"]
    assert _abstract_links_of(circuit, after.json()) == []
    assert _abstract_links_of(circuit, before.json()), "before the alarms it had abstract links"


def _abstract_links_of(circuit: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        link for link in body["topology"]["links"]
        if link["kind"] == "abstract"
        and circuit in (link["source"]["tp"], link.get("destination", {}).get("tp"))
    ]  # fmt: skip
