"""The leak guard, the second line of defence: every body a peer or customer gets is scanned
for internal terms its policy does not disclose, and withheld on a hit (fail closed).

It is independent of the engine it checks. Its vocabulary is read from the internal model
(``gateway.model``), never from rendered views. It may reuse the policy types and the built-in
row scopes (``gateway.disclosure.policy``, ``gateway.disclosure.scope``: which rows are an
audience's own, so its own names are not flagged), and nothing else of the engine: no
projection, no rendering, no pseudonyms. Nothing here imports ``views`` or ``api``.

One vocabulary and automaton serve every audience (``shared``, ``tiers``): each model object
contributes terms, counted while any object holds them, followed from the committed changes;
an audience's policy only adds an allowance of what it shows on purpose (``allow``).
"""

from gateway.leakguard.allow import Allowance, AudienceGuard
from gateway.leakguard.automaton import Guard
from gateway.leakguard.shared import SharedVocabulary
from gateway.leakguard.terms import DisclosedTerms, Hit, TermClass, Vocabulary
from gateway.leakguard.vocabulary import build_vocabulary, vocabulary_revision

__all__ = [
    "Allowance",
    "AudienceGuard",
    "DisclosedTerms",
    "Guard",
    "Hit",
    "SharedVocabulary",
    "TermClass",
    "Vocabulary",
    "build_vocabulary",
    "vocabulary_revision",
]
