"""The event-loop watchdog (net.watchdog): a stall over ``[server] stall_threshold`` is
recorded with the protocol command that caused it; a loop that keeps turning is not."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from postoffice.config import config_from_dict
from postoffice.net.watchdog import LoopWatchdog, note_command


async def _wait_for(condition: object, deadline: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition() and loop.time() < end:  # type: ignore[operator]  # noqa: ASYNC110 (a thread fills it)
        await asyncio.sleep(0.01)


async def test_a_blocking_command_is_recorded_with_its_name(caplog: pytest.LogCaptureFixture) -> None:
    watchdog = LoopWatchdog(asyncio.get_running_loop(), threshold=0.1)
    watchdog.start()
    try:
        await asyncio.sleep(0.05)  # let the monitor start pinging

        async def session() -> None:
            note_command("imap", "LIST")
            time.sleep(0.5)  # noqa: ASYNC251 (on purpose:) what a backtracking pattern did to the loop

        with caplog.at_level(logging.WARNING, logger="postoffice.watchdog"):
            await asyncio.create_task(session())
            await _wait_for(lambda: watchdog.stalls)
        assert watchdog.stalls, "the stall was not recorded"
        assert watchdog.stalls[0].command == "imap LIST"
        assert watchdog.stalls[0].seconds > 0.1
        assert "imap LIST" in caplog.text
    finally:
        watchdog.stop()


async def test_a_turning_loop_records_nothing() -> None:
    watchdog = LoopWatchdog(asyncio.get_running_loop(), threshold=0.25)
    watchdog.start()
    try:
        for _ in range(20):
            time.sleep(0.01)  # noqa: ASYNC251 short steps, well under the threshold
            await asyncio.sleep(0.01)
        assert watchdog.stalls == []
    finally:
        watchdog.stop()


def test_stall_threshold_is_configured() -> None:
    assert config_from_dict({}).server.stall_threshold == 0.25
    assert config_from_dict({"server": {"stall_threshold": "1s"}}).server.stall_threshold == 1.0
    assert config_from_dict({"server": {"stall_threshold": 0}}).server.stall_threshold == 0
