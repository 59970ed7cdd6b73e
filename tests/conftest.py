"""Shared fixtures for every test folder, and the transcript collector.

- ``manual_clock``: a fresh ManualClock.
- ``tmp_config``: a Config with its data dir in tmp_path, domain example.test, no listeners.
- ``services``: ``app.open_services(tmp_config, clock=manual_clock)``, closed afterwards.
- every ``tests/transcripts/<protocol>/*.t`` file is one test item (postoffice.testing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from postoffice.clock import ManualClock
from postoffice.config import Config
from postoffice.testing.pytest_plugin import pytest_collect_file  # noqa: F401  (pytest hook)
from postoffice.testing.server import build_config

if TYPE_CHECKING:
    from postoffice.app import Services


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def tmp_config(tmp_path: Path) -> Config:
    return build_config(tmp_path / "data")


@pytest.fixture
async def services(tmp_config: Config, manual_clock: ManualClock) -> AsyncIterator[Services]:
    from postoffice import app

    s = await app.open_services(tmp_config, clock=manual_clock)
    try:
        yield s
    finally:
        await s.close()
