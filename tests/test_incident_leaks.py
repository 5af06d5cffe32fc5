"""Text written for customers never leaks: refused at the door, or withheld on the way out."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.api.written import check_change
from gateway.demo.network import DemoData, build_demo
from gateway.disclosure import PolicySet, compile_policy, load_policy_dir, render
from gateway.disclosure.engine import CompiledPolicy
from gateway.disclosure.pseudonym import Pseudonymizer, audience_key
from gateway.errors import InvalidInput
from gateway.leakguard.screen import Screen, snapshot_guard
from gateway.model import IncidentPatch, Snapshot, StatusUpdate, UpsertIncidents
from gateway.policy.testing import snapshot_from

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
WORDS = ("Service", "is", "slow", "since", "noon;", "we", "restored", "it.", "Thanks", "ETA 2h")


@cache
def _terms(customer: str) -> tuple[list[str], list[str]]:
    demo = world()[0]
    return _internal(demo), _others(demo, customer)


@cache
def world() -> tuple[DemoData, Snapshot, Screen, str, str, CompiledPolicy]:
    demo = build_demo(NOW)
    snapshot = snapshot_from(demo.documents())
    screen = Screen()
    service = demo.situation.maintenance
    customer = next(s["customer"] for s in demo.services["services"] if s["id"] == service)
    policies = PolicySet(map(compile_policy, load_policy_dir(Path("policies"))))
    policy = policies.for_audience(f"customer/{customer}")
    assert policy is not None
    return demo, snapshot, screen, service, f"customer/{customer}", policy


def _internal(demo: DemoData) -> list[str]:
    """What the door always refuses: the network's own names, addresses and places."""
    s = demo.secrets
    terms = s.node_ids | s.node_names | s.addresses | s.link_ids | s.sites
    return sorted(t for t in terms if len(t) >= 4)


def _others(demo: DemoData, customer: str) -> list[str]:
    """Other customers' service names and ids: let through the door, withheld on the way out."""
    mine = customer.partition("/")[2]
    return sorted(v for s in demo.services["services"] if s["customer"] != mine
                  for v in (s["name"], s["id"]))  # fmt: skip


@st.composite
def texts(draw: st.DrawFn) -> tuple[str, bool]:
    """A text of plain words, sometimes with an internal term or another customer's service
    in it; and whether it has an internal term."""
    _demo, _, _, _, customer, _ = world()
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=8))
    internal = draw(st.booleans())
    inside, others = _terms(customer)
    if internal:
        words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(inside)))
    if draw(st.booleans()):
        words.insert(draw(st.integers(0, len(words))), draw(st.sampled_from(others)))
    return " ".join(words), internal


def _bounded(term: str, body: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(term.lower())}(?![A-Za-z0-9])", body) is not None


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts(), st.booleans())
def test_a_written_text_is_refused_or_withheld_never_published_with_an_internal_term(
    text: tuple[str, bool], as_title: bool
) -> None:
    _demo, snapshot, screen, service, customer, policy = world()
    words, internal = text
    update = StatusUpdate(NOW, "investigating", None if as_title else words)
    patch = IncidentPatch("INC-P", title=words if as_title else "Slow", services=(service,),
                          updates=(update,))  # fmt: skip
    change = UpsertIncidents((patch,))
    try:
        check_change(screen, snapshot, change, NOW)
    except InvalidInput as refused:
        assert internal, f"refused a text with no internal term: {refused.problems}"
        where = "title" if as_title else "updates[0].text"
        assert all(p.where == f"$.incidents[0].{where}" for p in refused.problems)
        event("refused at the door")
        return
    assert not internal, f"let {words!r} through"
    after = snapshot.apply(change, snapshot.revision + 1)
    pseudonyms = Pseudonymizer(audience_key(b"k" * 32, customer))
    views = render(policy, after, customer, pseudonyms, NOW, ("incidents",))
    body = msgspec.json.encode(views["incidents"])
    if snapshot_guard(customer, policy, after).scan(body):
        event("withheld on the way out")
        return  # the previous version stays served
    published = body.decode().lower()
    assert words in body.decode()  # published as written (the policy keeps written text)
    inside, others = _terms(customer)
    leaked = [t for t in (*inside, *others) if t.lower() in published and _bounded(t, published)]
    assert leaked == []
    event("published")
