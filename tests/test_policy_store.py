"""Policy versions persist in SQLite: what was active serves after a restart; files only seed."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
import yaml

from gateway.errors import PolicyError
from gateway.policy.audit import AuditLog, AuditQuery, query_events
from gateway.policy.store import PolicyDb
from gateway.settings import Settings
from tests.policyharness import LocalGateway, local_settings


def _started(settings: Settings) -> LocalGateway:
    return LocalGateway(settings).start(feed=False)


def _narrowed(path: Path) -> str:
    doc = yaml.safe_load(path.read_text())
    doc["disclose"]["interconnect"]["fields"].remove("capacity_mbps")
    return yaml.safe_dump(doc)


def test_after_a_restart_the_activated_version_serves_not_the_file(tmp_path: Path) -> None:
    settings = local_settings(tmp_path)
    first = _started(settings)
    try:
        lifecycle = first.gateway.lifecycle
        text = _narrowed(settings.policies_dir / "peer-acme.yaml")
        d = first.run(lifecycle.create_draft("staff/alice", text))
        version = first.run(lifecycle.activate("staff/alice", d.id))
    finally:
        first.close()
    second = _started(settings)
    try:
        served = second.gateway.policies.for_audience("peer/acme")
        assert served is not None and served.loaded.digest == version.digest
        assert second.gateway.policy_db.drafts() == []  # the file did not change: no draft
        assert [v.number for v in second.gateway.policy_db.history("peer/acme")] == [1, 2]
    finally:
        second.close()


def test_a_file_changed_since_the_last_start_becomes_a_draft_by_the_file(tmp_path: Path) -> None:
    settings = local_settings(tmp_path)
    _started(settings).close()
    path = settings.policies_dir / "peer-acme.yaml"
    seeded = path.read_text()
    path.write_text(_narrowed(path))
    for _ in range(2):  # a second restart does not add a second draft
        again = _started(settings)
        try:
            db = again.gateway.policy_db
            (draft,) = db.drafts()
            assert (draft.audience, draft.origin, draft.source) == ("peer/acme", "file", str(path))
            assert draft.authors == (f"file:{path}",)
            served = again.gateway.policies.for_audience("peer/acme")
            assert served is not None and served.loaded.text == seeded  # not activated silently
            # a staff member can activate it: it narrows, and its author is the file
            events = query_events(db, AuditQuery(kind="draft"))[0]
            assert events[0]["principal"] == f"file:{path}"
        finally:
            again.close()
    last = _started(settings)
    try:
        (draft,) = last.gateway.policy_db.drafts()
        version = last.run(last.gateway.lifecycle.activate("staff/bob", draft.id))
        assert (version.author, version.activated_by) == (f"file:{path}", "staff/bob")
    finally:
        last.close()


def test_an_invalid_file_at_a_later_start_is_refused_and_the_last_good_version_serves(
    tmp_path: Path,
) -> None:
    settings = local_settings(tmp_path)
    first = _started(settings)
    before = first.gateway.policies.for_audience("peer/acme")
    first.close()
    (settings.policies_dir / "peer-acme.yaml").write_text("audience: peer/acme\ncolour: blue\n")
    again = _started(settings)
    try:
        served = again.gateway.policies.for_audience("peer/acme")
        assert served is not None and before is not None
        assert served.loaded.digest == before.loaded.digest
        (event,) = query_events(again.gateway.policy_db, AuditQuery(kind="rejected"))[0]
        assert event["detail"]["action"] == "load" and "unknown key" in event["detail"]["reason"]
    finally:
        again.close()


def test_the_first_start_refuses_an_invalid_policy_file(tmp_path: Path) -> None:
    settings = local_settings(tmp_path)
    (settings.policies_dir / "peer-acme.yaml").write_text("audience: peer/acme\ncolour: blue\n")
    local = LocalGateway(settings)
    try:
        with pytest.raises(PolicyError) as info:
            local.run(local.gateway.start())
        assert "peer-acme.yaml:2:1" in str(info.value)
    finally:
        local.close()


def test_history_and_audit_are_append_only_in_the_database(tmp_path: Path) -> None:
    settings = local_settings(tmp_path)
    _started(settings).close()
    db = sqlite3.connect(settings.database_path)
    try:
        for sql in (
            "UPDATE policy_versions SET author='x'",
            "DELETE FROM policy_versions",
            "DELETE FROM audit_events",
            "UPDATE audit_events SET principal='x'",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(sql)
    finally:
        db.close()


def test_a_full_disclosure_buffer_drops_counts_and_says_so_in_the_audit(tmp_path: Path) -> None:
    db = PolicyDb(tmp_path / "audit.db")
    log = AuditLog(db, capacity=3)
    try:
        for n in range(5):
            log.disclosed("peer/acme", "interconnects", n, "abcdef123456", f'"{n:032x}"')
        assert log.dropped == 2
        assert asyncio.run(log.flush()) == 3
        events, _ = query_events(db, AuditQuery())
        kinds = [e["kind"] for e in events]
        assert kinds.count("disclosure") == 3 and kinds.count("disclosures_dropped") == 1
        dropped = next(e for e in events if e["kind"] == "disclosures_dropped")
        assert dropped["detail"] == {"count": 2, "total_since_start": 2}
        assert asyncio.run(log.flush()) == 0  # reported once
    finally:
        db.close()


def test_many_disclosures_recorded_on_the_request_path_are_all_written(tmp_path: Path) -> None:
    """How cheap ``disclosed`` is, is measured in bench/audit.py, not asserted here."""
    db = PolicyDb(tmp_path / "audit.db")
    log = AuditLog(db, capacity=200_000)
    try:
        for n in range(20_000):
            log.disclosed("peer/acme", "interconnects", n, "abcdef123456", '"0123"')
        assert asyncio.run(log.flush()) == 20_000  # one batch, one transaction
        assert db.count_events("disclosure") == 20_000 and log.dropped == 0
    finally:
        db.close()
