"""Internal listener routes for staff: drafts, validation, preview, diff, approval, activation."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, TypeVar

import msgspec
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from gateway.api.deps import CurrentPrincipal
from gateway.api.ingest import JSON, media_type, read_body
from gateway.api.openapi import ProblemOut, errors
from gateway.api.policy_models import (
    MAX_ID,
    ApprovalOut,
    DiffOut,
    Digest,
    DraftOut,
    MaybeDigest,
    PolicyOut,
    PreviewOut,
    RollbackIn,
    RollbackOut,
    ValidationOut,
    VersionOut,
)
from gateway.disclosure import parse_policy
from gateway.errors import Forbidden, InvalidInput, NotFound, PolicyError, Problem, json_path
from gateway.ingest import decode_json
from gateway.policy.lifecycle import PolicyLifecycle
from gateway.policy.store import DraftRecord, VersionRecord

router = APIRouter(prefix="/v1/admin", tags=["policies"])

MAX_POLICY_BYTES = 256 * 1024
YAML = "application/yaml"
MAX_SMALL_BODY = 16 * 1024  # approve, activate, rollback: a digest or a number
# out of range names no draft: 404 like any unknown id (see deps: path validation → 404)
DraftId = Annotated[int, Path(ge=1, le=MAX_ID)]
M = TypeVar("M", bound=BaseModel)
BODY = 'expected {"text": "<policy YAML>"}, or the YAML itself with Content-Type: application/yaml'
AudienceQuery = Annotated[str | None, Query(max_length=200, pattern=r"^(peer|customer)/[^/]+$")]
_YAML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {"text": {"type": "string"}},
                }
            },
            # any YAML document: its rules are schemas/policy.schema.json's and the parser's
            # (validate answers valid: false for one that breaks them, the others 422)
            YAML: {"schema": {"description": "a policy as YAML (schemas/policy.schema.json)"}},
        },
    }
}


async def staff_lifecycle(request: Request, principal: CurrentPrincipal) -> PolicyLifecycle:
    """Refuses anyone but staff before the request body is even looked at."""
    if principal.role != "staff":
        raise Forbidden("only staff may manage policies")
    lifecycle: PolicyLifecycle = request.app.state.gateway.lifecycle
    return lifecycle


Lifecycle = Annotated[PolicyLifecycle, Depends(staff_lifecycle)]


def _version(v: VersionRecord, text: bool = False) -> VersionOut:
    return VersionOut(
        audience=v.audience,
        number=v.number,
        version=v.version,
        digest=v.digest,
        author=v.author,
        approver=v.approver,
        activated_by=v.activated_by,
        activated_at=v.activated_at,
        origin=v.origin,
        draft=v.draft_id,
        widening=v.widening,
        text=v.text if text else None,
    )


async def _draft(lifecycle: PolicyLifecycle, d: DraftRecord) -> DraftOut:
    db = lifecycle.db
    approvals = await asyncio.to_thread(db.approvals, d.id)
    base = await asyncio.to_thread(db.version_number, d.base)
    return DraftOut(
        id=d.id,
        audience=d.audience,
        version=d.digest[:12],
        digest=d.digest,
        authors=list(d.authors),
        base=base,
        state=d.state,
        origin=d.origin,
        source=d.source,
        created_at=d.created_at,
        updated_at=d.updated_at,
        approvals=[ApprovalOut(approver=a.approver, digest=a.digest, at=a.at) for a in approvals],
        text=d.text,
    )


async def _small_json(request: Request, model: type[M]) -> M | None:
    """A small JSON body (None when empty), read only after the role was checked: a body is
    never a model parameter, which FastAPI would read before any dependency runs."""
    body = await read_body(request, MAX_SMALL_BODY)
    if not body.strip():
        return None
    doc = decode_json(body)
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        problems = [Problem(json_path(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        raise InvalidInput(problems) from None


def _schema(model: type[BaseModel], required: bool = True) -> dict[str, Any]:
    """The request body in the OpenAPI document, as if it were a model parameter."""
    content = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": required, "content": content}}


def _problems(problems: list[Problem]) -> list[ProblemOut]:
    return [ProblemOut(where=p.where, message=p.message) for p in problems]


async def _text(request: Request) -> str:
    body = await read_body(request, MAX_POLICY_BYTES, (JSON, YAML))
    if media_type(request) == YAML:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput([Problem("$", "the policy is not UTF-8 text")]) from None
    try:
        doc = decode_json(body)
    except InvalidInput as exc:
        raise InvalidInput(
            [Problem(p.where, f"{p.message}; {BODY}") for p in exc.problems]
        ) from None
    if not isinstance(doc, dict) or set(doc) != {"text"} or not isinstance(doc["text"], str):
        raise InvalidInput([Problem("$", BODY)])
    text: str = doc["text"]
    return text


def _audience(role: str, name: str) -> str:
    if role not in ("peer", "customer"):
        raise NotFound(f"no audience {role}/{name}")
    return f"{role}/{name}"


@router.get("/policies", response_model=list[PolicyOut], summary="Every policy and its drafts")
async def list_policies(
    request: Request, principal: CurrentPrincipal, lifecycle: Lifecycle
) -> list[PolicyOut]:
    active = await asyncio.to_thread(lifecycle.db.active_versions)
    drafts = await asyncio.to_thread(lifecycle.db.drafts)
    out = []
    for audience in sorted(set(active) | {d.audience for d in drafts}):
        v = active.get(audience)
        mine = [await _draft(lifecycle, d) for d in drafts if d.audience == audience]
        out.append(PolicyOut(audience=audience, active=_version(v) if v else None, drafts=mine))
    return out


@router.get(
    "/policies/{role}/{name}",
    response_model=PolicyOut,
    responses=errors(404),
    summary="One audience's active version (with its text) and open drafts",
)
async def get_policy(
    request: Request, principal: CurrentPrincipal, lifecycle: Lifecycle, role: str, name: str
) -> PolicyOut:
    audience = _audience(role, name)
    active = await asyncio.to_thread(lifecycle.db.active, audience)
    drafts = await asyncio.to_thread(lifecycle.db.drafts, audience)
    if active is None and not drafts:
        raise NotFound(f"no policy for {audience}")
    return PolicyOut(
        audience=audience,
        active=_version(active, text=True) if active else None,
        drafts=[await _draft(lifecycle, d) for d in drafts],
    )


@router.get(
    "/policies/{role}/{name}/history",
    response_model=list[VersionOut],
    responses=errors(404),
    summary="Every version ever active for this audience, oldest first",
)
async def history(
    request: Request, principal: CurrentPrincipal, lifecycle: Lifecycle, role: str, name: str
) -> list[VersionOut]:
    versions = await asyncio.to_thread(lifecycle.db.history, _audience(role, name))
    if not versions:
        raise NotFound(f"no policy for {role}/{name}")
    return [_version(v, text=True) for v in versions]


@router.post(
    "/policies/{role}/{name}/rollback",
    response_model=RollbackOut,
    responses={
        202: {"model": RollbackOut, "description": "widens: awaits approval"},
        **errors(409),
    },
    openapi_extra=_schema(RollbackIn),
    summary="Serve an earlier version again (as a new version)",
)
async def rollback(
    request: Request, principal: CurrentPrincipal, lifecycle: Lifecycle, role: str, name: str
) -> Response:
    audience = _audience(role, name)
    body = await _small_json(request, RollbackIn)
    if body is None:
        raise InvalidInput([Problem("$", 'expected {"to": <version number>}')])
    result = await lifecycle.rollback(principal.id, audience, body.to)
    out = RollbackOut(
        activated=result.version is not None,
        draft=await _draft(lifecycle, await lifecycle.draft(result.draft.id)),
        version=_version(result.version) if result.version else None,
        reason=result.reason,
        existing_draft=result.existing,
    )
    return Response(
        out.model_dump_json(),
        status_code=200 if out.activated else 202,
        media_type="application/json",
    )


@router.post(
    "/policies/validate",
    response_model=ValidationOut,
    openapi_extra=_YAML_BODY,
    summary="Validate a policy text without storing it",
)
async def validate(
    request: Request, principal: CurrentPrincipal, lifecycle: Lifecycle
) -> ValidationOut:
    text = await _text(request)
    try:
        loaded = await asyncio.to_thread(parse_policy, text, "<draft>")
    except PolicyError as exc:
        return ValidationOut(valid=False, problems=_problems(exc.problems))
    return ValidationOut(
        valid=True,
        audience=loaded.policy.audience,
        version=loaded.version,
        problems=[],
        activation_problems=_problems(lifecycle.activation_problems(loaded)),
    )


@router.post(
    "/drafts",
    response_model=DraftOut,
    status_code=201,
    openapi_extra=_YAML_BODY,
    summary="Create a draft (invalid text is refused with every problem)",
)
async def create_draft(
    request: Request, principal: CurrentPrincipal, lifecycle: Lifecycle
) -> DraftOut:
    draft = await lifecycle.create_draft(principal.id, await _text(request))
    return await _draft(lifecycle, draft)


@router.get("/drafts", response_model=list[DraftOut], summary="Open drafts, oldest first")
async def list_drafts(
    request: Request,
    principal: CurrentPrincipal,
    lifecycle: Lifecycle,
    audience: Annotated[
        str | None, Query(max_length=200, description="only this audience's")
    ] = None,
) -> list[DraftOut]:
    drafts = await asyncio.to_thread(lifecycle.db.drafts, audience)
    return [await _draft(lifecycle, d) for d in drafts]


@router.delete(
    "/drafts/{draft_id}",
    response_model=DraftOut,
    responses=errors(409),
    summary="Withdraw an open draft (it is kept, closed, and the withdrawal is audited)",
)
async def withdraw_draft(
    request: Request, principal: CurrentPrincipal, lifecycle: Lifecycle, draft_id: DraftId
) -> DraftOut:
    return await _draft(lifecycle, await lifecycle.withdraw(principal.id, draft_id))


@router.get("/drafts/{draft_id}", response_model=DraftOut, summary="One draft")
async def get_draft(
    request: Request, principal: CurrentPrincipal, lifecycle: Lifecycle, draft_id: DraftId
) -> DraftOut:
    return await _draft(lifecycle, await lifecycle.draft(draft_id))


@router.put(
    "/drafts/{draft_id}",
    response_model=DraftOut,
    openapi_extra=_YAML_BODY,
    responses=errors(409),
    summary="Replace a draft's text; this also rebases it on what serves now",
)
async def update_draft(
    request: Request, principal: CurrentPrincipal, lifecycle: Lifecycle, draft_id: DraftId
) -> DraftOut:
    draft = await lifecycle.update_draft(principal.id, draft_id, await _text(request))
    return await _draft(lifecycle, draft)


@router.get(
    "/drafts/{draft_id}/preview",
    response_model=PreviewOut,
    summary="The views an audience would get under the draft, from live data",
)
async def preview(
    request: Request,
    principal: CurrentPrincipal,
    lifecycle: Lifecycle,
    draft_id: DraftId,
    audience: AudienceQuery = None,
) -> Response:
    body = await lifecycle.preview(draft_id, audience)
    return Response(body, media_type="application/json")


@router.get(
    "/drafts/{draft_id}/diff",
    response_model=DiffOut,
    summary="What the draft would newly publish and withdraw, and the policy diff",
)
async def diff(
    request: Request,
    principal: CurrentPrincipal,
    lifecycle: Lifecycle,
    draft_id: DraftId,
    audience: AudienceQuery = None,
) -> Response:
    draft = await lifecycle.draft(draft_id)
    verdict = await lifecycle.assess(draft, audience)
    body = {"draft": draft.id, "digest": draft.digest, **verdict.to_json()}
    return Response(msgspec.json.encode(body), media_type="application/json")


@router.post(
    "/drafts/{draft_id}/approve",
    response_model=DraftOut,
    openapi_extra=_schema(Digest),
    responses=errors(409),
    summary="Approve the draft version you reviewed (not your own)",
)
async def approve(
    request: Request, principal: CurrentPrincipal, lifecycle: Lifecycle, draft_id: DraftId
) -> DraftOut:
    body = await _small_json(request, Digest)
    if body is None:
        raise InvalidInput([Problem("$.digest", "the digest you reviewed is required")])
    draft = await lifecycle.approve(principal.id, draft_id, body.digest)
    return await _draft(lifecycle, draft)


@router.post(
    "/drafts/{draft_id}/activate",
    response_model=VersionOut,
    openapi_extra=_schema(MaybeDigest, required=False),
    responses=errors(409),
    summary="Make the draft the active version, atomically",
)
async def activate(
    request: Request, principal: CurrentPrincipal, lifecycle: Lifecycle, draft_id: DraftId
) -> VersionOut:
    body = await _small_json(request, MaybeDigest)
    digest = body.digest if body is not None else None
    return _version(await lifecycle.activate(principal.id, draft_id, digest))
