"""``demarc audit export``: the audit trail and its hourly summaries as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError
from gateway.policy.audit import iter_events
from gateway.policy.rotation import summaries, write_archive
from gateway.policy.store import PolicyDb
from gateway.settings import load_settings


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def audit_export(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    path = settings.database_path
    if not path.exists():
        raise ConfigError(f"no database at {path}: pass --config with the gateway's settings")
    db = PolicyDb(path)
    try:
        records: Iterator[dict[str, Any]] = (
            iter(summaries(db)) if args.summaries else iter_events(db, args.since, args.until)
        )
        if args.out is None:
            for record in records:
                sys.stdout.write(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")
        else:
            kept = list(records)
            digest = write_archive(args.out, kept)
            print(f"{len(kept)} records to {args.out} (sha256 {digest})", file=sys.stderr)
    finally:
        db.close()
    return 0


def add_commands(sub: Any) -> None:
    """``demarc audit …``, on the top-level subparsers."""
    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(
        dest="audit", required=True
    )
    export = audit.add_parser(
        "export",
        help="write the audit events still in the database (or, with --summaries, the hourly "
        "disclosure summaries) as JSON lines; retention archives what it deletes by itself",
    )
    export.add_argument(
        "--config",
        type=Path,
        help="the gateway's settings file (default: none, the environment only)",
    )
    export.add_argument("--out", type=Path, help="file to write (fsynced; default: stdout)")
    export.add_argument(
        "--since", type=_moment, help="events at or after (ISO 8601; default: the oldest)"
    )
    export.add_argument("--until", type=_moment, help="events before (ISO 8601; default: no end)")
    export.add_argument("--summaries", action="store_true", help="hourly summaries instead")
    export.set_defaults(func=audit_export)
