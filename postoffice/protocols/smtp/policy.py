"""The two SMTP policies over one engine (docs/architecture.md §8): MX and submission.

Owns :class:`Policy`, whose typed hooks have defaults, and its two subclasses:

- :class:`MXPolicy` (listener ``smtp``): mail from other servers, for local domains,
  users and aliases only. An unknown local user is refused at RCPT (550 5.1.1); any other
  recipient, and any address using a relay trick (percent hack, quoted routing, bang
  path, address literal, source route), is refused with 554 5.7.1: never an open relay.
  No AUTH is offered.
- :class:`SubmissionPolicy` (``submission``, ``submissions``; RFC 6409): AUTH is
  required before MAIL (530 5.7.0, RFC 4954 §6); the envelope sender must be one of the
  user's addresses (553 5.7.1); local recipients are delivered at once; remote ones are
  accepted and queued for relay (``mail.outbound``; durable before the 250), or refused
  at RCPT with 451 4.3.0 when this server has no outbound queue (never dropped).
  Only an authenticated submission relays: the MX policy never does.

Both add Return-Path (RFC 5321 §4.4: at final delivery) and Received (RFC 5321 §4.4,
with the RFC 3848 / RFC 6531 §4.3 protocol type) through ``deliver(prepend=...)``.

Message hooks: :meth:`Policy.screen` sees the whole message before it is stored. The MX
policy checks SPF, DKIM and DMARC there (``postoffice.authn``, ``[authn]
inbound_checks``): an Authentication-Results field is added (RFC 8601), one that claims
our authserv-id (the hostname) is removed, and a DMARC failure under p=reject is
refused with 550 5.7.1 at the end of data, under p=quarantine delivered to Junk.
The decision needs the whole message, so the MX policy holds it while checking (in
memory up to 1 MiB, beyond in a spool file that ingestion then reads: a big message is
written twice, in constant memory); on any failure of the checks themselves the message
is delivered without a verdict rather than lost.
The submission policy removes such forged fields too, and enforces ``[limits.smtp]
max_messages_per_hour`` (450 4.7.0 at MAIL; counted in the store after each accepted
message, :meth:`Policy.delivered`) and ``max_recipients_per_message`` (452 4.5.3 at
RCPT, RFC 5321 §4.5.3.1.10).
"""

from __future__ import annotations

import email.utils
import logging
import secrets
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import TYPE_CHECKING

from postoffice.authn.inbound import InboundChecker, collect, without_forged_results
from postoffice.errors import MailError
from postoffice.mail import submission
from postoffice.wire.smtp import (
    R250_RECIPIENT_OK,
    R250_SENDER_OK,
    R450_RATE_LIMITED,
    R451_REMOTE_NOT_YET,
    R452_MAILBOX_FULL,
    R452_TOO_MANY_RECIPIENTS,
    R530_AUTH_REQUIRED,
    R550_DMARC_REJECT,
    R550_NO_SUCH_USER,
    R553_SENDER_NOT_OWNED,
    R554_RELAY_DENIED,
    Path,
    Reply,
)

if TYPE_CHECKING:
    from postoffice.mail.service import MailService

    from .session import Session, Transaction

__all__ = ["Policy", "MXPolicy", "SubmissionPolicy", "policy_for", "Screened"]

log = logging.getLogger("postoffice.smtp")

MessageSource = bytes | AsyncIterable[bytes] | FilePath


@dataclass
class Screened:
    """What :meth:`Policy.screen` decided about a message."""

    source: MessageSource  # the bytes to store (maybe rewritten)
    header: bytes = b""  # fields to put above the trace fields (Authentication-Results)
    mailbox: str = "INBOX"  # where it is delivered (Junk for a DMARC quarantine)
    refusal: Reply | None = None  # refuse instead of delivering
    cleanup: Callable[[], Awaitable[None]] | None = None  # called once the delivery ended


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
        if await self.mail.quota_full(accounts):
            # RFC 3463 §3.3 X.2.2 "mailbox full", temporary: the user may make room
            # (as Dovecot's LMTP with quota_full_tempfail, and Postfix's 452 4.2.2).
            # A message that does not fit is refused after the data: 552 5.2.2.
            return R452_MAILBOX_FULL, None
        return R250_RECIPIENT_OK, address.canonical

    async def remote_recipient(self, session: Session, path: Path) -> tuple[Reply, str | None]:
        """A recipient outside the local domains."""
        return R554_RELAY_DENIED.with_text(f"Relay access denied: {path}"), None

    def max_recipients(self) -> int:
        """RCPT accepted per transaction (advertised as LIMITS RCPTMAX, RFC 9422)."""
        return self.mail.config.limits.smtp.max_recipients

    async def screen(self, session: Session, tx: Transaction, source: MessageSource) -> Screened:
        """Look at the whole message before it is stored; by default, store it as is."""
        return Screened(source)

    async def delivered(self, session: Session, tx: Transaction) -> None:
        """Called once a message of ``tx`` is durable (after the 250 is decided)."""

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

    def __init__(self, mail: MailService) -> None:
        super().__init__(mail)
        config = mail.config
        self.checker: InboundChecker | None = None
        if config.authn.inbound_checks:
            # RFC 8601 §2.5: the authserv-id names this server: its hostname.
            self.checker = InboundChecker(config.dns, config.hostname, max_header=config.limits.message.max_header_size)

    async def screen(self, session: Session, tx: Transaction, source: MessageSource) -> Screened:
        checker = self.checker
        if checker is None or isinstance(source, FilePath):
            return Screened(source)
        message = checker.message()
        collected = await collect(message, source, self.mail.config.spool_dir)

        async def cleanup() -> None:
            collected.remove()

        try:
            verdict = await message.verdict(ip=session.peer_ip, helo=session.helo or "", mail_from=tx.sender)
        except Exception:
            # A bug in the checks must not lose mail: deliver without a verdict.
            log.exception("%s: sender authentication checks failed", session.peer_ip)
            return Screened(collected.source, cleanup=cleanup)
        except BaseException:
            collected.remove()
            raise
        screened = Screened(collected.source, verdict.header, cleanup=cleanup)
        disposition = verdict.disposition
        if disposition == "reject":
            # RFC 7489 §6.6.4 / §10.3: refuse at the end of DATA, 550 5.7.1.
            log.info("%s: DMARC reject for %s", session.peer_ip, verdict.dmarc.from_domain)
            screened.refusal = R550_DMARC_REJECT.with_text(
                f"Refused: {verdict.dmarc.from_domain} publishes DMARC p=reject and this message fails DMARC"
            )
        elif disposition == "quarantine":
            screened.mailbox = "Junk"  # RFC 7489 §6.3 p=quarantine: "suspicious", kept apart
        return screened


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
        if path.relay_tricks() or not await submission.may_send_as(self.mail, session.account, path.address.canonical):
            return R553_SENDER_NOT_OWNED
        limit = await submission.rate_limit_reached(self.mail, session.account)
        if limit is not None:
            return R450_RATE_LIMITED.with_text(
                f"{session.account.address} sent {limit} messages in the last hour, the most allowed; try again later"
            )
        return R250_SENDER_OK

    def max_recipients(self) -> int:
        per_transaction = self.mail.config.limits.smtp.max_recipients
        per_message = submission.max_recipients_per_message(self.mail)
        return min(per_transaction, per_message) if per_message else per_transaction

    async def check_recipient(self, session: Session, path: Path) -> tuple[Reply, str | None]:
        tx = session.transaction
        limit = submission.max_recipients_per_message(self.mail)
        if limit and tx is not None and len(tx.recipients) >= limit:
            # RFC 5321 §4.5.3.1.10: 452, and the client sends the rest in another transaction.
            return R452_TOO_MANY_RECIPIENTS.with_text(f"Too many recipients: at most {limit} per message"), None
        return await super().check_recipient(session, path)

    async def screen(self, session: Session, tx: Transaction, source: MessageSource) -> Screened:
        # RFC 8601 §5: a submitted message's Authentication-Results fields that claim our
        # authserv-id are forged too; they are removed on this route as well.
        if isinstance(source, FilePath):
            return Screened(source)
        config = self.mail.config
        return Screened(without_forged_results(source, config.hostname, config.limits.message.max_header_size))

    async def delivered(self, session: Session, tx: Transaction) -> None:
        if session.account is not None:
            await submission.count_submission(self.mail, session.account)

    async def remote_recipient(self, session: Session, path: Path) -> tuple[Reply, str | None]:
        if self.mail.outbound is None:
            # No outbound queue in this process: refuse clearly, temporarily, never drop.
            text = f"Cannot relay to {path}: this server has no outbound queue; try again later"
            return R451_REMOTE_NOT_YET.with_text(text), None
        assert path.address is not None and session.account is not None  # check_sender required AUTH
        # RFC 6409 §4.3 / RFC 5321 §3.6: an authenticated user's message is relayed onward.
        return R250_RECIPIENT_OK, path.address.canonical


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
