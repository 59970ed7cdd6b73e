"""Fixtures for the store contract suite: one ``store`` per backend."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from postoffice.clock import ManualClock
from postoffice.store.api import Store
from postoffice.store.memory import MemoryStore
from postoffice.store.sqlite import SQLiteStore

# --import-mode=importlib does not put test folders on sys.path; the store tests share
# builders from store_helpers.py next to this file.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock) -> AsyncIterator[Store]:
    s: Store
    if request.param == "memory":
        s = MemoryStore(clock=clock)
    else:
        s = await SQLiteStore.open(tmp_path / "store.sqlite3", clock=clock)
    yield s
    await s.close()
