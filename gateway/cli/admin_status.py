"""``demarc admin incident …`` and ``demarc admin maintenance …``: what customers are told."""

from __future__ import annotations

import argparse
from typing import Any

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
MAINTENANCE_STATUSES = ("verifying", "completed", "cancelled", "in-progress", "scheduled")
COMMANDS = frozenset({"incident", "maintenance"})


def _update(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"status": args.status}
    if args.text is not None:
        body["text"] = args.text
    if args.at is not None:
        body["at"] = args.at
    return body


def request_for(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    """The HTTP request of an incident or maintenance command."""
    if args.admin == "maintenance":
        return "POST", f"/v1/admin/maintenance/{args.id}/updates", {"json": _update(args)}
    match args.incident:
        case "open":
            body = _update(args)
            for key in ("id", "title", "impact"):
                if (value := getattr(args, key)) is not None:
                    body[key] = value
            body["services"] = args.service or []
            body["alarms"] = args.alarm or []
            return "POST", "/v1/admin/incidents", {"json": body}
        case "update":
            return "POST", f"/v1/admin/incidents/{args.id}/updates", {"json": _update(args)}
        case "show":
            return "GET", f"/v1/admin/incidents/{args.id}", {}
    params: dict[str, Any] = {"limit": args.limit}
    if args.service:
        params["service"] = args.service
    return "GET", "/v1/admin/incidents", {"params": params}


def render(args: argparse.Namespace, body: Any) -> str:
    if isinstance(body, list):
        return "\n".join(_summary(i) for i in body) or "no incidents"
    if args.admin == "maintenance":
        head = f"maintenance {body['id']}: {body['status']} ({body['start']} to {body['end']})"
    else:
        head = _summary(body)
        named = [f"services {', '.join(body['services'])}"] if body["services"] else []
        named += [f"alarms {', '.join(body['alarms'])}"] if body["alarms"] else []
        head += "".join(f"\n  {n}" for n in named)
    lines = [head] + [
        f"  {u['at']}  {u['status']:<13} {u['text'] or ''}".rstrip() for u in body["updates"]
    ]
    return "\n".join([*lines, f"(data revision {body['revision']})"])


def _summary(incident: dict[str, Any]) -> str:
    title = incident["title"] or "(no title: customers see the policy's template)"
    return f"incident {incident['id']}: {incident['status']}: {title}"


def add_commands(cmds: Any) -> None:
    """The subcommands, under ``demarc admin``."""
    inc = cmds.add_parser("incident", help="declare incidents and tell customers how they go")
    sub = inc.add_subparsers(dest="incident", required=True)
    opened = sub.add_parser("open", help="declare an incident with its first update")
    opened.add_argument("--id", help="its id (default: one is made, INC-<date>-<hex>)")
    opened.add_argument("--title", help="for customers (default: the policy's template)")
    opened.add_argument(
        "--service",
        action="append",
        metavar="ID",
        help="a service it affects; repeat for several (default: none)",
    )
    opened.add_argument(
        "--alarm",
        action="append",
        metavar="ID",
        help="an alarm it is about; repeat for several (default: none)",
    )
    opened.add_argument("--impact", choices=("outage", "degraded", "none"),
                        help="as declared (default: what its alarms say)")  # fmt: skip
    _status_options(opened, INCIDENT_STATUSES, "investigating")
    updated = sub.add_parser("update", help="add an update to an incident's timeline")
    updated.add_argument("id")
    _status_options(updated, INCIDENT_STATUSES, None)
    shown = sub.add_parser("show", help="one incident and its timeline")
    shown.add_argument("id")
    listed = sub.add_parser("list", help="declared incidents, the latest updated first")
    listed.add_argument("--service", help="only those naming this service (default: all)")
    listed.add_argument("--limit", type=int, default=20, help="how many (default: %(default)s)")
    mw = cmds.add_parser("maintenance", help="tell customers how planned work goes")
    mw_sub = mw.add_subparsers(dest="maintenance", required=True)
    mw_update = mw_sub.add_parser("update", help="verifying, completed or cancelled, with text")
    mw_update.add_argument("id", help="the maintenance window's id")
    _status_options(mw_update, MAINTENANCE_STATUSES, None)


def _status_options(parser: Any, statuses: tuple[str, ...], default: str | None) -> None:
    parser.add_argument(
        "--status",
        choices=statuses,
        default=default,
        required=default is None,
        help="where it stands" + (" (default: %(default)s)" if default else ""),
    )
    parser.add_argument("--text", help="for customers; naming a router, port, address or site "
                        "is refused (default: no text)")  # fmt: skip
    parser.add_argument("--at", help="RFC 3339, when it happened (default: now)")
