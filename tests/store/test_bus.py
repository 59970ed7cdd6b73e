"""InProcessChangeBus: per-account delivery, order, closing, other threads."""

from __future__ import annotations

import asyncio
import threading

from postoffice.store.api import Change
from postoffice.store.bus import InProcessChangeBus


async def test_changes_reach_every_subscriber_of_the_account_in_order() -> None:
    bus = InProcessChangeBus()
    a1, a2, b = bus.subscribe(1), bus.subscribe(1), bus.subscribe(2)
    changes = [Change(1, 10, "append", 5, (1,)), Change(1, 10, "flags", 6, (1,)), Change(2, None, "mailbox")]
    for c in changes:
        bus.publish(c)
    assert a1.pending() == changes[:2]
    assert await a2.get() == changes[0]
    assert a2.pending() == changes[1:2]
    assert await asyncio.wait_for(b.get(), 5) == changes[2]
    assert a1.pending() == []


async def test_closed_subscriptions_are_dropped() -> None:
    bus = InProcessChangeBus()
    sub = bus.subscribe(1)
    keep = bus.subscribe(1)
    sub.close()
    bus.publish(Change(1, 1, "expunge", 3, (2,)))
    assert sub.pending() == [] and len(keep.pending()) == 1
    assert bus.subscriber_count(1) == 1
    keep.close()
    assert bus.subscriber_count(1) == 0


async def test_async_iteration_and_publish_from_a_thread() -> None:
    bus = InProcessChangeBus()
    sub = bus.subscribe(7)
    t = threading.Thread(target=lambda: [bus.publish(Change(7, 1, "append", n)) for n in range(3)])
    t.start()
    got = []
    async for change in sub:
        got.append(change.modseq)
        if len(got) == 3:
            break
    t.join()
    assert got == [0, 1, 2]
