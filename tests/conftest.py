"""Shared fixtures for every test folder, and the transcript collector.

- ``manual_clock``: a fresh ManualClock.
- ``tmp_config``: a Config with its data dir in tmp_path, domain example.test, no listeners.
- ``services``: ``app.open_services(tmp_config, clock=manual_clock)``, closed afterwards.
- every ``tests/transcripts/<protocol>/*.t`` file is one test item (postoffice.testing).
- ``no_password_in_logs`` (session-wide, automatic): every log record of the whole run,
  at INFO and above, is checked as it is emitted for the distinctive test passwords; the
  run fails at its end if one was ever logged.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
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


# Distinctive passwords the tests use ("password" itself is a word log lines may hold).
TEST_PASSWORDS = (
    "secret-password", "listener-secret", "correct horse", "browser-secret", "secret-pw",
    "ops-right-pw-4d2", "ops-wrong-pw-9c1", "media-pw-1",
)  # fmt: skip


class _PasswordWatch(logging.Handler):
    """Checks each record's message and fields as emitted; keeps only offending lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.getMessage()} {getattr(record, 'fields', '')}"
        if any(p in text for p in TEST_PASSWORDS):
            self.leaks.append(f"{record.name}: {text}")


@pytest.fixture(scope="session", autouse=True)
def no_password_in_logs() -> Iterator[None]:
    watch = _PasswordWatch()
    root = logging.getLogger()
    level = root.level
    root.addHandler(watch)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    yield
    root.removeHandler(watch)
    root.setLevel(level)
    assert not watch.leaks, f"test passwords were logged: {watch.leaks[:5]}"
