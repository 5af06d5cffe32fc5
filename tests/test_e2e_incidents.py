"""Incidents and planned work as customers are told them: written by staff and sources, checked
by the leak guard at the door and on the way out, merged with what the network says."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.demo.network import DemoData
from tests.conftest import JSON_BODY, SOURCE, STAFF, RunningGateway
from tests.policyapi import Clients


def _customer_of(demo: DemoData, service_id: str) -> str:
    return next(s["customer"] for s in demo.services["services"] if s["id"] == service_id)


def _committed(server: RunningGateway, response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    server.call(server.gateway.refresher.wait_for(body["revision"]))
    return body


def _one(items: list[dict[str, Any]], title: str) -> dict[str, Any]:
    (hit,) = [i for i in items if i.get("title") == title]
    return hit


def test_staff_declare_update_and_resolve_an_incident_customers_follow_its_timeline(
    fresh: RunningGateway, clients: Clients, demo: DemoData
) -> None:
    service = demo.situation.maintenance  # quiet otherwise: no alarm of its own
    customer = f"customer/{_customer_of(demo, service)}"
    staff, mine = clients.internal(STAFF), clients.public(customer)
    declared = _committed(fresh, staff.post("/v1/admin/incidents", headers=JSON_BODY, json={
        "services": [service], "title": "Slow web browsing", "impact": "degraded",
        "status": "investigating", "text": "Some pages load slowly; we are looking into it.",
    }))  # fmt: skip
    ident = declared["id"]
    seen = _one(mine.get("/v1/incidents").json()["items"], "Slow web browsing")
    assert (seen["status"], seen["state"], seen["impact"]) == (
        "investigating",
        "active",
        "degraded",
    )
    assert [(u["status"], u["text"]) for u in seen["updates"]] == [
        ("investigating", "Some pages load slowly; we are looking into it.")
    ]
    assert seen["services"] == [service] and seen["id"] != ident  # a pseudonym, not our id
    for status, text in (("identified", "A congested link is the cause."),
                         ("resolved", "Capacity added; pages load normally.")):  # fmt: skip
        _committed(fresh, staff.post(f"/v1/admin/incidents/{ident}/updates", headers=JSON_BODY,
                                     json={"status": status, "text": text}))  # fmt: skip
    done = _one(mine.get("/v1/incidents").json()["items"], "Slow web browsing")
    assert [u["status"] for u in done["updates"]] == ["investigating", "identified", "resolved"]
    stamps = [u["at"] for u in done["updates"]]
    # an end is coarsened upwards (the policy's minutes), a step's time downwards
    assert stamps == sorted(stamps) and stamps[-1] <= done["cleared_at"]
    assert (done["status"], done["state"]) == ("resolved", "resolved")
    summary = mine.get("/v1/summary").json()["summary"]["incidents"]
    listed = mine.get("/v1/incidents").json()["items"]
    assert summary == {
        "active": sum(i["state"] == "active" for i in listed),
        "resolved": sum(i["state"] == "resolved" for i in listed),
    }
    # nobody else is told; the trail says who wrote what
    for other in demo.customers:
        if f"customer/{other}" != customer:
            assert b"Slow web browsing" not in clients.public(f"customer/{other}").get(
                "/v1/incidents").content  # fmt: skip
    trail = staff.get("/v1/admin/audit", params={"kind": "incident-update"}).json()["events"]
    assert [e["detail"]["status"] for e in trail] == ["resolved", "identified"]
    assert {e["principal"] for e in trail} == {STAFF}
    shown = staff.get(f"/v1/admin/incidents/{ident}").json()
    assert shown["status"] == "resolved" and len(shown["updates"]) == 3


def test_text_naming_a_router_an_address_or_a_site_is_refused_and_nothing_changes(
    fresh: RunningGateway, clients: Clients, demo: DemoData
) -> None:
    staff, source = clients.internal(STAFF), clients.internal(SOURCE)
    (first, *_) = demo.incidents["incidents"]
    customer = f"customer/{_customer_of(demo, demo.situation.outage)}"
    before = clients.public(customer).get("/v1/incidents").headers["etag"]
    revision = fresh.gateway.store.snapshot.revision
    router = sorted(demo.secrets.node_names)[0]
    refused = staff.post(f"/v1/admin/incidents/{first['id']}/updates", headers=JSON_BODY,
                         json={"status": "identified", "text": f"{router} lost power"})  # fmt: skip
    assert refused.status_code == 422
    (problem,) = refused.json()["error"]["problems"]
    assert problem["where"] == "$.text" and "router name" in problem["message"]
    address = sorted(demo.secrets.addresses)[0]
    site = sorted(s for s in demo.secrets.sites if " " in s)[0]
    doc = {
        "incidents": [
            {
                "id": "INC-X",
                "title": f"Trouble at {site}",
                "updates": [
                    {
                        "at": "2026-01-01T00:00:00Z",
                        "status": "investigating",
                        "text": f"ping {address}",
                    }
                ],
            }
        ]
    }
    ingested = source.post("/v1/ingest/incidents", headers=JSON_BODY, json=doc)
    assert ingested.status_code == 422
    assert {p["where"] for p in ingested.json()["error"]["problems"]} == {
        "$.incidents[0].title",
        "$.incidents[0].updates[0].text",
    }
    upgrade = next(w for w in demo.maintenance["maintenance"] if "updates" in w)
    work = staff.post(f"/v1/admin/maintenance/{upgrade['id']}/updates", headers=JSON_BODY,
                      json={"status": "verifying", "text": f"rebooting {router}"})  # fmt: skip
    assert work.status_code == 422
    assert fresh.gateway.store.snapshot.revision == revision  # nothing was stored
    assert "INC-X" not in fresh.gateway.store.snapshot.incidents
    assert clients.public(customer).get("/v1/incidents").headers["etag"] == before


def test_text_that_passes_the_door_but_names_another_customer_is_withheld(
    fresh: RunningGateway, clients: Clients, demo: DemoData
) -> None:
    """The door lets a customer's own service names through (its views show them); the guard
    on the way out knows the audience, and withholds a view naming someone else's."""
    service = demo.situation.maintenance
    customer = _customer_of(demo, service)
    other = next(s["name"] for s in demo.services["services"] if s["customer"] != customer)
    mine = clients.public(f"customer/{customer}")
    before = mine.get("/v1/incidents")
    _committed(fresh, clients.internal(STAFF).post("/v1/admin/incidents", headers=JSON_BODY, json={
        "services": [service], "title": "Shared fault", "status": "investigating",
        "text": f"Also affects {other}.",
    }))  # fmt: skip
    after = mine.get("/v1/incidents")
    assert after.status_code == 200 and after.headers["etag"] == before.headers["etag"]
    assert other.encode() not in after.content
    leak = fresh.gateway.leaks[-1]
    assert (leak.audience, leak.view) == (f"customer/{customer}", "incidents")
    assert "service_name" in leak.classes


def test_an_incident_the_alarms_tell_of_gets_the_policy_title_and_a_declared_one_absorbs_it(
    fresh: RunningGateway, clients: Clients, demo: DemoData
) -> None:
    outage = demo.situation.outage
    customer = clients.public(f"customer/{_customer_of(demo, outage)}")
    items = customer.get("/v1/incidents").json()["items"]
    # the demo's NOC declared the outage with the alarm behind it: told once, as declared
    on_outage = [i for i in items if outage in i["services"] and i["state"] == "active"]
    (declared,) = [i for i in on_outage if i["severity"] == "critical"]
    assert declared["title"] == "Internet access down at one of your sites"
    assert [u["status"] for u in declared["updates"]] == [
        "investigating",  # the alarm, first
        "investigating",  # the NOC's first word
        "identified",
    ]
    assert declared["updates"][0]["text"] is None and declared["status"] == "identified"
    # a new alarm nobody writes about: its incident is titled by the policy's template
    service = next(s for s in demo.services["services"] if s["id"] == outage)
    port = service["endpoints"][0]
    alarm = {"id": "NMS-TEST-1", "resource": port, "severity": "major",
             "raised_at": "2026-01-01T00:00:00Z", "text": f"CRC on {port['node']}"}  # fmt: skip
    response = clients.internal(SOURCE).post("/v1/ingest/alarms", headers=JSON_BODY,
                                             json={"alarms": [alarm]})  # fmt: skip
    _committed(fresh, response)
    body = customer.get("/v1/incidents").content
    titles = [i["title"] for i in msgspec.json.decode(body)["items"]]
    assert f"{service['name']} degraded" in titles  # customer-globex.yaml: "{service} {impact}"
    assert b"CRC on" not in body and port["node"].encode() not in body


def test_planned_work_goes_verifying_then_completed_and_stays_listed(
    fresh: RunningGateway, clients: Clients, demo: DemoData
) -> None:
    customer = clients.public(f"customer/{_customer_of(demo, demo.situation.maintenance)}")
    (upgrade,) = [i for i in customer.get("/v1/maintenance").json()["items"]
                  if i["status"] == "verifying"]  # fmt: skip
    assert [u["status"] for u in upgrade["updates"]] == ["in-progress", "in-progress", "verifying"]
    window = next(w for w in demo.maintenance["maintenance"] if "updates" in w and
                  w["updates"][-1]["status"] == "verifying")  # fmt: skip
    staff = clients.internal(STAFF)
    said = {"status": "completed", "text": "All done; thanks for your patience."}
    path = f"/v1/admin/maintenance/{window['id']}/updates"
    done = _committed(fresh, staff.post(path, headers=JSON_BODY, json=said))
    assert done["status"] == "completed"
    (now,) = [
        i for i in customer.get("/v1/maintenance").json()["items"] if i["id"] == upgrade["id"]
    ]
    assert now["status"] == "completed"  # still listed: the policy keeps 72 hours of history
    assert now["updates"][-1] == {"at": now["updates"][-1]["at"], "status": "completed",
                                  "text": "All done; thanks for your patience."}  # fmt: skip
    # the summary counts as the list says: verifying was under way, completed is not
    listed = [i["status"] for i in customer.get("/v1/maintenance").json()["items"]]
    counts = customer.get("/v1/summary").json()["summary"]["maintenance"]
    assert counts == {
        "in_progress": listed.count("in-progress") + listed.count("verifying"),
        "scheduled": listed.count("scheduled"),
    }
    stored = fresh.gateway.store.snapshot.maintenance[window["id"]]
    assert not stored.active_at(stored.start)  # completed: no longer maintenance for status
    missing = staff.post("/v1/admin/maintenance/CHG-NONE/updates", headers=JSON_BODY,
                         json={"status": "completed"})  # fmt: skip
    assert missing.status_code == 404


def test_an_incident_change_re_renders_only_the_customers_it_concerns(
    fresh: RunningGateway, clients: Clients, demo: DemoData
) -> None:
    service = demo.situation.maintenance
    customer = f"customer/{_customer_of(demo, service)}"
    renders = fresh.gateway.refresher.renders
    before = dict(renders)
    _committed(fresh, clients.internal(STAFF).post("/v1/admin/incidents", headers=JSON_BODY,
               json={"services": [service], "status": "investigating"}))  # fmt: skip
    changed = {a for a in renders if renders[a] != before.get(a, 0)}
    assert changed == {customer}
    assert renders[customer] - before[customer] == 2  # its incidents and its summary
