"""Push: long-poll, the change feed, webhook subscriptions and subscribable feeds (issue 16)."""

from __future__ import annotations

from gateway.push.longpoll import Waiters
from gateway.settings import Settings


class Push:
    """What one gateway holds to tell clients of changes instead of having them poll blind."""

    def __init__(self, settings: Settings) -> None:
        poll = settings.longpoll
        self.waiters = Waiters(poll.max_wait_s, poll.max_waiters_per_principal)


__all__ = ["Push", "Waiters"]
