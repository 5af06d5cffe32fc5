"""Where the hub may send: URL rules, allow-list prefixes, and which addresses are internal."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from gateway.push.callbacks import (
    Refused,
    address_allowed,
    allowed_by,
    parse_callback,
    parse_networks,
    resolve,
)
from gateway.push.outbox import Policy, parse_query


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://user:pw@hooks.example.com/x",
        "https://hooks.example.com/x#frag",
        "https:///nohost",
        "https://hooks.example.com:99999/x",
        "https://hooks.example.com/a b",
        "ftp://hooks.example.com/",
    ],
)
def test_callbacks_that_are_not_plain_https_urls_are_refused(url: str) -> None:
    with pytest.raises(Refused):
        parse_callback(url)


def test_a_prefix_allows_its_host_port_and_paths_below_it_only() -> None:
    prefixes = ["https://hooks.example.com/demarc", "https://other.example.com:8443/"]
    ok = [
        "https://hooks.example.com/demarc",
        "https://HOOKS.example.com./demarc/a?x=1",
        "https://hooks.example.com:443/demarc/b",
        "https://other.example.com:8443/anything",
    ]
    bad = [
        "https://hooks.example.com/demarcx",
        "https://hooks.example.com/",
        "https://hooks.example.com:444/demarc",
        "https://hooks.example.com.evil.net/demarc",
        "https://other.example.com/x",
    ]
    assert all(allowed_by(parse_callback(u), prefixes) for u in ok)
    assert not any(allowed_by(parse_callback(u), prefixes) for u in bad)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("fe80::1", False),
        ("fc00::1", False),
        ("100.64.0.1", False),  # shared address space (CGNAT)
        ("192.0.2.10", False),  # documentation
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:8.8.8.8", True),
    ],
)
def test_only_public_unicast_addresses_are_allowed_by_default(address: str, allowed: bool) -> None:
    assert address_allowed(ipaddress.ip_address(address), ()) is allowed


def test_staff_can_allow_an_internal_network_explicitly() -> None:
    networks = parse_networks(["10.20.0.0/16", "::1/128"])
    assert address_allowed(ipaddress.ip_address("10.20.3.4"), networks)
    assert address_allowed(ipaddress.ip_address("::1"), networks)
    assert not address_allowed(ipaddress.ip_address("10.21.3.4"), networks)
    assert not address_allowed(ipaddress.ip_address("127.0.0.1"), networks)


def test_resolve_checks_every_answer_of_a_name() -> None:
    target = parse_callback("https://localhost:1/hook")  # resolves to loopback only
    with pytest.raises(Refused, match="non-public"):
        asyncio.run(resolve(target, ()))
    allowed = asyncio.run(resolve(target, parse_networks(["127.0.0.0/8", "::1/128"])))
    assert allowed and all(a.is_loopback for a in allowed)


def test_queries_name_event_types_and_views() -> None:
    query = parse_query("eventType=AlarmCreateEvent, AlarmStateChangeEvent&view=alarms")
    assert query.types == {"AlarmCreateEvent", "AlarmStateChangeEvent"}
    assert query.views == {"alarms"}
    assert parse_query(None).types == frozenset()
    for bad in ("colour=red", "eventType", "eventType=", "view=a&view=b"):
        with pytest.raises(ValueError):
            parse_query(bad)


def test_back_off_doubles_with_jitter_up_to_the_cap() -> None:
    policy = Policy(max_failures=10, retry_base_s=1.0, retry_max_s=30.0)
    for failures, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (5, 16.0), (6, 30.0), (40, 30.0)]:
        delays = [policy.delay(failures) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > ceiling / 10  # jittered, not one fixed value
