"""One handler per SMTP command (mirroring ``wire/smtp/commands.py``), and the refusals
for a command sent in the wrong state.

A handler runs only in a state the command table allows; it returns the final reply
(intermediate 334 / 354 replies it writes itself) or raises MailError / SessionEnd.
Policy questions go to ``server.policy`` hooks, never to ``if submission:`` branches.
"""

from __future__ import annotations

import base64
import binascii
import logging

from postoffice.errors import Kind, MailError
from postoffice.net.connection import ConnectionClosed, LineTooLong, Timeout
from postoffice.wire.sasl import MECHANISMS
from postoffice.wire.smtp import (
    R214_HELP,
    R220_START_TLS,
    R221_BYE,
    R235_AUTH_OK,
    R250_CHUNK_OK,
    R250_OK,
    R250_RESET,
    R252_CANNOT_VRFY,
    R354_START_INPUT,
    R451_LOCAL_ERROR,
    R452_TOO_MANY_RECIPIENTS,
    R454_TLS_NOT_AVAILABLE,
    R500_AUTH_LINE_TOO_LONG,
    R501_AUTH_CANCELLED,
    R501_BAD_BASE64,
    R502_NOT_IMPLEMENTED,
    R503_ALREADY_AUTHENTICATED,
    R503_AUTH_IN_TRANSACTION,
    R503_BAD_SEQUENCE,
    R503_BDAT_DATA_MIX,
    R503_DATA_BINARYMIME,
    R503_NEED_HELO,
    R503_NEED_MAIL,
    R503_NEED_RCPT,
    R503_NESTED_MAIL,
    R503_TLS_ALREADY_ACTIVE,
    R504_UNRECOGNISED_AUTH,
    R535_AUTH_FAILED,
    R538_ENCRYPTION_REQUIRED,
    R550_NO_SUCH_USER,
    R551_USER_NOT_LOCAL,
    R552_TOO_BIG,
    R554_NO_VALID_RECIPIENTS,
    Auth,
    Bdat,
    Data,
    DataReader,
    Ehlo,
    Expn,
    Helo,
    Help,
    MailFrom,
    Noop,
    Quit,
    RcptTo,
    Reply,
    Rset,
    SMTPSyntaxError,
    StartTls,
    Vrfy,
    ehlo_reply,
    parse_mailbox,
)

from . import delivery
from .engine import Engine
from .errors import SessionEnd
from .session import Recipient, Session, State, Transaction

__all__ = [
    "ehlo", "helo", "mail", "rcpt", "data", "bdat", "rset", "noop", "quit", "vrfy", "expn", "help_", "starttls", "auth",
    "refuse_transaction_command", "refuse_auth", "refuse_starttls",
]  # fmt: skip

log = logging.getLogger("postoffice.smtp")

SASL_LINE_LIMIT = 12288  # RFC 4954 §4: a server must accept at least 12288 octets per line


# ---- greeting commands ------------------------------------------------------------------------


def extensions(server: Engine, s: Session) -> list[str]:
    """The EHLO keywords for this session (RFC 5321 §4.1.1.1), the real limits advertised."""
    limits = server.limits
    words = [
        "PIPELINING",  # RFC 2920
        f"SIZE {limits.max_message_size}",  # RFC 1870
        "8BITMIME",  # RFC 6152
        "SMTPUTF8",  # RFC 6531
        "CHUNKING",  # RFC 3030
        "BINARYMIME",  # RFC 3030
        "ENHANCEDSTATUSCODES",  # RFC 2034
        "DSN",  # RFC 3461
    ]
    if server.tls is not None and not s.tls:
        words.append("STARTTLS")  # RFC 3207
    if server.policy.offers_auth and s.account is None:
        mechanisms = server.mail.auth.mechanisms(s.peer_ip, s.tls)
        if mechanisms:
            words.append("AUTH " + " ".join(mechanisms))  # RFC 4954
    words.append(f"LIMITS RCPTMAX={server.policy.max_recipients()}")  # RFC 9422
    words.append("HELP")
    return words


async def ehlo(server: Engine, s: Session, cmd: Ehlo) -> Reply:
    s.reset_transaction()  # RFC 5321 §4.1.4: EHLO in a transaction resets it
    s.helo, s.esmtp, s.state = cmd.domain, True, State.GREETED
    return ehlo_reply(server.config.hostname, f"greets {cmd.domain}", extensions(server, s))


async def helo(server: Engine, s: Session, cmd: Helo) -> Reply:
    s.reset_transaction()
    s.helo, s.esmtp, s.state = cmd.domain, False, State.GREETED
    return ehlo_reply(server.config.hostname, f"greets {cmd.domain}", [])


# ---- the transaction ----------------------------------------------------------------------------


async def mail(server: Engine, s: Session, cmd: MailFrom) -> Reply:
    params = cmd.params
    if params.size is not None and params.size > server.limits.max_message_size:
        return R552_TOO_BIG  # RFC 1870 §6: refused when declared
    reply = await server.policy.check_sender(s, cmd.path)
    if reply.code == 250:
        s.transaction = Transaction(
            sender=cmd.sender.canonical if cmd.sender is not None else "",
            body=params.body,
            smtputf8=params.smtputf8,
            ret=params.ret,
            envid=params.envid,
            declared_size=params.size,
        )
        s.state = State.MAIL
        s.commands_since_mail = 0
    return reply


async def rcpt(server: Engine, s: Session, cmd: RcptTo) -> Reply:
    tx = s.transaction
    assert tx is not None
    if len(tx.recipients) >= server.limits.max_recipients:
        return R452_TOO_MANY_RECIPIENTS  # RFC 5321 §4.5.3.1.10
    tx.rcpt_attempts += 1
    reply, address = await server.policy.check_recipient(s, cmd.path)
    if address is not None and reply.code == 250:
        tx.recipients.append(Recipient(address, str(cmd.path), cmd.params))
        s.state = State.RCPT
    return reply


async def data(server: Engine, s: Session, cmd: Data) -> Reply:
    tx = s.transaction
    assert tx is not None
    if tx.bdat_started:
        return R503_BDAT_DATA_MIX  # RFC 3030 §2
    if tx.body == "BINARYMIME":
        return R503_DATA_BINARYMIME  # RFC 3030 §3
    limits = server.limits
    s.reply(R354_START_INPUT)
    await s.flush(timeout=limits.timeout_data_block)
    # Only CRLF.CRLF ends the data (smuggling defence in DataReader).
    reader = DataReader("refuse" if limits.bare_lf == "refuse" else "normalise", max_size=limits.max_message_size)
    # A message of at most delivery.CHUNK octets is held and delivered in one call once
    # its end is seen; a bigger one starts the streamed delivery task with what is held.
    held = b""
    keep = True
    wait = limits.timeout_data_init  # the first octets after 354, then each data block
    try:
        while not reader.done:
            chunk = await s.read_some(delivery.CHUNK, timeout=wait)
            wait = limits.timeout_data_block
            if not chunk:
                raise ConnectionClosed("connection closed during DATA")
            out = reader.feed(chunk)
            if keep and (reader.too_big or reader.refused):
                keep = False  # RFC 1870 §6: read to the end, keep nothing
                held = b""
                if tx.delivery is not None:
                    tx.delivery.cancel()
            if keep and out:
                if tx.delivery is not None:
                    await delivery.push(tx, out)
                elif len(held) + len(out) <= delivery.CHUNK:
                    held = held + out if held else out
                else:
                    delivery.start(server, s, tx)
                    if held:
                        await delivery.push(tx, held)
                        held = b""
                    await delivery.push(tx, out)
    except (ConnectionClosed, Timeout):
        raise
    except Exception:
        await _skip_data(s, reader, wait)
        raise
    s.unread(reader.leftover)  # pipelined commands after the end (RFC 2920)
    refusal = reader.error_reply()
    if refusal is not None:
        reply = refusal
    elif tx.delivery is not None:
        reply = await delivery.finish(tx)
    else:
        reply = await delivery.deliver_now(server, s, tx, held)
    s.reset_transaction()
    return reply


async def _skip_data(s: Session, reader: DataReader, wait: float) -> None:
    """After a failure inside DATA: read to the end of the message, keeping nothing, so
    that none of its lines is read as a command; SessionEnd(451) if that is impossible."""
    try:
        while not reader.done:
            chunk = await s.read_some(delivery.CHUNK, timeout=wait)
            if not chunk:
                raise ConnectionClosed("connection closed during DATA")
            reader.feed(chunk)
    except (ConnectionClosed, Timeout):
        raise
    except Exception:
        log.exception("%s: the end of the message cannot be found; ending the session", s.peer_ip)
        raise SessionEnd(R451_LOCAL_ERROR) from None
    s.unread(reader.leftover)


async def _skip_octets(s: Session, size: int, wait: float) -> None:
    """Read and throw away the rest of a BDAT chunk after a failure."""
    while size:
        chunk = await s.read_some(min(size, delivery.CHUNK), timeout=wait)
        if not chunk:
            raise ConnectionClosed("connection closed during BDAT")
        size -= len(chunk)


async def bdat(server: Engine, s: Session, cmd: Bdat) -> Reply | None:
    tx = s.transaction
    assert tx is not None
    limits = server.limits
    if not tx.bdat_started:
        tx.bdat_started = True
        delivery.start(server, s, tx)
    tx.bdat_octets += cmd.size
    limit = limits.max_message_size
    if tx.declared_size is not None:
        limit = min(limit, tx.declared_size)  # RFC 1870 §6: the SIZE the client declared
    if tx.bdat_octets > limit:
        # Known from the command line alone: answered before any octet is read.
        if tx.delivery is not None:
            tx.delivery.cancel()
        s.reset_transaction()  # RFC 3030 §2: the transaction has failed; nothing is kept
        if cmd.size > limits.max_message_size:
            raise SessionEnd(R552_TOO_BIG)  # too many octets to read and drop: the session ends
        s.reply(R552_TOO_BIG)
        await s.flush(timeout=limits.timeout_data_block)
        await _skip_octets(s, cmd.size, limits.timeout_data_block)
        return None
    remaining = cmd.size
    while remaining:
        chunk = await s.read_some(min(remaining, delivery.CHUNK), timeout=limits.timeout_data_block)
        if not chunk:
            raise ConnectionClosed("connection closed during BDAT")
        remaining -= len(chunk)
        try:
            await delivery.push(tx, chunk)
        except Exception:
            # RFC 3030 §2: the chunk's octets are read all the same, never as commands.
            await _skip_octets(s, remaining, limits.timeout_data_block)
            raise
    if not cmd.last:
        return R250_CHUNK_OK.with_text(f"{cmd.size} octets received")
    reply = await delivery.finish(tx)
    s.reset_transaction()
    return reply


async def rset(server: Engine, s: Session, cmd: Rset) -> Reply:
    s.reset_transaction()
    return R250_RESET


async def noop(server: Engine, s: Session, cmd: Noop) -> Reply:
    return R250_OK


async def quit(server: Engine, s: Session, cmd: Quit) -> Reply:
    raise SessionEnd(R221_BYE)


async def vrfy(server: Engine, s: Session, cmd: Vrfy) -> Reply:
    # RFC 5321 §3.5.3: off by default, 252 for every address alike (no user enumeration).
    if not server.limits.vrfy:
        return R252_CANNOT_VRFY
    try:
        address = parse_mailbox(cmd.argument.strip("<>"), smtputf8=True)
    except SMTPSyntaxError:
        return R252_CANNOT_VRFY
    try:
        accounts = await server.mail.resolve_recipient(address.canonical)
    except MailError:
        return R551_USER_NOT_LOCAL
    if not accounts:
        return R550_NO_SUCH_USER
    return R250_OK.with_text(f"<{address.canonical}>")


async def expn(server: Engine, s: Session, cmd: Expn) -> Reply:
    return R502_NOT_IMPLEMENTED  # RFC 5321 §3.5.2: lists are not disclosed


async def help_(server: Engine, s: Session, cmd: Help) -> Reply:
    return R214_HELP.with_text(
        "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH\nSee RFC 5321"
    )


# ---- STARTTLS and AUTH ------------------------------------------------------------------------------


async def starttls(server: Engine, s: Session, cmd: StartTls) -> Reply | None:
    if s.tls:
        return R503_TLS_ALREADY_ACTIVE
    if server.tls is None:
        return R454_TLS_NOT_AVAILABLE
    s.reply(R220_START_TLS)
    await s.flush(timeout=server.limits.timeout_server)
    dropped = s.discard_input()  # CVE-2011-0411; Connection.start_tls drops its own buffer too
    if dropped:
        log.warning("%s: discarded %d octets pipelined after STARTTLS", s.peer_ip, dropped)
    await s.conn.start_tls(server.tls, handshake_timeout=server.limits.timeout_server)
    # RFC 3207 §4.2: forget everything learnt before TLS (greeting, AUTH, transaction).
    s.reset_transaction()
    s.state, s.helo, s.esmtp, s.account = State.CONNECTED, None, False, None
    return None  # already answered before the handshake


class _AuthAbort(Exception):
    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


def _decode(text: str) -> bytes:
    if text == "=":  # RFC 4954 §4: "=" is an empty initial response
        return b""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _AuthAbort(R501_BAD_BASE64) from None


async def auth(server: Engine, s: Session, cmd: Auth) -> Reply:
    if not server.policy.offers_auth:
        return R502_NOT_IMPLEMENTED
    if s.account is not None:
        return R503_ALREADY_AUTHENTICATED  # RFC 4954 §4
    authenticator = server.mail.auth
    if cmd.mechanism not in MECHANISMS:
        return R504_UNRECOGNISED_AUTH
    if cmd.mechanism not in authenticator.mechanisms(s.peer_ip, s.tls):
        return R538_ENCRYPTION_REQUIRED  # RFC 4954 §6: plain-text passwords need TLS here

    async def exchange(challenge: bytes) -> bytes | None:
        s.reply(Reply(334, None, base64.b64encode(challenge).decode("ascii")))
        try:
            line = await s.readline(SASL_LINE_LIMIT, timeout=server.limits.timeout_server)  # RFC 5321 §4.5.3.2.7
        except LineTooLong:
            raise _AuthAbort(R500_AUTH_LINE_TOO_LONG) from None
        if not line:
            raise ConnectionClosed("connection closed during AUTH")
        text = line.rstrip(b"\r\n").decode("ascii", "replace").strip()
        if text == "*":
            return None  # RFC 4954 §4: the client cancels
        return _decode(text) if text else b""

    try:
        initial = _decode(cmd.initial_response) if cmd.initial_response is not None else None
        result = await authenticator.authenticate(cmd.mechanism, initial, exchange, client_ip=s.peer_ip, tls=s.tls)
    except _AuthAbort as abort:
        return abort.reply
    except MailError as error:
        if error.kind is Kind.INVALID:
            return R501_AUTH_CANCELLED
        if error.kind is Kind.ENCRYPTION_REQUIRED:
            return R538_ENCRYPTION_REQUIRED
        return R535_AUTH_FAILED
    s.account = result.account
    return R235_AUTH_OK


# ---- refusals for the wrong state ---------------------------------------------------------------------


def refuse_transaction_command(s: Session) -> Reply:
    """MAIL, RCPT, DATA or BDAT out of sequence (RFC 5321 §4.1.4, §3.3)."""
    if s.state is State.CONNECTED:
        return R503_NEED_HELO
    if s.transaction is None:
        return R503_NEED_MAIL
    if s.state is State.MAIL:
        return R554_NO_VALID_RECIPIENTS if s.transaction.rcpt_attempts else R503_NEED_RCPT
    return R503_NESTED_MAIL  # MAIL inside a transaction


def refuse_auth(s: Session) -> Reply:
    return R503_NEED_HELO if s.state is State.CONNECTED else R503_AUTH_IN_TRANSACTION


def refuse_starttls(s: Session) -> Reply:
    return R503_BAD_SEQUENCE  # RFC 3207: not inside a mail transaction
