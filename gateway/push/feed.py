"""The change feed's writer: diffs each publication of an audience's views and appends events."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.push.events import DELETE, FOLLOWED, Change, diff, envelope
from gateway.push.longpoll import EVENTS, Waiters
from gateway.store.events import EventDb, NewEvent, StoredEvent
from gateway.views import AudienceViews

log = logging.getLogger("demarc.push")

Clock = Callable[[], datetime]
Items = dict[str, dict[str, bytes]]  # view → published id → item bytes


def iso(at: datetime) -> str:
    """UTC, millisecond precision, ``Z``: the form events are stored and sorted by."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _items(views: AudienceViews, names: Iterable[str]) -> Items:
    """Each named view's items with an id of their own, cut from the view's published bytes
    (where its page index says each item is: the same bytes the view and its pages send)."""
    out: Items = {}
    for name in names:
        items = out[name] = {}
        view = views.views.get(name)
        if view is None or view.pages is None:
            continue
        body, keys, bounds = view.body, view.pages.keys, view.pages.bounds
        for i, (ident, tie) in enumerate(keys):
            if ident and not tie:  # no id, or one several items share: not followed
                items[ident] = body[bounds[i] : bounds[i + 1] - 1]
    return out


@dataclass(frozen=True, slots=True)
class _Append:
    audience: str
    events: list[NewEvent]
    upserts: list[tuple[str, str, bytes]]
    deletes: list[tuple[str, str]]


class EventFeed:
    """Takes every publication from the view cache (on the event loop), then, in order and off
    the loop, diffs it against what the audience's feed last saw and appends the events and
    the new item state in one transaction. Its first diff of an audience after a start is
    against the state kept in the database, so changes made while the gateway was down (or
    published and not yet written when it died) become events then: nothing is skipped."""

    def __init__(
        self,
        db: EventDb,
        waiters: Waiters,
        *,
        clock: Clock = lambda: datetime.now(UTC),
        appended: Callable[[str], None] = lambda audience: None,
    ) -> None:
        self._db = db
        self._waiters = waiters
        self._clock = clock
        self._appended = appended
        self._queue: asyncio.Queue[tuple[str, AudienceViews, AudienceViews]] = asyncio.Queue()
        self._positions: dict[str, tuple[int, int]] = {}  # audience → (floor, last)
        self._synced: set[str] = set()  # audiences whose last publication is in the database
        self._idle = asyncio.Event()
        self._idle.set()
        self._lock = threading.Lock()  # the writer and a retention pass, in worker threads
        self.failures = 0

    def open(self) -> None:
        """Blocking: the feeds' positions, before anything is published."""
        self._positions = self._db.positions()

    def published(self, audience: str, previous: AudienceViews, new: AudienceViews) -> None:
        """The cache's publish listener (on the event loop): queue it, never block."""
        if previous is not new:
            self._idle.clear()
            self._queue.put_nowait((audience, previous, new))

    def position(self, audience: str) -> tuple[int, int]:
        """(floor, last): the events after ``floor`` up to ``last`` are kept."""
        return self._positions.get(audience, (0, 0))

    async def settled(self) -> None:
        """Wait until every publication so far is written (tests, a clean stop)."""
        await self._idle.wait()

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            written = await asyncio.to_thread(self._write, batch)
            for audience in written:
                self._waiters.wake(audience, (EVENTS,))
                self._appended(audience)
            if self._queue.empty():
                self._idle.set()

    def _write(self, batch: list[tuple[str, AudienceViews, AudienceViews]]) -> list[str]:
        """In a worker thread: each publication's events, in order, all of the batch in one
        durable transaction (one fsync, not one per audience: under single-alarm load the
        commits took 14% of the gateway's time); the audiences appended."""
        with self._lock:
            pending: list[_Append] = []
            last: dict[str, int] = {}  # the batch's own sequence numbers, not yet committed
            for audience, previous, new in batch:
                try:
                    after = last.get(audience, self.position(audience)[1])
                    append = self._prepare(audience, previous, new, after)
                except Exception as exc:  # its next publication diffs against the database
                    self.failures += 1
                    self._synced.discard(audience)
                    log.error("change feed of %s not written (%s)", audience, type(exc).__name__)
                    continue
                if append is not None:
                    pending.append(append)
                    last[audience] = append.events[-1].seq
            if not pending:
                return []
            try:
                self._db.append_many(
                    [(a.audience, a.events, a.upserts, a.deletes) for a in pending]
                )
            except Exception as exc:  # nothing of it kept: each diffs against the database again
                self.failures += 1
                for append in pending:
                    self._synced.discard(append.audience)
                log.error("change feed not written (%s)", type(exc).__name__)
                return []
            for audience, seq in last.items():
                self._positions[audience] = (self.position(audience)[0], seq)
            return list(last)

    def _prepare(
        self, audience: str, previous: AudienceViews, new: AudienceViews, last: int
    ) -> _Append | None:
        """The events of one publication after sequence number ``last``, or None."""
        # a view the leak guard withholds keeps what the feed last saw: it did not go away;
        # one withheld before (and maybe empty then) is diffed against the database again
        if previous.withheld != new.withheld:
            self._synced.discard(audience)
        names = [v for v in FOLLOWED if v not in new.withheld]
        if audience in self._synced:
            names = [v for v in names if previous.views.get(v) is not new.views.get(v)]
            old = _items(previous, names)
        else:
            old = {name: {} for name in names}
            for (view, ident), body in self._db.items(audience).items():
                if view in old:
                    old[view][ident] = body
        if not names:
            return None
        current = _items(new, names)
        changes: list[Change] = []
        for name in names:
            changes += diff(name, old[name], current[name])
        self._synced.add(audience)
        if not changes:
            return None
        at = iso(self._clock())
        events = []
        for seq, change in enumerate(changes, last + 1):
            source = new.views.get(change.view) or previous.views.get(change.view)
            revision, version = (source.revision, source.policy_version) if source else (0, "")
            kind, body = envelope(change, seq, at, revision, version)
            events.append(NewEvent(seq, at, kind, change.view, revision, version, body))
        upserts = [(c.view, c.ident, c.item) for c in changes if c.kind != DELETE]
        deletes = [(c.view, c.ident) for c in changes if c.kind == DELETE]
        return _Append(audience, events, upserts, deletes)

    def read(self, audience: str, after: int, limit: int) -> list[StoredEvent]:
        """Blocking: up to ``limit`` events after ``after``."""
        return self._db.events_after(audience, after, limit)

    def prune(self, retention_hours: float, keep: int, hold: dict[str, int]) -> int:
        """Blocking: one retention pass (gateway.store.events.EventDb.prune)."""
        before = iso(self._clock() - timedelta(hours=retention_hours))
        with self._lock:
            deleted = self._db.prune(before, keep, hold)
            if deleted:
                self._positions = self._db.positions()
        return deleted
