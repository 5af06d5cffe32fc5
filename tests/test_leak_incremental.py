"""Property: the shared vocabulary, maintained from committed changes, equals a from-scratch
build after any sequence of changes; and the shared guard with an audience's allowance gives
the verdicts of a per-audience guard built from scratch (the old path, kept as the oracle)."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from unittest import mock

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.disclosure import compile_policy
from gateway.leakguard import DisclosedTerms, Guard, TermClass, Vocabulary, build_vocabulary, tiers
from gateway.leakguard.allow import Allowance, AudienceGuard
from gateway.leakguard.disclosed import disclosed_for
from gateway.leakguard.screen import Screen
from gateway.leakguard.shared import SharedVocabulary
from gateway.model import (
    EMPTY_TOPOLOGY,
    AddMetricSamples,
    Alarm,
    Change,
    DeleteServices,
    PruneAlarms,
    ReplaceTopology,
    Severity,
    Snapshot,
    UpsertAlarms,
    UpsertMaintenance,
    UpsertServices,
)
from gateway.store.base import Committed
from tests.leakgen import NOW, Case, Network, cases, networks

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True, slots=True)
class ForgetAlarms:
    """A change type the vocabulary does not know (as a future one may be): it must rebuild."""

    alarm_ids: tuple[str, ...]


def _apply(snapshot: Snapshot, change: object, revision: int) -> Snapshot:
    if isinstance(change, ForgetAlarms):
        gone = set(change.alarm_ids)
        return Snapshot(
            revision=revision,
            topology=snapshot.topology,
            services=snapshot.services,
            alarms={k: v for k, v in snapshot.alarms.items() if k not in gone},
            metrics=snapshot.metrics,
            maintenance=snapshot.maintenance,
            kind_revisions=snapshot.kind_revisions,
        )
    return snapshot.apply(change, revision)  # type: ignore[arg-type]


def _committed(revision: int, change: object) -> Committed:
    return Committed(revision, change, "source/test")  # type: ignore[arg-type]


def _spelled(terms: dict[str, TermClass]) -> bytes:
    """Every term as written and, for addresses, exploded: a body every term occurs in."""
    words = []
    for term in terms:
        words.append(term)
        with contextlib.suppress(ValueError):
            words.append(ipaddress.ip_address(term).exploded)
    return msgspec.json.encode(words)


def _check(vocabulary: SharedVocabulary, snapshot: Snapshot, probe: bytes) -> None:
    scratch = SharedVocabulary()
    assert scratch.at(snapshot)
    assert vocabulary.terms() == scratch.terms()
    assert vocabulary.term_refs == scratch.term_refs
    assert vocabulary.text_count == scratch.text_count
    old = build_vocabulary(snapshot, disclosed=DisclosedTerms()).terms
    terms = vocabulary.terms()
    assert set(terms) == set(old)
    assert all(old[term] in classes for term, classes in terms.items())
    # the automaton finds exactly the live terms, though it still holds keys of dead ones
    found = AudienceGuard(vocabulary, Allowance(DisclosedTerms(), vocabulary)).terms(probe)
    assert found == Guard(Vocabulary(old)).terms_in(probe)


def _pools(a: Network, b: Network) -> dict[str, list[object]]:
    """Objects to upsert: both networks', and a's alarms and windows rewritten with b's text
    and labels under the same ids (replacements, not additions)."""
    alarms_a, alarms_b = list(a.snapshot.alarms.values()), list(b.snapshot.alarms.values())
    windows_a = list(a.snapshot.maintenance.values())
    windows_b = list(b.snapshot.maintenance.values())
    rewrite = msgspec.structs.replace
    return {
        "topology": [a.snapshot.topology, b.snapshot.topology, EMPTY_TOPOLOGY],
        "services": [*a.snapshot.services.values(), *b.snapshot.services.values()],
        "alarms": [
            *alarms_a,
            *alarms_b,
            *(
                rewrite(x, text=y.text, labels=y.labels)
                for x, y in zip(alarms_a, alarms_b, strict=False)
            ),
        ],
        "maintenance": [
            *windows_a,
            *windows_b,
            *(
                rewrite(x, description=y.description)
                for x, y in zip(windows_a, windows_b, strict=False)
            ),
        ],
        "samples": list(a.snapshot.metrics.values()),
    }


def _change(data: st.DataObject, pools: dict[str, list[object]], snapshot: Snapshot) -> object:
    kind = data.draw(st.sampled_from(["topology", "services", "delete", "alarms", "windows",
                                      "samples", "prune", "forget"]))  # fmt: skip

    def some(pool: list[object]) -> tuple[object, ...]:
        return tuple(data.draw(st.lists(st.sampled_from(pool), max_size=4))) if pool else ()

    match kind:
        case "topology":
            return ReplaceTopology(data.draw(st.sampled_from(pools["topology"])))  # type: ignore[arg-type]
        case "services":
            return UpsertServices(some(pools["services"]))  # type: ignore[arg-type]
        case "delete":
            return DeleteServices(tuple(str(s) for s in some(list(snapshot.services))))
        case "alarms":
            return UpsertAlarms(some(pools["alarms"]))  # type: ignore[arg-type]
        case "windows":
            return UpsertMaintenance(some(pools["maintenance"]))  # type: ignore[arg-type]
        case "samples":
            return AddMetricSamples(some(pools["samples"]))  # type: ignore[arg-type]
        case "prune":  # retention's own change: followed, not rebuilt
            when = data.draw(st.sampled_from([timedelta(days=-30), timedelta(days=1)]))
            before = NOW + when
            return PruneAlarms(tuple(str(a) for a in some(list(snapshot.alarms))), before)
    return ForgetAlarms(tuple(str(a) for a in some(list(snapshot.alarms))))


@SETTINGS
@given(a=networks(rich_labels=True), b=networks(), small=st.sampled_from([4, 64, 1024]),
       data=st.data())  # fmt: skip
def test_incremental_vocabulary_equals_a_from_scratch_build(
    a: Network, b: Network, small: int, data: st.DataObject
) -> None:
    """Random changes (upserts, replacements, topology replaced, services deleted, alarms
    pruned by retention or by an unknown change type), a batch now and then never delivered,
    the vocabulary brought to a random recent snapshot between them: it always equals a fresh
    build. Small tiers make the automaton merge and compact within a few changes."""
    pools = _pools(a, b)
    everything = {**build_vocabulary(a.snapshot, disclosed=DisclosedTerms()).terms,
                  **build_vocabulary(b.snapshot, disclosed=DisclosedTerms()).terms}  # fmt: skip
    probe = _spelled(everything)
    with mock.patch.object(tiers, "SMALL", small):
        vocabulary = SharedVocabulary()
        snapshots = [Snapshot()]
        for _ in range(data.draw(st.integers(1, 14))):
            snapshot = snapshots[-1]
            change = _change(data, pools, snapshot)
            snapshots.append(_apply(snapshot, change, snapshot.revision + 1))
            if data.draw(st.integers(0, 9)):  # else this batch is lost: the queue has a gap
                vocabulary.follow([_committed(snapshot.revision + 1, change)])
            if data.draw(st.booleans()):
                target = data.draw(st.sampled_from(snapshots[-3:]))
                if vocabulary.at(target):  # False: older than the terms already are
                    _check(vocabulary, target, probe)
        assert vocabulary.at(snapshots[-1])
        _check(vocabulary, snapshots[-1], probe)


def test_a_change_applies_only_up_to_the_snapshot_scanned() -> None:
    """Changes queued past the snapshot being scanned wait; an unknown one forces a rebuild."""
    alarm = Alarm("alm-zq81k2x9", None, Severity.MAJOR, datetime(2026, 12, 1, tzinfo=UTC))
    vocabulary = SharedVocabulary()
    first = Snapshot()
    assert vocabulary.at(first) and vocabulary.rebuilds == 1
    second = first.apply(UpsertAlarms((alarm,)), 1)
    third = _apply(second, ForgetAlarms((alarm.alarm_id,)), 2)
    vocabulary.follow([_committed(1, UpsertAlarms((alarm,))), _committed(2, ForgetAlarms(("x",)))])
    assert vocabulary.at(second) and vocabulary.rebuilds == 1  # followed, not rebuilt
    assert "alm-zq81k2x9" in vocabulary.terms()
    assert vocabulary.at(third) and vocabulary.rebuilds == 2  # unknown change: rebuilt
    assert "alm-zq81k2x9" not in vocabulary.terms()
    assert not vocabulary.at(second)  # older than the terms: the caller builds from scratch


def _feed(case: Case, data: st.DataObject, screen: Screen) -> Snapshot:
    """Commit the case's objects from an empty model in random chunks, the screen following
    and brought up to date at random points; the last snapshot holds what the case's does."""
    source = case.network.snapshot
    changes: list[Change] = [ReplaceTopology(source.topology)]
    for objects, make in (
        (list(source.services.values()), UpsertServices),
        (list(source.alarms.values()), UpsertAlarms),
        (list(source.maintenance.values()), UpsertMaintenance),
    ):
        while objects:
            cut = data.draw(st.integers(1, len(objects)))
            changes.append(make(tuple(objects[:cut])))  # type: ignore[arg-type]
            objects = objects[cut:]
    changes = data.draw(st.permutations(changes))
    snapshot = Snapshot()
    for change in changes:
        snapshot = snapshot.apply(change, snapshot.revision + 1)
        screen.follow([Committed(snapshot.revision, change, "source/test")])
        if data.draw(st.booleans()):
            assert screen.vocabulary.at(snapshot)
    return snapshot


def _probes(case: Case) -> Iterator[bytes]:
    """Every internal term (addresses also exploded), and every free text of the case."""
    snap = case.network.snapshot
    yield _spelled(dict(build_vocabulary(snap, disclosed=DisclosedTerms()).terms))
    texts = [a.text for a in snap.alarms.values()] + [
        w.description for w in snap.maintenance.values()
    ]
    yield msgspec.json.encode([t for t in texts if t])


@SETTINGS
@given(case=cases(rich_labels=True), data=st.data())
def test_shared_guard_gives_the_verdicts_of_a_per_audience_guard(
    case: Case, data: st.DataObject
) -> None:
    """For every audience and every probe body, the same hits (offset and term digest) as a
    guard built from scratch for that audience, with its disclosed terms taken out."""
    screen = Screen(enabled=True)
    fed = _feed(case, data, screen)
    source = case.network.snapshot
    probes = list(_probes(case))
    for audience, loaded in case.audiences:
        compiled = compile_policy(loaded)
        disclosed = disclosed_for(compiled, source, audience)
        old = Guard(build_vocabulary(source, disclosed=disclosed))
        new = screen.guard_for(audience, compiled, fed)
        for body in probes:
            want = [(hit.offset, hit.digest) for hit in old.scan(body)]
            assert [(hit.offset, hit.digest) for hit in new.scan(body)] == want, audience
    assert screen.vocabulary.rebuilds == 1  # the first build; every later change was followed


def test_tokens_of_kept_text_are_allowed_only_while_kept_text_alone_holds_them() -> None:
    """A per-audience build never tokenised text the audience keeps; the shared vocabulary
    tokenises every text, so a token found only in kept text is allowed even where it is not
    spelled as in the text (2001:0db8::7 in the text, 2001:db8::7 in the body); once another
    object names it too, it is flagged as a per-audience build flags it."""
    at = datetime(2026, 12, 1, tzinfo=UTC)
    text = "loss of light towards 2001:0db8::7 on the core side"
    alarm = Alarm("alm-kq2", None, Severity.MAJOR, at, text=text)
    other = Alarm("alm-kq3", None, Severity.MINOR, at, labels=(("instance", "2001:db8::7"),))
    body = b'{"text": "peer 2001:db8::7"}'
    kept = DisclosedTerms(texts=frozenset({text}))
    first = Snapshot().apply(UpsertAlarms((alarm,)), 1)
    second = first.apply(UpsertAlarms((other,)), 2)
    vocabulary = SharedVocabulary()
    for snapshot, flagged in ((first, False), (second, True)):
        assert vocabulary.at(snapshot)
        old = Guard(build_vocabulary(snapshot, disclosed=kept))
        new = AudienceGuard(vocabulary, Allowance(kept, vocabulary), snapshot.revision)
        assert bool(old.scan(body)) is flagged
        assert [(h.offset, h.digest) for h in new.scan(body)] == [
            (h.offset, h.digest) for h in old.scan(body)
        ]
        # an audience that does not keep the text is told apart in both
        assert AudienceGuard(vocabulary, Allowance(DisclosedTerms(), vocabulary)).scan(body)
