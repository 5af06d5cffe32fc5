"""End to end over real TLS: staff draft, diff, approve and activate policies; peers see it."""

from __future__ import annotations

from typing import Any

from gateway.demo.network import DemoData
from tests.conftest import RunningGateway
from tests.policyapi import (
    ALICE,
    BOB,
    Clients,
    draft,
    narrow,
    policy_text,
    version_of,
    widen,
)


def test_only_staff_may_use_the_policy_api(clients: Clients) -> None:
    source = clients.internal("source/feeder")
    for method, path in [
        ("GET", "/v1/admin/policies"),
        ("GET", "/v1/admin/audit"),
        ("POST", "/v1/admin/drafts"),
        ("GET", "/v1/admin/drafts/1/diff"),
        ("POST", "/v1/admin/policies/peer/acme/rollback"),
    ]:
        response = source.request(method, path, json={"text": "audience: peer/acme"})
        assert response.status_code == 403, (path, response.text)
    # and a peer's certificate is refused by the internal listener before any route
    assert clients.internal("peer/acme").get("/v1/admin/policies").status_code == 403


def test_widening_draft_needs_a_second_staff_member_then_serves(
    fresh: RunningGateway, clients: Clients
) -> None:
    alice, bob = clients.internal(ALICE), clients.internal(BOB)
    before = version_of(clients, "peer/acme", "alarms")
    d = draft(alice, policy_text("peer-acme.yaml", widen))
    assert d["authors"] == [ALICE] and d["base"] == 1 and d["state"] == "open"

    diff = alice.get(f"/v1/admin/drafts/{d['id']}/diff").json()
    assert diff["widening"] is True and diff["active_version"] == before
    change = next(c for c in diff["policy"]["changes"] if c["kind"] == "alarm")
    assert change["aspect"] == "fields" and change["added"] == ["specific_problem"]
    (acme,) = diff["audiences"]
    assert acme["audience"] == "peer/acme"
    assert acme["views"]["alarms"]["fields"]["published"] == ["specific_problem"]
    assert acme["views"]["interconnects"]["status"] == "unchanged"

    refused = alice.post(f"/v1/admin/drafts/{d['id']}/activate", json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "approval_required"
    mine = alice.post(f"/v1/admin/drafts/{d['id']}/approve", json={"digest": d["digest"]})
    assert mine.status_code == 403 and mine.json()["error"]["code"] == "self_approval"
    ok = bob.post(f"/v1/admin/drafts/{d['id']}/approve", json={"digest": d["version"]})
    assert ok.status_code == 200 and ok.json()["approvals"][0]["approver"] == BOB

    activated = alice.post(f"/v1/admin/drafts/{d['id']}/activate", json={"digest": d["digest"]})
    assert activated.status_code == 200, activated.text
    version = activated.json()
    assert (version["number"], version["author"], version["approver"]) == (2, ALICE, BOB)
    assert version["version"] == d["version"] and version["widening"] is True

    fresh.call(fresh.gateway.refresher.refresh())
    assert version_of(clients, "peer/acme", "alarms") == d["version"]
    items = clients.public("peer/acme").get("/v1/alarms").json()["items"]
    assert all("specific_problem" in i for i in items)
    history = alice.get("/v1/admin/policies/peer/acme/history").json()
    assert [(v["number"], v["version"], v["approver"]) for v in history] == [
        (1, before, None),
        (2, d["version"], BOB),
    ]
    assert history[0]["author"].startswith("file:") and history[0]["origin"] == "file"


def test_narrowing_draft_is_activated_by_its_author_alone(
    fresh: RunningGateway, clients: Clients
) -> None:
    alice = clients.internal(ALICE)
    d = draft(alice, policy_text("peer-acme.yaml", narrow))
    diff = alice.get(f"/v1/admin/drafts/{d['id']}/diff").json()
    assert diff["widening"] is False
    ic = diff["audiences"][0]["views"]["interconnects"]
    assert ic["fields"]["withdrawn"] == ["capacity_mbps"] and ic["objects"]["published_count"] == 0
    response = alice.post(f"/v1/admin/drafts/{d['id']}/activate")
    assert response.status_code == 200, response.text
    assert response.json()["approver"] is None and response.json()["widening"] is False
    fresh.call(fresh.gateway.refresher.refresh())
    items = clients.public("peer/acme").get("/v1/interconnects").json()["items"]
    assert items and all("capacity_mbps" not in i for i in items)


def test_preview_is_what_the_audience_would_get_from_live_data(clients: Clients) -> None:
    alice = clients.internal(ALICE)
    d = draft(alice, policy_text("peer-acme.yaml", widen))
    preview = alice.get(f"/v1/admin/drafts/{d['id']}/preview")
    assert preview.status_code == 200
    body = preview.json()
    assert body["policy_version"] == d["version"] and body["leak_guard"]["withheld"] is False
    served = clients.public("peer/acme").get("/v1/interconnects").json()
    # the same engine and serialisation: only the policy version differs
    assert body["views"]["interconnects"]["items"] == served["items"]
    assert all("specific_problem" in i for i in body["views"]["alarms"]["items"])
    # a customer/* draft previews for one customer, which must be one it serves
    c = draft(alice, policy_text("customers.yaml"))
    assert alice.get(f"/v1/admin/drafts/{c['id']}/preview").status_code == 422
    own = alice.get(f"/v1/admin/drafts/{c['id']}/preview", params={"audience": "customer/globex"})
    assert own.status_code == 422 and "own policy" in own.text
    ok = alice.get(f"/v1/admin/drafts/{c['id']}/preview", params={"audience": "customer/initech"})
    assert ok.status_code == 200 and set(ok.json()["views"]) == {
        "services",
        "incidents",
        "maintenance",
        "summary",
        "history",
    }


def test_customer_star_diff_covers_every_customer_without_its_own_policy(
    clients: Clients, demo: DemoData
) -> None:
    alice = clients.internal(ALICE)

    def keep_text(doc: dict[str, Any]) -> None:
        doc["disclose"]["maintenance"]["text"] = "keep"

    d = draft(alice, policy_text("customers.yaml", keep_text))
    diff = alice.get(f"/v1/admin/drafts/{d['id']}/diff").json()
    expected = sorted(f"customer/{c}" for c in demo.customers if c != "globex")
    assert [a["audience"] for a in diff["audiences"]] == expected
    assert diff["widening"] is True
    assert any(c["aspect"] == "text" and c["widening"] for c in diff["policy"]["changes"])


def test_rollback_that_narrows_is_immediate_and_one_that_widens_waits_for_approval(
    fresh: RunningGateway, clients: Clients
) -> None:
    alice, bob = clients.internal(ALICE), clients.internal(BOB)
    original = version_of(clients, "peer/acme", "alarms")
    d = draft(alice, policy_text("peer-acme.yaml", widen))
    bob.post(f"/v1/admin/drafts/{d['id']}/approve", json={"digest": d["digest"]})
    assert alice.post(f"/v1/admin/drafts/{d['id']}/activate").status_code == 200

    back = alice.post("/v1/admin/policies/peer/acme/rollback", json={"to": 1})
    assert back.status_code == 200 and back.json()["activated"] is True
    assert back.json()["version"]["number"] == 3 and back.json()["version"]["origin"] == "rollback"
    fresh.call(fresh.gateway.refresher.refresh())
    assert version_of(clients, "peer/acme", "alarms") == original

    forward = alice.post("/v1/admin/policies/peer/acme/rollback", json={"to": 2})
    assert forward.status_code == 202 and forward.json()["activated"] is False
    assert "widens" in forward.json()["reason"]
    waiting = forward.json()["draft"]
    assert waiting["origin"] == "rollback" and waiting["source"] == "2"
    bob.post(f"/v1/admin/drafts/{waiting['id']}/approve", json={"digest": waiting["digest"]})
    done = alice.post(f"/v1/admin/drafts/{waiting['id']}/activate")
    assert done.status_code == 200 and done.json()["number"] == 4
    kinds = [
        e["kind"]
        for e in alice.get("/v1/admin/audit", params={"audience": "peer/acme"}).json()["events"]
    ]
    assert kinds.count("rollback") == 2 and "rejected" in kinds


def test_repeating_a_rollback_returns_the_draft_it_made_instead_of_another(
    fresh: RunningGateway, clients: Clients
) -> None:
    alice, bob = clients.internal(ALICE), clients.internal(BOB)
    d = draft(alice, policy_text("peer-acme.yaml", widen))
    bob.post(f"/v1/admin/drafts/{d['id']}/approve", json={"digest": d["digest"]})
    assert alice.post(f"/v1/admin/drafts/{d['id']}/activate").status_code == 200
    assert alice.post("/v1/admin/policies/peer/acme/rollback", json={"to": 1}).status_code == 200

    first = alice.post("/v1/admin/policies/peer/acme/rollback", json={"to": 2})
    assert first.status_code == 202 and first.json()["existing_draft"] is False
    waiting = first.json()["draft"]
    # by someone else, and again: the same open draft, said to be the same, and no new one
    for who in (bob, alice):
        again = who.post("/v1/admin/policies/peer/acme/rollback", json={"to": 2})
        assert again.status_code == 202, again.text
        assert again.json()["existing_draft"] is True
        assert again.json()["draft"]["id"] == waiting["id"]
        assert again.json()["draft"]["authors"] == [ALICE]  # not rewritten by the repeat
    open_drafts = alice.get("/v1/admin/drafts", params={"audience": "peer/acme"}).json()
    assert [x["id"] for x in open_drafts] == [waiting["id"]]

    # once approved, repeating the rollback is what activates the draft that waited
    approved = bob.post(f"/v1/admin/drafts/{waiting['id']}/approve",
                        json={"digest": waiting["digest"]})  # fmt: skip
    assert approved.status_code == 200
    done = alice.post("/v1/admin/policies/peer/acme/rollback", json={"to": 2})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["activated"] is True and body["existing_draft"] is True
    assert body["version"]["number"] == 4 and body["version"]["approver"] == BOB
    assert body["version"]["draft"] == waiting["id"]
    assert alice.get("/v1/admin/drafts", params={"audience": "peer/acme"}).json() == []
    # a rollback made after that is a new draft again (the old one is no longer open)
    fresh_back = alice.post("/v1/admin/policies/peer/acme/rollback", json={"to": 1})
    assert fresh_back.status_code == 200 and fresh_back.json()["existing_draft"] is False
    assert fresh_back.json()["draft"]["id"] != waiting["id"]


def test_list_and_get_show_active_versions_and_drafts(clients: Clients) -> None:
    alice = clients.internal(ALICE)
    d = draft(alice, policy_text("peer-globalnet.yaml", narrow))
    listed = {p["audience"]: p for p in alice.get("/v1/admin/policies").json()}
    assert set(listed) == {
        "peer/acme",
        "peer/globalnet",
        "peer/northwind",
        "customer/globex",
        "customer/*",
    }
    assert [x["id"] for x in listed["peer/globalnet"]["drafts"]] == [d["id"]]
    one = alice.get("/v1/admin/policies/peer/globalnet").json()
    assert one["active"]["number"] == 1 and "audience: peer/globalnet" in one["active"]["text"]
    star = alice.get("/v1/admin/policies/customer/*").json()
    assert star["audience"] == "customer/*"
    assert alice.get("/v1/admin/policies/peer/nobody").status_code == 404
    assert alice.get("/v1/admin/drafts/9999").status_code == 404


def test_validate_names_file_line_column_and_what_to_do(clients: Clients) -> None:
    alice = clients.internal(ALICE)
    text = "audience: peer/acme\ndisclose:\n  interconnect:\n    fields: [id, colour]\n"
    body = alice.post("/v1/admin/policies/validate", json={"text": text}).json()
    assert body["valid"] is False
    (problem,) = body["problems"]
    assert problem["where"] == "<draft>:4:18"
    assert "disclose.interconnect.fields[1]" in problem["message"]
    assert "'colour' is not allowed here; expected" in problem["message"]
    raw = alice.post(
        "/v1/admin/policies/validate",
        content=policy_text("peer-acme.yaml"),
        headers={"content-type": "application/yaml"},
    )
    assert raw.json()["valid"] is True and raw.json()["activation_problems"] == []
    stranger = "audience: peer/nobody\ndisclose:\n  interconnect: {fields: [id]}\n"
    unknown = alice.post("/v1/admin/policies/validate", json={"text": stranger}).json()
    assert unknown["valid"] is True
    assert "names no registered principal" in unknown["activation_problems"][0]["message"]


def test_open_drafts_are_listed_and_a_withdrawn_one_can_no_longer_be_activated(
    clients: Clients,
) -> None:
    alice, bob = clients.internal(ALICE), clients.internal(BOB)
    first = draft(alice, policy_text("peer-acme.yaml", widen))
    second = draft(bob, policy_text("peer-globalnet.yaml", narrow))
    listed = alice.get("/v1/admin/drafts")
    assert listed.status_code == 200
    assert {d["id"] for d in listed.json()} >= {first["id"], second["id"]}
    mine = alice.get("/v1/admin/drafts", params={"audience": "peer/acme"}).json()
    assert {d["audience"] for d in mine} == {"peer/acme"}
    # another staff member withdraws it: nothing was disclosed by a draft, so anyone may
    withdrawn = bob.delete(f"/v1/admin/drafts/{first['id']}")
    assert withdrawn.status_code == 200 and withdrawn.json()["state"] == "withdrawn"
    assert first["id"] not in {d["id"] for d in alice.get("/v1/admin/drafts").json()}
    refused = alice.post(f"/v1/admin/drafts/{first['id']}/activate",
                         json={"digest": first["digest"]})  # fmt: skip
    assert refused.status_code == 409
    assert bob.delete(f"/v1/admin/drafts/{first['id']}").status_code == 409  # not open
    assert clients.internal("source/feeder").get("/v1/admin/drafts").status_code == 403
    events = alice.get("/v1/admin/audit", params={"kind": "draft"}).json()["events"]
    assert any((e.get("detail") or {}).get("action") == "withdraw" for e in events)
