"""Every bad policy change is refused over real TLS, and no audience is served a different byte."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import JSON_BODY, RunningGateway
from tests.policyapi import (
    ALICE,
    BOB,
    Clients,
    draft,
    narrow,
    policy_text,
    served_bytes,
    widen,
    widen_more,
)

ACME = "peer-acme.yaml"


@dataclass
class Staff:
    alice: httpx.Client
    bob: httpx.Client
    source: httpx.Client


@dataclass(frozen=True)
class Form:
    name: str
    attempt: Callable[[Staff, Any], httpx.Response]
    status: int
    code: str | None
    says: str
    setup: Callable[[Staff], Any] = lambda s: None


def _text(s: Staff, text: str) -> httpx.Response:
    return s.alice.post("/v1/admin/drafts", json={"text": text})


def _acme(edit: Callable[[dict[str, Any]], None]) -> str:
    return policy_text(ACME, edit)


def _set(kind: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc["disclose"][kind].__setitem__(key, value)


def _approved_then_changed(s: Staff) -> dict[str, Any]:
    d = draft(s.alice, _acme(widen))
    approved = s.bob.post(f"/v1/admin/drafts/{d['id']}/approve", json={"digest": d["digest"]})
    assert approved.is_success
    s.alice.put(f"/v1/admin/drafts/{d['id']}", json={"text": _acme(widen_more)}).raise_for_status()
    return d


def _stale_widening(s: Staff) -> dict[str, Any]:
    d = draft(s.alice, _acme(widen))
    other = draft(s.bob, _acme(narrow))
    s.bob.post(f"/v1/admin/drafts/{other['id']}/activate").raise_for_status()
    return d


def _edited_by_bob(s: Staff) -> dict[str, Any]:
    d = draft(s.alice, _acme(widen))
    s.bob.put(f"/v1/admin/drafts/{d['id']}", json={"text": _acme(widen_more)}).raise_for_status()
    return d


def _digest_reviewed_then_changed(s: Staff) -> dict[str, Any]:
    d = draft(s.alice, _acme(widen))
    s.alice.put(f"/v1/admin/drafts/{d['id']}", json={"text": _acme(widen_more)}).raise_for_status()
    return d


def _activated(s: Staff) -> dict[str, Any]:
    d = draft(s.alice, _acme(narrow))
    s.alice.post(f"/v1/admin/drafts/{d['id']}/activate").raise_for_status()
    return d


def _widened_then_rolled_back(s: Staff) -> None:
    d = draft(s.alice, _acme(widen))
    s.bob.post(f"/v1/admin/drafts/{d['id']}/approve", json={"digest": d["digest"]})
    s.alice.post(f"/v1/admin/drafts/{d['id']}/activate").raise_for_status()
    s.alice.post("/v1/admin/policies/peer/acme/rollback", json={"to": 1}).raise_for_status()


def _activate(d: dict[str, Any], s: Staff, digest: str | None = None) -> httpx.Response:
    return s.alice.post(f"/v1/admin/drafts/{d['id']}/activate", json={"digest": digest})


NEW_CUSTOMER = "audience: customer/initech\ndisclose:\n  service:\n    fields: [id, status]\n"
STRANGER = "audience: peer/nobody\ndisclose:\n  interconnect:\n    fields: [id, status]\n"
FORMS = [
    Form("yaml-syntax", lambda s, _: _text(s, "audience: peer/acme\ndisclose: {a: [1, 2}\n"),
         422, "invalid_policy", "YAML syntax error"),
    Form("unknown-key", lambda s, _: _text(s, _acme(_set("interconnect", "colour", "blue"))),
         422, "invalid_policy", "unknown key (check its spelling"),
    Form("wrong-type", lambda s, _: _text(s, _acme(_set("alarm", "history_hours", "a day"))),
         422, "invalid_policy", "disclose.alarm.history_hours"),
    Form("value-not-allowed", lambda s, _: _text(s, _acme(_set("alarm", "time_precision", "week"))),
         422, "invalid_policy", "'week' is not allowed here; expected"),
    Form("duplicate-key", lambda s, _: _text(s, policy_text(ACME) + "audience: peer/acme\n"),
         422, "invalid_policy", "duplicate key 'audience'"),
    Form("template-names-undisclosed-field",
         lambda s, _: _text(s, _acme(_set("alarm", "text", {"template": "{specific_problem}"}))),
         422, "invalid_policy", "which is not a disclosed field of this kind; use one of"),
    Form("not-a-policy-body",
         lambda s, _: s.alice.post("/v1/admin/drafts", content=b"{oops", headers=JSON_BODY),
         422, "invalid_input", "Content-Type: application/yaml"),
    Form("unknown-audience", lambda s, d: _activate(d, s), 422, "invalid_policy",
         "names no registered principal: add it to the principals file",
         setup=lambda s: draft(s.alice, STRANGER)),
    Form("audience-changed-on-update",
         lambda s, d: s.alice.put(f"/v1/admin/drafts/{d['id']}",
                                  json={"text": policy_text("peer-globalnet.yaml")}),
         422, "invalid_policy", "a draft's audience cannot change",
         setup=lambda s: draft(s.alice, _acme(narrow))),
    Form("widening-without-approval", lambda s, d: _activate(d, s), 409, "approval_required",
         "widens disclosure (alarm fields: +specific_problem",
         setup=lambda s: draft(s.alice, _acme(widen))),
    Form("new-audience-without-approval", lambda s, d: _activate(d, s), 409, "approval_required",
         "a first policy for customer/initech (it had none)",
         setup=lambda s: draft(s.alice, NEW_CUSTOMER)),
    Form("self-approval",
         lambda s, d: s.alice.post(f"/v1/admin/drafts/{d['id']}/approve",
                                   json={"digest": d["digest"]}),
         403, "self_approval", "cannot approve it", setup=lambda s: draft(s.alice, _acme(widen))),
    Form("approval-by-a-co-author",
         lambda s, d: s.bob.post(f"/v1/admin/drafts/{d['id']}/approve",
                                 json={"digest": s.bob.get(f"/v1/admin/drafts/{d['id']}")
                                       .json()["digest"]}),
         403, "self_approval", "staff/bob wrote draft", setup=_edited_by_bob),
    Form("approving-a-stale-draft",
         lambda s, d: s.bob.post(f"/v1/admin/drafts/{d['id']}/approve",
                                 json={"digest": d["digest"]}),
         409, "stale_draft", "changed since draft", setup=_stale_widening),
    Form("approving-a-version-not-reviewed",
         lambda s, d: s.bob.post(f"/v1/admin/drafts/{d['id']}/approve",
                                 json={"digest": d["digest"]}),
         409, "stale_draft", "as you reviewed it", setup=_digest_reviewed_then_changed),
    Form("activating-after-a-change-since-approval", lambda s, d: _activate(d, s), 409,
         "approval_required", "changed after staff/bob approved it",
         setup=_approved_then_changed),
    Form("activating-a-stale-draft", lambda s, d: _activate(d, s), 409, "stale_draft",
         "PUT the draft again to rebase it", setup=_stale_widening),
    Form("activating-another-digest", lambda s, d: _activate(d, s, "0" * 64), 409,
         "stale_draft", "as you reviewed it", setup=lambda s: draft(s.alice, _acme(narrow))),
    Form("activating-twice", lambda s, d: _activate(d, s), 409, "conflict",
         "already activated", setup=_activated),
    Form("widening-rollback-without-approval",
         lambda s, _: s.alice.post("/v1/admin/policies/peer/acme/rollback", json={"to": 2}),
         202, None, "widens disclosure", setup=_widened_then_rolled_back),
    Form("not-staff", lambda s, _: s.source.post("/v1/admin/drafts", json={"text": NEW_CUSTOMER}),
         403, "forbidden", "only staff"),
]  # fmt: skip


@pytest.mark.parametrize("form", FORMS, ids=[f.name for f in FORMS])
def test_bad_policy_change_is_refused_and_every_served_byte_stays(
    form: Form, fresh: RunningGateway, clients: Clients
) -> None:
    staff = Staff(clients.internal(ALICE), clients.internal(BOB), clients.internal("source/feeder"))
    state = form.setup(staff)
    history = staff.alice.get("/v1/admin/policies").json()
    before = served_bytes(fresh, clients)

    response = form.attempt(staff, state)

    assert response.status_code == form.status, response.text
    if form.code is not None:
        assert response.json()["error"]["code"] == form.code
    else:
        assert response.json()["activated"] is False
    assert form.says in response.text
    assert "Traceback" not in response.text and "/work/" not in response.text
    assert served_bytes(fresh, clients) == before
    after = staff.alice.get("/v1/admin/policies").json()
    assert [p["active"] for p in after] == [p["active"] for p in history]


def test_every_refused_activation_is_in_the_audit_trail(clients: Clients) -> None:
    alice = clients.internal(ALICE)
    d = draft(alice, _acme(widen))
    assert alice.post(f"/v1/admin/drafts/{d['id']}/activate").status_code == 409
    events = alice.get("/v1/admin/audit", params={"kind": "rejected"}).json()["events"]
    (event,) = events
    assert event["principal"] == ALICE and event["audience"] == "peer/acme"
    assert event["detail"]["action"] == "activate" and event["detail"]["draft"] == d["id"]
    assert "widens disclosure" in event["detail"]["reason"]
    assert event["digest"] == d["digest"]
