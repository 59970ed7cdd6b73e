"""The one place where IMAP failures become tagged NO/BAD responses.

Handlers raise: :class:`MailError` (from ``mail/``), :class:`ImapSyntaxError` (from the
wire layer or from argument checks) or :class:`Refusal` (a protocol-level NO/BAD with
a response code). :func:`failure_response` maps each of them to bytes; nothing else in
this package turns an exception into a response. Codes, not text, are the contract.

Anything else a handler raises is a bug: :func:`unexpected_response` logs it once with
its traceback and answers ``NO [SERVERBUG]`` (RFC 5530 §3), and the session goes on.
Cancellation (``asyncio.CancelledError``) and ``KeyboardInterrupt``/``SystemExit`` are
``BaseException``s and are never caught here.
"""

from __future__ import annotations

import logging

from postoffice.errors import Kind, MailError
from postoffice.wire.imap import response as r
from postoffice.wire.imap.errors import ImapSyntaxError

__all__ = ["Refusal", "SessionEnd", "failure_response", "unexpected_response", "MAIL_ERROR_REPLIES", "PRODUCED_CODES"]

log = logging.getLogger("postoffice.imap")


class Refusal(Exception):
    """A well-formed command the server refuses: ``tag NO [CODE] text`` (or BAD)."""

    def __init__(self, reply: r.Reply, text: str = "", *, args: str | None = None) -> None:
        super().__init__(text or reply.status.lower())
        self.reply = reply
        self.text = text
        self.args_text = args


class SessionEnd(Exception):
    """Raised by a handler to close the connection after its answer (LOGOUT, limits).

    ``args[0]``, if given, is the tagged answer (bytes) to write before closing."""


# RFC 9051 §7.1 response codes for each protocol-neutral failure.
MAIL_ERROR_REPLIES: dict[Kind, r.Reply] = {
    Kind.NOT_FOUND: r.NO_NONEXISTENT,
    Kind.EXISTS: r.NO_ALREADYEXISTS,
    Kind.INVALID: r.NO_CANNOT,
    Kind.QUOTA: r.NO_OVERQUOTA,
    Kind.TOO_BIG: r.NO_TOOBIG,
    Kind.AUTH_FAILED: r.NO_AUTHENTICATIONFAILED,
    Kind.AUTH_REQUIRED: r.NO_AUTHORIZATIONFAILED,
    Kind.ENCRYPTION_REQUIRED: r.NO_PRIVACYREQUIRED,
    Kind.PERMISSION: r.NO_NOPERM,
    Kind.IN_USE: r.NO_INUSE,
    Kind.CONFLICT: r.NO_MODIFIED,
    Kind.LIMIT: r.NO_LIMIT,
    Kind.UNAVAILABLE: r.NO_UNAVAILABLE,
    Kind.HAS_CHILDREN: r.NO_HASCHILDREN,
    Kind.MALFORMED: r.NO_PARSE,
}


def failure_response(tag: str, exc: BaseException, *, trycreate: bool = False) -> bytes:
    """The tagged response for a failed command.

    ``trycreate``: the command targets a mailbox that may be created (APPEND, COPY,
    MOVE), so a missing target is ``NO [TRYCREATE]`` (RFC 9051 §6.3.12, §6.4.7).
    """
    if isinstance(exc, Refusal):
        return exc.reply.tagged(tag, exc.text, args=exc.args_text)
    if isinstance(exc, MailError):
        if trycreate and exc.kind is Kind.NOT_FOUND:
            return r.NO_TRYCREATE.tagged(tag, exc.text)
        return MAIL_ERROR_REPLIES.get(exc.kind, r.NO_SERVERBUG).tagged(tag, exc.text)
    if isinstance(exc, ImapSyntaxError):
        return r.tagged(tag, exc.status, exc.text, exc.code)
    return unexpected_response(tag, exc)


def unexpected_response(tag: str, exc: BaseException, *, command: str = "") -> bytes:
    """``tag NO [SERVERBUG]`` for a failure no handler expected; logged once with its traceback."""
    log.error("imap: %s failed unexpectedly", command or "a command", exc_info=exc)
    return r.NO_SERVERBUG.tagged(tag, "internal server error")


# Response codes this server produces in answers a client can provoke (the transcript
# meta-test checks each appears in some transcript). Codes only reachable through
# store failures (INUSE, UNAVAILABLE, PARSE, SERVERBUG, AUTHORIZATIONFAILED)
# are mapped above but not listed here.
PRODUCED_CODES: dict[str, str] = {
    name: name.replace("_", "-")
    for name in (
        "ALREADYEXISTS", "NONEXISTENT", "CANNOT", "TOOBIG", "AUTHENTICATIONFAILED", "PRIVACYREQUIRED", "NOPERM",
        "MODIFIED", "HASCHILDREN", "TRYCREATE", "CLOSED", "READ_ONLY", "READ_WRITE", "UIDVALIDITY", "UIDNEXT",
        "PERMANENTFLAGS", "HIGHESTMODSEQ", "APPENDUID", "COPYUID", "CAPABILITY", "BADCHARSET", "UNSEEN", "LIMIT",
        "MAILBOXID", "USEATTR",  # RFC 8474 §4.1, RFC 6154 §3
        "OVERQUOTA",  # RFC 9208 (protocols/imap/quota.py)
        "METADATA",  # RFC 5464 (protocols/imap/metadata.py)
        "BADURL",  # RFC 4469 (protocols/imap/catenate.py)
        "BADEVENT", "NOTIFICATIONOVERFLOW",  # RFC 5465 (protocols/imap/notify.py)
        "NOUPDATE",  # RFC 5267 §4.3.1 (protocols/imap/search.py)
    )
}
