"""Tests of the demo network generator: shape, referential integrity, secrets, situations."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.demo.network import DemoData, build_demo, write_demo

NOW = datetime(2026, 11, 28, 10, 17, 33, tzinfo=UTC)
SEEDS = (7, 1, 2024, 99)
L3 = "ietf-l3-unicast-topology:"


@pytest.fixture(scope="module", params=SEEDS)
def demo(request: pytest.FixtureRequest) -> DemoData:
    seed: int = request.param
    return build_demo(NOW, seed)


def _network(demo: DemoData) -> dict[str, Any]:
    network: dict[str, Any] = demo.topology["ietf-network:networks"]["network"][0]
    return network


def _nodes(demo: DemoData) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = _network(demo)["node"]
    return nodes


def _links(demo: DemoData) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = _network(demo)["ietf-network-topology:link"]
    return links


def _te(link: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = link["ietf-te-topology:te"]["te-link-attributes"]
    return attrs


def _interconnects(demo: DemoData, peer: str) -> list[dict[str, Any]]:
    return [
        link
        for link in _links(demo)
        if _te(link).get("external-domain", {}).get("network-ref") == peer
    ]


def _tps(demo: DemoData) -> dict[str, set[str]]:
    return {
        n["node-id"]: {tp["tp-id"] for tp in n["ietf-network-topology:termination-point"]}
        for n in _nodes(demo)
    }


def _parse(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def _service(demo: DemoData, service_id: str) -> dict[str, Any]:
    return next(s for s in demo.services["services"] if s["id"] == service_id)


def _active_severities(demo: DemoData, service: dict[str, Any]) -> set[str]:
    """Severities of active alarms and firing alerts on the resources behind `service`."""
    resources = service["resources"]
    found = {
        a["severity"]
        for a in demo.alarms["alarms"]
        if a["cleared_at"] is None and a["resource"] in resources
    }
    for alert in demo.alertmanager["alerts"]:
        labels = alert["labels"]
        ref = {"node": labels["node"]}
        if "interface" in labels:
            ref["tp"] = labels["interface"]
        if alert["status"] == "firing" and ref in resources:
            found.add(labels["severity"])
    return found


def _in_maintenance(demo: DemoData, service: dict[str, Any]) -> bool:
    return any(
        _parse(w["start"]) <= NOW < _parse(w["end"])
        and any(r in service["resources"] for r in w["resources"])
        for w in demo.maintenance["maintenance"]
    )


def _strings(value: Any, skip: frozenset[str] = frozenset()) -> Iterator[str]:
    """Every string in a JSON document, not descending into the keys in `skip`."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in skip:
                yield from _strings(item, skip)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, skip)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def test_network_has_at_least_64_nodes_on_at_least_6_sites(demo: DemoData) -> None:
    nodes = _nodes(demo)
    assert len(nodes) >= 64
    assert len({n["demarc:node-attributes"]["site"] for n in nodes}) >= 6


def test_nodes_have_role_name_and_loopback(demo: DemoData) -> None:
    for node in _nodes(demo):
        attrs = node["demarc:node-attributes"]
        l3 = node[L3 + "l3-node-attributes"]
        assert attrs["role"] in {"p", "pe", "asbr", "rr"}
        assert node["node-id"] == l3["name"] + ".core.example.net"
        assert re.fullmatch(r"(p|pe|asbr|rr)\d\.[a-z]{3}\d", l3["name"])
        assert all(
            ipaddress.ip_address(r) in ipaddress.ip_network("10.0.0.0/8") for r in l3["router-id"]
        )
    roles = [n["demarc:node-attributes"]["role"] for n in _nodes(demo)]
    assert roles.count("rr") >= 2 and roles.count("asbr") >= 6


def test_tp_ids_are_unique_per_node(demo: DemoData) -> None:
    for node in _nodes(demo):
        ids = [tp["tp-id"] for tp in node["ietf-network-topology:termination-point"]]
        assert len(ids) == len(set(ids)), node["node-id"]
        assert all(re.fullmatch(r"(et|xe|ge)-\d/\d/\d+|ae\d+", i) for i in ids)


def test_addresses_avoid_the_sample_range_and_include_ipv6(demo: DemoData) -> None:
    addresses = [v for v in _strings(demo.topology) if _is_address(v)]
    assert not any(a.startswith("192.0.2.") for a in addresses)
    assert any(ipaddress.ip_address(a).version == 6 for a in addresses)
    assert any(ipaddress.ip_address(a) in ipaddress.ip_network("100.64.0.0/10") for a in addresses)


def test_each_peer_has_three_interconnects_on_two_asbrs(demo: DemoData) -> None:
    assert len(demo.peers) >= 2 and {"acme", "globalnet"} <= set(demo.peers)
    roles = {n["node-id"]: n["demarc:node-attributes"]["role"] for n in _nodes(demo)}
    for peer in demo.peers:
        links = _interconnects(demo, peer)
        asbrs = {link["source"]["source-node"] for link in links}
        assert len(links) >= 3 and len(asbrs) >= 2
        assert {roles[a] for a in asbrs} == {"asbr"}
        assert all(link["destination"]["dest-node"] not in roles for link in links)
        assert all(
            _te(link)["name"].endswith(f"-{peer.upper()}-0{i}")
            for i, link in enumerate(links, start=1)
        )


def test_every_link_end_in_our_network_exists(demo: DemoData) -> None:
    tps = _tps(demo)
    for link in _links(demo):
        src, dst = link["source"], link["destination"]
        assert src["source-tp"] in tps[src["source-node"]], link["link-id"]
        if "external-domain" not in _te(link):
            assert dst["dest-tp"] in tps[dst["dest-node"]], link["link-id"]
    ids = [link["link-id"] for link in _links(demo)]
    assert len(ids) == len(set(ids))


def test_internal_links_exist_in_both_directions(demo: DemoData) -> None:
    ends = {
        (
            link["source"]["source-node"],
            link["source"]["source-tp"],
            link["destination"]["dest-node"],
            link["destination"]["dest-tp"],
        )
        for link in _links(demo)
        if "external-domain" not in _te(link)
    }
    assert all((c, d, a, b) in ends for a, b, c, d in ends)


def test_link_bandwidth_is_decimal_or_hex_bytes_and_delay_realistic(demo: DemoData) -> None:
    texts = [_te(link)["max-link-bandwidth"]["te-bandwidth"]["generic"] for link in _links(demo)]
    hexes = [float.fromhex(t) for t in texts if t.startswith("0x")]
    decimals = [int(t) for t in texts if not t.startswith("0x")]
    assert hexes and decimals
    assert all(1e9 <= v <= 1e11 for v in hexes + decimals)
    for link in _links(demo):
        te, src, dst = _te(link), link["source"]["source-node"], link["destination"]["dest-node"]
        same_site = "external-domain" in te or src.split(".")[1] == dst.split(".")[1]
        assert (
            (40 <= te["te-delay-metric"] <= 300)
            if same_site
            else (2000 <= te["te-delay-metric"] <= 15000)
        )


def test_each_customer_has_a_service_and_refs_exist(demo: DemoData) -> None:
    services = demo.services["services"]
    assert len(demo.customers) >= 6
    assert {s["customer"] for s in services} == set(demo.customers)
    tps, links = _tps(demo), {link["link-id"] for link in _links(demo)}
    for svc in services:
        assert re.fullmatch(rf"SVC-{svc['customer'].upper()}-\d{{4}}", svc["id"])
        for ref in svc["endpoints"] + svc["resources"]:
            if "link" in ref:
                assert ref["link"] in links
            else:
                assert ref["node"] in tps
                assert "tp" not in ref or ref["tp"] in tps[ref["node"]]
        assert all(e in svc["resources"] for e in svc["endpoints"])


def test_build_is_deterministic() -> None:
    first, second = build_demo(NOW), build_demo(NOW, seed=7)
    assert json.dumps(first.documents()) == json.dumps(second.documents())
    assert first.secrets == second.secrets
    assert json.dumps(build_demo(NOW, seed=8).documents()) != json.dumps(first.documents())


def test_secrets_cover_every_internal_identifier_and_address(demo: DemoData) -> None:
    secrets = demo.secrets
    skip = frozenset({"external-domain", "destination"})
    for node in _nodes(demo):
        assert node["node-id"] in secrets.node_ids
        assert node[L3 + "l3-node-attributes"]["name"] in secrets.node_names
        assert node["demarc:node-attributes"]["site"] in secrets.sites
    for _, tps in _tps(demo).items():
        assert tps <= secrets.tp_names
    for link in _links(demo):
        assert link["link-id"] in secrets.link_ids
        if "external-domain" not in _te(link):
            assert link["destination"]["dest-node"] in secrets.node_ids
    addresses = {v for v in _strings(demo.topology, skip) if _is_address(v)}
    assert addresses and addresses <= secrets.addresses


def test_secrets_cover_alert_labels_urls_and_free_text(demo: DemoData) -> None:
    secrets, payload = demo.secrets, demo.alertmanager
    assert payload["externalURL"] in secrets.urls
    for alert in payload["alerts"]:
        assert alert["generatorURL"] in secrets.urls
        assert set(alert["annotations"].values()) <= secrets.texts
        labels = alert["labels"]
        assert labels["node"] in secrets.node_ids
        assert labels["instance"].rsplit(":", 1)[0] in secrets.addresses
        assert {v for v in labels.values() if _is_address(v)} <= secrets.addresses
    assert {a["text"] for a in demo.alarms["alarms"]} <= secrets.texts
    assert {w["description"] for w in demo.maintenance["maintenance"]} <= secrets.texts
    assert all(any(name in text for name in secrets.node_names) for text in secrets.texts)


def test_shared_circuit_ids_and_peer_names_are_not_secrets(demo: DemoData) -> None:
    shared = {_te(link)["name"] for peer in demo.peers for link in _interconnects(demo, peer)}
    assert not shared & demo.secrets.all()
    assert not set(demo.peers) & demo.secrets.all()


def test_one_service_is_in_outage(demo: DemoData) -> None:
    outage = _service(demo, demo.situation.outage)
    assert "critical" in _active_severities(demo, outage)


def test_another_service_is_degraded(demo: DemoData) -> None:
    degraded = _service(demo, demo.situation.degraded)
    assert degraded["id"] != demo.situation.outage
    assert "major" in _active_severities(demo, degraded)
    assert "critical" not in _active_severities(demo, degraded)


def test_a_service_without_critical_alarms_is_in_active_maintenance(demo: DemoData) -> None:
    svc = _service(demo, demo.situation.maintenance)
    assert svc["id"] not in {demo.situation.outage, demo.situation.degraded}
    assert _in_maintenance(demo, svc)
    assert not _active_severities(demo, svc)
    # the window under way says so by its updates (verifying now), not by a status of its own
    statuses = {w.get("status") for w in demo.maintenance["maintenance"]}
    assert statuses == {None, "scheduled", "completed", "cancelled"}
    told = [u["status"] for w in demo.maintenance["maintenance"] for u in w.get("updates", ())]
    assert {"in-progress", "verifying", "completed", "cancelled"} <= set(told)


def test_acme_interconnects_have_an_alarm_and_future_maintenance(demo: DemoData) -> None:
    acme = {link["link-id"] for link in _interconnects(demo, "acme")}
    on_acme = [a for a in demo.alarms["alarms"] if a["resource"].get("link") in acme]
    assert {a["id"] for a in on_acme} == set(demo.situation.acme_alarms)
    assert any(a["cleared_at"] is None for a in on_acme)
    future = [
        w
        for w in demo.maintenance["maintenance"]
        if _parse(w["start"]) > NOW and any(r.get("link") in acme for r in w["resources"])
    ]
    assert future and all(w["status"] == "scheduled" for w in future)


def test_there_is_a_cleared_alarm(demo: DemoData) -> None:
    cleared = [a for a in demo.alarms["alarms"] if a["cleared_at"] is not None]
    assert cleared
    assert all(_parse(a["raised_at"]) < _parse(a["cleared_at"]) <= NOW for a in cleared)


def test_alertmanager_payload_fires_on_a_globalnet_interconnect(demo: DemoData) -> None:
    payload = demo.alertmanager
    assert payload["version"] == "4" and payload["status"] == "firing"
    alerts = payload["alerts"]
    assert len(alerts) >= 2 and all(a["status"] == "firing" for a in alerts)
    assert all(re.fullmatch(r"[0-9a-f]{16}", a["fingerprint"]) for a in alerts)
    ends = {
        (link["source"]["source-node"], link["source"]["source-tp"])
        for link in _interconnects(demo, "globalnet")
    }
    hit = next(a for a in alerts if a["fingerprint"] == demo.situation.globalnet_alert)
    assert (hit["labels"]["node"], hit["labels"]["interface"]) in ends


def test_metrics_cover_every_interconnect(demo: DemoData) -> None:
    samples = demo.metrics["samples"]
    metrics = {"utilisation_pct", "delay_ms", "loss_pct", "errors_per_s"}
    links = {link["link-id"] for link in _links(demo)}
    assert {s["metric"] for s in samples} == metrics
    assert all(s["resource"]["link"] in links for s in samples)
    assert all(NOW - timedelta(minutes=15) <= _parse(s["at"]) <= NOW for s in samples)
    for peer in demo.peers:
        for link in _interconnects(demo, peer):
            sampled = {s["metric"] for s in samples if s["resource"]["link"] == link["link-id"]}
            assert sampled == metrics


def test_naive_now_is_taken_as_utc() -> None:
    naive = build_demo(NOW.replace(tzinfo=None))
    assert json.dumps(naive.documents()) == json.dumps(build_demo(NOW).documents())


def test_write_demo_writes_every_document(tmp_path: Path) -> None:
    paths = write_demo(tmp_path / "demo", NOW)
    demo = build_demo(NOW)
    assert set(paths) == {
        "topology",
        "services",
        "alarms",
        "alertmanager",
        "metrics",
        "maintenance",
        "incidents",
    }
    for name, path in paths.items():
        assert path.name == f"{name}.json"
        assert json.loads(path.read_text(encoding="utf-8")) == getattr(demo, name)


def test_what_a_customer_or_peer_may_see_contains_no_secret(demo: DemoData) -> None:
    visible = [f"{s['id']} {s['name']} {s['customer']}" for s in demo.services["services"]]
    visible += [_te(link)["name"] for peer in demo.peers for link in _interconnects(demo, peer)]
    secrets = {s.lower() for s in demo.secrets.all() - demo.secrets.tp_names}
    assert not [(v, s) for v in visible for s in secrets if s in v.lower()]
