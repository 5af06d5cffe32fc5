"""Push: long-poll, the change feed, webhook subscriptions and subscribable feeds (issue 16)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable

from gateway.errors import ConfigError
from gateway.leakguard.screen import Screen, Withheld
from gateway.push.callbacks import parse_networks
from gateway.push.deliver import Sender, client_context
from gateway.push.feed import EventFeed
from gateway.push.feeds import Feeds
from gateway.push.hub import Hub
from gateway.push.longpoll import Waiters
from gateway.push.outbox import Audit, Outbox, Policy, Scan
from gateway.settings import Settings
from gateway.store.events import EventDb, StoredEvent
from gateway.store.subscriptions import SubscriptionDb
from gateway.views.pages import etag_of

log = logging.getLogger("demarc.push")


class Push:
    """What one gateway holds to tell clients of changes instead of having them poll blind."""

    def __init__(self, settings: Settings, scan: Scan, audit: Audit) -> None:
        self.settings = settings
        poll, hub = settings.longpoll, settings.hub
        self.waiters = Waiters(poll.max_wait_s, poll.max_waiters_per_principal)
        self.db = EventDb(settings.database_path)
        self.feed = EventFeed(self.db, self.waiters, appended=lambda a: self.hub.appended(a))
        try:
            networks = parse_networks(hub.allow_networks)
            context = client_context(hub.ca, hub.client_cert, hub.client_key)
        except (ValueError, OSError, ssl.SSLError) as exc:
            raise ConfigError(f"hub settings: {exc}") from None
        subscriptions = SubscriptionDb(self.db)
        policy = Policy(hub.max_failures, hub.retry_base_s, hub.retry_max_s)
        self.outbox = Outbox(
            subscriptions,
            self.feed,
            Sender(context, hub.timeout_s, networks),
            policy,
            allowed=lambda principal, target: self.hub.allowed(principal, target),
            scan=scan,
            audit=audit,
        )
        self.hub = Hub(
            subscriptions, self.feed, self.outbox, hub.callbacks, networks, hub.max_subscriptions
        )
        self.feeds = Feeds()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Before the first publication: the feed's positions are read, then it follows, and
        every active subscription resumes where it stopped."""
        await asyncio.to_thread(self.feed.open)
        self._tasks.append(asyncio.create_task(self.feed.run(), name="demarc-event-feed"))
        await self.hub.start()
        if self.settings.retention.enabled:
            self._tasks.append(asyncio.create_task(self._retention(), name="demarc-feed-retention"))

    async def prune(self) -> int:
        """One retention pass over the change feed (never past what an active subscription
        has still to deliver); the events deleted."""
        kept = self.settings.events

        def run() -> int:
            return self.feed.prune(kept.retention_hours, kept.max_per_audience, self.hub.holds())

        return await asyncio.to_thread(run)

    async def _retention(self) -> None:
        while True:
            try:
                deleted = await self.prune()
                if deleted:
                    log.info("change feed retention: %d events deleted", deleted)
            except Exception:  # atomic: what failed is still there next time
                log.exception("change feed retention failed")
            await asyncio.sleep(self.settings.retention.interval_s)

    async def stop(self) -> None:
        # what was published is written before the database closes (bounded: a stuck disk
        # must not hold the stop; the next start diffs against what was written)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self.feed.settled()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.outbox.close()
        await asyncio.to_thread(self.db.close)


def screened(screen: Callable[[], Screen], on_leak: Callable[[Withheld], None]) -> Scan:
    """May a webhook body go out to its audience? Its content was screened as part of a
    view; it is scanned again with the live terms, as the egress guard does for every other
    body, and a hit is recorded like one."""

    def scan(audience: str, body: bytes) -> bool:
        guard_of = screen()
        if not guard_of.enabled:
            return True
        guard = guard_of.guard(audience)
        if guard is None:
            return False  # its views were never screened yet: not now
        hits = guard.scan(body)
        if hits:
            on_leak(
                Withheld(audience, "hub", tuple(sorted({h.term_class.value for h in hits})), ())
            )
            return False
        return True

    return scan


Disclosed = Callable[[str, str, int, str, str], None]


def audited(disclosed: Callable[[], Disclosed]) -> Audit:
    """A webhook delivery is a disclosure like a view sent: recorded as one (``hub/<id>``)."""

    def audit(principal: str, subscription: str, event: StoredEvent) -> None:
        digest = etag_of(event.body)
        disclosed()(principal, f"hub/{subscription}", event.revision, event.policy_version, digest)

    return audit


__all__ = ["Push", "Waiters", "audited", "screened"]
