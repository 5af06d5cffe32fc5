"""The ticket desk: each change checked and committed off the event loop, then acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gateway.policy.records import Event
from gateway.tickets import changes
from gateway.tickets.changes import Actor
from gateway.tickets.forms import OperatorUpdate, TicketCreate, TicketPatch
from gateway.tickets.model import Entity, Ticket
from gateway.tickets.store import TicketDb

Mutation = Callable[[Ticket, int], tuple[Ticket, Event]]


class TicketDesk:
    """Tickets of every party. A party reaches only its own: a ticket of another audience is
    answered exactly as one that does not exist (None), by every method that takes one."""

    def __init__(
        self,
        db: TicketDb,
        *,
        max_open: int,
        max_notes: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self._max_open = max_open
        self._max_notes = max_notes
        self._clock = clock
        self._reported: set[tuple[str, ...]] = set()

    def first_report(self, key: tuple[str, ...]) -> bool:
        """True the first time ``key`` (what the leak guard stopped, where) is seen."""
        if key in self._reported:
            return False
        if len(self._reported) >= 10_000:  # bounded: at worst a stop is reported again
            self._reported.clear()
        self._reported.add(key)
        return True

    def _actor(self, principal: str) -> Actor:
        return Actor(principal, self._clock(), self._max_notes)

    async def open(
        self,
        principal: str,
        form: TicketCreate,
        entities: tuple[Entity, ...],
        check: Callable[[Ticket], None] = lambda ticket: None,
    ) -> Ticket:
        """Store a new ticket; ``check`` may refuse it (by raising) before it is stored."""
        actor = self._actor(principal)

        def make(seq: int) -> tuple[Ticket, Event]:
            ticket, event = changes.opened(form, principal, entities, actor, seq)
            check(ticket)
            return ticket, event

        return await asyncio.to_thread(self.db.create, make, self._max_open)

    async def mine(self, party: str) -> list[Ticket]:
        return await asyncio.to_thread(self.db.of, party)

    async def one(self, party: str, ticket_id: str) -> Ticket | None:
        ticket = await asyncio.to_thread(self.db.get, ticket_id)
        return ticket if ticket is not None and ticket.audience == party else None

    async def patch(self, party: str, ticket_id: str, patch: TicketPatch) -> Ticket | None:
        actor = self._actor(party)
        return await self._party_change(
            party, ticket_id, lambda t, seq: changes.patched(t, patch, actor, seq)
        )

    async def act(
        self, party: str, ticket_id: str, action: str, reason: str | None = None
    ) -> Ticket | None:
        actor = self._actor(party)
        return await self._party_change(
            party, ticket_id, lambda t, seq: changes.acted(t, action, reason, actor, seq)
        )

    async def _party_change(
        self,
        party: str,
        ticket_id: str,
        mutate: Callable[[Ticket, int], tuple[Ticket, Event]],
    ) -> Ticket | None:
        def guarded(ticket: Ticket, seq: int) -> tuple[Ticket, Event]:
            if ticket.audience != party:
                raise _NotTheirs
            return mutate(ticket, seq)

        try:
            return await asyncio.to_thread(self.db.change, ticket_id, guarded)
        except _NotTheirs:
            return None  # nothing was written: the transaction rolled back

    # -- the operator's side (internal listener) --------------------------------------------

    async def get(self, ticket_id: str) -> Ticket | None:
        return await asyncio.to_thread(self.db.get, ticket_id)

    async def update(self, principal: str, ticket_id: str, update: OperatorUpdate) -> Ticket | None:
        actor = self._actor(principal)
        return await asyncio.to_thread(
            self.db.change, ticket_id, lambda t, seq: changes.updated(t, update, actor, seq)
        )

    async def feed(
        self, after: int, limit: int, audience: str | None = None, status: str | None = None
    ) -> list[Ticket]:
        return await asyncio.to_thread(self.db.feed, after, limit, audience, status)

    async def prune(self, days: float) -> int:
        return await asyncio.to_thread(self.db.prune, self._clock() - timedelta(days=days))


class _NotTheirs(Exception):
    """Raised inside the transaction so that it rolls back; never leaves this module."""
