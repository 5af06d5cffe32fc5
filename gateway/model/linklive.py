"""Live state of internal links, kept per snapshot and updated per change in O(change).

A topology view depends on the topology and on this state only (utilisation, measured delay,
down under a critical alarm), so an alarm on anything else never makes one re-render, and
finding that out costs nothing like a scan of every alarm and sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from immutables import Map, MapMutation

from gateway.model.records import Alarm, MetricSample, Severity
from gateway.model.topology import Link, LinkKind, ResourceRef

UTILISATION = "utilisation_pct"
DELAY = "delay_ms"


@dataclass(frozen=True)
class LinkState:
    """Live state of one internal link that overrides or refines its topology attributes."""

    down: bool = False  # e.g. a critical alarm on the link: treated as oper-status down
    utilisation_pct: float | None = None
    delay_us: float | None = None  # measured delay, preferred over the configured one


EMPTY = LinkState()


def critical(alarm: Alarm) -> bool:
    """Active and critical: the link carries nothing, as for interconnect status."""
    return alarm.active and alarm.severity is Severity.CRITICAL


def link_of(ref: ResourceRef | None) -> str | None:
    return ref.link if ref is not None else None


def state_of(
    link_id: str,
    critical_counts: Mapping[str, int],
    metrics: Mapping[tuple[ResourceRef, str], MetricSample],
) -> LinkState:
    ref = ResourceRef(link=link_id)
    util, delay = metrics.get((ref, UTILISATION)), metrics.get((ref, DELAY))
    return LinkState(
        critical_counts.get(link_id, 0) > 0,
        util.value if util is not None else None,
        delay.value * 1000.0 if delay is not None else None,
    )


def count_critical(alarms: Iterable[Alarm]) -> Map[str, int]:
    counts: dict[str, int] = {}
    for alarm in alarms:
        if (link := link_of(alarm.resource)) is not None and critical(alarm):
            counts[link] = counts.get(link, 0) + 1
    return Map(counts)


def adjust(counts: MapMutation[str, int], alarm: Alarm | None, delta: int) -> str | None:
    """Count ``alarm`` in (+1) or out (-1) of its link's critical count; its link, if counted."""
    if alarm is None or (link := link_of(alarm.resource)) is None or not critical(alarm):
        return None
    left = counts.get(link, 0) + delta
    if left > 0:
        counts[link] = left
    else:
        counts.pop(link, None)
    return link


def build(
    links: Mapping[str, Link],
    critical_counts: Mapping[str, int],
    metrics: Mapping[tuple[ResourceRef, str], MetricSample],
) -> Map[str, LinkState]:
    """States of every internal link that has one, from scratch (loading, a new topology)."""
    touched = set(critical_counts)
    touched.update(ref.link for ref, _ in metrics if ref.link is not None)
    return update(Map(), links, touched, critical_counts, metrics).finish()


def update(
    states: Map[str, LinkState],
    links: Mapping[str, Link],
    touched: Iterable[str],
    critical_counts: Mapping[str, int],
    metrics: Mapping[tuple[ResourceRef, str], MetricSample],
) -> MapMutation[str, LinkState]:
    """``states`` with the links in ``touched`` recomputed: O(touched)."""
    out = states.mutate()
    for link_id in touched:
        link = links.get(link_id)
        state = state_of(link_id, critical_counts, metrics)
        if link is None or link.kind is not LinkKind.INTERNAL or state == EMPTY:
            out.pop(link_id, None)
        else:
            out[link_id] = state
    return out
