"""HEAD on every GET resource of the public listener: the GET's status and headers, no body."""

from __future__ import annotations

from typing import Any


class HeadAsGet:
    """RFC 9110 9.3.2: a HEAD is answered as the GET would be, without the content, so a
    client can check a view's ETag and revision cheaply. Everything the GET does (identity,
    rate limit, the leak guard's egress scan) happens as for a GET."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: dict[str, Any]) -> None:
            if message["type"] != "http.response.body":
                await send(message)  # the start, with content-length as the GET's
            elif not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b""})

        await self.app({**scope, "method": "GET"}, receive, headers_only)
