"""Materialised views: rendered bytes per audience and view, with a strong ETag."""

from __future__ import annotations

import zlib
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter
from typing import Any

import msgspec

from gateway.leakguard.allow import Scanner
from gateway.leakguard.screen import Screen, Withheld
from gateway.views.pages import Key, bounds_of, etag_of, order_items, tie_break


@dataclass(frozen=True, slots=True)
class RenderedView:
    """Bytes ready to send; ``revision`` is the data revision at which the content last changed."""

    # the body, or when ``packed`` the body compressed (zlib): large views that change once a
    # day and are read seldom (the customers' histories: 390 MB at 30k nodes, a twentieth
    # packed) are inflated when served
    data: bytes
    etag: str
    revision: int
    policy_version: str
    # a list view's item keys and offsets in ``body``: its pages are cut from these bytes
    pages: PageIndex | None = None
    # where the content (the items or the document, without the envelope) is in ``body``:
    # what the next render is compared with, so the bytes are kept once (issue 10: the
    # customer histories were held four times over, 1.6 GB at 30k nodes)
    lo: int = 0
    hi: int | None = None
    packed: bool = False

    @property
    def body(self) -> bytes:
        return zlib.decompress(self.data) if self.packed else self.data

    def content(self) -> memoryview:
        return memoryview(self.body)[self.lo : self.hi]


@dataclass(frozen=True, slots=True)
class ItemView:
    """One item of a list view as a resource of its own (``/v1/services/{id}``): its bytes are
    a slice of the view's body, put in the item envelope when it is served, not kept twice."""

    audience: str
    name: str  # of the view the item is in
    of: RenderedView  # that view
    start: int  # where the item is in the view's body
    end: int
    etag: str
    revision: int  # when the item's own bytes last changed
    policy_version: str
    pages: None = None

    @property
    def body(self) -> bytes:
        one = self.of.body[self.start : self.end]
        return _envelope(self.audience, self.name, self.revision, self.policy_version, "item", one)

    def content(self) -> memoryview:
        return memoryview(self.of.body)[self.start : self.end]


#: what a view route serves: a whole view, or one item of one
Served = RenderedView | ItemView


#: pages built for one view are kept for repeated polls, within this many bytes beyond the
#: view's own size (and at most _MEMO_PAGES of them); the oldest go first
_MEMO_SLACK = 1 << 20
_MEMO_PAGES = 1024


@dataclass(slots=True, eq=False)
class PageIndex:
    """Sort keys of a list view's items and where each starts in the view's body."""

    keys: Sequence[Key]
    # bounds[i]: offset in the body where item i starts; bounds[n]: of the closing bracket + 1,
    # so items i..j-1 are body[bounds[i] : bounds[j] - 1]
    bounds: Sequence[int]
    _memo: dict[tuple[int, int], tuple[RenderedView, str | None]] = field(default_factory=dict)
    _memo_bytes: int = 0
    _starts: dict[str, int] = field(default_factory=dict)
    # filtered versions of this view (gateway.api.filters), kept while the view is current
    filtered: OrderedDict[Any, RenderedView] = field(default_factory=OrderedDict)

    def __len__(self) -> int:
        return len(self.keys)

    def key(self, body: bytes, i: int) -> Key:
        """Item i's full key: a unique id's tie-break is left out of ``keys`` (it decides
        nothing there) and computed here, for a cursor that must hold across renders."""
        ident, tie = self.keys[i]
        if not tie:
            tie = tie_break(body[self.bounds[i] : self.bounds[i + 1] - 1], 0)
        return ident, tie

    def start_after(self, body: bytes, after: Key) -> int:
        """Where the items after ``after`` begin."""
        ident, tie = after
        first = bisect_left(self.keys, ident, key=itemgetter(0))
        last = bisect_right(self.keys, ident, key=itemgetter(0))
        if last - first == 1:  # the id is unique now: compare with its full key
            return last if self.key(body, first)[1] <= tie else first
        return bisect_right(self.keys, after, first, last)  # ties stored, or no such id

    def remember(self, cursor: str, start: int) -> None:
        """A cursor checked (or issued) for this version of the view, and where it leads:
        the next request with it skips the check and the search."""
        if len(self._starts) >= _MEMO_PAGES:
            self._starts.clear()
        self._starts[cursor] = start

    def started(self, cursor: str) -> int | None:
        return self._starts.get(cursor)


def page_of(
    view: RenderedView, index: PageIndex, start: int, end: int, cursor: Callable[[Key], str]
) -> tuple[RenderedView, str | None]:
    """The page [start, end) of ``view``, with the ETag of its own bytes, and the cursor of
    the next page (None on the last); built once, then kept."""
    if start == 0 and end == len(index):
        return view, None  # the whole view fits: the page is the view, byte for byte
    memo = index._memo
    hit = memo.get((start, end))
    if hit is not None:
        return hit
    body = view.body
    bounds = index.bounds
    items = body[bounds[start] : bounds[end] - 1] if end > start else b""
    tail, token = b"]}", None
    if end < len(index):
        token = cursor(index.key(body, end - 1))
        index.remember(token, end)
        tail = b'],"next_cursor":"' + token.encode("ascii") + b'"}'
    page_body = body[: bounds[0]] + items + tail
    page = replace(view, data=page_body, etag=etag_of(page_body), pages=None, packed=False)
    if view.packed:
        return page, token  # not kept: a packed view is kept small, and is read seldom
    budget = len(body) + _MEMO_SLACK
    while memo and (index._memo_bytes + len(page_body) > budget or len(memo) >= _MEMO_PAGES):
        index._memo_bytes -= len(memo.pop(next(iter(memo)))[0].body)
    memo[(start, end)] = page, token
    index._memo_bytes += len(page_body)
    return page, token


@dataclass(frozen=True, slots=True)
class AudienceViews:
    """One audience's views, swapped as a whole so a reader never sees a mix of two renders."""

    views: Mapping[str, RenderedView] = field(default_factory=dict)
    # (view, published item id) → one item of a view, as a resource of its own
    items: Mapping[tuple[str, str], ItemView] = field(default_factory=dict)
    # views the leak guard stopped with no earlier version to fall back on: served as 503
    withheld: frozenset[str] = frozenset()


NETWORKS = "ietf-network:networks"
# msgspec: the one JSON library of the hot paths (bench/json_libs.py says why)
_encode = msgspec.json.Encoder().encode


def _head(audience: str, view: str, revision: int, policy: str, key: str) -> bytes:
    """The envelope up to the value of ``key``."""
    head = _encode(
        {"audience": audience, "view": view, "revision": revision, "policy_version": policy}
    )
    return head[:-1] + b',"' + key.encode() + b'":'


def _envelope(
    audience: str, view: str, revision: int, policy: str, key: str, payload: bytes
) -> bytes:
    # splice the already-serialised payload in rather than serialising the items twice
    return _head(audience, view, revision, policy, key) + payload + b"}"


def carry_view(
    previous: AudienceViews,
    view: str,
    views: dict[str, RenderedView],
    items: dict[tuple[str, str], ItemView],
) -> bool:
    """Copy ``view`` and its items from ``previous`` into the given maps; False if it had none."""
    if view not in previous.views:
        return False
    views[view] = previous.views[view]
    for key, item in previous.items.items():
        if key[0] == view:
            items[key] = item
    return True


def build_views(
    audience: str,
    previous: AudienceViews,
    rendered: Mapping[str, list[dict[str, Any]] | dict[str, Any]],
    revision: int,
    policy_version: str,
    keep: frozenset[str] = frozenset(),
    packed: frozenset[str] = frozenset(),
) -> AudienceViews:
    """The next AudienceViews: unchanged content keeps its bytes and ETag, so pollers get 304.

    Views in ``keep`` were not re-rendered and are carried over as they are; those in
    ``packed`` are kept compressed.
    """
    views: dict[str, RenderedView] = {}
    items: dict[tuple[str, str], ItemView] = {}

    for view in keep:
        carry_view(previous, view, views, items)
    for view, rows in rendered.items():
        if isinstance(rows, dict):
            payload = _encode(rows)
        else:
            # each item on its own, then joined: the same bytes as the list encoded whole,
            # with every item's place known (its pages, its own resource)
            ids = [str(row.get("id", "")) for row in rows]
            keys, parts = order_items(ids, [_encode(row) for row in rows])
            payload = b"[" + b",".join(parts) + b"]"
        old = previous.views.get(view)
        same_policy = old is not None and old.policy_version == policy_version
        # the previous body, inflated once if it is packed: compared whole, then per item
        old_body = old.body if same_policy and old is not None else None
        if (
            old is not None
            and old_body is not None
            and memoryview(old_body)[old.lo : old.hi] == payload
        ):
            carry_view(previous, view, views, items)
            continue
        if isinstance(rows, dict):
            # a document: RFC 8345 goes out as the standard says, bare; ours in the envelope
            if NETWORKS in rows:
                views[view] = RenderedView(payload, etag_of(payload), revision, policy_version)
                continue
            head = _head(audience, view, revision, policy_version, view)
            body = head + payload + b"}"
            views[view] = RenderedView(body, etag_of(body), revision, policy_version, None,
                                       len(head), -1)  # fmt: skip
            continue
        head = _head(audience, view, revision, policy_version, "items")
        body = head + payload + b"}"
        bounds = bounds_of(parts, len(head))
        index = PageIndex(keys, bounds)
        pack = view in packed
        data = zlib.compress(body, 1) if pack else body
        rendered_view = RenderedView(data, etag_of(body), revision, policy_version, index,
                                     len(head), -1, pack)  # fmt: skip
        views[view] = rendered_view
        for i, (row, (ident, tie), one) in enumerate(zip(rows, keys, parts, strict=True)):
            if "id" not in row or tie:
                continue  # no id, or one several items share: no resource of its own
            key = (view, ident)
            start, end = bounds[i], bounds[i] + len(one)
            was = previous.items.get(key) if same_policy else None
            if was is not None and _same(was, old, old_body, one):
                # this item did not change: same bytes, same ETag (now cut from the new body)
                items[key] = replace(was, of=rendered_view, start=start, end=end)
                continue
            envelope = _envelope(audience, view, revision, policy_version, "item", one)
            items[key] = ItemView(audience, view, rendered_view, start, end,
                                  etag_of(envelope), revision, policy_version)  # fmt: skip
    return AudienceViews(
        views=views,
        items=items,
        withheld=frozenset(v for v in previous.withheld if v in keep),
    )


def _same(item: ItemView, old: RenderedView | None, body: bytes | None, one: bytes) -> bool:
    """Whether ``item`` holds the bytes ``one``; ``body``: those of ``old``, inflated."""
    if body is not None and item.of is old:
        return memoryview(body)[item.start : item.end] == one
    return item.content() == one


PublishListener = Callable[[str, AudienceViews, AudienceViews], None]


class ViewCache:
    """Every audience's current views. Reads are dictionary lookups; writes swap whole values."""

    def __init__(self) -> None:
        self._audiences: dict[str, AudienceViews] = {}
        self.revision = 0  # the newest data revision every view has been checked against
        self._listeners: list[PublishListener] = []

    def get(self, audience: str) -> AudienceViews:
        return self._audiences.get(audience, _EMPTY)

    def on_publish(self, listener: PublishListener) -> None:
        """Call ``listener(audience, previous, new)`` on the event loop after every publish
        and drop (``new`` empty): long-polls wake, the change feed diffs (gateway.push)."""
        self._listeners.append(listener)

    def publish(self, audience: str, views: AudienceViews) -> None:
        previous = self._audiences.get(audience, _EMPTY)
        self._audiences[audience] = views
        for listener in self._listeners:
            listener(audience, previous, views)

    def drop(self, audience: str) -> None:
        previous = self._audiences.pop(audience, None)
        if previous is not None:
            for listener in self._listeners:
                listener(audience, previous, _EMPTY)


_EMPTY = AudienceViews()


def screen_views(
    screen: Screen, audience: str, guard: Scanner, new: AudienceViews, previous: AudienceViews
) -> tuple[AudienceViews, list[Withheld]]:
    """``new`` with every view whose new body leaks put back to its previous version (or
    withdrawn, when it had none: served as 503)."""
    fresh = {
        view: rendered.body
        for view, rendered in new.views.items()
        if (old := previous.views.get(view)) is None or old.data is not rendered.data
    }
    withheld = screen.check(audience, guard, fresh)
    for item in withheld:
        new = _revert(new, previous, item.view)
    return new, withheld


def _revert(new: AudienceViews, previous: AudienceViews, view: str) -> AudienceViews:
    views = {k: v for k, v in new.views.items() if k != view}
    items = {k: v for k, v in new.items.items() if k[0] != view}
    withheld = new.withheld
    if not carry_view(previous, view, views, items):
        # nothing good to fall back on: the view answers 503 until a clean render
        withheld = withheld | {view}
    return replace(new, views=views, items=items, withheld=withheld)
