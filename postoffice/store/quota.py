"""The quota role of the store: per-account storage limits set by the administrator.

Only the override is stored; the default comes from the config (``[quota]``) and the
usage from the mailbox counters (``Mailbox.size``, ``Mailbox.messages``), which the
store keeps in the transactions that change them. ``mail/quota.py`` combines the three.
An account's override goes with the account.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["QuotaStore"]


@runtime_checkable
class QuotaStore(Protocol):
    async def get_storage_quota(self, account_id: int) -> int | None: ...  # octets, 0 no limit; None: the default
    async def set_storage_quota(self, account_id: int, storage: int | None) -> None: ...  # None: back to the default
    # ^ MailError(NOT_FOUND) for an unknown account
