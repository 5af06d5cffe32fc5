"""Per-principal token buckets on both listeners: 429 with Retry-After, counted."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from gateway.api.deps import PRINCIPAL_KEY, error_response
from gateway.security.identity import Principal

RATE_LIMITED = "too many requests from this principal: retry after Retry-After seconds"


class TokenBuckets:
    """One bucket per principal: ``burst`` tokens, refilled at ``rate`` per second.

    Keys are registered principals only (identity is checked first), so the map stays small.
    """

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst = rate, burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, when)
        self.limited: Counter[str] = Counter()  # refusals per principal

    def take(self, key: str, cost: float = 1.0) -> float:
        """Take ``cost`` tokens: 0.0 when granted, else the seconds until they would be."""
        now = self._clock()
        tokens, then = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        self.limited[key] += 1
        return (cost - tokens) / self.rate

    def refund(self, key: str, amount: float) -> None:
        tokens, then = self._buckets.get(key, (self.burst, self._clock()))
        self._buckets[key] = (min(self.burst, tokens + amount), then)


class RateLimit:
    """ASGI middleware inside the identity check. Every request costs one token; one answered
    304 gets most of it back (``not_modified_cost`` remains), so a client polling with
    If-None-Match, as it should, can poll about ten times as often as one that does not."""

    def __init__(
        self,
        app: Any,
        buckets: TokenBuckets,
        not_modified_cost: float,
        limited: Callable[[Principal], None] = lambda principal: None,
    ) -> None:
        """``limited`` is told of every refusal (to count it; not to log it, as a flood
        would flood the log)."""
        self.app = app
        self._buckets = buckets
        self._refund = 1.0 - not_modified_cost
        self._limited = limited

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        principal = scope.get(PRINCIPAL_KEY)
        if scope["type"] != "http" or not isinstance(principal, Principal):
            await self.app(scope, receive, send)
            return
        key = principal.id
        wait = self._buckets.take(key)
        if wait > 0:
            self._limited(principal)
            refusal = error_response(429, "rate_limited", RATE_LIMITED)
            refusal.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            await refusal(scope, receive, send)
            return

        async def send_and_refund(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] == 304:
                self._buckets.refund(key, self._refund)
            await send(message)

        await self.app(scope, receive, send_and_refund)
