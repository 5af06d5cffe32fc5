"""Availability from alarms and maintenance: the live status's rule applied over time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.disclosure.availability import (
    DAY_S,
    by_day,
    day_start,
    figures,
    merge,
    service_events,
    timeline,
)
from gateway.disclosure.scope import coverage
from gateway.model import (
    Alarm,
    Link,
    Maintenance,
    MaintenanceStatus,
    Node,
    ResourceRef,
    Service,
    Severity,
    Snapshot,
    TerminationPoint,
    Topology,
)

DAY = date(2025, 3, 1)
T0 = day_start(DAY)
PORT = ResourceRef(node="n1", tp="p1")
NODE = ResourceRef(node="n1")
LINK = ResourceRef(link="l1")
FAR = ResourceRef(node="n2")
ELSEWHERE = ResourceRef(node="n3")  # supports nothing of the service
REFS = (PORT, NODE, LINK, FAR, ELSEWHERE)
TOPOLOGY = Topology(
    nodes=(
        Node("n1", tps=(TerminationPoint("p1"), TerminationPoint("p2"))),
        Node("n2", tps=(TerminationPoint("p3"),)),
        Node("n3"),
    ),
    links=(Link("l1", "n1", "p2", "n2", "p3"),),
)
SERVICE = Service("s1", "globex", endpoints=(PORT,), resources=(LINK,))

minutes = st.integers(min_value=-120, max_value=24 * 60 + 120)


@st.composite
def alarms(draw: st.DrawFn, severities: tuple[Severity, ...] = tuple(Severity)) -> Alarm:
    start = draw(minutes)
    length = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=600)))
    return Alarm(
        alarm_id=f"a{draw(st.integers(0, 10**9))}",
        resource=draw(st.sampled_from(REFS)),
        severity=draw(st.sampled_from(severities)),
        raised_at=T0 + timedelta(minutes=start),
        cleared_at=None if length is None else T0 + timedelta(minutes=start + length),
    )


@st.composite
def windows(draw: st.DrawFn) -> Maintenance:
    start = draw(minutes)
    return Maintenance(
        maintenance_id=f"m{draw(st.integers(0, 10**9))}",
        resources=tuple(draw(st.lists(st.sampled_from(REFS), min_size=1, max_size=2))),
        start=T0 + timedelta(minutes=start),
        end=T0 + timedelta(minutes=start + draw(st.integers(1, 600))),
        status=draw(st.sampled_from(list(MaintenanceStatus))),
    )


def _snapshot(alarm_list: list[Alarm], window_list: list[Maintenance]) -> Snapshot:
    return Snapshot(
        topology=TOPOLOGY,
        services={"s1": SERVICE},
        alarms={a.alarm_id: a for a in alarm_list},
        maintenance={w.maintenance_id: w for w in window_list},
    )


def _day(alarm_list: list[Alarm], window_list: list[Maintenance], maintenance: bool = False):
    snapshot = _snapshot(alarm_list, window_list)
    covered = coverage(snapshot, SERVICE)
    found, planned = service_events(snapshot, covered)
    spans = by_day(timeline(snapshot, covered, found, planned, T0, T0 + timedelta(days=1)))
    return figures(spans.get(DAY, ()), DAY_S)


@settings(max_examples=300, deadline=None)
@given(st.lists(alarms(), max_size=8), st.lists(windows(), max_size=4), st.booleans())
def test_availability_is_a_share_of_the_day(
    alarm_list: list[Alarm], window_list: list[Maintenance], counted: bool
) -> None:
    day = _day(alarm_list, window_list)
    assert day.outage + day.maintenance + day.degraded <= DAY_S
    pct = day.availability_pct(counted)
    assert pct is not None and 0.0 <= pct <= 100.0


@settings(max_examples=300, deadline=None)
@given(st.lists(alarms(), max_size=8), st.lists(windows(), max_size=3), windows())
def test_an_excluded_maintenance_window_never_lowers_availability(
    alarm_list: list[Alarm], window_list: list[Maintenance], extra: Maintenance
) -> None:
    # another window, not one of the drawn ids again (that would move it, not add one)
    extra = msgspec.structs.replace(extra, maintenance_id="extra-window")
    without = _day(alarm_list, window_list).availability_pct(False)
    with_window = _day(alarm_list, [*window_list, extra]).availability_pct(False)
    assert without is not None and with_window is not None
    assert with_window >= without


@settings(max_examples=300, deadline=None)
@given(st.lists(alarms((Severity.CRITICAL,)), min_size=1, max_size=8))
def test_overlapping_outages_are_counted_once(drawn: list[Alarm]) -> None:
    alarm_list = [msgspec.structs.replace(a, alarm_id=f"a{i}") for i, a in enumerate(drawn)]
    covered = coverage(_snapshot([], []), SERVICE)
    down: set[int] = set()  # every second of the day some alarm on the service is active
    for alarm in alarm_list:
        if alarm.resource not in covered:
            continue
        lo = int((alarm.raised_at - T0).total_seconds())
        hi = DAY_S if alarm.cleared_at is None else int((alarm.cleared_at - T0).total_seconds())
        down.update(range(max(lo, 0), min(hi, DAY_S)))
    twice = [
        *alarm_list,
        *(msgspec.structs.replace(a, alarm_id=a.alarm_id + "-dup") for a in alarm_list),
    ]
    assert _day(alarm_list, []).outage == len(down)
    assert _day(twice, []).outage == len(down)


@settings(max_examples=200, deadline=None)
@given(st.lists(alarms(), max_size=6), st.lists(windows(), max_size=3))
def test_settled_spans_merged_with_the_same_live_spans_change_nothing(
    alarm_list: list[Alarm], window_list: list[Maintenance]
) -> None:
    snapshot = _snapshot(alarm_list, window_list)
    covered = coverage(snapshot, SERVICE)
    found, planned = service_events(snapshot, covered)
    spans = by_day(timeline(snapshot, covered, found, planned, T0, T0 + timedelta(days=1)))
    one = spans.get(DAY, ())
    assert merge(one, one) == one
    assert merge(one) == one


def test_a_critical_alarm_under_maintenance_is_maintenance_not_outage() -> None:
    alarm = Alarm(
        "a", PORT, Severity.CRITICAL, T0 + timedelta(hours=1), cleared_at=T0 + timedelta(hours=3)
    )
    window = Maintenance("m", (NODE,), T0 + timedelta(hours=2), T0 + timedelta(hours=4))
    day = _day([alarm], [window])
    assert (day.outage, day.maintenance) == (3600, 7200)
    assert day.availability_pct(False) == 100 * (1 - 3600 / DAY_S)
    assert day.availability_pct(True) == 100 * (1 - 3 * 3600 / DAY_S)


def test_an_alarm_elsewhere_and_a_cancelled_window_count_for_nothing() -> None:
    alarm = Alarm("a", ELSEWHERE, Severity.CRITICAL, T0, cleared_at=T0 + timedelta(hours=5))
    window = Maintenance("m", (PORT,), T0, T0 + timedelta(hours=4),
                         status=MaintenanceStatus.CANCELLED)  # fmt: skip
    assert _day([alarm], [window]).availability_pct(True) == 100.0


def test_spans_cross_midnight_into_the_next_day() -> None:
    alarm = Alarm(
        "a", LINK, Severity.MAJOR, T0 + timedelta(hours=23), cleared_at=T0 + timedelta(hours=25)
    )
    snapshot = _snapshot([alarm], [])
    covered = coverage(snapshot, SERVICE)
    found, planned = service_events(snapshot, covered)
    end = datetime(2025, 3, 3, tzinfo=UTC)
    spans = by_day(timeline(snapshot, covered, found, planned, T0, end))
    assert spans == {DAY: ((82800, DAY_S, "degraded"),), date(2025, 3, 2): ((0, 3600, "degraded"),)}
