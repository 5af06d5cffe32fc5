"""Materialised views: rendered bytes per audience and view, with a strong ETag."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec

from gateway.leakguard.allow import Scanner
from gateway.leakguard.screen import Screen, Withheld


@dataclass(frozen=True, slots=True)
class RenderedView:
    """Bytes ready to send; ``revision`` is the data revision at which the content last changed."""

    body: bytes
    etag: str
    revision: int
    policy_version: str


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


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _envelope(
    audience: str, view: str, revision: int, policy: str, key: str, payload: bytes
) -> bytes:
    head = _encode(
        {"audience": audience, "view": view, "revision": revision, "policy_version": policy}
    )
    # splice the already-serialised payload in rather than serialising the items twice
    return head[:-1] + b',"' + key.encode() + b'":' + payload + b"}"


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
        payload = _encode(rows)
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
            views[view] = RenderedView(body, _etag(body), revision, policy_version)
            contents[view] = payload
            continue
        body = _envelope(audience, view, revision, policy_version, "items", payload)
        views[view] = RenderedView(body, _etag(body), revision, policy_version)
        contents[view] = payload
        for row in rows:
            if "id" not in row:
                continue
            key = (view, str(row["id"]))
            one = _encode(row)
            item_contents[key] = one
            if same_policy and previous.item_contents.get(key) == one:
                items[key] = previous.items[key]  # this item did not change: same bytes, same ETag
                continue
            item_body = _envelope(audience, view, revision, policy_version, "item", one)
            items[key] = RenderedView(item_body, _etag(item_body), revision, policy_version)
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
