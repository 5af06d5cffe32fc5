"""Materialised views: rendered bytes per audience and view, with a strong ETag."""

from __future__ import annotations

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

    body: bytes
    etag: str
    revision: int
    policy_version: str
    # a list view's item keys and offsets in ``body``: its pages are cut from these bytes
    pages: PageIndex | None = None


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
    page = replace(view, body=page_body, etag=etag_of(page_body), pages=None)
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
    # (view, published item id) → one item of a view, rendered on its own
    items: Mapping[tuple[str, str], RenderedView] = field(default_factory=dict)
    contents: Mapping[str, bytes] = field(default_factory=dict)  # view → items bytes, to compare
    item_contents: Mapping[tuple[str, str], bytes] = field(default_factory=dict)
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
    contents: dict[str, bytes],
    items: dict[tuple[str, str], RenderedView],
    item_contents: dict[tuple[str, str], bytes],
) -> bool:
    """Copy ``view`` and its items from ``previous`` into the given maps; False if it had none."""
    if view not in previous.views:
        return False
    views[view] = previous.views[view]
    contents[view] = previous.contents[view]
    for key, item in previous.items.items():
        if key[0] == view:
            items[key] = item
            item_contents[key] = previous.item_contents[key]
    return True


def build_views(
    audience: str,
    previous: AudienceViews,
    rendered: Mapping[str, list[dict[str, Any]] | dict[str, Any]],
    revision: int,
    policy_version: str,
    keep: frozenset[str] = frozenset(),
) -> AudienceViews:
    """The next AudienceViews: unchanged content keeps its bytes and ETag, so pollers get 304.

    Views in ``keep`` were not re-rendered and are carried over as they are.
    """
    views: dict[str, RenderedView] = {}
    items: dict[tuple[str, str], RenderedView] = {}
    contents: dict[str, bytes] = {}
    item_contents: dict[tuple[str, str], bytes] = {}

    for view in keep:
        carry_view(previous, view, views, contents, items, item_contents)
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
        if same_policy and previous.contents.get(view) == payload:
            carry_view(previous, view, views, contents, items, item_contents)
            continue
        if isinstance(rows, dict):
            # a document: RFC 8345 goes out as the standard says, bare; ours in the envelope
            bare = NETWORKS in rows
            body = (
                payload
                if bare
                else _envelope(audience, view, revision, policy_version, view, payload)
            )
            views[view] = RenderedView(body, etag_of(body), revision, policy_version)
            contents[view] = payload
            continue
        head = _head(audience, view, revision, policy_version, "items")
        body = head + payload + b"}"
        index = PageIndex(keys, bounds_of(parts, len(head)))
        views[view] = RenderedView(body, etag_of(body), revision, policy_version, index)
        contents[view] = payload
        for row, (ident, tie), one in zip(rows, keys, parts, strict=True):
            if "id" not in row or tie:
                continue  # no id, or one several items share: no resource of its own
            key = (view, ident)
            item_contents[key] = one
            if same_policy and previous.item_contents.get(key) == one:
                items[key] = previous.items[key]  # this item did not change: same bytes, same ETag
                continue
            item_body = _envelope(audience, view, revision, policy_version, "item", one)
            items[key] = RenderedView(item_body, etag_of(item_body), revision, policy_version)
    return AudienceViews(
        views=views,
        items=items,
        contents=contents,
        item_contents=item_contents,
        withheld=frozenset(v for v in previous.withheld if v in keep),
    )


class ViewCache:
    """Every audience's current views. Reads are dictionary lookups; writes swap whole values."""

    def __init__(self) -> None:
        self._audiences: dict[str, AudienceViews] = {}
        self.revision = 0  # the newest data revision every view has been checked against

    def get(self, audience: str) -> AudienceViews:
        return self._audiences.get(audience, _EMPTY)

    def publish(self, audience: str, views: AudienceViews) -> None:
        self._audiences[audience] = views

    def drop(self, audience: str) -> None:
        self._audiences.pop(audience, None)


_EMPTY = AudienceViews()


def screen_views(
    screen: Screen, audience: str, guard: Scanner, new: AudienceViews, previous: AudienceViews
) -> tuple[AudienceViews, list[Withheld]]:
    """``new`` with every view whose new body leaks put back to its previous version (or
    withdrawn, when it had none: served as 503)."""
    fresh = {
        view: rendered.body
        for view, rendered in new.views.items()
        if (old := previous.views.get(view)) is None or old.body is not rendered.body
    }
    withheld = screen.check(audience, guard, fresh)
    for item in withheld:
        new = _revert(new, previous, item.view)
    return new, withheld


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
