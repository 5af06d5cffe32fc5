"""Where webhooks may go: a per-principal allow-list, and no internal address unless allowed."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refused(ValueError):
    """A callback URL or address the hub will not send to; the message says why, in words
    that name only what the subscriber gave (its own URL), never anything internal."""


@dataclass(frozen=True, slots=True)
class Target:
    """A callback URL taken apart: what is connected to and what is asked for."""

    url: str
    host: str  # lower-case name or address literal, without brackets
    port: int
    path: str  # path and query, as given

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 443 else f"{host}:{self.port}"


def parse_callback(url: str) -> Target:
    """An https URL without user information or fragment; Refused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError:
        raise Refused("the callback is not a valid URL") from None
    if parts.scheme != "https":
        raise Refused("the callback must be an https URL")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise Refused("the callback must name a host, without user information")
    if parts.fragment:
        raise Refused("the callback must not have a fragment")
    if any(c.isspace() or ord(c) < 0x21 for c in url):
        raise Refused("the callback must not contain spaces or control characters")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, parts.hostname.lower().rstrip("."), port, path)


def allowed_by(target: Target, prefixes: Iterable[str]) -> bool:
    """Whether ``target`` is one of the allowed prefixes: the same host and port, and a path
    under the prefix's path (at a ``/`` boundary: ``/hooks`` allows ``/hooks/x``, not
    ``/hooksx``)."""
    for prefix in prefixes:
        try:
            allowed = parse_callback(prefix)
        except Refused:
            continue
        if (allowed.host, allowed.port) != (target.host, target.port):
            continue
        base = allowed.path.split("?", 1)[0]
        path = target.path.split("?", 1)[0]
        if path == base or path.startswith(base if base.endswith("/") else base + "/"):
            return True
    return False


def check_allowed(target: Target, allow_list: Mapping[str, list[str]], principal: str) -> None:
    if not allowed_by(target, allow_list.get(principal, ())):
        raise Refused(
            "the callback is not on this principal's allow-list: ask the operator's staff to "
            "add it (setting hub.callbacks)"
        )


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def address_allowed(address: IpAddress, networks: Iterable[Network]) -> bool:
    """A public unicast address, or one in a network staff allowed explicitly."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if any(address in n for n in networks):
        return True
    # not global: loopback, private, link-local, shared (CGNAT), reserved, documentation …
    return address.is_global and not address.is_multicast


async def resolve(target: Target, networks: Iterable[Network]) -> list[IpAddress]:
    """The addresses to connect to for ``target``: its DNS answers now, each checked; Refused
    when none may be reached. Called before every connection, so an answer that changed
    since the subscription (DNS rebinding) is checked again."""
    try:
        literal: IpAddress | None = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    if literal is not None:
        found = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                target.host, target.port, type=socket.SOCK_STREAM
            )
        except OSError:
            raise Refused("the callback's host name does not resolve") from None
        found = list(dict.fromkeys(ipaddress.ip_address(i[4][0]) for i in infos))
    networks = tuple(networks)
    allowed = [a for a in found if address_allowed(a, networks)]
    if not allowed:
        raise Refused(
            "the callback's host resolves only to loopback, link-local, private or otherwise "
            "non-public addresses, which the hub does not send to"
        )
    return allowed
