"""The second line: every new view body is scanned before it is published; a hit withholds it."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from gateway.leakguard.allow import Allowance, AudienceGuard, Scanner
from gateway.leakguard.disclosed import ActivePolicy, disclosed_for
from gateway.leakguard.shared import CommittedChange, SharedVocabulary, vocabulary_of
from gateway.leakguard.terms import DisclosedTerms, Hit, TermClass
from gateway.model import Snapshot

log = logging.getLogger("demarc.leakguard")


@dataclass(frozen=True, slots=True)
class Withheld:
    """One view body the guard stopped: which audience and view, which classes of term matched,
    and digests of the terms (never the terms themselves)."""

    audience: str
    view: str
    classes: tuple[str, ...]
    digests: tuple[str, ...]


LeakCallback = Callable[[Withheld], None]


class Screen:
    """The guard of every audience: one shared vocabulary and automaton of internal terms, and
    per audience an allowance of what its policy shows (kept while the policy and what it
    shows are the same)."""

    def __init__(
        self,
        on_leak: LeakCallback | None = None,
        *,
        enabled: bool = True,
        extra: Iterable[tuple[TermClass, str]] = (),
    ) -> None:
        """``extra``: terms the model does not hold (the Alertmanager external URL, ...)."""
        self.enabled = enabled
        self._on_leak = on_leak
        self.vocabulary = SharedVocabulary(extra)
        # audience → ((policy version, what it shows), allowance); written by the render thread
        self._allowances: dict[str, tuple[tuple[str, DisclosedTerms], Allowance]] = {}
        self.counts: Counter[str] = Counter()  # "<view>:<term class>" → bodies withheld

    def follow(self, batch: Sequence[CommittedChange]) -> None:
        """A store commit listener: the shared vocabulary follows the committed changes."""
        if self.enabled:
            self.vocabulary.follow(batch)

    def guard(self, audience: str) -> AudienceGuard | None:
        """The audience's guard over the current terms, for bodies that are not views (errors,
        documents); None until its views were first screened."""
        hit = self._allowances.get(audience)
        return AudienceGuard(self.vocabulary, hit[1]) if hit is not None else None

    def guard_for(self, audience: str, policy: ActivePolicy, snapshot: Snapshot) -> AudienceGuard:
        """The audience's guard over exactly the terms of ``snapshot``."""
        vocabulary = self.vocabulary
        if not vocabulary.at(snapshot):
            vocabulary = vocabulary_of(snapshot)  # older than the live terms: from scratch
        # what is shown follows from the policy and the data in the audience's own scope
        key = (policy.version, disclosed_for(policy, snapshot, audience))
        hit = self._allowances.get(audience)
        if hit is not None and hit[0] == key:
            allowance = hit[1]
        else:
            allowance = Allowance(key[1], vocabulary)
            if vocabulary is self.vocabulary:
                self._allowances[audience] = (key, allowance)
        return AudienceGuard(vocabulary, allowance, vocabulary.revision)

    def check(self, audience: str, guard: Scanner, bodies: Mapping[str, bytes]) -> list[Withheld]:
        """The views among ``bodies`` (new ones: a carried-over body was scanned when it was new)
        whose bytes name a term the audience must not see; each counted, logged and reported."""
        withheld = [
            _report(audience, view, hits)
            for view, body in bodies.items()
            if (hits := guard.scan(body))
        ]
        for item in withheld:
            for cls in item.classes:
                self.counts[f"{item.view}:{cls}"] += 1
            # the matched values never reach a log: classes and digests only
            log.error(
                "leak guard withheld %s for %s: %s (digests %s); the previous version stays",
                item.view, audience, ", ".join(item.classes), ", ".join(item.digests),
            )  # fmt: skip
            if self._on_leak is not None:
                self._on_leak(item)
        return withheld


def snapshot_guard(audience: str, policy: ActivePolicy, snapshot: Snapshot) -> AudienceGuard:
    """A guard for ``snapshot`` without a gateway's live terms (previews, activations): the
    terms are built once per snapshot and shared by every audience scanned against it."""
    vocabulary = vocabulary_of(snapshot)
    allowance = Allowance(disclosed_for(policy, snapshot, audience), vocabulary)
    return AudienceGuard(vocabulary, allowance, vocabulary.revision)


def _report(audience: str, view: str, hits: list[Hit]) -> Withheld:
    classes = tuple(sorted({h.term_class.value for h in hits}))
    digests = tuple(sorted({h.digest for h in hits}))
    return Withheld(audience, view, classes, digests)
