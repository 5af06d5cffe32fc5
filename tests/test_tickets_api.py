"""Tickets: the guard on the operator's words, customers, strict input, limits, durability."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from gateway.demo.network import DemoData
from tests.conftest import JSON_BODY, SOURCE, STAFF, Pki, RunningGateway, feed, make_settings
from tests.test_e2e_tickets import TICKETS, circuits, new_ticket, open_ticket

LIMITS = {"max_open": 20, "max_notes": 6, "max_body_bytes": 4096, "write_burst": 1000}


def _start(tmp: Path, pki: Pki, demo: DemoData, **tickets: Any) -> RunningGateway:
    settings = make_settings(tmp, pki, demo, tickets={**LIMITS, **tickets})
    server = RunningGateway(settings, in_process=True).start()
    feed(server, pki, demo)
    return server


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
         ) -> Iterator[RunningGateway]:  # fmt: skip
    data = tmp_path_factory.mktemp("tickets")
    server = _start(data, pki, demo)
    yield server
    server.stop()
    shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def clients(desk: RunningGateway, pki: Pki) -> Iterator[Any]:
    made: list[Any] = []

    def client(listener: str, who: str) -> Any:
        made.append(desk.client(listener, who, pki))
        return made[-1]

    yield client
    for c in made:
        c.close()


def _update(clients: Any, ticket: dict[str, Any], **body: Any) -> Any:
    return clients("internal", STAFF).post(
        f"/v1/tickets/{ticket['id']}/updates", json=body, headers=JSON_BODY
    )


def test_an_operator_note_naming_an_internal_router_is_not_shown(
    desk: RunningGateway, clients: Any, demo: DemoData
) -> None:
    acme = clients("public", "peer/acme")
    ticket = open_ticket(acme, new_ticket(sorted(circuits(demo, "acme"))[0])).json()
    router = sorted(demo.secrets.node_names)[0]
    leaks = len(desk.gateway.leaks)
    slip = f"Traffic moved off {router} while we swap the optic"
    assert _update(clients, ticket, note={"text": slip, "visibility": "party"}).status_code == 200
    fine = "The optic is being swapped; expect a short flap"
    assert _update(clients, ticket, note={"text": fine, "visibility": "party"}).status_code == 200
    seen = acme.get(ticket["href"])
    assert seen.status_code == 200
    assert router not in seen.text and slip not in seen.text
    assert fine in [n["text"] for n in seen.json()["note"]]  # the clean note is shown
    assert acme.get(ticket["href"]).content == seen.content  # read again: the same answer
    events = list(desk.gateway.leaks)[leaks:]
    assert len(events) == 1  # on record once, not once per read
    (event,) = events
    assert (event.audience, event.view) == ("peer/acme", f"ticket/{ticket['id']}")
    assert "node_name" in event.classes and router not in str(event)
    # staff still have the note as written
    whole = clients("internal", STAFF).get(f"/v1/tickets/{ticket['id']}").json()
    assert slip in [n["text"] for n in whole["notes"]]


def test_a_note_the_peer_writes_naming_our_router_comes_back_and_is_no_oracle(
    clients: Any, demo: DemoData
) -> None:
    """The peer's own text is echoed as given (it knows it), and the answer is the same as for
    any other text: the guard does not tell it which words are ours."""
    acme = clients("public", "peer/acme")
    router = sorted(demo.secrets.node_names)[0]
    body = new_ticket(sorted(circuits(demo, "acme"))[0], description=f"Is {router} the far end?")
    opened = open_ticket(acme, body)
    assert opened.status_code == 201 and opened.json()["description"] == f"Is {router} the far end?"


def test_a_customer_opens_on_its_own_service_and_sees_our_notes_as_its_template(
    clients: Any, demo: DemoData
) -> None:
    globex = clients("public", "customer/globex")
    service = next(s["id"] for s in demo.services["services"] if s["customer"] == "globex")
    other = next(s["id"] for s in demo.services["services"] if s["customer"] != "globex")
    body = new_ticket("x") | {"relatedEntity": [{"id": service, "@referredType": "Service"}]}
    opened = open_ticket(globex, body)
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    missing = globex.get(f"{TICKETS}/TT-NOSUCH")
    refused = open_ticket(
        globex, body | {"relatedEntity": [{"id": other, "@referredType": "Service"}]}
    )
    assert refused.status_code == 404 and refused.content == missing.content
    _update(clients, ticket, status="inProgress", reason="checking the access port ge-0/0/1",
            note={"text": "Port ge-0/0/1 on the PE flaps", "visibility": "party"})  # fmt: skip
    doc = globex.get(ticket["href"]).json()
    # globex's policy: text {template: "The operator updated this ticket: it is {status}"}
    assert [n["text"] for n in doc["note"] if n["source"] == "seller"] == [
        "The operator updated this ticket: it is inProgress"
    ]
    assert "ge-0/0/1" not in str(doc) and "statusChange" not in doc  # not in its fields


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"colour": "red"}, "$.colour"),
        ({"severity": "apocalyptic"}, "$.severity"),
        ({"relatedEntity": []}, "$.relatedEntity"),
        ({"description": "a\x00b"}, "$.description"),
        ({"issueStartDate": "2026-01-01T00:00:00"}, "$.issueStartDate"),
    ],
)
def test_bad_input_gets_422_naming_where_and_stores_nothing(
    desk: RunningGateway, clients: Any, demo: DemoData, change: dict[str, Any], where: str
) -> None:
    acme = clients("public", "peer/acme")
    before = len(acme.get(TICKETS).json())
    response = open_ticket(acme, new_ticket(sorted(circuits(demo, "acme"))[0]) | change)
    assert response.status_code == 422, response.text
    assert where in [p["where"] for p in response.json()["error"]["problems"]]
    assert len(acme.get(TICKETS).json()) == before


def test_body_limits_and_media_type(clients: Any, demo: DemoData) -> None:
    acme = clients("public", "peer/acme")
    body = new_ticket(sorted(circuits(demo, "acme"))[0])
    big = acme.post(TICKETS, content=msgspec.json.encode(body | {"description": "x" * 5000}),
                    headers=JSON_BODY)  # fmt: skip
    assert big.status_code == 413  # over max_body_bytes (4096 here)
    text = acme.post(
        TICKETS, content=msgspec.json.encode(body), headers={"content-type": "text/plain"}
    )
    assert text.status_code == 415
    twice = acme.post(TICKETS, content=b'{"severity": "minor", "severity": "extensive"}',
                      headers=JSON_BODY)  # fmt: skip
    assert twice.status_code == 422  # a key named twice is refused, not last-wins


def test_a_change_of_priority_needs_a_note_saying_why(clients: Any, demo: DemoData) -> None:
    acme = clients("public", "peer/acme")
    ticket = open_ticket(acme, new_ticket(sorted(circuits(demo, "acme"))[0])).json()
    bare = acme.patch(ticket["href"], json={"priority": "critical"}, headers=JSON_BODY)
    assert bare.status_code == 422
    said = acme.patch(ticket["href"], json={"priority": "critical",
                                            "note": [{"text": "now customers complain"}]},
                      headers={"content-type": "application/merge-patch+json"})  # fmt: skip
    assert said.status_code == 200 and said.json()["priority"] == "critical"


def test_open_tickets_and_notes_are_bounded(tmp_path: Path, pki: Pki, demo: DemoData) -> None:
    server = _start(tmp_path, pki, demo, max_open=2, max_notes=2)
    try:
        acme = server.client("public", "peer/acme", pki)
        body = new_ticket(sorted(circuits(demo, "acme"))[0])
        first, second = open_ticket(acme, body), open_ticket(acme, body)
        assert first.status_code == second.status_code == 201
        third = open_ticket(acme, body)
        assert third.status_code == 409 and "open tickets" in third.json()["error"]["message"]
        # one note came with it (its max is 2): a second fits, a third does not
        href = first.json()["href"]
        assert (
            acme.patch(href, json={"note": [{"text": "b"}]}, headers=JSON_BODY).status_code == 200
        )
        full = acme.patch(href, json={"note": [{"text": "c"}]}, headers=JSON_BODY)
        assert full.status_code == 409
        # a cancelled ticket no longer counts as open
        acme.post(f"{href}/cancel")
        with server.client("internal", STAFF, pki) as staff:
            ticket_id = first.json()["id"]
            staff.post(f"/v1/tickets/{ticket_id}/updates", json={"status": "cancelled"},
                       headers=JSON_BODY)  # fmt: skip
        assert open_ticket(acme, body).status_code == 201
        acme.close()
    finally:
        server.stop()


def test_ticket_writes_are_rate_limited_per_principal(
    tmp_path: Path, pki: Pki, demo: DemoData
) -> None:
    server = _start(tmp_path, pki, demo, writes_per_min=1, write_burst=2)
    try:
        acme = server.client("public", "peer/acme", pki)
        body = new_ticket(sorted(circuits(demo, "acme"))[0])
        answers = [open_ticket(acme, body) for _ in range(3)]
        assert [a.status_code for a in answers] == [201, 201, 429]
        assert int(answers[2].headers["Retry-After"]) >= 1
        assert acme.get(TICKETS).status_code == 200  # reading is not a ticket write
        acme.close()
    finally:
        server.stop()


def test_a_ticket_outlives_a_restart_and_every_change_is_audited(
    tmp_path: Path, pki: Pki, demo: DemoData
) -> None:
    server = _start(tmp_path, pki, demo)
    acme = server.client("public", "peer/acme", pki)
    ticket = open_ticket(acme, new_ticket(sorted(circuits(demo, "acme"))[0])).json()
    acme.post(f"{ticket['href']}/cancel")
    acme.close()
    server.stop()  # acknowledged means committed: a new process finds it as it was
    again = RunningGateway(server.settings, in_process=True).start()
    try:
        with again.client("public", "peer/acme", pki) as acme:
            seen = acme.get(ticket["href"])
            assert seen.status_code == 200, seen.text
            assert seen.json()["status"] == "assessingCancellation"
        with again.client("internal", STAFF, pki) as staff:
            trail = staff.get("/v1/admin/audit", params={"audience": "peer/acme"}).json()
        kinds = [
            (e["kind"], e.get("view")) for e in trail["events"] if e["kind"].startswith("ticket")
        ]
        assert ("ticket-open", ticket["id"]) in kinds and ("ticket-cancel", ticket["id"]) in kinds
        assert DESCRIPTION_WORD not in str(trail)  # the audit says what changed, not the text
    finally:
        again.stop()


DESCRIPTION_WORD = "CRC errors rising"


def test_a_peers_note_reaches_no_view_of_any_audience(
    desk: RunningGateway, clients: Any, demo: DemoData
) -> None:
    acme = clients("public", "peer/acme")
    canary = "note-canary-7f3q9x"
    ticket = open_ticket(acme, new_ticket(sorted(circuits(demo, "acme"))[0]))
    assert ticket.status_code == 201
    acme.patch(ticket.json()["href"], json={"note": [{"text": canary}]}, headers=JSON_BODY)
    revision = clients("internal", SOURCE).post(
        "/v1/ingest/alarms", headers=JSON_BODY,
        json={"alarms": [{"id": "ALM-T-1", "severity": "minor", "raised_at": "2031-01-01T00:00:00Z",
                          "resource": {"node": "nowhere"}}]},
    ).json()["revision"]  # fmt: skip
    desk.call(desk.gateway.refresher.wait_for(revision))
    for audience in ("peer/acme", "peer/globalnet", "peer/northwind", "customer/globex"):
        views = desk.gateway.cache.get(audience)
        assert views.views, audience
        assert all(canary.encode() not in v.body for v in views.views.values()), audience
    assert canary not in clients("public", "customer/globex").get(TICKETS).text
