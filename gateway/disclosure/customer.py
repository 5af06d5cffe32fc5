"""A customer's views: its own services with a derived status, incidents, maintenance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.disclosure import customer_incidents, status_page
from gateway.disclosure.customer_incidents import IncidentRow, compile_incidents
from gateway.disclosure.policy import CustomerPolicy
from gateway.disclosure.project import (
    Context,
    Getter,
    Item,
    ViewData,
    compile_projection,
    format_time,
)
from gateway.disclosure.scope import (
    coverage,
    customer_services,
    maintenance_status,
    service_status,
)
from gateway.disclosure.stale import in_topology
from gateway.disclosure.timeline import maintenance_listed, maintenance_timeline
from gateway.model import Maintenance, ResourceRef, Service

ViewFn = Callable[[Context, str], ViewData]


def _service_id(shared: bool) -> Getter[Service]:
    def get(ctx: Context, service: Service) -> str:
        return service.service_id if shared else ctx.pseudonym("sv", service.service_id)

    return get


def service_id(policy: CustomerPolicy) -> Getter[Service]:
    """How ``policy`` names a service in every customer view and route: its id when the
    service rule shares ids, else the audience's pseudonym of it."""
    rule = policy.disclose.service
    return _service_id(rule is not None and rule.identifiers == "shared")


def _sla(ctx: Context, service: Service) -> dict[str, Any]:
    sla = service.sla
    return {
        k: v
        for k, v in (
            ("availability_pct", sla.availability_pct),
            ("max_delay_ms", sla.max_delay_ms),
            ("max_loss_pct", sla.max_loss_pct),
        )
        if v is not None
    }


def _status(ctx: Context, service: Service, covered: frozenset[ResourceRef]) -> str:
    # a service whose supporting resources vanished from the topology cannot be judged: saying
    # "operational" from the alarms that no longer reach it would be a guess
    if not in_topology(ctx.snapshot, (*service.endpoints, *service.resources)):
        return "unknown"
    return service_status(ctx.snapshot, covered, ctx.now)


def _affected(ctx: Context, customer: str) -> list[tuple[Service, frozenset[ResourceRef]]]:
    return [(s, coverage(ctx.snapshot, s)) for s in customer_services(ctx.snapshot, customer)]


def compile_customer(policy: CustomerPolicy) -> dict[str, ViewFn]:
    views: dict[str, ViewFn] = {}
    rules = policy.disclose
    shared_sv = rules.service is not None and rules.service.identifiers == "shared"
    service_id = _service_id(shared_sv)

    if rules.service is not None:
        catalog: dict[str, Getter[tuple[Service, frozenset[ResourceRef]]]] = {
            "id": lambda ctx, row: service_id(ctx, row[0]),
            "name": lambda ctx, row: row[0].name,
            "type": lambda ctx, row: row[0].service_type,
            "status": lambda ctx, row: _status(ctx, row[0], row[1]),
            "sla": lambda ctx, row: _sla(ctx, row[0]),
            "bandwidth_mbps": lambda ctx, row: row[0].bandwidth_mbps,
            # how many attachments, never which routers or ports they are on
            "endpoints": lambda ctx, row: len(row[0].endpoints),
            "group": lambda ctx, row: row[0].group,
        }
        project_sv = compile_projection(catalog, list(rules.service.fields))

        def services(ctx: Context, customer: str) -> list[Item]:
            return [project_sv(ctx, row) for row in _affected(ctx, customer)]

        views["services"] = services

    if rules.incident is not None:
        ir = rules.incident
        show_names = rules.service is not None and "name" in rules.service.fields

        def label(ctx: Context, service: Service) -> str:
            return (service.name if show_names else None) or service_id(ctx, service)

        project_in = compile_incidents(ir, service_id, label)

        def incident_rows(ctx: Context, customer: str) -> list[IncidentRow]:
            return customer_incidents.incident_rows(ctx, _affected(ctx, customer), ir)

        def incidents(ctx: Context, customer: str) -> list[Item]:
            return [project_in(ctx, row) for row in incident_rows(ctx, customer)]

        views["incidents"] = incidents

    if rules.maintenance is not None:
        mr = rules.maintenance
        shared_mw = mr.identifiers == "shared"
        keep_mw = mr.written == "keep"

        def mw_updates(ctx: Context, row: tuple[Maintenance, list[Service]]) -> list[Item]:
            return [
                {
                    "at": format_time(e.at, mr.time_precision),
                    "status": e.status,
                    "text": e.text if keep_mw and e.written else None,
                }
                for e in maintenance_timeline(row[0], ctx.now).entries
            ]

        mw_catalog: dict[str, Getter[tuple[Maintenance, list[Service]]]] = {
            "id": lambda ctx, row: (
                row[0].maintenance_id if shared_mw else ctx.pseudonym("mw", row[0].maintenance_id)
            ),
            "services": lambda ctx, row: sorted(service_id(ctx, s) for s in row[1]),
            "start": lambda ctx, row: row[0].start,
            "end": lambda ctx, row: row[0].end,
            "status": lambda ctx, row: maintenance_status(row[0], ctx.now),
            "updates": mw_updates,
        }
        project_mw = compile_projection(
            mw_catalog,
            list(mr.fields),
            time_precision=mr.time_precision,
            time_fields=frozenset({"start", "end"}),
            text_rule=mr.text,
            raw_text=lambda row: row[0].description,
        )

        def maintenance(ctx: Context, customer: str) -> list[Item]:
            hit = _windows(ctx, customer, mr.history_hours)
            return [project_mw(ctx, hit[k]) for k in sorted(hit)]

        views["maintenance"] = maintenance

    if rules.summary is not None and rules.service is not None:
        sr, show_status = rules.summary, "status" in rules.service.fields

        def summary(ctx: Context, customer: str) -> dict[str, Any]:
            def incident_states() -> list[bool]:
                return customer_incidents.states(incident_rows(ctx, customer))

            def window_states() -> list[str]:
                hours = rules.maintenance.history_hours if rules.maintenance is not None else 0
                listed = _windows(ctx, customer, hours).values()
                return [maintenance_status(w, ctx.now) for w, _ in listed]

            return status_page.summary(
                sr,
                ctx,
                _affected(ctx, customer),
                project_sv,
                lambda ctx, row: _status(ctx, row[0], row[1]),
                show_status,
                incident_states,
                window_states,
            )

        views["summary"] = summary

    if rules.history is not None:
        hr = rules.history

        def history(ctx: Context, customer: str) -> list[Item]:
            return [
                status_page.history_item(hr, ctx, row, service_id(ctx, row[0]))
                for row in _affected(ctx, customer)
            ]

        views["history"] = history

    return views


def _windows(
    ctx: Context, customer: str, history_hours: int
) -> dict[str, tuple[Maintenance, list[Service]]]:
    """The windows on what the customer's services ride on that its list shows."""
    hit: dict[str, tuple[Maintenance, list[Service]]] = {}
    by_ref = ctx.snapshot.maintenance_by_resource
    for service, refs in _affected(ctx, customer):
        for ref in refs:
            for window in by_ref.get(ref, _NO_WINDOWS).values():
                if maintenance_listed(window, ctx.now, history_hours):
                    entry = hit.setdefault(window.maintenance_id, (window, []))
                    if service not in entry[1]:
                        entry[1].append(service)
    return hit


_NO_WINDOWS: dict[str, Maintenance] = {}
