"""The last acknowledged revision, kept durably beside the database and outside it."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger("demarc.store")

_WIDTH = 20  # digits: any revision SQLite can hold
_RECORD = _WIDTH + 1  # and a newline; rewritten in place, so the file never grows


class HighWater:
    """``<database>.acked``: a damaged WAL or a truncated database file would otherwise bring the
    gateway up at an older revision, and its next write would reuse revision numbers already
    acknowledged. Comparing the database with this mark at start makes such a loss loud.

    Written after each durable batch and before it is acknowledged (one fdatasync per batch,
    not per change). A crash between the two leaves the mark behind the database: harmless.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def read(self) -> int | None:
        """The mark, or None when there is none yet (a new or an upgraded installation)."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        if not text.isdigit():
            raise ValueError(f"{self.path} does not hold a revision number: {text[:40]!r}")
        return int(text)

    def advance(self, revision: int) -> None:
        """Record ``revision`` as acknowledged; never raises (the batch is durable already)."""
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.pwrite(self._fd, f"{revision:0{_WIDTH}d}\n".encode(), 0)
            os.fdatasync(self._fd)
        except OSError as exc:
            # the data is in the database; only the loss detection for it is weaker
            log.error("cannot record revision %d in %s: %s", revision, self.path, exc)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
