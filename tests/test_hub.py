"""Webhook subscriptions against a real HTTPS receiver with mutual TLS on loopback."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gateway.demo.network import DemoData
from gateway.pki import init_pki
from gateway.push.deliver import new_secret, sign
from tests.conftest import JSON_BODY, ROOT, SOURCE, Pki, RunningGateway, feed, make_settings
from tests.receiver import Receiver
from tests.waiting import wait_until

PEER = "peer/acme"


@dataclass
class Hubbed:
    server: RunningGateway
    receiver: Receiver  # trusts the gateway's client certificate
    stranger: Receiver  # trusts another CA only: refuses the gateway's certificate
    pki: Pki


@pytest.fixture(scope="module")
def hubbed(tmp_path_factory: pytest.TempPathFactory, pki: Pki, demo: DemoData) -> Iterator[Hubbed]:
    other = tmp_path_factory.mktemp("receiver-ca")
    init_pki(other)
    receiver = Receiver(pki.directory).start()
    stranger = Receiver(pki.directory, client_ca=other / "ca.crt").start()
    data_dir = tmp_path_factory.mktemp("hub")
    hub = {
        "callbacks": {
            PEER: [receiver.url, stranger.url, "https://127.0.0.2/hook", "http://localhost/"],
            "peer/globalnet": ["https://169.254.169.254/", "https://10.0.0.1/hooks"],
        },
        # the receiver is on loopback: allowed here explicitly, 127.0.0.1 only
        "allow_networks": ["127.0.0.1/32"],
        "client_cert": str(pki.directory / "source-feeder.crt"),
        "client_key": str(pki.directory / "source-feeder.key"),
        "ca": str(pki.directory / "ca.crt"),
        "max_failures": 3,
        "retry_base_s": 0.05,
        "retry_max_s": 0.2,
        "timeout_s": 5,
    }
    settings = make_settings(data_dir, pki, demo, hub=hub)
    server = RunningGateway(settings, in_process=True).start()
    try:
        feed(server, pki, demo)
        server.call(server.gateway.push.feed.settled())
        yield Hubbed(server, receiver, stranger, pki)
    finally:
        server.stop()
        receiver.stop()
        stranger.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def _subscribe(h: Hubbed, callback: str, who: str = PEER, query: str | None = None) -> Any:
    with h.server.client("public", who, h.pki) as client:
        body = {"callback": callback, **({"query": query} if query else {})}
        return client.post("/v1/hub", json=body, headers=JSON_BODY)


def _unsubscribe(h: Hubbed, ident: str) -> None:
    with h.server.client("public", PEER, h.pki) as client:
        assert client.delete(f"/v1/hub/{ident}").status_code == 204


def _status(h: Hubbed, ident: str, who: str = PEER) -> Any:
    with h.server.client("public", who, h.pki) as client:
        return client.get(f"/v1/hub/{ident}")


_n = iter(range(1000))


def _raise_alarms(h: Hubbed, demo: DemoData, count: int) -> list[str]:
    """``count`` alarms on one of acme's interconnects, one commit each; their ids."""
    links = demo.topology["ietf-network:networks"]["network"][0]["ietf-network-topology:link"]
    link = next(lk["link-id"] for lk in links
                if lk.get("ietf-te-topology:te", {}).get("te-link-attributes", {})
                .get("external-domain", {}).get("network-ref") == "acme")  # fmt: skip
    ids = []
    with h.server.client("internal", SOURCE, h.pki) as client:
        for _ in range(count):
            ident = f"T-HUB-{next(_n)}"
            alarm = {"id": ident, "resource": {"link": link}, "severity": "minor",
                     "raised_at": "2031-01-01T00:00:00Z",
                     "probable_cause": "lossOfSignal"}  # fmt: skip
            answer = client.post("/v1/ingest/alarms", json={"alarms": [alarm]})
            assert answer.status_code == 200, answer.text
            ids.append(ident)
    return ids


def test_events_arrive_signed_in_order_over_mutual_tls(hubbed: Hubbed, demo: DemoData) -> None:
    h = hubbed
    created = _subscribe(h, h.receiver.url, query="eventType=AlarmCreateEvent")
    assert created.status_code == 201, created.text
    sub = created.json()
    assert sub["secret"].startswith("whsec_") and sub["state"] == "active"
    assert created.headers["location"] == f"/v1/hub/{sub['id']}"
    before = len(h.receiver.deliveries)
    try:
        _raise_alarms(h, demo, 5)
        wait_until(lambda: len(h.receiver.deliveries) >= before + 5, "five deliveries")
        last = int(json.loads(h.receiver.deliveries[-1].body)["eventId"])
        # the position moves on (durably) once the receiver's answer is in
        wait_until(lambda: int(_status(h, sub["id"]).json()["delivered"]) >= last, "position")
        shown = _status(h, sub["id"]).json()
    finally:
        _unsubscribe(h, sub["id"])
    got = h.receiver.deliveries[before:]
    events = [json.loads(d.body) for d in got]
    assert [e["eventType"] for e in events] == ["AlarmCreateEvent"] * 5  # the query's only
    seqs = [int(e["eventId"]) for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    webhook = Webhook(sub["secret"])  # Standard Webhooks' own verification
    for delivery in got:
        webhook.verify(delivery.body, delivery.headers)
        assert delivery.client_sans == ["spiffe://demarc.example/source/feeder"]
    tampered = dict(got[0].headers)
    with pytest.raises(WebhookVerificationError):
        webhook.verify(got[0].body.replace(b"minor", b"major"), tampered)
    assert [d.headers["webhook-id"] for d in got] == [f"{sub['id']}_{s}" for s in seqs]
    assert "secret" not in shown and shown["failures"] == 0


def test_a_subscription_is_its_owners_alone(hubbed: Hubbed) -> None:
    h = hubbed
    sub = _subscribe(h, h.receiver.url).json()
    try:
        theirs = _status(h, sub["id"], who="peer/globalnet")
        missing = _status(h, "sub-0000000000000000", who="peer/globalnet")
        with h.server.client("public", "peer/globalnet", h.pki) as other:
            deleted = other.delete(f"/v1/hub/{sub['id']}")
            listed = other.get("/v1/hub").json()
        assert theirs.status_code == missing.status_code == deleted.status_code == 404
        assert theirs.content == missing.content == deleted.content
        assert listed == {"subscriptions": []}
        assert _status(h, sub["id"]).status_code == 200  # still there for its owner
    finally:
        _unsubscribe(h, sub["id"])
    assert _status(h, sub["id"]).status_code == 404


@pytest.mark.parametrize(
    ("who", "callback", "why"),
    [
        (PEER, "https://hooks.example.com/x", "allow-list"),  # not on the allow-list
        (PEER, "http://localhost/", "https"),  # on it, but not https
        (PEER, "https://127.0.0.2/hook", "non-public"),  # loopback, not the allowed /32
        ("peer/globalnet", "https://169.254.169.254/", "non-public"),  # link-local (metadata)
        ("peer/globalnet", "https://10.0.0.1/hooks/a", "non-public"),  # private
        ("peer/globalnet", "https://10.0.0.1/hooksx", "allow-list"),  # not under the prefix
        (PEER, "https://user@localhost:1/hook", "user information"),
        ("customer/globex", "https://localhost/hook", "allow-list"),  # nothing allowed at all
    ],
)
def test_a_forbidden_callback_is_refused(hubbed: Hubbed, who: str, callback: str, why: str) -> None:
    answer = _subscribe(hubbed, callback, who=who)
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["error"]["problems"]
    assert problem["where"] == "$.callback"
    assert why in problem["message"]


def test_a_failing_receiver_is_retried_then_served(hubbed: Hubbed, demo: DemoData) -> None:
    h = hubbed
    before = len(h.receiver.deliveries)
    h.receiver.answer = lambda index: 500 if index < before + 2 else 200
    sub = _subscribe(h, h.receiver.url, query="view=alarms").json()
    try:
        _raise_alarms(h, demo, 1)
        wait_until(lambda: 200 in h.receiver.answered[before:], "a delivery to succeed")
        wait_until(lambda: _status(h, sub["id"]).json()["failures"] == 0, "the count reset")
        shown = _status(h, sub["id"]).json()
    finally:
        h.receiver.answer = lambda index: 204
        _unsubscribe(h, sub["id"])
    assert h.receiver.answered[before : before + 3] == [500, 500, 200]
    bodies = h.receiver.bodies()[before : before + 3]
    assert bodies[0] == bodies[1] == bodies[2]  # the same event again, not the next one
    assert shown["state"] == "active" and shown["failures"] == 0 and shown["last_error"] is None


def test_a_receiver_that_keeps_failing_suspends_the_subscription(
    hubbed: Hubbed, demo: DemoData
) -> None:
    h = hubbed
    before = len(h.receiver.deliveries)
    h.receiver.answer = lambda index: 503
    sub = _subscribe(h, h.receiver.url, query="view=alarms").json()
    try:
        _raise_alarms(h, demo, 2)
        wait_until(lambda: _status(h, sub["id"]).json()["state"] == "suspended", "suspension")
        shown = _status(h, sub["id"]).json()
        count = len(h.receiver.deliveries)
        _raise_alarms(h, demo, 1)
        h.server.call(h.server.gateway.push.feed.settled())
    finally:
        h.receiver.answer = lambda index: 204
        _unsubscribe(h, sub["id"])
    assert shown["failures"] == 3 and shown["last_error"] == "the callback answered HTTP 503"
    assert shown["suspended_at"] is not None
    assert count - before == 3  # max_failures attempts at the first event, then nothing
    assert len(h.receiver.deliveries) == count


def test_a_receiver_refusing_our_certificate_is_a_tls_failure(
    hubbed: Hubbed, demo: DemoData
) -> None:
    h = hubbed
    sub = _subscribe(h, h.stranger.url, query="view=alarms").json()
    try:
        _raise_alarms(h, demo, 1)
        wait_until(lambda: _status(h, sub["id"]).json()["failures"] >= 1, "a failed attempt")
        shown = _status(h, sub["id"]).json()
    finally:
        _unsubscribe(h, sub["id"])
    assert "TLS" in shown["last_error"] and "certificate" in shown["last_error"]
    assert h.stranger.deliveries == []


def test_addresses_are_checked_again_at_connect_time(hubbed: Hubbed, demo: DemoData) -> None:
    """The subscription was accepted; the name now leads somewhere not allowed (here: the
    allowed networks shrank), and the next delivery is refused before any connection."""
    h = hubbed
    sender = h.server.gateway.push.outbox._sender
    sub = _subscribe(h, h.receiver.url, query="view=alarms").json()
    before = len(h.receiver.deliveries)
    allowed, sender._networks = sender._networks, ()
    try:
        _raise_alarms(h, demo, 1)
        wait_until(lambda: _status(h, sub["id"]).json()["failures"] >= 1, "a refused attempt")
        shown = _status(h, sub["id"]).json()
    finally:
        sender._networks = allowed
        _unsubscribe(h, sub["id"])
    assert "non-public" in shown["last_error"]
    assert len(h.receiver.deliveries) == before


def test_the_readme_verifier_accepts_our_signatures_and_nothing_else() -> None:
    """The verification example in README.md, run against the gateway's signer."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = readme.split("refuse old timestamps:\n\n```python\n", 1)[1].split("```", 1)[0]
    space: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), space)
    verify = space["verify"]
    secret, now = new_secret(), int(time.time())
    headers = {"webhook-id": "sub-1_7", "webhook-timestamp": str(now),
               "webhook-signature": sign(secret, "sub-1_7", now, b'{"a":1}')}  # fmt: skip
    assert verify(secret, headers, b'{"a":1}')
    assert not verify(secret, headers, b'{"a":2}')
    assert not verify(new_secret(), headers, b'{"a":1}')
    old = {**headers, "webhook-timestamp": str(now - 600),
           "webhook-signature": sign(secret, "sub-1_7", now - 600, b'{"a":1}')}  # fmt: skip
    assert not verify(secret, old, b'{"a":1}')
