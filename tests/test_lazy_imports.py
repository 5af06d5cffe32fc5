"""``demarc policy check`` loads neither numpy nor scipy; computing an abstraction does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "scipy")

# run in a fresh interpreter: this test process has long imported everything
SCRIPT = """
import json, sys
from gateway.cli import main
code = main(["policy", "check", "policies"])
after_check = sorted({m.split(".")[0] for m in sys.modules} & {"numpy", "scipy"})
from datetime import UTC, datetime
from gateway.demo.network import build_demo
from gateway.disclosure import Pseudonymizer
from gateway.disclosure.topology_view import topology_view
from gateway.policy.testing import snapshot_from
demo = build_demo(datetime(2026, 11, 28, tzinfo=UTC))
snapshot = snapshot_from({"topology": [demo.topology]})
view = topology_view(snapshot, "acme", "abstract", Pseudonymizer(b"k" * 32),
                     shared_ids=False, metrics={"delay_ms"})
assert view.demarc["links"], "the abstraction produced no link"
after_view = sorted({m.split(".")[0] for m in sys.modules} & {"numpy", "scipy"})
print(json.dumps({"code": code, "after_check": after_check, "after_view": after_view}))
"""


def test_policy_check_does_not_import_numpy_or_scipy() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    assert result["after_check"] == [], "policy check imported " + ", ".join(result["after_check"])
    # -X importtime lists every import in order: none of the heavy ones before the check ended
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    first_heavy = next((i for i, m in enumerate(imported) if m.split(".")[0] in HEAVY), None)
    first_view = imported.index("gateway.demo.network")
    assert first_heavy is None or first_heavy > first_view, imported[first_heavy or 0]
    # and the check can fail: an abstract topology does need them
    assert result["after_view"] == ["numpy", "scipy"]
