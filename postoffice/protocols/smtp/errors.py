"""The one place where SMTP failures become replies (docs/architecture.md §8).

Owns :func:`reply_for` (a protocol-neutral :class:`MailError` -> an SMTP reply) and
:class:`SessionEnd` (a handler asks the server to answer, then close the connection).
"""

from __future__ import annotations

from postoffice.errors import Kind, MailError
from postoffice.wire.smtp import (
    R451_LOCAL_ERROR,
    R452_TOO_MANY_RECIPIENTS,
    R501_SYNTAX,
    R535_AUTH_FAILED,
    R538_ENCRYPTION_REQUIRED,
    R550_NO_SUCH_USER,
    R552_EXCEEDED_STORAGE,
    R552_TOO_BIG,
    R554_TRANSACTION_FAILED,
    Reply,
)

__all__ = ["reply_for", "SessionEnd"]

_BY_KIND: dict[Kind, Reply] = {
    Kind.TOO_BIG: R552_TOO_BIG,  # RFC 1870 §6
    Kind.QUOTA: R552_EXCEEDED_STORAGE,  # RFC 3463 X.2.2 mailbox full
    Kind.NOT_FOUND: R550_NO_SUCH_USER,
    Kind.AUTH_FAILED: R535_AUTH_FAILED,
    Kind.ENCRYPTION_REQUIRED: R538_ENCRYPTION_REQUIRED,
    Kind.INVALID: R501_SYNTAX,
    Kind.LIMIT: R452_TOO_MANY_RECIPIENTS,
    Kind.MALFORMED: R554_TRANSACTION_FAILED,
}


def reply_for(error: MailError) -> Reply:
    """The reply for a MailError; anything unexpected is a temporary local error (451)."""
    return _BY_KIND.get(error.kind, R451_LOCAL_ERROR)


class SessionEnd(Exception):
    """Answer ``reply`` and close the connection (421 limits, QUIT)."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply
