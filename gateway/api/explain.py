"""Internal listener, staff: why each field of a published item is there, or is not."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import msgspec
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import CurrentPrincipal
from gateway.api.openapi import errors
from gateway.disclosure import parse_policy
from gateway.disclosure.explain import Explainer, ItemExplanation, published_items
from gateway.disclosure.explain_notes import Note, Where
from gateway.disclosure.policy import VIEWS
from gateway.errors import Forbidden, NotFound

router = APIRouter(prefix="/v1/admin", tags=["explain"])
MAX_LISTED = 1000  # items listed by index and id; any item can still be asked for by index


class WhereOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        description="the key or list item in the policy, e.g. disclose.alarm.fields[3]"
    )
    line: int
    column: int


class NoteOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    says: str
    where: WhereOut | None


class FieldOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str
    status: Literal["disclosed", "withheld", "empty"] = Field(
        description="empty: the rule allows it, but this item has no value for it"
    )
    rule: WhereOut | None = Field(description="the rule that discloses it, or would list it")
    reason: str
    notes: list[NoteOut] = Field(description="what rules do to the value: ids, rounding, text")
    value: Any = Field(None, description="the value as published (null when not published)")


class ItemRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: int
    section: str
    id: str | None


class ItemOut(ItemRef):
    included: list[NoteOut] = Field(description="why the item is in the view at all")
    fields: list[FieldOut]


class PolicyRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: str = Field(description="the policy's audience (customer/* serves customers "
                          "without their own)")  # fmt: skip
    number: int | None
    version: str
    text: str = Field(description="the policy text the lines refer to")


class ExplainOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: str
    view: str
    kind: str
    published: bool
    reason: str | None = Field(description="why nothing is published, when nothing is")
    revision: int | None = Field(description="the data revision of the published view")
    policy: PolicyRef
    rule: WhereOut | None = Field(description="disclose.<kind> in the policy text")
    items: list[ItemRef] = Field(description=f"the view's items (at most {MAX_LISTED})")
    total: int
    item: ItemOut | None = Field(description="the item asked for with ?item=<index>")


def _where(w: Where | None) -> WhereOut | None:
    return None if w is None else WhereOut(path=w.path, line=w.line, column=w.column)


def _notes(notes: tuple[Note, ...]) -> list[NoteOut]:
    return [NoteOut(says=n.says, where=_where(n.where)) for n in notes]


def _item(e: ItemExplanation, published: dict[str, Any], index: int) -> ItemOut:
    return ItemOut(
        index=index,
        section=e.section,
        id=e.id,
        included=_notes(e.included),
        fields=[
            FieldOut(
                field=f.field,
                status=f.status,
                rule=_where(f.rule),
                reason=f.reason,
                notes=_notes(f.notes),
                value=published.get(f.field),
            )
            for f in e.fields
        ],
    )


@router.get(
    "/explain",
    response_model=ExplainOut,
    responses=errors(404),
    summary="Which policy rule, at which line of which version, disclosed each field",
)
async def explain(
    request: Request,
    principal: CurrentPrincipal,
    audience: Annotated[str, Query(max_length=200, pattern=r"^(peer|customer)/[^/*]+$")],
    view: Annotated[str, Query(max_length=40, pattern=r"^[a-z0-9-]+$")],
    item: Annotated[int | None, Query(ge=0, le=10_000_000, description="index in items")] = None,
) -> ExplainOut:
    """Explains the view as it is served now: the bytes in the view cache, against the policy
    version that rendered them (``policy_version`` of the view), with lines of that text."""
    if principal.role != "staff":
        raise Forbidden("only staff may use the admin API")
    gateway = request.app.state.gateway
    role = audience.partition("/")[0]
    if view not in VIEWS[role] or audience not in gateway.registry.audiences():
        raise NotFound(f"no view {view} for {audience}")
    policy = gateway.policies.for_audience(audience)
    if policy is None:
        raise NotFound(f"no active policy serves {audience}")
    views = gateway.cache.get(audience)
    rendered = views.views.get(view)
    version = rendered.policy_version if rendered is not None else policy.version
    explainer = await asyncio.to_thread(_explainer, gateway, policy, version)
    kind = explainer.kind(view)
    body: Any = None if rendered is None else msgspec.json.decode(rendered.body)
    reason = None
    if explainer.rule(view) is None:
        reason = f"no rule disclose.{kind} in the policy: the view is not published (default deny)"
    elif view in views.withheld:
        reason = "the leak guard withheld this view and there is no earlier version to serve"
    elif body is None:
        reason = "the view is not rendered yet"
    listed = published_items(view, body) if isinstance(body, dict) else []
    chosen = None
    if item is not None:
        if item >= len(listed):
            raise NotFound(f"no item {item} in {view}")
        section, index, value = listed[item]
        chosen = _item(explainer.explain(view, section, index, value), value, item)
    return ExplainOut(
        audience=audience,
        view=view,
        kind=kind,
        published=reason is None,
        reason=reason,
        revision=None if rendered is None else rendered.revision,
        policy=PolicyRef(
            audience=explainer.loaded.policy.audience,
            number=explainer.number,
            version=explainer.loaded.version,
            text=explainer.loaded.text,
        ),
        rule=_where(explainer.view_where(view)),
        items=[
            ItemRef(index=n, section=s, id=None if v.get("id") is None else str(v.get("id")))
            for n, (s, _, v) in enumerate(listed[:MAX_LISTED])
        ],
        total=len(listed),
        item=chosen,
    )


def _explainer(gateway: Any, policy: Any, version: str) -> Explainer:
    """Blocking (SQLite, YAML): the explainer of the stored version that made the bytes."""
    for record in reversed(gateway.policy_db.history(policy.audience)):
        if record.version == version:
            loaded = parse_policy(record.text, f"{policy.audience}@{record.number}")
            return Explainer(loaded, record.number)
    return Explainer(policy.loaded, None)
