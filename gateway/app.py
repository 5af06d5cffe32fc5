"""The gateway assembled: store, policies, views, and one FastAPI app per listener."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from gateway import __doc__ as _about
from gateway.api import (
    admin,
    console,
    events,
    explain,
    feeds,
    hub,
    incidents,
    ingest,
    performance,
    policies,
    public,
    tickets,
    tickets_internal,
    tmf642,
)
from gateway.api.csrf import BrowserGuard, csrf_token
from gateway.api.deps import (
    PRINCIPAL_KEY,
    IdentityMiddleware,
    ProxyMode,
    error_response,
    install_error_handlers,
    scope_audience,
)
from gateway.api.fastpath import ViewFastPath
from gateway.api.head import HeadAsGet
from gateway.api.openapi import document
from gateway.api.ratelimit import RateLimit, TokenBuckets
from gateway.api.signatures import SignedResponses, Signer
from gateway.console import load_assets, load_shell
from gateway.disclosure import PolicySet, Pseudonymizer, audience_key
from gateway.errors import ConfigError
from gateway.ingest import DEFAULT_SEVERITIES, AlertLabelMap, AlertStats
from gateway.leakguard.egress import WITHHELD, EgressGuard
from gateway.leakguard.screen import Screen, Withheld
from gateway.model.gcpause import built_without_gc
from gateway.ops.access import AccessLog
from gateway.ops.accesslines import AccessLines
from gateway.ops.crl_expiry import CaNames, CrlExpiry, CrlState
from gateway.ops.metrics import Metrics
from gateway.ops.readings import Readings
from gateway.policy.audit import AuditLog
from gateway.policy.lifecycle import PolicyLifecycle
from gateway.policy.records import Event
from gateway.policy.rotation import AuditRotation, Rotated
from gateway.policy.store import PolicyDb
from gateway.push import Push, audited, screened
from gateway.security.crl import load_crls
from gateway.security.identity import (
    INTERNAL_ROLES,
    PUBLIC_ROLES,
    Principal,
    Registry,
    load_registry,
)
from gateway.security.proxy import ForwardedCertVerifier, parse_networks
from gateway.security.tls import Rejections, TlsState
from gateway.settings import Settings
from gateway.store import SqliteBackend, Store
from gateway.store.retention import ModelRetention, Pruned, alarm_horizon
from gateway.store.rollups import RollupReader
from gateway.tickets.desk import TicketDesk
from gateway.tickets.store import TicketDb
from gateway.views import Refresher, ViewCache
from gateway.views.checkpoint import save, take
from gateway.views.cursor import Cursors
from gateway.views.history import AvailabilityHistory
from gateway.views.tmf642 import Tmf642Cache

VERSION = "0.1.0"
#: at most this long rendering at a clean stop before the views are written for a warm start
STOP_RENDER_BUDGET_S = 20.0

log = logging.getLogger("demarc.app")


def load_secret(path: Path) -> bytes:
    """The pseudonym master key; made once, kept private, never rotated silently (rotating it
    changes every pseudonym every audience has seen)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


class Gateway:
    """Everything one gateway process holds; no state is built at import time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry: Registry = load_registry(settings.principals_path, settings.trust_domain)
        self._registry_stamp = _stamp(settings.principals_path)
        self.crl_expiry = CrlExpiry(
            timedelta(days=settings.crl_warning_days), CaNames(settings.ca_path)
        )
        # filled at start from the policy store, which the files in policies_dir seed once
        self.policies = PolicySet(())
        labels = settings.alert_labels
        self.alert_labels = AlertLabelMap(
            node=labels.node,
            tp=labels.tp,
            link=labels.link,
            service=labels.service,
            severity=labels.severity,
            probable_cause=labels.probable_cause,
            severities=MappingProxyType(
                {**DEFAULT_SEVERITIES, **{k.lower(): v for k, v in labels.severities.items()}}
            ),
            default_severity=labels.default_severity,
            probable_causes=MappingProxyType(dict(labels.probable_causes)),
        )
        self.alert_stats = AlertStats()  # since start, for staff: /v1/admin/status
        secret = self._secret = load_secret(settings.secret_path)
        self.backend = SqliteBackend(settings.database_path, accept_loss=settings.accept_data_loss)
        self.store = Store(self.backend)
        self.rollups = RollupReader(settings.database_path)  # performance history, read side
        self._pseudonyms: dict[str, Pseudonymizer] = {}
        self.cache = ViewCache()
        self.push = Push(
            settings,
            scan=screened(lambda: self.screen, self._withheld),
            audit=audited(lambda: self.audit.disclosed),
        )
        self.cache.on_publish(self.push.waiters.published)
        self.cache.on_publish(self.push.feed.published)
        self.cursors = Cursors(secret)  # page cursors, signed per audience
        self.tmf642 = Tmf642Cache()  # each peer's alarms view in TMF642 form, per version
        self.history = AvailabilityHistory(self.backend)
        self.leaks: deque[Withheld] = deque(maxlen=1000)  # the latest, for staff and tests
        self.screen = Screen(on_leak=self._withheld, enabled=settings.leak_guard)
        self.refresher = Refresher(
            self.cache,
            snapshot=lambda: self.store.snapshot,
            audiences=lambda: self.registry.audiences(),  # the registry is reloadable
            policies=lambda: self.policies,
            secret=secret,
            debounce_s=settings.refresh_debounce_s,
            network_holddown_s=settings.network_holddown_s,
            screen=self.screen,
            settled=lambda: self.history.days,
        )
        self.tls_rejections = Rejections()
        # the key of the gateway's own certificate signs answers on request (RFC 9421)
        self.signer = Signer.load(settings.cert_path, settings.key_path)
        self.rate_buckets = TokenBuckets(settings.limits.rate_per_s, settings.limits.rate_burst)
        self.tls: TlsState | None = None  # set by the server that serves this gateway
        self._proxy: tuple[int, ProxyMode] | None = None
        self.policy_db = PolicyDb(settings.database_path)
        self.audit = AuditLog(self.policy_db)
        # trouble tickets: in the same file, written and audited in one transaction each
        self.ticket_db = TicketDb(settings.database_path)
        limits = settings.tickets
        self.tickets = TicketDesk(
            self.ticket_db, max_open=limits.max_open, max_notes=limits.max_notes
        )
        self.ticket_buckets = TokenBuckets(limits.writes_per_min / 60, limits.write_burst)
        self.lifecycle = PolicyLifecycle(
            self.policy_db,
            record=self.audit.record,
            current=lambda: self.policies,
            apply=self.activate,
            audiences=lambda: self.registry.audiences(),
            snapshot=lambda: self.store.snapshot,
            secret=secret,
        )
        kept = settings.retention
        self.model_retention = ModelRetention(
            self.store,
            self.backend,
            horizon=self.alarm_horizon,
            log_days=kept.commit_log_days,
            clock=lambda: datetime.now(UTC),
            settle=self.history.settle,
        )
        self.audit_rotation = AuditRotation(
            self.policy_db,
            settings.audit_archive_path,
            disclosure_days=kept.audit_disclosure_days,
            summary_days=kept.audit_summary_days,
        )
        self._tasks: list[asyncio.Task[None]] = []
        # ops: metrics read the counters above at scrape time; ready once start() is done
        self.started = False
        self.readings = Readings(self)
        self.metrics = Metrics(VERSION, self.readings)
        # one JSON line per request, written in batches off the request path
        self.access_lines = AccessLines()
        self.refresher.on_rendered = self.metrics.view_rendered
        self.public_app = create_public_app(self)
        self.internal_app = create_internal_app(self)

    def record_withheld(self, event: Withheld) -> None:
        """A body the leak guard stopped (or a part of one it left out), for the record."""
        self._withheld(event)

    def _withheld(self, event: Withheld) -> None:
        """The leak guard stopped a body: keep it for staff, durably, with classes and digests
        only. Called from the refresher's worker thread, or from the event loop, where the
        write (a short SQLite transaction) is handed to a thread."""
        self.leaks.append(event)
        self.metrics.leak_withheld(event.audience)
        record = Event(
            kind="leak-withheld",
            principal="demarc",
            audience=event.audience,
            view=event.view,
            detail={"classes": list(event.classes), "digests": list(event.digests)},
        )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.policy_db.append_events([record])
            return
        loop.run_in_executor(None, self.policy_db.append_events, [record])

    def pseudonymizer(self, audience: str) -> Pseudonymizer:
        """The audience's pseudonyms, as its views have them (for routes that resolve a
        published id back to what it names)."""
        found = self._pseudonyms.get(audience)
        if found is None:
            found = self._pseudonyms[audience] = Pseudonymizer(audience_key(self._secret, audience))
        return found

    def reload_registry(self, *, force: bool = False) -> bool:
        """Re-read the principal registry when its file changed (or on SIGHUP, ``force``). A
        file that does not load keeps the last good registry serving, and says why."""
        path = self.settings.principals_path
        stamp = _stamp(path)
        if stamp == self._registry_stamp and not force:
            return False
        self._registry_stamp = stamp  # a bad file is reported once, not at every check
        try:
            registry = load_registry(path, self.settings.trust_domain)
        except ConfigError as exc:
            log.error("principal registry not reloaded, the previous one stays: %s", exc)
            return False
        self.registry = registry
        log.info("principal registry reloaded: %d principals", len(registry.principals))
        self.refresher.poke()  # a new audience gets its views rendered
        return True

    def warn_crl_expiry(self) -> list[str]:
        """Log, once per CRL, a CA whose CRL is within ``crl_warning_days`` of nextUpdate."""
        if self.tls is None:
            return []
        return self.crl_expiry.check(self.tls.crls.next_update, datetime.now(UTC))

    def crl_status(self) -> list[CrlState]:
        """Blocking (it may read the CRL files): each CA's CRL expiry, for staff. Empty when
        CRL checking is off."""
        if not self.settings.tls_crl_check:
            return []
        now = datetime.now(UTC)
        if self.tls is not None:
            next_update = self.tls.crls.next_update  # what the TLS layer enforces
        else:  # not serving TLS (an in-process app): what it would enforce
            crls = self.settings.crl_paths
            next_update = load_crls(crls, self.settings.ca_path, now).next_update
        return self.crl_expiry.status(next_update, now)

    def proxy_mode(self) -> ProxyMode | None:
        """Trusted-proxy mode, when configured and the TLS state (for its checks) is loaded."""
        if not self.settings.trusted_proxies or self.tls is None:
            return None
        # rebuilt when the TLS state reloads: a new CA bundle applies to forwarded certs too
        if self._proxy is None or self._proxy[0] != self.tls.generation:
            mode = ProxyMode(
                parse_networks(self.settings.trusted_proxies),
                ForwardedCertVerifier(self.settings.ca_path),
                self.tls.refuse,
            )
            self._proxy = (self.tls.generation, mode)
        return self._proxy[1]

    def activate(self, policies: PolicySet) -> None:
        """Make ``policies`` the active set. Each audience's views switch whole, at its next
        render: a reader gets all old views or all new ones, never a mix."""
        self.policies = policies
        self.refresher.poke()

    def alarm_horizon(self) -> timedelta:
        """How long a cleared alarm stays: the longest history any active policy publishes."""
        histories = (h for p in self.policies for h in p.history_hours)
        return alarm_horizon(histories, self.settings.retention.cleared_alarm_min_hours)

    async def retain(self) -> tuple[Pruned, Rotated]:
        """One retention pass: the model (a committed change), then the audit trail."""
        pruned = await self.model_retention.run_once()
        kept, now = self.settings.retention, datetime.now(UTC)
        await asyncio.to_thread(
            self.backend.prune_rollups,
            {
                300: now - timedelta(days=kept.performance_5m_days),
                3600: now - timedelta(days=kept.performance_1h_days),
            },
        )
        # settled days older than any history a policy may publish (its longest ``days``)
        await self.history.forget_before(datetime.now(UTC).date() - timedelta(days=400))
        await self.tickets.prune(self.settings.tickets.retention_days)
        rotated = await asyncio.to_thread(self.audit_rotation.run_once, datetime.now(UTC))
        return pruned, rotated

    async def _retention_loop(self) -> None:
        while True:
            try:
                pruned, rotated = await self.retain()
                log.info("retention: %s, %s", pruned, rotated)
            except Exception:  # each step is atomic: what failed is still there next time
                log.exception("retention pass failed; nothing it had not finished was removed")
            await asyncio.sleep(self.settings.retention.interval_s)

    @property
    def checkpoint_path(self) -> Path:
        """The views of a clean stop, for a warm start (gateway.views.checkpoint)."""
        return self.settings.database_path.with_name(self.settings.database_path.name + ".views")

    async def start(self) -> None:
        await self.store.open()
        await self.push.start()  # follows the views from their first publication
        await self.history.open()
        await self.lifecycle.open(self.settings.policies_dir)
        if not any(True for _ in self.policies):
            # an image run without its policies mounted must not look like a working gateway
            log.warning(
                "no active disclosure policy (none stored, none in %s): nothing is published "
                "to anyone (default deny) until policies are added",
                self.settings.policies_dir,
            )
        self.audit.start()
        self.access_lines.start()
        self.store.on_commit(self.screen.follow)  # before the refresher renders the batch
        self.store.on_commit(self.refresher.poke)
        self.store.on_commit(self.metrics.committed)
        # serve views from the first request on: those of a clean stop, if still exact (the
        # index and the leak guard's terms are then built by a refresh in the background)
        checkpoint = await asyncio.to_thread(
            built_without_gc, lambda: take(self.checkpoint_path, self._secret)
        )
        if checkpoint is not None and await self.refresher.warm(checkpoint):
            log.info("warm start: views of revision %d taken back", checkpoint.revision)
            self._tasks.append(asyncio.create_task(self.refresher.refresh(), name="demarc-warm"))
        else:
            await self.refresher.refresh()
        self._tasks.append(asyncio.create_task(self.refresher.run(), name="demarc-refresher"))
        if self.settings.retention.enabled:
            task = asyncio.create_task(self._retention_loop(), name="demarc-retention")
            self._tasks.append(task)
        self.started = True

    async def stop(self) -> None:
        self.started = False
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # bounded: a task that ignored its cancellation must not keep the store open
            _, stuck = await asyncio.wait(self._tasks, timeout=10)
            for task in stuck:
                log.error("task %s did not stop when cancelled; stopping without it", task)
        self._tasks.clear()
        # held-down topologies and the last commits rendered now, so the views can be kept
        await self.refresher.flush(STOP_RENDER_BUDGET_S)
        settled = self.refresher.settled()
        if isinstance(settled, str):
            log.info("no view checkpoint (%s): the next start renders every view", settled)
        else:
            try:
                await asyncio.to_thread(save, self.checkpoint_path, settled, self._secret)
            except OSError as exc:  # the next start renders every view: slower, not wrong
                log.warning("cannot write the view checkpoint %s: %s", self.checkpoint_path, exc)
        await self.push.stop()
        await self.store.close()
        await asyncio.to_thread(self.rollups.close)
        await asyncio.to_thread(self.ticket_db.close)
        await self.audit.close()
        await asyncio.to_thread(self.access_lines.close)  # every line answered is written
        await asyncio.to_thread(self.policy_db.close)


def _base_app(
    gateway: Gateway,
    title: str,
    description: str,
    roles: str,
    bodies: dict[str, tuple[Any, ...]] | None = None,
) -> FastAPI:
    # /docs and /redoc with their scripts served from here: management networks are offline
    app = FastAPIOffline(
        title=title,
        description=description,
        version=VERSION,
        docs_url="/docs",
        redoc_url="/redoc",
        static_url="/docs/assets",
        # Swagger UI's default validator badge calls a public web service: off
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.gateway = gateway
    install_error_handlers(app)
    document(app, roles, bodies)
    return app


def create_public_app(gateway: Gateway) -> AccessLog:
    """Peers and customers; ingest and admin routes do not exist here."""
    app = _base_app(
        gateway,
        "Demarc public API",
        "Views for peer operators and customers, as their disclosure policies allow. "
        "Identify with a client certificate whose SPIFFE URI is "
        "spiffe://<trust-domain>/peer/<name> or .../customer/<name>.",
        "This listener accepts the roles `peer` and `customer`.",
        {tickets.PREFIX: tickets.BODIES},
    )
    app.include_router(public.router)
    app.include_router(events.router)
    app.include_router(hub.router)
    app.include_router(feeds.router)
    app.include_router(tmf642.router)
    app.include_router(performance.router)
    app.include_router(tickets.router)
    guarded = EgressGuard(
        app,
        gateway.screen.guard,
        lambda audience, path, classes: gateway._withheld(Withheld(audience, path, classes, ())),
        audience=scope_audience,
        refusal=error_response(503, "withheld", WITHHELD),
    )
    # view GETs are answered in raw ASGI, after identity and before FastAPI (issue 10)
    fast = ViewFastPath(
        guarded,
        lambda: gateway.cache,
        lambda: gateway.audit,
        gateway.cursors,
        gateway.push.waiters,
    )
    return AccessLog(
        IdentityMiddleware(
            # every request counts, the fast path's too; HEAD answers as GET, without a body
            # RFC 9421 signatures for whoever asks (Accept-Signature): of the final bytes
            _rate_limited(gateway, HeadAsGet(SignedResponses(fast, gateway.signer)), "public"),
            lambda: gateway.registry,
            PUBLIC_ROLES,
            gateway.tls_rejections,
            gateway.proxy_mode,
        ),
        "public",
        gateway.metrics,
        _principal,
        gateway.access_lines,
        log_requests=gateway.settings.access_log,
    )


def create_internal_app(gateway: Gateway) -> AccessLog:
    """Sources and staff."""
    app = _base_app(
        gateway,
        "Demarc internal API",
        f"{_about} Ingest for sources; administration for staff.",
        "This listener accepts the roles `source` (ingest) and `staff` (admin).",
        {ingest.PREFIX: ingest.BODIES, tickets.PREFIX: tickets_internal.BODIES},
    )
    app.include_router(ingest.router)
    app.include_router(tickets_internal.router)
    app.include_router(admin.router)
    app.include_router(policies.router)
    app.include_router(explain.router)
    app.include_router(incidents.router)
    # the staff console (issue 19): pages and files from memory, its token per principal
    app.include_router(console.router)
    app.state.console_assets = load_assets()
    app.state.console_shell = load_shell()
    app.state.csrf_token = lambda principal: csrf_token(gateway._secret, principal)
    # a client certificate in a browser is ambient authority: changes need origin and token
    guarded = BrowserGuard(app, gateway._secret, gateway.tls_rejections.record)
    return AccessLog(
        IdentityMiddleware(
            _rate_limited(gateway, guarded, "internal"),
            lambda: gateway.registry,
            INTERNAL_ROLES,
            gateway.tls_rejections,
            gateway.proxy_mode,
        ),
        "internal",
        gateway.metrics,
        _principal,
        gateway.access_lines,
        log_requests=gateway.settings.access_log,
    )


def _stamp(path: Path) -> tuple[float, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime, st.st_size


def _principal(scope: dict[str, Any]) -> Principal | None:
    principal = scope.get(PRINCIPAL_KEY)
    return principal if isinstance(principal, Principal) else None


def _rate_limited(gateway: Gateway, app: object, listener: str) -> RateLimit:
    """Inside the identity check (the bucket is the principal's), outside everything else."""

    def limited(principal: Principal) -> None:
        # counted, not logged: a flood would flood the log
        gateway.tls_rejections.counts["rate-limited"] += 1
        gateway.metrics.rate_limited(listener, principal.role)

    cost = gateway.settings.limits.not_modified_cost
    return RateLimit(app, gateway.rate_buckets, cost, limited)


def create_app(settings: Settings) -> Gateway:
    return Gateway(settings)
