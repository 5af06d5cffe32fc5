"""Tests for the disclosure engine: scopes, allow-lists, pseudonyms, derived status, rendering."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.disclosure import (
    PolicySet,
    Pseudonymizer,
    audience_key,
    compile_policy,
    load_policy_dir,
    next_boundary,
    parse_policy,
    render,
)
from gateway.disclosure.incidents import group_incidents
from gateway.disclosure.project import format_time
from gateway.disclosure.stale import StaleReferences, stale_references
from gateway.model import (
    Alarm,
    Link,
    LinkKind,
    Maintenance,
    MaintenanceStatus,
    MetricSample,
    Node,
    ResourceRef,
    Service,
    Severity,
    SlaTargets,
    Snapshot,
    TerminationPoint,
    Topology,
)

SECRET = b"test-master-secret"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
PSEUDONYM = re.compile(r"^[a-z]{2}-[0-9a-f]{16}$")
POLICIES = Path(__file__).resolve().parent.parent / "policies"

AMS, LON, FRA = "n-ams-7f", "n-lon-3c", "n-fra-9d"
LINK = ResourceRef(link="lnk-int-ams-lon")
AMS_CUST = ResourceRef(node=AMS, tp="tp-ams-ge-cust")
IC_A = ResourceRef(link="lnk-ic-acme-a")


def _tp(tp_id: str, addr: str) -> TerminationPoint:
    return TerminationPoint(tp_id, name=tp_id.replace("tp-", "if-"), addresses=(addr,))


TOPOLOGY = Topology(
    network_id="as64500",
    nodes=(
        Node(AMS, name="ams-core-01.int", router_ids=("10.255.0.1",), site="Ams-DC-Hall3",
             tps=(_tp("tp-ams-et-0-0-1", "192.0.2.10/31"), _tp("tp-ams-et-0-0-2", "192.0.2.12/31"),
                  _tp("tp-ams-ge-cust", "198.51.100.1/30"))),
        Node(LON, name="lon-core-02.int", router_ids=("10.255.0.2",), site="Lon-Telehouse-N",
             tps=(_tp("tp-lon-et-1-0-0", "192.0.2.13/31"), _tp("tp-lon-et-1-0-9", "192.0.2.20/31"),
                  _tp("tp-lon-et-1-0-5", "192.0.2.30/31"),
                  _tp("tp-lon-ge-cust", "198.51.100.5/30"))),
        Node(FRA, name="fra-edge-03.int", site="Fra-Interxion-F9",
             tps=(_tp("tp-fra-ge-cust", "198.51.100.9/30"),)),
    ),
    links=(
        Link("lnk-int-ams-lon", AMS, "tp-ams-et-0-0-2", LON, "tp-lon-et-1-0-0",
             name="BACKBONE-INT-42"),
        Link("lnk-ic-acme-a", AMS, "tp-ams-et-0-0-1", "x-acme-stub", "x-acme-p1",
             kind=LinkKind.INTERCONNECT, name="ACME-CKT-0001", peer="acme", remote_node="acme-r1",
             remote_tp="xe-0/0/1", capacity_bps=10e9, delay_us=1500),
        Link("lnk-ic-acme-b", LON, "tp-lon-et-1-0-9", "x-acme-stub", "x-acme-p2",
             kind=LinkKind.INTERCONNECT, peer="acme"),
        Link("lnk-ic-gn-1", LON, "tp-lon-et-1-0-5", "x-gn-stub", "x-gn-p1",
             kind=LinkKind.INTERCONNECT, name="GN-CKT-77", peer="globalnet", remote_node="gn-edge9",
             remote_tp="Te0/1"),
    ),
)  # fmt: skip

SERVICES = (
    Service("svc-globex-ams", "globex", name="Globex AMS", service_type="l2vpn",
            endpoints=(AMS_CUST,), resources=(LINK,),
            sla=SlaTargets(availability_pct=99.9), bandwidth_mbps=1000),
    Service("svc-globex-lon", "globex", name="Globex LON",
            endpoints=(ResourceRef(LON, "tp-lon-ge-cust"),)),
    Service("svc-initech-fra", "initech", name="Initech FRA",
            endpoints=(ResourceRef(FRA, "tp-fra-ge-cust"),)),
)  # fmt: skip


def alarm(aid: str, ref: ResourceRef, sev: Severity = Severity.MAJOR, **kw: Any) -> Alarm:
    kw.setdefault("raised_at", NOW - 3 * H)
    kw.setdefault("text", f"internal text for {aid} near ams-core-01.int")
    kw.setdefault("probable_cause", "loss-of-signal")
    return Alarm(aid, ref, sev, **kw)


def window(mid: str, refs: tuple[ResourceRef, ...], start: datetime, hours: int = 4,
           **kw: Any) -> Maintenance:  # fmt: skip
    kw.setdefault("description", f"swap line cards for {mid} on ams-core-01.int")
    return Maintenance(mid, refs, start, start + hours * H, **kw)


BASE_ALARMS = (
    alarm("al-ic-acme", IC_A),
    alarm("al-tp-acme", ResourceRef(node=AMS, tp="tp-ams-et-0-0-1"), Severity.MINOR),
    alarm("al-int", LINK),
    alarm("al-ic-gn", ResourceRef(link="lnk-ic-gn-1"), Severity.CRITICAL),
    alarm("al-node-ams", ResourceRef(node=AMS), Severity.WARNING),
    alarm("al-old", IC_A, cleared_at=NOW - 30 * H),
    alarm("al-recent", IC_A, cleared_at=NOW - 2 * H),
)
BASE_WINDOWS = (
    window("mw-both", (IC_A, ResourceRef(link="lnk-ic-gn-1"), LINK, ResourceRef(node=FRA)),
           NOW + 24 * H),
    window("mw-done", (IC_A,), NOW - H, status=MaintenanceStatus.COMPLETED),
)  # fmt: skip
BASE_METRICS = (
    MetricSample(IC_A, "utilisation_pct", 42.4567, NOW - H / 12),
    MetricSample(IC_A, "delay_ms", 1.23456, NOW - H / 40),
    MetricSample(IC_A, "loss_pct", 0.123456, NOW - 5 * H),
)


def snap(
    alarms: tuple[Alarm, ...] = BASE_ALARMS,
    windows: tuple[Maintenance, ...] = BASE_WINDOWS,
    metrics: tuple[MetricSample, ...] = BASE_METRICS,
) -> Snapshot:
    return Snapshot(
        revision=1,
        topology=TOPOLOGY,
        services={s.service_id: s for s in SERVICES},
        alarms={a.alarm_id: a for a in alarms},
        metrics={(m.resource, m.metric): m for m in metrics},
        maintenance={w.maintenance_id: w for w in windows},
    )


PEER = """\
audience: {aud}
disclose:
  interconnect:
    identifiers: {ids}
    fields: [id, status, capacity_mbps, utilisation_pct, delay_ms, loss_pct, local_tp,
             remote_node, remote_tp, updated_at]
    round: {{utilisation_pct: 1, delay_ms: 2}}
  alarm:
    fields: [id, resource, severity, probable_cause, specific_problem, state, raised_at,
             cleared_at, text]
    text: {{template: "{{severity}} alarm on {{resource}}"}}
  maintenance:
    fields: [id, resources, start, end, status]
"""
CUSTOMER = """\
audience: {aud}
disclose:
  service:
    identifiers: {ids}
    fields: [id, name, type, status, sla, bandwidth_mbps, endpoints]
  incident:
    fields: [id, services, impact, severity, probable_cause, state, started_at, cleared_at]
  maintenance:
    fields: [id, services, start, end, status, text]
    text: {{template: "Planned work ({{status}}) on {{services}}"}}
"""


def pz(audience: str) -> Pseudonymizer:
    return Pseudonymizer(audience_key(SECRET, audience))


def show(policy: str, audience: str, snapshot: Snapshot | None = None, now: datetime = NOW,
         **fmt: str) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    fmt.setdefault("ids", "shared")
    text = policy.format(aud=fmt.pop("aud", audience), **fmt)
    compiled = compile_policy(parse_policy(text))
    return render(compiled, snapshot or snap(), audience, pz(audience), now)


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {item["id"] for item in items}


def test_default_deny_only_listed_fields() -> None:
    peer = "audience: {aud}\ndisclose:\n  interconnect: {{fields: [status, id]}}\n" \
        "  alarm: {{fields: [severity]}}\n  maintenance: {{fields: [start]}}\n"  # fmt: skip
    out = show(peer, "peer/acme")
    assert [set(i) for i in out["interconnects"]] == [{"id", "status"}] * 2
    assert [set(i) for i in out["alarms"]] == [{"severity"}] * 4
    assert [set(i) for i in out["maintenance"]] == [{"start"}]
    cust = "audience: {aud}\ndisclose:\n  service: {{fields: [status]}}\n" \
        "  incident: {{fields: [impact]}}\n  maintenance: {{fields: [end]}}\n"  # fmt: skip
    out = show(cust, "customer/globex")
    assert [set(i) for i in out["services"]] == [{"status"}] * 2
    assert [set(i) for i in out["incidents"]] == [{"impact"}]
    assert [set(i) for i in out["maintenance"]] == [{"end"}]
    out = show("audience: {aud}\ndisclose:\n  interconnect: {{fields: [id]}}\n", "peer/acme")
    assert set(out) == {"interconnects"}  # views the policy does not name are absent


def test_render_refuses_audience_of_other_role() -> None:
    compiled = compile_policy(parse_policy(PEER.format(aud="peer/acme", ids="shared")))
    with pytest.raises(ValueError):
        render(compiled, snap(), "customer/acme", pz("customer/acme"), NOW)


def test_peer_sees_only_own_interconnects() -> None:
    acme = show(PEER, "peer/acme")
    assert ids(acme["interconnects"]) == {"ACME-CKT-0001", pz("peer/acme")("ic", "lnk-ic-acme-b")}
    assert b"GN-CKT-77" not in msgspec.json.encode(acme) and b"gn-edge9" not in msgspec.json.encode(
        acme
    )
    gn = show(PEER, "peer/globalnet")
    assert ids(gn["interconnects"]) == {"GN-CKT-77"}
    assert b"ACME-CKT-0001" not in msgspec.json.encode(
        gn
    ) and b"xe-0/0/1" not in msgspec.json.encode(gn)
    assert show(PEER, "peer/nobody")["interconnects"] == []


def test_peer_alarms_only_on_own_interconnect_its_local_tp_or_its_router() -> None:
    p = pz("peer/acme")
    acme = show(PEER, "peer/acme")["alarms"]
    own = ("al-ic-acme", "al-tp-acme", "al-recent", "al-node-ams")
    assert ids(acme) == {p("al", a) for a in own}
    by_id = {i["id"]: i for i in acme}
    assert by_id[p("al", "al-tp-acme")]["resource"] == "ACME-CKT-0001"  # TP alarm → its circuit
    # a router-level alarm is on every interconnect of that router, named by the circuit
    assert by_id[p("al", "al-node-ams")]["resource"] == "ACME-CKT-0001"
    assert by_id[p("al", "al-recent")]["state"] == "cleared"
    gn = show(PEER, "peer/globalnet")["alarms"]
    assert ids(gn) == {pz("peer/globalnet")("al", "al-ic-gn")}


def test_a_router_down_takes_its_interconnects_down_for_peers_as_for_customers() -> None:
    node_down = alarm("al-node-lon", ResourceRef(node=LON), Severity.CRITICAL, text=None)
    data = snap((*BASE_ALARMS, node_down))
    acme = {i["id"]: i["status"] for i in show(PEER, "peer/acme", data)["interconnects"]}
    gn = {i["id"]: i["status"] for i in show(PEER, "peer/globalnet", data)["interconnects"]}
    assert acme[pz("peer/acme")("ic", "lnk-ic-acme-b")] == "down"  # on LON
    assert acme["ACME-CKT-0001"] != "down"  # on AMS: not affected
    assert gn == {"GN-CKT-77": "down"}  # on LON too
    globex = {i["name"]: i["status"] for i in show(CUSTOMER, "customer/globex", data)["services"]}
    assert globex["Globex LON"] == "outage"  # the same router, the same verdict


def test_peer_maintenance_names_only_own_circuits() -> None:
    acme = show(PEER, "peer/acme")["maintenance"]
    gn = show(PEER, "peer/globalnet")["maintenance"]
    assert [i["resources"] for i in acme] == [["ACME-CKT-0001"]]
    assert [i["resources"] for i in gn] == [["GN-CKT-77"]]
    assert acme[0]["status"] == "scheduled"
    assert acme[0]["id"] != gn[0]["id"]  # one window, unlinkable between audiences


def test_shared_identifiers_use_circuit_name_or_pseudonym() -> None:
    out = show(PEER, "peer/acme")
    unnamed = pz("peer/acme")("ic", "lnk-ic-acme-b")
    assert PSEUDONYM.match(unnamed)
    assert ids(out["interconnects"]) == {"ACME-CKT-0001", unnamed}
    assert b"lnk-ic-acme" not in msgspec.json.encode(out)
    hidden = show(PEER, "peer/acme", ids="pseudonym")  # the circuit name is not shared either
    assert all(PSEUDONYM.match(i) for i in ids(hidden["interconnects"]))
    assert all(PSEUDONYM.match(i["resource"]) for i in hidden["alarms"])
    assert b"ACME-CKT-0001" not in msgspec.json.encode(hidden)


def test_pseudonyms_stable_and_per_audience() -> None:
    first = show(PEER, "peer/acme", ids="pseudonym")
    assert show(PEER, "peer/acme", ids="pseudonym") == first
    for view in first.values():
        assert all(PSEUDONYM.match(i["id"]) for i in view)
    acme, gn = pz("peer/acme"), pz("peer/globalnet")
    assert acme("ic", "lnk-ic-gn-1") != gn("ic", "lnk-ic-gn-1")
    assert acme("ic", "x") == pz("peer/acme")("ic", "x")
    assert Pseudonymizer(audience_key(b"other", "peer/acme"))("ic", "x") != acme("ic", "x")


def test_customer_sees_only_own_services() -> None:
    globex = show(CUSTOMER, "customer/globex")["services"]
    assert ids(globex) == {"svc-globex-ams", "svc-globex-lon"}
    initech = show(CUSTOMER, "customer/initech")
    assert ids(initech["services"]) == {"svc-initech-fra"}
    assert b"globex" not in msgspec.json.encode(initech).lower()
    assert show(CUSTOMER, "customer/nobody")["services"] == []


def test_wildcard_policy_serves_customers_with_own_pseudonyms() -> None:
    wildcard = compile_policy(parse_policy(CUSTOMER.format(aud="customer/*", ids="pseudonym")))
    exact = compile_policy(parse_policy(CUSTOMER.format(aud="customer/globex", ids="shared")))
    policies = PolicySet([wildcard, exact])
    assert policies.for_audience("customer/globex") is exact
    assert policies.for_audience("customer/initech") is wildcard
    assert policies.for_audience("peer/acme") is None
    assert PolicySet([wildcard]).for_audience("customer/globex") is wildcard
    windows = (window("mw-x", (ResourceRef(node=LON), ResourceRef(node=FRA)), NOW + H),)
    out = {c: render(wildcard, snap(windows=windows), c, pz(c), NOW)
           for c in ("customer/globex", "customer/initech")}  # fmt: skip
    g, i = out["customer/globex"], out["customer/initech"]
    assert len(g["services"]) == 2 and len(i["services"]) == 1
    assert g["maintenance"][0]["id"] != i["maintenance"][0]["id"]
    pg = pz("customer/globex")
    assert g["maintenance"][0]["services"] == sorted(
        [pg("sv", "svc-globex-ams"), pg("sv", "svc-globex-lon")]
    )
    assert i["maintenance"][0]["services"] == [pz("customer/initech")("sv", "svc-initech-fra")]


MW_ON_LON = window("mw-lon", (ResourceRef(node=LON),), NOW - H)


@pytest.mark.parametrize(
    ("alarms", "windows", "expected"),
    [
        ((), (), "operational"),
        ((alarm("a", LINK, Severity.MAJOR),), (), "degraded"),
        ((alarm("a", ResourceRef(LON, "tp-lon-et-1-0-0"), Severity.MINOR),), (), "degraded"),
        ((alarm("a", LINK, Severity.WARNING),), (), "operational"),
        ((alarm("a", AMS_CUST, Severity.CRITICAL),), (), "outage"),
        ((alarm("a", ResourceRef(node=AMS), Severity.CRITICAL),), (), "outage"),
        ((alarm("a", ResourceRef(service="svc-globex-ams"), Severity.CRITICAL),), (), "outage"),
        ((alarm("a", ResourceRef(node=FRA), Severity.CRITICAL),), (), "operational"),
        ((), (MW_ON_LON,), "maintenance"),
        ((alarm("a", ResourceRef(node=LON), Severity.CRITICAL),), (MW_ON_LON,), "maintenance"),
        ((alarm("a", AMS_CUST, Severity.CRITICAL),), (MW_ON_LON,), "outage"),
        # a link down because the router it ends on is under maintenance: planned, not outage
        ((alarm("a", LINK, Severity.CRITICAL),), (MW_ON_LON,), "maintenance"),
        (
            (alarm("a", ResourceRef(LON, "tp-lon-et-1-0-0"), Severity.CRITICAL),),
            (MW_ON_LON,),
            "maintenance",
        ),
        ((alarm("a", AMS_CUST, Severity.CRITICAL, cleared_at=NOW - H),), (), "operational"),
        ((alarm("a", AMS_CUST, Severity.CLEARED),), (), "operational"),
        ((), (window("w", (LINK,), NOW + H),), "operational"),
        ((), (window("w", (LINK,), NOW - H, status=MaintenanceStatus.CANCELLED),), "operational"),
    ],
)
def test_derived_service_status(
    alarms: tuple[Alarm, ...], windows: tuple[Maintenance, ...], expected: str
) -> None:
    out = show(CUSTOMER, "customer/globex", snap(alarms, windows))
    by_id = {i["id"]: i for i in out["services"]}
    assert by_id["svc-globex-ams"]["status"] == expected


@pytest.mark.parametrize(
    ("alarms", "windows", "expected"),
    [
        ((), (), "degraded"),  # BASE: al-ic-acme is major, al-tp-acme minor
        ((alarm("c", IC_A, Severity.CRITICAL),), (), "down"),
        ((alarm("c", IC_A, Severity.CRITICAL),), (window("w", (IC_A,), NOW - H),), "maintenance"),
        ((), (window("w", (IC_A,), NOW + H),), "up"),
    ],
)
def test_interconnect_status(
    alarms: tuple[Alarm, ...], windows: tuple[Maintenance, ...], expected: str
) -> None:
    base = () if alarms or windows else BASE_ALARMS
    out = show(PEER, "peer/acme", snap(alarms + base, windows))
    by_id = {i["id"]: i for i in out["interconnects"]}
    assert by_id["ACME-CKT-0001"]["status"] == expected


def test_future_window_listed_as_scheduled() -> None:
    windows = (window("w-next", (LINK,), NOW + H), window("w-now", (AMS_CUST,), NOW - H),
               window("w-done", (LINK,), NOW - H, status=MaintenanceStatus.COMPLETED),
               window("w-past", (LINK,), NOW - 9 * H))  # fmt: skip
    out = show(CUSTOMER, "customer/globex", snap((), windows))
    p = pz("customer/globex")
    status = {i["id"]: i["status"] for i in out["maintenance"]}
    assert status == {p("mw", "w-next"): "scheduled", p("mw", "w-now"): "in-progress"}


def test_text_dropped_unless_listed() -> None:
    base = "audience: {aud}\ndisclose:\n  alarm:\n    fields: [id{extra}]\n    text: {rule}\n"
    dropped = show(base, "peer/acme", extra="", rule="keep")["alarms"]
    assert all("text" not in i for i in dropped)
    kept = show(base, "peer/acme", extra=", text", rule="keep")["alarms"]
    texts = {i["text"] for i in kept}
    assert "internal text for al-ic-acme near ams-core-01.int" in texts


def test_template_renders_published_values() -> None:
    acme = show(PEER, "peer/acme")["alarms"]
    tp = next(i for i in acme if i["id"] == pz("peer/acme")("al", "al-tp-acme"))
    assert tp["text"] == "minor alarm on ACME-CKT-0001"
    windows = (window("w", (ResourceRef(node=AMS), ResourceRef(node=LON)), NOW + H),)
    (mw,) = show(CUSTOMER, "customer/globex", snap((), windows))["maintenance"]
    assert mw["text"] == "Planned work (scheduled) on svc-globex-ams, svc-globex-lon"


def test_rounding_and_updated_at() -> None:
    (ic, _) = sorted(show(PEER, "peer/acme")["interconnects"], key=lambda i: i["id"])
    assert ic["id"] == "ACME-CKT-0001"
    assert ic["utilisation_pct"] == 42.5
    assert ic["delay_ms"] == 1.23
    assert ic["loss_pct"] == 0.123456  # not rounded: not in round
    assert ic["capacity_mbps"] == 10000.0
    assert ic["updated_at"] == "2025-03-01T11:58:30Z"  # the newest sample
    zero = show(PEER.replace("utilisation_pct: 1", "utilisation_pct: 0"), "peer/acme")
    assert zero["interconnects"][0]["utilisation_pct"] == 42.0
    measured_delay_gone = show(PEER, "peer/acme", snap(metrics=BASE_METRICS[:1]))
    assert measured_delay_gone["interconnects"][0]["delay_ms"] == 1.5  # from delay_us


@pytest.mark.parametrize(
    ("precision", "raised", "cleared"),
    [
        # a start rounds down and a clear rounds up: the published episode covers the real one
        ("second", "2025-03-01T10:17:45Z", "2025-03-01T12:00:00Z"),
        ("minute", "2025-03-01T10:17:00Z", "2025-03-01T12:00:00Z"),
        ("hour", "2025-03-01T10:00:00Z", "2025-03-01T12:00:00Z"),
    ],
)
def test_time_precision(precision: str, raised: str, cleared: str) -> None:
    cet = timezone(timedelta(hours=1))
    at = datetime(2025, 3, 1, 11, 17, 45, 123456, tzinfo=cet)
    a = alarm("a", IC_A, raised_at=at, cleared_at=NOW - timedelta(seconds=0.5))
    text = "audience: {aud}\ndisclose:\n  alarm:\n    fields: [raised_at, cleared_at]\n"
    text += "    time_precision: {p}\n"
    (item,) = show(text, "peer/acme", snap((a,)), p=precision)["alarms"]
    assert item == {"raised_at": raised, "cleared_at": cleared}


def test_incidents_severity_impact_and_history() -> None:
    alarms = (
        alarm("i-crit", AMS_CUST, Severity.CRITICAL),
        alarm("i-major", LINK, Severity.MAJOR),
        alarm("i-minor", ResourceRef(node=LON), Severity.MINOR),
        alarm("i-warn", LINK, Severity.WARNING),
        # raised before they cleared, as every ingest format insists
        alarm("i-recent", LINK, Severity.MAJOR, raised_at=NOW - 24 * H, cleared_at=NOW - 23 * H),
        alarm("i-old", LINK, Severity.CRITICAL, raised_at=NOW - 26 * H, cleared_at=NOW - 25 * H),
        alarm("i-other", ResourceRef(node=FRA), Severity.CRITICAL),
    )
    # one incident per alarm (they all start at once: grouping is tested on its own below)
    ungrouped = CUSTOMER.replace("cleared_at]\n", "cleared_at]\n    group_minutes: 0\n", 1)
    out = show(ungrouped, "customer/globex", snap(alarms, ()))["incidents"]
    p = pz("customer/globex")
    by_id = {i["id"]: i for i in out}
    assert set(by_id) == {p("in", a) for a in ("i-crit", "i-major", "i-minor", "i-recent")}
    assert by_id[p("in", "i-crit")]["impact"] == "outage"
    assert by_id[p("in", "i-major")]["impact"] == "degraded"
    assert by_id[p("in", "i-minor")]["services"] == ["svc-globex-ams", "svc-globex-lon"]
    recent = by_id[p("in", "i-recent")]
    assert (recent["state"], recent["cleared_at"]) == ("resolved", "2025-02-28T13:00:00Z")
    assert by_id[p("in", "i-crit")]["state"] == "active"


def test_a_burst_of_alarms_on_one_service_is_one_incident_with_a_count() -> None:
    burst = [
        alarm(f"b-{i:03d}", LINK, Severity.CRITICAL if i == 70 else Severity.MINOR,
              raised_at=NOW - 3 * H + i * timedelta(seconds=5), probable_cause=f"cause-{i}")
        for i in range(150)
    ]  # fmt: skip
    later = alarm("c-later", LINK, Severity.MAJOR, raised_at=NOW - H)  # 2 h on: a new episode
    other = alarm("d-other", ResourceRef(node=LON), Severity.MAJOR, raised_at=NOW - 3 * H)
    policy = CUSTOMER.replace("cleared_at]\n", "cleared_at, count]\n", 1)
    out = show(policy, "customer/globex", snap((*burst, later, other), ()))["incidents"]
    p = pz("customer/globex")
    by_id = {i["id"]: i for i in out}
    assert set(by_id) == {p("in", "b-000"), p("in", "c-later"), p("in", "d-other")}
    episode = by_id[p("in", "b-000")]
    assert episode["count"] == 150
    assert (episode["severity"], episode["impact"]) == ("critical", "outage")  # the worst
    assert episode["probable_cause"] == "cause-70"  # the worst alarm's
    assert episode["started_at"] == "2025-03-01T09:00:00Z"  # the first alarm's start
    assert by_id[p("in", "c-later")]["count"] == 1
    # another set of services is another incident, even at the same moment
    assert by_id[p("in", "d-other")]["services"] == ["svc-globex-ams", "svc-globex-lon"]


def test_an_episode_clears_when_its_last_alarm_clears() -> None:
    first = alarm("e-1", LINK, raised_at=NOW - 3 * H, cleared_at=NOW - 2 * H)
    second = alarm("e-2", LINK, raised_at=NOW - 3 * H + timedelta(minutes=5))
    policy = CUSTOMER.replace("cleared_at]\n", "cleared_at, count]\n", 1)
    (item,) = show(policy, "customer/globex", snap((first, second), ()))["incidents"]
    assert (item["state"], item["cleared_at"], item["count"]) == ("active", None, 2)
    done = alarm("e-2", LINK, raised_at=second.raised_at, cleared_at=NOW - H / 2)
    (item,) = show(policy, "customer/globex", snap((first, done), ()))["incidents"]
    assert (item["state"], item["cleared_at"]) == ("resolved", "2025-03-01T11:30:00Z")


@settings(max_examples=200, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=600), min_size=1, max_size=30),
    window=st.integers(min_value=0, max_value=120),
)
def test_grouping_keeps_every_alarm_once_and_episodes_within_the_window(
    offsets: list[int], window: int
) -> None:
    services = (SERVICES[0],)
    hits = [(alarm(f"g-{i:02d}", LINK, raised_at=NOW - timedelta(minutes=m)), services)
            for i, m in enumerate(offsets)]  # fmt: skip
    episodes = group_incidents(hits, timedelta(minutes=window))
    grouped = [a.alarm_id for e in episodes for a in e.alarms]
    assert sorted(grouped) == sorted(a.alarm_id for a, _ in hits)  # each alarm exactly once
    for e in episodes:
        assert all(a.raised_at - e.started_at <= timedelta(minutes=window) for a in e.alarms)
        assert window > 0 or len(e.alarms) == 1


def test_next_boundary() -> None:
    s = snap((alarm("c", LINK, cleared_at=NOW - 20 * H),), (window("w", (LINK,), NOW + 2 * H),))
    assert next_boundary(s, NOW, [24]) == NOW + 2 * H  # window start before the alarm leaves
    assert next_boundary(s, NOW, [1, 21]) == NOW + H  # the alarm leaves a 21 h history
    assert next_boundary(s, NOW + 3 * H, []) == NOW + 6 * H  # the window's end
    assert next_boundary(s, NOW + 7 * H, [24]) is None
    assert next_boundary(snap((), ()), NOW, [24]) is None


def _secrets(s: Snapshot) -> set[str]:
    out = {"BACKBONE-INT-42", "x-acme-stub", "x-acme-p1", "x-gn-stub", "x-gn-p1", "as64500"}
    for node in s.topology.nodes:
        out |= {node.node_id, *node.router_ids, node.name or "", node.site or ""}
        for tp in node.tps:
            out |= {tp.tp_id, tp.name or "", *(a.split("/")[0] for a in tp.addresses)}
    out |= {link.link_id for link in s.topology.links}
    out |= {a.alarm_id for a in s.alarms.values()} | {a.text or "" for a in s.alarms.values()}
    out |= {w.maintenance_id for w in s.maintenance.values()}
    out |= {w.description or "" for w in s.maintenance.values()}
    return out - {""}


def test_no_internal_identifier_leaks() -> None:
    s = snap()
    secrets = _secrets(s)
    others = {
        "peer/acme": {"GN-CKT-77", "gn-edge9", "Te0/1"},
        "peer/globalnet": {"ACME-CKT-0001", "acme-r1", "xe-0/0/1"},
        "peer/northwind": {"ACME-CKT-0001", "GN-CKT-77", "acme-r1", "gn-edge9"},
        "customer/globex": {"ACME-CKT-0001", "GN-CKT-77", "svc-initech-fra", "Initech FRA"},
        "customer/initech": {"ACME-CKT-0001", "GN-CKT-77", "svc-globex-ams", "Globex AMS"},
    }
    samples = PolicySet(compile_policy(p) for p in load_policy_dir(POLICIES))
    for audience, extra in others.items():
        mine = PEER if audience.startswith("peer/") else CUSTOMER
        for ident in ("shared", "pseudonym"):
            out = msgspec.json.encode(show(mine, audience, s, ids=ident)).decode()
            assert not {x for x in secrets | extra if x in out}, (audience, ident)
        policy = samples.for_audience(audience)
        assert policy is not None
        out = msgspec.json.encode(render(policy, s, audience, pz(audience), NOW)).decode()
        assert not {x for x in secrets | extra if x in out}, audience


@settings(max_examples=300, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    precision=st.sampled_from(["second", "minute", "hour"]),
)
def test_a_coarsened_interval_always_covers_the_real_one(
    start: datetime, length: timedelta, precision: str
) -> None:
    shown_start = format_time(start, precision)
    shown_end = format_time(start + length, precision, up=True)
    assert shown_start is not None and shown_end is not None
    lo = datetime.strptime(shown_start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    hi = datetime.strptime(shown_end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    unit = {"second": timedelta(seconds=1), "minute": timedelta(minutes=1)}.get(
        precision, timedelta(hours=1)
    )
    assert lo <= start and start + length <= hi  # covers it
    assert start - lo < unit and hi - (start + length) < unit  # by less than one unit each side


def test_a_service_whose_resources_vanished_is_unknown_and_staff_are_told() -> None:
    gone = ResourceRef(node=FRA, tp="tp-fra-ge-cust")
    shrunk = Topology(
        network_id=TOPOLOGY.network_id,
        nodes=tuple(n for n in TOPOLOGY.nodes if n.node_id != FRA),
        links=TOPOLOGY.links,
    )
    before = snap((*BASE_ALARMS, alarm("al-fra", gone, Severity.CRITICAL)))
    after = Snapshot(
        revision=2,
        topology=shrunk,
        services=before.services,
        alarms=before.alarms,
        metrics=before.metrics,
        maintenance=before.maintenance,
    )
    rule = "audience: {aud}\ndisclose:\n  service: {{fields: [name, status]}}\n"
    assert show(rule, "customer/initech", before)["services"] == [
        {"name": "Initech FRA", "status": "outage"}
    ]
    assert show(rule, "customer/initech", after)["services"] == [
        {"name": "Initech FRA", "status": "unknown"}
    ]
    # the other customers' services still resolve and keep their status
    assert "unknown" not in {s["status"] for s in show(rule, "customer/globex", after)["services"]}
    assert stale_references(before) == StaleReferences((), (), ())
    # mw-both names FRA too; al-fra is active on the vanished port
    assert stale_references(after) == StaleReferences(
        ("svc-initech-fra",), ("al-fra",), ("mw-both",)
    )


TOPOLOGY_AND_INTERCONNECTS = """\
audience: {aud}
disclose:
  interconnect: {{fields: [id, status, delay_ms], identifiers: shared}}
  topology: {{expose: interconnect, identifiers: shared, metrics: [delay_ms]}}
"""


def _agree(data: Snapshot, now: datetime = NOW) -> dict[str, tuple[str, str]]:
    """Per circuit: its status in /v1/interconnects and in /v1/topology, checked equal with
    its delay; and its RFC 8345 oper-status."""
    out = show(TOPOLOGY_AND_INTERCONNECTS, "peer/acme", data, now)
    ics = {i["id"]: i for i in out["interconnects"]}
    topo: Any = out["topology"]
    links = {lk["id"]: lk for lk in topo["links"] if lk["kind"] == "interconnect"}
    assert set(links) == set(ics)
    rfc: Any = out["topology-rfc8345"]
    (network,) = rfc["ietf-network:networks"]["network"]
    oper = {
        lk["ietf-te-topology:te"]["te-link-attributes"].get("name", lk["link-id"]): lk[
            "ietf-te-topology:te"
        ]["oper-status"]
        for lk in network["ietf-network-topology:link"]
    }
    for cid, ic in ics.items():
        assert links[cid]["status"] == ic["status"], cid
        # the same figure from the same source; the topology states it to the microsecond
        delay = ic["delay_ms"]
        assert links[cid].get("delay_ms") == (None if delay is None else round(delay, 3)), cid
    return {cid: (ic["status"], oper[cid]) for cid, ic in ics.items() if cid in oper}


def test_topology_tells_the_same_status_and_delay_as_the_interconnects_view() -> None:
    calm = snap((), ())
    assert _agree(calm)["ACME-CKT-0001"] == ("up", "up")
    down = snap((alarm("x", IC_A, Severity.CRITICAL),), ())
    assert _agree(down)["ACME-CKT-0001"] == ("down", "down")
    degraded = snap((alarm("x", IC_A, Severity.MAJOR),), ())
    assert _agree(degraded)["ACME-CKT-0001"] == ("degraded", "up")
    work = snap((), (window("w", (IC_A,), NOW - H),))
    assert _agree(work)["ACME-CKT-0001"] == ("maintenance", "maintenance")
    # measured delay wins over the TE metric in both views (1.5 ms TE, 1.23456 ms measured)
    out = show(TOPOLOGY_AND_INTERCONNECTS, "peer/acme", snap((), ()))
    topo: Any = out["topology"]
    delays = {lk["id"]: lk.get("delay_ms") for lk in topo["links"]}
    assert delays["ACME-CKT-0001"] == round(1.23456, 3)


def test_one_compiled_policy_re_renders_its_topology_when_a_circuit_goes_down() -> None:
    # the topology view is memoised per audience: the memo must see the circuit change
    compiled = compile_policy(parse_policy(TOPOLOGY_AND_INTERCONNECTS.format(aud="peer/acme")))
    p = pz("peer/acme")
    calm = render(compiled, snap((), ()), "peer/acme", p, NOW)
    down = render(compiled, snap((alarm("x", IC_A, Severity.CRITICAL),), ()), "peer/acme", p, NOW)
    views: Any = {"calm": calm, "down": down}
    status = {
        name: {lk["id"]: lk["status"] for lk in view["topology"]["links"]}
        for name, view in views.items()
    }
    assert status["calm"]["ACME-CKT-0001"] == "up"
    assert status["down"]["ACME-CKT-0001"] == "down"


def test_another_customers_service_being_deleted_does_not_change_this_ones_status() -> None:
    # a service may name another service among its resources; only topology resources that
    # vanish make a status unknown, so no view depends on another customer's services
    riding = Service("svc-initech-over", "initech", name="Initech over Globex",
                     endpoints=(ResourceRef(FRA, "tp-fra-ge-cust"),),
                     resources=(ResourceRef(service="svc-globex-ams"),))  # fmt: skip
    base = snap((), ())
    services = {**base.services, riding.service_id: riding}
    without = {k: v for k, v in services.items() if k != "svc-globex-ams"}
    rule = "audience: {aud}\ndisclose:\n  service: {{fields: [name, status]}}\n"

    def status(svcs: dict[str, Service]) -> str | None:
        data = Snapshot(revision=1, topology=TOPOLOGY, services=svcs, kind_revisions={})
        shown = show(rule, "customer/initech", data)["services"]
        return next(s["status"] for s in shown if s["name"] == "Initech over Globex")

    assert status(services) == status(without) == "operational"
