"""Property: random canary networks under random valid policies leak no undisclosed canary.

Every internal string of a generated network is a distinct canary (``tests/leakgen.py``). For
each audience, an oracle written here from the policy format alone (not from the engine's or
the guard's code) says which canaries the policy discloses; every other canary must appear in
no published body: with the guard disabled (the engine alone), with it enabled (and then the
guard must withhold nothing, as the renders are clean), and after a canary is planted in a
render (a broken engine), which the guard must withhold.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st

from gateway.disclosure import (
    CompiledPolicy,
    LoadedPolicy,
    Pseudonymizer,
    audience_key,
    compile_policy,
    render,
)
from gateway.disclosure.policy import VIEWS, CustomerPolicy, PeerPolicy
from gateway.leakguard import DisclosedTerms, build_vocabulary
from gateway.leakguard.screen import Screen, Withheld
from gateway.model import LinkKind, ResourceRef, Service, Snapshot
from gateway.views.cache import AudienceViews, ItemView, build_views, screen_views
from tests.leakgen import NOW, C, Case, Network, cases

SECRET = b"leak-property-master-secret"
SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- the oracle: what a policy discloses to its audience ------------------------------------


def _coverage(snapshot: Snapshot, service: Service) -> set[ResourceRef]:
    """A service, its endpoints and resources, a port's router, a link's ends and routers."""
    links = {link.link_id: link for link in snapshot.topology.links}
    refs = {ResourceRef(service=service.service_id)}
    for ref in (*service.endpoints, *service.resources):
        refs.add(ref)
        if ref.node is not None and ref.tp is not None:
            refs.add(ResourceRef(node=ref.node))
        if ref.link is not None and ref.link in links:
            link = links[ref.link]
            refs |= {
                ResourceRef(node=link.source_node, tp=link.source_tp),
                ResourceRef(node=link.source_node),
                ResourceRef(node=link.dest_node, tp=link.dest_tp),
                ResourceRef(node=link.dest_node),
            }
    return refs


def disclosed_canaries(network: Network, loaded: LoadedPolicy, audience: str) -> set[str]:
    """The canaries ``audience`` may see under ``loaded``: shared ids of rows in its scope,
    its own circuits' names and far-end ids, its own services' ids and names, kept texts."""
    snapshot = network.snapshot
    policy = loaded.policy
    name = audience.partition("/")[2]
    out: set[str] = set()
    if isinstance(policy, PeerPolicy):
        rules = policy.disclose
        mine = [
            link
            for link in snapshot.topology.links
            if link.kind is LinkKind.INTERCONNECT and link.peer == name
        ]
        # an interconnect is the link, our port, and the router that port is on
        scope = {ResourceRef(link=link.link_id) for link in mine} | {
            ref
            for link in mine
            for ref in (
                ResourceRef(node=link.source_node, tp=link.source_tp),
                ResourceRef(node=link.source_node),
            )
        }
        ic, topo = rules.interconnect, rules.topology
        # as the brief has it: a shared topology rule discloses them even with expose: none
        if any(rule is not None and rule.identifiers == "shared" for rule in (ic, topo)):
            out |= network.circuits.get(name, set())
        out |= network.far_ends.get(name, set())  # the peer's own ids of its ends
        alarm_rule: Any = rules.alarm
        mw_rule: Any = rules.maintenance
    else:
        assert isinstance(policy, CustomerPolicy)
        rules_c = policy.disclose
        scope = set()
        for service in snapshot.services.values():
            if service.customer == name:
                scope |= _coverage(snapshot, service)
        sv = rules_c.service
        if sv is not None and sv.identifiers == "shared":
            out |= network.service_ids.get(name, set())
        if sv is not None and "name" in sv.fields:
            out |= network.service_names.get(name, set())
        alarm_rule, mw_rule = rules_c.incident, rules_c.maintenance
    alarms = [a.alarm_id for a in snapshot.alarms.values() if a.resource in scope]
    windows = [w.maintenance_id for w in snapshot.maintenance.values() if scope & {*w.resources}]
    for rule, ids, id_canary, texts in (
        (alarm_rule, alarms, network.alarm_ids, network.alarm_texts),
        (mw_rule, windows, network.mw_ids, network.mw_texts),
    ):
        if rule is None:
            continue
        if rule.identifiers == "shared":
            out |= {id_canary[i] for i in ids}
        if rule.text == "keep" and "text" in rule.fields:
            out |= {texts[i] for i in ids if i in texts}
    return out


# -- finding canaries in a body ---------------------------------------------------------------

_TOKEN = re.compile(r"(?=(cnry[a-z0-9]{10}))")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class Finder:
    """The undisclosed canaries of one audience, found in a body as sent (raw) and in its
    decoded strings (so any JSON escape of them is found too)."""

    def __init__(self, network: Network, disclosed: set[str]) -> None:
        self.network = network
        hidden = [c for v, c in network.canaries.items() if v not in disclosed]
        self.tokens = {c.value for c in hidden if not c.is_address}
        self.form_of = {f.lower(): c.value for c in hidden if c.is_address for f in c.forms()}
        forms = sorted(self.form_of, key=len, reverse=True)
        # an address is a whole token: 10.0.0.1 is not in 10.0.0.12, 2001:db8::1 not in ::12
        self.addresses = (
            re.compile(
                r"(?<![0-9a-z.:])(" + "|".join(map(re.escape, forms)) + r")(?![0-9a-z:]|\.[0-9])"
            )
            if forms
            else None
        )

    def found(self, body: bytes) -> set[str]:
        texts = [body.decode("utf-8").lower()]
        texts.append("\n".join(_strings(msgspec.json.decode(body))).lower())
        hits: set[str] = set()
        for text in texts:
            hits |= set(_TOKEN.findall(text)) & self.tokens
            if self.addresses is not None:
                hits |= {self.form_of[m] for m in self.addresses.findall(text)}
        return hits

    def describe(self, hits: set[str]) -> list[tuple[str, str]]:
        return sorted((self.network.canaries[h].cls, h) for h in hits)


# -- rendering every audience -------------------------------------------------------------------


@dataclass
class Render:
    audience: str
    compiled: CompiledPolicy
    rendered: dict[str, Any]
    finder: Finder


def renders(case: Case) -> Iterator[Render]:
    snapshot = case.network.snapshot
    for audience, loaded in case.audiences:
        compiled = compile_policy(loaded)
        pseudonym = Pseudonymizer(audience_key(SECRET, audience))
        rendered = render(compiled, snapshot, audience, pseudonym, NOW)
        finder = Finder(case.network, disclosed_canaries(case.network, loaded, audience))
        yield Render(audience, compiled, rendered, finder)


def bodies(views: AudienceViews) -> Iterator[tuple[str, bytes]]:
    """Every body a reader can fetch: each view, and each item of a view on its own."""
    for name, view in views.views.items():
        yield name, view.body
    for (name, item_id), item in views.items.items():
        yield f"{name}/{item_id}", item.body


def _leaks(finder: Finder, views: AudienceViews) -> dict[str, list[tuple[str, str]]]:
    out = {}
    for where, body in bodies(views):
        hits = finder.found(body)
        if hits:
            out[where] = finder.describe(hits)
    return out


# -- property 1: the engine alone ---------------------------------------------------------


@SETTINGS
@given(case=cases())
def test_engine_alone_publishes_no_undisclosed_canary(case: Case) -> None:
    everything = Finder(case.network, set())
    for r in renders(case):
        for view, data in r.rendered.items():
            body = msgspec.json.encode(data)
            hits = r.finder.found(body)
            assert not hits, (r.audience, view, r.finder.describe(hits))
            # what the policies did publish on purpose: the oracle's disclosed paths are used
            for cls in sorted({case.network.canaries[v].cls for v in everything.found(body)}):
                event(f"disclosed and published: {cls}")
        views = build_views(r.audience, AudienceViews(), r.rendered, 1, r.compiled.version)
        assert set(views.views) == set(r.rendered)
        leaks = _leaks(r.finder, views)
        assert not leaks, (r.audience, leaks)


# -- property 2: with the guard, clean renders go out whole and clean ------------------------


def _explain(case: Case, withheld: list[Withheld]) -> list[tuple[str, str, str, list[str]]]:
    """Which guard terms matched: the digests mapped back to terms and the canaries in them."""
    vocabulary = build_vocabulary(case.network.snapshot, disclosed=DisclosedTerms())
    by_digest = {hashlib.sha256(t.encode()).hexdigest()[:12]: t for t in vocabulary.terms}
    out = []
    for item in withheld:
        for digest in item.digests:
            term = by_digest.get(digest, "?")
            classes = sorted(
                c.cls for v, c in case.network.canaries.items() if v.lower() in term.lower()
            )
            out.append((item.view, str(vocabulary.terms.get(term)), term, classes))
    return out


@SETTINGS
@given(case=cases())
def test_guard_withholds_nothing_clean_and_publishes_no_canary(case: Case) -> None:
    screen = Screen(enabled=True)
    for r in renders(case):
        new = build_views(r.audience, AudienceViews(), r.rendered, 1, r.compiled.version)
        guard = screen.guard_for(r.audience, r.compiled, case.network.snapshot)
        published, withheld = screen_views(screen, r.audience, guard, new, AudienceViews())
        assert not withheld, ("false positive", r.audience, _explain(case, withheld))
        assert published.views.keys() == r.rendered.keys() and not published.withheld
        leaks = _leaks(r.finder, published)
        assert not leaks, (r.audience, leaks)


# -- property 3: the guard catches a broken engine ----------------------------------------


def _sites(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, value) of ``doc`` and of every value inside it."""
    yield path, doc
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _sites(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _sites(value, (*path, index))


def _replace(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {**doc, head: _replace(doc[head], rest, new)}
    return [*doc[:head], _replace(doc[head], rest, new), *doc[head + 1 :]]


Path = tuple[Any, ...]


def _plant(
    doc: Any, value: str, choice: int, at: int, *, strings: list[tuple[Path, str]] | None
) -> Any:
    """``doc`` with ``value`` planted where a word starts inside one of ``strings`` (paths into
    ``doc``), or, without strings, as a new field of an object (a new item of a list)."""
    if strings:
        path, text = strings[choice % len(strings)]
        starts = [0, len(text), *(i for i in range(1, len(text)) if text[i - 1] == " ")]
        cut = starts[at % len(starts)]
        return _replace(doc, path, f"{text[:cut]} {value} {text[cut:]}")
    holders = [(path, v) for path, v in _sites(doc) if isinstance(v, dict | list)]
    path, holder = holders[choice % len(holders)]
    if isinstance(holder, dict):
        grown: Any = {**holder, "x_planted": value}
    else:  # a view's items are objects; a list inside one takes the value itself
        grown = [*holder, {"x_planted": value} if not path else value]
    return _replace(doc, path, grown)


def _trusted(r: Render, view: str) -> set[str]:
    """Item fields of ``view`` whose values the guard takes from the render as disclosed: the
    id under ``identifiers: shared``, the text under ``text: keep`` (see the gap below)."""
    if view not in ("alarms", "incidents", "maintenance"):
        return set()
    rule = getattr(r.compiled.loaded.policy.disclose, VIEWS[r.compiled.role][view], None)
    if rule is None:
        return set()
    keys = set()
    if rule.identifiers == "shared":
        keys.add("id")
    if rule.text == "keep":
        keys.add("text")
    return keys


def _view_strings(doc: Any, trusted: set[str], *, inside: bool) -> list[tuple[Path, str]]:
    """Paths of the strings of a view: those in trusted fields (``inside``), or all others."""
    out = []
    for path, value in _sites(doc):
        if isinstance(value, str):
            in_trusted = len(path) == 2 and isinstance(path[0], int) and path[1] in trusted
            if in_trusted == inside:
                out.append((path, value))
    return out


class GuardMissed(AssertionError):
    """The guard published a view with a planted undisclosed canary: (audience, view, canary
    class, spelling)."""


#: canary classes the guard once missed (service ids and names, alarm and maintenance ids,
#: network ids, bare hosts): each is also planted on its own below, so none slips back
ONCE_UNGUARDED = (
    C.SERVICE_ID, C.SERVICE_NAME, C.ALARM_ID, C.MAINTENANCE_ID, C.NETWORK_ID, C.INSTANCE_HOST,
    C.URL_HOST,
)  # fmt: skip


@dataclass(frozen=True)
class Plant:
    audience: int  # which audience (mod their number)
    view: int
    canary: int
    spelling: int
    choice: int  # where: which string or which object
    at: int  # where in that string
    in_string: bool
    with_previous: bool


PLANTS = st.builds(
    Plant,
    audience=st.integers(0, 50),
    view=st.integers(0, 50),
    canary=st.integers(0, 10_000),
    spelling=st.integers(0, 3),
    choice=st.integers(0, 10_000),
    at=st.integers(0, 50),
    in_string=st.booleans(),
    with_previous=st.booleans(),
)


def _published(
    screen: Screen,
    r: Render,
    snapshot: Snapshot,
    rendered: dict[str, Any],
    previous: AudienceViews,
    revision: int,
) -> tuple[AudienceViews, list[Withheld]]:
    new = build_views(r.audience, previous, rendered, revision, r.compiled.version)
    guard = screen.guard_for(r.audience, r.compiled, snapshot)
    return screen_views(screen, r.audience, guard, new, previous)


def _check_planted(case: Case, plant: Plant, *, classes: set[str] | None, trusted: bool) -> None:
    """Plant an undisclosed canary of ``classes`` (None: every guarded class) in one view of
    one audience; the guard must withhold that view and nothing published may carry it.
    ``trusted``: plant it inside a trusted field's string (and only there)."""
    snapshot = case.network.snapshot
    canaries = case.network.canaries
    candidates = []
    for r in renders(case):
        hidden = sorted(
            v
            for v in r.finder.tokens | set(r.finder.form_of.values())
            if not classes or canaries[v].cls in classes
        )
        views = [
            v
            for v in sorted(r.rendered)
            if not trusted or _view_strings(r.rendered[v], _trusted(r, v), inside=True)
        ]
        if hidden and views:
            candidates.append((r, hidden, views))
    assume(candidates)
    r, hidden, views = candidates[plant.audience % len(candidates)]
    canary = canaries[hidden[plant.canary % len(hidden)]]
    forms = canary.forms()
    spelled = forms[plant.spelling % len(forms)]
    view = views[plant.view % len(views)]
    data = r.rendered[view]
    strings = (
        _view_strings(data, _trusted(r, view), inside=trusted)
        if trusted or plant.in_string
        else None
    )

    screen = Screen(enabled=True)
    previous = AudienceViews()
    if plant.with_previous:  # a clean version is out: the planted one must not replace it
        previous, withheld = _published(screen, r, snapshot, r.rendered, previous, 1)
        assert not withheld
    broken = {**r.rendered, view: _plant(data, spelled, plant.choice, plant.at, strings=strings)}
    assert canary.value in r.finder.found(msgspec.json.encode(broken[view]))
    published, withheld = _published(screen, r, snapshot, broken, previous, 2)

    event(f"planted {'inside a string' if strings else 'as a new field'}, {canary.cls}")
    event("to revert to" if view in previous.views else "nothing to revert to: withdrawn")
    if view not in {w.view for w in withheld}:
        raise GuardMissed(r.audience, view, canary.cls, spelled)
    if view in previous.views:
        assert published.views[view] is previous.views[view]
    else:
        assert view not in published.views and view in published.withheld
    leaks = _leaks(r.finder, published)
    assert not leaks, (r.audience, leaks)


@SETTINGS
@given(case=cases(), plant=PLANTS)
def test_guard_withholds_a_planted_canary(case: Case, plant: Plant) -> None:
    """A broken engine: any guarded canary, as a new field or inside a string the guard does
    not take as disclosed, in any view of any audience."""
    _check_planted(case, plant, classes=None, trusted=False)


# the catch-all test above plants these too; here each class gets planted on every example
GAP = settings(SETTINGS, max_examples=25, phases=[Phase.explicit, Phase.reuse, Phase.generate])


@pytest.mark.parametrize("cls", ONCE_UNGUARDED)
@GAP
@given(case=cases(rich_labels=True), plant=PLANTS)  # an instance host and a URL host every time
def test_guard_withholds_a_planted_canary_of_each_class(cls: str, case: Case, plant: Plant) -> None:
    _check_planted(case, plant, classes={cls}, trusted=False)


@GAP
@given(case=cases(), plant=PLANTS)
def test_guard_withholds_a_canary_planted_in_a_trusted_field(case: Case, plant: Plant) -> None:
    """Kept text and shared ids are disclosed as the data holds them, not as a render wrote
    them: an internal term a broken engine copies into such a field is still caught."""
    _check_planted(case, plant, classes=None, trusted=True)


def test_published_bodies_cover_views_and_items() -> None:
    """``bodies`` sees every item body too: a leak only in an item would not slip by."""
    views = build_views("peer/x", AudienceViews(), {"alarms": [{"id": "a-1", "text": "t"}]}, 1, "v")
    assert [name for name, _ in bodies(views)] == ["alarms", "alarms/a-1"]
    item = views.items[("alarms", "a-1")]
    assert isinstance(item, ItemView)  # served from the view's bytes, in its own envelope
    assert msgspec.json.decode(item.body)["item"] == {"id": "a-1", "text": "t"}
