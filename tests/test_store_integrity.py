"""Lost or damaged data is never silent at start: a high-water mark outside the database,
and a quick_check of every page."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from gateway.errors import ConfigError, StoreBehind
from gateway.model import ReplaceTopology, Topology
from gateway.store import SqliteBackend, Store


async def _commit(path: Path, count: int, *, accept_loss: bool = False) -> list[int]:
    store = Store(SqliteBackend(path, accept_loss=accept_loss))
    await store.open()
    try:
        revisions = []
        for i in range(count):
            change = ReplaceTopology(Topology(network_id=f"net{i}"))
            revisions.append((await store.commit(change, "source/feeder")).revision)
        return revisions
    finally:
        await store.close()


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def test_zero_length_database_below_the_mark_refuses_to_start(tmp_path: Path) -> None:
    db = tmp_path / "demarc.db"
    assert asyncio.run(_commit(db, 3)) == [1, 2, 3]
    _remove(db)
    db.write_bytes(b"")  # a truncated file: SQLite takes it for a new, empty database
    with pytest.raises(StoreBehind) as refused:
        SqliteBackend(db).load()
    message = str(refused.value)
    assert str(db) in message and "revision 0" in message and "revision 3" in message
    assert "--accept-data-loss" in message


def test_an_older_database_copy_refuses_to_start(tmp_path: Path) -> None:
    db = tmp_path / "demarc.db"
    asyncio.run(_commit(db, 1))
    shutil.copy(db, tmp_path / "old.db")  # closed cleanly: the WAL is checkpointed into it
    asyncio.run(_commit(db, 2))
    _remove(db)
    shutil.copy(tmp_path / "old.db", db)
    with pytest.raises(StoreBehind, match="revision 1 but revision 3 was acknowledged"):
        SqliteBackend(db).load()


def test_accepting_the_loss_never_reuses_an_acknowledged_revision(tmp_path: Path) -> None:
    db = tmp_path / "demarc.db"
    asyncio.run(_commit(db, 3))
    _remove(db)
    assert asyncio.run(_commit(db, 1, accept_loss=True)) == [4]
    assert SqliteBackend(db).load().revision == 4  # and the mark followed: no flag needed now


def test_a_damaged_page_is_found_at_start(tmp_path: Path) -> None:
    db = tmp_path / "demarc.db"
    asyncio.run(_commit(db, 20))
    data = bytearray(db.read_bytes())
    assert len(data) >= 3 * 4096
    data[4096 : 2 * 4096] = b"\xa5" * 4096  # page 2 overwritten with junk
    db.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="is damaged: restore it from a backup"):
        SqliteBackend(db)
