"""The maildrop of one POP3 session: the INBOX as it was when TRANSACTION began.

Owns message numbering (RFC 1939 §5: 1..n, fixed for the session), the deletion marks
of the session, and the unique-id listing (UIDL).

Invariants:
- The list is read once, when the session enters TRANSACTION; mail arriving later
  appears in the next session, and numbers never shift within a session.
- Marks live only in this object: a new session starts with nothing marked, and a
  session that ends without QUIT throws them away (RFC 1939 §6).
- UIDL is ``"<uidvalidity>.<uid>"`` in decimal: 3 to 21 characters in 0x21-0x7E (RFC 1939
  §7: 1-70), unique in the maildrop, stable across sessions and restarts, never reused
  (UIDs are never reused within one UIDVALIDITY, RFC 9051 §2.3.1.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from postoffice.store.api import Content, Mailbox, MessageRecord
from postoffice.wire.pop3 import ERR_MESSAGE_DELETED, ERR_NO_SUCH_MESSAGE

from .errors import Refusal

__all__ = ["Maildrop", "unique_id", "CONTENT_BATCH"]

CONTENT_BATCH = 64


def unique_id(uidvalidity: int, uid: int) -> str:
    """RFC 1939 §7 unique-id of a message, derived from (UIDVALIDITY, UID)."""
    return f"{uidvalidity}.{uid}"


@dataclass
class Maildrop:
    mailbox: Mailbox
    messages: tuple[MessageRecord, ...]
    deleted: set[int] = field(default_factory=set)  # message numbers marked by DELE
    # Contents read ahead for RETR / TOP: the next CONTENT_BATCH messages' in one store
    # read (clients download in order), only the current batch kept.
    contents: dict[int, Content] = field(default_factory=dict)

    def get(self, number: int) -> MessageRecord:
        """The message ``number`` (1-based); Refusal if absent or marked deleted (RFC 1939 §5)."""
        if not 1 <= number <= len(self.messages):
            raise Refusal(ERR_NO_SUCH_MESSAGE)
        if number in self.deleted:
            raise Refusal(ERR_MESSAGE_DELETED)
        return self.messages[number - 1]

    def batch_after(self, number: int) -> list[int]:
        """Content ids of message ``number`` and the ones after it, up to CONTENT_BATCH."""
        return sorted({m.content_id for m in self.messages[number - 1 : number - 1 + CONTENT_BATCH]})

    def live(self) -> Iterator[tuple[int, MessageRecord]]:
        """(number, record) of every message not marked deleted, in order."""
        for number, record in enumerate(self.messages, 1):
            if number not in self.deleted:
                yield number, record

    def stat(self) -> tuple[int, int]:
        """(count, octets) of the messages not marked deleted (RFC 1939 §5 STAT)."""
        count = size = 0
        for _, record in self.live():
            count += 1
            size += record.size
        return count, size

    def unique_id(self, record: MessageRecord) -> str:
        return unique_id(self.mailbox.uidvalidity, record.uid)

    def marked_uids(self) -> list[int]:
        return [self.messages[n - 1].uid for n in sorted(self.deleted)]
