"""Golden RFC 8345 output of the demo network's topology, per ACTN mode, for peer acme.

Regenerate after an intended change with ``DEMARC_UPDATE_GOLDEN=1 pytest <this file>`` and
review the diff like code.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from gateway.demo.network import build_demo
from gateway.disclosure import Pseudonymizer, audience_key
from gateway.disclosure.topology_view import topology_view
from gateway.model import Snapshot
from gateway.policy.testing import snapshot_from

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SECRET = b"golden-files-fixed-secret"
MODES = {
    "interconnect": {},
    "abstract": {},
    "single-node": {},
    "filtered": {"filter_roles": ["asbr", "p"]},
}


def demo_snapshot() -> Snapshot:
    return snapshot_from(build_demo(NOW).documents())


@pytest.mark.parametrize("mode", sorted(MODES))
def test_rfc8345_output_matches_the_golden_file(mode: str) -> None:
    view = topology_view(
        demo_snapshot(), "acme", mode, Pseudonymizer(audience_key(SECRET, "peer/acme")),
        shared_ids=True, metrics=["delay_ms", "available_bandwidth_mbps", "srlgs"],
        **MODES[mode],  # type: ignore[arg-type]
    )  # fmt: skip
    rendered = msgspec.json.format(msgspec.json.encode(view.rfc8345, order="sorted"), indent=2)
    path = GOLDEN / f"topology-acme-{mode}.rfc8345.json"
    if os.environ.get("DEMARC_UPDATE_GOLDEN"):
        path.write_bytes(rendered + b"\n")
    assert path.exists(), f"{path} missing: run with DEMARC_UPDATE_GOLDEN=1 and review it"
    assert rendered + b"\n" == path.read_bytes()
    # and the golden file itself names nothing internal
    secrets = build_demo(NOW).secrets
    leaked = [s for s in secrets.node_ids | secrets.node_names | secrets.addresses | secrets.sites
              if s.encode() in rendered]  # fmt: skip
    assert leaked == []
