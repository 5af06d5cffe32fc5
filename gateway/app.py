"""The gateway assembled: store, policies, views, and one FastAPI app per listener."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from pathlib import Path

from fastapi import FastAPI

from gateway import __doc__ as _about
from gateway.api import admin, ingest, public
from gateway.api.deps import IdentityMiddleware, install_error_handlers
from gateway.disclosure import PolicySet, compile_policy, load_policy_dir
from gateway.identity import INTERNAL_ROLES, PUBLIC_ROLES, Registry, load_registry
from gateway.ingest import AlertLabelMap
from gateway.settings import Settings
from gateway.store import SqliteBackend, Store
from gateway.tls import Rejections, TlsState
from gateway.views import Refresher, ViewCache

VERSION = "0.1.0"


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
        self.policies = PolicySet(compile_policy(p) for p in load_policy_dir(settings.policies_dir))
        labels = settings.alert_labels
        self.alert_labels = AlertLabelMap(
            node=labels.node,
            tp=labels.tp,
            link=labels.link,
            service=labels.service,
            severity=labels.severity,
        )
        self.store = Store(SqliteBackend(settings.database_path))
        self.cache = ViewCache()
        self.refresher = Refresher(
            self.cache,
            snapshot=lambda: self.store.snapshot,
            audiences=self.registry.audiences,
            policies=lambda: self.policies,
            secret=load_secret(settings.secret_path),
            debounce_s=settings.refresh_debounce_s,
        )
        self.tls_rejections = Rejections()
        self.tls: TlsState | None = None  # set by the server that serves this gateway
        self._tasks: list[asyncio.Task[None]] = []
        self.public_app = create_public_app(self)
        self.internal_app = create_internal_app(self)

    def activate(self, policies: PolicySet) -> None:
        """Make ``policies`` the active set. Each audience's views switch whole, at its next
        render: a reader gets all old views or all new ones, never a mix."""
        self.policies = policies
        self.refresher.poke()

    async def start(self) -> None:
        await self.store.open()
        self.store.on_commit(self.refresher.poke)
        await self.refresher.refresh()  # serve views from the first request on
        self._tasks.append(asyncio.create_task(self.refresher.run(), name="demarc-refresher"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.store.close()


def _base_app(gateway: Gateway, title: str, description: str) -> FastAPI:
    app = FastAPI(
        title=title,
        description=description,
        version=VERSION,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.gateway = gateway
    install_error_handlers(app)
    return app


def create_public_app(gateway: Gateway) -> IdentityMiddleware:
    """Peers and customers; ingest and admin routes do not exist here."""
    app = _base_app(
        gateway,
        "Demarc public API",
        "Views for peer operators and customers, as their disclosure policies allow. "
        "Identify with a client certificate whose SPIFFE URI is "
        "spiffe://<trust-domain>/peer/<name> or .../customer/<name>.",
    )
    app.include_router(public.router)
    return IdentityMiddleware(app, lambda: gateway.registry, PUBLIC_ROLES, gateway.tls_rejections)


def create_internal_app(gateway: Gateway) -> IdentityMiddleware:
    """Sources and staff."""
    app = _base_app(
        gateway,
        "Demarc internal API",
        f"{_about} Ingest for sources; administration for staff.",
    )
    app.include_router(ingest.router)
    app.include_router(admin.router)
    return IdentityMiddleware(
        app, lambda: gateway.registry, INTERNAL_ROLES, gateway.tls_rejections
    )


def create_app(settings: Settings) -> Gateway:
    return Gateway(settings)
