"""AUTHORIZATION-state handlers: USER, PASS, AUTH, APOP, STLS, UTF8, and CAPA.

RFC 1939 §4/§7 (USER, PASS), RFC 5034 (AUTH with SASL PLAIN, LOGIN, SCRAM-SHA-256,
initial response "=" for empty), RFC 2595 (STLS), RFC 6856 (UTF8), RFC 2449 (CAPA).

Invariants:
- Plain-text passwords (USER/PASS, PLAIN, LOGIN) are refused without TLS outside
  ``auth.trusted_networks`` with ``-ERR [AUTH]`` (RFC 3206 §4), and not advertised there.
- A failed login waits the shared failure delay (``mail.auth``) before its answer;
  the ``max_auth_failures``-th failure ends the session.
- APOP is parsed and refused (docs/architecture.md §9: it needs the clear password).
"""

from __future__ import annotations

import base64
import binascii

from postoffice.errors import Kind, MailError
from postoffice.store.api import Account
from postoffice.wire.pop3 import (
    ERR_APOP_NOT_SUPPORTED,
    ERR_AUTH_MECHANISM,
    ERR_ENCRYPTION_REQUIRED,
    ERR_NEED_USER,
    ERR_TLS_ACTIVE,
    ERR_TLS_UNAVAILABLE,
    ERR_UTF8,
    OK_CAPA,
    OK_LOGGED_IN,
    OK_STLS,
    OK_USER,
    OK_UTF8,
    Apop,
    Auth,
    Capa,
    Pass,
    Stls,
    User,
    Utf8,
    multiline,
)
from postoffice.wire.sasl import MECHANISMS

from .errors import Refusal, SessionEnd, failure_response
from .session import Session, State

__all__ = ["user", "pass_", "auth", "apop", "stls", "utf8", "capa", "capabilities", "login_name"]

IMPLEMENTATION = "postoffice"


def capabilities(session: Session) -> list[str]:
    """RFC 2449 §6 capability lines for this session's state and transport."""
    plaintext = session.plaintext_allowed()
    lines = ["TOP", "UIDL"]
    if plaintext and session.state is State.AUTHORIZATION:
        lines.append("USER")  # RFC 2595 §4: not offered where it would be refused
    lines += [
        "RESP-CODES",  # RFC 2449 §6.4
        "AUTH-RESP-CODE",  # RFC 3206 §6
        "PIPELINING",  # RFC 2449 §6.6
        "EXPIRE NEVER",  # RFC 2449 §6.7: messages are kept until the user deletes them
        "LOGIN-DELAY 0",  # RFC 2449 §6.8
        f"IMPLEMENTATION {IMPLEMENTATION}",
    ]
    if session.state is State.AUTHORIZATION:
        mechanisms = session.mail.auth.mechanisms(session.conn.peer_ip, session.conn.is_tls)
        if mechanisms:
            lines.append("SASL " + " ".join(mechanisms))  # RFC 5034 §6
        if not session.conn.is_tls and session.server.tls is not None:
            lines.append("STLS")  # RFC 2595 §4
        lines.append("UTF8 USER")  # RFC 6856 §2: UTF-8 user names and passwords via USER/PASS
    return lines


def login_name(session: Session, name: str) -> str:
    """A USER name without "@" is that local part at the first local domain (so the
    classic ``USER alice`` works); anything else is the address itself."""
    name = name.strip()
    if "@" not in name and session.server.config.domains:
        return f"{name}@{session.server.config.domains[0]}"
    return name


async def capa(session: Session, command: Capa) -> None:
    session.send(multiline(OK_CAPA, capabilities(session)))


async def user(session: Session, command: User) -> None:
    if not session.plaintext_allowed():
        raise Refusal(ERR_ENCRYPTION_REQUIRED)
    if not command.name.isascii() and not session.utf8:
        raise Refusal(ERR_UTF8)  # RFC 6856 §2: UTF-8 names after UTF8 only
    session.user = login_name(session, command.name)
    session.send(OK_USER)


async def pass_(session: Session, command: Pass) -> None:
    name, session.user = session.user, None  # RFC 1939 §7: a failed PASS starts over at USER
    if name is None:
        raise Refusal(ERR_NEED_USER)
    if not session.plaintext_allowed():
        raise Refusal(ERR_ENCRYPTION_REQUIRED)
    if not command.password.isascii() and not session.utf8:
        raise Refusal(ERR_UTF8)
    try:
        account = await session.mail.auth.check_password(name, command.password, session.conn.peer_ip)
    except MailError as exc:
        await _failed(session, exc)
        return
    await _logged_in(session, account)


async def auth(session: Session, command: Auth) -> None:
    if command.mechanism is None:
        # No SASL mechanism: list them (the RFC 1734 form many clients still probe with).
        mechanisms = session.mail.auth.mechanisms(session.conn.peer_ip, session.conn.is_tls)
        session.send(multiline(OK_CAPA.with_text("SASL mechanisms follow"), mechanisms))
        return
    if command.mechanism not in MECHANISMS:
        raise Refusal(ERR_AUTH_MECHANISM)
    initial: bytes | None = None
    if command.initial_response is not None:
        # RFC 5034 §4: "=" is an empty initial response.
        initial = b"" if command.initial_response == "=" else _b64(command.initial_response)

    async def exchange(challenge: bytes) -> bytes | None:
        # RFC 5034 §4: "+ " and the base64 challenge; the client answers one line, "*" cancels.
        session.send(b"+ " + base64.b64encode(challenge) + b"\r\n")
        await session.flush()
        line = await session.readline(session.limits.max_line_length)
        if not line.endswith(b"\n"):
            raise SessionEnd()
        answer = line.rstrip(b"\r\n")
        if answer == b"*":
            return None
        return _b64(answer.decode("ascii", "replace"))

    try:
        result = await session.mail.auth.authenticate(
            command.mechanism, initial, exchange, client_ip=session.conn.peer_ip, tls=session.conn.is_tls
        )
    except MailError as exc:
        await _failed(session, exc, during_auth=True)
        return
    await _logged_in(session, result.account)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MailError(Kind.INVALID, "not base64") from None


async def _failed(session: Session, exc: MailError, *, during_auth: bool = False) -> None:
    response = failure_response(exc, during_auth=during_auth)
    if exc.kind is not Kind.AUTH_FAILED:
        raise Refusal(response)
    session.auth_failures += 1  # the delay was already waited by mail.auth
    if session.auth_failures >= session.limits.max_auth_failures:
        raise SessionEnd(response)
    session.send(response)


async def _logged_in(session: Session, account: Account) -> None:
    maildrop = await session.enter_transaction(account)
    count, size = maildrop.stat()
    session.send(OK_LOGGED_IN.with_text(f"{count} messages ({size} octets)"))


async def apop(session: Session, command: Apop) -> None:
    raise Refusal(ERR_APOP_NOT_SUPPORTED)


async def stls(session: Session, command: Stls) -> None:
    if session.conn.is_tls:
        raise Refusal(ERR_TLS_ACTIVE)
    if session.server.tls is None:
        raise Refusal(ERR_TLS_UNAVAILABLE)
    session.send(OK_STLS)
    await session.flush()
    # RFC 2595 §4 / CVE-2011-0411: bytes pipelined after STLS are discarded by start_tls.
    await session.conn.start_tls(session.server.tls)
    session.user = None  # nothing learnt before TLS carries over
    session.utf8 = False


async def utf8(session: Session, command: Utf8) -> None:
    session.utf8 = True  # RFC 6856 §2: valid in AUTHORIZATION; UTF-8 names and text
    session.send(OK_UTF8)
