"""What the policy admin routes receive and return."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.api.openapi import ProblemOut

# SQLite's INTEGER is signed 64-bit: a larger id names nothing, and must not reach the driver
MAX_ID = 2**63 - 1


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VersionOut(_Out):
    audience: str
    number: int
    version: str = Field(description="digest[:12], as in every view's policy_version")
    digest: str
    author: str
    approver: str | None
    activated_by: str
    activated_at: str
    origin: str
    draft: int | None
    widening: bool
    text: str | None = None


class ApprovalOut(_Out):
    approver: str
    digest: str
    at: str


class DraftOut(_Out):
    id: int
    audience: str
    version: str
    digest: str
    authors: list[str]
    base: int | None = Field(description="the version number it was written against")
    state: str
    origin: str
    source: str | None
    created_at: str
    updated_at: str
    approvals: list[ApprovalOut]
    text: str


class PolicyOut(_Out):
    audience: str
    active: VersionOut | None
    drafts: list[DraftOut]


class ValidationOut(_Out):
    valid: bool
    audience: str | None = None
    version: str | None = None
    problems: list[ProblemOut]
    activation_problems: list[ProblemOut] = Field(
        default_factory=list, description="valid, but it would be refused at activation"
    )


class Digest(_Out):
    digest: str = Field(min_length=12, max_length=64, description="what you reviewed")


class MaybeDigest(_Out):
    digest: str | None = Field(None, min_length=12, max_length=64)


class RollbackIn(_Out):
    to: int = Field(ge=1, le=MAX_ID, description="the version number to serve again")


class RollbackOut(_Out):
    activated: bool
    draft: DraftOut
    version: VersionOut | None
    reason: str | None
    existing_draft: bool = Field(
        False,
        description="true when an identical rollback draft was already open: it was retried "
        "and returned, and no new draft was made",
    )


class LeakGuardOut(_Out):
    hits: list[str]
    withheld: bool


class PreviewOut(_Out):
    """The views as the audience would get them: each view's body exactly as it would be sent
    (see the public API for their shapes)."""

    draft: int
    audience: str
    policy_version: str
    revision: int
    leak_guard: LeakGuardOut
    views: dict[str, dict[str, Any]]


class ChangeOut(_Out):
    kind: str
    aspect: str
    before: Any
    after: Any
    widening: bool
    added: list[str] | None = None
    removed: list[str] | None = None
    note: str | None = None


class PolicyChangesOut(_Out):
    widening: bool
    changes: list[ChangeOut]


class ObjectsOut(_Out):
    published: list[str]
    withdrawn: list[str]
    published_count: int
    withdrawn_count: int
    changed_count: int
    unchanged_count: int
    truncated: bool


class FieldsOut(_Out):
    published: list[str]
    withdrawn: list[str]


class ViewDiffOut(_Out):
    status: Literal["added", "removed", "changed", "unchanged"]
    objects: ObjectsOut
    fields: FieldsOut


class AudienceDiffOut(_Out):
    audience: str
    widening: bool
    views: dict[str, ViewDiffOut]


class DiffOut(_Out):
    draft: int
    digest: str
    audience: str
    active_version: str | None
    draft_version: str
    widening: bool
    reasons: list[str]
    problems: list[ProblemOut]
    policy: PolicyChangesOut
    audiences: list[AudienceDiffOut]
