"""The second line: every new view body is scanned before it is published; a hit withholds it."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.leakguard.automaton import Guard
from gateway.leakguard.disclosed import ActivePolicy, disclosed_for
from gateway.leakguard.terms import Hit
from gateway.leakguard.vocabulary import build_vocabulary, vocabulary_revision
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
    """Guards per audience, built once per (data that adds terms, policy version)."""

    def __init__(self, on_leak: LeakCallback | None = None, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._on_leak = on_leak
        self._guards: dict[str, tuple[object, Guard]] = {}
        self.counts: Counter[str] = Counter()  # "<view>:<term class>" → bodies withheld

    def guard(self, audience: str) -> Guard | None:
        """The audience's current guard, for bodies that are not views (errors, documents)."""
        hit = self._guards.get(audience)
        return hit[1] if hit is not None else None

    def guard_for(self, audience: str, policy: ActivePolicy, snapshot: Snapshot) -> Guard:
        # what is disclosed follows from the policy and the same data the vocabulary reads
        key = (vocabulary_revision(snapshot), policy.version)
        hit = self._guards.get(audience)
        if hit is not None and hit[0] == key:
            return hit[1]
        disclosed = disclosed_for(policy, snapshot, audience)
        guard = Guard(build_vocabulary(snapshot, disclosed=disclosed))
        self._guards[audience] = (key, guard)
        return guard

    def check(self, audience: str, guard: Guard, bodies: Mapping[str, bytes]) -> list[Withheld]:
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


def _report(audience: str, view: str, hits: list[Hit]) -> Withheld:
    classes = tuple(sorted({h.term_class.value for h in hits}))
    digests = tuple(sorted({h.digest for h in hits}))
    return Withheld(audience, view, classes, digests)
