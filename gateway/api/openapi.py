"""The OpenAPI document of a listener: one error body, every status sent, mutual TLS."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field

ERROR_REF = "#/components/schemas/ErrorBody"
METHODS = ("get", "put", "post", "delete", "patch")


class ProblemOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    where: str = Field(description="a JSON path (`$.a[0].b`), `<draft>:line:col`, or `query.x`")
    message: str


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="stable, machine-readable: e.g. `not_found`, `stale_draft`")
    message: str = Field(description="what is wrong, in words")
    problems: list[ProblemOut] = Field(
        default_factory=list, description="422 only: every problem found, each with where it is"
    )


class ErrorBody(BaseModel):
    """Every error either listener sends has this body."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


# status → (description, the codes sent with it); the same words on both listeners
ERRORS: dict[int, tuple[str, tuple[str, ...]]] = {
    403: (
        "The certificate names no registered principal, names one that does not belong on this "
        "listener, or the principal's role may not use this operation",
        ("forbidden", "self_approval"),
    ),
    404: ("No such resource, or not one this principal may see", ("not_found",)),
    408: ("The request body did not arrive in time", ("request_timeout",)),
    410: (
        "The events after this cursor are no longer kept: re-read the views, then follow the "
        "feed from its latest position",
        ("gone",),
    ),
    409: (
        "The request disagrees with the current state",
        ("conflict", "stale_draft", "approval_required"),
    ),
    413: (
        "The body is larger than this operation accepts; nothing was stored",
        ("payload_too_large",),
    ),
    415: (
        "The body's Content-Type is missing or not one this operation accepts",
        ("unsupported_media_type",),
    ),
    422: (
        "The body or a parameter is invalid; every problem is listed with where it is, and "
        "nothing was changed (a parameter is `query.<name>`, a body is a JSON path)",
        ("invalid_input", "invalid_policy", "invalid_cursor"),
    ),
    429: (
        "Too many requests from this principal: retry after `Retry-After` seconds",
        ("rate_limited",),
    ),
    503: (
        "The leak guard withheld the body and there is no earlier version to serve",
        ("withheld",),
    ),
    507: ("The disk is full: nothing of this request was stored", ("storage_full",)),
}

_RETRY_AFTER = {"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}}

MUTUAL_TLS = {
    "type": "mutualTLS",
    "description": (
        "A client certificate from the operator's CA, with clientAuth extended key usage and a "
        "URI SAN `spiffe://<trust-domain>/<role>/<name>` that names a registered principal "
        "exactly (the CN is never an identity). {roles} Without a certificate, or with one the "
        "CA did not issue or has revoked, the TLS handshake fails and no HTTP byte is sent; a "
        "verified certificate that names no principal for this listener gets 403."
    ),
}


def error(status: int, description: str | None = None) -> dict[str, Any]:
    """One documented error response (``ErrorBody``), as an operation's ``responses`` entry."""
    words, codes = ERRORS[status]
    listed = ", ".join(f"`{c}`" for c in codes)
    out: dict[str, Any] = {
        "description": f"{description or words} (code: {listed})",
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if status == 429:
        out["headers"] = _RETRY_AFTER
    return out


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: the errors it sends besides those every operation may."""
    return {status: error(status) for status in statuses}


def _complete(operation: dict[str, Any]) -> None:
    """Add what every operation may answer, by what it takes: identity and rate (403, 429),
    query parameters or a body (422), a path parameter (404: a path that does not validate
    names nothing), a body (413, 415, 408)."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    params = operation.get("parameters", [])
    body = "requestBody" in operation
    wanted = [403, 429]
    if body or any(p.get("in") == "query" for p in params):
        wanted.append(422)
    if any(p.get("in") == "path" for p in params):
        wanted.append(404)
    if body:
        wanted += [408, 413, 415]
    for status in wanted:
        responses.setdefault(str(status), error(status))
    # FastAPI's own 422 names HTTPValidationError, a body this gateway never sends
    if "HTTPValidationError" in str(responses.get("422", "")):
        responses["422"] = error(422)


def document(
    app: FastAPI, roles: str, bodies: Mapping[str, Iterable[type[BaseModel]]] | None = None
) -> None:
    """Replace ``app.openapi`` by one that describes what the listener really sends.

    ``bodies``: per component name prefix, models of request bodies that routes refer to
    with :func:`body` (given the same prefix)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        parts = doc.setdefault("components", {})
        schemas = parts.setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        schemas.update(components(ErrorBody))
        for prefix, models in (bodies or {}).items():
            schemas.update(components(*models, prefix=prefix))
        scheme = {**MUTUAL_TLS, "description": MUTUAL_TLS["description"].format(roles=roles)}
        parts["securitySchemes"] = {"mutualTLS": scheme}
        doc["security"] = [{"mutualTLS": []}]
        for operation in _operations(doc):
            _complete(operation)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _operations(doc: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for item in doc.get("paths", {}).values():
        for method in METHODS:
            if method in item:
                yield item[method]


def components(*models: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    """The schemas of ``models`` and of what they refer to, as OpenAPI components named
    ``prefix`` + the model's name (the same JSON Schema as ``model_json_schema`` gives)."""
    out: dict[str, Any] = {}
    template = "#/components/schemas/" + prefix + "{model}"
    for model in models:
        schema = model.model_json_schema(ref_template=template, by_alias=True)
        out.update({prefix + name: s for name, s in schema.pop("$defs", {}).items()})
        out[prefix + model.__name__] = schema
    return out


def body(
    *models: type[BaseModel], prefix: str = "", media: str = "application/json"
) -> dict[str, Any]:
    """``openapi_extra=`` for a route that reads its body itself: one of ``models``."""
    refs = [{"$ref": "#/components/schemas/" + prefix + m.__name__} for m in models]
    schema = refs[0] if len(refs) == 1 else {"oneOf": refs}
    return {"requestBody": {"required": True, "content": {media: {"schema": schema}}}}
