"""Helpers for end-to-end tests of the policy admin API: gateways, clients, policy variants."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from gateway.demo.network import DemoData
from tests.conftest import POLICIES, Pki, RunningGateway, feed, make_settings

ALICE, BOB = "staff/alice", "staff/bob"


@contextmanager
def gateway_with_copied_policies(
    tmp_path: Path, pki: Pki, demo: DemoData, *, in_process: bool = True
) -> Iterator[RunningGateway]:
    """A gateway of its own, fed with the demo network, its policy files a copy to change;
    in-process unless the test is about TLS (see RunningGateway)."""
    policies = tmp_path / "policies"
    if not policies.exists():
        shutil.copytree(POLICIES, policies, ignore=shutil.ignore_patterns("tests"))
    settings = make_settings(tmp_path / "data", pki, demo, policies_dir=policies)
    server = RunningGateway(settings, in_process=in_process)
    server.start()
    try:
        feed(server, pki, demo)
        yield server
    finally:
        server.stop()


class Clients:
    def __init__(self, server: RunningGateway, pki: Pki) -> None:
        self.server, self.pki = server, pki
        self._open: dict[tuple[str, str], httpx.Client] = {}

    def internal(self, who: str) -> httpx.Client:
        return self._client("internal", who)

    def public(self, who: str) -> httpx.Client:
        return self._client("public", who)

    def _client(self, listener: str, who: str) -> httpx.Client:
        if (listener, who) not in self._open:
            self._open[(listener, who)] = self.server.client(listener, who, self.pki)
        return self._open[(listener, who)]

    def close(self) -> None:
        for client in self._open.values():
            client.close()


def served_bytes(server: RunningGateway, clients: Clients) -> dict[str, Any]:
    """Every view of every audience, as its audience fetches it: status, ETag, version, bytes."""
    server.call(server.gateway.refresher.refresh())
    out: dict[str, Any] = {}
    for audience in server.gateway.registry.audiences():
        client = clients.public(audience)
        index = client.get("/v1/views")
        assert index.status_code == 200
        out[f"{audience} index"] = index.content
        for view in index.json()["views"]:
            r = client.get(view["href"])
            out[f"{audience} {view['view']}"] = (
                r.status_code, r.headers["etag"], r.headers["demarc-policy-version"], r.content
            )  # fmt: skip
    return out


def policy_text(audience_file: str, change: Any = None) -> str:
    doc = yaml.safe_load((POLICIES / audience_file).read_text())
    if change is not None:
        change(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def widen(doc: dict[str, Any]) -> None:
    doc["disclose"]["alarm"]["fields"].append("specific_problem")


def widen_more(doc: dict[str, Any]) -> None:
    widen(doc)
    doc["disclose"]["alarm"]["history_hours"] = 48


def narrow(doc: dict[str, Any]) -> None:
    doc["disclose"]["interconnect"]["fields"].remove("capacity_mbps")


def draft(client: httpx.Client, text: str) -> dict[str, Any]:
    response = client.post("/v1/admin/drafts", json={"text": text})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def version_of(clients: Clients, audience: str, view: str) -> str:
    response = clients.public(audience).get(f"/v1/{view}")
    assert response.status_code == 200
    return response.headers["demarc-policy-version"]
