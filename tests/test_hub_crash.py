"""At least once, in order, across kill -9: a gateway process killed mid-delivery resumes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import yaml

from gateway.demo.network import DemoData
from gateway.demo.run import FEEDS
from tests.conftest import JSON_BODY, POLICIES, SOURCE, STAFF, TRUST_DOMAIN, Pki, _principals
from tests.receiver import Receiver
from tests.waiting import wait_until

DEMARC = Path(sys.executable).with_name("demarc")
PEER = "peer/acme"
ALARMS = 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """``demarc serve`` as a process of its own, which the test can kill -9."""

    def __init__(self, config: Path) -> None:
        self.process = subprocess.Popen(
            [str(DEMARC), "serve", "--config", str(config), "--log-level", "info"],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self.ready = threading.Event()
        self.lines: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        if not self.ready.wait(60):
            self.kill()
            raise AssertionError("gateway did not start:\n" + "".join(self.lines[-20:]))

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:  # a full pipe would block the gateway
            self.lines.append(line)
            if "listener on" in line:
                self.ready.set()

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no clean stop, nothing flushed
        self.process.wait(20)
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def receiver(pki: Pki) -> Iterator[Receiver]:
    def slow(index: int) -> int:
        time.sleep(0.02)  # so that deliveries are still under way when the gateway dies
        return 204

    made = Receiver(pki.directory, answer=slow).start()
    yield made
    made.stop()


def _config(tmp_path: Path, pki: Pki, demo: DemoData, receiver: Receiver) -> tuple[Path, int, int]:
    public, internal = _free_port(), _free_port()
    principals = tmp_path / "principals.yaml"
    principals.write_text(yaml.safe_dump({"principals": _principals(demo)}))
    config = {
        "data_dir": str(tmp_path / "data"),
        "policies_dir": str(POLICIES),
        "principals_file": str(principals),
        "pki_dir": str(pki.directory),
        "trust_domain": TRUST_DOMAIN,
        "public": {"host": "127.0.0.1", "port": public},
        "internal": {"host": "127.0.0.1", "port": internal},
        "ops": None,
        "refresh_debounce_s": 0,
        "hub": {
            "callbacks": {PEER: [receiver.url]},
            "allow_networks": ["127.0.0.1/32"],
            "client_cert": str(pki.directory / "source-feeder.crt"),
            "client_key": str(pki.directory / "source-feeder.key"),
            "ca": str(pki.directory / "ca.crt"),
            "retry_base_s": 0.05,
            "retry_max_s": 0.5,
        },
    }
    path = tmp_path / "demarc.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, public, internal


def _alarm(link: str, n: int) -> dict[str, Any]:
    return {"id": f"T-CRASH-{n:03d}", "resource": {"link": link}, "severity": "minor",
            "raised_at": "2031-01-01T00:00:00Z", "probable_cause": "lossOfSignal"}  # fmt: skip


def test_every_event_is_delivered_in_order_across_kill_9(
    tmp_path: Path, pki: Pki, demo: DemoData, receiver: Receiver
) -> None:
    config, public, internal = _config(tmp_path, pki, demo, receiver)
    links = demo.topology["ietf-network:networks"]["network"][0]["ietf-network-topology:link"]
    link = next(lk["link-id"] for lk in links
                if lk.get("ietf-te-topology:te", {}).get("te-link-attributes", {})
                .get("external-domain", {}).get("network-ref") == "acme")  # fmt: skip
    source = httpx.Client(base_url=f"https://localhost:{internal}", verify=pki.context(SOURCE))
    staff = httpx.Client(base_url=f"https://localhost:{internal}", verify=pki.context(STAFF))
    peer = httpx.Client(base_url=f"https://localhost:{public}", verify=pki.context(PEER))
    gateway = Process(config)
    try:
        with source, staff, peer:
            for route, method, attr in FEEDS:
                body = msgspec.json.encode(getattr(demo, attr))
                answer = source.request(method, route, content=body, headers=JSON_BODY)
                assert answer.is_success
            fed = answer.json()["revision"]
            wait_until(lambda: staff.get("/v1/admin/status").json()["views_revision"] >= fed,
                       "the demo rendered")  # fmt: skip
            before = {a["id"] for a in peer.get("/v1/alarms").json()["items"]}
            wanted = {"callback": receiver.url, "query": "eventType=AlarmCreateEvent"}
            sub = peer.post("/v1/hub", headers=JSON_BODY, json=wanted)
            assert sub.status_code == 201, sub.text
            for n in range(ALARMS):  # one commit each: acknowledged, so never to be lost
                answer = source.post("/v1/ingest/alarms", json={"alarms": [_alarm(link, n)]})
                assert answer.status_code == 200
            wait_until(lambda: len(receiver.deliveries) >= 5, "deliveries under way")
            gateway.kill()
            at_kill = len(receiver.deliveries)
            gateway = Process(config)  # the same database, nothing cleanly stopped
            wait_until(lambda: len({json.loads(b)["event"]["alarm"]["id"]
                                    for b in receiver.bodies()} - before) >= ALARMS,
                       "every alarm delivered", 60)  # fmt: skip
            after = {a["id"] for a in peer.get("/v1/alarms").json()["items"]}
    finally:
        gateway.kill()
    events = [json.loads(b) for b in receiver.bodies()]
    seqs = [int(e["eventId"]) for e in events]
    firsts = list(dict.fromkeys(seqs))  # each event's first arrival
    delivered = {e["event"]["alarm"]["id"] for e in events}
    new = after - before
    print(f"kill -9 after {at_kill} deliveries: {len(events)} received, "
          f"{len(firsts)} distinct, {len(events) - len(firsts)} again")  # fmt: skip
    assert at_kill < ALARMS  # the kill came mid-delivery
    assert len(new) == ALARMS and new <= delivered  # at least once: nothing acknowledged lost
    assert firsts == sorted(firsts)  # in order: a repeat only ever follows a restart
