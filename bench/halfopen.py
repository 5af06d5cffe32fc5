"""Memory of a gateway process under idle connections that never send a certificate.

Starts ``demarc serve`` on loopback, reads its RSS, opens N plain TCP connections to the public
listener (no TLS ClientHello: half-open from TLS's point of view), and reports the peak RSS and
the peak number of connections the gateway held (its open file descriptors) over 5 s.
Baseline: the same process before the connections. Run once per variant to compare.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from gateway.pki import init_pki

CONNECTIONS = 3000


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fds(pid: int) -> int:
    """Open file descriptors of the gateway: each connection it holds is one."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        init_pki(root / "pki")
        (root / "principals.yaml").write_text("principals: [peer/acme]\n")
        public, internal = _free_port(), _free_port()
        config = {
            "data_dir": str(root / "data"),
            "pki_dir": str(root / "pki"),
            "principals_file": str(root / "principals.yaml"),
            "policies_dir": str(root / "none"),
            "public": {"port": public},
            "internal": {"port": internal},
        }
        (root / "demarc.yaml").write_text(yaml.safe_dump(config))
        demarc = Path(sys.executable).with_name("demarc")
        proc = subprocess.Popen(
            [str(demarc), "serve", "--config", str(root / "demarc.yaml"), "--log-level", "error"],
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", public), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            time.sleep(1)  # let the probe connection go
            before, fds = _rss_mb(proc.pid), _fds(proc.pid)
            sockets = []
            for _ in range(CONNECTIONS):
                try:
                    sockets.append(socket.create_connection(("127.0.0.1", public), timeout=5))
                except OSError:
                    break
            # the peak over the next 5 s (handshake_timeout_s then closes what was admitted)
            alive, after = 0, before
            for _ in range(10):
                time.sleep(0.5)
                alive = max(alive, _fds(proc.pid) - fds)
                after = max(after, _rss_mb(proc.pid))
            held = _fds(proc.pid) - fds
            print(f"{len(sockets)} idle TCP connections opened; the gateway held at most "
                  f"{alive}, {held} after 5 s")  # fmt: skip
            print(f"gateway RSS {before:.0f} MB before, at most {after:.0f} MB after: "
                  f"ratio {after / before:.2f}")  # fmt: skip
            for s in sockets:
                s.close()
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
