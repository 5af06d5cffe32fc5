"""Long-poll over real TLS: a held view answers when its ETag changes, or 304 when the wait ends."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.demo.network import DemoData
from tests.conftest import SOURCE, Pki, RunningGateway, feed, make_settings
from tests.waiting import wait_until

PEER = "peer/acme"


@pytest.fixture(scope="module")
def polled(
    tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData
) -> Iterator[RunningGateway]:
    """A gateway of its own over TLS (the tests ingest into it), at most 2 held per principal."""
    data_dir = tmp_path_factory.mktemp("longpoll")
    settings = make_settings(
        data_dir, pki, demo, longpoll={"max_wait_s": 60, "max_waiters_per_principal": 2}
    )
    server = RunningGateway(settings).start()
    try:
        feed(server, pki, demo)
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _acme_link(demo: DemoData) -> str:
    links = demo.topology["ietf-network:networks"]["network"][0]["ietf-network-topology:link"]
    return next(
        lk["link-id"]
        for lk in links
        if lk.get("ietf-te-topology:te", {}).get("te-link-attributes", {})
        .get("external-domain", {}).get("network-ref") == "acme"
    )  # fmt: skip


_values = iter(range(10, 90))


def _change_acme(server: RunningGateway, pki: Pki, demo: DemoData) -> None:
    """A new utilisation sample on one of acme's interconnects: its interconnects view changes."""
    value = float(next(_values))
    sample = {"resource": {"link": _acme_link(demo)}, "metric": "utilisation_pct",
              "value": value, "at": f"2031-01-01T00:{int(value):02d}:00Z"}  # fmt: skip
    with server.client("internal", SOURCE, pki) as client:
        answer = client.post("/v1/ingest/metrics", json={"samples": [sample]})
        assert answer.status_code == 200, answer.text


def test_a_held_poll_answers_when_the_view_changes(
    polled: RunningGateway, pki: Pki, demo: DemoData
) -> None:
    with polled.client("public", PEER, pki) as client, ThreadPoolExecutor(1) as pool:
        first = client.get("/v1/interconnects")
        etag = first.headers["etag"]
        started = time.monotonic()
        held = pool.submit(
            client.get, "/v1/interconnects?wait=30s", headers={"If-None-Match": etag}
        )
        wait_until(lambda: polled.gateway.push.waiters.held[PEER] == 1, "the request to be held")
        assert not held.done()
        _change_acme(polled, pki, demo)
        answer = held.result(timeout=20)
        elapsed = time.monotonic() - started
    assert answer.status_code == 200
    assert answer.headers["etag"] != etag
    assert answer.json()["items"] != first.json()["items"]
    assert elapsed < 10  # woken by the change, not by the 30 s wait running out
    assert polled.gateway.push.waiters.held[PEER] == 0


def test_a_held_poll_gets_304_when_the_wait_ends(polled: RunningGateway, pki: Pki) -> None:
    with polled.client("public", PEER, pki) as client:
        etag = client.get("/v1/alarms").headers["etag"]
        started = time.monotonic()
        answer = client.get("/v1/alarms?wait=1", headers={"If-None-Match": etag})
        elapsed = time.monotonic() - started
    assert answer.status_code == 304
    assert answer.headers["etag"] == etag
    assert 0.9 <= elapsed < 5


def test_prefer_wait_holds_like_the_query(polled: RunningGateway, pki: Pki) -> None:
    with polled.client("public", PEER, pki) as client:
        etag = client.get("/v1/topology").headers["etag"]
        started = time.monotonic()
        answer = client.get("/v1/topology", headers={"If-None-Match": etag, "Prefer": "wait=1"})
        elapsed = time.monotonic() - started
    assert answer.status_code == 304
    assert 0.9 <= elapsed < 5


def test_a_wait_without_a_matching_etag_answers_at_once(polled: RunningGateway, pki: Pki) -> None:
    with polled.client("public", PEER, pki) as client:
        started = time.monotonic()
        plain = client.get("/v1/alarms?wait=30")
        stale = client.get("/v1/alarms?wait=30", headers={"If-None-Match": '"not-the-etag"'})
        elapsed = time.monotonic() - started
    assert plain.status_code == 200
    assert stale.status_code == 200
    assert elapsed < 5


def test_the_routes_hold_as_the_fast_path_does(polled: RunningGateway, pki: Pki) -> None:
    """A percent-encoded parameter name is left to the FastAPI route, which holds too."""
    with polled.client("public", PEER, pki) as client:
        etag = client.get("/v1/alarms").headers["etag"]
        started = time.monotonic()
        answer = client.get("/v1/alarms?%77ait=1", headers={"If-None-Match": etag})
        star = client.get("/v1/alarms?wait=30", headers={"If-None-Match": "*"})
        elapsed = time.monotonic() - started
    assert answer.status_code == 304
    assert star.status_code == 304  # "*" is answered at once: no version to wait past
    assert 0.9 <= elapsed < 5


@pytest.mark.parametrize("wait", ["61", "-1", "1m", "1.5", "600s"])
def test_a_wait_out_of_range_is_422(polled: RunningGateway, pki: Pki, wait: str) -> None:
    with polled.client("public", PEER, pki) as client:
        answer = client.get(f"/v1/alarms?wait={wait}")
    assert answer.status_code == 422
    assert answer.json()["error"]["problems"][0]["where"] == "query.wait"


def test_a_principal_holding_too_many_gets_429(
    polled: RunningGateway, pki: Pki, demo: DemoData
) -> None:
    with polled.client("public", PEER, pki) as client, ThreadPoolExecutor(2) as pool:
        etag = client.get("/v1/interconnects").headers["etag"]
        headers = {"If-None-Match": etag}
        held = [pool.submit(client.get, "/v1/interconnects?wait=30", headers=headers)
                for _ in range(2)]  # fmt: skip
        wait_until(lambda: polled.gateway.push.waiters.held[PEER] == 2, "two held requests")
        refused = client.get("/v1/interconnects?wait=30", headers=headers)
        # another principal is not affected by acme's
        with polled.client("public", "peer/globalnet", pki) as other:
            theirs = other.get("/v1/interconnects")
            fine = other.get(
                "/v1/interconnects?wait=1", headers={"If-None-Match": theirs.headers["etag"]}
            )
        _change_acme(polled, pki, demo)
        answers = [h.result(timeout=20) for h in held]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"]["code"] == "rate_limited"
    assert fine.status_code == 304
    assert [a.status_code for a in answers] == [200, 200]


def test_a_client_that_goes_away_is_no_longer_held(polled: RunningGateway, pki: Pki) -> None:
    with polled.client("public", PEER, pki) as client:
        etag = client.get("/v1/alarms").headers["etag"]
    context = pki.context(PEER)
    raw = socket.create_connection(("127.0.0.1", polled.public_port))
    tls = context.wrap_socket(raw, server_hostname="localhost")
    request = (f"GET /v1/alarms?wait=60 HTTP/1.1\r\nHost: localhost\r\n"
               f"If-None-Match: {etag}\r\n\r\n")  # fmt: skip
    tls.sendall(request.encode())
    wait_until(lambda: polled.gateway.push.waiters.held[PEER] == 1, "the request to be held")
    tls.close()
    # the disconnect ends the wait at once, not 60 s later
    wait_until(lambda: polled.gateway.push.waiters.held[PEER] == 0, "the hold to end", 10)


def test_held_polls_cost_no_cpu_while_nothing_changes(polled: RunningGateway, pki: Pki) -> None:
    """Four polls held for two seconds: the process (gateway and clients) uses little CPU."""
    clients: list[httpx.Client] = []
    try:
        principals = ["peer/acme", "peer/globalnet"]
        etags: dict[str, str] = {}
        for who in principals:
            client = polled.client("public", who, pki)
            clients.append(client)
            etags[who] = client.get("/v1/alarms").headers["etag"]
        with ThreadPoolExecutor(4) as pool:
            before = time.process_time()
            futures: list[Any] = [
                pool.submit(clients[i % 2].get, "/v1/alarms?wait=2",
                            headers={"If-None-Match": etags[principals[i % 2]]})
                for i in range(4)
            ]  # fmt: skip
            answers = [f.result(timeout=20) for f in futures]
            spent = time.process_time() - before
    finally:
        for client in clients:
            client.close()
    assert [a.status_code for a in answers] == [304] * 4
    assert spent < 1.0  # this process holds the gateway too: no polling loop burns the wait


def test_a_stopping_gateway_answers_held_polls_at_once(
    tmp_path: Path, pki: Pki, demo: DemoData
) -> None:
    """uvicorn waits for every request before it stops: held long-polls must not hold it."""
    server = RunningGateway(make_settings(tmp_path / "gw", pki, demo)).start()
    try:
        feed(server, pki, demo)
        with server.client("public", PEER, pki) as client, ThreadPoolExecutor(1) as pool:
            etag = client.get("/v1/alarms").headers["etag"]
            # "close": an idle keep-alive connection holds a stop up for keepalive_timeout_s
            # (uvicorn waits for it), which is not what this test is about
            headers = {"If-None-Match": etag, "Connection": "close"}
            held = pool.submit(client.get, "/v1/alarms?wait=60", headers=headers)
            wait_until(lambda: server.gateway.push.waiters.held[PEER] == 1, "a held poll")
            started = time.monotonic()
            server.stop()
            stopped = time.monotonic() - started
            answer = held.result(timeout=20)
    finally:
        server.stop()
    assert answer.status_code == 304
    assert stopped < 10  # not the 60 s the poll asked for
