"""Pacing media to a viewer: one budget per (viewer, part), shared by all of the
browser's parallel requests for it (a browser opens several; pacing each on its own
saves little).

A budget is a token bucket in octets: it starts full with ``burst`` octets (a few seconds
of media) and refills at ``rate`` octets a second (about twice the media's bitrate), never
above ``burst``. Taking more than is there makes the taker wait until the refill covers it;
later takers queue behind (the tokens go negative), so parallel requests share the rate.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

__all__ = ["Budget", "Pacer"]


class Budget:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.stamp = clock()

    def take(self, n: int) -> float:
        """Take ``n`` octets; the seconds to wait before sending them."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= n
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class Pacer:
    """The budgets of the viewers, the least recently used forgotten beyond ``max_budgets``."""

    def __init__(self, max_budgets: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_budgets = max_budgets
        self.clock = clock
        self._budgets: OrderedDict[Hashable, Budget] = OrderedDict()

    def budget(self, key: Hashable, rate: float, burst: float) -> Budget:
        found = self._budgets.get(key)
        if found is None or found.rate != rate:
            found = Budget(rate, burst, self.clock)
            self._budgets[key] = found
            while len(self._budgets) > self.max_budgets:
                self._budgets.popitem(last=False)
        self._budgets.move_to_end(key)
        return found
