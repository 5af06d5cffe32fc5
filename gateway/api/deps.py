"""Identity at the edge of each listener, the dependencies routes share, and error bodies."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from gateway.errors import DemarcError, InvalidInput, PolicyError
from gateway.security.identity import Principal, Registry
from gateway.security.protocol import client_cert_der
from gateway.security.proxy import XFCC, ForwardedCertVerifier, Network, trusted
from gateway.security.tls import Rejections

log = logging.getLogger("demarc.api")

PRINCIPAL_KEY = "demarc.principal"

# public error messages: fixed strings, never built from what the request named
NOT_FOUND = "no such resource"
FORBIDDEN = "this certificate names no principal allowed on this listener"
METHOD_NOT_ALLOWED = "method not allowed"
BAD_REQUEST = "the request is invalid"
INVALID = "the request is invalid: see problems"
INTERNAL = "internal error"


def scope_audience(scope: dict[str, Any]) -> str:
    """The audience a request is answered to, once IdentityMiddleware let it through."""
    principal = scope.get(PRINCIPAL_KEY)
    return principal.id if isinstance(principal, Principal) else ""


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    body = {"error": {"code": code, "message": message, **extra}}
    return Response(msgspec.json.encode(body), status_code=status, media_type="application/json")


@dataclass(frozen=True)
class ProxyMode:
    """Trusted-proxy mode: whose x-forwarded-client-cert is honoured, and how it is checked."""

    networks: tuple[Network, ...]
    verifier: ForwardedCertVerifier
    refuse: Callable[[bytes], str | None]  # the TLS layer's own checks (EKU, revocation, ...)


class IdentityMiddleware:
    """Every request, docs and unknown paths included, needs a registered principal whose role
    belongs on this listener; anything else gets 403 before any route is looked up."""

    def __init__(
        self,
        app: Any,
        registry: Callable[[], Registry],
        roles: frozenset[str],
        rejections: Rejections | None = None,
        proxy: Callable[[], ProxyMode | None] = lambda: None,
    ) -> None:
        self.app = app
        self._registry = registry
        self._roles = roles
        self._rejections = rejections or Rejections()
        self._proxy = proxy

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        der = client_cert_der(scope)
        forwarded = _header(scope, XFCC)
        if forwarded is not None:
            der, reason = self._forwarded(scope, forwarded, der)
            if reason is not None:
                await self._refuse(scope, receive, send, reason)
                return
        principal = self._registry().identify(der) if der else None
        if principal is None or principal.role not in self._roles:
            reason = "unknown-principal" if principal is None else "wrong-listener"
            await self._refuse(scope, receive, send, reason)
            return
        scope[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)

    def _forwarded(
        self, scope: dict[str, Any], header: str, der: bytes | None
    ) -> tuple[bytes | None, str | None]:
        proxy = self._proxy()
        if proxy is None or not trusted(scope.get("client"), proxy.networks):
            # a client cannot name itself: the header is ignored, the attempt counted
            self._rejections.record("xfcc-untrusted", scope.get("client"))
            return der, None
        result = proxy.verifier.verify(header)
        if result.der is None:
            return None, result.reason or "xfcc-malformed"
        refused = proxy.refuse(result.der)
        if result.reason is not None:
            # the chain did not verify; the TLS layer's own checks may name the cause better
            specific = refused in ("no-eku", "wrong-eku", "ca-as-client", "weak-key")
            return None, f"xfcc-{refused}" if specific else result.reason
        return (None, f"xfcc-{refused}") if refused else (result.der, None)

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any, reason: str) -> None:
        self._rejections.record(reason, scope.get("client"))
        await error_response(403, "forbidden", FORBIDDEN)(scope, receive, send)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    """Every value of the header, joined as one list: a second copy is not hidden."""
    values = [v.decode("latin-1") for k, v in scope.get("headers") or () if k == name]
    return ",".join(values) if values else None


async def current_principal(request: Request) -> Principal:
    principal = request.scope.get(PRINCIPAL_KEY)
    assert isinstance(principal, Principal)  # IdentityMiddleware let the request through
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _allowed(request: Request) -> str:
    """Every method some route answers on this path (asked per method: routes are nested)."""
    routes = request.app.router.routes
    return ", ".join(
        m
        for m in _METHODS
        if any(r.matches({**request.scope, "method": m})[0] is Match.FULL for r in routes)
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def install_error_handlers(app: FastAPI) -> None:
    """Error bodies say what is wrong in fixed words; no stack trace, path or echoed input."""

    @app.exception_handler(DemarcError)
    async def demarc_error(request: Request, exc: DemarcError) -> Response:
        if isinstance(exc, InvalidInput | PolicyError):
            problems = [{"where": p.where, "message": p.message} for p in exc.problems]
            return error_response(exc.status_code, exc.code, exc.message, problems=problems)
        message = NOT_FOUND if exc.status_code == 404 else exc.message
        return error_response(exc.status_code, exc.code, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(404, "not_found", NOT_FOUND)
        if exc.status_code == 405:
            response = error_response(405, "method_not_allowed", METHOD_NOT_ALLOWED)
            # RFC 9110: a 405 says which methods the resource has: every route's on this path
            # (Starlette names only those of the first route that matched the path)
            allow = _allowed(request) or (exc.headers or {}).get("Allow")
            if allow:
                response.headers["Allow"] = allow
            return response
        return error_response(exc.status_code, "http_error", BAD_REQUEST)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        # one status for one problem: a bad parameter is 422, as a bad body is (InvalidInput);
        # the parameter's location and pydantic's words only, never the value the client sent
        problems = {
            ".".join(str(p) for p in e.get("loc", ())): str(e.get("msg", "invalid"))
            for e in exc.errors()
        }
        if problems and all(w.startswith("path.") for w in problems):
            # a path that fails validation (an id past 2**63-1) names nothing: 404, as unknown
            return error_response(404, "not_found", NOT_FOUND)
        listed = [{"where": w, "message": m} for w, m in sorted(problems.items())]
        return error_response(422, InvalidInput.code, INVALID, problems=listed)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected %s on %s", type(exc).__name__, request.url.path, exc_info=exc)
        return error_response(500, "internal_error", INTERNAL)
