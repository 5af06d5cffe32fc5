"""Audit retention: disclosures are archived, summarised per hour and only then deleted."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.policy.audit import AuditLog, AuditQuery, query_events
from gateway.policy.records import Event
from gateway.policy.rotation import AuditRotation
from gateway.policy.store import PolicyDb

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def record(log: AuditLog, now: list[float], at: datetime, who: str, view: str, rev: int) -> None:
    now[0] = at.timestamp()
    log.disclosed(who, view, rev, "v1", f'"{rev:032x}"')


def archived(directory: Path) -> list[dict[str, object]]:
    lines = []
    for path in sorted(directory.glob("disclosures-*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


def test_old_disclosures_are_archived_summarised_and_deleted(tmp_path: Path) -> None:
    db = PolicyDb(tmp_path / "audit.db")
    now = [T0.timestamp()]
    log = AuditLog(db, clock=lambda: now[0])
    rotation = AuditRotation(db, tmp_path / "archive", disclosure_days=1, summary_days=30)
    try:
        asyncio.run(log.record(Event("activate", "staff/alice", audience="peer/acme")))
        for minute in range(0, 120, 10):  # 10:00 to 11:50, two hours of polling
            at = T0 + timedelta(minutes=minute)
            record(log, now, at, "peer/acme", "alarms", 7 if minute < 30 else 8)
            record(log, now, at, "customer/globex", "services", 3)
        record(log, now, T0 + timedelta(days=1, hours=1), "peer/acme", "alarms", 9)  # young
        asyncio.run(log.flush())
        asyncio.run(log.record(Event("leak-withheld", "demarc", audience="peer/acme")))

        result = rotation.run_once(T0 + timedelta(days=1, hours=2))
        assert result.disclosures == 24 and result.hours == 0

        events, _ = query_events(db, AuditQuery(limit=1000))
        kinds = sorted(e["kind"] for e in events)
        assert kinds == ["activate", "disclosure", "leak-withheld"]  # policy events all stay
        assert next(e for e in events if e["kind"] == "disclosure")["revision"] == 9

        hours = {(h["principal"], h["hour"]): h for h in rotation.summaries()}
        acme10 = hours[("peer/acme", "2026-03-01T10")]
        assert acme10["count"] == 6 and acme10["view"] == "alarms"
        assert acme10["first_at"].startswith("2026-03-01T10:00:00")
        assert acme10["last_at"].startswith("2026-03-01T10:50:00")
        assert acme10["renders"] == [[7, "v1", f"{7:032x}"], [8, "v1", f"{8:032x}"]]
        assert hours[("peer/acme", "2026-03-01T11")]["renders"] == [[8, "v1", f"{8:032x}"]]
        assert hours[("customer/globex", "2026-03-01T11")]["count"] == 6
        assert len(hours) == 4

        # the archive holds every deleted record as it was, and its digest is on record
        lines = archived(tmp_path / "archive")
        assert len(lines) == 24 and {line["principal"] for line in lines} == {
            "peer/acme",
            "customer/globex",
        }
        (rot,) = db.rotations()
        content = (tmp_path / "archive" / rot[1]).read_bytes()
        assert rot[0] == 24 and rot[2] == hashlib.sha256(content).hexdigest()
    finally:
        db.close()


def test_a_late_record_merges_into_its_hour(tmp_path: Path) -> None:
    db = PolicyDb(tmp_path / "audit.db")
    now = [T0.timestamp()]
    log = AuditLog(db, clock=lambda: now[0])
    rotation = AuditRotation(db, tmp_path / "archive", disclosure_days=1, summary_days=30, chunk=2)
    try:
        for n in range(5):
            record(log, now, T0 + timedelta(minutes=n), "peer/acme", "alarms", n)
        asyncio.run(log.flush())
        assert rotation.run_once(T0 + timedelta(days=2)).disclosures == 5  # in chunks of 2
        (hour,) = rotation.summaries()
        assert hour["count"] == 5 and [r[0] for r in hour["renders"]] == [0, 1, 2, 3, 4]
        assert len(db.rotations()) == 3
        assert len(archived(tmp_path / "archive")) == 5
    finally:
        db.close()


def test_summaries_past_their_retention_are_archived_then_deleted(tmp_path: Path) -> None:
    db = PolicyDb(tmp_path / "audit.db")
    now = [T0.timestamp()]
    log = AuditLog(db, clock=lambda: now[0])
    rotation = AuditRotation(db, tmp_path / "archive", disclosure_days=1, summary_days=10)
    try:
        record(log, now, T0, "peer/acme", "alarms", 1)
        asyncio.run(log.flush())
        assert rotation.run_once(T0 + timedelta(days=5)).hours == 0
        assert len(rotation.summaries()) == 1
        assert rotation.run_once(T0 + timedelta(days=11)).hours == 1
        assert rotation.summaries() == []
        (path,) = (tmp_path / "archive").glob("disclosure-hours-*.jsonl")
        (line,) = [json.loads(x) for x in path.read_text().splitlines()]
        assert line["count"] == 1 and line["hour"] == "2026-03-01T10"
    finally:
        db.close()


def test_a_failed_archive_deletes_nothing(tmp_path: Path) -> None:
    db = PolicyDb(tmp_path / "audit.db")
    now = [T0.timestamp()]
    log = AuditLog(db, clock=lambda: now[0])
    blocker = tmp_path / "archive"
    blocker.write_text("a file where the archive directory should be")
    rotation = AuditRotation(db, blocker, disclosure_days=1, summary_days=10)
    try:
        record(log, now, T0, "peer/acme", "alarms", 1)
        asyncio.run(log.flush())
        with pytest.raises(OSError):
            rotation.run_once(T0 + timedelta(days=5))
        assert len(query_events(db, AuditQuery(kind="disclosure"))[0]) == 1
        assert rotation.summaries() == [] and db.rotations() == []
    finally:
        db.close()


def test_only_rotated_disclosures_can_be_deleted_even_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    db = PolicyDb(path)
    now = [T0.timestamp()]
    log = AuditLog(db, clock=lambda: now[0])
    try:
        asyncio.run(log.record(Event("activate", "staff/alice")))
        record(log, now, T0, "peer/acme", "alarms", 1)
        record(log, now, T0 + timedelta(days=3), "peer/acme", "alarms", 2)
        asyncio.run(log.flush())
        AuditRotation(db, tmp_path / "a", disclosure_days=1, summary_days=9).run_once(
            T0 + timedelta(days=2)
        )
    finally:
        db.close()
    raw = sqlite3.connect(path)
    try:
        for sql in (
            "DELETE FROM audit_events WHERE kind='activate'",
            "DELETE FROM audit_events WHERE kind='disclosure'",  # the young one: not rotated
            "DELETE FROM audit_rotations",
            "UPDATE audit_rotations SET upto_id = upto_id + 100",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                raw.execute(sql)
        assert raw.execute("SELECT COUNT(*) FROM audit_events").fetchone() == (2,)
    finally:
        raw.close()


def test_demarc_audit_export_writes_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli import main

    config = tmp_path / "demarc.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    db = PolicyDb(tmp_path / "data" / "demarc.db")
    now = [T0.timestamp()]
    log = AuditLog(db, clock=lambda: now[0])
    try:
        asyncio.run(log.record(Event("activate", "staff/alice", at="2026-03-01T09:00:00.000000Z")))
        for n in range(3):
            record(log, now, T0 + timedelta(days=n), "peer/acme", "alarms", n)
        asyncio.run(log.flush())
        AuditRotation(db, tmp_path / "archive", disclosure_days=1, summary_days=9).run_once(
            T0 + timedelta(days=1, hours=1)
        )
    finally:
        db.close()
    out = tmp_path / "export.jsonl"
    assert main(["audit", "export", "--config", str(config), "--out", str(out)]) == 0
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [(e["kind"], e.get("revision")) for e in lines] == [
        ("activate", None),
        ("disclosure", 1),
        ("disclosure", 2),
    ]
    assert main(["audit", "export", "--config", str(config), "--since", "2026-03-02T12:00"]) == 0
    (only,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert only["revision"] == 2
    assert main(["audit", "export", "--config", str(config), "--summaries"]) == 0
    (hour,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert hour["hour"] == "2026-03-01T10" and hour["count"] == 1
    missing = tmp_path / "nowhere.yaml"
    missing.write_text(f"data_dir: {tmp_path / 'empty'}\n")
    assert main(["audit", "export", "--config", str(missing)]) == 2
    assert "no database at" in capsys.readouterr().err
