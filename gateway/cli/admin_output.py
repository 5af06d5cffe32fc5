"""Readable output of ``demarc admin`` commands (``--json`` prints the API's own body)."""

from __future__ import annotations

from typing import Any

import msgspec

from gateway.cli.admin_tickets import render_tickets


def render(command: str, status: int, body: Any) -> str:
    match command:
        case "status":
            return _status(body)
        case "policies":
            policies = body if isinstance(body, list) else [body]
            return "\n".join(_policy(p) for p in policies) or "no policies"
        case "history":
            return "\n".join(_version(v) for v in body)
        case "draft" | "show" | "withdraw":
            return _draft(body)
        case "drafts":
            return "\n".join(_draft(d) for d in body) or "no open drafts"
        case "diff":
            return _diff(body)
        case "approve" | "activate":
            return _result(command, body)
        case "rollback":
            return _rollback(body)
        case "audit":
            return "\n".join(_event(e) for e in body["events"]) or "no events"
        case "ticket":
            return render_tickets(body)
    # preview: the views as the audience would get them, already JSON
    return msgspec.json.format(msgspec.json.encode(body), indent=2).decode()


def _rollback(body: dict[str, Any]) -> str:
    draft = body["draft"]
    # a repeated rollback retries the draft the first one made: say so, or staff look for two
    same = f" (draft {draft['id']} was already open for this rollback: no new draft)"
    same = same if body.get("existing_draft") else ""
    if body["activated"]:
        return f"rolled back: {_version(body['version'])}{same}"
    return (
        f"rollback widens ({body['reason']}): draft {draft['id']} awaits another staff "
        f"member's approval of digest {draft['digest'][:12]}{same}"
    )


def _status(s: dict[str, Any]) -> str:
    lines = [
        f"data revision {s['revision']}, views at {s['views_revision']}, "
        f"render failures {s['render_failures']}",
        f"audiences: {', '.join(s['audiences']) or 'none'}",
    ]
    lines += [f"  {p['audience']:<24} {p['version']}  {', '.join(p['views'])}" for p in
              s["policies"]]  # fmt: skip
    for crl in s.get("crls", {}).get("cas", []):
        lines.append(_crl(crl))
    if s["tls_rejections"]:
        refused = ", ".join(f"{k} {v}" for k, v in sorted(s["tls_rejections"].items()))
        lines.append(f"refused: {refused}")
    return "\n".join(lines)


def _crl(c: dict[str, Any]) -> str:
    flag = "WARNING " if c["warning"] else ""
    if c["next_update"] is None:
        return f"{flag}CRL of {c['ca']}: none loaded, every client it issued is refused"
    left = c["seconds_left"]
    when = f"{left / 86400:.1f} days left" if left > 0 else "EXPIRED, its clients are refused"
    return f"{flag}CRL of {c['ca']}: nextUpdate {c['next_update']} ({when})"


def _version(v: dict[str, Any]) -> str:
    approver = f", approved by {v['approver']}" if v.get("approver") else ""
    return (
        f"v{v['number']} {v['version']} {v['origin']:<8} by {v['author']}{approver}, "
        f"activated by {v['activated_by']} at {v['activated_at']}"
    )


def _policy(p: dict[str, Any]) -> str:
    active = _version(p["active"]) if p.get("active") else "no active version"
    lines = [f"{p['audience']}: {active}"]
    lines += ["  " + _draft_line(d) for d in p.get("drafts", [])]
    return "\n".join(lines)


def _draft_line(d: dict[str, Any]) -> str:
    approvals = ", ".join(a["approver"] for a in d["approvals"]) or "none"
    return (
        f"draft {d['id']} for {d['audience']} [{d['state']}] digest {d['digest'][:12]} "
        f"by {', '.join(d['authors'])}, approvals: {approvals}"
    )


def _draft(d: dict[str, Any]) -> str:
    return _draft_line(d) + f"\nwritten against version {d['base']}, updated {d['updated_at']}"


def _diff(d: dict[str, Any]) -> str:
    lines = [
        f"draft {d['draft']} digest {d['digest'][:12]} for {d['audience']}: "
        + ("WIDENS disclosure" if d.get("widening") else "does not widen disclosure")
    ]
    lines += [f"  because {r}" for r in d.get("reasons", [])]
    lines += [f"  problem at {p['where']}: {p['message']}" for p in d.get("problems", [])]
    for audience in d.get("audiences", []):
        lines.append(f"  {audience['audience']}:")
        for view, change in sorted(audience["views"].items()):
            lines.append(f"    {view}: {_counts(change)}")
    return "\n".join(lines)


def _counts(change: dict[str, Any]) -> str:
    objects, fields = change["objects"], change["fields"]
    parts = [
        f"+{objects['published_count']} -{objects['withdrawn_count']} objects "
        f"({objects['changed_count']} changed)"
    ]
    if fields["published"]:
        parts.append(f"fields +{', +'.join(map(str, fields['published']))}")
    if fields["withdrawn"]:
        parts.append(f"fields -{', -'.join(map(str, fields['withdrawn']))}")
    return "; ".join(parts)


def _result(command: str, body: dict[str, Any]) -> str:
    if "number" in body:  # a version: the draft was activated
        return f"activated: {_version(body)}"
    if "state" in body:
        return f"{command}d: " + _draft_line(body)
    return msgspec.json.encode(body).decode()


def _event(e: dict[str, Any]) -> str:
    where = " ".join(str(e[k]) for k in ("audience", "view") if e.get(k))
    return f"{e.get('at', '')} {e.get('kind', ''):<12} {e.get('principal', '')} {where}".rstrip()
