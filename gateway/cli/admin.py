"""``demarc admin …``: the staff API from a shell, with the client certificate configured once."""

from __future__ import annotations

import argparse
import logging
import os
import ssl
import sys
from pathlib import Path
from typing import Any

import httpx
import msgspec
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.cli import admin_status
from gateway.cli.admin_tickets import add_ticket_commands, ticket_request
from gateway.errors import ConfigError

DEFAULT_CONFIG = Path("~/.config/demarc/admin.yaml")
CONFIG_ENV = "DEMARC_ADMIN_CONFIG"


class AdminConfig(BaseModel):
    """Where the internal listener is and which staff certificate to present."""

    model_config = ConfigDict(extra="forbid")

    url: str = "https://localhost:9443"
    cert: Path
    key: Path
    ca: Path


class AdminError(Exception):
    """The server refused: one line for the user, never a traceback."""


def config_path(args: argparse.Namespace) -> Path:
    given = args.admin_config or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG
    return Path(given).expanduser()


def load_config(path: Path) -> AdminConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        config = AdminConfig.model_validate(raw)
    except FileNotFoundError:
        raise ConfigError(
            f"no admin config at {path}: run `demarc admin configure --cert … --key … --ca …`"
        ) from None
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{path}: {_one_line(str(exc))}") from None
    base = path.parent  # relative certificate paths are relative to the config file
    return config.model_copy(update={k: base / getattr(config, k) for k in ("cert", "key", "ca")})


def client(config: AdminConfig, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    # one SSLContext: with httpx 0.28, verify=<path> plus cert= sends no client certificate
    context = ssl.create_default_context(cafile=str(config.ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(config.cert), str(config.key))
    return httpx.Client(base_url=config.url, verify=context, timeout=60, transport=transport)


def call(http: httpx.Client, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    try:
        response = http.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise AdminError(f"cannot reach {http.base_url}: {_one_line(str(exc))}") from None
    body = response.json() if response.content else None
    if response.status_code >= 400:
        error = (body or {}).get("error", {}) if isinstance(body, dict) else {}
        message = f"{response.status_code} {error.get('code', 'error')}: {error.get('message')}"
        problems = [f"{p['where']}: {p['message']}" for p in error.get("problems", [])]
        raise AdminError("; ".join([message, *problems]))
    return response.status_code, body


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _audience_path(audience: str) -> str:
    role, sep, name = audience.partition("/")
    if not sep or not name:
        raise ConfigError(f"an audience is <role>/<name>, e.g. peer/acme; got {audience!r}")
    return f"/v1/admin/policies/{role}/{name}"


def _text(file: Path) -> str:
    if str(file) == "-":
        return sys.stdin.read()
    return file.read_text(encoding="utf-8")


def request_for(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    """The HTTP request an admin command stands for: method, path, httpx keyword arguments."""
    if args.admin in admin_status.COMMANDS:
        return admin_status.request_for(args)
    audience = {"audience": args.audience} if getattr(args, "audience", None) else {}
    match args.admin:
        case "status":
            return "GET", "/v1/admin/status", {}
        case "policies":
            path = _audience_path(args.audience) if args.audience else "/v1/admin/policies"
            return "GET", path, {}
        case "history":
            return "GET", _audience_path(args.audience) + "/history", {}
        case "draft":
            body = {"json": {"text": _text(args.file)}}
            if args.replace is not None:
                return "PUT", f"/v1/admin/drafts/{args.replace}", body
            return "POST", "/v1/admin/drafts", body
        case "drafts":
            return "GET", "/v1/admin/drafts", {"params": audience}
        case "show":
            return "GET", f"/v1/admin/drafts/{args.id}", {}
        case "withdraw":
            return "DELETE", f"/v1/admin/drafts/{args.id}", {}
        case "preview":
            return "GET", f"/v1/admin/drafts/{args.id}/preview", {"params": audience}
        case "diff":
            return "GET", f"/v1/admin/drafts/{args.id}/diff", {"params": audience}
        case "approve":
            return "POST", f"/v1/admin/drafts/{args.id}/approve", {"json": {"digest": args.digest}}
        case "activate":
            return "POST", f"/v1/admin/drafts/{args.id}/activate", {"json": {"digest": args.digest}}
        case "rollback":
            return "POST", _audience_path(args.audience) + "/rollback", {"json": {"to": args.to}}
        case "audit":
            params = {k: v for k in ("principal", "kind", "limit") if (v := getattr(args, k))}
            return "GET", "/v1/admin/audit", {"params": {**params, **audience}}
        case "ticket":
            return ticket_request(args)
    raise ConfigError(f"unknown admin command {args.admin}")  # argparse prevents it


def admin(args: argparse.Namespace, transport: httpx.BaseTransport | None = None) -> int:
    from gateway.cli.admin_output import render

    if args.admin == "configure":
        return configure(args)
    method, path, kwargs = request_for(args)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is for servers
    with client(load_config(config_path(args)), transport) as http:
        try:
            status, body = call(http, method, path, **kwargs)
        except AdminError as exc:
            print(f"demarc admin: {exc}", file=sys.stderr)
            return 1
    if args.json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(body), indent=2).decode() + "\n")
    elif args.admin in admin_status.COMMANDS:
        print(admin_status.render(args, body))
    else:
        print(render(args.admin, status, body))
    return 0


def configure(args: argparse.Namespace) -> int:
    path = config_path(args)
    config = AdminConfig(
        url=args.url, cert=args.cert.resolve(), key=args.key.resolve(), ca=args.ca.resolve()
    )
    for name in ("cert", "key", "ca"):
        if not getattr(config, name).is_file():
            raise ConfigError(f"--{name} {getattr(config, name)}: no such file")
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {k: str(v) for k, v in config.model_dump().items()}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    print(f"wrote {path}")
    return 0


def add_commands(sub: Any) -> None:
    parser = sub.add_parser(
        "admin",
        help="the staff admin API: drafts, diff, approve, activate, rollback, audit, tickets",
        description="Talks to the internal listener as a staff principal. Configure once with "
        "`demarc admin configure`; every command prints readable text, or --json.",
    )
    parser.add_argument(
        "--config",
        dest="admin_config",
        type=Path,
        help=f"admin config file (default: ${CONFIG_ENV}, else {DEFAULT_CONFIG})",
    )
    parser.add_argument("--json", action="store_true", help="print the API's JSON body")
    cmds = parser.add_subparsers(dest="admin", required=True)
    parser.set_defaults(func=admin)

    conf = cmds.add_parser("configure", help="write the admin config file")
    conf.add_argument("--url", default="https://localhost:9443",
                      help="the internal listener (default: %(default)s)")  # fmt: skip
    for name in ("cert", "key", "ca"):
        conf.add_argument(f"--{name}", type=Path, required=True,
                          help=f"staff client {name} file" if name != "ca"
                          else "CA bundle that signed the server certificate")  # fmt: skip

    cmds.add_parser("status", help="revisions, audiences, active policies, refusals")
    pol = cmds.add_parser("policies", help="every policy and its drafts, or one audience's")
    pol.add_argument("audience", nargs="?", help="e.g. peer/acme (default: all)")
    hist = cmds.add_parser("history", help="every version ever active for an audience")
    hist.add_argument("audience")
    draft = cmds.add_parser("draft", help="create a draft from a policy file (- for stdin)")
    draft.add_argument("file", type=Path)
    draft.add_argument(
        "--replace", type=int, metavar="ID", help="rewrite draft ID (default: a new draft)"
    )
    drafts = cmds.add_parser("drafts", help="the open drafts, oldest first")
    drafts.add_argument("--audience", help="only this audience's (default: all)")
    show = cmds.add_parser("show", help="one draft")
    show.add_argument("id", type=int)
    withdraw = cmds.add_parser("withdraw", help="close an open draft without activating it")
    withdraw.add_argument("id", type=int)
    for name, text in (("preview", "the views an audience would get"),
                       ("diff", "what the draft would newly publish and withdraw")):  # fmt: skip
        cmd = cmds.add_parser(name, help=text)
        cmd.add_argument("id", type=int)
        cmd.add_argument("--audience", help="one audience (default: every one it applies to)")
    appr = cmds.add_parser("approve", help="approve the draft version you reviewed")
    appr.add_argument("id", type=int)
    appr.add_argument("--digest", required=True, help="the digest you reviewed (12+ chars)")
    act = cmds.add_parser("activate", help="make the draft the active version")
    act.add_argument("id", type=int)
    act.add_argument("--digest", help="refuse unless this is still the draft's digest "
                     "(default: no check)")  # fmt: skip
    back = cmds.add_parser("rollback", help="serve an earlier version again, as a new one")
    back.add_argument("audience")
    back.add_argument("--to", type=int, required=True, help="the version number")
    aud = cmds.add_parser("audit", help="the audit trail, newest first")
    aud.add_argument("--principal", help="only events by this principal (default: all)")
    aud.add_argument("--kind", help="draft, approve, activate, rollback, rejected, disclosure… "
                     "(default: all)")  # fmt: skip
    aud.add_argument("--audience", help="only this audience (default: all)")
    aud.add_argument("--limit", type=int, default=20, help="how many (default: %(default)s)")
    add_ticket_commands(cmds)
    admin_status.add_commands(cmds)
