"""The policy lifecycle: drafts, approval by a second staff member, atomic activation, rollback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.disclosure import LoadedPolicy, PolicySet, compile_policy, parse_policy
from gateway.errors import (
    ApprovalRequired,
    Conflict,
    DemarcError,
    InvalidInput,
    NotFound,
    PolicyError,
    Problem,
    SelfApproval,
    StaleDraft,
)
from gateway.model import Snapshot
from gateway.policy.approval import (
    AUDIENCE_FIXED,
    CHANGED,
    NOT_OPEN,
    NOT_SERVED,
    SELF_APPROVAL,
    STALE,
    UNREGISTERED,
    approver_for,
    digest_matches,
    require_staff,
    where,
)
from gateway.policy.assess import Assessment, assess
from gateway.policy.boot import boot
from gateway.policy.preview import preview_json, render_preview
from gateway.policy.store import DraftRecord, Event, NewVersion, PolicyDb, VersionRecord


@dataclass(frozen=True, slots=True)
class RollbackResult:
    draft: DraftRecord
    version: VersionRecord | None  # None: it widens and waits for a second staff approval
    reason: str | None = None
    existing: bool = False  # the draft was already open for the same rollback: none was made


class PolicyLifecycle:
    """Every change of the active policies goes through here, one at a time."""

    def __init__(
        self,
        db: PolicyDb,
        record: Callable[[Event], Awaitable[None]],
        current: Callable[[], PolicySet],
        apply: Callable[[PolicySet], None],
        audiences: Callable[[], Sequence[str]],
        snapshot: Callable[[], Snapshot],
        secret: bytes,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self._record = record  # AuditLog.record: durable policy events
        self._current = current
        self._apply = apply
        self._audiences = audiences
        self._snapshot = snapshot
        self._secret = secret
        self._clock = clock
        self._lock = asyncio.Lock()

    async def open(self, directory: Path) -> None:
        """Serve the database's active versions; seed it from ``directory`` the first time."""
        async with self._lock:
            self._apply(await asyncio.to_thread(boot, self.db, directory))

    # -- reading -----------------------------------------------------------------------------

    def registered(self, audience: str) -> bool:
        return audience == "customer/*" or audience in self._audiences()

    def activation_problems(self, loaded: LoadedPolicy) -> list[Problem]:
        if self.registered(loaded.policy.audience):
            return []
        return [Problem(where(loaded), UNREGISTERED.format(aud=loaded.policy.audience))]

    async def draft(self, draft_id: int) -> DraftRecord:
        draft = await asyncio.to_thread(self.db.draft, draft_id)
        if draft is None:
            raise NotFound(f"no draft {draft_id}")
        return draft

    async def assess(self, draft: DraftRecord, audience: str | None = None) -> Assessment:
        policy = compile_policy(parse_policy(draft.text, f"draft-{draft.id}"))
        targets = None if audience is None else [self._target(policy.audience, audience)]
        return await asyncio.to_thread(
            assess,
            policy,
            self._current(),
            list(self._audiences()),
            self._snapshot(),
            self._secret,
            self._clock(),
            targets,
        )

    async def preview(self, draft_id: int, audience: str | None) -> bytes:
        draft = await self.draft(draft_id)
        policy = compile_policy(parse_policy(draft.text, f"draft-{draft.id}"))
        target = self._target(policy.audience, audience)
        shown = await asyncio.to_thread(
            render_preview, policy, self._snapshot(), target, self._secret, self._clock()
        )
        return preview_json(shown, draft=draft.id)

    def _target(self, policy_audience: str, audience: str | None) -> str:
        """The one audience a preview or diff is for; it must be one the policy serves."""
        wildcard = policy_audience == "customer/*"
        target = audience or ("" if wildcard else policy_audience)
        if wildcard:
            fits = target.startswith("customer/") and target != "customer/*"
        else:
            fits = target == policy_audience
        if not fits:
            example = "customer/<name>" if wildcard else policy_audience
            message = f"the draft is for {policy_audience}: name an audience it serves ({example})"
            raise InvalidInput([Problem("audience", message)], NOT_SERVED)
        served = self._current().for_audience(target)
        if wildcard and served is not None and served.audience != policy_audience:
            message = f"{target} has its own policy: the draft for customer/* does not serve it"
            raise InvalidInput([Problem("audience", message)], NOT_SERVED)
        return target

    # -- changing ----------------------------------------------------------------------------

    async def create_draft(
        self, principal: str, text: str, *, origin: str = "api", source: str | None = None
    ) -> DraftRecord:
        require_staff(principal)
        # a text of up to 256 KiB is CPU work: parsed off the event loop, which serves both
        loaded = await asyncio.to_thread(parse_policy, text, "<draft>")
        async with self._lock:
            return await asyncio.to_thread(self._save, None, principal, loaded, origin, source)

    async def update_draft(self, principal: str, draft_id: int, text: str) -> DraftRecord:
        require_staff(principal)
        async with self._lock:
            draft = await self._open(draft_id)
            loaded = await asyncio.to_thread(parse_policy, text, f"draft-{draft_id}")
            if loaded.policy.audience != draft.audience:
                message = AUDIENCE_FIXED.format(id=draft_id, aud=draft.audience)
                raise PolicyError([Problem(where(loaded), message)])
            return await asyncio.to_thread(self._save, draft, principal, loaded, "api", None)

    def _save(
        self,
        draft: DraftRecord | None,
        principal: str,
        loaded: LoadedPolicy,
        origin: str,
        source: str | None,
    ) -> DraftRecord:
        """Blocking: writing a draft also rebases it on the version that serves now."""
        audience = loaded.policy.audience
        active = self.db.active(audience)
        authors = draft.authors if draft is not None else ()
        values = {
            "audience": audience,
            "text": loaded.text,
            "digest": loaded.digest,
            "authors": authors if principal in authors else (*authors, principal),
            "base": active.id if active else None,
            "origin": origin,
            "source": source,
        }
        action = "create" if draft is None else "update"
        event = Event(
            "draft",
            principal,
            audience,
            policy_version=loaded.version,
            digest=loaded.digest,
            detail={"action": action, "origin": origin},
        )
        return self.db.save_draft(draft, values, event)

    async def approve(self, principal: str, draft_id: int, digest: str) -> DraftRecord:
        require_staff(principal)
        async with self._lock:
            draft = await self._open(draft_id)
            try:
                if not digest_matches(draft.digest, digest):
                    raise StaleDraft(
                        CHANGED.format(id=draft.id, now=draft.digest[:12], given=digest[:12])
                    )
                await self._check_base(draft)
                if principal in draft.authors:
                    raise SelfApproval(SELF_APPROVAL.format(who=principal, id=draft.id))
            except DemarcError as exc:
                await self._rejected(principal, draft, "approve", exc)
                raise
            event = Event(
                "approve",
                principal,
                draft.audience,
                policy_version=draft.digest[:12],
                digest=draft.digest,
                detail={"draft": draft.id},
            )
            await asyncio.to_thread(self.db.approve, draft, principal, event)
            return draft

    async def activate(
        self, principal: str, draft_id: int, digest: str | None = None
    ) -> VersionRecord:
        require_staff(principal)
        async with self._lock:
            draft = await self._open(draft_id)
            return await self._activate(principal, draft, digest)

    async def rollback(self, principal: str, audience: str, number: int) -> RollbackResult:
        """Activate an earlier version again, as a new version; if that widens what serves now
        it waits, as a draft, for a second staff member's approval like any widening draft."""
        require_staff(principal)
        async with self._lock:
            target = await asyncio.to_thread(self.db.version, audience, number)
            if target is None:
                raise NotFound(f"no version {number} of {audience}")
            loaded = parse_policy(target.text, f"{audience}@{number}")
            # repeating a rollback that waits for approval retries the draft it made, rather
            # than piling up identical drafts for reviewers to tell apart
            existing = await asyncio.to_thread(self._open_rollback, audience, loaded.digest)
            reused = existing is not None
            if existing is None:
                draft = await asyncio.to_thread(
                    self._save, None, principal, loaded, "rollback", str(number)
                )
            else:
                draft = existing
            try:
                version = await self._activate(principal, draft, None)
            except ApprovalRequired as exc:
                return RollbackResult(draft, None, exc.message, existing=reused)
            return RollbackResult(draft, version, existing=reused)

    def _open_rollback(self, audience: str, digest: str) -> DraftRecord | None:
        """Blocking: an open rollback draft of exactly this text, written against the version
        that serves now (a stale one could not be approved or activated: it is not reused)."""
        active = self.db.active(audience)
        base = active.id if active else None
        for draft in self.db.drafts(audience):
            if draft.origin == "rollback" and draft.digest == digest and draft.base == base:
                return draft
        return None

    async def _activate(
        self, principal: str, draft: DraftRecord, digest: str | None
    ) -> VersionRecord:
        action = "rollback" if draft.origin == "rollback" else "activate"
        try:
            if not digest_matches(draft.digest, digest):
                raise StaleDraft(
                    CHANGED.format(id=draft.id, now=draft.digest[:12], given=(digest or "")[:12])
                )
            loaded = parse_policy(draft.text, f"draft-{draft.id}")
            problems = self.activation_problems(loaded)
            if problems:
                raise PolicyError(problems)
            await self._check_base(draft)
            verdict = await self.assess(draft)
            if verdict.problems:
                raise PolicyError(verdict.problems)
            approver = await self._approver(draft, verdict)
        except DemarcError as exc:
            await self._rejected(principal, draft, action, exc)
            raise
        detail = {"draft": draft.id, "widening": verdict.widening, "reasons": verdict.reasons()}
        event = Event(
            action,
            principal,
            draft.audience,
            policy_version=loaded.version,
            digest=loaded.digest,
            detail=detail,
        )
        origin = {"api": "draft"}.get(draft.origin, draft.origin)
        new = NewVersion(
            draft.audience,
            loaded.digest,
            loaded.text,
            ", ".join(draft.authors),
            approver,
            principal,
            origin,
            draft.id,
            verdict.widening,
        )
        (version,) = await asyncio.to_thread(self.db.add_versions, [new], [event], [draft.id])
        self._apply(verdict.new_set)  # durable first, then one swap: all of it serves, or none
        return version

    async def _approver(self, draft: DraftRecord, verdict: Assessment) -> str | None:
        approvals = await asyncio.to_thread(self.db.approvals, draft.id)
        return approver_for(draft, approvals, verdict.widening, verdict.reasons())

    async def withdraw(self, principal: str, draft_id: int) -> DraftRecord:
        """Any staff member may withdraw an open draft (nothing is disclosed by it); recorded."""
        require_staff(principal)
        async with self._lock:
            draft = await self._open(draft_id)
            event = Event(
                "draft",
                principal,
                draft.audience,
                digest=draft.digest,
                detail={"action": "withdraw", "draft": draft.id},
            )
            await asyncio.to_thread(self.db.withdraw, draft, event)
        return await self.draft(draft_id)

    async def _open(self, draft_id: int) -> DraftRecord:
        draft = await self.draft(draft_id)
        if draft.state != "open":
            raise Conflict(NOT_OPEN.format(id=draft_id))
        return draft

    async def _check_base(self, draft: DraftRecord) -> None:
        active = await asyncio.to_thread(self.db.active, draft.audience)
        if (active.id if active else None) != draft.base:
            base = await asyncio.to_thread(self._number, draft.base)
            raise StaleDraft(
                STALE.format(
                    aud=draft.audience,
                    id=draft.id,
                    base=base,
                    active=f"version {active.number}" if active else "nothing",
                )
            )

    def _number(self, version_id: int | None) -> str:
        number = self.db.version_number(version_id)
        return f"version {number}" if number is not None else "no policy"

    async def _rejected(
        self, principal: str, draft: DraftRecord, action: str, exc: Exception
    ) -> None:
        reason = str(exc) if isinstance(exc, PolicyError) else getattr(exc, "message", str(exc))
        await self._record(
            Event(
                "rejected",
                principal,
                draft.audience,
                policy_version=draft.digest[:12],
                digest=draft.digest,
                detail={"action": action, "draft": draft.id, "reason": reason},
            )
        )
