"""``demarc principals list|add|remove``: edit the registry file a running gateway reloads."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import ConfigError
from gateway.security.identity import load_registry, parse_principal


def _path(args: argparse.Namespace) -> tuple[Path, str]:
    from gateway.settings import load_settings

    settings = load_settings(args.config)
    return args.file or settings.principals_path, settings.trust_domain


def _entries(path: Path) -> list[Any]:
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("principals") or [] if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected 'principals: [<role>/<name>, ...]'")
    return entries


def _id(entry: Any) -> str:
    return str(entry["principal"]) if isinstance(entry, dict) else str(entry)


def _write(path: Path, entries: list[Any], trust_domain: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump({"principals": entries}, sort_keys=False), encoding="utf-8")
    try:
        load_registry(tmp, trust_domain)  # never leave a file the gateway would refuse
    except ConfigError:
        tmp.unlink()
        raise
    # one rename: a gateway reloading it reads the old file or the new one, never half
    os.replace(tmp, path)


def _list(args: argparse.Namespace) -> int:
    path, trust_domain = _path(args)
    for principal in load_registry(path, trust_domain).principals:
        print(f"{principal.id:<32} {principal.spiffe(trust_domain)}")
    return 0


def _add(args: argparse.Namespace) -> int:
    path, trust_domain = _path(args)
    try:
        principal = parse_principal(args.principal)
    except ValueError as exc:  # the CLI speaks the error tree: one line, exit 2
        raise ConfigError(str(exc)) from None
    entries = _entries(path)
    if any(_id(e) == principal.id for e in entries):
        raise ConfigError(f"{principal.id} is already in {path}")
    pins = [p.lower().replace(":", "") for p in args.pin or []]
    entries.append({"principal": principal.id, "pin_sha256": pins} if pins else principal.id)
    _write(path, entries, trust_domain)
    print(f"added {principal.id} to {path} (a running gateway picks it up within seconds)")
    return 0


def _remove(args: argparse.Namespace) -> int:
    path, trust_domain = _path(args)
    entries = _entries(path)
    kept = [e for e in entries if _id(e) != args.principal]
    if len(kept) == len(entries):
        raise ConfigError(f"{args.principal} is not in {path}")
    _write(path, kept, trust_domain)
    print(f"removed {args.principal} from {path}")
    return 0


def add_commands(sub: Any) -> None:
    group = sub.add_parser(
        "principals", help="the principal registry: list, add, remove"
    ).add_subparsers(dest="principals", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="settings file (default: none, env only)")
    common.add_argument(
        "--file", type=Path, help="the registry (default: the settings' principals_file)"
    )
    listed = group.add_parser("list", parents=[common], help="every registered principal")
    listed.set_defaults(func=_list)
    add = group.add_parser("add", parents=[common], help="register <role>/<name>")
    add.add_argument("principal", help="e.g. peer/acme, staff/carol")
    add.add_argument(
        "--pin", action="append", metavar="SHA256",
        help="accept only this certificate fingerprint (repeatable; default: any)",
    )  # fmt: skip
    add.set_defaults(func=_add)
    remove = group.add_parser("remove", parents=[common], help="unregister <role>/<name>")
    remove.add_argument("principal")
    remove.set_defaults(func=_remove)
