"""A customer's incidents: episodes of alarms and incidents people declared, told once each.

An episode of alarms (``incidents.group_incidents``) that an incident record names by any of
its alarms is that record's: one incident, with the record's id, title and written updates,
and the alarms' impact, severity and times. A record reaches a customer through the services
it names or through the alarms it names on what the customer's services ride on. Everything
is looked up through the snapshot's indexes (by service, by alarm): proportional to the
customer's scope, never a scan of every incident.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gateway.disclosure.incidents import Incident, group_incidents
from gateway.disclosure.policy import IncidentRule
from gateway.disclosure.project import Context, Getter, Item, compile_projection, format_time
from gateway.disclosure.scope import INCIDENT_SEVERITIES, alarms_on, incident_impact
from gateway.disclosure.timeline import Timeline, incident_timeline
from gateway.model import Alarm, ResourceRef, Service, Severity
from gateway.model.status import IncidentRecord

Row = tuple[Service, frozenset[ResourceRef]]
_IMPACT = {"none": 0, "degraded": 1, "outage": 2}
_NONE: dict[str, IncidentRecord] = {}


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """One incident as one customer is told it."""

    key: str  # the internal id it is published under (pseudonymised unless shared)
    record: IncidentRecord | None
    alarms: tuple[Alarm, ...]  # by start time
    services: tuple[Service, ...]  # the customer's own, by id
    timeline: Timeline

    @property
    def active(self) -> bool:
        return self.timeline.resolved_at is None

    @property
    def started_at(self) -> datetime | None:
        return self.timeline.entries[0].at if self.timeline.entries else None

    @property
    def severity(self) -> Severity | None:
        return Incident(self.alarms, self.services).severity if self.alarms else None

    @property
    def impact(self) -> str:
        impacts = (
            [incident_impact(Incident(self.alarms, self.services).worst)] if self.alarms else []
        )
        if self.record is not None and self.record.impact is not None:
            impacts.append(self.record.impact)
        return max(impacts, key=_IMPACT.__getitem__, default="none")

    @property
    def probable_cause(self) -> str | None:
        return Incident(self.alarms, self.services).worst.probable_cause if self.alarms else None

    @property
    def raw_text(self) -> str | None:
        return self.alarms[0].text if self.alarms else None


def incident_rows(ctx: Context, rows: Sequence[Row], rule: IncidentRule) -> list[IncidentRow]:
    """The incidents of one customer (``rows``: its services and what each rides on)."""
    hours, window = rule.history_hours, timedelta(minutes=rule.group_minutes)
    hit: dict[str, tuple[Alarm, list[Service]]] = {}
    for service, refs in rows:
        for alarm in alarms_on(ctx.snapshot, refs, ctx.now, hours):
            if alarm.severity in INCIDENT_SEVERITIES:
                hit.setdefault(alarm.alarm_id, (alarm, []))[1].append(service)
    by_alarm, by_service = ctx.snapshot.incidents_by_alarm, ctx.snapshot.incidents_by_service
    claimed: dict[str, list[Incident]] = {}
    out: list[IncidentRow] = []
    for episode in group_incidents(hit.values(), window):
        owners = {rid for a in episode.alarms for rid in by_alarm.get(a.alarm_id, _NONE)}
        if owners:  # told once, as the record (the first by id when several name it)
            claimed.setdefault(min(owners), []).append(episode)
            continue
        timeline = incident_timeline((), episode.alarms)
        out.append(IncidentRow(episode.first.alarm_id, None, episode.alarms, episode.services,
                               timeline))  # fmt: skip
    mine = {service.service_id: service for service, _ in rows}
    named = {rid for sid in mine for rid in by_service.get(sid, _NONE)}
    horizon = ctx.now - timedelta(hours=hours)
    for rid in sorted(named | set(claimed)):
        record = ctx.snapshot.incidents.get(rid)
        if record is None:  # named by an index entry of a record being replaced: not there
            continue
        episodes = claimed.get(rid, [])
        alarms = tuple(sorted({a.alarm_id: a for e in episodes for a in e.alarms}.values(),
                              key=lambda a: (a.raised_at, a.alarm_id)))  # fmt: skip
        services = {s.service_id: s for e in episodes for s in e.services}
        services.update((sid, mine[sid]) for sid in record.services if sid in mine)
        timeline = incident_timeline(record.updates, alarms)
        resolved = timeline.resolved_at
        if not episodes and resolved is not None and resolved < horizon:
            continue  # resolved longer ago than the policy's history
        ordered = tuple(services[k] for k in sorted(services))
        out.append(IncidentRow(rid, record, alarms, ordered, timeline))
    return out


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def compile_incidents(
    rule: IncidentRule,
    service_id: Callable[[Context, Service], str],
    service_label: Callable[[Context, Service], str],
) -> Callable[[Context, IncidentRow], Item]:
    """The projection of one incident: the rule's fields in its order; the title from what
    people wrote (``written: keep``) or else the rule's template, never from alarm text."""
    shared = rule.identifiers == "shared"
    keep = rule.written == "keep"
    precision = rule.time_precision

    def updates(ctx: Context, row: IncidentRow) -> list[dict[str, Any]]:
        return [
            {
                "at": format_time(e.at, precision),
                "status": e.status,
                "text": e.text if keep and e.written else None,
            }
            for e in row.timeline.entries
        ]

    catalog: dict[str, Getter[IncidentRow]] = {
        "id": lambda ctx, row: row.key if shared else ctx.pseudonym("in", row.key),
        "services": lambda ctx, row: sorted(service_id(ctx, s) for s in row.services),
        "impact": lambda ctx, row: row.impact,
        "severity": lambda ctx, row: row.severity.value if row.severity is not None else None,
        "probable_cause": lambda ctx, row: row.probable_cause,
        "state": lambda ctx, row: "active" if row.active else "resolved",
        "status": lambda ctx, row: row.timeline.status,
        "started_at": lambda ctx, row: row.started_at,
        "cleared_at": lambda ctx, row: row.timeline.resolved_at,
        "count": lambda ctx, row: len(row.alarms),
        "updates": updates,
        "title": lambda ctx, row: None,  # set below, from the item's other fields
    }
    project = compile_projection(
        catalog,
        list(rule.fields),
        time_precision=precision,
        time_fields=frozenset({"started_at", "cleared_at"}),
        text_rule=rule.text,
        raw_text=lambda row: row.raw_text,
    )
    if "title" not in rule.fields:
        return project
    template = rule.title_template

    def with_title(ctx: Context, row: IncidentRow) -> Item:
        item = project(ctx, row)
        written = row.record.title if row.record is not None else None
        if keep and written:
            item["title"] = written
        else:
            values = {k: _plain(v) for k, v in item.items() if k not in ("title", "updates")}
            values["service"] = ", ".join(service_label(ctx, s) for s in row.services)
            item["title"] = template.format_map(values)
        return item

    return with_title


def states(rows: Iterable[IncidentRow]) -> list[bool]:
    """Active or not, per incident: what the summary counts."""
    return [row.active for row in rows]
