"""The terms the leak guard looks for: their classes, what a hit reports, what a policy shows."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple


class TermClass(StrEnum):
    NODE_ID = "node_id"
    NODE_NAME = "node_name"
    TP_NAME = "tp_name"
    LINK_ID = "link_id"
    LINK_NAME = "link_name"
    SITE = "site"
    ADDRESS = "address"
    URL = "url"
    HOSTNAME = "hostname"
    LABEL_VALUE = "label_value"
    TEXT_TOKEN = "text_token"
    SERVICE_ID = "service_id"
    SERVICE_NAME = "service_name"
    ALARM_ID = "alarm_id"
    MAINTENANCE_ID = "maintenance_id"
    INCIDENT_ID = "incident_id"  # of an incident staff or a source declared
    NETWORK_ID = "network_id"


class Hit(NamedTuple):
    """One internal term found in a body: its class, a digest of it and where; never the term."""

    term_class: TermClass
    digest: str  # sha256 of the term, first 12 hex
    offset: int  # byte offset of the match in the body, as sent


@dataclass(frozen=True, slots=True)
class DisclosedTerms:
    """What the audience's policy discloses on purpose; none of it is a leak to that audience."""

    circuit_names: frozenset[str] = frozenset()  # its interconnects' names, when ids are shared
    remote_ids: frozenset[str] = frozenset()  # the peer's own ids of its ends of interconnects
    service_ids: frozenset[str] = frozenset()  # its own service ids, when ids are shared
    service_names: frozenset[str] = frozenset()  # its own service names, when names are shown
    texts: frozenset[str] = frozenset()  # free text kept as is (text: keep); terms inside it too
    # text written for customers (written: keep): its own tokens are no leak, but unlike kept
    # text it vouches for nothing else: a router it names is still a hit
    written: frozenset[str] = frozenset()
    other: frozenset[str] = frozenset()  # anything else published as is (shared alarm ids, ...)


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Every term to look for, by its canonical spelling (addresses compressed)."""

    terms: Mapping[str, TermClass] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.terms)


MIN_LENGTH = 3  # shorter terms match all over ordinary bodies


_IPISH = re.compile(r"[0-9A-Fa-f.:]*[.:][0-9A-Fa-f.:]*")
"""What ``ipaddress`` can parse at all: hex digits, dots and colons, with a dot or a colon."""


def parse_ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    bare = value.strip().strip("[]").split("/", 1)[0].split("%", 1)[0]  # prefix length, zone
    if not _IPISH.fullmatch(bare):  # most tokens of a text: no exception raised and caught
        return None
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        return None
