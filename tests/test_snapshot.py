"""Tests for the snapshot: changes are structurally shared, indexes kept equal to a fresh build."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.model import (
    AddMetricSamples,
    Alarm,
    Change,
    DeleteServices,
    Link,
    LinkKind,
    LinkState,
    Maintenance,
    MaintenanceStatus,
    MetricSample,
    ReplaceTopology,
    ResourceRef,
    Service,
    Severity,
    Snapshot,
    Topology,
    UpsertAlarms,
    UpsertMaintenance,
    UpsertServices,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
REFS = [
    ResourceRef(link="l1"),
    ResourceRef(link="ic1"),
    ResourceRef(node="n1"),
    ResourceRef(node="n1", tp="t1"),
    ResourceRef(node="n2", tp="t2"),
    ResourceRef(service="s1"),
]
TOPOLOGIES = [
    Topology(),
    Topology(links=(Link("l1", "n1", "t1", "n2", "t2"),)),
    Topology(
        links=(
            Link("l1", "n1", "t1", "n2", "t2"),
            Link("ic1", "n2", "t3", "x", "y", kind=LinkKind.INTERCONNECT, peer="acme"),
            Link("ic2", "n1", "t4", "x", "z", kind=LinkKind.INTERCONNECT, peer="acme"),
            Link("ic3", "n1", "t5", "q", "r", kind=LinkKind.INTERCONNECT, peer="beta"),
        )
    ),
]
ids = st.sampled_from(["a", "b", "c", "d"])
refs = st.sampled_from(REFS)
times = st.integers(0, 5).map(lambda h: T0 + timedelta(hours=h))

alarms = st.builds(
    Alarm,
    alarm_id=ids,
    resource=st.none() | refs,
    severity=st.sampled_from(list(Severity)),
    raised_at=times,
    cleared_at=st.none() | times,
)
services = st.builds(
    Service,
    service_id=ids,
    customer=st.sampled_from(["globex", "initech"]),
    endpoints=st.lists(refs, max_size=2).map(tuple),
)
samples = st.builds(
    MetricSample,
    resource=refs,
    metric=st.sampled_from(["delay_ms", "utilisation_pct"]),
    value=st.floats(0, 100),
    at=times,
)
windows = st.builds(
    Maintenance,
    maintenance_id=ids,
    resources=st.lists(refs, min_size=1, max_size=3).map(tuple),
    start=times,
    end=times,
    status=st.sampled_from(list(MaintenanceStatus)),
)
changes: st.SearchStrategy[Change] = st.one_of(
    st.sampled_from(TOPOLOGIES).map(ReplaceTopology),
    st.lists(services, max_size=3).map(lambda s: UpsertServices(tuple(s))),
    st.lists(ids, max_size=2).map(lambda i: DeleteServices(tuple(i))),
    st.lists(alarms, min_size=1, max_size=3).map(lambda a: UpsertAlarms(tuple(a))),
    st.lists(samples, min_size=1, max_size=3).map(lambda s: AddMetricSamples(tuple(s))),
    st.lists(windows, min_size=1, max_size=2).map(lambda w: UpsertMaintenance(tuple(w))),
)


class Oracle:
    """The model kept in plain dicts with the rules written out: what a fresh build reads."""

    def __init__(self) -> None:
        self.topology = Topology()
        self.services: dict[str, Service] = {}
        self.alarms: dict[str, Alarm] = {}
        self.metrics: dict[tuple[ResourceRef, str], MetricSample] = {}
        self.maintenance: dict[str, Maintenance] = {}
        self.kinds: dict[str, int] = {}

    def apply(self, change: Change, revision: int) -> None:
        match change:
            case ReplaceTopology(topology=topology):
                self.topology, kind = topology, "topology"
            case UpsertServices(services=new):
                self.services.update((s.service_id, s) for s in new)
                kind = "services"
            case DeleteServices(service_ids=gone):
                for sid in gone:
                    self.services.pop(sid, None)
                kind = "services"
            case UpsertAlarms(alarms=new):
                self.alarms.update((a.alarm_id, a) for a in new)
                kind = "alarms"
            case AddMetricSamples(samples=new):
                for s in new:
                    old = self.metrics.get((s.resource, s.metric))
                    if old is None or old.at <= s.at:
                        self.metrics[(s.resource, s.metric)] = s
                kind = "metrics"
            case UpsertMaintenance(windows=new):
                self.maintenance.update((w.maintenance_id, w) for w in new)
                kind = "maintenance"
        self.kinds[kind] = revision

    def snapshot(self, revision: int) -> Snapshot:
        return Snapshot(revision, self.topology, self.services, self.alarms, self.metrics,
                        self.maintenance, self.kinds)  # fmt: skip


def plain(snapshot: Snapshot) -> dict[str, Any]:
    """Every map and index of ``snapshot`` as plain dicts, to compare."""

    def nested(index: Mapping[Any, Mapping[str, Any]]) -> dict[Any, Any]:
        return {ref: dict(inner) for ref, inner in index.items()}

    return {
        "revision": snapshot.revision,
        "topology": snapshot.topology,
        "services": dict(snapshot.services),
        "alarms": dict(snapshot.alarms),
        "metrics": dict(snapshot.metrics),
        "maintenance": dict(snapshot.maintenance),
        "kind_revisions": dict(snapshot.kind_revisions),
        "links_by_id": dict(snapshot.links_by_id),
        "interconnects_by_peer": dict(snapshot.interconnects_by_peer),
        "services_by_customer": nested(snapshot.services_by_customer),
        "alarms_by_resource": nested(snapshot.alarms_by_resource),
        "metrics_by_resource": nested(snapshot.metrics_by_resource),
        "maintenance_by_resource": nested(snapshot.maintenance_by_resource),
        "link_states": dict(snapshot.link_states),
    }


def naive_indexes(oracle: Oracle) -> dict[str, Any]:
    """The indexes computed the obvious way, independent of the snapshot's own builders."""
    by_alarm: dict[ResourceRef, dict[str, Alarm]] = {}
    for a in oracle.alarms.values():
        if a.resource is not None:
            by_alarm.setdefault(a.resource, {})[a.alarm_id] = a
    by_window: dict[ResourceRef, dict[str, Maintenance]] = {}
    for w in oracle.maintenance.values():
        for ref in w.resources:
            by_window.setdefault(ref, {})[w.maintenance_id] = w
    by_metric: dict[ResourceRef, dict[str, MetricSample]] = {}
    for (ref, metric), s in oracle.metrics.items():
        by_metric.setdefault(ref, {})[metric] = s
    by_customer: dict[str, dict[str, Service]] = {}
    for s in oracle.services.values():
        by_customer.setdefault(s.customer, {})[s.service_id] = s
    peers: dict[str, list[Link]] = {}
    for link in oracle.topology.links:
        if link.kind is LinkKind.INTERCONNECT and link.peer:
            peers.setdefault(link.peer, []).append(link)
    # live link states the way topology views used to scan for them: every alarm and sample
    internal = {lk.link_id for lk in oracle.topology.links if lk.kind is LinkKind.INTERNAL}
    util = {r.link: s.value for (r, m), s in oracle.metrics.items() if m == "utilisation_pct"}
    delay = {r.link: s.value * 1000 for (r, m), s in oracle.metrics.items() if m == "delay_ms"}
    down = {
        a.resource.link
        for a in oracle.alarms.values()
        if a.active and a.severity is Severity.CRITICAL and a.resource is not None
    }
    states = {
        i: LinkState(i in down, util.get(i), delay.get(i))
        for i in (util.keys() | delay.keys() | down) & internal
    }
    return {
        "link_states": states,
        "links_by_id": {link.link_id: link for link in oracle.topology.links},
        "interconnects_by_peer": {p: tuple(links) for p, links in peers.items()},
        "services_by_customer": by_customer,
        "alarms_by_resource": by_alarm,
        "metrics_by_resource": by_metric,
        "maintenance_by_resource": by_window,
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(changes, max_size=25))
def test_incremental_snapshot_equals_a_fresh_build(sequence: list[Change]) -> None:
    oracle, snapshot = Oracle(), Snapshot()
    history: list[tuple[Snapshot, dict[str, Any]]] = []
    for revision, change in enumerate(sequence, start=1):
        history.append((snapshot, plain(snapshot)))
        snapshot = snapshot.apply(change, revision)
        oracle.apply(change, revision)
        fresh = plain(oracle.snapshot(revision))
        assert plain(snapshot) == fresh
        indexes = naive_indexes(oracle)
        assert {k: fresh[k] for k in indexes} == indexes
        # topology views re-render on the revision of the last link state change: never stale
        before = history[-1][0]
        if dict(snapshot.link_states) != dict(before.link_states):
            assert snapshot.link_states_revision == revision
        else:
            assert snapshot.link_states_revision == before.link_states_revision
    # structural sharing never reaches back: every earlier snapshot still reads as it did
    for old, seen in history:
        assert plain(old) == seen


def test_one_alarm_on_a_busy_circuit_shares_the_rest() -> None:
    circuit = ResourceRef(link="ic1")
    many = {f"a{i:05}": Alarm(f"a{i:05}", circuit, Severity.MINOR, T0) for i in range(5000)}
    before = Snapshot(1, alarms=many)
    after = before.apply(UpsertAlarms((Alarm("new", circuit, Severity.CRITICAL, T0),)), 2)
    assert len(after.alarms_by_resource[circuit]) == 5001
    assert len(before.alarms_by_resource[circuit]) == 5000
    assert after.alarms["a00042"] is before.alarms["a00042"]  # shared, not copied
    assert after.services is before.services and after.links_by_id is before.links_by_id


def test_a_snapshot_cannot_be_changed_in_place() -> None:
    snapshot = Snapshot()
    with pytest.raises(AttributeError, match="immutable"):
        snapshot.revision = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        snapshot.alarms["x"] = Alarm("x", None, Severity.MINOR, T0)  # type: ignore[index]
