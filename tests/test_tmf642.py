"""TMF642 alarms: another rendering of the published alarms view, never a wider one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import msgspec
from hypothesis import HealthCheck, event, given, settings

from gateway.disclosure import Pseudonymizer, audience_key, compile_policy, render
from gateway.model.x733 import PROBABLE_CAUSES, UNKNOWN
from gateway.views.alarm_types import ALARM_TYPES, TYPE_NAMES
from gateway.views.cache import AudienceViews, build_views
from gateway.views.tmf642 import ALARMS, STATE_NAMES, Tmf642Cache, matching, parse_view, selected
from tests.leakgen import NOW, Case, cases

SECRET = b"tmf642-subset-secret"
PEER = "peer/acme"

#: the only strings TMF642 adds of its own: type names and enumerations, none from the data
CONSTANTS = frozenset({"Alarm", "AlarmedObjectRef", "Interconnect", *STATE_NAMES, *TYPE_NAMES})


def _leaves(value: Any) -> Iterator[Any]:
    """Every scalar in a JSON value (keys are the format's, not the data's)."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield value


def assert_subset(tmf: list[dict[str, Any]], view_items: list[dict[str, Any]]) -> None:
    """Every value of every TMF alarm is a value its own view item publishes, a constant of
    the TMF format, or the item's id in a link; and the TMF list is the view's, item by item."""
    assert len(tmf) == len(view_items)
    for alarm, item in zip(tmf, view_items, strict=True):
        published = set(_leaves(item))
        for value in _leaves(alarm):
            if value in published or value in CONSTANTS:
                continue
            assert value == f"{ALARMS}/{quote(str(item['id']), safe='')}", (value, item)
        # and the values mean what they meant: derived ones from published fields only
        assert alarm.get("id") == item.get("id")
        assert alarm.get("perceivedSeverity") == item.get("severity")
        assert alarm.get("alarmRaisedTime") == item.get("raised_at")
        assert alarm.get("alarmClearedTime") == item.get("cleared_at")
        assert alarm.get("alarmChangedTime") in {item.get("cleared_at") or item.get("raised_at")}
        assert alarm.get("alarmType") == ALARM_TYPES.get(item.get("probable_cause"))  # type: ignore[arg-type]
        if "state" in item:
            assert alarm["state"] == {"active": "raised", "cleared": "cleared"}[item["state"]]
        if "resource" in item:
            assert alarm["alarmedObject"]["id"] == item["resource"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_tmf642_is_a_subset_of_the_alarms_view_for_random_policies_and_data(case: Case) -> None:
    """Random networks and random valid peer policies: what TMF642 sends of each alarm is in
    the alarms view the same audience was published, and nothing else."""
    for audience, loaded in case.audiences:
        if not audience.startswith("peer/"):
            continue
        compiled = compile_policy(loaded)
        pseudonym = Pseudonymizer(audience_key(SECRET, audience))
        rendered = render(compiled, case.network.snapshot, audience, pseudonym, NOW)
        views = build_views(audience, AudienceViews(), rendered, 1, compiled.version)
        if "alarms" not in views.views:
            continue
        # the published bytes, as a client of /v1/alarms receives them
        body = msgspec.json.decode(views.views["alarms"].body)
        view = views.views["alarms"]
        tmf = Tmf642Cache().alarms(audience, view.etag, bytes(view.content()))
        assert_subset(list(tmf), body["items"])
        event(f"alarms published: {'some' if body['items'] else 'none'}")


def test_the_check_fails_on_a_value_the_view_did_not_publish() -> None:
    item = {"id": "al-1", "severity": "major", "resource": "ic-1"}
    (alarm,) = parse_view(msgspec.json.encode([item]))
    assert_subset([alarm], [item])
    alarm["probableCause"] = "pe1.ams"  # as an engine bug would add it
    try:
        assert_subset([alarm], [item])
    except AssertionError:
        return
    raise AssertionError("a value the view does not publish passed the subset check")


def test_fields_are_renamed_and_nothing_undisclosed_is_made_up() -> None:
    items = [
        {"id": "AMS-1", "resource": "AMS-PNI-ACME-01", "severity": "major",
         "probable_cause": "lossOfSignal", "state": "active", "raised_at": "2026-01-01T10:00:00Z",
         "cleared_at": None, "text": "major alarm"},
        {"id": "AMS-2", "severity": "minor", "state": "cleared",
         "cleared_at": "2026-01-01T11:00:00Z"},
    ]  # fmt: skip
    first, second = parse_view(msgspec.json.encode(items))
    assert first == {
        "id": "AMS-1",
        "href": "/tmf-api/alarmManagement/v5/alarm/AMS-1",
        "@type": "Alarm",
        "alarmType": "communicationsAlarm",
        "perceivedSeverity": "major",
        "probableCause": "lossOfSignal",
        "alarmRaisedTime": "2026-01-01T10:00:00Z",
        "alarmDetails": "major alarm",
        "state": "raised",
        "alarmChangedTime": "2026-01-01T10:00:00Z",
        "alarmedObject": {
            "@type": "AlarmedObjectRef",
            "@referredType": "Interconnect",
            "id": "AMS-PNI-ACME-01",
        },
    }
    # no raise time, cause or resource published: none is invented
    assert set(second) == {"id", "href", "@type", "perceivedSeverity", "state",
                           "alarmClearedTime", "alarmChangedTime"}  # fmt: skip


def test_filters_match_only_published_values_and_fields_keep_the_name() -> None:
    alarms = parse_view(
        msgspec.json.encode(
            [
                {"id": "a", "severity": "critical", "state": "active"},
                {"id": "b", "severity": "minor", "state": "cleared"},
                {"id": "c"},  # severity and state not published: no filter on them matches it
            ]
        )
    )
    assert [a["id"] for a in matching(alarms, frozenset({"raised"}))] == ["a"]
    assert [a["id"] for a in matching(alarms, None, frozenset({"minor", "critical"}))] == ["a", "b"]
    assert [a["id"] for a in matching(alarms)] == ["a", "b", "c"]
    assert selected(alarms[0], frozenset({"state"})) == {
        "id": "a", "href": f"{ALARMS}/a", "@type": "Alarm", "state": "raised",
    }  # fmt: skip


def test_every_probable_cause_has_one_x733_type() -> None:
    assert set(ALARM_TYPES) == PROBABLE_CAUSES - {"other", UNKNOWN}
