"""A customer's status page from the network: the summary a dashboard polls, and history."""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, timedelta
from types import MappingProxyType
from typing import Any

from gateway.disclosure.availability import (
    DAY_S,
    Figures,
    Spans,
    by_day,
    day_start,
    days_between,
    figures,
    merge,
    service_events,
    timeline,
)
from gateway.disclosure.policy import HistoryRule, SummaryRule
from gateway.disclosure.project import Context, Item
from gateway.model import Alarm, Maintenance, ResourceRef, Service

Row = tuple[Service, frozenset[ResourceRef]]
#: worst first: what the overall status of several services is
_ORDER = ("outage", "degraded", "maintenance", "unknown", "operational")


def worst_status(statuses: Sequence[str]) -> str:
    """The worst of ``statuses`` (operational when there are none)."""
    return min(statuses, key=_ORDER.index, default="operational")


def summary(
    rule: SummaryRule,
    ctx: Context,
    rows: list[Row],
    project: Callable[[Context, Row], Item],
    status: Callable[[Context, Row], str],
    show_status: bool,
    incidents: Callable[[], list[bool]],
    maintenance: Callable[[], list[str]],
) -> dict[str, Any]:
    """The summary document: overall status, services grouped by the customer's own grouping
    (``group`` of each service record; ungrouped ones under ``null``), open incidents and
    maintenance as counts. Each service is shown exactly as the services view shows it."""
    out: dict[str, Any] = {}
    statuses = [status(ctx, row) for row in rows]
    if "status" in rule.fields:
        out["status"] = worst_status(statuses)
    if "groups" in rule.fields:
        groups: dict[str | None, list[tuple[Item, str]]] = {}
        for row, state in zip(rows, statuses, strict=True):
            groups.setdefault(row[0].group, []).append((project(ctx, row), state))
        listed = []
        for name in sorted(groups, key=lambda g: (g is None, g or "")):
            members = groups[name]
            group: dict[str, Any] = {"name": name}
            if show_status:
                group["status"] = worst_status([state for _, state in members])
            group["services"] = sorted(
                (item for item, _ in members), key=lambda i: str(i.get("id"))
            )
            listed.append(group)
        out["groups"] = listed
    if "incidents" in rule.fields:
        active = incidents()
        out["incidents"] = {"active": sum(active), "resolved": len(active) - sum(active)}
    if "maintenance" in rule.fields:
        states = maintenance()
        out["maintenance"] = {
            # verifying is work still under way
            "in_progress": states.count("in-progress") + states.count("verifying"),
            "scheduled": states.count("scheduled"),
        }
    return out


def _minutes(seconds: int) -> float:
    return round(seconds / 60, 1)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def history_item(rule: HistoryRule, ctx: Context, row: Row, service_id: str) -> dict[str, Any]:
    """One service's daily availability over the ``rule.days`` complete UTC days before today,
    and its SLA attainment per calendar month of that period. Only whole days: the content
    changes with the data and at midnight, never with the mere passing of time in between."""
    service, covered = row
    today = ctx.now.astimezone(UTC).date()
    start, end = day_start(today - timedelta(days=rule.days)), day_start(today)
    alarms, windows = service_events(ctx.snapshot, covered)
    alarms = [a for a in alarms if a.raised_at < end and (a.cleared_at or end) > start]
    windows = [w for w in windows if w.start < end and w.end > start]
    settled = ctx.settled.get(service.service_id, _NO_DAYS)
    # everything the item is computed from: an alarm of today, the usual change, leaves it be
    key = (id(rule), service, service_id, today, tuple(alarms), tuple(windows), id(settled),
           id(ctx.snapshot.topology))  # fmt: skip
    with _LOCK:
        hit = _ITEMS.get(key)
        if hit is not None:
            _ITEMS.move_to_end(key)
            return hit[1]
    item = _history_item(rule, ctx, row, service_id, alarms, windows, settled)
    with _LOCK:
        # the objects named by id() are held with the entry, so no other takes their ids
        _ITEMS[key] = ((rule, settled, ctx.snapshot.topology), item)
        while len(_ITEMS) > _MAX_ITEMS:
            _ITEMS.popitem(last=False)
    return item


_NO_DAYS: Mapping[date, Spans] = MappingProxyType({})
_LOCK = threading.Lock()
_MAX_ITEMS = 1 << 16
_ITEMS: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], dict[str, Any]]] = OrderedDict()


def _history_item(
    rule: HistoryRule,
    ctx: Context,
    row: Row,
    service_id: str,
    alarms: list[Alarm],
    windows: list[Maintenance],
    settled: Mapping[date, Spans],
) -> dict[str, Any]:
    service, covered = row
    today = ctx.now.astimezone(UTC).date()
    first, last = today - timedelta(days=rule.days), today - timedelta(days=1)
    start, end = day_start(first), day_start(today)
    live = by_day(timeline(ctx.snapshot, covered, alarms, windows, start, end))
    counts = service.sla.maintenance == "included"
    target = service.sla.availability_pct
    days: list[dict[str, Any]] = []
    months: dict[str, Figures] = {}
    quiet: dict[str, int] = {}  # days of nothing per month: most days of most services
    for day in days_between(first, last):
        month = day.isoformat()[:7]
        spans = merge(settled.get(day, ()), live.get(day, ()))
        if not spans:
            quiet[month] = quiet.get(month, 0) + 1
            months.setdefault(month, Figures(0))
            days.append(_quiet_day(day, counts))
            continue
        totals = figures(spans, DAY_S)
        months[month] = months.get(month, Figures(0)) + totals
        days.append(_day(day, totals, counts))
    for month, n in quiet.items():
        months[month] = months[month] + Figures(n * DAY_S)
    item: dict[str, Any] = {}
    for name in rule.fields:
        if name == "id":
            item["id"] = service_id
        elif name == "name":
            item["name"] = service.name
        elif name == "group":
            item["group"] = service.group
        elif name == "sla":
            item["sla"] = {"availability_pct": target, "maintenance": service.sla.maintenance}
        elif name == "days":
            item["days"] = days
        elif name == "months":
            item["months"] = [_month(m, f, counts, target) for m, f in months.items()]
    return item


@functools.lru_cache(maxsize=4096)
def _quiet_day(day: date, counts: bool) -> dict[str, Any]:
    """A day with nothing to say, as ``_day`` gives it; shared, never mutated."""
    return _day(day, Figures(DAY_S), counts)


def _day(day: date, totals: Figures, counts: bool) -> dict[str, Any]:
    return {
        "date": day.isoformat(),
        "availability_pct": _pct(totals.availability_pct(counts)),
        "downtime_minutes": _minutes(totals.downtime(counts)),
        "outage_minutes": _minutes(totals.outage),
        "degraded_minutes": _minutes(totals.degraded),
        "maintenance_minutes": _minutes(totals.maintenance),
    }


def _month(month: str, totals: Figures, counts: bool, target: float | None) -> dict[str, Any]:
    pct = totals.availability_pct(counts)
    return {
        "month": month,
        "availability_pct": _pct(pct),
        "downtime_minutes": _minutes(totals.downtime(counts)),
        "target_pct": target,
        # judged on the unrounded figure: 99.8996 does not meet 99.9
        "met": None if target is None or pct is None else pct >= target,
        "days": totals.observed // DAY_S,
    }
