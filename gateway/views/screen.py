"""The second line: every new view body is scanned before it is published; a hit withholds it."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from gateway.disclosure.disclosed import disclosed_for
from gateway.disclosure.engine import CompiledPolicy
from gateway.disclosure.guard import Guard, Hit, build_vocabulary, vocabulary_revision
from gateway.model import Snapshot
from gateway.views.cache import AudienceViews, carry_view

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

    def guard_for(self, audience: str, policy: CompiledPolicy, snapshot: Snapshot) -> Guard:
        # what is disclosed follows from the policy and the same data the vocabulary reads
        key = (vocabulary_revision(snapshot), policy.version)
        hit = self._guards.get(audience)
        if hit is not None and hit[0] == key:
            return hit[1]
        disclosed = disclosed_for(policy, snapshot, audience)
        guard = Guard(build_vocabulary(snapshot, disclosed=disclosed))
        self._guards[audience] = (key, guard)
        return guard

    def screen(
        self,
        audience: str,
        guard: Guard,
        new: AudienceViews,
        previous: AudienceViews,
    ) -> tuple[AudienceViews, list[Withheld]]:
        """``new`` with every view whose new body leaks put back to its previous version (or
        withdrawn, when it had none: served as 503)."""
        withheld: list[Withheld] = []
        for view, rendered in new.views.items():
            old = previous.views.get(view)
            if old is not None and old.body is rendered.body:
                continue  # carried over: scanned when it was new
            hits = guard.scan(rendered.body)
            if hits:
                withheld.append(_report(audience, view, hits))
        if not withheld:
            return new, []
        for item in withheld:
            new = _revert(new, previous, item.view)
            for cls in item.classes:
                self.counts[f"{item.view}:{cls}"] += 1
            # the matched values never reach a log: classes and digests only
            log.error(
                "leak guard withheld %s for %s: %s (digests %s); the previous version stays",
                item.view, audience, ", ".join(item.classes), ", ".join(item.digests),
            )  # fmt: skip
            if self._on_leak is not None:
                self._on_leak(item)
        return new, withheld


def _report(audience: str, view: str, hits: list[Hit]) -> Withheld:
    classes = tuple(sorted({h.term_class.value for h in hits}))
    digests = tuple(sorted({h.digest for h in hits}))
    return Withheld(audience, view, classes, digests)


def _revert(new: AudienceViews, previous: AudienceViews, view: str) -> AudienceViews:
    views = {k: v for k, v in new.views.items() if k != view}
    contents = {k: v for k, v in new.contents.items() if k != view}
    items = {k: v for k, v in new.items.items() if k[0] != view}
    item_contents = {k: v for k, v in new.item_contents.items() if k[0] != view}
    withheld = new.withheld
    if not carry_view(previous, view, views, contents, items, item_contents):
        # nothing good to fall back on: the view answers 503 until a clean render
        withheld = withheld | {view}
    return replace(
        new,
        views=views,
        contents=contents,
        items=items,
        item_contents=item_contents,
        withheld=withheld,
    )
