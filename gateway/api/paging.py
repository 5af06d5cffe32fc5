"""Paged list views: ``limit`` and ``cursor``, one answer for the fast path and the routes."""

from __future__ import annotations

import re
from typing import NamedTuple

from gateway.views import RenderedView
from gateway.views.cache import page_of
from gateway.views.cursor import MAX_CURSOR, Cursors

#: items per page when a request names no ``limit``, and the most a request may ask for
DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
LIMIT_DOC = (
    f"items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}); the view's order is by "
    "`id`, so pages are stable while items come and go"
)
CURSOR_DOC = (
    'the `next_cursor` of the previous page (also in its `Link: rel="next"`): the page '
    "starts after the last item that page gave"
)
BAD_CURSOR = "the cursor is not one this view issued: start again without a cursor"

_DIGITS = re.compile(rb"[0-9]{1,9}")
#: query parameters of a filtered list (gateway.api.filters): the route answers those
FILTERS = (b"service", b"since", b"until")


class Page(NamedTuple):
    view: RenderedView  # the page's bytes and its own ETag (the view itself if it all fits)
    link: str | None  # the next page's Link header value; None on the last page


def select(
    view: RenderedView,
    audience: str,
    name: str,
    path: str,
    cursors: Cursors,
    limit: int,
    cursor: str | None,
    query: str = "",
) -> Page:
    """The page of ``view`` that ``limit`` and ``cursor`` name; CursorError for a cursor that
    this gateway did not issue for this audience and view. ``query``: parameters the next
    page's link repeats before its own (a filter's, ``a=b&``)."""
    index = view.pages
    if index is None:  # a document, not a list: served whole
        return Page(view, None)
    start = 0 if cursor is None else index.started(cursor)
    if start is None:
        assert cursor is not None
        start = index.start_after(view.body, cursors.decode(audience, name, cursor))
        index.remember(cursor, start)
    end = min(start + limit, len(index))
    page, token = page_of(view, index, start, end, lambda key: cursors.encode(audience, name, key))
    if token is None:
        return Page(page, None)
    return Page(page, f'<{path}?{query}limit={limit}&cursor={token}>; rel="next"')


def paging_params(query: bytes) -> tuple[int, str | None] | None:
    """(limit, cursor) from a raw query string, or None if the fast path should leave the
    request to the route (which validates it and answers any error in the usual shape)."""
    if not query or not any(word in query for word in (b"limit", b"cursor", b"%", *FILTERS)):
        return DEFAULT_LIMIT, None  # the common case: a plain poll
    limit, cursor = DEFAULT_LIMIT, None
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == b"limit":
            if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= MAX_LIMIT:
                return None
            limit = int(value)
        elif name == b"cursor":
            if not 0 < len(value) <= MAX_CURSOR or b"%" in value or not value.isascii():
                return None  # (a percent-encoded one is decoded by the route)
            cursor = value.decode("ascii")
        elif b"%" in name or b"+" in name or name in FILTERS:
            # an escaped name might be one of ours, a filter is the route's: let it answer
            return None
    return limit, cursor
