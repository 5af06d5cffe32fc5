"""One automaton over every spelling of every term, in three tiers so that a change costs
little: a large base rebuilt rarely, a middle tier, and a small tier rebuilt per change."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import ahocorasick  # type: ignore[import-not-found]

from gateway.leakguard.automaton import _LEFT, _RIGHT, _V6, _WORD, _WORD_V6, _escape_before
from gateway.leakguard.spellings import encodings, spellings
from gateway.leakguard.terms import MIN_LENGTH, TermClass

Pair = tuple[str, TermClass]

# pyahocorasick must make_automaton() over all its keys after any addition: new keys go to a
# small tier rebuilt per change; when that passes SMALL keys it is merged into the middle tier;
# when the middle tier passes MID_FRACTION of the base, or dead entries DEAD_FRACTION of the
# live ones, everything is compacted into one base without the dead. Each key is so rebuilt a
# bounded number of times on average, and a scan makes at most three passes.
SMALL = 1024
MID_FRACTION = 0.125
DEAD_FRACTION = 0.25


def _automaton(keys: list[str], lo: int, hi: int) -> Any:
    if lo >= hi:
        return None
    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS, ahocorasick.KEY_STRING)
    for kid in range(lo, hi):
        automaton.add_word(keys[kid], kid)
    automaton.make_automaton()
    return automaton


@dataclass(slots=True)
class _Index:
    """Replaced as a whole on compaction, so a reader that took it sees one consistent state."""

    keys: dict[str, int] = field(default_factory=dict)  # spelling → key number
    key_str: list[str] = field(default_factory=list)
    key_len: array[int] = field(default_factory=lambda: array("l"))
    # a key's first owner: entry << 3 | bound flags; the rarer further owners apart
    owner: array[int] = field(default_factory=lambda: array("q"))
    more: dict[int, list[int]] = field(default_factory=dict)
    entry_pair: list[Pair] = field(default_factory=list)
    entry_of: dict[Pair, int] = field(default_factory=dict)
    live: bytearray = field(default_factory=bytearray)
    dead: int = 0
    mid_at: int = 0  # key numbers [0, mid_at) are in the base, [mid_at, small_at) the middle
    small_at: int = 0
    built_at: int = 0  # keys up to here are in an automaton
    tiers: tuple[Any, ...] = ()


def _keys_of(term: str, cls: TermClass) -> set[str]:
    """Every key of one term: its spellings and their encodings, as a body's bytes read."""
    out: set[str] = set()
    for form, encode in spellings(term, cls).items():
        for variant in encodings(form) if encode else (form,):
            # UTF-8 read as latin-1, lower-cased as bytes are: one char per body byte
            key = variant.encode().lower().decode("latin-1")
            if len(key) >= MIN_LENGTH:
                out.add(key)
    return out


class TieredAutomaton:
    """Entries are (term, class) pairs; ``add`` and ``remove`` mark them live or dead, and
    ``commit`` rebuilds what must be rebuilt. Matches of dead entries are dropped on a hit."""

    def __init__(self) -> None:
        self._index = _Index()
        self.rebuilt_keys = 0  # keys put into automata so far: the cost the bench reports

    def __len__(self) -> int:
        """How many spellings the automata hold."""
        return len(self._index.key_str)

    @property
    def dead(self) -> int:
        return self._index.dead

    def add(self, pair: Pair) -> None:
        ix = self._index
        entry = ix.entry_of.get(pair)
        if entry is not None:
            if not ix.live[entry]:
                ix.live[entry] = 1
                ix.dead -= 1
            return
        entry = len(ix.entry_pair)
        ix.entry_pair.append(pair)
        ix.entry_of[pair] = entry
        ix.live.append(1)
        term, cls = pair
        v6 = _LEFT | _RIGHT | _V6 if cls is TermClass.ADDRESS and ":" in term else 0
        for key in _keys_of(term, cls):
            # an IPv6 key is bounded even at "::": 2001:db8:: is not in 2001:db8::1
            flags = v6 or (_LEFT if key[0] in _WORD else 0) | (_RIGHT if key[-1] in _WORD else 0)
            owner = entry << 3 | flags
            kid = ix.keys.get(key)
            if kid is None:
                ix.keys[key] = len(ix.key_str)
                ix.key_str.append(key)
                ix.key_len.append(len(key))
                ix.owner.append(owner)
            else:
                ix.more.setdefault(kid, []).append(owner)

    def remove(self, pair: Pair) -> None:
        ix = self._index
        entry = ix.entry_of.get(pair)
        if entry is not None and ix.live[entry]:
            ix.live[entry] = 0
            ix.dead += 1

    def commit(self) -> None:
        """Make every added key findable; compact when the tiers or the dead grew too big."""
        ix = self._index
        end = len(ix.key_str)
        live = len(ix.entry_pair) - ix.dead
        mid = end - ix.mid_at
        if ix.dead > DEAD_FRACTION * max(live, SMALL) or mid > max(
            SMALL * 4, MID_FRACTION * ix.mid_at
        ):
            self.compact()
            return
        if end == ix.built_at:
            return  # nothing new to find: entries only turned live or dead
        base = ix.tiers[0] if ix.tiers else None
        middle = ix.tiers[1] if len(ix.tiers) > 1 else None
        if end - ix.small_at > SMALL:  # the small tier is full: into the middle one
            middle = _automaton(ix.key_str, ix.mid_at, end)
            self.rebuilt_keys += end - ix.mid_at
            ix.small_at = end
        small = _automaton(ix.key_str, ix.small_at, end)
        self.rebuilt_keys += end - ix.small_at
        ix.tiers = (base, middle, small)
        ix.built_at = end

    def compact(self) -> None:
        """One base of the live entries only; the dead and keys only they had are dropped.
        Keys are carried over, not spelled again: spelling is most of the cost of a build."""
        old, ix = self._index, _Index()
        if not old.dead:  # nothing to drop: one automaton over the keys as they are
            end = len(old.key_str)
            old.tiers = (_automaton(old.key_str, 0, end), None, None)
            old.mid_at = old.small_at = old.built_at = end
            self.rebuilt_keys += end
            return
        renumbered: dict[int, int] = {}
        for entry, pair in enumerate(old.entry_pair):
            if old.live[entry]:
                renumbered[entry] = len(ix.entry_pair)
                ix.entry_of[pair] = len(ix.entry_pair)
                ix.entry_pair.append(pair)
        ix.live = bytearray(b"\x01") * len(ix.entry_pair)
        for kid, key in enumerate(old.key_str):
            owners = [
                renumbered[owner >> 3] << 3 | owner & 7
                for owner in (old.owner[kid], *old.more.get(kid, ()))
                if owner >> 3 in renumbered
            ]
            if owners:
                if len(owners) > 1:
                    ix.more[len(ix.key_str)] = owners[1:]
                ix.keys[key] = len(ix.key_str)
                ix.key_str.append(key)
                ix.key_len.append(len(key))
                ix.owner.append(owners[0])
        end = len(ix.key_str)
        ix.tiers = (_automaton(ix.key_str, 0, end), None, None)
        ix.mid_at = ix.small_at = ix.built_at = end
        self.rebuilt_keys += end
        self._index = ix

    def matches(self, text: str) -> Iterator[tuple[int, list[Pair]]]:
        """(start, live pairs whose key matches there bounded as a word) for every match in the
        lower-cased latin-1 ``text``."""
        ix = self._index
        if not text:
            return
        last = len(text) - 1
        key_len, first, more, live, pairs = ix.key_len, ix.owner, ix.more, ix.live, ix.entry_pair
        for automaton in ix.tiers:
            if automaton is None:
                continue
            for end, kid in automaton.iter(text):
                start = end - key_len[kid] + 1
                extra = more.get(kid)
                owners = (first[kid],) if extra is None else (first[kid], *extra)
                found: list[Pair] = []
                for owner in owners:
                    if not live[owner >> 3]:
                        continue
                    flags = owner & 7
                    if flags:
                        word = _WORD_V6 if flags & _V6 else _WORD
                        if flags & _RIGHT and end < last and text[end + 1] in word:
                            continue
                        left = start > 0 and text[start - 1] in word
                        if flags & _LEFT and left and not _escape_before(text, start):
                            continue
                    found.append(pairs[owner >> 3])
                if found:
                    yield start, found
