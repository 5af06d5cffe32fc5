"""The hub (TMF630 style): a principal subscribes a callback to its change feed, or stops."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from gateway.push.callbacks import Network, Refused, Target, check_allowed, parse_callback, resolve
from gateway.push.deliver import new_secret
from gateway.push.feed import EventFeed, iso
from gateway.push.outbox import Outbox, parse_query
from gateway.store.subscriptions import SubscriptionDb, SubscriptionRecord


class TooMany(Exception):
    """The principal has as many subscriptions as it may."""


class Hub:
    """Subscriptions of peers and customers; what they see of them is theirs alone."""

    def __init__(
        self,
        db: SubscriptionDb,
        feed: EventFeed,
        outbox: Outbox,
        allow_list: Mapping[str, list[str]],
        networks: tuple[Network, ...],
        max_subscriptions: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db, self._feed, self.outbox = db, feed, outbox
        self._allow_list = allow_list
        self._networks = networks
        self._max = max_subscriptions
        self._clock = clock
        self._owners: dict[str, str] = {}  # active subscription id → principal

    def allowed(self, principal: str, target: Target) -> None:
        """Refused unless the callback is on the principal's allow-list."""
        check_allowed(target, self._allow_list, principal)

    async def start(self) -> None:
        """Resume delivery for every active subscription, from where each one stopped."""
        for record in await asyncio.to_thread(self._db.active):
            self._owners[record.id] = record.principal
            self.outbox.start(record)

    def appended(self, principal: str) -> None:
        """The feed wrote events for ``principal``: its subscriptions deliver them."""
        self.outbox.appended(principal, self._owners)

    async def create(self, principal: str, callback: str, query: str | None) -> SubscriptionRecord:
        """A new active subscription from the principal's next event on; Refused (callback)
        or ValueError (query) when it cannot be, TooMany past the limit."""
        target = parse_callback(callback)
        self.allowed(principal, target)
        parse_query(query)
        await resolve(target, self._networks)  # refused now rather than at the first event
        record = SubscriptionRecord(
            id="sub-" + secrets.token_hex(8),
            principal=principal,
            callback=target.url,
            query=query or None,
            secret=new_secret(),
            created_at=iso(self._clock()),
            state="active",
            delivered=self._feed.position(principal)[1],
            failures=0,
            last_error=None,
            suspended_at=None,
        )
        if not await asyncio.to_thread(self._db.create, record, self._max):
            raise TooMany(f"a principal may have {self._max} subscriptions")
        self._owners[record.id] = principal
        self.outbox.start(record)
        return record

    async def get(self, principal: str, ident: str) -> SubscriptionRecord | None:
        """The subscription, if it is this principal's (else None: the same as none at all)."""
        record = await asyncio.to_thread(self._db.get, ident)
        return record if record is not None and record.principal == principal else None

    async def list(self, principal: str) -> list[SubscriptionRecord]:
        return await asyncio.to_thread(self._db.of, principal)

    async def delete(self, principal: str, ident: str) -> bool:
        deleted = await asyncio.to_thread(self._db.delete, ident, principal)
        if deleted:
            self._owners.pop(ident, None)
            self.outbox.stop(ident)
        return deleted

    def holds(self) -> dict[str, int]:
        """Blocking: per principal, the oldest event an active subscription has to deliver."""
        return self._db.holds()


__all__ = ["Hub", "Refused", "TooMany"]
