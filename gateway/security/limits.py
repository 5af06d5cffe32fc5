"""Connection limits and timeouts the protocol layer enforces, and the counts it keeps."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Per listener. uvicorn with httptools enforces none of these itself: it has no header
    size limit (h11's does not apply), its keep-alive timer is reset by any byte (so a slow
    request never times out), and its concurrency limit counts only connections that already
    sent headers, after their TLS state is allocated."""

    handshake_timeout_s: float = 10.0
    header_timeout_s: float = 10.0  # request line and headers, from connect or first byte
    body_timeout_s: float = 60.0  # the whole body, once the headers are in
    keepalive_timeout_s: float = 30.0  # idle between requests
    max_header_bytes: int = 32 * 1024
    max_connections: int = 1000
    max_connections_per_address: int = 64


@dataclass
class ConnectionCounter:
    """Open connections of one listener, in total and per client address."""

    limits: ConnectionLimits
    total: int = 0
    by_address: Counter[str] = field(default_factory=Counter)

    def admit(self, address: str) -> str | None:
        """Count a new connection in, or say why it is refused (and count nothing)."""
        if self.total >= self.limits.max_connections:
            return "connection-limit"
        if self.by_address[address] >= self.limits.max_connections_per_address:
            return "address-connection-limit"
        self.total += 1
        self.by_address[address] += 1
        return None

    def release(self, address: str) -> None:
        self.total -= 1
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]
