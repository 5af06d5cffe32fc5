"""A customer's views: its own services with a derived status, incidents, maintenance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from gateway.disclosure import status_page
from gateway.disclosure.incidents import Incident, group_incidents
from gateway.disclosure.policy import CustomerPolicy
from gateway.disclosure.project import Context, Getter, Item, ViewData, compile_projection
from gateway.disclosure.scope import (
    INCIDENT_SEVERITIES,
    alarms_on,
    coverage,
    customer_services,
    incident_impact,
    maintenance_on,
    maintenance_status,
    service_status,
)
from gateway.disclosure.stale import in_topology
from gateway.model import Alarm, Maintenance, ResourceRef, Service

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
        shared_in = ir.identifiers == "shared"
        in_catalog: dict[str, Getter[Incident]] = {
            "id": lambda ctx, row: (
                row.first.alarm_id if shared_in else ctx.pseudonym("in", row.first.alarm_id)
            ),
            "services": lambda ctx, row: sorted(service_id(ctx, s) for s in row.services),
            "impact": lambda ctx, row: incident_impact(row.worst),
            "severity": lambda ctx, row: row.severity.value,
            "probable_cause": lambda ctx, row: row.worst.probable_cause,
            "state": lambda ctx, row: "active" if row.active else "resolved",
            "started_at": lambda ctx, row: row.started_at,
            "cleared_at": lambda ctx, row: row.cleared_at,
            "count": lambda ctx, row: len(row.alarms),
        }
        project_in = compile_projection(
            in_catalog,
            list(ir.fields),
            time_precision=ir.time_precision,
            time_fields=frozenset({"started_at", "cleared_at"}),
            text_rule=ir.text,
            raw_text=lambda row: row.first.text,
        )
        hours = ir.history_hours
        window = timedelta(minutes=ir.group_minutes)

        def incident_rows(ctx: Context, customer: str) -> list[Incident]:
            hit: dict[str, tuple[Alarm, list[Service]]] = {}
            for service, refs in _affected(ctx, customer):
                for alarm in alarms_on(ctx.snapshot, refs, ctx.now, hours):
                    if alarm.severity in INCIDENT_SEVERITIES:
                        hit.setdefault(alarm.alarm_id, (alarm, []))[1].append(service)
            return group_incidents(hit.values(), window)

        def incidents(ctx: Context, customer: str) -> list[Item]:
            return [project_in(ctx, row) for row in incident_rows(ctx, customer)]

        views["incidents"] = incidents

    if rules.maintenance is not None:
        mr = rules.maintenance
        shared_mw = mr.identifiers == "shared"
        mw_catalog: dict[str, Getter[tuple[Maintenance, list[Service]]]] = {
            "id": lambda ctx, row: (
                row[0].maintenance_id if shared_mw else ctx.pseudonym("mw", row[0].maintenance_id)
            ),
            "services": lambda ctx, row: sorted(service_id(ctx, s) for s in row[1]),
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

        def maintenance(ctx: Context, customer: str) -> list[Item]:
            hit = _windows(ctx, customer)
            return [project_mw(ctx, hit[k]) for k in sorted(hit)]

        views["maintenance"] = maintenance

    if rules.summary is not None and rules.service is not None:
        sr, show_status = rules.summary, "status" in rules.service.fields

        def summary(ctx: Context, customer: str) -> dict[str, Any]:
            def incident_states() -> list[bool]:
                return [i.active for i in incident_rows(ctx, customer)]

            def window_states() -> list[str]:
                return [maintenance_status(w, ctx.now) for w, _ in _windows(ctx, customer).values()]

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


def _windows(ctx: Context, customer: str) -> dict[str, tuple[Maintenance, list[Service]]]:
    hit: dict[str, tuple[Maintenance, list[Service]]] = {}
    for service, refs in _affected(ctx, customer):
        for window in maintenance_on(ctx.snapshot, refs, ctx.now):
            hit.setdefault(window.maintenance_id, (window, []))[1].append(service)
    return hit
