"""A peer's views: its interconnects, the alarms and the maintenance on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.disclosure.policy import PeerPolicy, TopologyRule
from gateway.disclosure.project import Context, Getter, Item, ViewData, compile_projection
from gateway.disclosure.scope import (
    alarms_on,
    interconnect_refs,
    interconnect_status,
    maintenance_on,
    maintenance_status,
    peer_resources,
)
from gateway.disclosure.topology_view import (
    TopologyView,
    dependency_key,
    interconnect_live,
    topology_view,
)
from gateway.model import Alarm, Link, Maintenance, ResourceRef

ViewFn = Callable[[Context, str], ViewData]


def _metric(name: str) -> Getter[Link]:
    def get(ctx: Context, link: Link) -> float | None:
        sample = ctx.snapshot.metrics.get((ResourceRef(link=link.link_id), name))
        return None if sample is None else sample.value

    return get


def _delay_ms(ctx: Context, link: Link) -> float | None:
    measured = _metric("delay_ms")(ctx, link)
    if measured is not None:
        return float(measured)
    return None if link.delay_us is None else link.delay_us / 1000


def _updated_at(ctx: Context, link: Link) -> Any:
    samples = ctx.snapshot.metrics_by_resource.get(ResourceRef(link=link.link_id), {})
    return max((s.at for s in samples.values()), default=None)


def _link_id(shared: bool) -> Getter[Link]:
    def get(ctx: Context, link: Link) -> str:
        # only the agreed circuit name is ever shared; the internal link id names routers
        if shared and link.name:
            return link.name
        return ctx.pseudonym("ic", link.link_id)

    return get


def interconnect_id(policy: PeerPolicy) -> Getter[Link]:
    """How ``policy`` names an interconnect in every peer view and route: the agreed circuit
    id when its interconnect rule shares ids, else the audience's pseudonym of the link."""
    ic = policy.disclose.interconnect
    return _link_id(ic is not None and ic.identifiers == "shared")


def _interconnect_catalog(shared: bool) -> dict[str, Getter[Link]]:
    return {
        "id": _link_id(shared),
        "status": lambda ctx, link: interconnect_status(ctx.snapshot, link, ctx.now),
        "capacity_mbps": lambda ctx, link: (
            None if link.capacity_bps is None else link.capacity_bps / 1e6
        ),
        "utilisation_pct": _metric("utilisation_pct"),
        "delay_ms": _delay_ms,
        "loss_pct": _metric("loss_pct"),
        "local_tp": lambda ctx, link: ctx.pseudonym(
            "tp", f"{link.source_node}\x00{link.source_tp}"
        ),
        "remote_node": lambda ctx, link: link.remote_node,
        "remote_tp": lambda ctx, link: link.remote_tp,
        "updated_at": _updated_at,
    }


def compile_peer(policy: PeerPolicy) -> dict[str, ViewFn]:
    """One function per disclosed view; each takes a context and the peer's name."""
    views: dict[str, ViewFn] = {}
    rules = policy.disclose
    shared_ic = rules.interconnect is not None and rules.interconnect.identifiers == "shared"
    link_id = _link_id(shared_ic)

    if rules.interconnect is not None:
        ic = rules.interconnect
        project_ic = compile_projection(
            _interconnect_catalog(shared_ic),
            list(ic.fields),
            rounding={str(k): v for k, v in ic.round.items()},
            time_fields=frozenset({"updated_at"}),
        )

        def interconnects(ctx: Context, peer: str) -> list[Item]:
            links = ctx.snapshot.interconnects_by_peer.get(peer, ())
            return [project_ic(ctx, link) for link in links]

        views["interconnects"] = interconnects

    if rules.alarm is not None:
        ar = rules.alarm
        shared_alarm = ar.identifiers == "shared"
        alarm_catalog: dict[str, Getter[tuple[Alarm, Link]]] = {
            "id": lambda ctx, row: (
                row[0].alarm_id if shared_alarm else ctx.pseudonym("al", row[0].alarm_id)
            ),
            "resource": lambda ctx, row: link_id(ctx, row[1]),
            "severity": lambda ctx, row: row[0].severity.value,
            "probable_cause": lambda ctx, row: row[0].probable_cause,
            "specific_problem": lambda ctx, row: row[0].specific_problem,
            "state": lambda ctx, row: "active" if row[0].active else "cleared",
            "raised_at": lambda ctx, row: row[0].raised_at,
            "cleared_at": lambda ctx, row: row[0].cleared_at,
        }
        project_alarm = compile_projection(
            alarm_catalog,
            list(ar.fields),
            time_precision=ar.time_precision,
            time_fields=frozenset({"raised_at", "cleared_at"}),
            text_rule=ar.text,
            raw_text=lambda row: row[0].text,
        )
        history = ar.history_hours

        def alarms(ctx: Context, peer: str) -> list[Item]:
            scope = peer_resources(ctx.snapshot, peer)
            rows = alarms_on(ctx.snapshot, scope, ctx.now, history)
            return [project_alarm(ctx, (a, scope[a.resource])) for a in rows if a.resource]

        views["alarms"] = alarms

    if rules.maintenance is not None:
        mr = rules.maintenance
        shared_mw = mr.identifiers == "shared"
        mw_catalog: dict[str, Getter[tuple[Maintenance, list[Link]]]] = {
            "id": lambda ctx, row: (
                row[0].maintenance_id if shared_mw else ctx.pseudonym("mw", row[0].maintenance_id)
            ),
            "resources": lambda ctx, row: sorted({link_id(ctx, link) for link in row[1]}),
            "start": lambda ctx, row: row[0].start,
            "end": lambda ctx, row: row[0].end,
            "status": lambda ctx, row: maintenance_status(row[0], ctx.now),
        }
        project_mw = compile_projection(
            mw_catalog,
            list(mr.fields),
            time_precision=mr.time_precision,
            time_fields=frozenset({"start", "end"}),
            text_rule=mr.text,
            raw_text=lambda row: row[0].description,
        )

        def maintenance(ctx: Context, peer: str) -> list[Item]:
            scope = peer_resources(ctx.snapshot, peer)
            out = []
            for window in maintenance_on(ctx.snapshot, scope, ctx.now):
                links = [scope[r] for r in window.resources if r in scope]
                out.append(project_mw(ctx, (window, links)))
            return out

        views["maintenance"] = maintenance

    if rules.topology is not None and rules.topology.expose != "none":
        views.update(_topology_views(rules.topology))

    return views


def _topology_views(rule: TopologyRule) -> dict[str, ViewFn]:
    """Both topology views from one computation, redone only when what it reads changed."""
    memo: dict[str, tuple[bytes, TopologyView]] = {}

    def compute(ctx: Context, peer: str) -> TopologyView:
        # what the interconnects view tells of each circuit (status, delay) goes into this view
        # too, so the key holds it: a circuit going down re-renders the topology
        live = [
            (link.link_id, *interconnect_live(ctx.snapshot, link, ctx.now))
            for link in ctx.snapshot.interconnects_by_peer.get(peer, ())
        ]
        key = dependency_key(ctx.snapshot, peer) + repr(live).encode()
        hit = memo.get(ctx.audience)
        if hit is not None and hit[0] == key:
            return hit[1]
        filt = rule.filter
        view = topology_view(
            ctx.snapshot,
            peer,
            rule.expose,
            ctx.pseudonym,
            shared_ids=rule.identifiers == "shared",
            metrics=list(rule.metrics),
            filter_tags=filt.tags if filt else (),
            filter_roles=filt.roles if filt else (),
            now=ctx.now,
        )
        memo[ctx.audience] = (key, view)
        return view

    def demarc(ctx: Context, peer: str) -> Any:
        return compute(ctx, peer).demarc

    def rfc8345(ctx: Context, peer: str) -> Any:
        return compute(ctx, peer).rfc8345

    return {"topology": demarc, "topology-rfc8345": rfc8345}


__all__ = ["compile_peer", "interconnect_id", "interconnect_refs"]
