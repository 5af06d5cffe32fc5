"""The store interface, and the group-commit writer every backend shares."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.model import Change, Snapshot
from gateway.model.gcpause import built_without_gc


@dataclass(frozen=True, slots=True)
class Committed:
    """One change as it was committed: the revision it got and who sent it."""

    revision: int
    change: Change
    principal: str


CommitListener = Callable[[Sequence[Committed]], None]


class Backend(Protocol):
    """Durable storage. Blocking calls; the Store runs them off the event loop."""

    def load(self) -> Snapshot: ...

    def persist(self, batch: Sequence[Committed], snapshot: Snapshot) -> None:
        """Write every change of ``batch`` in one transaction, durable when this returns."""

    def close(self) -> None: ...


class Store:
    """The current model and its revision; commits are grouped, durable, then acknowledged.

    Callers await ``commit``; concurrent commits share one transaction (one fsync), each still
    getting its own revision, and none is acknowledged before the transaction is durable.
    """

    def __init__(self, backend: Backend, *, max_batch: int = 256) -> None:
        self._backend = backend
        self._max_batch = max_batch
        self._snapshot = Snapshot()
        self._queue: asyncio.Queue[tuple[Change, str, asyncio.Future[Snapshot]]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._listeners: list[CommitListener] = []

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    async def open(self) -> Snapshot:
        self._snapshot = await asyncio.to_thread(built_without_gc, self._backend.load)
        self._writer = asyncio.create_task(self._write_loop(), name="demarc-store-writer")
        return self._snapshot

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        await asyncio.to_thread(self._backend.close)

    def on_commit(self, callback: CommitListener) -> None:
        """Call ``callback`` on the event loop after every durable batch, with the batch's
        changes in revision order; when it runs, ``snapshot`` already includes them."""
        self._listeners.append(callback)

    async def commit(self, change: Change, principal: str) -> Snapshot:
        """Commit ``change``; returns the snapshot that includes it, once it is durable."""
        if self._writer is None:
            raise RuntimeError("store is not open")
        future: asyncio.Future[Snapshot] = asyncio.get_running_loop().create_future()
        await self._queue.put((change, principal, future))
        return await future

    async def _write_loop(self) -> None:
        while True:
            first = await self._queue.get()
            pending = [first]
            while len(pending) < self._max_batch and not self._queue.empty():
                pending.append(self._queue.get_nowait())
            await self._write_batch(pending)

    async def _write_batch(
        self, pending: list[tuple[Change, str, asyncio.Future[Snapshot]]]
    ) -> None:
        snapshot = self._snapshot
        batch: list[Committed] = []
        after: list[Snapshot] = []
        for change, principal, _ in pending:
            revision = snapshot.revision + 1
            snapshot = snapshot.apply(change, revision)
            batch.append(Committed(revision, change, principal))
            after.append(snapshot)
        try:
            await asyncio.to_thread(self._backend.persist, batch, snapshot)
        except Exception as exc:  # nothing of this batch was committed: nobody is acknowledged
            for _, _, future in pending:
                if not future.done():
                    future.set_exception(exc)
            return
        self._snapshot = snapshot
        for (_, _, future), snap in zip(pending, after, strict=True):
            if not future.done():
                future.set_result(snap)
        for callback in self._listeners:
            callback(batch)
