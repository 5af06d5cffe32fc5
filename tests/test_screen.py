"""The screen between rendering and publishing, and the egress guard for other public bodies."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from gateway.api.deps import PRINCIPAL_KEY, error_response, scope_audience
from gateway.leakguard import Guard, TermClass, Vocabulary
from gateway.leakguard.egress import WITHHELD, EgressGuard
from gateway.leakguard.screen import Screen, Withheld
from gateway.security.identity import Principal
from gateway.views.cache import AudienceViews, build_views, screen_views

ROUTER = "pe7.fra1.core.example.net"
GUARD = Guard(Vocabulary({ROUTER: TermClass.NODE_ID}))
EGRESS: dict[str, Any] = {
    "audience": scope_audience,
    "refusal": error_response(503, "withheld", WITHHELD),
}


def _views(items: list[dict[str, Any]], previous: AudienceViews | None = None) -> AudienceViews:
    return build_views("peer/acme", previous or AudienceViews(), {"alarms": items}, 5, "v1")


def test_a_leaking_view_with_no_earlier_version_is_withdrawn_and_marked() -> None:
    events: list[Withheld] = []
    screen = Screen(on_leak=events.append)
    new = _views([{"id": "al-1", "text": f"down on {ROUTER}"}])
    published, withheld = screen_views(screen, "peer/acme", GUARD, new, AudienceViews())
    assert "alarms" not in published.views and published.withheld == {"alarms"}
    assert [w.view for w in withheld] == ["alarms"] == [e.view for e in events]
    assert events[0].classes == ("node_id",) and ROUTER not in repr(events[0])
    assert screen.counts["alarms:node_id"] == 1


def test_a_leaking_view_falls_back_to_its_previous_version() -> None:
    screen = Screen()
    good = _views([{"id": "al-1", "text": "down"}])
    bad = _views([{"id": "al-1", "text": f"down on {ROUTER}"}], good)
    published, _ = screen_views(screen, "peer/acme", GUARD, bad, good)
    assert published.views["alarms"] is good.views["alarms"]
    assert published.items[("alarms", "al-1")] is good.items[("alarms", "al-1")]
    assert published.withheld == frozenset()


def test_a_clean_view_passes_untouched() -> None:
    new = _views([{"id": "al-1", "text": "down"}])
    published, withheld = screen_views(Screen(), "peer/acme", GUARD, new, AudienceViews())
    assert published is new and withheld == []


def _run(app: Any) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []
    scope = {"type": "http", "path": "/x", PRINCIPAL_KEY: Principal("peer", "acme")}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _app(body: bytes) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body[:5], "more_body": True})
        await send({"type": "http.response.body", "body": body[5:]})

    return app


def test_egress_guard_replaces_a_leaking_body_with_503() -> None:
    hits: list[tuple[str, str, tuple[str, ...]]] = []
    body = msgspec.json.encode({"error": f"no route to {ROUTER}"})
    status, sent = _run(
        EgressGuard(_app(body), lambda a: GUARD, lambda *h: hits.append(h), **EGRESS)
    )
    assert status == 503 and ROUTER.encode() not in sent
    assert hits == [("peer/acme", "/x", ("node_id",))]


def test_egress_guard_passes_a_clean_body_whole() -> None:
    body = msgspec.json.encode({"error": "no such resource"})
    status, sent = _run(EgressGuard(_app(body), lambda a: GUARD, lambda *h: None, **EGRESS))
    assert (status, sent) == (200, body)
