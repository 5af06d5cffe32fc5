"""List views filtered by service and time: a subset of the items already published, nothing new.

A filter reads only what the view publishes (an item's ``id`` or ``services``, its published
times), so it can tell nothing the items do not: an item that does not publish a time is in
every period, one that names no service matches no service. The result is the view's envelope
around the matching items' bytes as published (a history item keeps the days and months of
the period); it is cut into pages like the view, and, not being bytes the refresher screened,
it goes out through the egress leak guard like any other body.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import msgspec

from gateway.views import RenderedView
from gateway.views.cache import PageIndex
from gateway.views.pages import bounds_of, etag_of

#: (start field, end field) of an item's published interval, per kind of item
_SPANS = (("started_at", "cleared_at"), ("raised_at", "cleared_at"), ("start", "end"))
#: items whose ``id`` is a service's (the others name theirs in ``services``)
BY_ID = frozenset({"services", "history"})
_MEMO = 64  # filtered versions kept per view (each is a subset of the view's bytes)
_decode = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Filter:
    services: frozenset[str] = frozenset()
    since: datetime | None = None
    until: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.services) or self.since is not None or self.until is not None

    def query(self) -> str:
        """As a query string prefix (for the next page's link): ``a=b&…&`` or empty."""
        parts = [f"service={quote(s, safe='')}" for s in sorted(self.services)]
        parts += [f"{k}={_stamp(v)}" for k, v in (("since", self.since), ("until", self.until))
                  if v is not None]  # fmt: skip
        return "".join(p + "&" for p in parts)

    def overlaps(self, start: datetime | None, end: datetime | None) -> bool:
        """Whether [start, end) meets [since, until); a bound not published is open."""
        if self.until is not None and start is not None and start >= self.until:
            return False
        return not (self.since is not None and end is not None and end <= self.since)


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _day(value: str, days: int = 1) -> tuple[datetime, datetime] | None:
    try:
        first = date.fromisoformat(value + "-01" if len(value) == 7 else value)
    except ValueError:
        return None
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    if len(value) == 7:  # a month: to the first of the next
        nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return start, datetime(nxt.year, nxt.month, 1, tzinfo=UTC)
    return start, start + timedelta(days=days)


def _matches(view: str, item: dict[str, Any], flt: Filter) -> bool:
    if flt.services:
        named = [item.get("id")] if view in BY_ID else item.get("services") or []
        if flt.services.isdisjoint(s for s in named if isinstance(s, str)):
            return False
    # the item's own pair (an alarm's cleared_at is an incident's end too: start decides)
    for start_key, end_key in _SPANS:
        if start_key in item:
            return flt.overlaps(_time(item[start_key]), _time(item.get(end_key)))
    ends = [item[end] for _, end in _SPANS if end in item]
    return flt.overlaps(None, _time(ends[0])) if ends else True


def _period(item: dict[str, Any], flt: Filter) -> dict[str, Any]:
    """A history item with only the days and months that meet the period."""

    def meets(key: str, entry: Any) -> bool:
        span = _day(entry.get(key, "")) if isinstance(entry, dict) else None
        return span is None or flt.overlaps(*span)

    out = dict(item)
    if isinstance(item.get("days"), list):
        out["days"] = [d for d in item["days"] if meets("date", d)]
    if isinstance(item.get("months"), list):
        out["months"] = [m for m in item["months"] if meets("month", m)]
    return out


def filtered(view: RenderedView, name: str, flt: Filter) -> RenderedView:
    """The items of the list ``view`` that ``flt`` selects, in the view's order, paged alike."""
    index = view.pages
    assert index is not None, "a list view"
    memo: OrderedDict[Any, RenderedView] = index.filtered
    hit = memo.get(flt)
    if hit is not None:
        return hit
    body, bounds = view.body, index.bounds
    keys, parts = [], []
    trim = name == "history" and (flt.since is not None or flt.until is not None)
    for i, key in enumerate(index.keys):
        raw = body[bounds[i] : bounds[i + 1] - 1]
        item = _decode(raw)
        if not _matches(name, item, flt):
            continue
        keys.append(key)
        parts.append(_encode(_period(item, flt)) if trim else raw)
    head = body[: bounds[0]]  # the envelope up to and with "["
    out_body = head + b",".join(parts) + b"]}"
    pages = PageIndex(keys, bounds_of(parts, len(head) - 1))
    result = replace(view, data=out_body, etag=etag_of(out_body), pages=pages, packed=False,
                     lo=len(head) - 1, hi=-1)  # fmt: skip
    if view.packed:
        return result  # not kept: a packed view is kept small (gateway.views.cache)
    memo[flt] = result
    while len(memo) > _MEMO:
        memo.popitem(last=False)
    return result
