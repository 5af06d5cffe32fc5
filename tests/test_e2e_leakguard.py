"""End to end: a render step broken on purpose leaks a router name; the guard stops it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway.demo.network import DemoData
from gateway.disclosure.engine import CompiledPolicy
from tests.conftest import SOURCE, RunningGateway


@pytest.fixture
def acme_policy(served: RunningGateway) -> Iterator[CompiledPolicy]:
    policy = served.gateway.policies.for_audience("peer/acme")
    assert policy is not None
    original = dict(policy.views)
    yield policy
    policy.views.update(original)  # type: ignore[attr-defined]


def _poke(served: RunningGateway, internal: Any, demo: DemoData, value: float) -> None:
    links = demo.topology["ietf-network:networks"]["network"][0]["ietf-network-topology:link"]
    link = next(lk for lk in links if "external-domain" in
                lk.get("ietf-te-topology:te", {}).get("te-link-attributes", {})
                and lk["ietf-te-topology:te"]["te-link-attributes"]["external-domain"]
                ["network-ref"] == "acme")  # fmt: skip
    sample = {"resource": {"link": link["link-id"]}, "metric": "utilisation_pct",
              "value": value, "at": f"2031-01-01T00:00:{int(value) % 60:02d}Z"}  # fmt: skip
    rev = internal(SOURCE).post("/v1/ingest/metrics", json={"samples": [sample]}).json()
    served.call(served.gateway.refresher.wait_for(rev["revision"]))


def test_a_leaking_render_is_withheld_and_the_last_good_view_stays(
    served: RunningGateway, public: Any, internal: Any, demo: DemoData,
    acme_policy: CompiledPolicy,
) -> None:  # fmt: skip
    client = public("peer/acme")
    good = client.get("/v1/interconnects")
    router = sorted(demo.secrets.node_names)[0]
    honest = acme_policy.views["interconnects"]

    def broken(ctx: Any, peer: str) -> Any:
        items = honest(ctx, peer)
        for item in items:
            item["note"] = f"behind {router}"  # the bug: an internal name copied into a view
        return items

    acme_policy.views["interconnects"] = broken  # type: ignore[index]
    leaks_before = len(served.gateway.leaks)
    _poke(served, internal, demo, 61.0)
    after = client.get("/v1/interconnects")
    assert after.status_code == 200
    assert after.content == good.content  # the previous version, byte for byte
    assert after.headers["etag"] == good.headers["etag"]
    assert router.encode() not in after.content
    new = list(served.gateway.leaks)[leaks_before:]
    assert [(w.audience, w.view) for w in new] == [("peer/acme", "interconnects")]
    assert "node_name" in new[0].classes
    assert all(router not in str(w) for w in new)  # the event names digests, never the value
    trail = internal("staff/alice").get("/v1/admin/audit", params={"kind": "leak-withheld"})
    events = trail.json()["events"]
    assert events and events[0]["audience"] == "peer/acme" and events[0]["view"] == "interconnects"
    assert "node_name" in events[0]["detail"]["classes"] and router not in trail.text
    status = internal("staff/alice").get("/v1/admin/status").json()
    assert status["leaks_withheld"]["interconnects:node_name"] >= 1
    # other views of the same audience are unaffected, and a fixed render publishes again
    assert client.get("/v1/alarms").status_code == 200
    acme_policy.views["interconnects"] = honest  # type: ignore[index]
    _poke(served, internal, demo, 62.0)
    fixed = client.get("/v1/interconnects")
    assert fixed.headers["etag"] != good.headers["etag"]
    assert 62.0 in {i["utilisation_pct"] for i in fixed.json()["items"]}


def test_non_view_bodies_are_scanned_too(served: RunningGateway, public: Any) -> None:
    """The OpenAPI document and error bodies pass the guard on their way out."""
    client = public("peer/acme")
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/v1/nope").status_code == 404
    guard = served.gateway.screen.guard("peer/acme")
    assert guard is not None and len(guard) > 100


def test_the_live_guard_follows_commits_without_rebuilding(
    served: RunningGateway, public: Any, internal: Any
) -> None:
    """An ingested alarm reaches the shared vocabulary through the store's commit listener:
    its terms are there when the views are next screened, and nothing was rebuilt."""
    public("peer/acme").get("/v1/alarms")
    vocabulary = served.gateway.screen.vocabulary
    before = vocabulary.rebuilds
    alarm = {"id": "alm-follow-7q3x", "severity": "minor", "raised_at": "2031-01-01T00:00:00Z",
             "resource": {"node": "node-follow-4t8w"},
             "text": "flap seen on edge-follow-9k2.example.net"}  # fmt: skip
    response = internal(SOURCE).post("/v1/ingest/alarms", json={"alarms": [alarm]})
    assert response.status_code == 200, response.text
    rev = response.json()
    served.call(served.gateway.refresher.wait_for(rev["revision"]))
    assert vocabulary.revision >= rev["revision"]
    terms = vocabulary.terms()
    assert "alm-follow-7q3x" in terms and "edge-follow-9k2.example.net" in terms
    assert vocabulary.rebuilds == before
