"""A full disk: ingest is refused with 507 and a clear message, nothing unwritten is
acknowledged, and nothing acknowledged is lost (on a real, tiny tmpfs)."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from gateway.demo.network import DemoData
from tests.conftest import JSON_BODY, SOURCE, Pki, RunningGateway, make_settings


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs; needs root (mount), as the test machines have."""
    where = tmp_path / "tiny"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(where: Path, leave: int) -> Path:
    """Take all but about ``leave`` bytes of the filesystem with a filler file."""
    stat = os.statvfs(where)
    free = stat.f_bavail * stat.f_frsize
    filler = where / "filler"
    filler.write_bytes(b"\0" * max(free - leave, 0))
    return filler


def test_full_disk_gets_507_and_loses_nothing_acknowledged(
    tiny_disk: Path, tmp_path: Path, pki: Pki, demo: DemoData, caplog: pytest.LogCaptureFixture
) -> None:
    database = tiny_disk / "demarc.db"
    settings = make_settings(tmp_path / "data", pki, demo, database=database)
    server = RunningGateway(settings).start()
    body = msgspec.json.encode(demo.topology)
    acknowledged = 0
    try:
        filler = _fill(tiny_disk, 600 * 1024)
        with httpx.Client(base_url=server.internal_url, verify=pki.context(SOURCE)) as client:
            for _ in range(50):  # each topology goes to the WAL whole: space runs out
                with caplog.at_level(logging.ERROR, logger="demarc.store"):
                    response = client.put("/v1/ingest/topology", content=body, headers=JSON_BODY)
                if response.status_code != 200:
                    break
                acknowledged = response.json()["revision"]
            assert response.status_code == 507, response.text
            error = response.json()["error"]
            assert error["code"] == "storage_full"
            assert "storage is full" in error["message"] and "nothing" in error["message"]
            assert str(database) not in response.text  # the path is for the log, not the client
            assert any(str(database) in r.getMessage() for r in caplog.records)
            assert acknowledged >= 1
            assert server.gateway.store.snapshot.revision == acknowledged
    finally:
        server.stop()
    filler.unlink()
    again = RunningGateway(settings).start()
    try:
        assert again.gateway.store.snapshot.revision == acknowledged
    finally:
        again.stop()
