"""A peer's topology view as RFC 8345 JSON with RFC 8795 TE attributes: nothing from below."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import struct
from collections.abc import Iterable
from typing import Any

from gateway.disclosure.pseudonym import Pseudonymizer

_NW, _NT, _TE = "ietf-network:", "ietf-network-topology:", "ietf-te-topology:"
_OCTET = r"(25[0-5]|2[0-4]\d|1?\d?\d)"
_DOTTED_QUAD = re.compile(rf"{_OCTET}(\.{_OCTET}){{3}}")
Json = dict[str, Any]


def _te_bandwidth(mbps: float) -> str:
    """RFC 8776 te-bandwidth for packet switching: bytes/s as an IEEE float32 hex string."""
    per_s = mbps * 125_000
    # rounded to float32 as the YANG type says; the pattern has no p-N, so below 1 is 0
    (single,) = struct.unpack("<f", struct.pack("<f", per_s if per_s >= 1 else 0.0))
    text = float(single).hex()
    mantissa, exponent = text.split("p")
    return f"{mantissa.rstrip('0').rstrip('.')}p{exponent}"


def _te_tp_id(tp: str) -> int | str | None:
    """te-tp-id is a uint32 or an IP address; anything else cannot be sent in it."""
    try:
        return int(tp) if tp.isdigit() and int(tp) < 2**32 else str(ipaddress.ip_address(tp))
    except ValueError:
        return None


def _te_link(link: Json) -> Json:
    attrs: Json = {"is-abstract": [None]} if link["kind"] == "abstract" else {}
    if "name" in link:
        attrs["name"] = link["name"]
    if "delay_ms" in link:
        attrs["te-delay-metric"] = min(round(link["delay_ms"] * 1000), 2**32 - 1)  # uint32, µs
    if (bw := link.get("available_bandwidth_mbps", link.get("capacity_mbps"))) is not None:
        attrs["max-link-bandwidth"] = {"te-bandwidth": {"generic": _te_bandwidth(bw)}}
    if "srlgs" in link:
        attrs["te-srlgs"] = {"value": link["srlgs"]}
    src, dst = link["source"], link.get("destination")
    out: Json = {"link-id": link["id"], "source": {"source-node": src["node"],
                                                   "source-tp": src["tp"]}}  # fmt: skip
    if "remote" in link:
        remote = link["remote"]
        attrs["external-domain"] = {"network-ref": remote["network"]}
        if "node" in remote:  # the peer's own end (leafrefs allow require-instance false)
            dst = {"node": remote["node"], **({"tp": remote["tp"]} if "tp" in remote else {})}
            if _DOTTED_QUAD.fullmatch(remote["node"]):  # te-node-id is a dotted quad
                attrs["external-domain"]["remote-te-node-id"] = remote["node"]
        if (tp_id := _te_tp_id(remote.get("tp", ""))) is not None:
            attrs["external-domain"]["remote-te-link-tp-id"] = tp_id
    if dst is not None:
        out["destination"] = {"dest-node": dst["node"],
                              **({"dest-tp": dst["tp"]} if "tp" in dst else {})}  # fmt: skip
    out[f"{_TE}te"] = {
        "te-link-attributes": attrs,
        "oper-status": _OPER_STATUS.get(link.get("status", ""), "unknown"),
    }
    return out


# RFC 8795 te-oper-status: a degraded link still carries traffic
_OPER_STATUS = {"up": "up", "degraded": "up", "down": "down", "maintenance": "maintenance"}


def _matrix_entry(i: int, entry: Json) -> Json:
    """RFC 8795 connectivity-matrix entry; uint64 values are strings in YANG JSON."""
    metrics = []
    if "delay_ms" in entry:
        metrics.append({"metric-type": "ietf-te-types:path-metric-delay-average",
                        "accumulative-value": str(round(entry["delay_ms"] * 1000))})  # fmt: skip
    if "available_bandwidth_mbps" in entry:  # bytes/s, as te-bandwidth
        per_s = round(entry["available_bandwidth_mbps"] * 125e3)
        metrics.append({"metric-type": "ietf-te-types:path-metric-residual-bandwidth",
                        "accumulative-value": str(per_s)})  # fmt: skip
    props: Json = {"path-metric": metrics} if metrics else {}
    if "srlgs" in entry:
        props["path-srlgs-lists"] = {"path-srlgs-list": [
            {"usage": "ietf-te-types:route-include-object", "values": entry["srlgs"]}]}  # fmt: skip
    return {"id": i, "from": {"tp-ref": entry["from"]}, "to": {"tp-ref": entry["to"]},
            "is-allowed": True, **({"path-properties": props} if props else {})}  # fmt: skip


TE_NODE_ID_SPACE = ipaddress.IPv4Network("240.0.0.0/4")
"""Where published te-node-ids live: the reserved block (RFC 1112, "future use"), which no
router id or interface address of a real network uses, so a pseudonym can neither be mistaken for
nor collide with a real one."""


def te_node_ids(node_ids: Iterable[str]) -> dict[str, str]:
    """A dotted-quad te-node-id per (already published) node id: a hash of it placed in
    ``TE_NODE_ID_SPACE``, distinct within the view (a collision moves to the next free id)."""
    out: dict[str, str] = {}
    taken: set[int] = set()
    # the block's last address is the limited broadcast, 255.255.255.255: never an id
    base, size = int(TE_NODE_ID_SPACE.network_address), TE_NODE_ID_SPACE.num_addresses - 1
    for node_id in sorted(set(node_ids)):
        offset = int.from_bytes(hashlib.blake2b(node_id.encode(), digest_size=4).digest()) % size
        while offset in taken:
            offset = (offset + 1) % size
        taken.add(offset)
        out[node_id] = str(ipaddress.IPv4Address(base + offset))
    return out


def rfc8345(view: Json, pseudonym: Pseudonymizer) -> Json:
    """The same view as RFC 8345 with RFC 8795 TE augmentations; nothing from below it."""
    if view["mode"] == "none":
        return {f"{_NW}networks": {"network": []}}
    tps: dict[str, list[str]] = {n["id"]: list(n["tps"]) for n in view["nodes"]}
    for bp in view["border_points"]:
        tps[bp["node"]].append(bp["id"])
    matrix = [_matrix_entry(i, e) for i, e in enumerate(view["connectivity"], start=1)]
    nodes = []
    te_ids = te_node_ids(n["id"] for n in view["nodes"])
    for node in view["nodes"]:
        attrs: Json = {"is-abstract": [None]} if node["abstract"] else {}
        if matrix and node["abstract"]:
            count = {"number-of-entries": len(matrix)} if len(matrix) <= 0xFFFF else {}  # uint16
            attrs["connectivity-matrices"] = {**count, "connectivity-matrix": matrix}
        nodes.append({"node-id": node["id"], f"{_TE}te-node-id": te_ids[node["id"]],
                      f"{_NT}termination-point": [{"tp-id": t} for t in sorted(tps[node["id"]])],
                      f"{_TE}te": {"te-node-attributes": attrs}})  # fmt: skip
    network = {"network-id": pseudonym("nw", "topology"),
               "network-types": {f"{_TE}te-topology": {}},
               "node": nodes, f"{_NT}link": [_te_link(lk) for lk in view["links"]]}  # fmt: skip
    return {f"{_NW}networks": {"network": [network]}}
