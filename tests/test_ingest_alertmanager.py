"""Tests for the Alertmanager webhook parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import ConfigError, InvalidInput
from gateway.ingest import AlertLabelMap, parse_alertmanager, parse_alertmanager_report
from gateway.model import Alarm, ResourceRef, Severity
from gateway.settings import load_settings

DATA = Path(__file__).parent / "data"
INTERNAL = ("alertmanager.noc.example.net", "prometheus.noc.example.net", "192.0.2.21")


@pytest.fixture
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / "alertmanager-webhook.json").read_text())
    return loaded


def alert(doc: dict[str, Any], i: int = 0) -> dict[str, Any]:
    got: dict[str, Any] = doc["alerts"][i]
    return got


def only_alarm(doc: object, labels: AlertLabelMap | None = None) -> Alarm:
    change = parse_alertmanager(doc) if labels is None else parse_alertmanager(doc, labels)
    [alarm] = change.alarms
    return alarm


def wheres(doc: object) -> list[str]:
    with pytest.raises(InvalidInput) as info:
        parse_alertmanager(doc)
    return [p.where for p in info.value.problems]


def test_firing_sample(doc: dict[str, Any]) -> None:
    alarm = only_alarm(doc)
    assert alarm.alarm_id == "am-6e1f4a1c2b3d4e5f-20261127T210411Z"
    assert alarm.resource == ResourceRef(node="asbr1.ams.example.net", tp="et-0/0/7")
    assert alarm.severity is Severity.CRITICAL
    assert alarm.raised_at == datetime(2026, 11, 27, 21, 4, 11, tzinfo=UTC)
    assert alarm.cleared_at is None
    assert alarm.active
    # the alert name is the operator's wording, not a cause from the vocabulary: never published
    assert alarm.probable_cause == "unknown" and alarm.specific_problem is None
    assert alarm.source == "alertmanager"
    assert alarm.text is not None
    assert alarm.text.startswith("et-0/0/7 on asbr1.ams is down\n")


def test_labels_are_kept_sorted(doc: dict[str, Any]) -> None:
    keys = [k for k, _ in only_alarm(doc).labels]
    assert keys == sorted(keys)
    assert ("instance", "192.0.2.21:9100") in only_alarm(doc).labels


def test_internal_urls_and_instance_stay_out_of_other_fields(doc: dict[str, Any]) -> None:
    alert(doc)["annotations"]["description"] = (
        "see http://prometheus.noc.example.net:9090/graph?g0.expr=ifOperStatus%3D%3D2 "
        "or http://alertmanager.noc.example.net:9093, target 192.0.2.21:9100 (192.0.2.21)"
    )
    alarm = only_alarm(doc)
    fields = [alarm.alarm_id, alarm.text, alarm.probable_cause, alarm.specific_problem]
    fields += [alarm.resource.node if alarm.resource else None]
    for value in fields:
        for internal in INTERNAL:
            assert internal not in (value or "")


def test_resolved_alert_is_cleared_at_ends_at(doc: dict[str, Any]) -> None:
    alert(doc)["status"] = "resolved"
    alert(doc)["endsAt"] = "2026-11-27T22:09:41.123456789+01:00"
    alarm = only_alarm(doc)
    assert alarm.cleared_at == datetime(2026, 11, 27, 21, 9, 41, 123456, tzinfo=UTC)
    assert not alarm.active


def test_zero_ends_at_on_a_firing_alert_means_none(doc: dict[str, Any]) -> None:
    assert alert(doc)["endsAt"] == "0001-01-01T00:00:00Z"
    assert only_alarm(doc).cleared_at is None


def test_future_ends_at_on_a_firing_alert_is_ignored(doc: dict[str, Any]) -> None:
    alert(doc)["endsAt"] = "2026-11-27T21:09:11Z"
    assert only_alarm(doc).cleared_at is None


def test_resolved_alert_with_zero_ends_at_is_a_problem(doc: dict[str, Any]) -> None:
    alert(doc)["status"] = "resolved"
    assert wheres(doc) == ["$.alerts[0].endsAt"]


def test_resolved_alert_ending_before_it_started_is_a_problem(doc: dict[str, Any]) -> None:
    alert(doc)["status"] = "resolved"
    alert(doc)["endsAt"] = "2026-11-27T21:09:41+01:00"  # 20:09:41Z, before startsAt
    assert wheres(doc) == ["$.alerts[0].endsAt"]


def test_ends_at_is_required(doc: dict[str, Any]) -> None:
    del alert(doc)["endsAt"]
    assert wheres(doc) == ["$.alerts[0].endsAt"]


@pytest.mark.parametrize("version", ["3", 4, None])
def test_version_mismatch(doc: dict[str, Any], version: object) -> None:
    doc["version"] = version
    doc["alerts"] = "not even a list"
    with pytest.raises(InvalidInput) as info:
        parse_alertmanager(doc)
    [problem] = info.value.problems
    assert problem.where == "$.version"
    assert '"4"' in problem.message


def test_missing_version(doc: dict[str, Any]) -> None:
    del doc["version"]
    assert wheres(doc) == ["$.version"]


def test_custom_label_map(doc: dict[str, Any]) -> None:
    labels = alert(doc)["labels"]
    labels.update({"device": "pe9", "port": "ge-1/1/1", "prio": "P1", "problem": "LinkFlap"})
    mapping = AlertLabelMap(
        node="device",
        tp="port",
        severity="prio",
        probable_cause="problem",
        severities={"p1": Severity.MAJOR},
        probable_causes={"LinkFlap": "lossOfSignal"},
    )
    alarm = only_alarm(doc, mapping)
    assert alarm.resource == ResourceRef(node="pe9", tp="ge-1/1/1")
    assert alarm.severity is Severity.MAJOR
    assert alarm.probable_cause == "lossOfSignal"


def test_link_label_wins_over_node(doc: dict[str, Any]) -> None:
    alert(doc)["labels"]["link"] = "asbr1.ams,et-0/0/7,acme"
    assert only_alarm(doc).resource == ResourceRef(link="asbr1.ams,et-0/0/7,acme")


def test_service_label(doc: dict[str, Any]) -> None:
    alert(doc)["labels"] = {"alertname": "SlaBreach", "service": "svc-1"}
    assert only_alarm(doc).resource == ResourceRef(service="svc-1")


def test_no_resource_labels_gives_no_resource(doc: dict[str, Any]) -> None:
    alert(doc)["labels"] = {"alertname": "Watchdog"}
    alarm = only_alarm(doc)
    assert alarm.resource is None
    assert alarm.severity is Severity.INDETERMINATE


@pytest.mark.parametrize(
    ("value", "severity"),
    [
        ("critical", Severity.CRITICAL),
        ("major", Severity.MAJOR),
        ("minor", Severity.MINOR),
        ("warning", Severity.WARNING),
        ("info", Severity.INDETERMINATE),
        ("page", Severity.CRITICAL),
        ("Warning", Severity.WARNING),
        ("error", Severity.MAJOR),
        ("High", Severity.MAJOR),
        ("P1", Severity.CRITICAL),
        ("p3", Severity.MINOR),
        ("disaster", Severity.INDETERMINATE),
    ],
)
def test_severity_mapping(doc: dict[str, Any], value: str, severity: Severity) -> None:
    alert(doc)["labels"]["severity"] = value
    assert only_alarm(doc).severity is severity


def test_no_annotations_gives_no_text(doc: dict[str, Any]) -> None:
    del alert(doc)["annotations"]
    assert only_alarm(doc).text is None


def test_bad_status_timestamp_and_fingerprint_are_all_reported(doc: dict[str, Any]) -> None:
    second = dict(alert(doc), status="pending", startsAt="2026-11-27 21:04", fingerprint="")
    doc["alerts"].append(second)
    del alert(doc)["startsAt"]
    assert wheres(doc) == [
        "$.alerts[0].startsAt",
        "$.alerts[1].status",
        "$.alerts[1].startsAt",
        "$.alerts[1].fingerprint",
    ]


def test_naive_timestamp(doc: dict[str, Any]) -> None:
    alert(doc)["startsAt"] = "2026-11-27T21:04:11"
    with pytest.raises(InvalidInput) as info:
        parse_alertmanager(doc)
    [problem] = info.value.problems
    assert problem.where == "$.alerts[0].startsAt"
    assert "offset" in problem.message


def test_label_value_of_wrong_type(doc: dict[str, Any]) -> None:
    alert(doc)["labels"]["node"] = 7
    assert wheres(doc) == ["$.alerts[0].labels.node"]


def test_alerts_must_be_a_list(doc: dict[str, Any]) -> None:
    doc["alerts"] = {}
    assert wheres(doc) == ["$.alerts"]


def test_unknown_top_level_keys_are_ignored(doc: dict[str, Any]) -> None:
    doc["newFieldInAlertmanager1_0"] = True
    alert(doc)["newAlertField"] = [1]
    assert only_alarm(doc).alarm_id == "am-6e1f4a1c2b3d4e5f-20261127T210411Z"


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("lossOfSignal", "lossOfSignal"),  # already a cause of the vocabulary
        ("LOSSOFSIGNAL", "lossOfSignal"),  # in any case, spelt as the vocabulary spells it
        ("PNIDown_fra1", "unknown"),  # an alert name that names a site: never published
        ("CongestionOnCore", "congestion"),  # mapped by the operator
    ],
)
def test_probable_cause_comes_from_the_controlled_vocabulary(
    doc: dict[str, Any], name: str, cause: str
) -> None:
    alert(doc)["labels"]["alertname"] = name
    labels = AlertLabelMap(probable_causes={"CongestionOnCore": "congestion"})
    alarm = only_alarm(doc, labels)
    assert alarm.probable_cause == cause
    assert name not in {alarm.probable_cause, alarm.specific_problem} or name == cause


def test_a_cause_map_outside_the_vocabulary_is_refused() -> None:
    with pytest.raises(ConfigError, match="'LinkFlapping'"):
        AlertLabelMap(probable_causes={"LinkFlap": "LinkFlapping"})


def test_unmapped_values_and_truncated_alerts_are_counted(doc: dict[str, Any]) -> None:
    doc["truncatedAlerts"] = 7
    second = json.loads(json.dumps(alert(doc)))
    second["fingerprint"] = "0000000000000002"
    second["labels"].update({"severity": "disaster", "alertname": "PNIDown_fra1"})
    doc["alerts"].append(second)
    alert(doc)["labels"].update({"severity": "disaster", "alertname": "lossOfSignal"})
    change, stats = parse_alertmanager_report(doc)
    assert len(change.alarms) == 2
    assert stats.truncated_alerts == 7
    assert dict(stats.unmapped_severities) == {"disaster": 2}
    assert dict(stats.unmapped_causes) == {"PNIDown_fra1": 1}


def test_truncated_alerts_must_be_a_count(doc: dict[str, Any]) -> None:
    doc["truncatedAlerts"] = -1
    assert wheres(doc) == ["$.truncatedAlerts"]


def test_settings_refuse_a_cause_outside_the_vocabulary_and_spell_the_others() -> None:
    with pytest.raises(ConfigError, match="'bogusCause'"):
        load_settings(None, alert_labels={"probable_causes": {"X": "bogusCause"}})
    settings = load_settings(None, alert_labels={"probable_causes": {"X": "LOSSOFSIGNAL"}})
    assert settings.alert_labels.probable_causes == {"X": "lossOfSignal"}


def test_an_alert_that_fires_again_after_it_resolved_is_a_new_occurrence(
    doc: dict[str, Any],
) -> None:
    resolved = json.loads(json.dumps(doc))
    alert(resolved).update(status="resolved", endsAt="2026-11-27T21:30:00Z")
    again = json.loads(json.dumps(doc))
    alert(again)["startsAt"] = "2026-11-27T22:05:00Z"  # the same fingerprint fires again
    first, cleared, second = (only_alarm(d) for d in (doc, resolved, again))
    assert first.alarm_id == cleared.alarm_id  # the resolution closes the first occurrence
    assert second.alarm_id != first.alarm_id  # and the new one does not overwrite it
    assert cleared.cleared_at is not None and second.active
    # repeated notifications of one firing episode are one alarm
    assert only_alarm(json.loads(json.dumps(doc))).alarm_id == first.alarm_id
