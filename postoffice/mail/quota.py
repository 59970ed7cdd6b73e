"""Account quotas (RFC 9208): what an account may hold, what it holds, and the check.

One quota root per account, named ``""`` (RFC 9208 §3.3 lets the server choose), with
two resources: STORAGE, the sum of the sizes of the account's messages (each copy
counted, RFC 9208 §5.1), and MESSAGE, the number of its messages (§5.2). The limit of
STORAGE is the account's own (``postoffice user quota``) or ``[quota] default_storage``;
MESSAGE has ``[quota] default_messages``; 0 means no limit.

Invariants: usage is read from the mailbox counters the store keeps in the transaction
of every change, never by summing messages. The check runs before the insert, so the
limit is soft by at most what concurrent deliveries to the same account add in the
same instant (no lock spans the ingestion of a message).
"""

from __future__ import annotations

from dataclasses import dataclass

from postoffice.errors import Kind, MailError

__all__ = ["QuotaUsage", "ROOT"]

ROOT = ""  # the one quota root of an account (RFC 9208 §3.3)


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    storage: int  # octets of every message of the account
    messages: int
    storage_limit: int  # octets; 0: no limit
    message_limit: int  # 0: no limit

    @property
    def limited(self) -> bool:
        """True when some resource has a limit (the account has a quota root)."""
        return bool(self.storage_limit or self.message_limit)

    @property
    def full(self) -> bool:
        """No further message fits, whatever its size (SMTP answers 452 4.2.2 at RCPT)."""
        return bool(
            (self.storage_limit and self.storage >= self.storage_limit)
            or (self.message_limit and self.messages >= self.message_limit)
        )

    def check(self, octets: int, messages: int = 1) -> None:
        """MailError(QUOTA) unless ``messages`` more messages of ``octets`` in all fit."""
        if self.storage_limit and self.storage + octets > self.storage_limit:
            raise MailError(Kind.QUOTA, "over the storage quota")
        if self.message_limit and self.messages + messages > self.message_limit:
            raise MailError(Kind.QUOTA, "over the message quota")
