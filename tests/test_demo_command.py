"""`demarc demo` as a user runs it: a subprocess that prints curl lines which really work."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import pytest

from gateway.demo.network import build_demo
from gateway.demo.run import prepare
from tests.policyapi import policy_text, widen

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.skipif(shutil.which("curl") is None, reason="the demo prints curl commands")
def test_demo_serves_and_its_printed_curl_commands_work(tmp_path: Path) -> None:
    public, internal, ops = _free_port(), _free_port(), _free_port()
    cmd = [sys.executable, "-m", "gateway.cli", "demo", "--dir", str(tmp_path / "demo"),
           "--public-port", str(public), "--internal-port", str(internal),
           "--ops-port", str(ops)]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("OpenAPI:"):
                break
        output = "".join(lines)
        assert "Demarc demo is serving" in output, output
        curls = [ln.strip() for ln in lines if ln.strip().startswith("curl ")]
        assert len(curls) >= 8
        peer = next(c for c in curls if "peer-" in c and c.endswith("/v1/interconnects"))
        customer = next(c for c in curls if "customer-" in c and c.endswith("/v1/services"))
        for command in (peer, customer):
            result = subprocess.run([*shlex.split(command), "-sS", "--fail"],
                                    capture_output=True, timeout=30, check=True)  # fmt: skip
            body = msgspec.json.decode(result.stdout)
            assert body["items"], command
        # by the time the curl lines are printed the gateway is ready, and says so without TLS
        ready = httpx.get(f"http://127.0.0.1:{ops}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["ready"] is True, ready.text
        counted = re.compile(r'demarc_requests_total\{listener="public",role="peer",'
                             r'route="/v1/interconnects",status="200"\} [1-9]')  # fmt: skip
        scrape = ""
        for _ in range(500):  # counted just after the last byte: wait for it, bounded
            scrape = httpx.get(f"http://127.0.0.1:{ops}/metrics", timeout=10).text
            if counted.search(scrape):
                break
            time.sleep(0.01)
        assert counted.search(scrape), scrape
        _four_eyes(lines, tmp_path)
        assert (tmp_path / "demo" / "pki" / "ca.crt").exists()
        assert (tmp_path / "demo" / "demarc.db").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            assert proc.stdout is not None
            proc.stdout.close()
    assert code in (0, 130), f"demo exited with {code} on Ctrl-C"


def _admin(line: str, *args: str, ok: bool = True) -> str:
    """Run a printed ``demarc admin …`` line (with more arguments) as the user would."""
    argv = [sys.executable, "-m", "gateway.cli", *shlex.split(line)[1:], *args]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (result.returncode == 0) is ok, (argv, result.stdout, result.stderr)
    return result.stdout if ok else result.stderr


def _four_eyes(lines: list[str], tmp_path: Path) -> None:
    """The README's walkthrough on the demo: alice drafts, bob approves, alice activates."""
    configure = [ln.strip() for ln in lines if ln.strip().startswith("demarc admin")]
    assert len(configure) == 2, "the demo prints a configure line per staff member"
    for line in configure:
        assert _admin(line).startswith("wrote ")
    alice, bob = (c.split(" configure")[0] for c in configure)  # demarc admin --config F
    wider = tmp_path / "peer-acme.yaml"
    wider.write_text(policy_text("peer-acme.yaml", widen), encoding="utf-8")
    draft_id = _admin(alice, "draft", str(wider)).split()[1]
    digest = msgspec.json.decode(_admin(alice, "--json", "show", draft_id))["digest"]
    assert "WIDENS" in _admin(alice, "diff", draft_id, "--audience", "peer/acme")
    assert "demarc admin: 4" in _admin(alice, "activate", draft_id, ok=False)
    assert "approved:" in _admin(bob, "approve", draft_id, "--digest", digest[:12])
    assert "activated: v2" in _admin(alice, "activate", draft_id)
    assert "rolled back: v3" in _admin(alice, "rollback", "peer/acme", "--to", "1")


def test_demo_keeps_a_registry_it_already_wrote(tmp_path: Path) -> None:
    data = build_demo(datetime.now(UTC))
    principals = prepare(tmp_path, data, "demarc.example")
    assert {"staff/alice", "staff/bob"} <= set(principals)
    assert (tmp_path / "pki" / "staff-bob.crt").exists()
    registry = tmp_path / "principals.yaml"
    edited = registry.read_text(encoding="utf-8") + "  - peer/added-by-hand\n"
    registry.write_text(edited, encoding="utf-8")
    prepare(tmp_path, data, "demarc.example")
    assert registry.read_text(encoding="utf-8") == edited
