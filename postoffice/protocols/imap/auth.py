"""Handlers valid in any state or before login: CAPABILITY, NOOP, CHECK, LOGOUT, ID,
ENABLE, STARTTLS, LOGIN, AUTHENTICATE (RFC 9051 §6.1, §6.2; RFC 2971; RFC 5161; RFC 4959).

Invariants: no password is accepted in clear text outside TLS unless the client is in
``trusted_networks`` (LOGINDISABLED, RFC 9051 §6.2.3); each failure waits the shared
delay (``mail.auth``) and after ``max_auth_failures`` the connection is closed.
"""

from __future__ import annotations

import binascii

from postoffice.errors import Kind, MailError
from postoffice.store.api import Account
from postoffice.wire.imap import commands as c
from postoffice.wire.imap import response as r
from postoffice.wire.imap.errors import ImapSyntaxError
from postoffice.wire.imap.parser import SASLCancelled, parse_sasl_response
from postoffice.wire.imap.reader import LineReceived, Rejected

from .errors import Refusal, SessionEnd, failure_response
from .session import Session

__all__ = ["capability", "noop", "check", "logout", "id_", "enable", "starttls", "login", "authenticate"]

SERVER_ID = (("name", "postoffice"), ("vendor", "postoffice"), ("support-url", None))


async def capability(s: Session, cmd: c.Capability) -> bytes | None:
    s.write(r.capability_response(s.capabilities()))
    return None


async def noop(s: Session, cmd: c.Noop) -> bytes | None:
    if s.view is not None:
        s.view.dirty = True  # NOOP is the classic way to poll: always look (RFC 9051 §6.1.2)
    return None


async def check(s: Session, cmd: c.Check) -> bytes | None:
    if s.view is not None:
        s.view.dirty = True
    return None


async def logout(s: Session, cmd: c.Logout) -> bytes | None:
    s.write(r.bye("logging out"))
    raise SessionEnd(r.tagged(cmd.tag, "OK", "LOGOUT completed"))


async def id_(s: Session, cmd: c.Id) -> bytes | None:
    # RFC 2971 §3.3: the server's own ID; no version, to give attackers less.
    s.write(b"* ID " + r.plist([v for pair in SERVER_ID for v in pair]) + b"\r\n")
    return None


ENABLEABLE = {"IMAP4REV2", "UTF8=ACCEPT", "CONDSTORE", "QRESYNC"}


async def enable(s: Session, cmd: c.Enable) -> bytes | None:
    """RFC 5161: answer ``* ENABLED`` with the capabilities newly enabled."""
    done: list[str] = []
    for cap in cmd.capabilities:
        if cap in ENABLEABLE and cap not in s.enabled:
            s.enabled.add(cap)
            done.append("IMAP4rev2" if cap == "IMAP4REV2" else cap)
            if cap == "QRESYNC" and s.view is not None:
                s.view.qresync = True
            if cap == "IMAP4REV2" and s.view is not None:
                s.view.show_recent = False  # RFC 9051 has no \Recent
    if s.utf8:
        s.reader.utf8_names = True
    s.write(r.enabled_response(done))
    if {"CONDSTORE", "QRESYNC"} & set(done):
        # RFC 7162 §3.2.3: QRESYNC implies CONDSTORE; with a mailbox selected the view's
        # HIGHESTMODSEQ follows the ENABLED response (RFC 7162 §3.1).
        s.enable_condstore()
    return None


async def starttls(s: Session, cmd: c.StartTLS) -> bytes | None:
    if s.server.tls is None or s.conn.is_tls:
        raise Refusal(r.BAD, "TLS is not available or already active")
    s.write(r.tagged(cmd.tag, "OK", "begin TLS negotiation now"))
    await s.flush()
    await s.conn.start_tls(s.server.tls)
    s.restart_reader()  # RFC 9051 §6.2.1: nothing sent before the handshake is read after it
    return b""


async def _accept(s: Session, tag: str, account: Account) -> bytes:
    if not await s.login(account):  # max_connections_per_user, counted over every process
        raise Refusal(r.NO_LIMIT, "too many connections for this user")
    # RFC 9051 §6.2.2: the OK may carry the new capabilities.
    return r.OK_CAPABILITY.tagged(tag, "logged in", args=" ".join(s.capabilities()))


async def _failed(s: Session, tag: str, exc: MailError) -> bytes:
    if exc.kind is Kind.AUTH_FAILED:
        s.auth_failures += 1
        if s.auth_failures >= s.limits.max_auth_failures:
            s.write(failure_response(tag, exc))
            raise SessionEnd(r.bye("too many authentication failures"))
    return failure_response(tag, exc)


async def login(s: Session, cmd: c.Login) -> bytes | None:
    if not s.plaintext_allowed:
        raise Refusal(r.NO_PRIVACYREQUIRED, "LOGIN is disabled without TLS")  # RFC 9051 §6.2.3
    try:
        account = await s.mail.auth.check_password(cmd.username, cmd.password, s.conn.peer_ip)
    except MailError as exc:
        return await _failed(s, cmd.tag, exc)
    return await _accept(s, cmd.tag, account)


async def authenticate(s: Session, cmd: c.Authenticate) -> bytes | None:
    """RFC 9051 §6.2.2 with SASL-IR (RFC 4959); the exchange itself is ``mail.auth``'s."""

    async def exchange(challenge: bytes) -> bytes | None:
        s.write(b"+ " + binascii.b2a_base64(challenge, newline=False) + b"\r\n")
        await s.flush()
        s.reader.expect_line()
        event = await s.next_event()
        if event is None:
            raise MailError(Kind.INVALID, "connection closed during authentication")
        if isinstance(event, Rejected):
            raise MailError(Kind.INVALID, event.error.text)
        if not isinstance(event, LineReceived):
            raise MailError(Kind.INVALID, "unexpected input during authentication")
        try:
            return parse_sasl_response(event.line)
        except SASLCancelled:
            return None
        except ImapSyntaxError as exc:
            raise MailError(Kind.INVALID, exc.text) from None

    try:
        result = await s.mail.auth.authenticate(
            cmd.mechanism, cmd.initial_response, exchange, client_ip=s.conn.peer_ip, tls=s.conn.is_tls
        )
    except MailError as exc:
        if exc.kind is Kind.INVALID:
            # RFC 9051 §6.2.2: a cancelled exchange or an unknown mechanism is BAD/NO.
            return r.tagged(cmd.tag, "BAD" if "cancel" in exc.text else "NO", exc.text)
        return await _failed(s, cmd.tag, exc)
    return await _accept(s, cmd.tag, result.account)

