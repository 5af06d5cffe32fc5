"""Keeps materialised views fresh: re-renders what a commit, a policy or the clock changed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.disclosure import (
    DEPENDS,
    CompiledPolicy,
    PolicySet,
    Pseudonymizer,
    audience_key,
    next_boundary,
    render,
)
from gateway.leakguard.screen import Screen
from gateway.model import Snapshot
from gateway.views.cache import AudienceViews, ViewCache, build_views, screen_views

log = logging.getLogger("demarc.views")

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class _Plan:
    audience: str
    policy: CompiledPolicy
    views: frozenset[str]  # to re-render; the others are kept


class Refresher:
    """Renders off the event loop, publishes whole audiences at once, fails closed."""

    def __init__(
        self,
        cache: ViewCache,
        snapshot: Callable[[], Snapshot],
        audiences: Callable[[], list[str]],
        policies: Callable[[], PolicySet],
        secret: bytes,
        *,
        clock: Clock = lambda: datetime.now(UTC),
        debounce_s: float = 0.02,
        screen: Screen | None = None,
    ) -> None:
        self._cache = cache
        self._snapshot = snapshot
        self._audiences = audiences
        self._policies = policies
        self._secret = secret
        self._clock = clock
        self._debounce = debounce_s
        self._wake = asyncio.Event()
        self._seen: dict[str, tuple[str, Mapping[str, int]]] = {}  # audience → (policy, kinds)
        self._pseudonyms: dict[str, Pseudonymizer] = {}
        self._boundary: datetime | None = None
        self._refreshed = asyncio.Condition()
        self.failures = 0  # renders that failed and published nothing
        self.on_rendered: Callable[[float], None] = lambda seconds: None  # for metrics
        self.screen = screen or Screen()

    def poke(self, _batch: object = None) -> None:
        """Something changed: refresh soon (changes arriving meanwhile are coalesced)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            timeout = None
            if self._boundary is not None:
                timeout = max(0.0, (self._boundary - self._clock()).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            await asyncio.sleep(self._debounce)
            self._wake.clear()
            try:
                await self.refresh()
            except Exception:  # pragma: no cover - refresh() already contains per-audience errors
                log.exception("view refresh failed; the previous views stay served")

    async def refresh(self) -> None:
        snapshot = self._snapshot()
        now = self._clock()
        timed = self._boundary is not None and now >= self._boundary
        policies = self._policies()
        plans: list[_Plan] = []
        for audience in self._audiences():
            policy = policies.for_audience(audience)
            if policy is None:
                self._cache.drop(audience)  # default deny: no policy, no views
                self._seen.pop(audience, None)
                continue
            views = self._stale_views(audience, policy, snapshot, timed)
            if views:
                plans.append(_Plan(audience, policy, views))
            elif audience in self._seen:
                self._cache.touch(audience, snapshot.revision)
                self._seen[audience] = (policy.version, dict(snapshot.kind_revisions))
        started = time.perf_counter()
        results = await asyncio.to_thread(self._render_all, plans, snapshot, now)
        if plans:
            self.on_rendered(time.perf_counter() - started)
        # every audience switches in this one loop iteration: no reader sees a mix of revisions
        for plan, result in zip(plans, results, strict=True):
            if result is None:
                continue
            self._cache.publish(plan.audience, result)
            self._seen[plan.audience] = (plan.policy.version, dict(snapshot.kind_revisions))
        histories = {h for p in policies for h in p.history_hours}
        self._boundary = next_boundary(snapshot, now, histories)
        self._cache.revision = snapshot.revision
        async with self._refreshed:
            self._refreshed.notify_all()

    async def wait_for(self, revision: int, timeout: float = 10.0) -> None:
        """Return once every view reflects at least ``revision``."""
        async with self._refreshed:
            await asyncio.wait_for(
                self._refreshed.wait_for(lambda: self._cache.revision >= revision), timeout
            )

    def _stale_views(
        self, audience: str, policy: CompiledPolicy, snapshot: Snapshot, timed: bool
    ) -> frozenset[str]:
        all_views = frozenset(policy.views)
        seen = self._seen.get(audience)
        if seen is None or seen[0] != policy.version or timed:
            return all_views
        changed = {
            kind for kind, rev in snapshot.kind_revisions.items() if seen[1].get(kind) != rev
        }
        deps = DEPENDS[policy.role]
        return frozenset(v for v in all_views if any(k.value in changed for k in deps[v]))

    def _render_all(
        self, plans: list[_Plan], snapshot: Snapshot, now: datetime
    ) -> list[AudienceViews | None]:
        """Render, serialise and screen every planned audience (in a worker thread)."""
        out: list[AudienceViews | None] = []
        for plan in plans:
            pseudonym = self._pseudonyms.get(plan.audience)
            if pseudonym is None:
                pseudonym = Pseudonymizer(audience_key(self._secret, plan.audience))
                self._pseudonyms[plan.audience] = pseudonym
            try:
                rendered = render(plan.policy, snapshot, plan.audience, pseudonym, now, plan.views)
                previous = self._cache.get(plan.audience)
                keep = frozenset(plan.policy.views) - plan.views
                views = build_views(
                    plan.audience, previous, rendered, snapshot.revision, plan.policy.version, keep
                )
                if self.screen.enabled:
                    guard = self.screen.guard_for(plan.audience, plan.policy, snapshot)
                    views, _ = screen_views(self.screen, plan.audience, guard, views, previous)
                out.append(views)
            except Exception as exc:
                # fail closed: this audience keeps its previous views; nothing new is published
                self.failures += 1
                log.error(
                    "rendering views for %s failed (%s); previous views stay served",
                    plan.audience,
                    type(exc).__name__,
                )
                out.append(None)
        return out
