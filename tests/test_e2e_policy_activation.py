"""Activation is atomic for readers, and every disclosure lands in the audit (in-process)."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

from gateway.demo.network import DemoData
from tests.conftest import Pki, RunningGateway
from tests.policyapi import (
    ALICE,
    BOB,
    Clients,
    draft,
    policy_text,
    version_of,
    widen,
)
from tests.waiting import wait_until


def test_readers_during_activation_see_the_old_or_the_new_version_never_a_mix(
    fresh: RunningGateway, clients: Clients, pki: Pki
) -> None:
    alice, bob = clients.internal(ALICE), clients.internal(BOB)
    old = version_of(clients, "peer/acme", "alarms")
    d = draft(alice, policy_text("peer-acme.yaml", widen))
    bob.post(f"/v1/admin/drafts/{d['id']}/approve", json={"digest": d["digest"]})
    stop = threading.Event()
    sequences: list[list[str]] = []
    seen_by: list[list[str]] = [[], []]  # what each HTTP reader has seen so far
    mixes: list[set[str]] = []
    snapshots = [0]

    def poll_http(seen: list[str]) -> None:
        with fresh.client("public", "peer/acme", pki) as c:
            while not stop.is_set():
                for view in c.get("/v1/views").json()["views"]:
                    seen.append(c.get(view["href"]).headers["demarc-policy-version"])
        sequences.append(seen)

    def poll_cache() -> None:
        while not stop.is_set():
            views = fresh.gateway.cache.get("peer/acme")
            versions = {v.policy_version for v in views.views.values()}
            versions |= {v.policy_version for v in views.items.values()}
            snapshots[0] += 1
            if len(versions) != 1:
                mixes.append(versions)

    threads = [threading.Thread(target=poll_http, args=(seen,)) for seen in seen_by]
    threads.append(threading.Thread(target=poll_cache))
    for t in threads:
        t.start()
    try:
        # activate once every reader is reading; stop once each saw the new version a few
        # times and the cache poller took many more snapshots after the switch
        wait_until(lambda: all(len(s) >= 3 for s in seen_by) and snapshots[0] > 100, "readers")
        response = alice.post(f"/v1/admin/drafts/{d['id']}/activate")
        fresh.call(fresh.gateway.refresher.refresh())
        after = snapshots[0]
        wait_until(
            lambda: all(s.count(d["version"]) >= 3 for s in seen_by) and snapshots[0] > after + 100,
            "every reader to see the new version",
        )
    finally:
        stop.set()
        for t in threads:
            t.join(10)

    assert response.status_code == 200, response.text
    assert not mixes, f"an audience's views mixed policy versions: {mixes[:3]}"
    assert snapshots[0] > 100 and len(sequences) == 2, "both readers ran to the end"
    for seen in sequences:
        assert set(seen) == {old, d["version"]}, "each reader saw the old, then the new version"
        first_new = seen.index(d["version"])
        assert set(seen[first_new:]) == {d["version"]}, "never the old one again after the new"


def test_each_view_sent_is_recorded_with_the_digest_of_its_bytes(
    clients: Clients, demo: DemoData
) -> None:
    acme = clients.public("peer/acme")
    sent = acme.get("/v1/interconnects")
    again = acme.get("/v1/interconnects", headers={"If-None-Match": sent.headers["etag"]})
    assert again.status_code == 304  # nothing sent: no disclosure
    customer = demo.services["services"][0]["customer"]
    service = demo.services["services"][0]["id"]
    one = clients.public(f"customer/{customer}").get(f"/v1/services/{service}")
    assert one.status_code == 200

    staff = clients.internal(ALICE)
    page = staff.get("/v1/admin/audit", params={"kind": "disclosure"}).json()
    by_principal = {e["principal"]: e for e in page["events"]}
    assert len(page["events"]) == 2 and page["disclosures_dropped"] == 0
    event = by_principal["peer/acme"]
    assert event["view"] == "interconnects" and event["audience"] == "peer/acme"
    assert event["policy_version"] == sent.headers["demarc-policy-version"]
    assert event["revision"] == sent.json()["revision"]
    assert event["digest"] == sent.headers["etag"].strip('"')
    assert event["digest"] == hashlib.sha256(sent.content).hexdigest()[:32]
    assert by_principal[f"customer/{customer}"]["view"] == f"services/{service}"


def test_audit_filters_and_pages_with_a_cursor(clients: Clients) -> None:
    acme = clients.public("peer/acme")
    for _ in range(12):
        assert acme.get("/v1/alarms").status_code == 200
    staff = clients.internal(ALICE)
    draft(staff, policy_text("peer-acme.yaml", widen))

    seen: list[int] = []
    cursor: str | None = None
    while True:
        params = {"principal": "peer/acme", "limit": 5, **({"cursor": cursor} if cursor else {})}
        page = staff.get("/v1/admin/audit", params=params).json()
        seen += [e["id"] for e in page["events"]]
        assert all(e["principal"] == "peer/acme" for e in page["events"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 12 and seen == sorted(seen, reverse=True)  # newest first, no repeats

    drafts = staff.get("/v1/admin/audit", params={"kind": "draft", "audience": "peer/acme"})
    (event,) = drafts.json()["events"]
    assert event["principal"] == ALICE and event["detail"]["action"] == "create"
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert staff.get("/v1/admin/audit", params={"since": later}).json()["events"] == []
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    seeded = staff.get("/v1/admin/audit", params={"until": earlier}).json()["events"]
    assert seeded == []
    # a bad parameter is 422, like a bad body, naming the parameter (issue 13: it was 400)
    too_many = staff.get("/v1/admin/audit", params={"limit": 1001})
    assert too_many.status_code == 422
    assert [p["where"] for p in too_many.json()["error"]["problems"]] == ["query.limit"]
    assert staff.get("/v1/admin/audit", params={"cursor": "x1"}).status_code == 422
    assert clients.internal("source/feeder").get("/v1/admin/audit").status_code == 403
