"""Tests for Demarc's own JSON formats."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.errors import InvalidInput
from gateway.ingest import (
    AlarmsDoc,
    MaintenanceDoc,
    MetricsDoc,
    ServicesDoc,
    decode_json,
    parse_alarms,
    parse_maintenance,
    parse_metrics,
    parse_services,
)
from gateway.model import (
    DeleteServices,
    MaintenanceStatus,
    ResourceRef,
    Severity,
    SlaTargets,
    UpsertServices,
)

T0 = "2026-11-27T21:00:00Z"
T1 = "2026-11-27T23:00:00+01:00"  # 22:00Z


def service(**extra: Any) -> dict[str, Any]:
    return {
        "id": "svc-1",
        "customer": "acme",
        "endpoints": [{"node": "pe1", "tp": "ge-0/1/5"}],
        "resources": [{"link": "l1"}, {"node": "p1"}],
        **extra,
    }


def alarm(**extra: Any) -> dict[str, Any]:
    return {"id": "a1", "resource": {"node": "pe1"}, "severity": "major", "raised_at": T0, **extra}


def sample(**extra: Any) -> dict[str, Any]:
    return {"resource": {"link": "l1"}, "metric": "delay_ms", "value": 4.1, "at": T0, **extra}


def window(**extra: Any) -> dict[str, Any]:
    return {"id": "m1", "resources": [{"node": "p1"}], "start": T0, "end": T1, **extra}


def problems(parse: Any, doc: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as info:
        parse(doc)
    return [(p.where, p.message) for p in info.value.problems]


def wheres(parse: Any, doc: object) -> list[str]:
    return [where for where, _ in problems(parse, doc)]


def test_services_upsert() -> None:
    doc = {
        "services": [
            service(
                name="Acme L3VPN",
                type="l3vpn",
                sla={"availability_pct": 99.99, "max_delay_ms": 30},
                bandwidth_mbps=1000,
            )
        ]
    }
    change = parse_services(doc)
    assert isinstance(change, UpsertServices)
    [svc] = change.services
    assert (svc.service_id, svc.customer, svc.name, svc.service_type) == (
        "svc-1",
        "acme",
        "Acme L3VPN",
        "l3vpn",
    )
    assert svc.endpoints == (ResourceRef(node="pe1", tp="ge-0/1/5"),)
    assert svc.resources == (ResourceRef(link="l1"), ResourceRef(node="p1"))
    assert svc.sla == SlaTargets(availability_pct=99.99, max_delay_ms=30.0)
    assert svc.bandwidth_mbps == 1000.0


def test_services_minimal_has_default_sla() -> None:
    change = parse_services({"services": [service()]})
    assert isinstance(change, UpsertServices)
    assert change.services[0].sla == SlaTargets()


def test_services_delete() -> None:
    assert parse_services({"delete": ["svc-1", "svc-2", "svc-1"]}) == DeleteServices(
        ("svc-1", "svc-2")
    )


def test_services_upsert_and_delete_together_is_an_error() -> None:
    assert wheres(parse_services, {"services": [], "delete": []}) == ["$"]


def test_services_unknown_key() -> None:
    doc = {"services": [service(colour="red")]}
    assert problems(parse_services, doc) == [
        ("$.services[0].colour", "unknown key: this format does not define it")
    ]


def test_services_duplicate_id() -> None:
    doc = {"services": [service(), service(customer="other")]}
    assert wheres(parse_services, doc) == ["$.services[1].id"]


def test_services_sla_out_of_range() -> None:
    doc = {"services": [service(sla={"availability_pct": 100.5})]}
    assert wheres(parse_services, doc) == ["$.services[0].sla.availability_pct"]


@pytest.mark.parametrize(
    "ref",
    [
        {"tp": "ge-0/1/5"},
        {"node": "pe1", "link": "l1"},
        {},
        {"link": "l1", "service": "s"},
        {"node": None},
    ],
)
def test_bad_ref_shape(ref: dict[str, Any]) -> None:
    doc = {"services": [service(resources=[{"link": "l1"}, ref])]}
    assert wheres(parse_services, doc) == ["$.services[0].resources[1]"]


def test_ref_with_unknown_key() -> None:
    doc = {"services": [service(endpoints=[{"node": "pe1", "port": "x"}])]}
    assert wheres(parse_services, doc) == ["$.services[0].endpoints[0].port"]


@pytest.mark.parametrize("bad_id", ["", "x" * 257, "svc\x00", "svc\u0085"])
def test_bad_ids(bad_id: str) -> None:
    assert wheres(parse_services, {"services": [service(id=bad_id)]}) == ["$.services[0].id"]


def test_alarms() -> None:
    doc = {
        "alarms": [
            alarm(cleared_at=T1, probable_cause="lossOfSignal", text="fibre cut"),
            alarm(id="a2", resource=None, severity="warning"),
        ]
    }
    first, second = parse_alarms(doc).alarms
    assert first.alarm_id == "a1"
    assert first.resource == ResourceRef(node="pe1")
    assert first.severity is Severity.MAJOR
    assert first.raised_at == datetime(2026, 11, 27, 21, tzinfo=UTC)
    assert first.cleared_at == datetime(2026, 11, 27, 22, tzinfo=UTC)
    assert first.cleared_at.tzinfo is UTC
    assert (first.probable_cause, first.text, first.source) == (
        "lossOfSignal",
        "fibre cut",
        "native",
    )
    assert second.resource is None
    assert second.active


def test_alarm_resource_is_required_even_if_null() -> None:
    doc = {"alarms": [{"id": "a1", "severity": "major", "raised_at": T0}]}
    assert problems(parse_alarms, doc) == [("$.alarms[0].resource", "required key is missing")]


def test_alarm_bad_severity() -> None:
    [(where, message)] = problems(parse_alarms, {"alarms": [alarm(severity="urgent")]})
    assert where == "$.alarms[0].severity"
    assert "'critical'" in message
    assert '"urgent"' in message


def test_alarm_naive_timestamp() -> None:
    [(where, message)] = problems(
        parse_alarms, {"alarms": [alarm(raised_at="2026-11-27T21:00:00")]}
    )
    assert where == "$.alarms[0].raised_at"
    assert "UTC offset" in message


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-11-27",
        "1700000000",
        1700000000,
        "2026-02-30T00:00:00Z",
        "\u0662\u0660\u0662\u0666-11-27T21:00:00Z",  # Arabic-Indic digits
    ],
)
def test_alarm_bad_timestamps(value: object) -> None:
    assert wheres(parse_alarms, {"alarms": [alarm(raised_at=value)]}) == ["$.alarms[0].raised_at"]


def test_alarm_cleared_before_raised() -> None:
    doc = {"alarms": [alarm(raised_at=T1, cleared_at=T0)]}
    assert wheres(parse_alarms, doc) == ["$.alarms[0].cleared_at"]


def test_metrics() -> None:
    doc = {
        "samples": [
            sample(),
            sample(resource={"service": "svc-1"}, metric="availability_pct", value=100),
        ]
    }
    first, second = parse_metrics(doc).samples
    assert (first.resource, first.metric, first.value) == (ResourceRef(link="l1"), "delay_ms", 4.1)
    assert first.at == datetime(2026, 11, 27, 21, tzinfo=UTC)
    assert second.value == 100.0
    assert isinstance(second.value, float)


def test_metrics_unknown_metric_name() -> None:
    [(where, message)] = problems(parse_metrics, {"samples": [sample(metric="temperature")]})
    assert where == "$.samples[0].metric"
    assert "delay_ms" in message


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_metrics_non_finite_value(value: float) -> None:
    assert wheres(parse_metrics, {"samples": [sample(value=value)]}) == ["$.samples[0].value"]


@pytest.mark.parametrize("value", ["4.1", True, None])
def test_metrics_value_must_be_a_number(value: object) -> None:
    assert wheres(parse_metrics, {"samples": [sample(value=value)]}) == ["$.samples[0].value"]


def test_metrics_nan_literal_is_not_json() -> None:
    assert [p.where for p in _decode_problems(b'{"samples": [{"value": NaN}]}')] == ["$"]


def _decode_problems(body: bytes) -> list[Any]:
    with pytest.raises(InvalidInput) as info:
        decode_json(body)
    return info.value.problems


def test_decode_reports_line_and_column() -> None:
    [problem] = _decode_problems(b'{\n  "samples": [,]\n}')
    assert problem.where == "$"
    assert problem.message.startswith("not valid JSON: ")
    assert "line 2 column 15" in problem.message


def test_decode_says_when_the_body_ends_too_early_and_where() -> None:
    [problem] = _decode_problems(b'{"samples": [1, 2')
    assert problem.message == "not valid JSON: the body ends before the JSON value does (byte 17)"
    [problem] = _decode_problems(b'{"a": 1,}')
    assert problem.message == "not valid JSON: trailing comma in object at line 1 column 9"


def test_maintenance() -> None:
    doc = {"maintenance": [window(status="in-progress", description="linecard swap")]}
    [m] = parse_maintenance(doc).windows
    assert m.maintenance_id == "m1"
    assert m.resources == (ResourceRef(node="p1"),)
    assert (m.start, m.end) == (
        datetime(2026, 11, 27, 21, tzinfo=UTC),
        datetime(2026, 11, 27, 22, tzinfo=UTC),
    )
    assert m.status is MaintenanceStatus.IN_PROGRESS
    assert m.description == "linecard swap"


def test_maintenance_default_status() -> None:
    [m] = parse_maintenance({"maintenance": [window()]}).windows
    assert m.status is MaintenanceStatus.SCHEDULED


@pytest.mark.parametrize("end", [T0, "2026-11-27T21:30:00+01:00"])
def test_maintenance_end_not_after_start(end: str) -> None:
    [(where, message)] = problems(parse_maintenance, {"maintenance": [window(end=end)]})
    assert where == "$.maintenance[0].end"
    assert "after" in message


def test_maintenance_needs_a_resource() -> None:
    assert wheres(parse_maintenance, {"maintenance": [window(resources=[])]}) == [
        "$.maintenance[0].resources"
    ]


def test_every_problem_is_reported() -> None:
    doc = {
        "maintenance": [
            window(start="2026-11-27T21:00:00"),
            window(id="m2", resources=[{"link": "l1", "node": "x"}], status="done"),
            window(id="m3", end=T0),
        ]
    }
    assert wheres(parse_maintenance, doc) == [
        "$.maintenance[0].start",
        "$.maintenance[1].resources[0]",
        "$.maintenance[1].status",
        "$.maintenance[2].end",
    ]


def test_list_size_limit() -> None:
    doc = {"delete": ["x"] * 100_001}
    assert wheres(parse_services, doc) == ["$.delete"]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ([], ["$"]),
        ("services", ["$"]),
        (None, ["$"]),
        ({"service": []}, ["$.services", "$.service"]),
        ({"services": {}}, ["$.services"]),
    ],
)
def test_wrong_document_shape(doc: object, expected: list[str]) -> None:
    assert wheres(parse_services, doc) == expected


def test_schemas_forbid_unknown_keys() -> None:
    for model in (ServicesDoc, AlarmsDoc, MetricsDoc, MaintenanceDoc):
        schema = model.model_json_schema()
        assert schema["additionalProperties"] is False
        for definition in schema["$defs"].values():
            if definition.get("type") == "object":
                assert definition["additionalProperties"] is False


def test_a_key_named_twice_is_refused_where_it_is() -> None:
    [problem] = _decode_problems(b'{"samples": [{"metric": "delay_ms", "metric": "loss_pct"}]}')
    assert problem.where == "$.samples[0]"
    assert (
        problem.message == 'the key "metric" appears twice in this object; expected each key once'
    )


def test_nan_and_infinity_are_not_json() -> None:
    for text in (b'{"value": NaN}', b'{"value": -Infinity}'):
        [problem] = _decode_problems(text)
        assert problem.where == "$" and "not JSON" in problem.message
