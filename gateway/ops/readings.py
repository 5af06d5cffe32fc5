"""What metrics and probes read from a running gateway, through one narrow interface."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from gateway.disclosure import PolicySet
from gateway.ingest import AlertStats
from gateway.leakguard.screen import Screen
from gateway.policy.audit import AuditLog
from gateway.security.identity import Registry
from gateway.security.tls import Rejections, TlsState
from gateway.settings import Settings
from gateway.store import Store
from gateway.views import Refresher, ViewCache


class GatewayLike(Protocol):
    """The parts of ``gateway.app.Gateway`` read here (ops sits below the app)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> Store: ...
    @property
    def cache(self) -> ViewCache: ...
    @property
    def refresher(self) -> Refresher: ...
    @property
    def registry(self) -> Registry: ...
    @property
    def policies(self) -> PolicySet: ...
    @property
    def tls_rejections(self) -> Rejections: ...
    @property
    def tls(self) -> TlsState | None: ...
    @property
    def screen(self) -> Screen: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def alert_stats(self) -> AlertStats: ...
    @property
    def started(self) -> bool: ...


class Readings:
    """Implements ``metrics.Observed`` and the readiness check over a gateway."""

    def __init__(self, gateway: GatewayLike) -> None:
        self._g = gateway

    def data_revision(self) -> int:
        return self._g.store.snapshot.revision if self._g.started else 0

    def views_revision(self) -> int:
        return self._g.cache.revision

    def render_failures(self) -> int:
        return self._g.refresher.failures

    def tls_rejections(self) -> Mapping[str, int]:
        return dict(self._g.tls_rejections.counts)

    def leak_terms(self) -> Mapping[str, int]:
        return dict(self._g.screen.counts)

    def disclosures_dropped(self) -> int:
        return self._g.audit.dropped

    def alerts_truncated(self) -> int:
        return self._g.alert_stats.truncated_alerts

    def crl_next_update(self) -> tuple[Path, Mapping[bytes, datetime]]:
        tls = self._g.tls
        return self._g.settings.ca_path, dict(tls.crls.next_update) if tls is not None else {}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready once the store is loaded, the policies are active and every audience that has
        a policy has its views rendered; before that a load balancer should send nothing."""
        g = self._g
        if not g.started:
            return False, {"ready": False, "reason": "starting: store, policies or views loading"}
        served = [a for a in g.registry.audiences() if g.policies.for_audience(a) is not None]
        missing = sorted(a for a in served if not g.cache.get(a).views)
        ready = not missing
        detail: dict[str, Any] = {
            "ready": ready,
            "data_revision": g.store.snapshot.revision,
            "views_revision": g.cache.revision,
            "audiences_served": len(served),
            "audiences_without_views": missing,
        }
        if not served:
            detail["note"] = "no active policy: nothing is published (default deny)"
        return ready, detail
