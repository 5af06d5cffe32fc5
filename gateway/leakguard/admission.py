"""The leak guard at the door: text written for customers that names the network is refused."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.leakguard.shared import SharedVocabulary
from gateway.leakguard.terms import TermClass

#: what no customer is ever shown: a text naming one is refused before it is stored. Service
#: ids and names are a customer's own (its views show them), and tokens of other free text
#: may be plain words: those two are left to the guard on the way out, which knows the
#: audience (a view that names another customer's service is withheld there).
REFUSED = frozenset(TermClass) - {
    TermClass.SERVICE_ID,
    TermClass.SERVICE_NAME,
    TermClass.TEXT_TOKEN,
}
_WORDS = {
    TermClass.NODE_ID: "a router id",
    TermClass.NODE_NAME: "a router name",
    TermClass.TP_NAME: "a port name",
    TermClass.LINK_ID: "a link id",
    TermClass.LINK_NAME: "a link name",
    TermClass.SITE: "a site",
    TermClass.ADDRESS: "an address",
    TermClass.URL: "an internal URL",
    TermClass.HOSTNAME: "an internal host name",
    TermClass.LABEL_VALUE: "an alert label value",
    TermClass.ALARM_ID: "an alarm id",
    TermClass.MAINTENANCE_ID: "a maintenance id",
    TermClass.NETWORK_ID: "the network id",
}


@dataclass(frozen=True, slots=True)
class Named:
    """An internal term found in a text: what it is and how it is spelt there (for the staff
    member or source that wrote it: the internal listener's answer, never a public one)."""

    term: str
    term_class: TermClass

    def message(self) -> str:
        what = _WORDS.get(self.term_class, f"an internal {self.term_class.value}")
        return (
            f"names {what} ({self.term!r}): text for customers must not name the network's "
            "internals; describe the effect instead (e.g. which service, since when)"
        )


def internal_terms(vocabulary: SharedVocabulary, text: str) -> list[Named]:
    """The internal terms ``text`` names (each once, in order), with the guard's own matching:
    every spelling, bounded as a word. ``vocabulary`` must be at the snapshot in force."""
    if not text:
        return []
    # the automaton reads UTF-8 as latin-1, lower-cased as bytes: as it reads a body
    found: dict[str, Named] = {}
    for _, pairs in vocabulary.automaton.matches(text.encode().lower().decode("latin-1")):
        for term, cls in pairs:
            if cls in REFUSED and term not in found:
                found[term] = Named(term, cls)
    return list(found.values())


def first_named(vocabulary: SharedVocabulary, texts: Iterable[str | None]) -> Named | None:
    for text in texts:
        if text:
            hits = internal_terms(vocabulary, text)
            if hits:
                return hits[0]
    return None
