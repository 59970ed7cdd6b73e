"""SQLite backend (the default, embedded): ``await SQLiteStore.open(path)``.

Owns the schema (``migrations/NNNN_*.sql``, applied in order, ``PRAGMA user_version``
= last applied), the single writer thread with group commit and the reader threads
(``engine.py``), and the Store methods (``store.py``). Imported only by ``app.py`` and tests.
"""

from __future__ import annotations

from postoffice.store.sqlite.engine import LATEST_VERSION, Database
from postoffice.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore", "Database", "LATEST_VERSION"]
