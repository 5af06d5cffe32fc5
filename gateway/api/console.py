"""The staff console on the internal listener: its pages and the files they load, nothing else."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response

from gateway.api.deps import CurrentPrincipal
from gateway.api.openapi import errors
from gateway.api.policy_models import MAX_ID
from gateway.console import Asset
from gateway.errors import Forbidden, NotFound
from gateway.security.identity import Principal

router = APIRouter(prefix="/console", tags=["console"])

# scripts and styles from this origin only, none inline; never framed; no plug-ins, no <base>
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_PAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The console page (HTML: its data is fetched by its script from the "
        "admin API); `no-store`, with a strict Content-Security-Policy",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}
_ASSET: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A script, style or icon of the console",
        "content": {
            "text/javascript": {"schema": {"type": "string"}},
            "text/css": {"schema": {"type": "string"}},
            "image/svg+xml": {"schema": {"type": "string"}},
        },
    },
    **errors(404),
}
DraftId = Annotated[int, Path(ge=1, le=MAX_ID)]


async def staff(principal: CurrentPrincipal) -> Principal:
    if principal.role != "staff":
        raise Forbidden("only staff may use the console")
    return principal


Staff = Annotated[Principal, Depends(staff)]


def _page(request: Request, who: Principal, page: str, title: str, args: str = "") -> Response:
    shell: str = request.app.state.console_shell
    token: str = request.app.state.csrf_token(who.id)
    text = shell.format(
        token=html.escape(token),
        principal=html.escape(who.id),
        page=html.escape(page),
        args=html.escape(args),
        title=html.escape(title),
    )
    # the page holds the staff member's token: never stored, never framed
    headers = {**SECURITY, "Cache-Control": "no-store"}
    return HTMLResponse(text, headers=headers)


@router.get("", response_class=HTMLResponse, responses=_PAGE, summary="Console: audiences")
async def audiences(request: Request, who: Staff) -> Response:
    return _page(request, who, "audiences", "Audiences and their policies")


@router.get(
    "/audiences/{role}/{name}",
    response_class=HTMLResponse,
    responses={**_PAGE, **errors(404)},
    summary="Console: one audience, its active version, drafts and history",
)
async def audience(
    request: Request,
    who: Staff,
    role: str,
    name: Annotated[str, Path(max_length=200, pattern=r"^[^/]+$")],
) -> Response:
    if role not in ("peer", "customer"):
        raise NotFound(f"no audience {role}/{name}")
    return _page(request, who, "audience", f"Audience {role}/{name}", f"{role}/{name}")


@router.get(
    "/drafts/new", response_class=HTMLResponse, responses=_PAGE, summary="Console: a new draft"
)
async def new_draft(request: Request, who: Staff) -> Response:
    return _page(request, who, "draft", "New draft")


@router.get(
    "/drafts/{draft_id}",
    response_class=HTMLResponse,
    responses={**_PAGE, **errors(404)},
    summary="Console: a draft: edit, validate, preview, diff, approve, activate, withdraw",
)
async def draft(request: Request, who: Staff, draft_id: DraftId) -> Response:
    return _page(request, who, "draft", f"Draft {draft_id}", str(draft_id))


@router.get("/audit", response_class=HTMLResponse, responses=_PAGE, summary="Console: audit")
async def audit(request: Request, who: Staff) -> Response:
    return _page(request, who, "audit", "Audit trail")


@router.get("/status", response_class=HTMLResponse, responses=_PAGE, summary="Console: status")
async def status(request: Request, who: Staff) -> Response:
    return _page(request, who, "status", "Gateway status")


@router.get(
    "/explain", response_class=HTMLResponse, responses=_PAGE, summary="Console: explain a field"
)
async def explain(request: Request, who: Staff) -> Response:
    return _page(request, who, "explain", "Explain a published field")


@router.get(
    "/static/{asset:path}",
    responses=_ASSET,
    response_class=Response,
    summary="Console: a script or style, from the gateway itself",
)
async def static(request: Request, who: Staff, asset: str) -> Response:
    assets: dict[str, Asset] = request.app.state.console_assets
    found = assets.get(asset)
    if found is None:
        raise NotFound(f"no console file {asset}")
    # no data in these files: a browser may keep them, asking again each time (no-cache)
    headers: dict[str, Any] = {**SECURITY, "Cache-Control": "no-cache"}
    return Response(found.body, media_type=found.media_type, headers=headers)
