"""Ticket answers to their party: rendered as its policy says, screened, audited, then sent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from fastapi import Request
from fastapi.responses import Response

from gateway.api.deps import error_response
from gateway.disclosure.policy import Policy, TicketRule
from gateway.leakguard.allow import Scanner
from gateway.leakguard.egress import PRESCANNED, WITHHELD
from gateway.leakguard.screen import Withheld
from gateway.security.identity import Principal
from gateway.tickets.model import Ticket
from gateway.tickets.render import render_ticket
from gateway.views.pages import etag_of

CONFLICT = "the ticket cannot change that way now"
TICKETS_VIEW = "tickets"  # the audit's name for a list of tickets; one is ticket/<id>
_encode = msgspec.json.Encoder().encode


class WithheldAnswer(Exception):
    """The guard found an internal term in what would be sent: nothing is stored or sent."""


@dataclass
class Party:
    """The principal a ticket answer goes to, with what its policy says of tickets."""

    audience: str
    policy: Policy
    rule: TicketRule
    version: str
    guard: Scanner | None  # None until its views were first screened: nothing is sent then
    screening: bool  # the gateway's leak_guard setting
    classes: set[str] = field(default_factory=set)
    digests: set[str] = field(default_factory=set)

    @classmethod
    async def of(cls, request: Request, principal: Principal) -> Party | None:
        """None when the principal's policy has no ticket rule: then there are no tickets."""
        gateway = request.app.state.gateway
        compiled = gateway.policies.for_audience(principal.id)
        if compiled is None:
            return None
        rule = getattr(compiled.loaded.policy.disclose, "ticket", None)
        if rule is None:
            return None
        screen = gateway.screen
        guard = screen.guard(principal.id)
        if guard is None and screen.enabled:
            # its views were not screened since start (a warm start takes them back as they
            # were): its allowance is made now, off the loop, from the live terms
            snapshot = gateway.store.snapshot
            await asyncio.to_thread(screen.guard_for, principal.id, compiled, snapshot)
            guard = screen.guard(principal.id)  # still None if the terms were not live
        policy = compiled.loaded.policy
        return cls(principal.id, policy, rule, compiled.version, guard, screen.enabled)

    def clean(self, text: str) -> bool:
        """Whether a piece of the operator's text may be shown (the leak guard finds nothing)."""
        if not self.screening:
            return True
        if self.guard is None:
            return False  # fail closed
        hits = self.guard.scan(text.encode())
        self.classes.update(h.term_class.value for h in hits)
        self.digests.update(h.digest for h in hits)
        return not hits

    def passes(self, shadow: Any) -> bool:
        """Whether the answer, without the party's own text, names nothing it may not see."""
        if not self.screening:
            return True
        if self.guard is None:
            return False
        hits = self.guard.scan(_encode(shadow))
        self.classes.update(h.term_class.value for h in hits)
        self.digests.update(h.digest for h in hits)
        return not hits

    def check(self, ticket: Ticket) -> None:
        """Before a new ticket is stored: refuse it if its answer would be withheld (so a party
        is never told 503 about a ticket that exists)."""
        if not self.passes(render_ticket(ticket, self.rule, self.clean).shadow):
            raise WithheldAnswer


def _report(request: Request, party: Party, view: str) -> None:
    gateway = request.app.state.gateway
    digests = tuple(sorted(party.digests))
    # a ticket is read again and again, the same note stopped each time: it goes on record
    # once (per process), not once per poll (leak events are never deleted)
    if gateway.tickets.first_report((party.audience, view, *digests)):
        event = Withheld(party.audience, view, tuple(sorted(party.classes)), digests)
        gateway.record_withheld(event)


def withheld(request: Request, party: Party, view: str) -> Response:
    _report(request, party, view)
    return error_response(503, "withheld", WITHHELD)


def publish(
    request: Request, party: Party, tickets: Sequence[Ticket], *, one: bool, status: int = 200
) -> Response:
    """``tickets`` as the party sees them (one ticket, or a list), or 503 if the guard finds
    anything in what is ours to say; operator notes it stops are left out and reported."""
    view = f"ticket/{tickets[0].ticket_id}" if one else TICKETS_VIEW
    rendered = [render_ticket(t, party.rule, party.clean) for t in tickets]
    shadow = rendered[0].shadow if one else [r.shadow for r in rendered]
    if not party.passes(shadow):
        return withheld(request, party, view)
    if any(r.withheld for r in rendered):
        _report(request, party, view)  # the rest goes out; what was left out is on record
    body = _encode(rendered[0].doc if one else [r.doc for r in rendered])
    etag = etag_of(body)
    gateway = request.app.state.gateway
    revision = max((t.seq for t in tickets), default=0)
    gateway.audit.disclosed(party.audience, view, revision, party.version, etag)
    # scanned here, without the party's own text (which it knows: no oracle for it)
    request.scope[PRESCANNED] = True
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    return Response(body, status_code=status, media_type="application/json", headers=headers)
