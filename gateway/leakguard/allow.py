"""One audience's view of the shared vocabulary: what its policy shows is allowed, on a hit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import astuple, replace
from typing import Protocol

from gateway.leakguard.automaton import Guard
from gateway.leakguard.shared import SharedVocabulary
from gateway.leakguard.terms import DisclosedTerms, Hit, TermClass, Vocabulary


class Scanner(Protocol):
    """Anything that finds internal terms in a body: ``Guard``, ``AudienceGuard``."""

    def scan(self, body: bytes) -> list[Hit]: ...


class Allowance:
    """The terms an audience's policy shows on purpose, decided on a hit rather than up front,
    so this holds only what the audience discloses and what hit in its bodies.

    A term is allowed when it occurs (in any plain spelling, bounded as a word) in what the
    policy shows as is: shared ids, the audience's own names, kept text; or when every object
    that contributes it is free text the audience keeps (the tokens of kept text are no
    vocabulary of its own, as a per-audience build never tokenised that text)."""

    __slots__ = ("_memo", "_occurs", "_shown", "_verdicts", "disclosed", "kept")

    def __init__(self, disclosed: DisclosedTerms, vocabulary: SharedVocabulary) -> None:
        self.disclosed = disclosed
        shown = astuple(replace(disclosed, written=frozenset()))
        self._shown = "\n".join(v for group in shown for v in group).encode()
        self._occurs: dict[tuple[str, TermClass], bool] = {}
        # term → (the classes it was held under, whether it occurs in what is shown)
        self._memo: dict[str, tuple[tuple[TermClass, ...], bool]] = {}
        kept: dict[str, list[str]] = {}
        for text in disclosed.texts | disclosed.written:
            for term, _ in vocabulary.text_pairs(text):
                kept.setdefault(term, []).append(text)
        self.kept = {term: tuple(texts) for term, texts in kept.items()}
        self._verdicts: tuple[tuple[int, int], dict[str, bool]] = ((0, -1), {})

    def verdicts(self, vocabulary: SharedVocabulary) -> dict[str, bool]:
        """term → allowed, for the vocabulary at its current revision: a body that names the
        audience's own circuit a thousand times decides it once."""
        key = (id(vocabulary), vocabulary.revision)
        cached = self._verdicts
        if cached[0] != key:
            cached = self._verdicts = (key, {})
        return cached[1]

    def allows(self, term: str, vocabulary: SharedVocabulary) -> bool:
        texts = self.kept.get(term)
        if texts is not None:
            count = vocabulary.text_count
            if sum(count[text] for text in texts) >= vocabulary.term_refs[term]:
                return True
        if not self._shown:
            return False
        classes = vocabulary.classes_of(term)
        memo = self._memo.get(term)
        if memo is not None and memo[0] == classes:
            return memo[1]
        found = any(self._occurs_as(term, cls) for cls in classes)
        self._memo[term] = (classes, found)
        return found

    def _occurs_as(self, term: str, cls: TermClass) -> bool:
        pair = (term, cls)
        found = self._occurs.get(pair)
        if found is None:
            # the same matcher a per-audience build used on the shown strings: spellings, no
            # encodings, bounded as words; built once per (audience, term) that hit
            guard = Guard(Vocabulary({term: cls}), encoded=False)
            found = self._occurs[pair] = bool(guard.terms_in(self._shown))
        return found


class AudienceGuard:
    """Scans a body with the shared automaton and flags the terms this audience may not see.

    ``revision`` binds it to the snapshot a render read: scanning after the shared terms moved
    on raises, so that render fails closed rather than being checked against other data."""

    __slots__ = ("_allowance", "_revision", "_vocabulary")

    def __init__(
        self, vocabulary: SharedVocabulary, allowance: Allowance, revision: int | None = None
    ) -> None:
        self._vocabulary = vocabulary
        self._allowance = allowance
        self._revision = revision

    def __len__(self) -> int:
        """How many spellings the shared automaton holds."""
        return len(self._vocabulary.automaton)

    def scan(self, body: bytes) -> list[Hit]:
        """Every term in ``body`` (as sent) this audience may not see, by offset."""
        vocabulary = self._vocabulary
        if self._revision is not None and vocabulary.revision != self._revision:
            raise RuntimeError("the shared vocabulary moved on during a render")
        if not body:
            return []
        # ASCII-only lower-casing: IPv6 and %2F/%2f, \u00E9/\u00e9 in either case, same offsets
        text = body.lower().decode("latin-1")
        hits = []
        allowance = self._allowance
        verdicts = allowance.verdicts(vocabulary)
        for start, pairs in vocabulary.automaton.matches(text):
            for term, cls in pairs:
                allowed = verdicts.get(term)
                if allowed is None:
                    allowed = verdicts[term] = allowance.allows(term, vocabulary)
                if not allowed:
                    hits.append(Hit(cls, _digest(term), start))
                    break
        hits.sort(key=lambda hit: hit.offset)
        return hits

    def terms(self, body: bytes) -> set[str]:
        """The terms this audience may not see in ``body``: for tests, never for logging."""
        text = body.lower().decode("latin-1")
        return {
            term
            for _, pairs in self._vocabulary.automaton.matches(text)
            for term in _terms(pairs)
            if not self._allowance.allows(term, self._vocabulary)
        }


def _terms(pairs: Iterable[tuple[str, TermClass]]) -> list[str]:
    return [term for term, _ in pairs]


def _digest(term: str) -> str:
    return hashlib.sha256(term.encode()).hexdigest()[:12]
