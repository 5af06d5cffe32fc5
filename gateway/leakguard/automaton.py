"""The automaton: one pass over a body finds every spelling of every term, bounded as words."""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterator
from typing import Any

import ahocorasick  # type: ignore[import-not-found]

from gateway.leakguard.spellings import encodings, spellings
from gateway.leakguard.terms import MIN_LENGTH, Hit, TermClass, Vocabulary

_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")  # the body is lower-cased first
_WORD_V6 = _WORD | {":"}  # 2001:db8::1 is not a hit inside 2001:db8::1:5
_HEX = frozenset("0123456789abcdef")
_LEFT, _RIGHT, _V6 = 1, 2, 4


def _escape_before(text: str, start: int) -> bool:
    """Whether the letter or digit before ``start`` ends an escape (\\n, \\u00e9, %2F)."""
    p = start - 1
    return (
        text[p - 1 : p] == "\\"
        or (p >= 2 and text[p - 2] == "%" and text[p - 1] in _HEX and text[p] in _HEX)
        or (p >= 5 and text[p - 5 : p - 3] == "\\u" and set(text[p - 3 : p + 1]) <= _HEX)
    )


class Guard:
    """One automaton over every spelling of every term; ``scan`` is one pass over the body."""

    __slots__ = ("_automaton", "_key_meta", "_key_term", "_terms")

    def __init__(self, vocabulary: Vocabulary, *, encoded: bool = True) -> None:
        # a key's value is its number (STORE_INTS: 32 bits), its data in arrays: a guard over
        # 100,000 terms holds some 300,000 keys, and a tuple each would double its size
        self._automaton: Any = ahocorasick.Automaton(ahocorasick.STORE_INTS, ahocorasick.KEY_STRING)
        self._terms: list[tuple[TermClass, str, str]] = []
        self._key_term = array("l")  # term number
        self._key_meta = array("q")  # key length << 3 | flags
        seen: set[str] = set()
        for term, cls in vocabulary.terms.items():
            self._terms.append((cls, hashlib.sha256(term.encode()).hexdigest()[:12], term))
            v6 = _LEFT | _RIGHT | _V6 if cls is TermClass.ADDRESS and ":" in term else 0
            for form, encode in spellings(term, cls).items():
                for variant in encodings(form) if encoded and encode else (form,):
                    # UTF-8 read as latin-1, lower-cased as bytes are: one char per body byte
                    key = variant.encode().lower().decode("latin-1")
                    if len(key) < MIN_LENGTH or key in seen:
                        continue
                    seen.add(key)
                    # an IPv6 key is bounded even at "::": 2001:db8:: is not in 2001:db8::1
                    left, right = key[0] in _WORD, key[-1] in _WORD
                    flags = v6 or (_LEFT if left else 0) | (_RIGHT if right else 0)
                    self._automaton.add_word(key, len(self._key_term))
                    self._key_term.append(len(self._terms) - 1)
                    self._key_meta.append(len(key) << 3 | flags)
        if seen:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        """How many spellings the automaton holds."""
        return len(self._key_term)

    def _matches(self, body: bytes) -> Iterator[tuple[int, int]]:
        """(offset, term index) of every bounded match."""
        if not body or not self._key_term:
            return
        # ASCII-only lower-casing: IPv6 and %2F/%2f, \u00E9/\u00e9 in either case, same offsets
        text = body.lower().decode("latin-1")
        last = len(text) - 1
        for end, key in self._automaton.iter(text):
            meta = self._key_meta[key]
            flags, start = meta & 7, end - (meta >> 3) + 1
            word = _WORD_V6 if flags & _V6 else _WORD
            if flags & _RIGHT and end < last and text[end + 1] in word:
                continue
            left = start > 0 and text[start - 1] in word
            if flags & _LEFT and left and not _escape_before(text, start):
                continue
            yield start, self._key_term[key]

    def scan(self, body: bytes) -> list[Hit]:
        """Every term in ``body`` (as sent), by offset; an empty list when it is clean."""
        hits = [Hit(*self._terms[index][:2], start) for start, index in self._matches(body)]
        hits.sort(key=lambda hit: hit.offset)
        return hits

    def terms_in(self, body: bytes) -> set[str]:
        """The clear terms found in ``body``: for building vocabularies, never for logging."""
        return {self._terms[index][2] for _, index in self._matches(body)}
