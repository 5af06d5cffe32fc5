"""Pages of list views: keyset slices of the scanned body, with signed cursors."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.api.paging import DEFAULT_LIMIT, paging_params, select
from gateway.views import AudienceViews, RenderedView, build_views
from gateway.views.cursor import CursorError, Cursors

AUD = "peer/acme"
PATH = "/v1/alarms"
CURSORS = Cursors(b"\x07" * 32)
Row = dict[str, Any]


def render(
    rows: list[Row], previous: AudienceViews | None = None, revision: int = 1
) -> AudienceViews:
    """What the refresher publishes for these items (sorted by id, as the engine does)."""
    ordered = sorted(rows, key=lambda row: str(row.get("id", "")))
    return build_views(AUD, previous or AudienceViews(), {"alarms": ordered}, revision, "v1")


def alarms(n: int, prefix: str = "al-") -> list[Row]:
    return [{"id": f"{prefix}{i:05d}", "severity": "minor", "n": i} for i in range(n)]


def page(view: RenderedView, limit: int, cursor: str | None = None) -> dict[str, Any]:
    got = select(view, AUD, "alarms", PATH, CURSORS, limit, cursor)
    body: dict[str, Any] = msgspec.json.decode(got.view.body)
    # the Link header and the body name the same next page, or neither does
    if got.link is None:
        assert "next_cursor" not in body
    else:
        assert got.link == f'<{PATH}?limit={limit}&cursor={body["next_cursor"]}>; rel="next"'
    return body


def walk(current: Callable[[], RenderedView], limit: int, between: Callable[[], None] = lambda: None
         ) -> list[Row]:  # fmt: skip
    items: list[Row] = []
    cursor = None
    while True:
        body = page(current(), limit, cursor)
        assert len(body["items"]) <= limit
        items += body["items"]
        cursor = body.get("next_cursor")
        if cursor is None:
            return items
        assert len(body["items"]) == limit  # only the last page is short
        between()


def test_pages_collect_the_whole_view_in_order_without_gaps_or_repeats() -> None:
    rows = alarms(3000)
    view = render(rows).views["alarms"]
    full = msgspec.json.decode(view.body)["items"]
    got = walk(lambda: view, 500)
    assert got == full == sorted(rows, key=lambda r: r["id"])
    assert len(walk(lambda: view, 7)) == 3000


def test_a_view_that_fits_is_its_own_first_page_byte_for_byte() -> None:
    view = render(alarms(DEFAULT_LIMIT)).views["alarms"]
    first = select(view, AUD, "alarms", PATH, CURSORS, DEFAULT_LIMIT, None)
    assert first.view is view and first.link is None
    bigger = render(alarms(DEFAULT_LIMIT + 1)).views["alarms"]
    first = select(bigger, AUD, "alarms", PATH, CURSORS, DEFAULT_LIMIT, None)
    assert first.view.body != bigger.body and first.view.etag != bigger.etag
    assert len(msgspec.json.decode(first.view.body)["items"]) == DEFAULT_LIMIT


def test_every_page_is_cut_from_the_scanned_body() -> None:
    """The leak guard approved the whole body: a page is its envelope, a contiguous run of its
    bytes and a cursor naming an item on the page, so it holds nothing the view does not."""
    view = render(alarms(1000)).views["alarms"]
    head = view.body[: view.body.index(b'"items":[') + len(b'"items":[')]
    cursor = None
    while True:
        got = select(view, AUD, "alarms", PATH, CURSORS, 300, cursor).view.body
        assert got.startswith(head)
        rest = got[len(head) :]
        items, _, tail = rest.rpartition(b"]")
        assert items in view.body
        body = msgspec.json.decode(got)
        cursor = body.pop("next_cursor", None)
        assert tail == (b"}" if cursor is None else b',"next_cursor":"' + cursor.encode() + b'"}')
        if cursor is None:
            break
        # the cursor names the last item given, in published values only
        assert CURSORS.decode(AUD, "alarms", cursor)[0] == body["items"][-1]["id"]


def test_pages_have_their_own_etags_and_are_built_once() -> None:
    view = render(alarms(1200)).views["alarms"]
    one = select(view, AUD, "alarms", PATH, CURSORS, 500, None).view
    cursor = msgspec.json.decode(one.body)["next_cursor"]
    two = select(view, AUD, "alarms", PATH, CURSORS, 500, cursor).view
    assert len({one.etag, two.etag, view.etag}) == 3
    assert select(view, AUD, "alarms", PATH, CURSORS, 500, cursor).view is two
    assert (two.revision, two.policy_version) == (view.revision, view.policy_version)


def test_keyset_pages_survive_items_coming_and_going() -> None:
    rows = alarms(2000)
    state = {"views": render(rows), "revision": 1}
    rnd = random.Random(12)
    present = [dict(r) for r in rows]
    extra = iter(range(10**6))

    def change() -> None:
        for _ in range(40):  # some before the cursor, some after, some the cursor's own item
            present.pop(rnd.randrange(len(present)))
        present.extend(
            {"id": f"al-{rnd.randrange(2000):05d}x", "severity": "major", "n": 5000 + next(extra)}
            for _ in range(30)
        )
        state["revision"] += 1
        state["views"] = render(present, state["views"], state["revision"])

    got = walk(lambda: state["views"].views["alarms"], 250, change)
    ns = [item["n"] for item in got]
    assert len(ns) == len(set(ns)), "an item was given twice"
    assert [i["id"] for i in got] == sorted(i["id"] for i in got)
    kept = {r["n"] for r in present} & {r["n"] for r in rows}
    assert kept <= set(ns), "an item present throughout was skipped"


def test_items_without_ids_or_sharing_one_still_page_exactly() -> None:
    rows: list[Row] = [{"severity": "minor", "n": i % 5} for i in range(40)]  # no id, repeats
    rows += [{"id": "same", "n": i} for i in range(30)] + [{"id": "x", "n": 1}] * 3
    view = render(rows).views["alarms"]
    full = msgspec.json.decode(view.body)["items"]
    assert len(full) == len(rows)
    for limit in (1, 3, 7, 500):
        assert walk(lambda: view, limit) == full


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.one_of(st.none(), st.sampled_from("abcdefgh")), max_size=40),
    limit=st.integers(1, 12),
    seed=st.integers(0, 2**16),
)
def test_paging_under_random_changes_gives_each_lasting_item_once(
    ids: list[str | None], limit: int, seed: int
) -> None:
    rnd = random.Random(seed)
    serial = iter(range(10**6))

    def item(ident: str | None) -> Row:
        row: Row = {"n": next(serial)}
        if ident is not None:
            row["id"] = ident
        return row

    rows = [item(i) for i in ids]
    present = list(rows)
    state = {"views": render(rows)}

    def change() -> None:
        for _ in range(rnd.randrange(3)):
            if present:
                present.pop(rnd.randrange(len(present)))
        present.extend(item(rnd.choice([None, *"abcdefgh"])) for _ in range(rnd.randrange(3)))
        state["views"] = render(present, state["views"])

    got = walk(lambda: state["views"].views["alarms"], limit, change)
    ns = [row["n"] for row in got]
    assert len(ns) == len(set(ns))
    assert {r["n"] for r in rows} & {r["n"] for r in present} <= set(ns)
    assert [str(r.get("id", "")) for r in got] == sorted(str(r.get("id", "")) for r in got)


def _cursor() -> str:
    view = render(alarms(20)).views["alarms"]
    cursor: str = page(view, 5)["next_cursor"]
    return cursor


def test_a_cursor_is_bound_to_its_audience_and_view() -> None:
    cursor = _cursor()
    assert CURSORS.decode(AUD, "alarms", cursor)[0] == "al-00004"
    with pytest.raises(CursorError):
        CURSORS.decode("peer/globalnet", "alarms", cursor)
    with pytest.raises(CursorError):
        CURSORS.decode(AUD, "maintenance", cursor)
    with pytest.raises(CursorError):
        Cursors(b"\x08" * 32).decode(AUD, "alarms", cursor)  # another gateway's secret


def test_an_altered_or_malformed_cursor_is_refused() -> None:
    cursor = _cursor()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for at in range(len(cursor)):
        swapped = alphabet[(alphabet.index(cursor[at]) + 1) % 64]
        with pytest.raises(CursorError):
            CURSORS.decode(AUD, "alarms", cursor[:at] + swapped + cursor[at + 1 :])
    for bad in ("", "!!", cursor + "=", cursor[:-1], cursor + "A", "A" * 2000, "é" + cursor):
        with pytest.raises(CursorError):
            CURSORS.decode(AUD, "alarms", bad)


def test_the_fast_path_reads_limit_and_cursor_or_leaves_the_request_to_the_route() -> None:
    assert paging_params(b"") == (DEFAULT_LIMIT, None)
    assert paging_params(b"n=3") == (DEFAULT_LIMIT, None)
    assert paging_params(b"limit=20&cursor=abc_-") == (20, "abc_-")
    assert paging_params(b"limit=1&limit=7") == (7, None)  # the last one, as the route reads
    for routed in (b"limit=0", b"limit=5001", b"limit=", b"limit=+5", b"limit=1e3",
                   b"cursor=", b"cursor=a%2Fb", b"lim%69t=3"):  # fmt: skip
        assert paging_params(routed) is None, routed
