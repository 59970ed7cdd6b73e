"""Failures of the POP3 server and the one place they become ``-ERR`` lines.

Owns :class:`Refusal` (a handler's protocol-level ``-ERR``), :class:`SessionEnd` (end
the connection after an optional last line) and :func:`failure_response`, the only
mapping from :class:`~postoffice.errors.MailError` kinds (and from unexpected
exceptions) to POP3 responses (docs/architecture.md §8: errors are mapped in one place).

Invariants:
- Every ``-ERR`` a handler causes comes from :func:`failure_response`; handlers raise.
- A failure never leaves the session: only :class:`SessionEnd` ends it.
"""

from __future__ import annotations

import logging

from postoffice.errors import Kind, MailError
from postoffice.wire.pop3 import (
    ERR_AUTH,
    ERR_AUTH_CANCELLED,
    ERR_ENCRYPTION_REQUIRED,
    ERR_IN_USE,
    ERR_NO_SUCH_MESSAGE,
    ERR_SYNTAX,
    ERR_SYS_PERM,
    ERR_SYS_TEMP,
    POP3SyntaxError,
    Response,
)

__all__ = ["Refusal", "SessionEnd", "failure_response"]

log = logging.getLogger("postoffice.pop3")


class Refusal(Exception):
    """A handler refuses the command with ``response`` (an ``-ERR`` constant)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.text)
        self.response = response


class SessionEnd(Exception):
    """End the session: write ``response`` (if any), flush, close. No UPDATE happens."""

    def __init__(self, response: Response | None = None) -> None:
        super().__init__(response.text if response else "session end")
        self.response = response


# RFC 2449 §8 / RFC 3206: [IN-USE], [AUTH], [SYS/TEMP], [SYS/PERM].
_BY_KIND: dict[Kind, Response] = {
    Kind.AUTH_FAILED: ERR_AUTH,
    Kind.AUTH_REQUIRED: ERR_AUTH,
    Kind.ENCRYPTION_REQUIRED: ERR_ENCRYPTION_REQUIRED,
    Kind.IN_USE: ERR_IN_USE,
    Kind.NOT_FOUND: ERR_NO_SUCH_MESSAGE,
    Kind.INVALID: ERR_SYNTAX,
    Kind.UNAVAILABLE: ERR_SYS_TEMP,
    Kind.LIMIT: ERR_SYS_TEMP,
    Kind.CONFLICT: ERR_SYS_TEMP,
    Kind.QUOTA: ERR_SYS_PERM,
    Kind.TOO_BIG: ERR_SYS_PERM,
    Kind.PERMISSION: ERR_SYS_PERM,
    Kind.MALFORMED: ERR_SYS_PERM,
    Kind.EXISTS: ERR_SYS_PERM,
    Kind.HAS_CHILDREN: ERR_SYS_PERM,
}


def failure_response(error: BaseException, *, during_auth: bool = False) -> Response:
    """The ``-ERR`` for a failure raised by a handler.

    ``during_auth``: the failure came out of a SASL exchange, where MailError(INVALID)
    means the client cancelled with "*" or sent a line that is not base64 (RFC 5034 §4).
    """
    if isinstance(error, Refusal):
        return error.response
    if isinstance(error, POP3SyntaxError):
        return error.response
    if isinstance(error, MailError):
        if during_auth and error.kind is Kind.INVALID:
            return ERR_AUTH_CANCELLED
        return _BY_KIND.get(error.kind, ERR_SYS_TEMP)
    log.error("pop3: unexpected failure", exc_info=error)
    return ERR_SYS_TEMP  # RFC 3206 §4: a temporary problem, the client may retry
