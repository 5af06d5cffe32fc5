"""Storage of the internal model: revisions, durable group commits, backends."""

from gateway.store.base import Backend, Committed, Store
from gateway.store.sqlite import SqliteBackend

__all__ = ["Backend", "Committed", "SqliteBackend", "Store"]
