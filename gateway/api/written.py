"""Text written for customers, checked before it is stored: nothing internal, nothing ahead."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from gateway.errors import InvalidInput, Problem, json_path
from gateway.leakguard.admission import internal_terms
from gateway.leakguard.screen import Screen
from gateway.leakguard.shared import SharedVocabulary, vocabulary_of
from gateway.model import Change, Snapshot, StatusUpdate, UpsertIncidents, UpsertMaintenance

#: clocks differ a little; an update dated further ahead would set a status before its time
MAX_AHEAD = timedelta(minutes=5)
Loc = tuple[str | int, ...]


def vocabulary(screen: Screen, snapshot: Snapshot) -> SharedVocabulary:
    """The guard's terms at ``snapshot``: the live ones, or (guard off, or they moved past
    it) a build from the snapshot, shared with every other user of that snapshot."""
    if screen.enabled and screen.vocabulary.at(snapshot):
        return screen.vocabulary
    return vocabulary_of(snapshot)


def check_text(vocab: SharedVocabulary, text: str | None, where: Loc) -> list[Problem]:
    if not text:
        return []
    return [Problem(json_path(where), named.message()) for named in internal_terms(vocab, text)]


def check_update(vocab: SharedVocabulary, update: StatusUpdate, where: Loc,
                 now: datetime) -> list[Problem]:  # fmt: skip
    problems = check_text(vocab, update.text, (*where, "text"))
    if update.at > now + MAX_AHEAD:
        message = (
            f"{update.at.isoformat()} is ahead of the gateway's clock ({now.isoformat()}): an "
            "update says what happened, not what will"
        )
        problems.append(Problem(json_path((*where, "at")), message))
    return problems


def check_change(screen: Screen, snapshot: Snapshot, change: Change, now: datetime) -> None:
    """Refuse (422, every problem with its JSON path) a change whose text for customers names
    the network's internals, or whose updates are dated ahead; anything else passes as is.
    Blocking: call it off the event loop."""
    problems = list(_problems(screen, snapshot, change, now))
    if problems:
        raise InvalidInput(problems)


def _problems(
    screen: Screen, snapshot: Snapshot, change: Change, now: datetime
) -> Iterator[Problem]:
    match change:
        case UpsertIncidents(incidents=patches):
            vocab = vocabulary(screen, snapshot)
            for i, patch in enumerate(patches):
                at: Loc = ("incidents", i)
                yield from check_text(vocab, patch.title, (*at, "title"))
                for j, update in enumerate(patch.updates):
                    yield from check_update(vocab, update, (*at, "updates", j), now)
                if not patch.updates and patch.incident_id not in snapshot.incidents:
                    message = "a new incident needs its first update (its status, and when)"
                    yield Problem(json_path((*at, "updates")), message)
        case UpsertMaintenance(windows=windows) if any(w.updates for w in windows):
            vocab = vocabulary(screen, snapshot)
            for i, window in enumerate(windows):
                for j, update in enumerate(window.updates):
                    yield from check_update(vocab, update, ("maintenance", i, "updates", j), now)
        case _:
            return
