"""The rules of message submission shared by every road a user sends mail by: SMTP
submission (RFC 6409, ``protocols/smtp``) and the webmail's compose form (``web/``).

Owns the per-user checks on the sender address and the ``[limits.smtp]`` submission
limits, and the split of recipients into local ones (delivered at once) and remote
ones (the outbound queue, ``mail/outbound.py``). Each road turns a refusal into its
own answer (an SMTP reply, an error page); the rules are the same.

Invariants:
- A user sends only as one of their own addresses (the account's address or an alias
  that resolves to it): RFC 6409 §6.1 lets the submission server enforce this.
- ``max_messages_per_hour`` counts, in the store (every process sees it), the messages
  accepted from the user in the last 3600 s, on any road; :func:`count_submission` is
  called only once a message is durable. 0 turns a limit off.
"""

from __future__ import annotations

from collections.abc import Sequence

from postoffice.mail.service import MailService
from postoffice.store.api import Account

__all__ = [
    "count_submission",
    "is_local_address",
    "max_recipients_per_message",
    "may_send_as",
    "rate_limit_reached",
    "split_recipients",
]


async def may_send_as(mail: MailService, account: Account, address: str) -> bool:
    """Whether ``account`` may use ``address`` as its sender (RFC 6409 §6.1)."""
    if address.lower() == account.address.lower():
        return True  # its own address (the usual case): no read of every alias per message
    owned = {a.lower() for a in await mail.addresses_of(account)}
    return address.lower() in owned


async def rate_limit_reached(mail: MailService, account: Account) -> int | None:
    """``[limits.smtp] max_messages_per_hour`` when ``account`` has used it up, else None."""
    limit = mail.config.limits.smtp.max_messages_per_hour
    if limit and await mail.submissions_last_hour(account) >= limit:
        return limit
    return None


def max_recipients_per_message(mail: MailService) -> int:
    """Recipients one submitted message may have (``[limits.smtp]``); 0: no limit."""
    return mail.config.limits.smtp.max_recipients_per_message


async def count_submission(mail: MailService, account: Account) -> None:
    """Count one message of ``account``, now durable, against the hourly limit."""
    if mail.config.limits.smtp.max_messages_per_hour:
        await mail.record_submission(account)


async def is_local_address(mail: MailService, address: str) -> bool:
    """Whether ``address`` is in one of this server's domains (delivered here)."""
    return await mail.is_local_domain(address.rsplit("@", 1)[-1])


async def split_recipients(mail: MailService, addresses: Sequence[str]) -> tuple[list[str], list[str]]:
    """(local, remote) addresses, each in the order given."""
    local: list[str] = []
    remote: list[str] = []
    for address in addresses:
        (local if await is_local_address(mail, address) else remote).append(address)
    return local, remote
