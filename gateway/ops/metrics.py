"""Prometheus metrics, one registry per gateway: what happened, counted where it happens."""

from __future__ import annotations

import platform
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.ops.crl_expiry import CaNames

# seconds; the serve path answers in well under a millisecond, a preview can take a second
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)
RENDER_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Observed(Protocol):
    """What the collector reads at scrape time: counters that already exist elsewhere, so
    they are not kept twice (``/v1/admin/status`` reads the same ones)."""

    def data_revision(self) -> int: ...
    def views_revision(self) -> int: ...
    def render_failures(self) -> int: ...
    def tls_rejections(self) -> Mapping[str, int]: ...
    def leak_terms(self) -> Mapping[str, int]: ...
    def disclosures_dropped(self) -> int: ...
    def alerts_truncated(self) -> int: ...
    def crl_next_update(self) -> tuple[Path, Mapping[bytes, datetime]]: ...


class Metrics:
    """The gateway's metrics. Label values are fixed vocabularies (listener, route template,
    status, role, reason, view, term class) or audience names: never a router, an address or
    anything a client typed."""

    def __init__(self, version: str, observed: Observed | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # label children cached: labels() takes a lock and builds a key on every call
        self._request_children: dict[tuple[str, str, int, str], tuple[Any, Any]] = {}
        self.requests = Counter(
            "demarc_requests",
            "HTTP requests answered, by listener, route template, status and principal role",
            ["listener", "route", "status", "role"],
            registry=r,
        )
        self.latency = Histogram(
            "demarc_request_duration_seconds",
            "time from request to the last body byte, by listener and route template",
            ["listener", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.commits = Counter(
            "demarc_ingest_commits", "group commits written to the store", registry=r
        )
        self.batch = Histogram(
            "demarc_ingest_batch_changes",
            "changes per group commit",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.render = Histogram(
            "demarc_view_render_seconds",
            "one refresh pass: render, serialise and screen every stale view",
            buckets=RENDER_BUCKETS,
            registry=r,
        )
        self.limited = Counter(
            "demarc_rate_limited",
            "requests refused 429 by the per-principal rate limit, by listener and role (in "
            "demarc_requests_total too, as status 429 and route unmatched: refused before routing)",
            ["listener", "role"],
            registry=r,
        )
        self.withheld = Counter(
            "demarc_leakguard_withheld",
            "bodies the leak guard withheld, by audience",
            ["audience"],
            registry=r,
        )
        Info("demarc_build", "the running build", registry=r).info(
            {"version": version, "python": platform.python_version()}
        )
        if observed is not None:
            r.register(_Readings(observed))

    # called by the code where things happen ------------------------------------------------

    def request(self, listener: str, route: str, status: int, role: str, seconds: float) -> None:
        key = (listener, route, status, role)
        children = self._request_children.get(key)
        if children is None:
            children = (
                self.requests.labels(listener, route, str(status), role),
                self.latency.labels(listener, route),
            )
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def rate_limited(self, listener: str, role: str) -> None:
        self.limited.labels(listener, role).inc()

    def committed(self, batch: Sequence[object]) -> None:
        self.commits.inc()
        self.batch.observe(len(batch))

    def view_rendered(self, seconds: float) -> None:
        self.render.observe(seconds)

    def leak_withheld(self, audience: str) -> None:
        self.withheld.labels(audience or "unknown").inc()


class _Readings(Collector):
    """Counters and gauges read from the objects that keep them, at scrape time."""

    def __init__(self, observed: Observed) -> None:
        self._o = observed
        self._ca_names: dict[Path, CaNames] = {}

    def collect(self) -> Iterator[Metric]:
        o = self._o
        data, views = o.data_revision(), o.views_revision()
        yield _gauge("demarc_data_revision", "newest committed data revision", data)
        yield _gauge("demarc_views_revision", "data revision every published view reflects", views)
        yield _gauge(
            "demarc_view_lag_revisions",
            "freshness lag: revisions committed but not yet reflected in the published views",
            max(0, data - views),
        )
        yield _counter(
            "demarc_view_render_failures", "renders that published nothing new", o.render_failures()
        )
        rejections = CounterMetricFamily(
            "demarc_tls_rejections", "refused clients, by reason", labels=["reason"]
        )
        for reason, count in sorted(o.tls_rejections().items()):
            rejections.add_metric([reason], count)
        yield rejections
        terms = CounterMetricFamily(
            "demarc_leakguard_view_hits",
            "view bodies withheld by the leak guard, by view and class of term matched",
            labels=["view", "term_class"],
        )
        for key, count in sorted(o.leak_terms().items()):
            view, _, cls = key.partition(":")
            terms.add_metric([view, cls], count)
        yield terms
        yield _counter(
            "demarc_audit_disclosures_dropped",
            "disclosure records lost (audit buffer full or a failed write)",
            o.disclosures_dropped(),
        )
        yield _counter(
            "demarc_alertmanager_truncated_alerts",
            "alerts Alertmanager left out of its notifications",
            o.alerts_truncated(),
        )
        expiry = GaugeMetricFamily(
            "demarc_crl_next_update_timestamp_seconds",
            "nextUpdate of the newest CRL loaded per CA (Unix time); refused after it",
            labels=["ca"],
        )
        bundle, next_update = o.crl_next_update()
        names = self._ca_names.setdefault(bundle, CaNames(bundle))()
        for issuer, when in sorted(next_update.items(), key=lambda kv: kv[1]):
            expiry.add_metric([names.get(issuer, "unknown CA")], when.timestamp())
        yield expiry


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)
