"""The approval rule: who may approve a draft, when an approval still counts, and the refusals."""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from gateway.disclosure import LoadedPolicy
from gateway.errors import ApprovalRequired, Forbidden
from gateway.policy.store import Approval, DraftRecord

NOT_STAFF = "only staff may change policies"
NOT_OPEN = "draft {id} was already activated; write a new draft"
CHANGED = (
    "draft {id} is now version {now}, not {given} as you reviewed it: "
    "read it and its diff again, then repeat with its current digest"
)
STALE = (
    "the active policy of {aud} changed since draft {id} was written (it was written "
    "against {base}, {active} serves now): PUT the draft again to rebase it on what serves, "
    "review its new diff, then approve or activate it"
)
SELF_APPROVAL = (
    "{who} wrote draft {id} and cannot approve it: ask a staff member who did not write it"
)
NEEDS_APPROVAL = (
    "draft {id} widens disclosure ({reasons}): a staff member other than "
    "{authors} must approve it (POST /v1/admin/drafts/{id}/approve) first"
)
CHANGED_AFTER_APPROVAL = (
    "draft {id} changed after {approver} approved it (approved {old}, now "
    "{new}) and it widens disclosure ({reasons}): the current version "
    "needs a new approval"
)
UNREGISTERED = (
    "audience {aud!r} names no registered principal: add it to the principals file "
    "and issue its certificate, or correct the audience; nothing was activated"
)
NOT_SERVED = "the draft does not serve this audience"
AUDIENCE_FIXED = (
    "a draft's audience cannot change (draft {id} is for {aud}): "
    "write a new draft for another audience"
)


def require_staff(principal: str) -> None:
    if not principal.startswith("staff/"):
        raise Forbidden(NOT_STAFF)


def approver_for(
    draft: DraftRecord, approvals: Sequence[Approval], widening: bool, reasons: Sequence[str]
) -> str | None:
    """Who approved ``draft`` as it is now, or None if it needs no approval; raises
    ApprovalRequired when it widens and no staff member other than its authors approved
    exactly this text, written against the version that serves now."""
    valid = [
        a.approver
        for a in approvals
        if a.digest == draft.digest
        and a.base == (draft.base or 0)
        and a.approver not in draft.authors
        and a.approver.startswith("staff/")
    ]
    if valid or not widening:
        return valid[0] if valid else None
    why = "; ".join(reasons[:5])
    older = [a for a in approvals if a.digest != draft.digest]
    if older:
        raise ApprovalRequired(
            CHANGED_AFTER_APPROVAL.format(
                id=draft.id,
                approver=older[-1].approver,
                old=older[-1].digest[:12],
                new=draft.digest[:12],
                reasons=why,
            )
        )
    authors = ", ".join(draft.authors)
    raise ApprovalRequired(NEEDS_APPROVAL.format(id=draft.id, reasons=why, authors=authors))


def where(loaded: LoadedPolicy, key: str = "audience") -> str:
    """``source:line:col`` of a top-level key, for problems found after parsing."""
    root = yaml.compose(loaded.text, Loader=yaml.SafeLoader)
    for k, _ in getattr(root, "value", ()):
        if getattr(k, "value", None) == key:
            return f"{loaded.source}:{k.start_mark.line + 1}:{k.start_mark.column + 1}"
    return f"{loaded.source}:1:1"


def digest_matches(digest: str, given: str | None) -> bool:
    return given is None or (len(given) >= 12 and digest.startswith(given))
