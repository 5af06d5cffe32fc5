"""``demarc admin ticket …``: staff work the trouble tickets of peers and customers."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.tickets.model import Status


def add_ticket_commands(cmds: Any) -> None:
    parser = cmds.add_parser("ticket", help="trouble tickets: list, show, update")
    sub = parser.add_subparsers(dest="ticket", required=True)
    listing = sub.add_parser("list", help="tickets in the order they last changed")
    listing.add_argument("--after", type=int, default=0, help="only changes after this point "
                         "of the feed, a seq (default: %(default)s, all)")  # fmt: skip
    listing.add_argument("--status", choices=[s.value for s in Status],
                         help="only tickets now in this status (default: any)")  # fmt: skip
    listing.add_argument("--audience", help="only this party's, e.g. peer/acme (default: all)")
    listing.add_argument("--limit", type=int, default=100, help="how many (default: %(default)s)")
    show = sub.add_parser("show", help="one ticket, all of it")
    show.add_argument("id")
    update = sub.add_parser(
        "update",
        help="move a ticket, add a note, say when it should be resolved",
        description="Moves follow the state machine (README: Trouble tickets). A note is "
        "internal unless --visible: then the party sees it as its policy's text rule says, "
        "if the leak guard finds no internal name in it. Each option left out changes nothing.",
    )
    update.add_argument("id")
    unchanged = " (default: unchanged)"
    update.add_argument("--status", choices=[s.value for s in Status],
                        help="move it to this status" + unchanged)  # fmt: skip
    update.add_argument("--reason", help="why the status changes, with --status (default: none)")
    update.add_argument("--note", help="a note (default: none)")
    update.add_argument("--visible", action="store_true", help="show the note to the party")
    update.add_argument("--expected-resolution", metavar="TIME",
                        help="RFC 3339, with an offset" + unchanged)  # fmt: skip
    update.add_argument("--seller-priority", choices=["low", "medium", "high", "critical"],
                        help="our priority" + unchanged)  # fmt: skip
    update.add_argument("--seller-severity",
                        choices=["minor", "moderate", "significant", "extensive"],
                        help="our severity" + unchanged)  # fmt: skip
    update.add_argument("--ref", help="your own ticket reference, internal" + unchanged)


def ticket_request(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    if args.ticket == "list":
        params = {"after": args.after, "limit": args.limit}
        params.update({k: v for k in ("status", "audience") if (v := getattr(args, k))})
        return "GET", "/v1/tickets", {"params": params}
    if args.ticket == "show":
        return "GET", f"/v1/tickets/{args.id}", {}
    body: dict[str, Any] = {
        name: value
        for name, value in (
            ("status", args.status),
            ("reason", args.reason),
            ("expected_resolution", args.expected_resolution),
            ("seller_priority", args.seller_priority),
            ("seller_severity", args.seller_severity),
            ("operator_ref", args.ref),
        )
        if value is not None
    }
    if args.note is not None:
        body["note"] = {"text": args.note, "visibility": "party" if args.visible else "internal"}
    return "POST", f"/v1/tickets/{args.id}/updates", {"json": body}


def render_tickets(body: Any) -> str:
    if isinstance(body, dict) and "tickets" in body:
        lines = [_line(t) for t in body["tickets"]] or ["no tickets changed"]
        return "\n".join([*lines, f"next: --after {body['next_after']}"])
    return _detail(body)


def _line(ticket: dict[str, Any]) -> str:
    names = ", ".join(e["published_id"] for e in ticket["entities"])
    text = " ".join(ticket["description"].split())
    text = text if len(text) <= 60 else text[:57] + "..."
    return (f"{ticket['ticket_id']}  {ticket['audience']}  {ticket['status']}  "
            f"seq {ticket['seq']}  {names}  {text!r}")  # fmt: skip


def _detail(ticket: dict[str, Any]) -> str:
    out = [_line(ticket)]
    for entity in ticket["entities"]:
        inside = ", ".join(f"{k} {v}" for k, v in entity["resource"].items())
        out.append(f"  about: {entity['kind']} {entity['published_id']} = {inside}")
    for name in ("severity", "priority", "ticket_type", "observed_impact", "external_id",
                 "seller_priority", "seller_severity", "expected_resolution", "resolved_at",
                 "operator_ref"):  # fmt: skip
        if ticket.get(name) is not None:
            out.append(f"  {name}: {ticket[name]}")
    for change in ticket["history"]:
        why = f" ({change['reason']})" if change.get("reason") else ""
        out.append(f"  {change['at']}  -> {change['status']} by {change['principal']}{why}")
    for note in ticket["notes"]:
        who = note["principal"] if note["side"] == "operator" else note.get("author") or "party"
        seen = "" if note["side"] == "party" else f" [{note['visibility']}]"
        out.append(f"  {note['at']}  note by {who}{seen}: {note['text']}")
    return "\n".join(out)
