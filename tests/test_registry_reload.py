"""The principal registry reloads when its file changes, like the TLS files; a bad file is
refused and the last good registry keeps serving."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.demo.network import DemoData
from tests.conftest import UNREGISTERED, Pki, RunningGateway, make_settings


def _until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_registry_file_changes_apply_without_a_restart(
    tmp_path: Path, pki: Pki, demo: DemoData, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="demarc.app")
    settings = make_settings(tmp_path, pki, demo, tls_reload_interval_s=0.1)
    registry = settings.principals_path
    server = RunningGateway(settings).start()
    try:
        with httpx.Client(base_url=server.public_url, verify=pki.context(UNREGISTERED)) as client:
            status = lambda: client.get("/v1/views").status_code  # noqa: E731
            assert status() == 403
            listed = yaml.safe_load(registry.read_text())["principals"]
            registry.write_text(yaml.safe_dump({"principals": [*listed, UNREGISTERED]}))
            assert _until(lambda: status() == 200), "a principal added to the file is served"

            registry.write_text("principals: [peer/mallory\n")  # broken YAML
            assert _until(lambda: any("not reloaded" in r.getMessage() for r in caplog.records))
            assert status() == 200, "a bad file keeps the last good registry"

            registry.write_text(yaml.safe_dump({"principals": listed}))
            assert _until(lambda: status() == 403), "a principal removed from the file is refused"
    finally:
        server.stop()
