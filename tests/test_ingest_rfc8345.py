"""Tests for the RFC 8345 topology parser."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import InvalidInput
from gateway.ingest import TopologyDoc, decode_json, parse_topology
from gateway.model import LinkKind, OperStatus, Topology

DATA = Path(__file__).parent / "data"
NET = "$.ietf-network:networks.network[0]"
LINKS = f"{NET}.ietf-network-topology:link"


@pytest.fixture
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / "rfc8345-small.json").read_text())
    return loaded


def network(doc: dict[str, Any]) -> dict[str, Any]:
    net: dict[str, Any] = doc["ietf-network:networks"]["network"][0]
    return net


def te_attrs(doc: dict[str, Any], link: int) -> dict[str, Any]:
    attrs: dict[str, Any] = network(doc)["ietf-network-topology:link"][link]["ietf-te-topology:te"][
        "te-link-attributes"
    ]
    return attrs


def topology(doc: object) -> Topology:
    return parse_topology(doc).topology


def problems(doc: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as info:
        parse_topology(doc)
    return [(p.where, p.message) for p in info.value.problems]


def wheres(doc: object) -> list[str]:
    return [where for where, _ in problems(doc)]


def test_sample_nodes_and_l3_attributes(doc: dict[str, Any]) -> None:
    topo = topology(doc)
    assert topo.network_id == "example-core"
    assert [n.node_id for n in topo.nodes] == [
        "pe1.lon.example.net",
        "p1.lon.example.net",
        "asbr1.ams.example.net",
    ]
    pe1 = topo.nodes[0]
    assert pe1.name == "pe1.lon"
    assert pe1.router_ids == ("192.0.2.11",)
    assert [tp.tp_id for tp in pe1.tps] == ["xe-0/0/1", "ge-0/1/5"]
    assert pe1.tps[0].addresses == ("198.51.100.1",)
    assert pe1.tps[1].addresses == ()


def test_sample_from_bytes_matches_parsed_json(doc: dict[str, Any]) -> None:
    body = (DATA / "rfc8345-small.json").read_bytes()
    assert topology(decode_json(body)) == topology(doc)


def test_decimal_bandwidth_is_bytes_per_second_times_eight(doc: dict[str, Any]) -> None:
    link = topology(doc).links[0]
    assert link.capacity_bps == 1_250_000_000 * 8 == 1e10


def test_hex_float_bandwidth_is_bytes_per_second_times_eight(doc: dict[str, Any]) -> None:
    link = topology(doc).links[1]
    # 0x1.2a05f2p+33 = (1 + 0x2a05f2 / 16**6) * 2**33 bytes/s
    expected_bytes = (1 + 0x2A05F2 / 16**6) * 2**33
    assert expected_bytes == 10_000_000_000
    assert link.capacity_bps == expected_bytes * 8 == 8e10


def test_delay_and_srlgs(doc: dict[str, Any]) -> None:
    links = topology(doc).links
    assert [link.delay_us for link in links] == [350, 4100, 120]
    assert [link.srlgs for link in links] == [(101,), (101, 207), ()]


def test_internal_links_are_internal(doc: dict[str, Any]) -> None:
    links = topology(doc).links
    assert [link.kind for link in links[:2]] == [LinkKind.INTERNAL, LinkKind.INTERNAL]
    assert links[0].peer is None


def test_external_domain_is_an_interconnect_with_its_peer(doc: dict[str, Any]) -> None:
    link = topology(doc).links[2]
    assert link.kind is LinkKind.INTERCONNECT
    assert link.peer == "acme"
    assert link.name == "AMS-IX-PNI-ACME-01"
    assert link.remote_node == "10.255.0.3"
    assert link.remote_tp == "hu-2/0/0"
    assert (link.dest_node, link.dest_tp) == ("acme-border-3", "hu-2/0/0")
    assert link.capacity_bps == 12_500_000_000 * 8


def test_numeric_remote_tp_id_becomes_a_string(doc: dict[str, Any]) -> None:
    te_attrs(doc, 2)["external-domain"]["remote-te-link-tp-id"] = 7
    assert topology(doc).links[2].remote_tp == "7"


def test_oper_and_admin_status(doc: dict[str, Any]) -> None:
    te_attrs(doc, 0)["admin-status"] = "down"
    network(doc)["ietf-network-topology:link"][1]["ietf-te-topology:te"]["oper-status"] = "up"
    te_attrs(doc, 2)["admin-status"] = "maintenance"
    statuses = [link.oper_status for link in topology(doc).links]
    assert statuses == [OperStatus.DOWN, OperStatus.UP, OperStatus.UNKNOWN]


def test_demarc_augmentations(doc: dict[str, Any]) -> None:
    node = network(doc)["node"][0]
    node["demarc:node-attributes"] = {"site": "LON1", "role": "pe", "tags": ["edge", "london"]}
    node["ietf-network-topology:termination-point"][1]["demarc:tp-attributes"] = {
        "oper-status": "up",
        "name": "cust-42",
    }
    network(doc)["ietf-network-topology:link"].append(
        {
            "link-id": "pe1.lon,ge-0/1/5,customer",
            "source": {"source-node": "pe1.lon.example.net", "source-tp": "ge-0/1/5"},
            "destination": {"dest-node": "cpe-42", "dest-tp": "wan0"},
            "demarc:link-attributes": {"kind": "access", "customer": "c42", "oper-status": "down"},
        }
    )
    topo = topology(doc)
    pe1 = topo.nodes[0]
    assert (pe1.site, pe1.role, pe1.tags) == ("LON1", "pe", ("edge", "london"))
    assert pe1.tps[1].name == "cust-42"
    assert pe1.tps[1].oper_status is OperStatus.UP
    access = topo.links[3]
    assert access.kind is LinkKind.ACCESS
    assert access.customer == "c42"
    assert access.oper_status is OperStatus.DOWN


def test_unknown_augmentations_are_ignored(doc: dict[str, Any]) -> None:
    network(doc)["node"][0]["example-vendor:chassis"] = {"slots": 8}
    te_attrs(doc, 0)["ietf-te-topology-ext:whatever"] = [1, 2]
    assert topology(doc) == topology(json.loads((DATA / "rfc8345-small.json").read_text()))


def test_multiple_networks_are_merged(doc: dict[str, Any]) -> None:
    second = {
        "network-id": "example-metro",
        "node": [
            {
                "node-id": "agg1.lon.example.net",
                "ietf-network-topology:termination-point": [{"tp-id": "xe-1/1/1"}],
            }
        ],
        "ietf-network-topology:link": [
            {
                "link-id": "agg1.lon,xe-1/1/1,pe1.lon,ge-0/1/5",
                "source": {"source-node": "agg1.lon.example.net", "source-tp": "xe-1/1/1"},
                "destination": {"dest-node": "pe1.lon.example.net", "dest-tp": "ge-0/1/5"},
            }
        ],
    }
    doc["ietf-network:networks"]["network"].append(second)
    topo = topology(doc)
    assert topo.network_id == "example-core"
    assert len(topo.nodes) == 4
    assert topo.links[-1].link_id == "agg1.lon,xe-1/1/1,pe1.lon,ge-0/1/5"


def test_wrong_type_deep_inside(doc: dict[str, Any]) -> None:
    te_attrs(doc, 1)["te-srlgs"]["value"][1] = "207"
    where = f"{LINKS}[1].ietf-te-topology:te.te-link-attributes.te-srlgs.value[1]"
    assert problems(doc) == [(where, "expected an integer (got string)")]


def test_wrong_type_in_union_field_is_one_problem_at_the_key(doc: dict[str, Any]) -> None:
    te_attrs(doc, 2)["external-domain"]["remote-te-link-tp-id"] = {"id": 7}
    where = (
        f"{LINKS}[2].ietf-te-topology:te.te-link-attributes.external-domain.remote-te-link-tp-id"
    )
    assert problems(doc) == [(where, "expected a string or an integer (got object)")]


def test_missing_required_key(doc: dict[str, Any]) -> None:
    del network(doc)["node"][1]["node-id"]
    assert problems(doc) == [(f"{NET}.node[1].node-id", "required key is missing")]


def test_unknown_key_in_demarc_augmentation(doc: dict[str, Any]) -> None:
    network(doc)["node"][2]["demarc:node-attributes"] = {"site": "AMS1", "rack": "r12"}
    assert wheres(doc) == [f"{NET}.node[2].demarc:node-attributes.rack"]


def test_duplicate_node_id(doc: dict[str, Any]) -> None:
    network(doc)["node"][2]["node-id"] = "pe1.lon.example.net"
    [(where, message)] = [p for p in problems(doc) if p[0].endswith("node-id")]
    assert where == f"{NET}.node[2].node-id"
    assert f"{NET}.node[0].node-id" in message


def test_duplicate_tp_id_in_a_node(doc: dict[str, Any]) -> None:
    tps = network(doc)["node"][1]["ietf-network-topology:termination-point"]
    tps[1]["tp-id"] = tps[0]["tp-id"]
    got = wheres(doc)
    assert f"{NET}.node[1].ietf-network-topology:termination-point[1].tp-id" in got


def test_duplicate_link_id(doc: dict[str, Any]) -> None:
    links = network(doc)["ietf-network-topology:link"]
    links[1]["link-id"] = links[0]["link-id"]
    assert wheres(doc) == [f"{LINKS}[1].link-id"]


def test_dangling_source_node(doc: dict[str, Any]) -> None:
    network(doc)["ietf-network-topology:link"][0]["source"]["source-node"] = "ghost"
    [(where, message)] = problems(doc)
    assert where == f"{LINKS}[0].source.source-node"
    assert '"ghost"' in message


def test_dangling_dest_tp(doc: dict[str, Any]) -> None:
    network(doc)["ietf-network-topology:link"][1]["destination"]["dest-tp"] = "et-9/9/9"
    assert wheres(doc) == [f"{LINKS}[1].destination.dest-tp"]


def test_dest_outside_network_needs_interconnect_or_access(doc: dict[str, Any]) -> None:
    del te_attrs(doc, 2)["external-domain"]
    assert wheres(doc) == [f"{LINKS}[2].destination.dest-node"]


@pytest.mark.parametrize("bandwidth", ["10G", "0x1.2p", "1,2", "-5", "0x1p+99999", "", "inf"])
def test_bad_bandwidth(doc: dict[str, Any], bandwidth: str) -> None:
    te_attrs(doc, 0)["max-link-bandwidth"]["te-bandwidth"]["generic"] = bandwidth
    where = (
        f"{LINKS}[0].ietf-te-topology:te.te-link-attributes.max-link-bandwidth.te-bandwidth.generic"
    )
    [(got, message)] = problems(doc)
    assert got == where
    assert "bytes per second" in message


def test_numeric_bandwidth_is_a_type_error(doc: dict[str, Any]) -> None:
    te_attrs(doc, 0)["max-link-bandwidth"]["te-bandwidth"]["generic"] = 1250000000
    [(_, message)] = problems(doc)
    assert "string" in message


def test_two_validation_problems_are_both_reported(doc: dict[str, Any]) -> None:
    te_attrs(doc, 0)["te-delay-metric"] = -1
    del network(doc)["ietf-network-topology:link"][2]["source"]["source-tp"]
    assert wheres(doc) == [
        f"{LINKS}[0].ietf-te-topology:te.te-link-attributes.te-delay-metric",
        f"{LINKS}[2].source.source-tp",
    ]


def test_two_semantic_problems_are_both_reported(doc: dict[str, Any]) -> None:
    network(doc)["node"][1]["node-id"] = "pe1.lon.example.net"
    network(doc)["ietf-network-topology:link"][2]["source"]["source-tp"] = "nope"
    got = wheres(doc)
    assert f"{NET}.node[1].node-id" in got
    assert f"{LINKS}[2].source.source-tp" in got


def test_not_a_networks_document() -> None:
    assert problems({"networks": []}) == [("$.ietf-network:networks", "required key is missing")]
    assert wheres([1, 2]) == ["$"]


def test_empty_network_list_is_refused(doc: dict[str, Any]) -> None:
    doc["ietf-network:networks"]["network"] = []
    assert wheres(doc) == ["$.ietf-network:networks.network"]


def test_control_character_in_id(doc: dict[str, Any]) -> None:
    network(doc)["node"][0]["node-id"] = "pe1\nlon"
    [(where, message)] = [p for p in problems(doc) if p[0].endswith("node-id")]
    assert where == f"{NET}.node[0].node-id"
    assert "control characters" in message


def test_parser_does_not_modify_its_input(doc: dict[str, Any]) -> None:
    before = copy.deepcopy(doc)
    parse_topology(doc)
    assert doc == before


def test_json_schema_uses_payload_keys() -> None:
    schema = TopologyDoc.model_json_schema()
    assert schema["required"] == ["ietf-network:networks"]
