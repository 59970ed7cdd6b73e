"""The SharedState role (``store.shared``): one contract for the in-process and the SQLite
backends, and what only the SQLite one promises (several owners on one file, leases of
a dead or silent process do not count, no fsync)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postoffice.store.shared import LocalSharedState, SharedState
from postoffice.store.sqlite.shared import SQLiteSharedState


@pytest.fixture(params=["local", "sqlite"])
async def shared(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SharedState]:
    state: SharedState
    if request.param == "local":
        state = LocalSharedState()
    else:
        state = await SQLiteSharedState.open(tmp_path / "shared.db")
    yield state
    await state.close()


# ---- the contract ------------------------------------------------------------------------------


async def test_leases_stop_at_the_limit_and_come_back_when_released(shared: SharedState) -> None:
    first = await shared.acquire("conn:imap:192.0.2.1", 2)
    second = await shared.acquire("conn:imap:192.0.2.1", 2)
    assert first is not None and second is not None and first != second
    assert await shared.acquire("conn:imap:192.0.2.1", 2) is None
    assert await shared.acquire("conn:imap:192.0.2.2", 2) is not None  # another key
    assert await shared.count("conn:imap:192.0.2.1") == 2
    await shared.release(first)
    await shared.release(first)  # idempotent
    assert await shared.count("conn:imap:192.0.2.1") == 1
    assert await shared.acquire("conn:imap:192.0.2.1", 2) is not None


async def test_limit_zero_means_no_limit(shared: SharedState) -> None:
    leases = [await shared.acquire("k", 0) for _ in range(50)]
    assert all(lease is not None for lease in leases)
    assert await shared.count("k") == 50


async def test_concurrent_acquires_never_exceed_the_limit(shared: SharedState) -> None:
    results = await asyncio.gather(*(shared.acquire("k", 3) for _ in range(20)))
    assert sum(lease is not None for lease in results) == 3


async def test_failures_are_counted_within_their_window(shared: SharedState) -> None:
    assert await shared.record_failure("192.0.2.1", 1000.0, 60.0) == 0
    assert await shared.record_failure("192.0.2.1", 1010.0, 60.0) == 1
    assert await shared.record_failure("192.0.2.2", 1010.0, 60.0) == 0  # another address
    assert await shared.recent_failures("192.0.2.1", 1000.0 - 1) == 2
    assert await shared.recent_failures("192.0.2.1", 1005.0) == 1
    # 1000 has left the window of a failure at 1065: only 1010 is earlier.
    assert await shared.record_failure("192.0.2.1", 1065.0, 60.0) == 1
    await shared.clear_failures("192.0.2.1")
    assert await shared.recent_failures("192.0.2.1", 0.0) == 0
    assert await shared.recent_failures("192.0.2.2", 0.0) == 1


async def test_generations_count_up_from_zero(shared: SharedState) -> None:
    assert shared.generation("directory") == 0
    assert await shared.bump("directory") == 1
    assert await shared.bump("directory") == 2
    assert shared.generation("directory") == 2
    assert shared.generation("other") == 0


# ---- SQLite: several owners on one file ----------------------------------------------------------


async def test_two_owners_on_one_file_share_leases_failures_and_generations(tmp_path: Path) -> None:
    a = await SQLiteSharedState.open(tmp_path / "shared.db")
    b = await SQLiteSharedState.open(tmp_path / "shared.db")
    try:
        assert await a.acquire("k", 1) is not None
        assert await b.acquire("k", 1) is None
        await a.record_failure("ip", 100.0, 60.0)
        assert await b.record_failure("ip", 101.0, 60.0) == 1
        await a.bump("directory")
        assert b.generation("directory") == 1
        await a.close()  # closing gives every lease of that owner back
        assert await b.acquire("k", 1) is not None
    finally:
        await a.close()
        await b.close()


async def test_leases_of_a_silent_owner_expire(tmp_path: Path) -> None:
    a = await SQLiteSharedState.open(tmp_path / "shared.db", lease_ttl=0.3)
    b = await SQLiteSharedState.open(tmp_path / "shared.db", lease_ttl=0.3)
    try:
        assert a._renewer is not None
        a._renewer.cancel()  # a hangs: it renews its leases no more
        assert await a.acquire("k", 1) is not None
        assert await b.acquire("k", 1) is None
        loop = asyncio.get_running_loop()
        end = loop.time() + 10
        while (lease := await b.acquire("k", 1)) is None:
            assert loop.time() < end, "the silent owner's lease never expired"
            await asyncio.sleep(0.05)
        assert lease is not None
    finally:
        await a.close()
        await b.close()


async def test_leases_of_a_dead_process_are_dropped_at_the_next_renewal(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    # A process takes a lease and dies without closing (SIGKILL, a crash).
    code = (
        "import asyncio, os\n"
        "from pathlib import Path\n"
        "from postoffice.store.sqlite.shared import SQLiteSharedState\n"
        "async def main():\n"
        f"    s = await SQLiteSharedState.open(Path({str(path)!r}))\n"
        "    assert await s.acquire('k', 1) is not None\n"
        "    os._exit(0)\n"
        "asyncio.run(main())\n"
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code, env={**os.environ})
    assert await asyncio.wait_for(process.wait(), 60) == 0
    b = await SQLiteSharedState.open(path)  # opening purges what dead processes left
    try:
        assert await b.acquire("k", 1) is not None
    finally:
        await b.close()


async def test_no_fsync_is_asked_for(tmp_path: Path) -> None:
    state = await SQLiteSharedState.open(tmp_path / "shared.db")
    try:
        await state.acquire("k", 0)

        def pragmas(conn: object) -> tuple[int, str]:
            import sqlite3

            assert isinstance(conn, sqlite3.Connection)
            return conn.execute("PRAGMA synchronous").fetchone()[0], conn.execute("PRAGMA journal_mode").fetchone()[0]

        assert await state._call(pragmas) == (0, "wal")  # synchronous=OFF
    finally:
        await state.close()
