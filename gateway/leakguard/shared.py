"""One vocabulary of internal terms for every audience, reference-counted per model object and
kept at exactly the revision of the snapshot being scanned by following the committed changes."""

from __future__ import annotations

import threading
import weakref
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from typing import Protocol

from gateway.leakguard.contributions import (
    EXTRA,
    Contribution,
    ObjectKey,
    Pair,
    UnknownChange,
    extra_terms,
    object_terms,
    snapshot_keys,
    text_terms,
    touched,
)
from gateway.leakguard.terms import TermClass
from gateway.leakguard.tiers import TieredAutomaton
from gateway.model import Change, Snapshot

MAX_PENDING = 100_000  # queued changes; past this, one rebuild is cheaper than replaying them


class CommittedChange(Protocol):
    """What the vocabulary reads of a committed change (``gateway.store.Committed``)."""

    @property
    def revision(self) -> int: ...

    @property
    def change(self) -> Change: ...


class SharedVocabulary:
    """Terms held while any object contributes them; its automaton follows the same counts.

    ``follow`` queues committed changes (on the event loop, never blocking); ``at`` applies
    those up to a snapshot's revision, reading the touched objects from that snapshot, so the
    terms are exactly that snapshot's. When the queue does not connect the current revision to
    the snapshot's, or holds a change type it does not know, it rebuilds from the snapshot.
    """

    def __init__(self, extra: Iterable[tuple[TermClass, str]] = ()) -> None:
        self.automaton = TieredAutomaton()
        self.revision = -1  # of the snapshot the terms are exactly those of; -1: none yet
        self.rebuilds = 0  # from-scratch builds, for the bench and the tests
        self._anchor: weakref.ref[Snapshot] | None = None
        self._lock = threading.Lock()  # one writer at a time; scans read without it
        self._pending: deque[tuple[int, Change]] = deque()  # appended on the event loop
        self._objects: dict[ObjectKey, Contribution] = {}
        self._pair_refs: Counter[Pair] = Counter()
        self.term_refs: Counter[str] = Counter()  # contributions per term, all classes
        self._classes: dict[str, tuple[TermClass, ...]] = {}
        self.text_count: Counter[str] = Counter()  # objects per distinct free text
        self._text_pairs: dict[str, frozenset[Pair]] = {}
        self._extra = extra_terms(extra)
        self._overflowed = False

    def __len__(self) -> int:
        return len(self.term_refs)

    def follow(self, batch: Sequence[CommittedChange]) -> None:
        """A store commit listener: queue the batch, to be applied by the next ``at``."""
        self._pending.extend((c.revision, c.change) for c in batch)
        if len(self._pending) > MAX_PENDING:  # nobody scans (no audience yet): rebuild later
            self._pending.clear()
            self._overflowed = True

    def terms(self) -> dict[str, set[TermClass]]:
        """Every live term and its classes (for tests and the bench, not the hot path)."""
        out: dict[str, set[TermClass]] = {}
        for term, cls in self._pair_refs:
            out.setdefault(term, set()).add(cls)
        return out

    def classes_of(self, term: str) -> tuple[TermClass, ...]:
        """The classes ``term`` is held under now (usually one)."""
        return self._classes.get(term, ())

    def text_pairs(self, text: str) -> frozenset[Pair]:
        """The tokens of one free text (cached while some object carries it)."""
        pairs = self._text_pairs.get(text)
        return pairs if pairs is not None else text_terms(text)

    def at(self, snapshot: Snapshot) -> bool:
        """Bring the terms to exactly ``snapshot``'s; False when it is older than they already
        are (the caller then builds from scratch for it: terms cannot go back)."""
        with self._lock:
            anchor = self._anchor() if self._anchor is not None else None
            if anchor is snapshot and not self._overflowed:
                return True
            if snapshot.revision < self.revision:
                return False
            try:
                # the same revision from another object is another lineage (a test's, a
                # reloaded store's): nothing connects the two
                fresh = self.revision < 0 or snapshot.revision == self.revision
                if fresh or self._overflowed or not self._advance(snapshot):
                    self._overflowed = False
                    self.rebuild(snapshot)
            except BaseException:
                self._reset()  # counts half-applied are worse than none: start over next time
                raise
            self._anchor = weakref.ref(snapshot)
            self.revision = snapshot.revision
            return True

    def _reset(self) -> None:
        self.automaton = TieredAutomaton()
        self.revision = -1
        self._anchor = None
        self._objects.clear()
        self._pair_refs.clear()
        self.term_refs.clear()
        self._classes.clear()
        self.text_count.clear()
        self._text_pairs.clear()

    def _advance(self, snapshot: Snapshot) -> bool:
        """Apply the queued changes up to ``snapshot``; False if they do not lead there."""
        pending, expect = self._pending, self.revision + 1
        while pending and pending[0][0] < expect:
            pending.popleft()  # already part of the terms (a rebuild read them)
        dirty: set[ObjectKey] = set()
        while pending and pending[0][0] <= snapshot.revision:
            revision, change = pending.popleft()
            if revision != expect:
                return False
            expect += 1
            try:
                dirty.update(touched(change))
            except UnknownChange:
                return False
        if expect != snapshot.revision + 1:
            return False
        for key in dirty:
            self._set(key, object_terms(snapshot, key))
        self.automaton.commit()
        return True

    def rebuild(self, snapshot: Snapshot) -> None:
        """Recount every object of ``snapshot``; the automaton changes only where terms did."""
        self.rebuilds += 1
        fresh = {key: object_terms(snapshot, key) for key in snapshot_keys(snapshot)}
        fresh[EXTRA] = self._extra
        for key in [k for k in self._objects if k not in fresh]:
            self._set(key, None)
        for key, contribution in fresh.items():
            self._set(key, contribution)
        self.automaton.commit()
        while self._pending and self._pending[0][0] <= snapshot.revision:
            self._pending.popleft()

    def _set(self, key: ObjectKey, new: Contribution | None) -> None:
        old = self._objects.get(key)
        if old == new:
            return
        if new is None:
            del self._objects[key]
        else:
            self._objects[key] = new
            self._hold(new, 1)
        if old is not None:  # after the new terms are held: a term in both never dies
            self._hold(old, -1)

    def _hold(self, contribution: Contribution, step: int) -> None:
        for pair in contribution.pairs:
            self._count(pair, step)
        text = contribution.text
        if text is None:
            return
        count = self.text_count[text] + step
        pairs = self._text_pairs.get(text)
        if pairs is None:
            pairs = self._text_pairs[text] = text_terms(text)
        if count:
            self.text_count[text] = count
        else:
            del self.text_count[text], self._text_pairs[text]
        for pair in pairs:
            self._count(pair, step)

    def _count(self, pair: Pair, step: int) -> None:
        refs = self._pair_refs[pair] + step
        term_refs = self.term_refs[pair[0]] + step
        if term_refs:
            self.term_refs[pair[0]] = term_refs
        else:
            del self.term_refs[pair[0]]
        term, cls = pair
        if refs:
            self._pair_refs[pair] = refs
            if refs == 1 and step == 1:
                self.automaton.add(pair)
                self._classes[term] = (*self._classes.get(term, ()), cls)
        else:
            del self._pair_refs[pair]
            self.automaton.remove(pair)
            left = tuple(c for c in self._classes[term] if c is not cls)
            if left:
                self._classes[term] = left
            else:
                del self._classes[term]


_scratch: weakref.WeakKeyDictionary[Snapshot, SharedVocabulary] = weakref.WeakKeyDictionary()
_scratch_lock = threading.Lock()


def vocabulary_of(snapshot: Snapshot) -> SharedVocabulary:
    """A vocabulary built from scratch for a snapshot the live one cannot serve (an older one,
    a preview's, an activation's): one per snapshot, shared by every audience scanned against
    it, and freed with the snapshot."""
    with _scratch_lock:
        vocabulary = _scratch.get(snapshot)
        if vocabulary is None:
            vocabulary = _scratch[snapshot] = SharedVocabulary()
            vocabulary.at(snapshot)
        return vocabulary
