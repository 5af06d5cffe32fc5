"""Random draft / approve / activate / rollback sequences by random staff keep every invariant."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from gateway.disclosure import parse_policy
from gateway.disclosure.diff import is_widening, policy_changes
from gateway.errors import (
    ApprovalRequired,
    DemarcError,
    Forbidden,
    NotFound,
    PolicyError,
    SelfApproval,
    StaleDraft,
)
from gateway.policy.store import VersionRecord
from tests.policyharness import POLICIES, STAFF, LocalGateway, local_settings

FILES = {"peer/acme": "peer-acme.yaml", "peer/globalnet": "peer-globalnet.yaml",
         "customer/*": "customers.yaml"}  # fmt: skip
INVALID = "audience: peer/acme\ndisclose:\n  interconnect: {fields: [id], colour: blue}\n"


def _variant(audience: str, change: Any) -> str:
    doc = yaml.safe_load((POLICIES / FILES[audience]).read_text())
    change(doc["disclose"])
    return yaml.safe_dump(doc, sort_keys=False)


def _drop(kind: str) -> Any:
    return lambda d: d.pop(kind)


def _set(kind: str, key: str, value: Any) -> Any:
    return lambda d: d[kind].__setitem__(key, value)


def _fields(kind: str, add: list[str] = [], remove: list[str] = []) -> Any:  # noqa: B006
    def change(d: dict[str, Any]) -> None:
        d[kind]["fields"] = [f for f in d[kind]["fields"] if f not in remove] + add

    return change


VARIANTS: dict[str, list[str]] = {
    "peer/acme": [
        (POLICIES / FILES["peer/acme"]).read_text(),
        _variant("peer/acme", _fields("interconnect", remove=["loss_pct", "updated_at"])),
        _variant("peer/acme", _drop("maintenance")),
        _variant("peer/acme", _fields("alarm", add=["specific_problem"])),
        _variant("peer/acme", _set("alarm", "history_hours", 72)),
        _variant("peer/acme", _set("interconnect", "identifiers", "pseudonym")),
    ],
    "peer/globalnet": [
        (POLICIES / FILES["peer/globalnet"]).read_text(),
        _variant("peer/globalnet", _fields("alarm", add=["probable_cause"])),
        _variant("peer/globalnet", _drop("alarm")),
        _variant("peer/globalnet", _set("interconnect", "identifiers", "shared")),
    ],
    "customer/*": [
        (POLICIES / FILES["customer/*"]).read_text(),
        # the summary counts incidents only while an incident rule discloses them
        _variant(
            "customer/*", lambda d: (d.pop("incident"), _fields("summary", remove=["incidents"])(d))
        ),
        _variant("customer/*", _fields("incident", add=["severity"])),
        _variant("customer/*", _set("maintenance", "text", "keep")),
    ],
}
PRINCIPALS = st.sampled_from([*STAFF, "source/feeder"])
RUNS: dict[str, int] = {"examples": 0, "steps": 0, "activated": 0, "refused": 0}


class PolicyLifecycleMachine(RuleBasedStateMachine):
    drafts = Bundle("drafts")

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="demarc-sm-"))
        # the leak guard is off: it is most of each render's cost and checks nothing here
        self.local = LocalGateway(local_settings(self.tmp, leak_guard=False)).start()
        self.lifecycle = self.local.gateway.lifecycle
        self.db = self.lifecycle.db
        self.history: list[VersionRecord] = []
        self.active: dict[str, str] = {}  # audience key → digest the model expects to serve
        self.activated: set[tuple[str, str]] = set()  # (audience key, digest) validly activated
        self.approvals: set[tuple[int, str, str]] = set()  # (draft, digest, approver) accepted
        RUNS["examples"] += 1

    def teardown(self) -> None:
        self.local.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    @initialize()
    def seeded(self) -> None:
        for v in self.db.history():
            self.active[v.audience] = v.digest
            self.activated.add((v.audience, v.digest))
        assert len(self.active) == 5, "the five sample files seed version 1 of their audiences"

    def _run(self, coro: Any) -> Any:
        RUNS["steps"] += 1
        return self.local.run(coro)

    @rule(target=drafts, who=PRINCIPALS, audience=st.sampled_from(sorted(VARIANTS)),
          variant=st.integers(0, 6))  # fmt: skip
    def draft(self, who: str, audience: str, variant: int) -> Any:
        texts = VARIANTS[audience]
        text = INVALID if variant >= len(texts) else texts[variant]
        try:
            draft = self._run(self.lifecycle.create_draft(who, text))
        except Forbidden:
            assert not who.startswith("staff/")
            return multiple()
        except PolicyError:
            assert text is INVALID
            return multiple()
        assert who.startswith("staff/") and text is not INVALID
        return draft.id

    @rule(who=PRINCIPALS, draft=drafts, variant=st.integers(0, 6))
    def edit(self, who: str, draft: int, variant: int) -> None:
        record = self.db.draft(draft)
        assert record is not None
        texts = VARIANTS[record.audience]
        text = INVALID if variant >= len(texts) else texts[variant]
        try:
            self._run(self.lifecycle.update_draft(who, draft, text))
        except DemarcError:
            RUNS["refused"] += 1

    @rule(who=PRINCIPALS, draft=drafts, reviewed_current=st.booleans())
    def approve(self, who: str, draft: int, reviewed_current: bool) -> None:
        record = self.db.draft(draft)
        assert record is not None
        digest = record.digest if reviewed_current else "0" * 64
        try:
            self._run(self.lifecycle.approve(who, draft, digest))
        except (SelfApproval, StaleDraft, Forbidden):
            RUNS["refused"] += 1
            return
        except DemarcError:  # already activated
            assert record.state != "open"
            return
        assert reviewed_current and who.startswith("staff/") and who not in record.authors
        self.approvals.add((draft, record.digest, who))

    @rule(who=PRINCIPALS, draft=drafts)
    def activate(self, who: str, draft: int) -> None:
        record = self.db.draft(draft)
        assert record is not None
        try:
            version = self._run(self.lifecycle.activate(who, draft))
        except (ApprovalRequired, StaleDraft, Forbidden, PolicyError, DemarcError):
            RUNS["refused"] += 1
            return
        self._activated(version)

    @rule(who=PRINCIPALS, audience=st.sampled_from(sorted(VARIANTS)), number=st.integers(1, 4))
    def rollback(self, who: str, audience: str, number: int) -> None:
        try:
            result = self._run(self.lifecycle.rollback(who, audience, number))
        except (NotFound, Forbidden, StaleDraft, PolicyError, DemarcError):
            RUNS["refused"] += 1
            return
        if result.version is not None:
            self._activated(result.version)

    def _activated(self, version: VersionRecord) -> None:
        RUNS["activated"] += 1
        self.active[version.audience] = version.digest
        self.activated.add((version.audience, version.digest))

    @rule()
    def read_views(self) -> None:
        self._check_served()

    def _check_served(self) -> None:
        for audience, views in self.local.served().items():
            versions = {v[0] for v in views.values()}
            key = audience if audience in self.active else "customer/*"
            if key not in self.active:  # no policy serves it: default deny
                assert not views
                continue
            assert versions <= {self.active[key][:12]}, (audience, versions)
            assert (key, self.active[key]) in self.activated

    @invariant()
    def served_version_was_validly_activated(self) -> None:
        served = {p.audience: p.loaded.digest for p in self.local.gateway.policies}
        assert served == self.active
        assert all((k, d) in self.activated for k, d in served.items())

    @invariant()
    def history_is_append_only(self) -> None:
        now = self.db.history()
        assert now[: len(self.history)] == self.history
        self.history = now

    @invariant()
    def widening_never_active_without_a_second_staff_approval(self) -> None:
        previous: dict[str, VersionRecord] = {}
        for v in self.history:
            before = previous.get(v.audience)
            previous[v.audience] = v
            if v.origin == "file":  # the seed: version 1 from the files
                continue
            old = parse_policy(before.text).policy if before else None
            static = is_widening(policy_changes(old, parse_policy(v.text).policy))
            if static:
                assert v.widening, f"version {v.number} of {v.audience} widens statically"
            if v.widening:
                authors = v.author.split(", ")
                assert v.approver is not None and v.approver.startswith("staff/")
                assert v.approver not in authors
                assert (v.draft_id, v.digest, v.approver) in self.approvals


def test_random_policy_changes_by_random_staff_keep_every_invariant() -> None:
    RUNS.update(examples=0, steps=0, activated=0, refused=0)
    run_state_machine_as_test(
        PolicyLifecycleMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(f"state machine: {RUNS}")
    assert RUNS["examples"] >= 30
    assert RUNS["activated"] > 0 and RUNS["refused"] > 0, RUNS
