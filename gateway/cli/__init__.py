"""The ``demarc`` command line: serve, demo, pki, policy, audit, schemas; one module per group."""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Sequence

from gateway.cli import admin, audit, pki, policy, principals, serve
from gateway.errors import DemarcError
from gateway.ops.logs import configure_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="demarc", description=__doc__)
    parser.add_argument("--version", action="version", version=f"demarc {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (serve, pki, policy, audit, principals, admin):
        group.add_commands(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("demarc")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    configure_logging("info")  # one JSON object per line, whatever the command
    args = build_parser().parse_args(argv)
    args.started = started
    try:
        code: int = args.func(args)
    except DemarcError as exc:  # every error of the tree says what and where in its message
        print(f"demarc: {exc}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as exc:
        # start-up on a broken machine (unreadable file, full disk): one line, not a traceback
        print(f"demarc: cannot start: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
