"""SMTP replies: the :class:`Reply` value, its wire form, and every reply the server sends.

Owns: reply formatting (RFC 5321 §4.2, single and multi-line), enhanced status codes
(RFC 3463, announced as ENHANCEDSTATUSCODES by RFC 2034), the EHLO reply builder, and
:class:`SMTPSyntaxError`, the one exception the SMTP parsers raise.

Invariants:
- A constant's name carries its reply code: ``R550_NO_SUCH_USER.code == 550``.
- Wire form never contains a bare CR or LF inside a line: ``\\n`` in ``text`` splits
  lines, CR characters are dropped; every line ends in CRLF.
- RFC 2034 §3: the enhanced code prefixes every line of a reply, except in the greeting
  (220), the reply to HELO/EHLO, and the intermediate replies 334 (its text is base64,
  RFC 4954 §4) and 354. Those constants carry ``enhanced=None``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

__all__ = [
    "Reply",
    "SMTPSyntaxError",
    "UnknownCommand",
    "ehlo_reply",
    "ALL_REPLIES",
    # 2xx
    "R211_STATUS",
    "R214_HELP",
    "R220_READY",
    "R220_START_TLS",
    "R221_BYE",
    "R235_AUTH_OK",
    "R250_OK",
    "R250_SENDER_OK",
    "R250_RECIPIENT_OK",
    "R250_QUEUED",
    "R250_RESET",
    "R250_CHUNK_OK",
    "R251_WILL_FORWARD",
    "R252_CANNOT_VRFY",
    # 3xx
    "R334_AUTH_CHALLENGE",
    "R354_START_INPUT",
    # 4xx
    "R421_SHUTTING_DOWN",
    "R421_TIMEOUT",
    "R421_TOO_MANY_ERRORS",
    "R421_TOO_MANY_CONNECTIONS",
    "R421_TOO_MANY_COMMANDS",
    "R432_PASSWORD_TRANSITION",
    "R450_MAILBOX_UNAVAILABLE",
    "R450_RATE_LIMITED",
    "R451_LOCAL_ERROR",
    "R451_REMOTE_NOT_YET",
    "R451_TEMP_LOOKUP_FAILURE",
    "R452_TOO_MANY_RECIPIENTS",
    "R452_INSUFFICIENT_STORAGE",
    "R452_MAILBOX_FULL",
    "R454_TLS_NOT_AVAILABLE",
    "R454_AUTH_TEMP_FAILURE",
    "R455_PARAMS_UNAVAILABLE",
    # 5xx
    "R500_UNRECOGNISED",
    "R500_LINE_TOO_LONG",
    "R500_AUTH_LINE_TOO_LONG",
    "R501_SYNTAX",
    "R501_BAD_SENDER_SYNTAX",
    "R501_BAD_RECIPIENT_SYNTAX",
    "R501_PATH_TOO_LONG",
    "R501_AUTH_CANCELLED",
    "R501_BAD_BASE64",
    "R501_BAD_HELO",
    "R502_NOT_IMPLEMENTED",
    "R503_BAD_SEQUENCE",
    "R503_NEED_HELO",
    "R503_NEED_MAIL",
    "R503_NEED_RCPT",
    "R503_NESTED_MAIL",
    "R503_ALREADY_AUTHENTICATED",
    "R503_AUTH_IN_TRANSACTION",
    "R503_TLS_ALREADY_ACTIVE",
    "R503_BDAT_DATA_MIX",
    "R503_DATA_BINARYMIME",
    "R504_UNRECOGNISED_AUTH",
    "R504_PARAM_NOT_IMPLEMENTED",
    "R530_AUTH_REQUIRED",
    "R530_STARTTLS_REQUIRED",
    "R534_AUTH_TOO_WEAK",
    "R535_AUTH_FAILED",
    "R538_ENCRYPTION_REQUIRED",
    "R550_NO_SUCH_USER",
    "R550_MAILBOX_UNAVAILABLE",
    "R550_POLICY",
    "R550_DMARC_REJECT",
    "R550_BARE_LINE_END",
    "R550_BAD_SENDER",
    "R551_USER_NOT_LOCAL",
    "R552_TOO_BIG",
    "R552_EXCEEDED_STORAGE",
    "R553_SENDER_NOT_OWNED",
    "R553_BAD_MAILBOX_NAME",
    "R553_SMTPUTF8_REQUIRED",
    "R554_RELAY_DENIED",
    "R554_NO_VALID_RECIPIENTS",
    "R554_TRANSACTION_FAILED",
    "R554_NO_SERVICE",
    "R554_TLS_REQUIRED_BY_POLICY",
    "R555_BAD_PARAM",
]

_ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}\Z")


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply: a three-digit code, an optional RFC 3463 enhanced code, human text.

    ``text`` may hold several lines separated by ``\\n``; :meth:`to_bytes` turns them into
    a multi-line reply (``250-a`` ... ``250 z``). Tests compare ``code`` and
    ``enhanced``, never ``text``.
    """

    code: int
    enhanced: str | None
    text: str

    def __post_init__(self) -> None:
        if not 200 <= self.code <= 599:
            raise ValueError(f"reply code out of range: {self.code}")
        if self.enhanced is not None:
            if not _ENHANCED.match(self.enhanced) or self.enhanced[0] != str(self.code)[0]:
                raise ValueError(f"enhanced code {self.enhanced!r} does not fit reply {self.code}")

    @property
    def lines(self) -> list[str]:
        """The text's lines, CR and other line breaks removed."""
        return [line.replace("\r", "") for line in self.text.split("\n")]

    def with_text(self, text: str) -> Reply:
        """The same codes with other text (for instance naming the address refused)."""
        return replace(self, text=text)

    def to_bytes(self) -> bytes:
        """The wire form, every line ending in CRLF (RFC 5321 §4.2.1)."""
        lines = self.lines
        out: list[str] = []
        for index, line in enumerate(lines):
            sep = " " if index == len(lines) - 1 else "-"
            content = f"{self.enhanced} {line}".rstrip(" ") if self.enhanced else line
            out.append(f"{self.code}{sep}{content}\r\n")
        return "".join(out).encode("utf-8")

    def __bytes__(self) -> bytes:
        return self.to_bytes()


class SMTPSyntaxError(ValueError):
    """A command line the parsers refuse; ``reply`` is what the server answers."""

    def __init__(self, reply: Reply, detail: str = "") -> None:
        super().__init__(detail or reply.text)
        self.reply = reply
        self.detail = detail or reply.text


class UnknownCommand(SMTPSyntaxError):
    """The verb is not an SMTP command at all (500 5.5.2); servers count these as junk."""


def ehlo_reply(hostname: str, greeting: str, extensions: Iterable[str]) -> Reply:
    """The 250 reply to EHLO (RFC 5321 §4.1.1.1): the hostname line, then one keyword a line.

    ``extensions`` are the keyword lines as announced, e.g. ``"SIZE 10485760"``,
    ``"PIPELINING"``, ``"AUTH PLAIN SCRAM-SHA-256"``, ``"LIMITS RCPTMAX=1000"`` (RFC 9422).
    RFC 2034 §3: no enhanced code in the reply to EHLO.
    """
    first = f"{hostname} {greeting}".strip()
    return Reply(250, None, "\n".join([first, *extensions]))


# --- 2xx ---------------------------------------------------------------------
R211_STATUS = Reply(211, "2.0.0", "System status")
R214_HELP = Reply(214, "2.0.0", "See RFC 5321")
R220_READY = Reply(220, None, "ESMTP ready")  # greeting: RFC 2034 §3, no enhanced code
R220_START_TLS = Reply(220, "2.0.0", "Ready to start TLS")  # RFC 3207 §4
R221_BYE = Reply(221, "2.0.0", "Bye")
R235_AUTH_OK = Reply(235, "2.7.0", "Authentication successful")  # RFC 4954 §6
R250_OK = Reply(250, "2.0.0", "OK")
R250_SENDER_OK = Reply(250, "2.1.0", "Sender OK")
R250_RECIPIENT_OK = Reply(250, "2.1.5", "Recipient OK")
R250_QUEUED = Reply(250, "2.0.0", "Message accepted")  # only after the bytes are on disk
R250_RESET = Reply(250, "2.0.0", "Reset")
R250_CHUNK_OK = Reply(250, "2.0.0", "Chunk received")  # RFC 3030 §2: BDAT without LAST
R251_WILL_FORWARD = Reply(251, "2.1.5", "User not local; will forward")
R252_CANNOT_VRFY = Reply(252, "2.5.0", "Cannot VRFY user, but will accept message")  # RFC 5321 §3.5.3
# --- 3xx (intermediate; no enhanced code) ------------------------------------
R334_AUTH_CHALLENGE = Reply(334, None, "")  # RFC 4954 §4: text is the base64 challenge
R354_START_INPUT = Reply(354, None, "End data with <CR><LF>.<CR><LF>")
# --- 4xx ---------------------------------------------------------------------
R421_SHUTTING_DOWN = Reply(421, "4.3.2", "Service shutting down, closing connection")
R421_TIMEOUT = Reply(421, "4.4.2", "Timeout, closing connection")
R421_TOO_MANY_ERRORS = Reply(421, "4.7.0", "Too many errors, closing connection")
R421_TOO_MANY_CONNECTIONS = Reply(421, "4.7.0", "Too many connections from your address")
R421_TOO_MANY_COMMANDS = Reply(421, "4.7.0", "Too many commands without a transaction")
R432_PASSWORD_TRANSITION = Reply(432, "4.7.12", "A password transition is needed")  # RFC 4954 §6
R450_MAILBOX_UNAVAILABLE = Reply(450, "4.2.1", "Mailbox temporarily unavailable")
# RFC 5321 §4.2.2 450: "temporarily blocked for policy reasons"; RFC 3463 §3.8 X.7.0: a
# security or policy status (the registry has no code for a sender's own rate).
R450_RATE_LIMITED = Reply(450, "4.7.0", "Too many messages in the last hour, try again later")
R451_LOCAL_ERROR = Reply(451, "4.3.0", "Local error in processing, try again later")
R451_REMOTE_NOT_YET = Reply(451, "4.3.0", "Temporary failure, try again later")
R451_TEMP_LOOKUP_FAILURE = Reply(451, "4.4.3", "Temporary lookup failure")
R452_TOO_MANY_RECIPIENTS = Reply(452, "4.5.3", "Too many recipients")  # RFC 5321 §4.5.3.1.10
R452_INSUFFICIENT_STORAGE = Reply(452, "4.3.1", "Insufficient system storage")
R452_MAILBOX_FULL = Reply(452, "4.2.2", "Mailbox full")
R454_TLS_NOT_AVAILABLE = Reply(454, "4.7.0", "TLS not available")  # RFC 3207 §4
R454_AUTH_TEMP_FAILURE = Reply(454, "4.7.0", "Temporary authentication failure")  # RFC 4954 §6
R455_PARAMS_UNAVAILABLE = Reply(455, "4.5.4", "Server unable to accommodate parameters")
# --- 5xx ---------------------------------------------------------------------
R500_UNRECOGNISED = Reply(500, "5.5.2", "Command unrecognized")
R500_LINE_TOO_LONG = Reply(500, "5.5.2", "Line too long")  # RFC 5321 §4.5.3.1.10
R500_AUTH_LINE_TOO_LONG = Reply(500, "5.5.6", "Authentication exchange line too long")  # RFC 4954 §4
R501_SYNTAX = Reply(501, "5.5.4", "Syntax error in parameters or arguments")
R501_BAD_SENDER_SYNTAX = Reply(501, "5.1.7", "Bad sender address syntax")
R501_BAD_RECIPIENT_SYNTAX = Reply(501, "5.1.3", "Bad recipient address syntax")
R501_PATH_TOO_LONG = Reply(501, "5.5.4", "Path too long")  # RFC 5321 §4.5.3.1.3
R501_AUTH_CANCELLED = Reply(501, "5.0.0", "Authentication cancelled")  # RFC 4954 §4: client sent "*"
R501_BAD_BASE64 = Reply(501, "5.5.2", "Cannot decode base64")  # RFC 4954 §4
R501_BAD_HELO = Reply(501, "5.5.4", "HELO/EHLO needs a domain or address literal")
R502_NOT_IMPLEMENTED = Reply(502, "5.5.1", "Command not implemented")
R503_BAD_SEQUENCE = Reply(503, "5.5.1", "Bad sequence of commands")
R503_NEED_HELO = Reply(503, "5.5.1", "Send HELO/EHLO first")
R503_NEED_MAIL = Reply(503, "5.5.1", "Need MAIL command")
R503_NEED_RCPT = Reply(503, "5.5.1", "Need RCPT command")
R503_NESTED_MAIL = Reply(503, "5.5.1", "Sender already specified")
R503_ALREADY_AUTHENTICATED = Reply(503, "5.5.1", "Already authenticated")  # RFC 4954 §4
R503_AUTH_IN_TRANSACTION = Reply(503, "5.5.1", "AUTH not permitted during a mail transaction")
R503_TLS_ALREADY_ACTIVE = Reply(503, "5.5.1", "TLS already active")
R503_BDAT_DATA_MIX = Reply(503, "5.5.1", "DATA and BDAT cannot be mixed")  # RFC 3030 §2
R503_DATA_BINARYMIME = Reply(503, "5.5.1", "BODY=BINARYMIME needs BDAT")  # RFC 3030 §3
R504_UNRECOGNISED_AUTH = Reply(504, "5.5.4", "Unrecognized authentication mechanism")  # RFC 4954 §4
R504_PARAM_NOT_IMPLEMENTED = Reply(504, "5.5.4", "Command parameter not implemented")
R530_AUTH_REQUIRED = Reply(530, "5.7.0", "Authentication required")  # RFC 4954 §6
R530_STARTTLS_REQUIRED = Reply(530, "5.7.0", "Must issue a STARTTLS command first")  # RFC 3207 §4
R534_AUTH_TOO_WEAK = Reply(534, "5.7.9", "Authentication mechanism is too weak")  # RFC 4954 §6
R535_AUTH_FAILED = Reply(535, "5.7.8", "Authentication credentials invalid")  # RFC 4954 §6
R538_ENCRYPTION_REQUIRED = Reply(538, "5.7.11", "Encryption required for requested authentication mechanism")
R550_NO_SUCH_USER = Reply(550, "5.1.1", "No such user here")
R550_MAILBOX_UNAVAILABLE = Reply(550, "5.2.1", "Mailbox unavailable")
R550_POLICY = Reply(550, "5.7.1", "Refused by local policy")
R550_DMARC_REJECT = Reply(550, "5.7.1", "Refused: the sender's DMARC policy says reject")  # RFC 7489 §6.6.4, §10.3
R550_BARE_LINE_END = Reply(550, "5.6.11", "Message contains bare CR or LF; use CRLF")  # smuggling defence
R550_BAD_SENDER = Reply(550, "5.1.8", "Bad sender's system address")
R551_USER_NOT_LOCAL = Reply(551, "5.1.6", "User not local")
R552_TOO_BIG = Reply(552, "5.3.4", "Message size exceeds fixed maximum message size")  # RFC 1870 §6
R552_EXCEEDED_STORAGE = Reply(552, "5.2.2", "Mailbox full")
R553_SENDER_NOT_OWNED = Reply(553, "5.7.1", "Sender address not owned by the authenticated user")
R553_BAD_MAILBOX_NAME = Reply(553, "5.1.3", "Mailbox name not allowed")
R553_SMTPUTF8_REQUIRED = Reply(553, "5.6.7", "Non-ASCII address needs SMTPUTF8")  # RFC 6531 §3.5
R554_RELAY_DENIED = Reply(554, "5.7.1", "Relay access denied")
R554_NO_VALID_RECIPIENTS = Reply(554, "5.5.1", "No valid recipients")  # RFC 5321 §3.3
R554_TRANSACTION_FAILED = Reply(554, "5.0.0", "Transaction failed")
R554_NO_SERVICE = Reply(554, "5.3.2", "No SMTP service here")  # RFC 5321 §3.1 greeting refusal
R554_TLS_REQUIRED_BY_POLICY = Reply(554, "5.7.0", "TLS required by policy")
R555_BAD_PARAM = Reply(555, "5.5.4", "MAIL FROM/RCPT TO parameters not recognized or not implemented")

ALL_REPLIES: dict[str, Reply] = {
    name: value for name, value in dict(globals()).items() if name.startswith("R") and isinstance(value, Reply)
}
"""Every constant by name: the transcript meta-test checks each one appears in some transcript."""
