"""A peer's performance history: its interconnects' rollups, as its policy discloses them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gateway.disclosure.entities import find_interconnect
from gateway.disclosure.policy import PerformanceRule
from gateway.store.rollups import Point

#: granularity as asked for → bucket width in seconds
GRANULARITIES: Mapping[str, int] = {"5m": 300, "1h": 3600}


__all__ = ["GRANULARITIES", "find_interconnect", "performance_doc"]


def _time(seconds: int | datetime) -> str:
    moment = seconds if isinstance(seconds, datetime) else datetime.fromtimestamp(seconds, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rounder(digits: int | None) -> Any:
    if digits is None:
        return lambda value: value
    return lambda value: round(value, digits)


def performance_doc(
    rule: PerformanceRule,
    published_id: str,
    granularity: str,
    since: datetime,
    until: datetime,
    series: Mapping[str, Sequence[Point]],
) -> dict[str, Any]:
    """The history of one circuit: per disclosed metric, min/avg/max per bucket, rounded as
    the rule says; metrics the rule does not list are not there, whatever was stored."""
    out: dict[str, list[dict[str, Any]]] = {}
    for metric in rule.metrics:
        r = _rounder(rule.round.get(metric))
        out[metric] = [
            {"start": _time(p.start), "min": r(p.low), "avg": r(p.mean), "max": r(p.high)}
            for p in series.get(metric, ())
        ]
    return {
        "interconnect": published_id,
        "granularity": granularity,
        "since": _time(since),
        "until": _time(until),
        "series": out,
    }
