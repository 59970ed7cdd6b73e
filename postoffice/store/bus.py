"""ChangeBus for one machine: in-process, the main's hub, and a worker process's bus.

Owns: ``InProcessChangeBus`` (one process, many sessions: IMAP IDLE, POP3, webmail);
``HubChangeBus`` (the main process of ``serve``: its own subscribers, and every change
sent on to each worker process: docs/architecture.md §7); ``ForwardingChangeBus`` (a
worker process of ``serve``: publishes locally and hands every change it publishes to
a callable that sends it to the main, which publishes it on the hub; changes from the
others arrive through ``receive``); ``encode_change`` / ``decode_change``, the one-line
wire form of a Change between processes.

Exactly once, whichever process publishes: a worker's change goes to its own
subscribers and to the main; the main publishes it to its own subscribers and sends it
to every worker but the one it came from (``HubChangeBus.publish_from``); a worker
publishes what it receives to its own subscribers only, never forwarding it again. A
change published in the main goes to its subscribers and to every worker.

Invariants: ``publish`` is called only after the change committed; every live
subscription of the account receives every change in publish order; a closed
subscription receives nothing more and is dropped from the bus. ``publish`` may be
called from another thread: the change is then handed to the subscriber's loop.
A forwarding bus forwards every change it publishes, in publish order; a failure to
forward is logged, never raised into the committed operation that published it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable

from postoffice.store.api import Change

__all__ = [
    "InProcessChangeBus",
    "InProcessSubscription",
    "HubChangeBus",
    "ForwardingChangeBus",
    "encode_change",
    "decode_change",
]

log = logging.getLogger(__name__)

_KINDS = frozenset({"append", "flags", "expunge", "mailbox", "metadata"})


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


def encode_change(change: Change) -> bytes:
    """One line (no line end inside) that ``decode_change`` turns back into ``change``."""
    return json.dumps(
        [change.account_id, change.mailbox_id, change.kind, change.modseq, list(change.uids)], separators=(",", ":")
    ).encode("ascii")


def decode_change(line: bytes) -> Change:
    """The Change of ``encode_change``; raises ValueError on anything else."""
    try:
        fields = json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not an encoded change: {line[:80]!r}") from exc
    if not isinstance(fields, list) or len(fields) != 5 or not isinstance(fields[4], list):
        raise ValueError(f"not an encoded change: {line[:80]!r}")
    account_id, mailbox_id, kind, modseq, uids = fields
    ints = [account_id, modseq, *uids] + ([] if mailbox_id is None else [mailbox_id])
    if kind not in _KINDS or not all(isinstance(i, int) and not isinstance(i, bool) for i in ints):
        raise ValueError(f"not an encoded change: {line[:80]!r}")
    return Change(account_id, mailbox_id, kind, modseq, tuple(uids), origin=None)  # nobody's own here


class HubChangeBus:
    """The main process's bus: its own subscribers, and each change sent to every peer.

    A peer is a worker process; ``send`` (given to ``attach``) takes one encoded line
    (``encode_change`` plus a line end), must be thread-safe and must not block (the
    worker pool queues it on the pipe to the worker)."""

    def __init__(self, local: InProcessChangeBus | None = None) -> None:
        self.local = local if local is not None else InProcessChangeBus()
        self._peers: dict[int, Callable[[bytes], None]] = {}
        self._lock = threading.Lock()
        self.failed = 0

    def attach(self, peer: int, send: Callable[[bytes], None]) -> None:
        with self._lock:
            self._peers[peer] = send

    def detach(self, peer: int) -> None:
        with self._lock:
            self._peers.pop(peer, None)

    def subscribe(self, account_id: int) -> InProcessSubscription:
        return self.local.subscribe(account_id)

    def publish(self, change: Change) -> None:
        self.publish_from(None, change)

    def publish_from(self, origin: int | None, change: Change) -> None:
        """Publish a change that peer ``origin`` (None: this process) published already."""
        self.local.publish(change)
        with self._lock:
            peers = [send for peer, send in self._peers.items() if peer != origin]
        if not peers:
            return
        line = encode_change(change) + b"\n"
        for send in peers:
            try:
                send(line)
            except Exception:
                # The change committed; a lost notification only delays an IDLE client
                # of that process until its next command.
                self.failed += 1
                log.warning("could not send a change to a worker process", exc_info=True)


class ForwardingChangeBus:
    """A worker's bus: local subscribers as in-process, and every change also ``forward``ed.

    ``forward`` must be thread-safe and must not block for long (a pipe to the main
    process that the main drains at once).
    """

    def __init__(self, forward: Callable[[Change], None], local: InProcessChangeBus | None = None) -> None:
        self.local = local if local is not None else InProcessChangeBus()
        self._forward = forward
        self.failed = 0

    def subscribe(self, account_id: int) -> InProcessSubscription:
        return self.local.subscribe(account_id)

    def receive(self, change: Change) -> None:
        """A change another process published (through the main): local subscribers only."""
        self.local.publish(change)

    def publish(self, change: Change) -> None:
        self.local.publish(change)
        try:
            self._forward(change)
        except Exception:
            # The change committed; a lost notification only delays an IDLE client
            # until its next command, so never fail the operation for it.
            self.failed += 1
            log.warning("could not forward a change to the main process", exc_info=True)
