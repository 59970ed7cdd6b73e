"""POP3 server (RFC 1939 with RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH, RFC 6856 UTF8).

Serves each account's INBOX, the same messages IMAP and webmail see, through
``mail.MailService`` only (docs/architecture.md §2).

Modules: ``server`` (POP3Server: the connection loop, limits, dispatch), ``commands``
(the command table: keyword -> handler, states), ``session`` (state, maildrop lock,
reading with the idle timer), ``maildrop`` (the session's fixed message list, marks,
UIDL), ``auth`` (USER, PASS, AUTH, APOP, STLS, UTF8, CAPA), ``transaction`` (STAT, LIST,
RETR, DELE, NOOP, RSET, TOP, UIDL, QUIT/UPDATE), ``errors`` (the one MailError -> -ERR
mapping).

Invariants:
- The maildrop lock lives in the store (``mail.lock_maildrop``) and is released when the
  session ends in any way; a second session gets ``-ERR [IN-USE]``.
- Deletions happen only in UPDATE (QUIT in TRANSACTION), in one store transaction.
- UIDL is "<UIDVALIDITY>.<UID>": stable, unique, never reused.
"""

from __future__ import annotations

import ssl

from postoffice.config import Config
from postoffice.mail.service import MailService

from .commands import COMMANDS, CommandSpec
from .server import POP3Server
from .session import State

__all__ = ["make_server", "POP3Server", "COMMANDS", "CommandSpec", "State"]


def make_server(mail: MailService, config: Config, *, listener: str, tls: ssl.SSLContext | None) -> POP3Server:
    """The POP3 server for ``listener`` ("pop3" or "pop3s"); ``tls`` serves STLS."""
    return POP3Server(mail, config, listener=listener, tls=tls)
