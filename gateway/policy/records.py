"""The records of the policy store: versions, drafts, approvals, audit events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    """UTC with a fixed width, so that text order is time order."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class VersionRecord:
    id: int
    audience: str
    number: int  # 1, 2, … per audience
    digest: str
    text: str
    author: str
    approver: str | None
    activated_by: str
    activated_at: str
    origin: str  # file, draft, rollback
    draft_id: int | None
    widening: bool

    @property
    def version(self) -> str:
        return self.digest[:12]


@dataclass(frozen=True, slots=True)
class DraftRecord:
    id: int
    audience: str
    text: str
    digest: str
    authors: tuple[str, ...]  # everyone who wrote it: none of them may approve it
    base: int | None  # the active version (row id) it was written against
    origin: str  # api, file, rollback
    source: str | None  # the file it came from, or the version number it rolls back to
    state: str  # open, activated
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class Approval:
    """``approver`` reviewed ``digest`` written against active version ``base`` (0: none)."""

    draft_id: int
    digest: str
    base: int
    approver: str
    at: str


@dataclass(frozen=True, slots=True)
class Event:
    """One audit record: a policy event or a disclosure."""

    kind: str
    principal: str
    audience: str | None = None
    view: str | None = None
    revision: int | None = None
    policy_version: str | None = None
    digest: str | None = None
    detail: Mapping[str, Any] | None = None
    at: str | None = None

    def row(self) -> tuple[object, ...]:
        detail = json.dumps(dict(self.detail), sort_keys=True) if self.detail else None
        return (
            self.at or now_iso(),
            self.kind,
            self.principal,
            self.audience,
            self.view,
            self.revision,
            self.policy_version,
            self.digest,
            detail,
        )


@dataclass(frozen=True, slots=True)
class NewVersion:
    audience: str
    digest: str
    text: str
    author: str
    approver: str | None
    activated_by: str
    origin: str
    draft_id: int | None
    widening: bool
