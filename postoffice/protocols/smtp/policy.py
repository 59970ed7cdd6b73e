"""The two SMTP policies over one engine (STYLE.md habit 8): MX and submission.

Owns :class:`Policy`, whose typed hooks have defaults, and its two subclasses:

- :class:`MXPolicy` (listener ``smtp``): mail from other servers, for local domains,
  users and aliases only. An unknown local user is refused at RCPT (550 5.1.1); any other
  recipient, and any address using a relay trick (percent hack, quoted routing, bang
  path, address literal, source route), is refused with 554 5.7.1: never an open relay.
  No AUTH is offered.
- :class:`SubmissionPolicy` (``submission``, ``submissions``; RFC 6409): AUTH is
  required before MAIL (530 5.7.0, RFC 4954 §6); the envelope sender must be one of the
  user's addresses (553 5.7.1); local recipients are delivered at once; remote ones are
  refused at RCPT with 451 4.3.0 until the outbound queue exists (never dropped).

Both add Return-Path (RFC 5321 §4.4: at final delivery) and Received (RFC 5321 §4.4,
with the RFC 3848 / RFC 6531 §4.3 protocol type) through ``deliver(prepend=...)``.
"""

from __future__ import annotations

import email.utils
import secrets
from typing import TYPE_CHECKING

from postoffice.errors import MailError
from postoffice.wire.smtp import (
    R250_RECIPIENT_OK,
    R250_SENDER_OK,
    R451_REMOTE_NOT_YET,
    R530_AUTH_REQUIRED,
    R550_NO_SUCH_USER,
    R553_SENDER_NOT_OWNED,
    R554_RELAY_DENIED,
    Path,
    Reply,
)

if TYPE_CHECKING:
    from postoffice.mail.service import MailService

    from .session import Session, Transaction

__all__ = ["Policy", "MXPolicy", "SubmissionPolicy", "policy_for"]


class Policy:
    """What a listener accepts. Every hook has a default; subclasses override some."""

    name = "base"
    offers_auth = False  # AUTH advertised and accepted (RFC 4954)
    requires_auth = False  # MAIL refused before AUTH (530 5.7.0)

    def __init__(self, mail: MailService) -> None:
        self.mail = mail

    async def check_sender(self, session: Session, path: Path) -> Reply:
        """The answer to MAIL FROM once its syntax and size are fine."""
        if self.requires_auth and session.account is None:
            return R530_AUTH_REQUIRED
        return R250_SENDER_OK

    async def check_recipient(self, session: Session, path: Path) -> tuple[Reply, str | None]:
        """(answer, address to deliver to) for RCPT TO; the address is None when refused."""
        address = path.address
        assert address is not None
        if address.is_bare_postmaster:  # RFC 5321 §4.5.1: <Postmaster> must be accepted
            return R250_RECIPIENT_OK, f"postmaster@{self.mail.config.domains[0]}"
        if path.relay_tricks():
            return R554_RELAY_DENIED.with_text(f"Relay access denied: {path}"), None
        if not await self.mail.is_local_domain(address.domain):
            return await self.remote_recipient(session, path)
        try:
            accounts = await self.mail.resolve_recipient(address.canonical)
        except MailError:
            return R554_RELAY_DENIED, None
        if not accounts:
            return R550_NO_SUCH_USER.with_text(f"No such user here: {path}"), None
        return R250_RECIPIENT_OK, address.canonical

    async def remote_recipient(self, session: Session, path: Path) -> tuple[Reply, str | None]:
        """A recipient outside the local domains."""
        return R554_RELAY_DENIED.with_text(f"Relay access denied: {path}"), None

    def protocol_type(self, session: Session, tx: Transaction) -> str:
        """RFC 3848 / RFC 6531 §4.3 "with" keyword of the Received header."""
        if not session.esmtp:
            return "SMTP"
        base = "UTF8SMTP" if tx.smtputf8 else "ESMTP"
        return base + ("S" if session.tls else "") + ("A" if session.account is not None else "")

    def trace_headers(self, session: Session, tx: Transaction, hostname: str, now: float) -> bytes:
        """Return-Path and Received, prepended to the message (RFC 5321 §4.4)."""
        helo = session.helo or "unknown"
        ip = session.peer_ip
        ident = secrets.token_hex(8)
        date = _date(now)
        for_clause = f"\r\n\tfor <{tx.recipients[0].address}>" if len(tx.recipients) == 1 else ""
        tls = f"\r\n\t(using {session.conn.tls_version} cipher {session.conn.tls_cipher})" if session.tls else ""
        auth = f"\r\n\t(authenticated as {session.account.address})" if session.account is not None else ""
        received = (
            f"Received: from {_clean(helo)} ([{ip}]){tls}{auth}\r\n"
            f"\tby {hostname} (postoffice) with {self.protocol_type(session, tx)} id {ident}{for_clause};\r\n"
            f"\t{date}\r\n"
        )
        return f"Return-Path: <{tx.sender}>\r\n{received}".encode()


class MXPolicy(Policy):
    name = "mx"


class SubmissionPolicy(Policy):
    name = "submission"
    offers_auth = True
    requires_auth = True

    async def check_sender(self, session: Session, path: Path) -> Reply:
        refusal = await super().check_sender(session, path)
        if refusal is not R250_SENDER_OK:
            return refusal
        assert session.account is not None
        if path.address is None:
            return R250_SENDER_OK  # the null sender: read receipts (RFC 8098 §2.1), bounces
        owned = {a.lower() for a in await self.mail.addresses_of(session.account)}
        if path.relay_tricks() or path.address.canonical.lower() not in owned:
            return R553_SENDER_NOT_OWNED
        return R250_SENDER_OK

    async def remote_recipient(self, session: Session, path: Path) -> tuple[Reply, str | None]:
        # No outbound queue yet (a later issue): refuse clearly, temporarily, never drop.
        text = f"Cannot relay to {path} yet: this server has no outbound queue; try again later"
        return R451_REMOTE_NOT_YET.with_text(text), None


def policy_for(listener: str, mail: MailService) -> Policy:
    """The MX policy on ``smtp``, the submission policy on ``submission(s)``."""
    return MXPolicy(mail) if listener == "smtp" else SubmissionPolicy(mail)


_last_date: tuple[int, str] = (-1, "")


def _date(now: float) -> str:
    """RFC 5322 §3.3 date of ``now`` (UTC), formatted once per second."""
    global _last_date
    second = int(now)
    if _last_date[0] != second:
        _last_date = (second, email.utils.formatdate(second, localtime=False))
    return _last_date[1]


def _clean(text: str) -> str:
    """A HELO argument fit for a header: printable, no parentheses or line breaks."""
    return "".join(c if c.isprintable() and c not in "()\r\n" else "?" for c in text)[:255]
