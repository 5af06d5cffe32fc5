"""The ticket state machine, every status against every move, as the README draws it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from gateway.model import ResourceRef
from gateway.tickets.changes import Actor, acted, opened, patched, updated
from gateway.tickets.forms import OperatorUpdate, TicketCreate, TicketPatch
from gateway.tickets.model import (
    OPERATOR_MOVES,
    PARTY_ACTIONS,
    TERMINAL,
    Entity,
    Status,
    Ticket,
    TicketRefused,
)

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
ENTITY = Entity("Interconnect", "AMS-1", ResourceRef(link="l1"))
# the README's drawing, spelled out: any other operator move is refused
EXPECTED_MOVES = {
    ("acknowledged", "inProgress"), ("acknowledged", "pending"), ("acknowledged", "resolved"),
    ("acknowledged", "rejected"), ("inProgress", "pending"), ("inProgress", "resolved"),
    ("pending", "inProgress"), ("pending", "resolved"), ("reopened", "inProgress"),
    ("reopened", "pending"), ("reopened", "resolved"), ("resolved", "closed"),
    ("assessingCancellation", "cancelled"), ("assessingCancellation", "inProgress"),
}  # fmt: skip


def actor(minutes: int = 0, max_notes: int = 10) -> Actor:
    return Actor("source/nms", T0 + timedelta(minutes=minutes), max_notes)


def ticket(status: Status = Status.ACKNOWLEDGED) -> Ticket:
    form = TicketCreate.model_validate({
        "description": "down", "severity": "extensive", "priority": "critical",
        "ticketType": "failure",
        "relatedEntity": [{"id": "AMS-1", "@referredType": "Interconnect"}],
    })  # fmt: skip
    new, _ = opened(form, "peer/acme", (ENTITY,), actor(), 1)
    return msgspec.structs.replace(new, status=status)


def test_operator_moves_are_exactly_the_drawn_ones() -> None:
    allowed = {(a.value, b.value) for a, targets in OPERATOR_MOVES.items() for b in targets}
    assert allowed == EXPECTED_MOVES
    for current in Status:
        for target in Status:
            if target is current:
                continue
            move = OperatorUpdate(status=target)
            if (current.value, target.value) in EXPECTED_MOVES:
                new, event = updated(ticket(current), move, actor(5), 2)
                assert new.status is target and new.history[-1].side == "operator"
                assert event.kind == "ticket-update" and event.detail is not None
                assert event.detail["previous"] == current.value
            else:
                with pytest.raises(TicketRefused):
                    updated(ticket(current), move, actor(5), 2)


def test_party_actions_apply_from_their_statuses_only() -> None:
    for action, (sources, target) in PARTY_ACTIONS.items():
        for current in Status:
            reason = "still down" if action == "reopen" else None
            if current in sources:
                new, _ = acted(ticket(current), action, reason, actor(1), 2)
                assert new.status is target
            else:
                with pytest.raises(TicketRefused):
                    acted(ticket(current), action, reason, actor(1), 2)


def test_terminal_tickets_change_no_more() -> None:
    note = TicketPatch.model_validate({"note": [{"text": "anyone?"}]})
    for status in (*TERMINAL, Status.ASSESSING_CANCELLATION):
        with pytest.raises(TicketRefused):
            patched(ticket(status), note, actor(1), 2)
    for status in TERMINAL:
        assert not OPERATOR_MOVES.get(status)


def test_a_party_note_on_a_pending_ticket_puts_it_back_in_progress() -> None:
    note = TicketPatch.model_validate({"note": [{"text": "here are the logs"}]})
    new, _ = patched(ticket(Status.PENDING), note, actor(1), 2)
    assert new.status is Status.IN_PROGRESS and new.notes[-1].text == "here are the logs"
    same, _ = patched(ticket(Status.IN_PROGRESS), note, actor(1), 3)
    assert same.status is Status.IN_PROGRESS and len(same.history) == 1


def test_a_reopen_keeps_its_reason_as_the_partys_note() -> None:
    new, _ = acted(ticket(Status.RESOLVED), "reopen", "loss is back", actor(9), 2)
    assert (new.notes[-1].text, new.notes[-1].author, new.notes[-1].side) == (
        "loss is back", "closureRejection", "party"
    )  # fmt: skip


def test_an_internal_note_is_no_news_to_the_party() -> None:
    start = ticket(Status.IN_PROGRESS)
    quiet, _ = updated(start, OperatorUpdate.model_validate(
        {"note": {"text": "vendor case 1"}, "operator_ref": "INC1"}), actor(30), 2)  # fmt: skip
    assert quiet.updated_at == start.updated_at and quiet.seq == 2
    told, _ = updated(quiet, OperatorUpdate.model_validate(
        {"note": {"text": "on it", "visibility": "party"}}), actor(40), 3)  # fmt: skip
    assert told.updated_at == T0 + timedelta(minutes=40)


def test_notes_are_bounded() -> None:
    form = TicketPatch.model_validate({"note": [{"text": "x"}] * 3})
    full, _ = patched(ticket(), form, actor(1, max_notes=3), 2)
    with pytest.raises(TicketRefused, match="at most 3 notes"):
        patched(full, TicketPatch.model_validate({"note": [{"text": "y"}]}), actor(2, 3), 3)


def test_a_change_to_nothing_is_refused() -> None:
    with pytest.raises(TicketRefused, match="nothing changes"):
        updated(ticket(), OperatorUpdate(status=Status.ACKNOWLEDGED), actor(1), 2)
