"""The metadata role of the store: IMAP METADATA annotations (RFC 5464).

Annotations of the server (``mailbox_id`` None, kept per account: there are no shared
server entries between accounts) and of each mailbox. Entry names arrive validated and
lower-cased (``wire/imap``); values are octets. Invariants: a mailbox's annotations go
with the mailbox, an account's with the account; a change of several entries is one
transaction, and is refused whole when it would leave more than ``max_entries``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

__all__ = ["MetadataStore"]


@runtime_checkable
class MetadataStore(Protocol):
    async def get_metadata(self, account_id: int, mailbox_id: int | None) -> dict[str, bytes]: ...
    # ^ every entry of the server (None) or of one mailbox
    async def set_metadata(
        self, account_id: int, mailbox_id: int | None, changes: Mapping[str, bytes | None], max_entries: int
    ) -> bool: ...
    # ^ None removes an entry; False (nothing changed) when more than ``max_entries``
    #   entries would remain; MailError(NOT_FOUND) for a mailbox that is gone
