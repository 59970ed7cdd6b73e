"""Event-loop stall watchdog: every listener shares one loop, so one command that
keeps the loop busy stalls every session of every protocol.

Owns :class:`LoopWatchdog` (a monitor thread that pings the loop and records every
stall longer than ``[server] stall_threshold``, default 250 ms, with the protocol
command that was running) and :func:`note_command`, which a protocol calls when it
starts a command, so a stall is logged with the command that caused it.

Invariants:
- The monitor never touches the loop's state: it only schedules a callback with
  ``call_soon_threadsafe`` and reads which task is running (``asyncio.current_task``).
- A command is described by its verb only (never its arguments: passwords travel in
  LOGIN, PASS and AUTH lines).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from dataclasses import dataclass

__all__ = ["LoopWatchdog", "Stall", "note_command", "command_of"]

log = logging.getLogger("postoffice.watchdog")

_commands: weakref.WeakKeyDictionary[asyncio.Task[object], str] = weakref.WeakKeyDictionary()


def note_command(protocol: str, verb: str) -> None:
    """Record that the running task now serves ``verb`` of ``protocol`` (e.g. "imap", "LIST")."""
    task = asyncio.current_task()
    if task is not None:
        _commands[task] = f"{protocol} {verb}"


def command_of(task: asyncio.Task[object] | None) -> str | None:
    """The command last noted by ``task`` (None: not a protocol session, or none yet)."""
    if task is None:
        return None
    return _commands.get(task)


@dataclass(frozen=True)
class Stall:
    """One stretch of time the loop ran no callback: ``seconds`` long, during ``command``."""

    seconds: float
    command: str | None


class LoopWatchdog:
    """Pings ``loop`` from a thread every ``threshold / 5``; a ping the loop answers
    more than ``threshold`` late is a stall, logged (warning) and kept in :attr:`stalls`.

    A stall is recorded by the ping's callback on the loop itself, so once the loop
    has run the callbacks queued before a point, every stall before it is recorded."""

    def __init__(self, loop: asyncio.AbstractEventLoop, threshold: float = 0.25) -> None:
        self.loop = loop
        self.threshold = threshold
        self.stalls: list[Stall] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._suspect: str | None = None  # the command seen running while a ping waited

    def start(self) -> None:
        if self._thread is None and self.threshold > 0:
            self._thread = threading.Thread(target=self._run, name="postoffice-watchdog", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5.0)

    def _current_command(self) -> str | None:
        try:
            task = asyncio.current_task(self.loop)
        except RuntimeError:
            return None
        return command_of(task)

    def _answer(self, sent: float, answered: threading.Event) -> None:
        """Runs on the loop."""
        lag = time.monotonic() - sent
        if lag > self.threshold:
            command = self._suspect or command_of(asyncio.current_task(self.loop))
            stall = Stall(lag, command)
            self.stalls.append(stall)
            log.warning("event loop stalled for %.0f ms during %s", lag * 1000, command or "no protocol command")
        self._suspect = None
        answered.set()

    def _run(self) -> None:
        interval = self.threshold / 5
        while not self._stop.wait(interval):
            answered = threading.Event()
            try:
                self.loop.call_soon_threadsafe(self._answer, time.monotonic(), answered)
            except RuntimeError:  # the loop is closed
                return
            if answered.wait(self.threshold):
                continue
            # The loop is stuck now: what it runs is what stalls it.
            command = self._current_command()
            if not answered.is_set():
                self._suspect = command
            while not answered.wait(interval):
                if self._stop.is_set() or self.loop.is_closed():
                    return
                if self._suspect is None:
                    self._suspect = self._current_command()
