"""A gateway driven in-process on a private event loop, for fast tests of the policy lifecycle."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml

from gateway.app import Gateway
from gateway.demo.network import DemoData, build_demo
from gateway.model import Change
from gateway.policy.testing import PARSERS
from gateway.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
POLICIES = ROOT / "policies"
STAFF = ("staff/alice", "staff/bob", "staff/carol")
T = TypeVar("T")

_DEMO: DemoData | None = None
_CHANGES: list[Change] | None = None


def demo_data() -> DemoData:
    global _DEMO
    if _DEMO is None:
        _DEMO = build_demo(datetime.now(UTC))
    return _DEMO


def demo_changes() -> list[Change]:
    """The demo documents parsed once, in the order a deployment feeds them."""
    global _CHANGES
    if _CHANGES is None:
        docs = demo_data().documents()
        _CHANGES = [parse(docs[name]) for name, parse in PARSERS.items() if name in docs]
    return _CHANGES


def audiences() -> list[str]:
    demo = demo_data()
    return [f"peer/{p}" for p in demo.peers] + [f"customer/{c}" for c in demo.customers]


def local_settings(
    data_dir: Path, policies_dir: Path | None = None, *, leak_guard: bool = True
) -> Settings:
    """Settings for an in-process gateway: the demo's audiences and three staff members.

    ``leak_guard=False`` is for tests of the policy lifecycle only: building each audience's
    guard is most of a render's cost, and the guard has tests of its own."""
    data_dir.mkdir(parents=True, exist_ok=True)
    if policies_dir is None:
        policies_dir = data_dir / "policies"
        shutil.copytree(POLICIES, policies_dir, ignore=shutil.ignore_patterns("tests"))
    principals = ["source/feeder", *STAFF, *audiences()]
    (data_dir / "principals.yaml").write_text(yaml.safe_dump({"principals": principals}))
    return load_settings(
        None,
        data_dir=data_dir,
        policies_dir=policies_dir,
        refresh_debounce_s=0,
        leak_guard=leak_guard,
    )


class LocalGateway:
    """A Gateway on its own event loop in a thread, as in production the loop always runs;
    ``run`` hands it a coroutine and waits for the result."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.gateway = Gateway(settings)
        self.started = False

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def start(self, feed: bool = True) -> LocalGateway:
        self.run(self.gateway.start())
        self.started = True
        if feed:
            for change in demo_changes():
                self.run(self.gateway.store.commit(change, "source/feeder"))
        self.run(self.gateway.refresher.refresh())
        return self

    def served(self) -> dict[str, dict[str, tuple[str, str, bytes]]]:
        """Every audience's views after a refresh: view → (policy version, ETag, bytes)."""
        self.run(self.gateway.refresher.refresh())
        out = {}
        for audience in self.gateway.registry.audiences():
            views = self.gateway.cache.get(audience).views
            out[audience] = {n: (v.policy_version, v.etag, v.body) for n, v in views.items()}
        return out

    def close(self) -> None:
        try:
            self.run(self.gateway.stop())  # also after a failed start: it closes both files
            self.run(self.loop.shutdown_default_executor())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()
