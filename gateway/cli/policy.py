"""``demarc policy test|preview|diff``: what the admin API does, from files, for CI and review."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from gateway.disclosure import (
    CompiledPolicy,
    PolicySet,
    compile_policy,
    load_policy_dir,
    parse_policy,
)
from gateway.disclosure.diff import applies_to, live_diff, policy_changes
from gateway.errors import ConfigError, PolicyError
from gateway.model import Snapshot
from gateway.policy.assess import assess
from gateway.policy.preview import preview_json, render_preview
from gateway.policy.testing import NO_CASES, TEST_SECRET, load_data_dir, run_tests, snapshot_from

PREVIEW_KEY_NOTE = "pseudonyms made with a preview key: they differ from what the audience sees"


def _policies(directory: Path) -> PolicySet:
    return PolicySet(compile_policy(p) for p in load_policy_dir(directory))


def _now(args: argparse.Namespace) -> datetime:
    now: datetime = args.now or datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _data(args: argparse.Namespace, now: datetime) -> Snapshot:
    if args.data is not None:
        return load_data_dir(args.data)
    from gateway.demo.network import build_demo

    return snapshot_from(build_demo(now).documents())


def _secret(args: argparse.Namespace) -> tuple[bytes, str | None]:
    if args.secret_file is not None:
        return args.secret_file.read_bytes(), None
    return TEST_SECRET, PREVIEW_KEY_NOTE


def policy_test(args: argparse.Namespace) -> int:
    results = run_tests(args.dir, args.tests)
    for result in results:
        print(f"{'ok  ' if result.ok else 'FAIL'} {result.file}::{result.name}")
        for failure in result.failures:
            print(f"     {failure}")
    failed = sum(not r.ok for r in results)
    if not results:
        print(NO_CASES.format(dir=args.tests or args.dir / "tests"), file=sys.stderr)
        return 1
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def policy_preview(args: argparse.Namespace) -> int:
    now = _now(args)
    policy = _policies(args.policies).for_audience(args.audience)
    if policy is None:
        print(
            f"no policy in {args.policies} serves {args.audience}: it gets no views",
            file=sys.stderr,
        )
        return 1
    secret, note = _secret(args)
    shown = render_preview(policy, _data(args, now), args.audience, secret, now)
    meta = {"note": note} if note else {}
    sys.stdout.buffer.write(preview_json(shown, **meta) + b"\n")
    return 0


def _registered(snapshot: Snapshot, *sets: PolicySet) -> list[str]:
    """Without a principal registry: every peer and customer the data names, and every audience
    a policy names."""
    found = {f"peer/{p}" for p in snapshot.interconnects_by_peer}
    found |= {f"customer/{s.customer}" for s in snapshot.services.values()}
    found |= {p.audience for s in sets for p in s if not p.audience.endswith("/*")}
    return sorted(found)


def set_diff(
    old: PolicySet,
    new: PolicySet,
    registered: list[str],
    snapshot: Snapshot,
    secret: bytes,
    now: datetime,
) -> list[dict[str, Any]]:
    """Per audience key whose policy changed: the static and the live diff."""
    before: dict[str, CompiledPolicy] = {p.audience: p for p in old}
    after: dict[str, CompiledPolicy] = {p.audience: p for p in new}
    out = []
    for key in sorted(set(before) | set(after)):
        was, now_is = before.get(key), after.get(key)
        if was is not None and now_is is not None and was.loaded.digest == now_is.loaded.digest:
            continue
        if now_is is not None:
            out.append(assess(now_is, old, registered, snapshot, secret, now).to_json())
            continue
        assert was is not None
        changes = policy_changes(was.loaded.policy, None)
        without = PolicySet(p for p in old if p.audience != key)
        live = live_diff(old, without, applies_to(key, registered, old), snapshot, secret, now)
        out.append(
            {
                "audience": key,
                "active_version": was.version,
                "draft_version": None,
                "widening": False,
                "reasons": [],
                "problems": [],
                "policy": {"widening": False, "changes": [c.to_json() for c in changes]},
                "audiences": live,
            }
        )
    return out


def _active_set(config: Path | None) -> PolicySet:
    from gateway.policy.store import PolicyDb
    from gateway.settings import load_settings

    path = load_settings(config).database_path
    if not path.exists():
        raise ConfigError(f"no database at {path}: pass --config, or compare with --against DIR")
    db = PolicyDb(path)
    try:
        active = db.active_versions()
    finally:
        db.close()
    compiled = []
    for audience, v in sorted(active.items()):
        try:
            compiled.append(compile_policy(parse_policy(v.text, f"{audience}@{v.number}")))
        except PolicyError as exc:  # the gateway does not serve it either
            print(f"version {v.number} of {audience} does not validate:\n{exc}", file=sys.stderr)
    return PolicySet(compiled)


def policy_diff(args: argparse.Namespace) -> int:
    now = _now(args)
    new = _policies(args.policies)
    old = _policies(args.against) if args.against is not None else _active_set(args.config)
    snapshot = _data(args, now)
    secret, note = _secret(args)
    registered = [args.audience] if args.audience else _registered(snapshot, old, new)
    diffs = set_diff(old, new, registered, snapshot, secret, now)
    against = str(args.against) if args.against is not None else "active versions"
    body: dict[str, Any] = {"policies": str(args.policies), "against": against}
    if note:
        body["note"] = note
    body |= {"widening": any(d["widening"] for d in diffs), "changed": diffs}
    sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(body), indent=2) + b"\n")
    return 3 if args.fail_on_widening and body["widening"] else 0


def _policy_check(args: argparse.Namespace) -> int:
    from gateway.disclosure import compile_policy, load_policy_dir

    try:
        if args.dir.is_file():  # one file, as an editor or a pre-commit hook checks it
            loaded = [parse_policy(args.dir.read_text(encoding="utf-8"), str(args.dir))]
        else:
            loaded = load_policy_dir(args.dir)
    except PolicyError as exc:
        for problem in exc.problems:
            print(f"{problem.where}: {problem.message}", file=sys.stderr)
        return 1
    for item in loaded:
        compiled = compile_policy(item)
        views = ", ".join(sorted(compiled.views)) or "no views"
        print(f"{item.source}: ok ({item.policy.audience}, version {item.version}: {views})")
    if not loaded:
        print(f"{args.dir}: no policy files (*.yaml)", file=sys.stderr)
        return 1
    return 0


def add_commands(sub: Any) -> None:
    policy = sub.add_parser("policy", help="disclosure policies").add_subparsers(
        dest="policy", required=True
    )
    check = policy.add_parser("check", help="validate policy files (file:line:col: message)")
    check.add_argument(
        "dir", type=Path, nargs="?", default=Path("policies"),
        help="a directory of *.yaml or one file (default: %(default)s)",
    )  # fmt: skip
    check.set_defaults(func=_policy_check)
    """The subcommands, on the ``demarc policy`` subparsers."""
    test = policy.add_parser("test", help="run the policy test cases in <dir>/tests/*.yaml")
    test.add_argument("dir", type=Path, nargs="?", default=Path("policies"),
                      help="the policies under test (default: %(default)s)")  # fmt: skip
    test.add_argument("--tests", type=Path, help="test cases directory (default: <dir>/tests)")
    test.set_defaults(func=policy_test)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--policies", type=Path, default=Path("policies"),
                        help="the policies to render (default: %(default)s)")  # fmt: skip
    common.add_argument(
        "--data", type=Path, help="ingest documents (<format>.json); default: the demo network"
    )
    common.add_argument("--now", type=datetime.fromisoformat,
                        help="render as of (ISO 8601; default: now)")  # fmt: skip
    common.add_argument(
        "--secret-file",
        type=Path,
        help="the gateway's pseudonym key, to see the ids the audience sees (default: a "
        "preview key: pseudonyms differ from the audience's)",
    )

    preview = policy.add_parser(
        "preview", parents=[common], help="the views an audience would get, as JSON"
    )
    preview.add_argument("--audience", required=True, help="peer/<name> or customer/<name>")
    preview.set_defaults(func=policy_preview)

    diff = policy.add_parser(
        "diff",
        parents=[common],
        help="what --policies would newly publish "
        "and withdraw, against a directory or the active versions",
    )
    which = diff.add_mutually_exclusive_group()
    which.add_argument("--against", type=Path,
                       help="the policies to compare with (default: --active)")  # fmt: skip
    which.add_argument(
        "--active",
        action="store_true",
        help="compare with the versions active in the gateway's database (the default)",
    )
    diff.add_argument("--config", type=Path, help="settings file locating the database, "
                      "with --active (default: none, the environment only)")  # fmt: skip
    diff.add_argument("--audience", help="only this audience (default: every one)")
    diff.add_argument("--fail-on-widening", action="store_true", help="exit 3 if anything widens")
    diff.set_defaults(func=policy_diff)
