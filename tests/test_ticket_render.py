"""What a party sees of a ticket: its own words always, ours as its policy's ticket rule says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from gateway.disclosure.policy import TicketRule
from gateway.model import ResourceRef
from gateway.tickets.changes import Actor, opened, updated
from gateway.tickets.forms import OperatorUpdate, TicketCreate
from gateway.tickets.model import Entity, Ticket
from gateway.tickets.render import render_ticket

T0 = datetime(2026, 5, 1, 8, 0, 42, tzinfo=UTC)
THEIRS = "our side sees CRC errors"


def _ticket() -> Ticket:
    form = TicketCreate.model_validate({
        "description": THEIRS, "severity": "moderate", "priority": "medium",
        "ticketType": "degraded", "externalId": "ACME-1",
        "relatedEntity": [{"id": "AMS-1", "@referredType": "Interconnect", "role": "affected"}],
        "note": [{"text": "call +31 20 555 0100", "author": "noc"}],
    })  # fmt: skip
    entity = Entity("Interconnect", "AMS-1", ResourceRef(link="l1"), "affected")
    ticket, _ = opened(form, "peer/acme", (entity,), Actor("peer/acme", T0, 10), 1)
    for minutes, change in (
        (1, {"status": "inProgress", "reason": "engineer sent to pe1.ams",
             "note": {"text": "optic swap on pe1.ams", "visibility": "party"}}),
        (2, {"note": {"text": "vendor case 77"}}),
        (3, {"note": {"text": "swap done, watching", "visibility": "party"},
             "seller_priority": "high", "expected_resolution": "2026-05-01T12:00:30Z"}),
    ):  # fmt: skip
        actor = Actor("staff/alice", T0 + timedelta(minutes=minutes, seconds=7), 10)
        ticket, _ = updated(ticket, OperatorUpdate.model_validate(change), actor, minutes + 1)
    return ticket


def _rule(**rule: Any) -> TicketRule:
    return TicketRule.model_validate(rule)


def _clean(text: str) -> bool:
    return "pe1.ams" not in text  # a stand-in guard: the router name is what it knows


def test_the_partys_own_words_always_come_back_and_nothing_of_ours_unless_listed() -> None:
    doc = render_ticket(_ticket(), _rule(fields=["updated_at"]), _clean).doc
    assert doc["description"] == THEIRS and doc["externalId"] == "ACME-1"
    assert [n["text"] for n in doc["note"]] == ["call +31 20 555 0100"]
    assert not {"status", "statusChange", "sellerPriority", "expectedResolutionDate"} & set(doc)
    assert doc["lastUpdate"] == "2026-05-01T08:03:49Z"  # the last change it could see


def test_kept_operator_text_is_screened_piece_by_piece() -> None:
    rule = _rule(fields=["status", "status_history", "notes", "seller_priority",
                         "expected_resolution"], text="keep", time_precision="minute")  # fmt: skip
    out = render_ticket(_ticket(), rule, _clean)
    doc = out.doc
    sellers = [n["text"] for n in doc["note"] if n["source"] == "seller"]
    assert sellers == ["swap done, watching"]  # the one naming pe1.ams is left out
    assert out.withheld == 2  # that note, and the status reason naming it
    assert "changeReason" not in doc["statusChange"][1]
    assert "vendor case 77" not in str(doc)  # internal: never
    assert doc["expectedResolutionDate"] == "2026-05-01T12:01:00Z"  # an end: rounded up
    assert doc["statusChange"][1]["changeDate"] == "2026-05-01T08:01:00Z"
    assert doc["sellerPriority"] == "high" and doc["status"] == "inProgress"
    assert all("author" not in n for n in doc["note"] if n["source"] == "seller")


def test_a_template_replaces_every_piece_of_operator_text() -> None:
    rule = _rule(fields=["status", "notes", "status_history"],
                 text={"template": "Ticket now {status}"})  # fmt: skip
    doc = render_ticket(_ticket(), rule, lambda text: False).doc
    sellers = [n["text"] for n in doc["note"] if n["source"] == "seller"]
    assert sellers == ["Ticket now inProgress"] * 2
    assert doc["statusChange"][1]["changeReason"] == "Ticket now inProgress"


def test_the_shadow_is_the_answer_without_the_partys_words() -> None:
    out = render_ticket(_ticket(), _rule(fields=["status"]), _clean)
    shadow = msgspec.json.encode(out.shadow).decode()
    for word in (THEIRS, "ACME-1", "call +31 20 555 0100", "noc", "affected"):
        assert word not in shadow and word in msgspec.json.encode(out.doc).decode()
    assert out.shadow["relatedEntity"][0]["id"] == "AMS-1"  # ours to say: scanned
    assert out.doc["description"] == THEIRS  # the answer itself is untouched


def test_last_update_is_never_before_creation() -> None:
    ticket = msgspec.structs.replace(_ticket(), updated_at=T0 + timedelta(seconds=5))
    doc = render_ticket(ticket, _rule(fields=["updated_at"], time_precision="hour"), _clean).doc
    assert doc["lastUpdate"] == doc["creationDate"] == "2026-05-01T08:00:42Z"
