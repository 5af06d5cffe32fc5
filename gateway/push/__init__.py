"""Push: long-poll, the change feed, webhook subscriptions and subscribable feeds (issue 16)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from gateway.push.feed import EventFeed
from gateway.push.longpoll import Waiters
from gateway.settings import Settings
from gateway.store.events import EventDb

log = logging.getLogger("demarc.push")


class Push:
    """What one gateway holds to tell clients of changes instead of having them poll blind."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        poll = settings.longpoll
        self.waiters = Waiters(poll.max_wait_s, poll.max_waiters_per_principal)
        self.db = EventDb(settings.database_path)
        self.feed = EventFeed(self.db, self.waiters)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Before the first publication: the feed's positions are read, then it follows."""
        await asyncio.to_thread(self.feed.open)
        self._tasks.append(asyncio.create_task(self.feed.run(), name="demarc-event-feed"))
        if self.settings.retention.enabled:
            self._tasks.append(asyncio.create_task(self._retention(), name="demarc-feed-retention"))

    async def prune(self) -> int:
        """One retention pass over the change feed; the events deleted."""
        kept = self.settings.events
        return await asyncio.to_thread(
            self.feed.prune, kept.retention_hours, kept.max_per_audience, {}
        )

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
        await asyncio.to_thread(self.db.close)


__all__ = ["Push", "Waiters"]
