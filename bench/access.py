"""What the access log and request metrics add per request, against the same app without them.

A bare ASGI app answering a 2 KB view-like body stands in for the fastest route (the raw
serve path): the smaller the app's own cost, the larger the share the wrapper shows. Both
variants run in alternation in one process; medians of per-request CPU time are compared.
The JSON access line is encoded and written to /dev/null by the access-line writer (its
flush is inside the measured time: off the request path, but CPU all the same).
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from typing import Any

from gateway.ops.access import AccessLog
from gateway.ops.accesslines import AccessLines
from gateway.ops.logs import configure_logging
from gateway.ops.metrics import Metrics
from gateway.security.identity import Principal

REQUESTS = 5_000
RUNS = 9
BODY = b"x" * 2048
PEER = Principal("peer", "acme")


class _Route:
    path = "/v1/interconnects"


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    scope["route"] = _Route()
    scope["demarc.principal"] = PEER
    headers = [(b"content-type", b"application/json"), (b"demarc-revision", b"42")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})


async def run(app: Any, lines: AccessLines | None = None) -> float:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        return None

    started = time.process_time()
    for _ in range(REQUESTS):
        scope = {"type": "http", "method": "GET", "path": "/v1/interconnects", "headers": []}
        await app(scope, receive, send)
    if lines is not None:
        lines.flush()
    return (time.process_time() - started) / REQUESTS * 1e6


def main() -> None:
    with open(os.devnull, "w") as sink:
        configure_logging("info", sink)  # the level that lets access lines through
        lines = AccessLines(lambda: sink)
        principal = lambda s: s.get("demarc.principal")  # noqa: E731
        wrapped = AccessLog(bare, "public", Metrics("bench"), principal, lines)
        counted = AccessLog(bare, "public", Metrics("bench"), principal, lines, log_requests=False)
        plain, logged, metrics_only = [], [], []
        for _ in range(RUNS):
            plain.append(asyncio.run(run(bare)))
            logged.append(asyncio.run(run(wrapped, lines)))
            metrics_only.append(asyncio.run(run(counted)))
        logging.getLogger().handlers.clear()
    p, w, m = statistics.median(plain), statistics.median(logged), statistics.median(metrics_only)
    print(f"bare ASGI app:            {p:7.1f} µs/request (median of {RUNS} x {REQUESTS})")
    print(f"with access log+metrics:  {w:7.1f} µs/request")
    print(f"metrics only (access_log: false): {m:7.1f} µs/request")
    print(f"added by metrics:         {m - p:7.1f} µs/request")
    print(f"added by metrics + log:   {w - p:7.1f} µs/request, ratio {w / p:.2f}")


if __name__ == "__main__":
    main()
