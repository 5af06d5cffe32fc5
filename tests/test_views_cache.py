"""Tests for materialised views: bytes and strong ETags that only change with the content."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from gateway.views import AudienceViews, ViewCache, build_views

AUD = "customer/globex"
STRONG_ETAG = re.compile(r'^"[0-9a-f]{32}"$')

Rows = dict[str, list[dict[str, Any]]]


def rows(status_a: str = "operational", status_b: str = "operational") -> Rows:
    return {
        "services": [{"id": "svc-a", "status": status_a}, {"id": "svc-b", "status": status_b}],
        "incidents": [],
    }


def first(rendered: Rows | None = None, revision: int = 1, version: str = "v1") -> AudienceViews:
    return build_views(AUD, AudienceViews(), rendered or rows(), revision, version)


def test_envelope_and_strong_etag() -> None:
    views = first()
    services = views.views["services"]
    assert STRONG_ETAG.match(services.etag)
    assert not services.etag.startswith("W/")
    body = msgspec.json.decode(services.body)
    assert body == {
        "audience": AUD,
        "view": "services",
        "revision": 1,
        "policy_version": "v1",
        "items": rows()["services"],
    }
    assert (services.revision, services.policy_version) == (1, "v1")
    assert msgspec.json.decode(views.views["incidents"].body)["items"] == []


def test_etag_differs_between_views_and_audiences() -> None:
    views = first()
    assert views.views["services"].etag != views.views["incidents"].etag
    other = build_views("customer/initech", AudienceViews(), rows(), 1, "v1")
    assert other.views["services"].etag != views.views["services"].etag


def test_unchanged_content_keeps_body_and_etag() -> None:
    before = first()
    after = build_views(AUD, before, rows(), 7, "v1")
    old, new = before.views["services"], after.views["services"]
    assert new.body is old.body or new.body == old.body
    assert new.etag == old.etag
    assert new.revision == 1  # the content last changed at revision 1
    assert msgspec.json.decode(new.body)["revision"] == 1


def test_changed_content_changes_body_and_etag() -> None:
    before = first()
    after = build_views(AUD, before, rows(status_a="outage"), 2, "v1")
    old, new = before.views["services"], after.views["services"]
    assert new.etag != old.etag and new.body != old.body
    assert new.revision == 2
    assert msgspec.json.decode(new.body)["items"][0]["status"] == "outage"
    # the other view, unchanged, keeps its tag
    assert after.views["incidents"].etag == before.views["incidents"].etag


def test_item_order_is_content() -> None:
    before = first()
    swapped = {"services": list(reversed(rows()["services"])), "incidents": []}
    after = build_views(AUD, before, swapped, 2, "v1")
    assert after.views["services"].etag != before.views["services"].etag


def test_policy_version_change_changes_etag() -> None:
    before = first()
    after = build_views(AUD, before, rows(), 2, "v2")
    for view in ("services", "incidents"):
        old, new = before.views[view], after.views[view]
        assert new.etag != old.etag
        assert new.policy_version == "v2" and new.revision == 2
        assert msgspec.json.decode(new.body)["policy_version"] == "v2"
    assert after.items[("services", "svc-a")].policy_version == "v2"


def test_per_item_entries() -> None:
    views = first()
    assert set(views.items) == {("services", "svc-a"), ("services", "svc-b")}
    entry = views.items[("services", "svc-b")]
    assert STRONG_ETAG.match(entry.etag)
    assert msgspec.json.decode(entry.body) == {
        "audience": AUD,
        "view": "services",
        "revision": 1,
        "policy_version": "v1",
        "item": {"id": "svc-b", "status": "operational"},
    }
    assert entry.etag != views.items[("services", "svc-a")].etag


def test_items_without_id_have_no_entry() -> None:
    views = first({"services": [{"status": "operational"}]})
    assert views.items == {}
    assert msgspec.json.decode(views.views["services"].body)["items"] == [{"status": "operational"}]


def test_item_entry_updates_and_disappears_with_content() -> None:
    before = first()
    after = build_views(AUD, before, {"services": [{"id": "svc-a", "status": "outage"}]}, 2, "v1")
    assert set(after.items) == {("services", "svc-a")}
    entry = after.items[("services", "svc-a")]
    assert entry.etag != before.items[("services", "svc-a")].etag
    assert msgspec.json.decode(entry.body)["item"]["status"] == "outage"


def test_unchanged_view_keeps_item_entries() -> None:
    before = first()
    after = build_views(AUD, before, rows(), 3, "v1")
    assert after.items == before.items


def test_unchanged_item_keeps_etag_when_sibling_changes() -> None:
    before = first()
    after = build_views(AUD, before, rows(status_a="outage"), 2, "v1")
    assert after.items[("services", "svc-b")].etag == before.items[("services", "svc-b")].etag


def test_keep_carries_views_over() -> None:
    before = first()
    after = build_views(
        AUD, before, {"incidents": [{"id": "in-1"}]}, 5, "v1", keep=frozenset({"services"})
    )
    kept, old = after.views["services"], before.views["services"]
    assert (kept.body, kept.etag, kept.revision) == (old.body, old.etag, 1)
    assert after.items[("services", "svc-a")] == before.items[("services", "svc-a")]
    assert after.views["services"].content() == before.views["services"].content()
    assert after.views["incidents"].revision == 5
    # a later render that matches the kept content still keeps the tag
    again = build_views(AUD, after, rows(), 6, "v1")
    assert again.views["services"].etag == old.etag


def test_views_neither_rendered_nor_kept_are_dropped() -> None:
    before = first()
    after = build_views(AUD, before, {"incidents": []}, 2, "v1")
    assert set(after.views) == {"incidents"}
    assert not any(view == "services" for view, _ in after.items)
    keep_unknown = build_views(AUD, AudienceViews(), {}, 2, "v1", keep=frozenset({"services"}))
    assert keep_unknown.views == {}


def test_build_views_does_not_mutate_previous() -> None:
    before = first()
    snapshot = (dict(before.views), dict(before.items))
    build_views(AUD, before, rows(status_a="outage"), 2, "v2", keep=frozenset({"incidents"}))
    assert (dict(before.views), dict(before.items)) == snapshot


def test_view_cache_publish_get_drop() -> None:
    cache = ViewCache()
    assert cache.get(AUD).views == {}
    views = first()
    cache.publish(AUD, views)
    assert cache.get(AUD) is views
    assert cache.get("customer/other").views == {}
    cache.drop(AUD)
    cache.drop(AUD)  # dropping twice is harmless
    assert cache.get(AUD).views == {}


def _history(n: int, down: int = -1) -> Rows:
    days = [{"date": f"2026-{1 + d // 28:02d}-{1 + d % 28:02d}", "availability_pct": 100.0}
            for d in range(90)]  # fmt: skip
    return {"history": [
        {"id": f"svc-{k}", "days": [dict(day, availability_pct=99.0) if k == down else day
                                    for day in days]}
        for k in range(n)
    ]}  # fmt: skip


def test_a_packed_view_serves_the_same_bytes_etags_items_and_pages_kept_small() -> None:
    from gateway.views.cache import page_of

    plain = build_views(AUD, AudienceViews(), _history(30), 1, "v1")
    packed = build_views(AUD, AudienceViews(), _history(30), 1, "v1", packed=frozenset({"history"}))
    a, b = plain.views["history"], packed.views["history"]
    assert b.packed and not a.packed
    assert (b.body, b.etag) == (a.body, a.etag)
    assert len(b.data) * 10 < len(a.data)  # quiet days: it packs well
    assert {k: (i.body, i.etag) for k, i in packed.items.items()} == {
        k: (i.body, i.etag) for k, i in plain.items.items()
    }
    assert a.pages is not None and b.pages is not None

    def cursor(key: Any) -> str:
        return "c-" + key[0]

    for start, end in ((0, 10), (10, 20), (20, 30)):
        pa, ta = page_of(a, a.pages, start, end, cursor)
        pb, tb = page_of(b, b.pages, start, end, cursor)
        assert (pb.body, pb.etag, tb) == (pa.body, pa.etag, ta)
    # one service's history changes: its item gets a new ETag, the others keep theirs
    again = build_views(AUD, packed, _history(30, down=3), 2, "v1", packed=frozenset({"history"}))
    changed = {k for k, i in again.items.items() if i.etag != packed.items[k].etag}
    assert changed == {("history", "svc-3")}
    assert again.views["history"].etag != b.etag
    assert again.items[("history", "svc-4")].body == packed.items[("history", "svc-4")].body
    # and nothing changes: the packed bytes are carried as they are
    same = build_views(AUD, again, _history(30, down=3), 3, "v1", packed=frozenset({"history"}))
    assert same.views["history"] is again.views["history"]
