"""State every server process on one data directory must see alike: the SharedState role.

Owns the :class:`SharedState` protocol and :class:`LocalSharedState`, its in-process
implementation (one process alone, and unit tests). The SQLite implementation for
several processes on one data directory is ``store.sqlite.shared``.

What lives here is ephemeral: it may be lost in a crash without losing mail, so a
backend never waits for an fsync to keep it.

- Leases: counted slots under a key ("conn:imap:192.0.2.1", "imap-user:7"), at most a
  limit per key. Connection limits per client address and sessions per user are leases,
  so connections to one process count toward the limit of every other.
- Failure records: times of failed logins per key (a client address), for the failure
  delay of ``mail.auth``; a failure in one process lengthens the delay in every other.
- Generations: counters a process bumps after a change that others cache
  (``"directory"``: users, aliases, domains, mailboxes), so their caches are dropped.

Invariants:
- A lease of a process that crashed does not count for ever: a backend shared by
  processes gives each lease an expiry that its owner renews while it lives, and may
  drop the leases of an owner process that no longer exists.
- ``acquire`` checks the count and takes the slot atomically: two processes never both
  take the last slot.
- ``generation`` answers without waiting on another process (it is read per lookup).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Lease", "SharedState", "LocalSharedState", "LEASE_TTL"]

LEASE_TTL = 60.0  # seconds a lease outlives its owner's last renewal (a crashed process)


@dataclass(frozen=True, slots=True)
class Lease:
    """One slot taken under ``key``; give it back with :meth:`SharedState.release`."""

    key: str
    id: int


class SharedState(Protocol):
    async def acquire(self, key: str, limit: int) -> Lease | None:
        """Take a slot of ``key`` if fewer than ``limit`` are held (``limit`` 0: no limit)."""

    async def release(self, lease: Lease) -> None:
        """Give a slot back (idempotent)."""

    async def count(self, key: str) -> int:
        """Slots of ``key`` held now, by every process."""

    async def record_failure(self, key: str, at: float, window: float) -> int:
        """Record a failure of ``key`` at wall-clock time ``at``; returns how many earlier
        failures of ``key`` fall within ``window`` seconds before it (older ones are dropped)."""

    async def recent_failures(self, key: str, since: float) -> int:
        """Failures of ``key`` recorded after wall-clock time ``since``."""

    async def clear_failures(self, key: str) -> None:
        """Forget the failures of ``key`` (a successful login)."""

    async def bump(self, name: str) -> int:
        """Increase the generation ``name``; returns the new value."""

    def generation(self, name: str) -> int:
        """The current generation ``name`` (0 if never bumped); never waits on a lock."""

    async def close(self) -> None:
        """Give back every lease of this process and close."""


class LocalSharedState:
    """SharedState of one process: plain dictionaries, nothing to renew or expire."""

    def __init__(self, *, max_failure_keys: int = 100_000) -> None:
        self._ids = itertools.count(1)
        self._leases: dict[str, set[int]] = {}
        self._failures: dict[str, list[float]] = {}
        self._generations: dict[str, int] = {}
        self._max_failure_keys = max_failure_keys

    async def acquire(self, key: str, limit: int) -> Lease | None:
        held = self._leases.setdefault(key, set())
        if limit and len(held) >= limit:
            return None
        lease = Lease(key, next(self._ids))
        held.add(lease.id)
        return lease

    async def release(self, lease: Lease) -> None:
        held = self._leases.get(lease.key)
        if held is not None:
            held.discard(lease.id)
            if not held:
                del self._leases[lease.key]

    async def count(self, key: str) -> int:
        return len(self._leases.get(key, ()))

    async def record_failure(self, key: str, at: float, window: float) -> int:
        times = [t for t in self._failures.pop(key, []) if t > at - window]
        earlier = len(times)
        times.append(at)
        self._failures[key] = times  # re-inserted last: the oldest keys go first below
        while len(self._failures) > self._max_failure_keys:
            del self._failures[next(iter(self._failures))]
        return earlier

    async def recent_failures(self, key: str, since: float) -> int:
        return sum(1 for t in self._failures.get(key, ()) if t > since)

    async def clear_failures(self, key: str) -> None:
        self._failures.pop(key, None)

    async def bump(self, name: str) -> int:
        value = self._generations.get(name, 0) + 1
        self._generations[name] = value
        return value

    def generation(self, name: str) -> int:
        return self._generations.get(name, 0)

    async def close(self) -> None:
        self._leases.clear()
