"""Protocol-neutral errors.

Deep layers (``mail/``, ``store/``) raise :class:`MailError` with a :class:`Kind`;
each protocol maps the kind to its own reply in exactly one place (IMAP NO with a
response code, SMTP 4xx/5xx, POP3 -ERR, HTTP status).
"""

from __future__ import annotations

import enum

__all__ = ["Kind", "MailError"]


class Kind(enum.Enum):
    NOT_FOUND = "not-found"  # no such mailbox, message, account
    EXISTS = "exists"  # mailbox/account/alias already exists
    INVALID = "invalid"  # malformed name, address, argument
    QUOTA = "quota"  # over quota / too big
    TOO_BIG = "too-big"  # message larger than the configured maximum
    AUTH_FAILED = "auth-failed"  # wrong credentials
    AUTH_REQUIRED = "auth-required"
    ENCRYPTION_REQUIRED = "encryption-required"  # plain-text password without TLS
    PERMISSION = "permission"  # operation not allowed (e.g. delete INBOX)
    IN_USE = "in-use"  # maildrop locked by another session
    CONFLICT = "conflict"  # concurrent modification (UNCHANGEDSINCE, etc.)
    LIMIT = "limit"  # a configured limit was reached
    UNAVAILABLE = "unavailable"  # temporary failure: try again later
    HAS_CHILDREN = "has-children"  # mailbox cannot be deleted because of children
    MALFORMED = "malformed"  # message data cannot be parsed at all


class MailError(Exception):
    """A failure every protocol knows how to report."""

    def __init__(self, kind: Kind, text: str = "") -> None:
        super().__init__(text or kind.value)
        self.kind = kind
        self.text = text or kind.value

    def __repr__(self) -> str:
        return f"MailError({self.kind.name}, {self.text!r})"
