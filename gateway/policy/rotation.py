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

_RAW = ("id", "at", "principal", "audience", "view", "revision", "policy_version", "digest")
_HOURS = ("principal", "view", "hour", "count", "first_at", "last_at", "renders")


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


def _merge(cur: Any, key: tuple[str, str, str], new: dict[str, Any]) -> None:
    old = cur.execute(
        "SELECT count, first_at, last_at, renders FROM disclosure_hours "
        "WHERE principal=? AND view=? AND hour=?",
        key,
    ).fetchone()
    count, first, last, renders = new["count"], new["first_at"], new["last_at"], new["renders"]
    if old is not None:  # a late record of an hour already summarised
        count += old[0]
        first, last = min(first, old[1]), max(last, old[2])
        renders = renders | {tuple(r) for r in json.loads(old[3])}
    cur.execute(
        "INSERT OR REPLACE INTO disclosure_hours VALUES (?, ?, ?, ?, ?, ?, ?)",
        (*key, count, first, last, json.dumps(sorted(renders, key=_render_order))),
    )


def _render_order(render: tuple[Any, ...]) -> tuple[int, str, str]:
    revision, version, digest = render
    return (revision or 0, version or "", digest or "")


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
        # by id, as the deletion gate counts: every disclosure up to the newest one before the
        # cut-off (a record a few ms out of order with its neighbours goes with them)
        rows = self._db.read(
            f"SELECT {', '.join(_RAW)} FROM audit_events WHERE kind='disclosure' AND id <= "
            "(SELECT COALESCE(MAX(id), 0) FROM audit_events "
            " WHERE kind='disclosure' AND at < ?) ORDER BY id LIMIT ?",
            (cutoff, self._chunk),
        )
        return [dict(zip(_RAW, row, strict=True)) for row in rows]

    def _rotate(self, batch: list[dict[str, Any]], now: datetime) -> None:
        first, upto = batch[0]["id"], batch[-1]["id"]
        archive = self._dir / f"disclosures-{first:012d}-{upto:012d}.jsonl"
        sha256 = write_archive(archive, batch)
        with self._db.transaction() as cur:
            for key, hour in _summaries(batch).items():
                _merge(cur, key, hour)
            cur.execute(
                "INSERT INTO audit_rotations (at, first_id, upto_id, rows, archive, sha256) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_iso(now), first, upto, len(batch), archive.name, sha256),
            )
            deleted = cur.execute(
                "DELETE FROM audit_events WHERE kind='disclosure' AND id <= ?", (upto,)
            ).rowcount
            if deleted != len(batch):  # something appeared below the mark: keep everything
                raise RuntimeError(f"rotation expected {len(batch)} records, found {deleted}")

    def _expire_hours(self, now: datetime) -> int:
        cutoff = _iso(now - self._summary_age)[:13]
        rows = self._db.read(
            f"SELECT {', '.join(_HOURS)} FROM disclosure_hours WHERE hour < ? ORDER BY hour",
            (cutoff,),
        )
        if not rows:
            return 0
        records = [dict(zip(_HOURS, row, strict=True)) for row in rows]
        for record in records:
            record["renders"] = json.loads(record["renders"])
        name = f"disclosure-hours-{records[0]['hour']}-{records[-1]['hour']}.jsonl"
        write_archive(self._dir / name, records)
        with self._db.transaction() as cur:
            cur.execute("DELETE FROM disclosure_hours WHERE hour < ?", (cutoff,))
        return len(records)

    def summaries(self, principal: str | None = None) -> list[dict[str, Any]]:
        return summaries(self._db, principal)


def summaries(db: PolicyDb, principal: str | None = None) -> list[dict[str, Any]]:
    """The hourly disclosure summaries still in the database, oldest first."""
    where, params = ("WHERE principal=?", (principal,)) if principal else ("", ())
    rows = db.read(
        f"SELECT {', '.join(_HOURS)} FROM disclosure_hours {where} ORDER BY hour, principal, view",
        params,
    )
    out = [dict(zip(_HOURS, row, strict=True)) for row in rows]
    for record in out:
        record["renders"] = json.loads(record["renders"])
    return out
