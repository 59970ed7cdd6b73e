"""Object identifiers of mailboxes and messages (RFC 8474), for every protocol.

- A mailbox's id stays the same across renames and is never given to another mailbox
  (RFC 8474 §4): the store's mailbox row id with its UIDVALIDITY, both never reused
  for another mailbox.
- A message's id (EMAILID) names its content: copies of the same message, in any
  mailbox of the account, have the same id (RFC 8474 §5.1), and it never changes.
  It is the SHA-256 of the stored octets, shortened to 128 bits.

Ids use only the characters RFC 8474 §3 allows (``objectid = 1*255(ALPHA / DIGIT /
"_" / "-")``) and start with a letter telling what they name.
"""

from __future__ import annotations

from postoffice.store.api import Content, Mailbox

__all__ = ["mailbox_id", "email_id"]


def mailbox_id(mailbox: Mailbox) -> str:
    return f"F{mailbox.id}-{mailbox.uidvalidity}"


def email_id(content: Content) -> str:
    return "M" + content.sha256[:32]
