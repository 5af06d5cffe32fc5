"""Access-log lines written in batches by a thread of their own, outside python logging."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import IO, Any

import msgspec

log = logging.getLogger("demarc.access")

FLUSH_INTERVAL_S = 0.25  # at most this much of the access log is lost in a crash
MAX_PENDING = 100_000  # lines waiting for a blocked stderr; beyond it they are counted and dropped


class AccessLine(msgspec.Struct, gc=False):  # no cycles: not tracked by the GC
    """One request, in the field order (and format) of every other JSON log line
    (gateway.ops.logs): time, level, logger, message, then the request's fields."""

    time: str
    level: str
    logger: str
    message: str
    principal: str | None
    listener: str
    method: str | None
    route: str
    status: int
    bytes: int
    duration_ms: float
    revision: int | None
    # only on a refusal by identity: what was presented, so staff can tell whom to call
    presented_spiffe: str | msgspec.UnsetType | None = msgspec.UNSET
    presented_sha256: str | msgspec.UnsetType | None = msgspec.UNSET


_MILLIS = tuple(f".{ms:03d}Z" for ms in range(1000))  # a format spec costs µs per call


class _Clock:
    """``2026-12-01T10:40:12.301Z``, as the log formatter writes it, formatted once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self) -> str:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return self._prefix + _MILLIS[int((now - second) * 1000)]


def _stderr() -> IO[Any]:
    return sys.stderr  # looked up at each write: a test runner swaps it


class AccessLines:
    """A line per request costs an encode and a deque append on the event loop (a few µs);
    python logging cost 60-100 µs (bench/serve.py). A writer thread joins what is pending and
    writes it to the stream every ``interval`` seconds; ``close`` writes the rest."""

    def __init__(
        self,
        stream: Callable[[], IO[Any]] = _stderr,
        interval: float = FLUSH_INTERVAL_S,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._stream = stream
        self._interval = interval
        self._max = max_pending
        # appended on the event loop, taken by the writer: deque operations are atomic
        self._pending: deque[bytes] = deque()
        self._encode = msgspec.json.Encoder().encode
        self.clock = _Clock()
        self.dropped = 0
        self._reported = 0
        self._write_lock = threading.Lock()  # one writer at a time keeps the lines in order
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def enabled(self) -> bool:
        """Whether access lines are wanted: the ``demarc.access`` logger's level decides, as
        it did when the lines went through logging."""
        return log.isEnabledFor(logging.INFO)

    def add(self, line: AccessLine) -> None:
        if len(self._pending) >= self._max:
            self.dropped += 1  # stderr blocked for long: never grow without bound
            return
        self._pending.append(self._encode(line))

    def start(self) -> None:
        if self._thread is None:
            self._closed = False
            self._thread = threading.Thread(target=self._run, name="demarc-access-log", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self.flush()

    def flush(self) -> int:
        """Write every pending line now (any thread); the number written."""
        with self._write_lock:
            lines = []
            pending = self._pending
            while pending:
                lines.append(pending.popleft())
            if lines:
                lines.append(b"")  # a newline after the last one too
                self._write(b"\n".join(lines))
        if self.dropped != self._reported:
            log.warning(
                "access log: %d lines dropped, stderr blocked", self.dropped - self._reported
            )
            self._reported = self.dropped
        return max(0, len(lines) - 1)

    def _write(self, data: bytes) -> None:
        stream = self._stream()
        try:
            binary = getattr(stream, "buffer", None)
            if binary is not None:
                stream.flush()  # text written before this goes out before it
                binary.write(data)
                binary.flush()
            else:
                stream.write(data.decode("utf-8"))
                stream.flush()
        except (OSError, ValueError):  # closed or broken: as logging would, lose the lines
            pass

    def close(self) -> None:
        """Stop the writer and write what is left: nothing is lost at a clean shutdown."""
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self._wake.clear()
        self.flush()
