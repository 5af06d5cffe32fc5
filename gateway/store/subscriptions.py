"""Webhook subscriptions, kept beside the change feed: each one's position is its outbox."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.store.events import EventDb

SCHEMA = """
CREATE TABLE IF NOT EXISTS hub_subscriptions (
    id TEXT PRIMARY KEY, principal TEXT NOT NULL, callback TEXT NOT NULL, query TEXT,
    secret TEXT NOT NULL, created_at TEXT NOT NULL, state TEXT NOT NULL,
    delivered INTEGER NOT NULL, failures INTEGER NOT NULL, last_error TEXT, suspended_at TEXT
);
CREATE INDEX IF NOT EXISTS hub_subscriptions_by_principal ON hub_subscriptions (principal);
"""

_COLS = (
    "id, principal, callback, query, secret, created_at, state, delivered, failures, "
    "last_error, suspended_at"
)


@dataclass(frozen=True, slots=True)
class SubscriptionRecord:
    id: str
    principal: str
    callback: str
    query: str | None
    secret: str
    created_at: str
    state: str  # active | suspended
    delivered: int  # the last event of the principal's feed delivered (or skipped as unasked)
    failures: int  # failed attempts in a row
    last_error: str | None
    suspended_at: str | None


class SubscriptionDb:
    """Blocking, on the change feed's connection (the same SQLite file)."""

    def __init__(self, db: EventDb) -> None:
        self._db = db
        with db.transaction() as cur:
            for statement in SCHEMA.strip().split(";"):
                if statement.strip():
                    cur.execute(statement)

    def create(self, record: SubscriptionRecord, limit: int) -> bool:
        """Store ``record`` unless its principal has ``limit`` subscriptions already."""
        with self._db.transaction() as cur:
            (count,) = cur.execute(
                "SELECT COUNT(*) FROM hub_subscriptions WHERE principal=?", (record.principal,)
            ).fetchone()
            if count >= limit:
                return False
            cur.execute(
                f"INSERT INTO hub_subscriptions ({_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    record.id, record.principal, record.callback, record.query, record.secret,
                    record.created_at, record.state, record.delivered, record.failures,
                    record.last_error, record.suspended_at,
                ),
            )  # fmt: skip
        return True

    def get(self, ident: str) -> SubscriptionRecord | None:
        rows = self._db.read(f"SELECT {_COLS} FROM hub_subscriptions WHERE id=?", (ident,))
        return SubscriptionRecord(*rows[0]) if rows else None

    def of(self, principal: str) -> list[SubscriptionRecord]:
        rows = self._db.read(
            f"SELECT {_COLS} FROM hub_subscriptions WHERE principal=? ORDER BY created_at, id",
            (principal,),
        )
        return [SubscriptionRecord(*row) for row in rows]

    def active(self) -> list[SubscriptionRecord]:
        rows = self._db.read(f"SELECT {_COLS} FROM hub_subscriptions WHERE state='active'")
        return [SubscriptionRecord(*row) for row in rows]

    def delete(self, ident: str, principal: str) -> bool:
        with self._db.transaction() as cur:
            deleted = cur.execute(
                "DELETE FROM hub_subscriptions WHERE id=? AND principal=?", (ident, principal)
            ).rowcount
        return bool(deleted)

    def delivered(self, ident: str, seq: int) -> None:
        """Durably: every event up to ``seq`` is done with (at-least-once: after the 2xx)."""
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE hub_subscriptions SET delivered=MAX(delivered, ?), failures=0, "
                "last_error=NULL WHERE id=?",
                (seq, ident),
            )

    def failed(self, ident: str, error: str, suspended_at: str | None) -> int:
        """Count a failed attempt (suspending when ``suspended_at`` is given); the count."""
        with self._db.transaction() as cur:
            cur.execute(
                "UPDATE hub_subscriptions SET failures=failures+1, last_error=?, "
                "state=CASE WHEN ? IS NULL THEN state ELSE 'suspended' END, "
                "suspended_at=COALESCE(?, suspended_at) WHERE id=?",
                (error, suspended_at, suspended_at, ident),
            )
            row = cur.execute(
                "SELECT failures FROM hub_subscriptions WHERE id=?", (ident,)
            ).fetchone()
        return int(row[0]) if row else 0

    def holds(self) -> dict[str, int]:
        """principal → the oldest event an active subscription of it has still to deliver
        (retention keeps those)."""
        rows = self._db.read(
            "SELECT principal, MIN(delivered) FROM hub_subscriptions WHERE state='active' "
            "GROUP BY principal"
        )
        return {principal: int(seq) for principal, seq in rows}
