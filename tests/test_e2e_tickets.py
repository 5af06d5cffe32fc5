"""Trouble tickets end to end over real TLS: a peer opens, a source reads, staff move, peer sees."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.demo.network import DemoData
from tests.conftest import JSON_BODY, SOURCE, STAFF, RunningGateway

TICKETS = "/tmf-api/troubleTicket/v5/troubleTicket"
# what a peer writes, with what a naive store would trim or normalise: kept exactly
DESCRIPTION = (
    "Loss on the circuit since 09:12 UTC;  CRC errors rising\n\tseen from our side \u2013 \u00e9"
)


@pytest.fixture(scope="module")
def served(served_tls: RunningGateway) -> RunningGateway:
    """Real sockets and client certificates: the two NOCs' tools talk to this."""
    return served_tls


def circuits(demo: DemoData, peer: str) -> dict[str, str]:
    """A peer's circuits: agreed circuit id → our internal link id."""
    links = demo.topology["ietf-network:networks"]["network"][0]["ietf-network-topology:link"]
    out = {}
    for link in links:
        attrs = link.get("ietf-te-topology:te", {}).get("te-link-attributes", {})
        if attrs.get("external-domain", {}).get("network-ref") == peer:
            out[attrs["name"]] = link["link-id"]
    return out


def new_ticket(circuit: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": DESCRIPTION,
        "severity": "significant",
        "priority": "high",
        "ticketType": "degraded",
        "observedImpact": "intermittent",
        "externalId": "ACME-INC-4711",
        "relatedEntity": [{"id": circuit, "@referredType": "Interconnect", "role": "affected"}],
        "note": [{"text": "Our NOC contact: +31 20 555 0100", "author": "acme-noc"}],
        **extra,
    }


def open_ticket(client: Any, body: dict[str, Any]) -> Any:
    return client.post(TICKETS, json=body, headers=JSON_BODY)


def test_a_tickets_life_between_two_nocs(public: Any, internal: Any, demo: DemoData) -> None:
    acme = public("peer/acme")
    circuit, link = sorted(circuits(demo, "acme").items())[0]
    # 1. the peer opens a ticket on its circuit: stored durably, acknowledged
    opened = open_ticket(acme, new_ticket(circuit))
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    assert opened.headers["Location"] == ticket["href"] == f"{TICKETS}/{ticket['id']}"
    assert ticket["status"] == "acknowledged" and ticket["description"] == DESCRIPTION
    assert ticket["relatedEntity"] == [{"id": circuit, "@referredType": "Interconnect",
                                        "role": "affected"}]  # fmt: skip
    assert link not in opened.text  # the circuit's internal link id is never named

    # 2. a source reads the feed: the new ticket, with what the circuit is inside
    source = internal(SOURCE)
    feed = source.get("/v1/tickets", params={"after": 0}).json()
    mine = [t for t in feed["tickets"] if t["ticket_id"] == ticket["id"]]
    assert len(mine) == 1 and mine[0]["audience"] == "peer/acme"
    assert mine[0]["entities"][0]["resource"] == {"link": link}
    assert mine[0]["description"] == DESCRIPTION
    after = feed["next_after"]

    # 3. staff take it on, with a note for acme and one for ourselves
    staff = internal(STAFF)
    for_acme = "We see errors on our side too; optics being replaced"
    moved = staff.post(f"/v1/tickets/{ticket['id']}/updates", headers=JSON_BODY, json={
        "status": "inProgress", "reason": "field engineer dispatched",
        "note": {"text": for_acme, "visibility": "party"},
        "expected_resolution": "2031-01-01T12:00:00Z", "operator_ref": "INC0012345",
    })  # fmt: skip
    assert moved.status_code == 200, moved.text
    internal_note = staff.post(f"/v1/tickets/{ticket['id']}/updates", headers=JSON_BODY,
                               json={"note": {"text": "vendor case 99-1234"}})  # fmt: skip
    assert internal_note.status_code == 200
    # the source sees what changed since it last read
    changed = source.get("/v1/tickets", params={"after": after}).json()["tickets"]
    assert [t["ticket_id"] for t in changed] == [ticket["id"]]
    assert changed[0]["operator_ref"] == "INC0012345"

    # 4. the peer sees the status, our note for it, the expected resolution; nothing internal
    seen = acme.get(ticket["href"])
    assert seen.status_code == 200
    doc = seen.json()
    assert doc["status"] == "inProgress"
    assert doc["expectedResolutionDate"] == "2031-01-01T12:00:00Z"
    texts = [(n["source"], n["text"]) for n in doc["note"]]
    assert ("seller", for_acme) in texts
    assert ("buyer", "Our NOC contact: +31 20 555 0100") in texts
    for secret in ("vendor case 99-1234", "INC0012345", "staff/alice", SOURCE):
        assert secret not in seen.text
    assert [c["status"] for c in doc["statusChange"]] == ["acknowledged", "inProgress"]
    assert doc["statusChange"][1]["changeReason"] == "field engineer dispatched"

    # 5. resolved; the peer confirms; a closed ticket takes no more notes
    resolved = staff.post(f"/v1/tickets/{ticket['id']}/updates", headers=JSON_BODY,
                          json={"status": "resolved", "note": {"text": "Optic replaced",
                                                               "visibility": "party"}})  # fmt: skip
    assert resolved.status_code == 200
    closed = acme.post(f"{ticket['href']}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert "resolutionDate" in closed.json()
    late = acme.patch(ticket["href"], json={"note": [{"text": "thanks"}]}, headers=JSON_BODY)
    assert late.status_code == 409 and late.json()["error"]["code"] == "conflict"


def test_another_principals_circuit_or_ticket_is_answered_as_nothing(
    public: Any, demo: DemoData
) -> None:
    acme, globalnet = public("peer/acme"), public("peer/globalnet")
    missing = acme.get(f"{TICKETS}/TT-NOSUCHTICKET0000")
    theirs = open_ticket(acme, new_ticket(sorted(circuits(demo, "globalnet"))[0]))
    internal_id = open_ticket(acme, new_ticket(sorted(circuits(demo, "acme").values())[0]))
    as_service = open_ticket(
        acme,
        new_ticket(sorted(circuits(demo, "acme"))[0])
        | {
            "relatedEntity": [{"id": sorted(circuits(demo, "acme"))[0], "@referredType": "Service"}]
        },
    )
    for refused in (theirs, internal_id, as_service):
        assert refused.status_code == missing.status_code == 404
        assert refused.content == missing.content  # byte for byte
    # acme's ticket, asked for by another peer: the same answer, and nothing changes
    mine = open_ticket(acme, new_ticket(sorted(circuits(demo, "acme"))[0])).json()
    assert globalnet.get(mine["href"]).content == missing.content
    for attempt in (
        globalnet.patch(mine["href"], json={"note": [{"text": "x"}]}, headers=JSON_BODY),
        globalnet.post(f"{mine['href']}/cancel"),
    ):
        assert attempt.status_code == 404
    assert acme.get(mine["href"]).json()["status"] == "acknowledged"
    # a principal with tickets of its own (globex) neither lists nor reads acme's
    globex = public("customer/globex")
    listed = globex.get(TICKETS)
    assert listed.status_code == 200 and mine["id"] not in listed.text
    assert globex.get(mine["href"]).content == missing.content
    # and a policy without a ticket rule has no tickets at all
    assert globalnet.get(TICKETS).status_code == 404
