"""The leak guard on the way out: public bodies that are not pre-scanned views are scanned here."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from gateway.leakguard.allow import Scanner

log = logging.getLogger("demarc.leakguard")

PRESCANNED = "demarc.prescanned"  # set by routes that send bytes the refresher already scanned
WITHHELD = "this response was withheld"


class EgressGuard:
    """Buffers each non-view response (errors, OpenAPI, docs: all small), scans it with the
    audience's guard, and sends a fixed 503 instead when it names anything internal."""

    def __init__(
        self,
        app: Any,
        guard: Callable[[str], Scanner | None],
        on_hit: Callable[[str, str, tuple[str, ...]], None],
        *,
        audience: Callable[[dict[str, Any]], str],
        refusal: Any,
    ) -> None:
        """``audience`` names whom a request is answered to (from its scope); ``refusal`` is the
        ASGI app that answers instead of a body that leaked (the API's fixed 503)."""
        self.app = app
        self._guard = guard
        self._on_hit = on_hit
        self._audience = audience
        self._refusal = refusal

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def buffered(message: dict[str, Any]) -> None:
            nonlocal start
            if scope.get(PRESCANNED):
                await send(message)
            elif message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._finish(scope, receive, send, start, b"".join(chunks))
            else:
                await send(message)

        await self.app(scope, receive, buffered)

    async def _finish(self, scope: dict[str, Any], receive: Any, send: Any,
                      start: dict[str, Any] | None, body: bytes) -> None:  # fmt: skip
        audience = self._audience(scope)
        guard = self._guard(audience)
        hits = guard.scan(body) if guard is not None else []
        if hits:
            classes = tuple(sorted({h.term_class.value for h in hits}))
            self._on_hit(audience, str(scope.get("path", "")), classes)
            log.error("leak guard withheld a response to %s: %s", audience, ", ".join(classes))
            await self._refusal(scope, receive, send)
            return
        assert start is not None
        await send(start)
        await send({"type": "http.response.body", "body": body})
