"""Timelines of incidents and planned work: ordered, and the status is always the last step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.disclosure.timeline import (
    incident_timeline,
    maintenance_listed,
    maintenance_timeline,
)
from gateway.model import (
    AddMaintenanceUpdates,
    Alarm,
    IncidentPatch,
    Maintenance,
    MaintenanceStatus,
    ResourceRef,
    Severity,
    Snapshot,
    StatusUpdate,
    UpsertIncidents,
    UpsertMaintenance,
)
from gateway.model.status import merge_updates

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PORT = ResourceRef(node="n1", tp="p1")
INCIDENT = ("investigating", "identified", "monitoring", "resolved")
WORK = tuple(s.value for s in MaintenanceStatus)

minutes = st.integers(min_value=-600, max_value=600)


def at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def updates(statuses: tuple[str, ...]) -> st.SearchStrategy[list[StatusUpdate]]:
    one = st.builds(
        lambda m, s, t: StatusUpdate(at(m), s, t),
        minutes,
        st.sampled_from(statuses),
        st.one_of(st.none(), st.sampled_from(("on it", "fixed", "watching"))),
    )
    return st.lists(one, max_size=6)


@st.composite
def alarms(draw: st.DrawFn) -> list[Alarm]:
    out = []
    for n in range(draw(st.integers(min_value=0, max_value=4))):
        start = draw(minutes)
        length = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=300)))
        cleared = None if length is None else at(start + length)
        out.append(Alarm(f"a{n}", PORT, Severity.MAJOR, at(start), cleared_at=cleared))
    return out


@settings(max_examples=500, deadline=None)
@given(updates(INCIDENT), alarms())
def test_an_incident_timeline_is_ordered_and_its_status_is_its_last_step(
    written: list[StatusUpdate], episode: list[Alarm]
) -> None:
    timeline = incident_timeline(written, episode)
    stamps = [e.at for e in timeline.entries]
    assert stamps == sorted(stamps)
    assert timeline.status == (timeline.entries[-1].status if stamps else "investigating")
    # resolved exactly when its last step says so, and then since that step
    resolved = timeline.status == "resolved"
    assert (timeline.resolved_at is not None) == resolved
    if resolved:
        assert timeline.resolved_at == timeline.entries[-1].at
    # nothing written is lost, and nothing but what was written carries text
    assert [e for e in timeline.entries if e.written] == sorted(
        (e for e in timeline.entries if e.written), key=lambda e: e.at
    )
    assert len([e for e in timeline.entries if e.written]) == len(written)
    assert all(e.text is None for e in timeline.entries if not e.written)
    if episode:  # it starts no later than its first alarm
        assert stamps[0] <= min(a.raised_at for a in episode)


@settings(max_examples=300, deadline=None)
@given(alarms())
def test_alarms_alone_resolve_an_incident_when_the_last_one_clears(episode: list[Alarm]) -> None:
    timeline = incident_timeline((), episode)
    if not episode:
        assert timeline.entries == ()
        return
    cleared = all(not a.active for a in episode)
    assert (timeline.status == "resolved") == cleared
    if cleared:
        assert timeline.resolved_at == max(a.cleared_at or a.raised_at for a in episode)


def test_written_after_the_clear_is_the_word_until_someone_resolves() -> None:
    alarm = Alarm("a", PORT, Severity.CRITICAL, at(0), cleared_at=at(30))
    watching = StatusUpdate(at(40), "monitoring", "watching it")
    assert incident_timeline([watching], [alarm]).status == "monitoring"
    done = StatusUpdate(at(90), "resolved", "stable")
    timeline = incident_timeline([watching, done], [alarm])
    # the alarm cleared at 30, but staff wrote later: their word stands, no resolution then
    assert [(e.status, e.written) for e in timeline.entries] == [
        ("investigating", False),
        ("monitoring", True),
        ("resolved", True),
    ]
    assert timeline.resolved_at == at(90)


def test_an_alarm_raised_after_a_resolution_opens_the_incident_again() -> None:
    first = Alarm("a", PORT, Severity.MAJOR, at(0), cleared_at=at(10))
    again = Alarm("b", PORT, Severity.MAJOR, at(30))
    resolved = StatusUpdate(at(20), "resolved", "fixed")
    timeline = incident_timeline([resolved], [first, again])
    assert [e.status for e in timeline.entries][-2:] == ["resolved", "investigating"]
    assert timeline.status == "investigating" and timeline.entries[-1].at == at(30)


def window(start: int, end: int, *written: StatusUpdate, **kw: object) -> Maintenance:
    merged = merge_updates(written)
    status = MaintenanceStatus(merged[-1].status) if merged else MaintenanceStatus.SCHEDULED
    kw.setdefault("status", status)
    return Maintenance("w", (PORT,), at(start), at(end), updates=merged, **kw)  # type: ignore[arg-type]


@settings(max_examples=500, deadline=None)
@given(updates(WORK), st.integers(min_value=-300, max_value=300),
       st.integers(min_value=1, max_value=300), minutes)  # fmt: skip
def test_a_maintenance_timeline_is_ordered_and_its_status_is_its_last_step(
    written: list[StatusUpdate], start: int, length: int, now: int
) -> None:
    """With its status told by updates, as staff and sources tell it: the clock adds
    in-progress at the start and completed at the end, and the status is the last step."""
    timeline = maintenance_timeline(window(start, start + length, *written), at(now))
    stamps = [e.at for e in timeline.entries]
    assert stamps == sorted(stamps)
    assert timeline.status == (timeline.entries[-1].status if stamps else "scheduled")
    assert len([e for e in timeline.entries if e.written]) == len(merge_updates(written))
    if not written:  # the clock alone: scheduled, in progress from its start, then completed
        expected = "scheduled" if now < start else "in-progress"
        assert timeline.status == ("completed" if now >= start + length else expected)


def test_a_window_goes_from_scheduled_to_in_progress_verifying_and_completed() -> None:
    verifying = StatusUpdate(at(50), "verifying", "checking traffic")

    def told(minute: int) -> Maintenance:  # the window as written by then
        return window(0, 60, *([verifying] if minute >= 50 else []))

    steps = {m: maintenance_timeline(told(m), at(m)).status for m in (-1, 0, 49, 50, 59, 60)}
    assert steps == {
        -1: "scheduled",
        0: "in-progress",
        49: "in-progress",
        50: "verifying",
        59: "verifying",
        60: "completed",
    }
    early = window(0, 60, StatusUpdate(at(30), "completed", "done early"))
    timeline = maintenance_timeline(early, at(45))
    assert [(e.status, e.text) for e in timeline.entries] == [
        ("in-progress", None),
        ("completed", "done early"),
    ]
    assert not early.active_at(at(45))  # no longer maintenance for the live status
    called_off = window(0, 60, StatusUpdate(at(-30), "cancelled", "postponed"))
    assert maintenance_timeline(called_off, at(30)).status == "cancelled"
    assert [e.status for e in maintenance_timeline(called_off, at(90)).entries] == ["cancelled"]


def test_a_status_set_on_the_window_itself_still_counts() -> None:
    """Sources that never send updates keep working: their status field is the word."""
    legacy = Maintenance("w", (PORT,), at(0), at(60), MaintenanceStatus.CANCELLED)
    assert maintenance_timeline(legacy, at(30)).status == "cancelled"
    running = Maintenance("w", (PORT,), at(0), at(60), MaintenanceStatus.IN_PROGRESS)
    assert maintenance_timeline(running, at(-5)).status == "scheduled"
    assert maintenance_timeline(running, at(5)).status == "in-progress"


def test_a_finished_window_is_listed_only_with_a_history() -> None:
    done = window(0, 60, StatusUpdate(at(30), "completed", None))
    assert not maintenance_listed(done, at(40), 0)
    assert maintenance_listed(done, at(40), 24)
    assert maintenance_listed(done, at(60 + 24 * 60 - 1), 24)
    assert not maintenance_listed(done, at(60 + 24 * 60), 24)


def test_updates_join_a_timeline_once_and_set_the_status() -> None:
    snap = Snapshot().apply(UpsertMaintenance((Maintenance("w", (PORT,), at(0), at(60)),)), 1)
    note = StatusUpdate(at(50), "verifying", "checking")
    for revision in (2, 3):  # sent twice: kept once
        snap = snap.apply(AddMaintenanceUpdates((("w", note),)), revision)
    assert snap.maintenance["w"].updates == (note,)
    assert snap.maintenance["w"].status is MaintenanceStatus.VERIFYING
    # the source sends the window again, without a status: the updates and status stay
    again = Maintenance("w", (PORT,), at(0), at(90))
    snap = snap.apply(UpsertMaintenance((again,), frozenset({"w"})), 4)
    assert snap.maintenance["w"].updates == (note,)
    assert snap.maintenance["w"].status is MaintenanceStatus.VERIFYING
    assert snap.maintenance["w"].end == at(90)


def test_incidents_are_indexed_by_service_and_alarm_as_they_change() -> None:
    first = IncidentPatch("i1", title="t", services=("s1",), alarms=("a1",),
                          updates=(StatusUpdate(at(0), "investigating", "x"),))  # fmt: skip
    snap = Snapshot().apply(UpsertIncidents((first,)), 1)
    assert set(snap.incidents_by_service["s1"]) == {"i1"}
    assert set(snap.incidents_by_alarm["a1"]) == {"i1"}
    moved = IncidentPatch("i1", services=("s2",), updates=(StatusUpdate(at(5), "resolved"),))
    snap = snap.apply(UpsertIncidents((moved,)), 2)
    assert "s1" not in snap.incidents_by_service and set(snap.incidents_by_service["s2"]) == {"i1"}
    record = snap.incidents["i1"]
    assert (record.title, record.alarms) == ("t", ("a1",))  # not given: kept
    assert [u.status for u in record.updates] == ["investigating", "resolved"]
    # an index built from scratch is the one kept up to date
    rebuilt = Snapshot(incidents=dict(snap.incidents))
    assert dict(rebuilt.incidents_by_service) == dict(snap.incidents_by_service)
    assert dict(rebuilt.incidents_by_alarm) == dict(snap.incidents_by_alarm)
    assert msgspec.json.decode(msgspec.json.encode(record), type=type(record)) == record


def test_an_update_sent_again_with_its_id_replaces_the_earlier_one() -> None:
    """A source that corrects an update (or a demo fed again) sends it with the same id."""
    first = StatusUpdate(at(0), "investigating", "first words", "u1")
    corrected = StatusUpdate(at(5), "investigating", "better words", "u1")
    other = StatusUpdate(at(3), "identified", "found it", "u2")
    assert merge_updates((first, other), (corrected,)) == (other, corrected)
    plain = StatusUpdate(at(0), "investigating", "first words")
    assert merge_updates((plain,), (plain,)) == (plain,)  # repeated without an id: once
