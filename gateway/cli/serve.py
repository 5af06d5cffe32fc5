"""``demarc serve``, ``demarc demo`` and ``demarc schemas export``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _serve(args: argparse.Namespace) -> int:
    from gateway.app import Gateway
    from gateway.server import bind, run, serve
    from gateway.settings import load_settings

    overrides = {"accept_data_loss": True} if args.accept_data_loss else {}
    settings = load_settings(args.config, **overrides)
    ops = settings.ops
    ops_sock = bind(ops.host, ops.port) if ops is not None else None
    run(serve(Gateway(settings), log_level=args.log_level, ops_sock=ops_sock))
    return 0


def _schemas_export(args: argparse.Namespace) -> int:
    from gateway.schemas import export

    for path in export(args.dir):
        print(path)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo.run import run_demo

    run_demo(
        args.dir,
        args.policies,
        args.public_port,
        args.internal_port,
        args.ops_port,
        started=args.started,
    )
    return 0


def add_commands(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run both listeners")
    serve.add_argument(
        "--config",
        type=Path,
        help="YAML settings file, DEMARC_* variables override it (default: none, the "
        "environment and built-in defaults only)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        help="level of the HTTP servers' own messages: debug, info, warning, error "
        "(default: %(default)s)",
    )
    serve.add_argument(
        "--accept-data-loss",
        action="store_true",
        help="start even though the database is below the last acknowledged revision",
    )
    serve.set_defaults(func=_serve)

    schemas = sub.add_parser("schemas", help="JSON Schema").add_subparsers(
        dest="schemas", required=True
    )
    export = schemas.add_parser("export", help="write policy and ingest JSON Schemas")
    export.add_argument(
        "--dir", type=Path, default=Path("schemas"), help="write here (default: %(default)s)"
    )
    export.set_defaults(func=_schemas_export)

    demo = sub.add_parser("demo", help="run the gateway on a sample network")
    demo.add_argument(
        "--dir",
        type=Path,
        default=Path(".demo"),
        help="PKI, database and principals, kept between runs (default: %(default)s)",
    )
    demo.add_argument(
        "--policies",
        type=Path,
        default=Path("policies"),
        help="disclosure policies to serve (default: %(default)s)",
    )
    demo.add_argument(
        "--public-port",
        type=int,
        default=8443,
        help="peers and customers, on localhost (default: %(default)s)",
    )
    demo.add_argument(
        "--internal-port",
        type=int,
        default=9443,
        help="sources and staff, on localhost (default: %(default)s)",
    )
    demo.add_argument(
        "--ops-port",
        type=int,
        default=9464,
        help="metrics and health, plain HTTP on loopback (default: %(default)s)",
    )
    demo.set_defaults(func=_demo)
