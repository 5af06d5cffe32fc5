"""Tests for the refresher: only what a change can alter re-renders, and no view is ever stale."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.demo.network import build_demo
from gateway.disclosure import LoadedPolicy, PolicySet, compile_policy, load_policy_dir
from gateway.leakguard.screen import Screen
from gateway.model import (
    AddMaintenanceUpdates,
    AddMetricSamples,
    Alarm,
    Change,
    DeleteServices,
    IncidentPatch,
    Link,
    Maintenance,
    MaintenanceStatus,
    MetricSample,
    OperStatus,
    PruneAlarms,
    ReplaceTopology,
    ResourceRef,
    Service,
    Severity,
    Snapshot,
    StatusUpdate,
    Topology,
    UpsertAlarms,
    UpsertIncidents,
    UpsertMaintenance,
    UpsertServices,
)
from gateway.policy.testing import snapshot_from
from gateway.store import Committed
from gateway.views import Refresher, ViewCache
from tests.leakgen import NOW, Case, cases

SECRET = b"refresher-test-secret"
POLICIES = Path(__file__).resolve().parents[1] / "policies"
H = timedelta(hours=1)


class Gateway:
    """A store's part, by hand: commits advance the snapshot and poke the refresher."""

    def __init__(self, snapshot: Snapshot, audiences: list[str], loaded: Iterable[LoadedPolicy],
                 now: datetime) -> None:  # fmt: skip
        self.snapshot, self.now, self.audiences = snapshot, now, audiences
        self.loaded = list(loaded)
        policies = PolicySet(compile_policy(p) for p in self.loaded)
        self.cache = ViewCache()
        self.refresher = Refresher(
            self.cache, lambda: self.snapshot, lambda: self.audiences, lambda: policies,
            SECRET, clock=lambda: self.now, screen=Screen(enabled=False), slice_size=3,
        )  # fmt: skip

    def commit(self, *changes: Change) -> None:
        batch = []
        for change in changes:
            revision = self.snapshot.revision + 1
            self.snapshot = self.snapshot.apply(change, revision)
            batch.append(Committed(revision, change, "source/test"))
        self.refresher.poke(batch)

    async def views(self) -> dict[str, Any]:
        return {a: summary(self.cache, a) for a in self.audiences}

    async def fresh(self) -> dict[str, Any]:
        """Every audience rendered from scratch: new compiled policies, cache and refresher."""
        other = Gateway(self.snapshot, self.audiences, self.loaded, self.now)
        await other.refresher.refresh()
        return await other.views()


def summary(cache: ViewCache, audience: str) -> Any:
    views = cache.get(audience)
    contents = {name: bytes(v.content()) for name, v in views.views.items()}
    items = {key: bytes(item.content()) for key, item in views.items.items()}
    return contents, items, views.withheld


# -- one alarm on one interconnect ------------------------------------------------------------


def covers(snapshot: Snapshot, service: Service, ref: ResourceRef) -> bool:
    """Written out here: a service's endpoints and resources, their routers, a link's ends."""
    refs = {ResourceRef(service=service.service_id)}
    for r in (*service.endpoints, *service.resources):
        refs.add(r)
        if r.node and r.tp:
            refs.add(ResourceRef(node=r.node))
        for link in snapshot.topology.links:
            if r.link == link.link_id:
                refs |= {ResourceRef(node=link.source_node, tp=link.source_tp),
                         ResourceRef(node=link.source_node),
                         ResourceRef(node=link.dest_node, tp=link.dest_tp),
                         ResourceRef(node=link.dest_node)}  # fmt: skip
    return ref in refs


def demo_gateway() -> Gateway:
    demo = build_demo(NOW)
    audiences = [f"peer/{p}" for p in demo.peers] + [f"customer/{c}" for c in demo.customers]
    return Gateway(snapshot_from(demo.documents()), audiences, load_policy_dir(POLICIES), NOW)


def test_one_alarm_on_an_interconnect_renders_only_that_peers_views() -> None:
    async def main() -> None:
        gw = demo_gateway()
        await gw.refresher.refresh()
        before = dict(gw.refresher.renders)
        assert set(before) == set(gw.audiences)  # the first refresh renders everyone
        link: Link = gw.snapshot.interconnects_by_peer["acme"][0]
        ref = ResourceRef(link=link.link_id)
        gw.commit(UpsertAlarms((Alarm("al-new", ref, Severity.CRITICAL, NOW - H),)))
        await gw.refresher.refresh()
        rendered = {a: n - before[a] for a, n in gw.refresher.renders.items() if n != before[a]}
        customers = {f"customer/{s.customer}" for s in gw.snapshot.services.values()
                     if covers(gw.snapshot, s, ref)}  # fmt: skip
        # acme: its interconnects (status), alarms, and both topology views, which tell the
        # same status for the circuit; its maintenance view reads no alarms
        assert rendered.pop("peer/acme") == 4
        assert set(rendered) == customers
        assert await gw.views() == await gw.fresh()
        assert b"down" in bytes(gw.cache.get("peer/acme").views["interconnects"].content())

    asyncio.run(main())


def test_a_retention_prune_renders_only_the_audiences_of_what_it_drops() -> None:
    async def main() -> None:
        gw = demo_gateway()
        link: Link = gw.snapshot.interconnects_by_peer["acme"][0]
        ref = ResourceRef(link=link.link_id)
        old = Alarm("al-old", ref, Severity.MAJOR, NOW - 900 * H, cleared_at=NOW - 800 * H)
        gw.commit(UpsertAlarms((old,)))
        await gw.refresher.refresh()
        before = dict(gw.refresher.renders)
        gw.commit(PruneAlarms(("al-old",), NOW - 700 * H))
        await gw.refresher.refresh()
        rendered = {a for a, n in gw.refresher.renders.items() if n != before.get(a)}
        assert "al-old" not in gw.snapshot.alarms
        assert "peer/acme" in rendered or rendered == set()  # at most those reading the circuit
        assert "peer/globalnet" not in rendered and len(rendered) < len(gw.audiences)
        assert await gw.views() == await gw.fresh()

    asyncio.run(main())


def test_a_node_alarm_reaches_every_audience_on_that_node() -> None:
    async def main() -> None:
        gw = demo_gateway()
        await gw.refresher.refresh()
        before = dict(gw.refresher.renders)
        link = gw.snapshot.interconnects_by_peer["acme"][0]
        gw.commit(UpsertAlarms((Alarm("al-node", ResourceRef(node=link.source_node),
                                      Severity.MAJOR, NOW - H),)))  # fmt: skip
        await gw.refresher.refresh()
        assert gw.refresher.renders["peer/acme"] > before["peer/acme"]
        assert await gw.views() == await gw.fresh()

    asyncio.run(main())


def test_an_alarm_of_today_leaves_the_history_to_midnight_one_of_yesterday_renders_it() -> None:
    async def main() -> None:
        gw = demo_gateway()
        await gw.refresher.refresh()
        service = next(s for s in gw.snapshot.services.values() if s.endpoints)
        audience, ref = f"customer/{service.customer}", service.endpoints[0]
        policy = gw.refresher._live()[0][audience]
        assert "history" in policy.views

        async def rendered_after(*changes: Change) -> int:
            before = gw.refresher.renders[audience]
            gw.commit(*changes)
            await gw.refresher.refresh()
            assert await gw.views() == await gw.fresh()
            return gw.refresher.renders[audience] - before

        today = Alarm("al-today", ref, Severity.CRITICAL, NOW - H)  # NOW is noon
        yesterday = Alarm("al-yday", ref, Severity.MAJOR, NOW - 13 * H, cleared_at=NOW - 11 * H)
        # today's alarm: the views reading alarms (services, incidents, summary), not the
        # history of past days; yesterday's: those and the history
        of_today = await rendered_after(UpsertAlarms((today,)))
        assert of_today > 0
        assert await rendered_after(UpsertAlarms((yesterday,))) == of_today + 1
        before = gw.refresher.renders[audience]
        gw.now = NOW + 12 * H + timedelta(seconds=1)  # midnight: today's alarm is history now
        await gw.refresher.refresh()
        assert gw.refresher.renders[audience] > before
        assert await gw.views() == await gw.fresh()

    asyncio.run(main())


def test_nothing_new_renders_nothing_and_a_clock_boundary_only_what_it_changes() -> None:
    async def main() -> None:
        gw = demo_gateway()
        await gw.refresher.refresh()
        before = dict(gw.refresher.renders)
        await gw.refresher.refresh()
        assert dict(gw.refresher.renders) == before
        link = gw.snapshot.interconnects_by_peer["acme"][0]
        ref = ResourceRef(link=link.link_id)
        gw.commit(UpsertMaintenance((Maintenance("mw-t", (ref,), NOW + H, NOW + 2 * H),)))
        await gw.refresher.refresh()
        before = dict(gw.refresher.renders)
        gw.now = NOW + H + timedelta(seconds=1)  # the window opens: no new data, only time
        await gw.refresher.refresh()
        rendered = {a for a, n in gw.refresher.renders.items() if n != before[a]}
        assert "peer/acme" in rendered and "peer/globalnet" not in rendered
        assert await gw.views() == await gw.fresh()

    asyncio.run(main())


# -- random change sequences against a from-scratch render -----------------------------------


def refs_of(snapshot: Snapshot) -> list[ResourceRef]:
    refs = [ResourceRef(link=link.link_id) for link in snapshot.topology.links]
    refs += [ResourceRef(node=l.source_node, tp=l.source_tp) for l in snapshot.topology.links]  # noqa: E741
    refs += [ResourceRef(node=n.node_id) for n in snapshot.topology.nodes]
    refs += [ResourceRef(service=s) for s in snapshot.services]
    return refs


@st.composite
def steps(draw: st.DrawFn, case: Case) -> list[tuple[str, Any]]:
    snapshot = case.network.snapshot
    ref = st.sampled_from(refs_of(snapshot))
    alarm_ids = st.sampled_from([*snapshot.alarms, "al-x", "al-y"])
    window_ids = st.sampled_from([*snapshot.maintenance, "mw-x"])
    service_ids = st.sampled_from([*snapshot.services, "sv-x"])
    customers = st.sampled_from([*case.network.customers, "nobody-cust"])
    at = st.integers(-30, 30).map(lambda h: NOW + h * H)
    alarm = st.builds(Alarm, alarm_ids, st.none() | ref, st.sampled_from(list(Severity)), at,
                      cleared_at=st.none() | at)  # fmt: skip
    window = st.builds(Maintenance, window_ids, st.lists(ref, min_size=1, max_size=2).map(tuple),
                       at, at.map(lambda t: t + 3 * H),
                       status=st.sampled_from(list(MaintenanceStatus)))  # fmt: skip
    service = st.builds(Service, service_ids, customers,
                        endpoints=st.lists(ref, max_size=2).map(tuple),
                        resources=st.lists(ref, max_size=2).map(tuple))  # fmt: skip
    sample = st.builds(MetricSample, ref, st.sampled_from(["utilisation_pct", "delay_ms"]),
                       st.floats(0, 100), at)  # fmt: skip

    # what staff and sources write: incidents on services and alarms, updates of work
    said = st.builds(StatusUpdate, at,
                     st.sampled_from(["investigating", "identified", "monitoring", "resolved"]),
                     st.none() | st.sampled_from(["on it", "fixed"]))  # fmt: skip
    incident = st.builds(
        IncidentPatch,
        st.sampled_from(["inc-a", "inc-b"]),
        title=st.none() | st.just("Slow"),
        services=st.none() | st.lists(service_ids, max_size=2).map(tuple),
        alarms=st.none() | st.lists(alarm_ids, max_size=2).map(tuple),
        impact=st.sampled_from([None, "outage", "degraded", "none"]),
        updates=st.lists(said, max_size=2).map(tuple),
    )
    work_said = st.builds(StatusUpdate, at, st.sampled_from([s.value for s in MaintenanceStatus]),
                          st.none() | st.just("checking"))  # fmt: skip
    work = st.tuples(window_ids, work_said)

    def flap(topology: Topology) -> ReplaceTopology:
        links = tuple(
            link if i else msgspec_replace(link, OperStatus.DOWN)
            for i, link in enumerate(topology.links)
        )
        return ReplaceTopology(Topology(topology.network_id, topology.nodes, links))

    change = st.one_of(
        st.lists(alarm, min_size=1, max_size=2).map(lambda a: UpsertAlarms(tuple(a))),
        st.lists(sample, min_size=1, max_size=2).map(lambda s: AddMetricSamples(tuple(s))),
        st.lists(window, min_size=1, max_size=2).map(lambda w: UpsertMaintenance(tuple(w))),
        st.lists(service, min_size=1, max_size=2).map(lambda s: UpsertServices(tuple(s))),
        st.lists(service_ids, min_size=1, max_size=2).map(lambda i: DeleteServices(tuple(i))),
        st.just(flap(snapshot.topology)),
        st.lists(incident, min_size=1, max_size=2).map(lambda i: UpsertIncidents(tuple(i))),
        st.lists(work, min_size=1, max_size=2).map(lambda u: AddMaintenanceUpdates(tuple(u))),
    )
    step = st.one_of(
        st.lists(change, min_size=1, max_size=3).map(lambda c: ("commit", c)),
        st.integers(1, 40).map(lambda h: ("clock", h * H / 2)),
    )
    return draw(st.lists(step, min_size=1, max_size=8))


def msgspec_replace(link: Link, status: OperStatus) -> Link:
    return msgspec.structs.replace(link, oper_status=status)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(st.data())
def test_views_after_random_changes_equal_a_fresh_render(data: st.DataObject) -> None:
    case = data.draw(cases())
    script = data.draw(steps(case))
    audiences = [a for a, _ in case.audiences]
    loaded = {p.policy.audience: p for _, p in case.audiences}.values()

    async def main() -> None:
        gw = Gateway(case.network.snapshot, audiences, loaded, NOW)
        await gw.refresher.refresh()
        for action, arg in script:
            if action == "commit":
                gw.commit(*arg)
            else:
                gw.now += arg
            await gw.refresher.refresh()
            assert gw.refresher.failures == 0
            assert await gw.views() == await gw.fresh()

    asyncio.run(main())


def test_a_snapshot_the_refresher_was_not_told_about_renders_everything() -> None:
    async def main() -> None:
        gw = demo_gateway()
        await gw.refresher.refresh()
        before = dict(gw.refresher.renders)
        link = gw.snapshot.interconnects_by_peer["acme"][0]
        change = UpsertAlarms((Alarm("al-quiet", ResourceRef(link=link.link_id),
                                     Severity.CRITICAL, NOW),))  # fmt: skip
        gw.snapshot = gw.snapshot.apply(change, gw.snapshot.revision + 1)  # no poke
        await gw.refresher.refresh()
        assert all(gw.refresher.renders[a] > before[a] for a in gw.audiences)
        assert await gw.views() == await gw.fresh()

    asyncio.run(main())


# -- network views held down -----------------------------------------------------------------


def test_a_burst_of_internal_link_changes_renders_topologies_once_more_after_the_holddown() -> None:
    """The first internal link change after a quiet hold-down re-renders the peers' topology
    views at once; the next ones wait for the hold-down (the run loop wakes itself for it),
    and until then the cache does not claim to reflect them."""

    async def main() -> None:
        gw = demo_gateway()
        gw.refresher = Refresher(
            gw.cache, lambda: gw.snapshot, lambda: gw.audiences,
            lambda: PolicySet(compile_policy(p) for p in gw.loaded),
            SECRET, clock=lambda: gw.now, screen=Screen(enabled=False), debounce_s=0,
            network_holddown_s=0.3,
        )  # fmt: skip
        policies = PolicySet(compile_policy(p) for p in gw.loaded)
        gw.refresher._policies = lambda: policies  # one object: the plan stays incremental
        await gw.refresher.refresh()
        internal = [lk for lk in gw.snapshot.topology.links if lk.kind.value == "internal"]

        def renders() -> int:
            return gw.refresher.renders["peer/acme"]

        def down(n: int) -> Change:
            ref = ResourceRef(link=internal[n].link_id)
            return UpsertAlarms((Alarm(f"al-down-{n}", ref, Severity.CRITICAL, NOW - H),))

        await asyncio.sleep(0.35)  # the first render was a network render too: let it pass
        quiet = renders()
        gw.commit(down(0))
        await gw.refresher.refresh()
        assert renders() == quiet + 2  # both topology views, at once
        assert gw.cache.revision == gw.snapshot.revision
        gw.commit(down(1))
        await gw.refresher.refresh()
        assert renders() == quiet + 2  # held down
        assert gw.cache.revision == gw.snapshot.revision - 1  # and not claimed as reflected
        runner = asyncio.create_task(gw.refresher.run())
        try:
            await gw.refresher.wait_for(gw.snapshot.revision, timeout=30)
        finally:
            runner.cancel()
        assert renders() == quiet + 4
        assert await gw.views() == await gw.fresh()

    asyncio.run(main())


def test_slow_network_views_hold_down_longer_than_the_setting(monkeypatch: Any) -> None:
    """Network views that take long to render wait NETWORK_BACKOFF times that long before
    following internal links again, so they cannot take most of the CPU (RFC 8405 backs off)."""
    import gateway.views.refresher as refresher_module

    real = refresher_module.render

    def slow_render(policy: Any, snapshot: Snapshot, audience: str, *args: Any) -> Any:
        if {"topology", "topology-rfc8345"} & set(args[2]):
            time.sleep(0.1)  # a large network's all-pairs computation, in small
        return real(policy, snapshot, audience, *args)

    monkeypatch.setattr(refresher_module, "render", slow_render)

    async def main() -> None:
        gw = demo_gateway()
        policies = PolicySet(compile_policy(p) for p in gw.loaded)
        gw.refresher = Refresher(
            gw.cache, lambda: gw.snapshot, lambda: gw.audiences, lambda: policies,
            SECRET, clock=lambda: gw.now, screen=Screen(enabled=False), debounce_s=0,
            network_holddown_s=0.05,
        )  # fmt: skip
        await gw.refresher.refresh()
        peers = sum(1 for a in gw.audiences if a.startswith("peer/"))
        held = gw.refresher.network_holddown()
        assert held >= refresher_module.NETWORK_BACKOFF * 0.1 * peers > 0.05
        internal = next(lk for lk in gw.snapshot.topology.links if lk.kind.value == "internal")
        before = gw.refresher.renders["peer/acme"]
        await asyncio.sleep(0.1)  # past the setting, well within the backed-off hold-down
        ref = ResourceRef(link=internal.link_id)
        gw.commit(UpsertAlarms((Alarm("al-down", ref, Severity.CRITICAL, NOW - H),)))
        await gw.refresher.refresh()
        assert gw.refresher.renders["peer/acme"] == before  # held down
        assert gw.cache.revision == gw.snapshot.revision - 1
        runner = asyncio.create_task(gw.refresher.run())
        try:
            await gw.refresher.wait_for(gw.snapshot.revision, timeout=30)
        finally:
            runner.cancel()
        assert gw.refresher.renders["peer/acme"] == before + 2
        assert await gw.views() == await gw.fresh()

    asyncio.run(main())
