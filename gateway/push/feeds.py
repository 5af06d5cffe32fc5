"""Feeds people subscribe to: Atom of incidents, iCalendar of maintenance, from published views."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from feedgen.feed import FeedGenerator
from icalendar import Calendar, Event

from gateway.views import RenderedView
from gateway.views.pages import etag_of

ATOM = "application/atom+xml"
ICS = "text/calendar"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the time of an entry whose policy discloses none

_items = msgspec.json.Decoder(dict[str, Any]).decode


@dataclass(frozen=True, slots=True)
class FeedBody:
    body: bytes
    etag: str
    source: str  # the ETag of the view it was made from


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _lines(item: dict[str, Any], fields: tuple[str, ...]) -> str:
    """The item's disclosed fields, one ``name: value`` line each (lists joined)."""
    out = []
    for name in fields:
        value = item.get(name)
        if value is None:
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        out.append(f"{name.replace('_', ' ')}: {shown}")
    return "\n".join(out)


def view_items(view: RenderedView) -> list[dict[str, Any]]:
    """A list view's items, as its published bytes say."""
    items: list[dict[str, Any]] = _items(view.body)["items"]
    return items


def incidents_atom(audience: str, view: RenderedView) -> bytes:
    """RFC 4287: one entry per incident the audience's incidents view lists; deterministic
    (the same view gives the same bytes, so the same ETag)."""
    feed = FeedGenerator()
    feed.id(f"urn:demarc:{audience}:incidents")
    feed.title(f"Incidents affecting {audience}")
    feed.link(href="/v1/feeds/incidents.atom", rel="self")
    feed.generator("Demarc")
    newest = EPOCH
    for item in view_items(view):
        started, cleared = _when(item.get("started_at")), _when(item.get("cleared_at"))
        updated = cleared or started or EPOCH
        newest = max(newest, updated)
        entry = feed.add_entry(order="append")
        entry.id(f"urn:demarc:{audience}:incident:{item.get('id', '')}")
        impact = item.get("impact") or "incident"
        state = item.get("state")
        services = item.get("services") or []
        title = f"{str(impact).capitalize()}{f' ({state})' if state else ''}"
        if services:
            title += f": {', '.join(map(str, services))}"
        entry.title(title)
        entry.updated(updated)
        if started is not None:
            entry.published(started)
        fields = ("id", "services", "impact", "severity", "probable_cause", "state",
                  "started_at", "cleared_at", "text")  # fmt: skip
        entry.content(_lines(item, fields), type="text")
    feed.updated(newest)
    body: bytes = feed.atom_str(pretty=True)
    return body


_STATUS = {"cancelled": "CANCELLED", "canceled": "CANCELLED"}
_UID_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def maintenance_ics(audience: str, view: RenderedView, stamp: datetime) -> bytes:
    """RFC 5545: one VEVENT per window the audience's maintenance view lists with a start
    and an end (one without either is left out: it is no calendar event)."""
    calendar = Calendar()
    calendar.add("prodid", "-//Demarc//maintenance//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Maintenance affecting {audience}")
    host = _UID_SAFE.sub("-", audience)
    for item in view_items(view):
        start, end = _when(item.get("start")), _when(item.get("end"))
        if start is None or end is None:
            continue
        event = Event()
        event.add("uid", f"{item.get('id', '')}@{host}.demarc")
        event.add("dtstamp", stamp)
        event.add("dtstart", start)
        event.add("dtend", end)
        status = str(item.get("status") or "")
        event.add("summary", f"Planned maintenance{f' ({status})' if status else ''}")
        event.add("status", _STATUS.get(status, "CONFIRMED"))
        fields = ("id", "services", "resources", "status", "text")
        event.add("description", _lines(item, fields))
        calendar.add_component(event)
    body: bytes = calendar.to_ical()
    return body


class Feeds:
    """Each audience's feeds, made again only when the view they come from changed."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._made: dict[tuple[str, str], FeedBody] = {}

    def cached(self, audience: str, name: str, view: RenderedView) -> FeedBody | None:
        made = self._made.get((audience, name))
        return made if made is not None and made.source == view.etag else None

    def make(self, audience: str, name: str, view: RenderedView) -> FeedBody:
        """Blocking (lxml, icalendar): the feed ``name`` made from ``view``, kept."""
        if name == "incidents.atom":
            body = incidents_atom(audience, view)
        else:
            body = maintenance_ics(audience, view, self._clock())
        made = FeedBody(body, etag_of(body), view.etag)
        self._made[(audience, name)] = made
        return made
