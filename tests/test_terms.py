"""The address test of the leak guard's terms: a prefilter in front of ``ipaddress``."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.leakguard.terms import parse_ip


def oracle(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    bare = value.strip().strip("[]").split("/", 1)[0].split("%", 1)[0]
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        return None


addressish = st.text(alphabet="0123456789abcdefABCDEFxyz.:/%[] ", max_size=45)
addresses = st.ip_addresses().map(str)


@settings(max_examples=500)
@given(addressish | addresses | addresses.map(lambda a: f"[{a}]/64"))
def test_prefilter_never_changes_the_answer(value: str) -> None:
    assert parse_ip(value) == oracle(value)
