"""The IMAP server: IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) with the extensions
real clients rely on (docs/rfc-status.md lists them).

Layout: ``server.py`` (connection loop, state check, dispatch), ``commands.py`` (the
command table), ``session.py`` (per-connection state), ``view.py`` (the selected-mailbox
view, the only source of untagged EXISTS/EXPUNGE/VANISHED/FETCH updates), ``errors.py``
(MailError and refusals -> NO/BAD, in one place), and handlers by command group:
``auth.py``, ``mailboxes.py``, ``messages.py``, ``fetch.py``, ``search.py``, and
``notify.py`` (RFC 5465: the notifications a session asked for, between commands too).

Invariants: commands are parsed whole (``wire.imap``) before their state is checked;
storage is reached only through ``MailService``; big literals stream both ways.
"""

from __future__ import annotations

import ssl

from postoffice.config import Config
from postoffice.mail.service import MailService

from .server import IMAPServer

__all__ = ["make_server", "IMAPServer"]


def make_server(mail: MailService, config: Config, *, listener: str, tls: ssl.SSLContext | None) -> IMAPServer:
    """The IMAP server for one listener ("imap": STARTTLS offered; "imaps": implicit TLS)."""
    return IMAPServer(mail, config, listener=listener, tls=tls)
