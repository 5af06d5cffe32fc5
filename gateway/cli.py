"""The ``demarc`` command line: serve, pki, policy, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from gateway.errors import ConfigError, PolicyError


def _serve(args: argparse.Namespace) -> int:
    from gateway.app import Gateway
    from gateway.server import serve
    from gateway.settings import load_settings

    settings = load_settings(args.config)
    asyncio.run(serve(Gateway(settings), log_level=args.log_level))
    return 0


def _pki_init(args: argparse.Namespace) -> int:
    from gateway.pki import init_pki

    init_pki(args.dir, server_names=args.server_name, force=args.force)
    print(f"CA and server certificate in {args.dir}/ (ca.crt, server.crt)")
    return 0


def _pki_issue(args: argparse.Namespace) -> int:
    from gateway.pki import issue_principal

    cert, key = issue_principal(args.dir, args.trust_domain, args.role, args.name, args.issuer)
    print(f"{cert}\n{key}")
    return 0


def _pki_revoke(args: argparse.Namespace) -> int:
    from gateway.revocation import revoke

    serial = revoke(args.dir, args.cert)
    print(f"revoked serial {serial:x}; {args.dir}/crl.pem rewritten (servers reload it)")
    return 0


def _pki_crl(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from gateway.revocation import write_crls

    print(write_crls(args.dir, timedelta(days=args.days)))
    return 0


def _pki_intermediate(args: argparse.Namespace) -> int:
    from gateway.revocation import init_intermediate

    print(init_intermediate(args.dir, args.name))
    return 0


def _pki_rotate(args: argparse.Namespace) -> int:
    from gateway.pki import rotate_server

    cert, key = rotate_server(args.dir, args.server_name)
    print(f"{cert}\n{key}")
    return 0


def _policy_check(args: argparse.Namespace) -> int:
    from gateway.disclosure import compile_policy, load_policy_dir

    try:
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


def _schemas_export(args: argparse.Namespace) -> int:
    from gateway.schemas import export

    for path in export(args.dir):
        print(path)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo.run import run_demo

    run_demo(args.dir, args.policies, args.public_port, args.internal_port, started=args.started)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="demarc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run both listeners")
    serve.add_argument("--config", type=Path, help="YAML settings file (DEMARC_* env overrides)")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=_serve)

    pki = sub.add_parser("pki", help="a development PKI").add_subparsers(dest="pki", required=True)
    init = pki.add_parser("init", help="create the CA and the server certificate")
    init.add_argument("--dir", type=Path, default=Path(".demarc/pki"))
    init.add_argument("--server-name", action="append", default=["localhost"])
    init.add_argument("--force", action="store_true", help="replace an existing CA")
    init.set_defaults(func=_pki_init)
    issue = pki.add_parser("issue", help="issue a client certificate for a principal")
    issue.add_argument("--dir", type=Path, default=Path(".demarc/pki"))
    issue.add_argument("--role", required=True, choices=["source", "staff", "peer", "customer"])
    issue.add_argument("--name", required=True)
    issue.add_argument("--trust-domain", default="demarc.example")
    issue.add_argument("--issuer", default="ca", help="ca, or intermediate-<name>")
    issue.set_defaults(func=_pki_issue)
    revoke = pki.add_parser("revoke", help="revoke a certificate and rewrite crl.pem")
    revoke.add_argument("--dir", type=Path, default=Path(".demarc/pki"))
    revoke.add_argument("--cert", type=Path, required=True)
    revoke.set_defaults(func=_pki_revoke)
    crl = pki.add_parser("crl", help="re-sign crl.pem (run before nextUpdate passes)")
    crl.add_argument("--dir", type=Path, default=Path(".demarc/pki"))
    crl.add_argument("--days", type=int, default=7, help="nextUpdate, in days from now")
    crl.set_defaults(func=_pki_crl)
    inter = pki.add_parser("intermediate", help="create an intermediate CA under the root")
    inter.add_argument("--dir", type=Path, default=Path(".demarc/pki"))
    inter.add_argument("--name", required=True)
    inter.set_defaults(func=_pki_intermediate)
    rotate = pki.add_parser("rotate-server", help="a new server key and certificate")
    rotate.add_argument("--dir", type=Path, default=Path(".demarc/pki"))
    rotate.add_argument("--server-name", action="append", default=["localhost"])
    rotate.set_defaults(func=_pki_rotate)

    policy = sub.add_parser("policy", help="disclosure policies").add_subparsers(
        dest="policy", required=True
    )
    check = policy.add_parser("check", help="validate policy files (file:line:col: message)")
    check.add_argument("dir", type=Path, nargs="?", default=Path("policies"))
    check.set_defaults(func=_policy_check)
    from gateway.policycli import add_commands

    add_commands(policy)  # test, preview, diff

    schemas = sub.add_parser("schemas", help="JSON Schema").add_subparsers(
        dest="schemas", required=True
    )
    export = schemas.add_parser("export", help="write policy and ingest JSON Schemas")
    export.add_argument("--dir", type=Path, default=Path("schemas"))
    export.set_defaults(func=_schemas_export)

    demo = sub.add_parser("demo", help="run the gateway on a sample network")
    demo.add_argument("--dir", type=Path, default=Path(".demo"))
    demo.add_argument("--policies", type=Path, default=Path("policies"))
    demo.add_argument("--public-port", type=int, default=8443)
    demo.add_argument("--internal-port", type=int, default=9443)
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    args.started = started
    try:
        code: int = args.func(args)
    except (ConfigError, PolicyError, FileNotFoundError, ValueError) as exc:
        print(f"demarc: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
