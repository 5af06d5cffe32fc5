"""Audit retention: old disclosure records are archived, summarised per hour, then deleted."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.policy.store import PolicyDb


@dataclass(frozen=True, slots=True)
class Rotated:
    """What one pass moved out of the database (and into the archive)."""

    disclosures: int  # raw records, now summarised and archived
    hours: int  # hourly summaries past their own retention, archived


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_archive(path: Path, records: Iterable[dict[str, Any]]) -> str:
    """JSON lines, durable before this returns (the caller deletes what it wrote next);
    returns their SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    partial = path.with_suffix(".partial")
    with partial.open("wb") as fh:
        for record in records:
            line = json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"
            digest.update(line)
            fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the rename itself survives a power loss
    finally:
        os.close(fd)
    return digest.hexdigest()


def _summaries(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Per principal, view and hour: how many, first and last, and every distinct rendering
    sent (data revision, policy version, digest of the bytes)."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["principal"], row["view"] or "", row["at"][:13])
        hour = out.setdefault(
            key, {"count": 0, "first_at": row["at"], "last_at": row["at"], "renders": set()}
        )
        hour["count"] += 1
        hour["first_at"] = min(hour["first_at"], row["at"])
        hour["last_at"] = max(hour["last_at"], row["at"])
        hour["renders"].add((row["revision"], row["policy_version"], row["digest"]))
    return out


class AuditRotation:
    """Blocking; run it off the event loop. Each chunk is archived (fsynced) first, then
    summarised and deleted in one transaction that also records the rotation: a crash in
    between leaves the records in place, and the next pass archives them again."""

    def __init__(
        self,
        db: PolicyDb,
        archive_dir: Path,
        *,
        disclosure_days: float,
        summary_days: float,
        chunk: int = 10_000,  # one transaction each: ingest waits at most that long
    ) -> None:
        self._db = db
        self._dir = archive_dir
        self._raw_age = timedelta(days=disclosure_days)
        self._summary_age = timedelta(days=summary_days)
        self._chunk = chunk

    def run_once(self, now: datetime) -> Rotated:
        moved = 0
        # whole hours only: each hour is summarised once, and a pass every few minutes adds
        # at most one rotation record per hour
        cutoff = (now - self._raw_age).replace(minute=0, second=0, microsecond=0)
        while batch := self._old_disclosures(_iso(cutoff)):
            self._rotate(batch, now)
            moved += len(batch)
        return Rotated(disclosures=moved, hours=self._expire_hours(now))

    def _old_disclosures(self, cutoff: str) -> list[dict[str, Any]]:
        return self._db.old_disclosures(cutoff, self._chunk)

    def _rotate(self, batch: list[dict[str, Any]], now: datetime) -> None:
        first, upto = batch[0]["id"], batch[-1]["id"]
        archive = self._dir / f"disclosures-{first:012d}-{upto:012d}.jsonl"
        sha256 = write_archive(archive, batch)
        rotation = (_iso(now), first, upto, len(batch), archive.name, sha256)
        self._db.rotate_disclosures(_summaries(batch), rotation)

    def _expire_hours(self, now: datetime) -> int:
        cutoff = _iso(now - self._summary_age)[:13]
        records = self._db.hour_summaries(before=cutoff)
        if not records:
            return 0
        name = f"disclosure-hours-{records[0]['hour']}-{records[-1]['hour']}.jsonl"
        write_archive(self._dir / name, records)
        self._db.delete_hours(cutoff)
        return len(records)

    def summaries(self, principal: str | None = None) -> list[dict[str, Any]]:
        return summaries(self._db, principal)


def summaries(db: PolicyDb, principal: str | None = None) -> list[dict[str, Any]]:
    """The hourly disclosure summaries still in the database, oldest first."""
    return db.hour_summaries(principal=principal)
