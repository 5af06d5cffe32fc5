"""What availability history costs on disk: bytes of the service_days table per service per day.

Writes settled days through the store's own SqliteBackend into a scratch database: every day
of every service has something to say (the worst case: a flap each day), and a quieter case
where one day in ten has; then reads SQLite's own page accounting (dbstat) for the table.
Bytes, not time: the figures do not depend on how busy the machine is.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from gateway.store.sqlite import SqliteBackend

SERVICES, DAYS = 1000, 90
FIRST = date(2026, 9, 1)


def _spans(rng: random.Random) -> tuple[tuple[int, int, str], ...]:
    """One to three spans of a day, as availability.by_day cuts them."""
    out, at = [], rng.randrange(0, 3600)
    for _ in range(rng.randint(1, 3)):
        length = rng.randrange(60, 7200)
        state = rng.choice(("outage", "degraded", "maintenance"))
        out.append((at, min(at + length, 86_400), state))
        at = min(at + length + rng.randrange(60, 20_000), 86_399)
        if at >= 86_399:
            break
    return tuple(out)


def measure(share: float, seed: int = 7) -> dict[str, float]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "history.db"
        backend = SqliteBackend(path)
        rows = [
            (f"SVC-{customer:04d}-{n:04d}", FIRST + timedelta(days=d), _spans(rng))
            for customer in range(SERVICES // 10)
            for n in range(10)
            for d in range(DAYS)
            if rng.random() < share
        ]
        backend.save_days(rows)
        backend.close()
        db = sqlite3.connect(path)
        pages, payload = db.execute(
            "SELECT SUM(pgsize), SUM(payload) FROM dbstat WHERE name = 'service_days'"
        ).fetchone()
        spans = db.execute("SELECT SUM(LENGTH(spans)) FROM service_days").fetchone()[0]
        db.close()
    service_days = SERVICES * DAYS
    return {
        "rows": len(rows),
        "table bytes": pages,
        "bytes per row (pages)": pages / len(rows),
        "payload bytes per row": payload / len(rows),
        "span bytes per row": spans / len(rows),
        "bytes per service per day (pages)": pages / service_days,
    }


def main() -> None:
    for label, share in (("a row every day (worst case)", 1.0), ("a row one day in ten", 0.1)):
        print(f"{SERVICES} services x {DAYS} days, {label}:")
        for name, value in measure(share).items():
            print(f"  {name:36} {value:,.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
