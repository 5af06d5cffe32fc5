"""Start-up problems end ``demarc serve`` with one clear line and a non-zero exit, no traceback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.pki import init_pki

DEMARC = Path(sys.executable).with_name("demarc")


@pytest.fixture
def config(tmp_path: Path) -> Iterator[dict[str, Any]]:
    init_pki(tmp_path / "pki")
    (tmp_path / "principals.yaml").write_text("principals: [source/feeder]\n")
    yield {
        "data_dir": str(tmp_path / "data"),
        "pki_dir": str(tmp_path / "pki"),
        "principals_file": str(tmp_path / "principals.yaml"),
        "policies_dir": str(tmp_path / "no-policies"),
        "public": {"port": 0},
        "internal": {"port": 0},
    }


def _serve(tmp_path: Path, config: dict[str, Any]) -> tuple[int, str]:
    path = tmp_path / "demarc.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [str(DEMARC), "serve", "--config", str(path), "--log-level", "warning"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stderr


def _one_clear_line(code: int, stderr: str, *says: str) -> None:
    assert code != 0
    assert "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("demarc: "), stderr
    for word in says:
        assert word in last, last


def test_port_in_use(tmp_path: Path, config: dict[str, Any]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config["public"] = {"host": "127.0.0.1", "port": port}
        code, stderr = _serve(tmp_path, config)
    _one_clear_line(code, stderr, f"127.0.0.1:{port}", "in use", "public.port")


def test_missing_certificate(tmp_path: Path, config: dict[str, Any]) -> None:
    config["tls_cert"] = str(tmp_path / "nowhere.crt")
    code, stderr = _serve(tmp_path, config)
    _one_clear_line(code, stderr, "nowhere.crt", "TLS")


def test_corrupt_database(tmp_path: Path, config: dict[str, Any]) -> None:
    data = Path(config["data_dir"])
    data.mkdir()
    (data / "demarc.db").write_bytes(b"not a database, but somebody's notes\n" * 200)
    code, stderr = _serve(tmp_path, config)
    _one_clear_line(code, stderr, str(data / "demarc.db"), "damaged", "backup")


def test_database_below_the_acknowledged_revision(tmp_path: Path, config: dict[str, Any]) -> None:
    data = Path(config["data_dir"])
    data.mkdir()
    (data / "demarc.db.acked").write_text("42\n")  # 42 revisions were acknowledged; none is here
    code, stderr = _serve(tmp_path, config)
    _one_clear_line(code, stderr, "revision 0", "revision 42", "--accept-data-loss")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_gateway_cleanly(
    tmp_path: Path, config: dict[str, Any], signum: int
) -> None:
    """uvicorn raises the signal again once its servers stopped: the gateway must still get to
    stop (store closed, audit flushed, the views kept for a warm start) and exit 0."""
    path = tmp_path / "demarc.yaml"
    path.write_text(yaml.safe_dump({**config, "ops": None}))
    process = subprocess.Popen(
        [str(DEMARC), "serve", "--config", str(path), "--log-level", "info"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    with process, process.stderr as log:  # type: ignore[union-attr]
        for line in log:
            if "listener on" in line:
                break
        process.send_signal(signum)
        rest = log.read()
        assert process.wait(60) == 0, rest[-2000:]
    data = tmp_path / "data"
    assert (data / "demarc.db.views").exists()  # written by Gateway.stop
    assert not (data / "demarc.db-wal").exists()  # the store closed: its WAL checkpointed
