"""Keeps materialised views fresh: re-renders only what a commit, a policy or the clock changed."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as daytime
from types import MappingProxyType

from gateway.disclosure import (
    DAILY,
    CompiledPolicy,
    PolicySet,
    Pseudonymizer,
    audience_key,
    render,
)
from gateway.disclosure.project import Settled
from gateway.disclosure.reads import NETWORK_VIEWS
from gateway.leakguard.screen import Screen
from gateway.model import Snapshot
from gateway.store.base import Committed
from gateway.views.cache import AudienceViews, ViewCache, build_views, screen_views
from gateway.views.checkpoint import Checkpoint
from gateway.views.clock import Moments
from gateway.views.dependencies import (
    DependencyIndex,
    Stale,
    merge,
    stale_views,
    touched,
    unknown_views,
)

log = logging.getLogger("demarc.views")

Clock = Callable[[], datetime]
#: network views take at most 1 / NETWORK_BACKOFF of the time: the hold-down after rendering
#: them is at least this many times as long as that render took (at 30k nodes the 20 peers'
#: all-pairs computations take seconds: a 1 s hold-down would have them render all the time)
NETWORK_BACKOFF = 4.0


@dataclass(frozen=True, slots=True)
class _Plan:
    audience: str
    policy: CompiledPolicy
    views: frozenset[str]  # to re-render; the others are kept


class Refresher:
    """Renders off the event loop, publishes whole audiences at once, fails closed.

    It plans from the committed changes the store hands to ``poke``: a change on one resource
    re-renders only the views of the audiences whose scope holds it (``dependencies``). A
    snapshot it cannot account for by those changes re-renders everything.
    """

    def __init__(
        self,
        cache: ViewCache,
        snapshot: Callable[[], Snapshot],
        audiences: Callable[[], Sequence[str]],
        policies: Callable[[], PolicySet],
        secret: bytes,
        *,
        clock: Clock = lambda: datetime.now(UTC),
        debounce_s: float = 0.02,
        screen: Screen | None = None,
        slice_size: int = 32,
        network_holddown_s: float = 0.0,
        settled: Callable[[], Settled] = lambda: MappingProxyType({}),
    ) -> None:
        self._cache = cache
        self._snapshot = snapshot
        self._audiences = audiences
        self._policies = policies
        self._secret = secret
        self._clock = clock
        self._debounce = debounce_s
        self._slice = slice_size
        self._settled = settled
        self._day: date | None = None  # the UTC day of the last refresh
        self._wake = asyncio.Event()
        self._pending: list[Committed] = []  # committed since the last plan
        self._last: Snapshot | None = None  # what the published views were planned from
        self._seen: dict[str, str] = {}  # audience → policy version of its published views
        self._dirty: Stale = {}  # views still to render (kept across a failed render)
        self._index = DependencyIndex()
        self._moments = Moments()
        self._pseudonyms: dict[str, Pseudonymizer] = {}
        self._boundary: datetime | None = None
        # network-wide views (peer topologies: an all-pairs computation) follow internal link
        # states at most once per hold-down, like an IGP's SPF back-off (RFC 8405): the first
        # change after a quiet hold-down renders at once, a burst of them once more after it
        self._holddown = network_holddown_s
        self._network_at = -math.inf  # time.monotonic() of the last network-view render
        self._network_from: int | None = None  # first revision whose link change is unrendered
        self._network_cost = 0.0  # seconds the network views of every audience last took
        self._network_due = False  # this refresh renders them for every audience
        self._network_spent = 0.0  # seconds rendering network views in this refresh
        self._rendered_at: datetime | None = None  # the clock time of the last refresh
        self._refreshed = asyncio.Condition()
        self._serial = asyncio.Lock()
        self.failures = 0  # renders that failed and published nothing
        self.renders: Counter[str] = Counter()  # views rendered, per audience
        self.on_rendered: Callable[[float], None] = lambda seconds: None  # for metrics
        self.screen = screen or Screen()
        # (policies, audiences) → live policies and history windows: see _live
        self._live_for: tuple[PolicySet, tuple[str, ...], dict[str, CompiledPolicy],
                              frozenset[int]] | None = None  # fmt: skip
        self._extra: dict[str, set[str]] = {}  # audience → views re-rendered on every change
        self._daily: dict[str, frozenset[str]] = {}  # audience → views that move on at midnight
        # some live audience is not yet published at its policy's version or not indexed: the
        # plan then looks at every audience; once all are, it looks only at what changed
        self._unsettled = True

    def poke(self, batch: Sequence[Committed] | None = None) -> None:
        """Something changed (``batch``, when the store says what): refresh soon; changes
        arriving meanwhile are coalesced."""
        if batch:
            self._pending.extend(batch)
        self._wake.set()

    async def run(self) -> None:
        while True:
            timeout = None
            if self._boundary is not None:
                timeout = max(0.0, (self._boundary - self._clock()).total_seconds())
            if self._network_from is not None:
                held = max(0.0, self._network_at + self.network_holddown() - time.monotonic())
                timeout = held if timeout is None else min(timeout, held)
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives as the event is set (a commit while the gateway stops), and the loop
            # would then wait on with nobody to stop it
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            await asyncio.sleep(self._debounce)
            self._wake.clear()
            try:
                await self.refresh()
            except Exception:  # pragma: no cover - refresh() already contains per-audience errors
                log.exception("view refresh failed; the previous views stay served")

    async def refresh(self) -> None:
        # one at a time: a refresh called directly (start-up, tests) waits for the running one,
        # whose plan and dirty set it would otherwise share half-way
        async with self._serial:
            await self._refresh()

    async def _refresh(self) -> None:
        snapshot, pending = self._snapshot(), self._pending
        self._pending = []
        now = self._clock()
        live, histories = self._live()
        full = await self._plan(snapshot, pending, live, now, histories)
        if self._day is not None and now.date() != self._day:
            for audience, daily in self._daily.items():  # a new day: the daily views move on
                self._dirty.setdefault(audience, set()).update(daily)
        self._day = now.date()
        plans: list[_Plan] = []
        for audience, views in list(self._dirty.items()):
            policy = live[audience]
            wanted = frozenset(views & set(policy.views))
            # a new policy publishes even with no views: it withdraws the old policy's ones
            if wanted or self._seen.get(audience) != policy.version:
                plans.append(_Plan(audience, policy, wanted))
            else:  # e.g. a metric in a customer's scope: none of its views reads metrics
                del self._dirty[audience]
        results: list[AudienceViews | None] = []
        started, self._network_spent = time.perf_counter(), 0.0
        for start in range(0, len(plans), self._slice):
            # slices: between them the event loop runs without competing for the GIL
            chunk = plans[start : start + self._slice]
            results += await asyncio.to_thread(
                self._render_all, chunk, snapshot, now, self._settled()
            )
        if plans:
            self.on_rendered(time.perf_counter() - started)
        if self._network_due:
            self._network_cost, self._network_due = self._network_spent, False
        if self.screen.enabled:
            # the live terms follow every commit, rendered or not: the egress guard scans
            # errors and documents with them (a no-op when a render already brought them here)
            await asyncio.to_thread(self.screen.vocabulary.at, snapshot)
        # every audience switches in this one loop iteration: no reader sees a mix of revisions
        for plan, result in zip(plans, results, strict=True):
            if result is None:
                continue  # failed: its views stay dirty and are tried again next time
            self._cache.publish(plan.audience, result)
            self._seen[plan.audience] = plan.policy.version
            self._dirty.pop(plan.audience, None)
        if self._unsettled:
            self._unsettled = any(
                self._seen.get(a) != p.version or a not in self._index for a, p in live.items()
            )
        if full:
            # the model and views just built live long: a full collection scanning them all
            # held the GIL for 0.9 s at 10k nodes (the event loop with it); take them out of
            # the cyclic collector's scans (refcounting still frees them)
            gc.freeze()
        self._last = snapshot
        self._boundary = self._moments.upcoming(now)
        if self._daily:
            midnight = datetime.combine(now.date() + timedelta(days=1), daytime(), tzinfo=UTC)
            self._boundary = min(self._boundary or midnight, midnight)
        self._rendered_at = now
        # every view reflects the snapshot, but for network views held down: not past them
        held = self._network_from
        self._cache.revision = (
            snapshot.revision if held is None else max(self._cache.revision, held - 1)
        )
        async with self._refreshed:
            self._refreshed.notify_all()

    def _live(self) -> tuple[dict[str, CompiledPolicy], frozenset[int]]:
        """Each registered audience's policy (default deny: no policy, no views, so those
        without one are forgotten) and the history windows policies publish; worked out again
        only when the policies or the audiences changed, not per commit."""
        policies, audiences = self._policies(), tuple(self._audiences())
        known = self._live_for
        if known is not None and known[0] is policies and known[1] == audiences:
            return known[2], known[3]
        live: dict[str, CompiledPolicy] = {}
        for audience in audiences:
            policy = policies.for_audience(audience)
            if policy is not None:
                live[audience] = policy
        for audience in [a for a in {*self._seen, *audiences} if a not in live]:
            self._forget(audience)
        histories = frozenset(h for p in policies for h in p.history_hours)
        self._extra = {a: extra for a, p in live.items() if (extra := unknown_views(p))}
        self._daily = {
            a: daily
            for a, p in live.items()
            if (daily := DAILY.get(p.role, frozenset()) & set(p.views))
        }
        self._live_for = (policies, audiences, live, histories)
        self._unsettled = True
        return live, histories

    async def _plan(
        self,
        snapshot: Snapshot,
        pending: list[Committed],
        live: dict[str, CompiledPolicy],
        now: datetime,
        histories: frozenset[int],
    ) -> bool:
        """Add to ``_dirty`` every view whose bytes can differ from the published ones; True
        when that is every view."""
        before = self._last
        revisions = [c.revision for c in pending]
        accounted = before is not None and (
            snapshot is before
            or revisions == list(range(before.revision + 1, snapshot.revision + 1))
        )
        today = datetime.combine(now.astimezone(UTC).date(), daytime(), tzinfo=UTC)
        touches = touched((c.change for c in pending), before or snapshot, today)
        refs = touches.refs
        if before is None or not accounted or touches.everything:
            self._index.clear()
            await asyncio.to_thread(self._rescope, snapshot, list(live), histories, now)
            self._dirty = {audience: set(policy.views) for audience, policy in live.items()}
            self._network_at, self._network_from = time.monotonic(), None
            self._network_due = True
            return True
        rescoped = {f"customer/{name}" for name in touches.customers}
        if self._unsettled or rescoped:
            if missing := [a for a in live if a not in self._index]:  # e.g. after a warm start
                await asyncio.to_thread(self._index_all, snapshot, missing)
            for audience, policy in live.items():
                if self._seen.get(audience) != policy.version or audience in rescoped:
                    # new audience, new policy, or its services changed: all of its views
                    self._dirty[audience] = set(policy.views)
                if audience not in self._index or audience in rescoped:
                    self._index.update(snapshot, audience)
        for audience, extra in self._extra.items():
            self._dirty.setdefault(audience, set()).update(extra)
        # what the clock changed since the last time: windows opening, alarms leaving a
        # history of hours; never a past day's figures (``past``: those change at midnight)
        refs |= self._moments.due(snapshot, now)
        if histories != self._moments.hours:
            await asyncio.to_thread(self._moments.rebuild, snapshot, histories, now)
        for committed in pending:
            self._moments.add(committed.change, now)
        if snapshot.link_states_revision > before.revision and self._network_from is None:
            self._network_from = before.revision + 1
        links_due = False
        if self._network_from is not None:
            at = time.monotonic()
            if at >= self._network_at + self.network_holddown():
                links_due, self._network_at, self._network_from = True, at, None
        self._network_due = links_due
        stale = stale_views(refs, self._index, live, links_changed=links_due, past=touches.past)
        merge(self._dirty, stale)
        return False

    def network_holddown(self) -> float:
        """How long network views wait after rendering before following internal link
        changes again: the setting, or, once it is not 0, ``NETWORK_BACKOFF`` times what
        rendering them took last (an IGP backs its SPF off exponentially: RFC 8405)."""
        if self._holddown <= 0:
            return 0.0
        return max(self._holddown, NETWORK_BACKOFF * self._network_cost)

    def _rescope(
        self, snapshot: Snapshot, audiences: list[str], hours: frozenset[int], now: datetime
    ) -> None:
        """Every audience's scope and every clock moment, from scratch (in a worker thread)."""
        for audience in audiences:
            self._index.update(snapshot, audience)
        self._moments.rebuild(snapshot, hours, now)

    def _index_all(self, snapshot: Snapshot, audiences: list[str]) -> None:
        for audience in audiences:
            self._index.update(snapshot, audience)

    # -- warm restarts (gateway.views.checkpoint) --------------------------------------------

    async def flush(self, budget_s: float) -> None:
        """Before a clean stop: render what is pending, network views held down included,
        so that the views can be written for a warm start; not if the network views last
        took longer than ``budget_s``, and never for longer than that (then the next start
        renders every view)."""
        if self._network_from is not None:
            if self._network_cost > budget_s:
                return
            self._network_at = -math.inf
        if self._network_from is None and not self._pending and not self._dirty:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(budget_s):
                await self.refresh()

    def settled(self) -> Checkpoint | str:
        """What to write for a warm restart: every published view, if all reflect the current
        snapshot (nothing left to render, nothing held down, no refresh under way); else why
        not."""
        last, now = self._last, self._rendered_at
        if last is None or now is None:
            return "nothing rendered yet"
        if last is not self._snapshot():
            return "changes not yet rendered"
        if self._dirty or self._unsettled:
            return "views left to render"
        if self._network_from is not None:
            return "topology views held down"
        if self._serial.locked():
            return "a refresh under way"
        if self._cache.revision != last.revision:
            return "views behind the data"
        audiences = {a: self._cache.get(a) for a in self._seen}
        return Checkpoint(last.revision, dict(last.kind_revisions), now, dict(self._seen),
                          audiences)  # fmt: skip

    async def warm(self, checkpoint: Checkpoint) -> bool:
        """Publish the views of ``checkpoint`` if they are what a render would give now: the
        same data revision, the audience's policy version, and no clock moment since they
        were rendered. The next refresh builds the dependency index and renders whatever
        audience was not taken back. False (nothing published) when the checkpoint is stale."""
        async with self._serial:
            snapshot = self._snapshot()
            if self._last is not None or checkpoint.revision != snapshot.revision:
                return False
            if dict(checkpoint.kinds) != dict(snapshot.kind_revisions):
                return False
            live, histories = self._live()
            loaded = {
                audience: views
                for audience, views in checkpoint.audiences.items()
                if audience in live and checkpoint.policies.get(audience) == live[audience].version
            }
            if not loaded:
                return False
            moments = Moments()
            await asyncio.to_thread(moments.rebuild, snapshot, histories, checkpoint.rendered_at)
            first = moments.upcoming(checkpoint.rendered_at)
            now = self._clock()
            if first is not None and first <= now:
                return False  # a window opened, an alarm left a history: render as usual
            if self._daily and checkpoint.rendered_at.date() != now.date():
                return False  # a new day: the daily views (availability history) move on
            for audience, views in loaded.items():
                self._cache.publish(audience, views)
                self._seen[audience] = live[audience].version
            self._moments, self._boundary = moments, first
            self._last, self._rendered_at = snapshot, checkpoint.rendered_at
            self._day = checkpoint.rendered_at.date()
            self._unsettled = True
            self._network_at = time.monotonic()
            if len(loaded) == len(live):
                self._cache.revision = snapshot.revision
            return True

    def _forget(self, audience: str) -> None:
        self._unsettled = True
        self._cache.drop(audience)
        self._seen.pop(audience, None)
        self._dirty.pop(audience, None)
        self._index.drop(audience)

    async def wait_for(self, revision: int, timeout: float = 10.0) -> None:
        """Return once every view reflects at least ``revision``."""
        async with self._refreshed:
            await asyncio.wait_for(
                self._refreshed.wait_for(lambda: self._cache.revision >= revision), timeout
            )

    def _render_all(
        self, plans: list[_Plan], snapshot: Snapshot, now: datetime, settled: Settled
    ) -> list[AudienceViews | None]:
        """Render, serialise and screen every planned audience (in a worker thread)."""
        out: list[AudienceViews | None] = []
        for plan in plans:
            pseudonym = self._pseudonyms.get(plan.audience)
            if pseudonym is None:
                pseudonym = Pseudonymizer(audience_key(self._secret, plan.audience))
                self._pseudonyms[plan.audience] = pseudonym
            self.renders[plan.audience] += len(plan.views)
            began = time.perf_counter()
            try:
                rendered = render(
                    plan.policy, snapshot, plan.audience, pseudonym, now, plan.views, settled
                )
                if plan.views & NETWORK_VIEWS.get(plan.policy.role, frozenset()):
                    self._network_spent += time.perf_counter() - began
                previous = self._cache.get(plan.audience)
                keep = frozenset(plan.policy.views) - plan.views
                views = build_views(
                    plan.audience, previous, rendered, snapshot.revision, plan.policy.version,
                    keep, DAILY.get(plan.policy.role, frozenset()),
                )  # fmt: skip
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
