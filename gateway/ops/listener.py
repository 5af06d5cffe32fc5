"""The ops listener: /metrics, /livez and /readyz over plain HTTP, on its own address."""

from __future__ import annotations

from typing import Any

import msgspec
import uvicorn
from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.ops.metrics import Metrics
from gateway.ops.readings import Readings


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(msgspec.json.encode(body), status_code=status, media_type="application/json")


def ops_app(metrics: Metrics, readings: Readings) -> Starlette:
    """No client certificate here, so nothing on it may disclose: counts, revisions, audience
    names (bind it to loopback or a management network; it is loopback by default)."""

    async def livez(request: Request) -> Response:
        # the event loop answered: the process is not wedged
        return _json(200, {"live": True})

    async def readyz(request: Request) -> Response:
        ready, detail = readings.readiness()
        return _json(200 if ready else 503, detail)

    async def scrape(request: Request) -> Response:
        # OpenMetrics when Prometheus asks for it, the text format otherwise
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(metrics.registry), media_type=content_type)

    return Starlette(
        routes=[
            Route("/livez", livez, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", scrape, methods=["GET"]),
        ]
    )


def ops_server(app: Starlette, log_level: str) -> uvicorn.Server:
    return uvicorn.Server(
        uvicorn.Config(
            app,
            lifespan="off",
            log_level=log_level,
            log_config=None,  # the process's JSON logging, not uvicorn's own format
            access_log=False,
            server_header=False,
            proxy_headers=False,
        )
    )
