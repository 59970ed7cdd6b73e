"""Persistence behind narrow Protocols (``store.api``).

Invariants: nothing returned as committed is lost (fsync before return); UIDs only
grow and are never reused within a UIDVALIDITY; every change bumps the mailbox's
HIGHESTMODSEQ; expunges are logged with their MODSEQ. Concrete backends
(``store.sqlite``, ``store.memory``) are imported only by ``app.py`` and tests.

The exception is ``store.shared``: ephemeral state every process on a data dir shares
(connection and session leases, failed-login records, cache generations), kept without
fsync (``store.sqlite.shared``, its own database file) because losing it loses no mail.
"""
