"""Delivers each subscription's events in order, at least once, with back-off and suspension."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from gateway.push.callbacks import Refused, Target, parse_callback
from gateway.push.deliver import Sender
from gateway.push.feed import EventFeed, iso
from gateway.store.events import StoredEvent
from gateway.store.subscriptions import SubscriptionDb, SubscriptionRecord

log = logging.getLogger("demarc.push")

BATCH = 100  # events read at a time


@dataclass(frozen=True, slots=True)
class Query:
    """Which events a subscription asked for; empty sets ask for all."""

    types: frozenset[str] = frozenset()
    views: frozenset[str] = frozenset()

    def wants(self, event: StoredEvent) -> bool:
        return (not self.types or event.type in self.types) and (
            not self.views or event.view in self.views
        )


def parse_query(text: str | None) -> Query:
    """``eventType=A,B&view=alarms``; ValueError naming what is wrong."""
    if not text:
        return Query()
    found: dict[str, frozenset[str]] = {}
    for part in text.split("&"):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in ("eventType", "view") or name in found:
            raise ValueError("query is `eventType=<types>` and/or `view=<views>`, joined by &")
        values = frozenset(v.strip() for v in value.split(",") if v.strip())
        if not values:
            raise ValueError(f"query names no {name}")
        found[name] = values
    return Query(found.get("eventType", frozenset()), found.get("view", frozenset()))


@dataclass(frozen=True, slots=True)
class Policy:
    """How hard the hub tries (settings ``hub.*``)."""

    max_failures: int
    retry_base_s: float
    retry_max_s: float

    def delay(self, failures: int) -> float:
        """Exponential back-off with jitter: between half and all of base·2^(n-1), capped."""
        ceiling = min(self.retry_max_s, self.retry_base_s * 2.0 ** min(failures - 1, 30))
        return ceiling * random.uniform(0.5, 1.0)


# (principal, body) → the body may go out (False: the leak guard stopped it)
Scan = Callable[[str, bytes], bool]
# (principal, subscription id, event) → recorded as a disclosure
Audit = Callable[[str, str, StoredEvent], None]


class Outbox:
    """One task per active subscription. The feed's events after the subscription's position
    are its outbox: an event is sent, and only after the receiver's 2xx is the position moved
    on (durably), so a crash or a kill between the two sends it again (at least once, never
    out of order). A failure waits (back-off), then tries the same event again; after
    ``max_failures`` in a row the subscription is suspended and says why."""

    def __init__(
        self,
        db: SubscriptionDb,
        feed: EventFeed,
        sender: Sender,
        policy: Policy,
        allowed: Callable[[str, Target], None],
        scan: Scan,
        audit: Audit,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db, self._feed, self._sender, self._policy = db, feed, sender, policy
        self._allowed, self._scan, self._audit, self._clock = allowed, scan, audit, clock
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self.delivered = 0  # deliveries answered 2xx since start
        self.attempts = 0

    def start(self, record: SubscriptionRecord) -> None:
        if record.id in self._tasks or record.state != "active":
            return
        self._wake[record.id] = asyncio.Event()
        task = asyncio.create_task(self._run(record), name=f"demarc-hub-{record.id}")
        self._tasks[record.id] = task
        task.add_done_callback(lambda _: self._forget(record.id))

    def _forget(self, ident: str) -> None:
        self._tasks.pop(ident, None)
        self._wake.pop(ident, None)

    def stop(self, ident: str) -> None:
        task = self._tasks.get(ident)
        if task is not None:
            task.cancel()

    def appended(self, principal: str, owners: dict[str, str]) -> None:
        """New events for ``principal``: wake its subscriptions (``owners``: id → principal)."""
        for ident, event in self._wake.items():
            if owners.get(ident) == principal:
                event.set()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._sender.close()

    async def _run(self, record: SubscriptionRecord) -> None:
        while True:
            try:
                await self._follow(record)
                return  # suspended
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # e.g. the database unwritable: try again, never die
                log.error("webhook subscription %s: %s; retrying", record.id, type(exc).__name__)
                await asyncio.sleep(self._policy.retry_max_s)
                fresh = await asyncio.to_thread(self._db.get, record.id)
                if fresh is None or fresh.state != "active":
                    return
                record = fresh

    async def _follow(self, record: SubscriptionRecord) -> None:
        query = parse_query(record.query)
        wake = self._wake[record.id]
        position = record.delivered
        while True:
            wake.clear()  # before reading: an append meanwhile sets it again
            batch = await asyncio.to_thread(self._feed.read, record.principal, position, BATCH)
            if not batch:
                await wake.wait()
                continue
            for event in batch:
                if query.wants(event) and not await self._deliver(record, event):
                    return  # suspended
                position = event.seq
                if not query.wants(event) and event is batch[-1]:
                    await asyncio.to_thread(self._db.delivered, record.id, position)

    async def _deliver(self, record: SubscriptionRecord, event: StoredEvent) -> bool:
        """Until the receiver takes ``event``: True; False once the subscription is suspended."""
        msg_id = f"{record.id}_{event.seq}"
        failures = record.failures
        while True:
            error = await self._attempt(record, msg_id, event)
            if error is None:
                await asyncio.to_thread(self._db.delivered, record.id, event.seq)
                self.delivered += 1
                self._audit(record.principal, record.id, event)
                return True
            failures += 1
            suspend = failures >= self._policy.max_failures
            at = iso(self._clock()) if suspend else None
            failures = await asyncio.to_thread(self._db.failed, record.id, error, at)
            if suspend:
                log.warning("webhook subscription %s suspended: %s", record.id, error)
                return False
            await asyncio.sleep(self._policy.delay(failures))
            record = replace(record, failures=failures)

    async def _attempt(
        self, record: SubscriptionRecord, msg_id: str, event: StoredEvent
    ) -> str | None:
        self.attempts += 1
        try:
            target = parse_callback(record.callback)
            self._allowed(record.principal, target)  # staff may have narrowed the allow-list
        except Refused as exc:
            return str(exc)
        if not self._scan(record.principal, event.body):
            return "an event was withheld by the leak guard; the operator has been told"
        return await self._sender.send(target, record.secret, msg_id, event.body)
