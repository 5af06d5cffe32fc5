"""Per-principal rate limits: a token bucket each, 429 with Retry-After, cheap 304 polls."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.api.ratelimit import TokenBuckets
from gateway.demo.network import DemoData
from tests.conftest import Pki, RunningGateway, feed, make_settings


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_grants_a_burst_then_says_how_long_to_wait() -> None:
    clock = _Clock()
    buckets = TokenBuckets(rate=2.0, burst=3.0, clock=clock)
    assert [buckets.take("peer/acme") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("peer/acme") == pytest.approx(0.5)  # one token at 2 per second
    assert buckets.take("peer/other") == 0.0  # buckets are per principal
    clock.now += 0.5
    assert buckets.take("peer/acme") == 0.0
    assert buckets.limited["peer/acme"] == 1


def test_refund_never_exceeds_the_burst() -> None:
    buckets = TokenBuckets(rate=1.0, burst=2.0, clock=_Clock())
    buckets.take("k")
    buckets.refund("k", 5.0)
    assert [buckets.take("k") for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("k") > 0


# one token a second: no run of requests below is fast enough to matter, however slow the
# machine (60 plain requests would need 50 s to stay under the limit)
LIMITS = {"rate_per_s": 1.0, "rate_burst": 10.0, "not_modified_cost": 0.1}


@pytest.fixture(scope="module")
def limited(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
) -> Iterator[RunningGateway]:
    data = tmp_path_factory.mktemp("rate-limited")
    server = RunningGateway(make_settings(data, pki, demo, limits=LIMITS)).start()
    feed(server, pki, demo)
    yield server
    server.stop()


def _client(server: RunningGateway, pki: Pki, who: str) -> httpx.Client:
    return httpx.Client(base_url=server.public_url, verify=pki.context(who))


def test_a_flooding_peer_gets_429_and_others_are_still_served(
    limited: RunningGateway, pki: Pki
) -> None:
    before = limited.gateway.tls_rejections.counts["rate-limited"]
    registry = limited.gateway.metrics.registry
    hits = {"listener": "public", "role": "peer"}
    hits_before = registry.get_sample_value("demarc_rate_limited_total", hits) or 0.0
    with (
        _client(limited, pki, "peer/acme") as flood,
        _client(limited, pki, "peer/globalnet") as other,
    ):
        statuses = [flood.get("/v1/views").status_code for _ in range(60)]
        refused = flood.get("/v1/views")
        assert other.get("/v1/views").status_code == 200
    assert statuses[:10] == [200] * 10 and statuses.count(429) >= 40
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"
    assert limited.gateway.tls_rejections.counts["rate-limited"] >= before + 41
    # a counter of its own, by listener and role: exactly the 429s this peer was sent
    hits_after = registry.get_sample_value("demarc_rate_limited_total", hits)
    assert hits_after == hits_before + statuses.count(429) + 1
    assert not registry.get_sample_value(
        "demarc_rate_limited_total", {"listener": "internal", "role": "peer"}
    )


def test_conditional_polls_cost_a_tenth(limited: RunningGateway, pki: Pki) -> None:
    with _client(limited, pki, "customer/globex") as poller:
        first = poller.get("/v1/services")
        assert first.status_code == 200
        etag = first.headers["etag"]
        statuses = [
            poller.get("/v1/services", headers={"if-none-match": etag}).status_code
            for _ in range(60)
        ]
    assert statuses == [304] * 60  # 1 + 60 * 0.1 = 7 tokens of 10: never limited
