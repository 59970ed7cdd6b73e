"""In-process ChangeBus: one process, many sessions (IMAP IDLE, POP3, webmail).

Invariants: ``publish`` is called only after the change committed; every live
subscription of the account receives every change in publish order; a closed
subscription receives nothing more and is dropped from the bus. ``publish`` may be
called from another thread: the change is then handed to the subscriber's loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

from postoffice.store.api import Change

__all__ = ["InProcessChangeBus", "InProcessSubscription"]


class InProcessSubscription:
    """Changes of one account, queued without bound until read."""

    def __init__(self, bus: InProcessChangeBus, account_id: int) -> None:
        self.account_id = account_id
        self.queue: asyncio.Queue[Change] = asyncio.Queue()
        self.closed = False
        self._bus = bus
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def deliver(self, change: Change) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is None or running is self._loop:
            self.queue.put_nowait(change)
        else:
            try:
                self._loop.call_soon_threadsafe(self.queue.put_nowait, change)
            except RuntimeError:  # the subscriber's loop is closed
                self.close()

    def __aiter__(self) -> AsyncIterator[Change]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Change]:
        while not self.closed:
            yield await self.queue.get()

    async def get(self) -> Change:
        return await self.queue.get()

    def pending(self) -> list[Change]:
        out: list[Change] = []
        while True:
            try:
                out.append(self.queue.get_nowait())
            except asyncio.QueueEmpty:
                return out

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus.drop(self)


class InProcessChangeBus:
    def __init__(self) -> None:
        self._subs: dict[int, list[InProcessSubscription]] = {}
        self._lock = threading.Lock()

    def subscribe(self, account_id: int) -> InProcessSubscription:
        sub = InProcessSubscription(self, account_id)
        with self._lock:
            self._subs.setdefault(account_id, []).append(sub)
        return sub

    def publish(self, change: Change) -> None:
        with self._lock:
            subs = [s for s in self._subs.get(change.account_id, ()) if not s.closed]
        for sub in subs:
            sub.deliver(change)

    def drop(self, sub: InProcessSubscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.account_id)
            if subs is None:
                return
            subs[:] = [s for s in subs if s is not sub and not s.closed]
            if not subs:
                del self._subs[sub.account_id]

    def subscriber_count(self, account_id: int) -> int:
        with self._lock:
            return len(self._subs.get(account_id, ()))
