"""What activating a policy would change: static and live diffs, a trial render, the verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.disclosure import CompiledPolicy, PolicySet
from gateway.disclosure.diff import (
    PolicyChange,
    applies_to,
    is_widening,
    live_diff,
    policy_changes,
    with_policy,
)
from gateway.errors import Problem
from gateway.model import Snapshot
from gateway.policy.preview import render_preview


@dataclass(frozen=True, slots=True)
class Assessment:
    policy: CompiledPolicy
    active: CompiledPolicy | None  # what serves its audience key now
    new_set: PolicySet
    audiences: list[str]  # the registered audiences it would serve
    changes: list[PolicyChange]
    live: list[dict[str, Any]]
    problems: list[Problem]  # reasons it cannot serve at all

    @property
    def widening(self) -> bool:
        return is_widening(self.changes) or any(a["widening"] for a in self.live)

    def reasons(self) -> list[str]:
        """Why it widens, in a reviewer's words."""
        out = [_reason(c) for c in self.changes if c.widening]
        for aud in self.live:
            for view, d in aud["views"].items():
                count, fields = d["objects"]["published_count"], d["fields"]["published"]
                if count:
                    out.append(f"{aud['audience']} {view}: {count} objects newly published")
                if fields:
                    out.append(
                        f"{aud['audience']} {view}: fields newly published: {', '.join(fields)}"
                    )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "audience": self.policy.audience,
            "active_version": self.active.version if self.active else None,
            "draft_version": self.policy.version,
            "widening": self.widening,
            "reasons": self.reasons(),
            "problems": [{"where": p.where, "message": p.message} for p in self.problems],
            "policy": {
                "widening": is_widening(self.changes),
                "changes": [c.to_json() for c in self.changes],
            },
            "audiences": self.live,
        }


def _reason(c: PolicyChange) -> str:
    if c.aspect == "audience":
        return f"a first policy for {c.after} (it had none)"
    if c.aspect == "kind":
        return f"{c.kind} newly disclosed (fields: {', '.join(c.added) or 'none'})"
    if c.added:
        return f"{c.kind} {c.aspect}: +{', +'.join(c.added)}"
    note = f" ({c.note})" if c.note else ""
    return f"{c.kind} {c.aspect}: {c.before!r} → {c.after!r}{note}"


def assess(
    policy: CompiledPolicy,
    current: PolicySet,
    registered: list[str],
    snapshot: Snapshot,
    secret: bytes,
    now: datetime,
    audiences: list[str] | None = None,
) -> Assessment:
    """Diff ``policy`` against what serves now and trial-render it for every audience it would
    serve (or just ``audiences``). Pure CPU work: callers on the event loop use a thread."""
    active = next((p for p in current if p.audience == policy.audience), None)
    new_set = with_policy(current, policy)
    targets = (
        audiences if audiences is not None else applies_to(policy.audience, registered, new_set)
    )
    changes = policy_changes(active.loaded.policy if active else None, policy.loaded.policy)
    problems: list[Problem] = []
    live: list[dict[str, Any]] = []
    try:
        live = live_diff(current, new_set, targets, snapshot, secret, now)
        for audience in targets:
            hits = render_preview(policy, snapshot, audience, secret, now).leak_hits
            problems.extend(Problem(audience, f"leak guard: {hit}") for hit in hits)
    except Exception as exc:
        # fail closed: a policy the engine cannot render never serves
        problems.append(
            Problem(
                policy.audience,
                f"rendering failed ({type(exc).__name__}); "
                "the policy cannot serve: report this as a bug",
            )
        )
    return Assessment(policy, active, new_set, targets, changes, live, problems)
