"""The SMTP server (RFC 5321 and its extensions): one engine, two policies.

Owns the MX listener (``smtp``: mail from other servers, for local recipients only) and
the submission listeners (``submission`` with STARTTLS, ``submissions`` with implicit TLS:
users send mail after AUTH). The syntax lives in ``wire.smtp``; storage is reached only
through ``MailService.deliver``, streamed in constant memory.

Modules: ``server`` (connection loop, limits, timeouts), ``commands`` (the command
table), ``handlers`` (one per command), ``policy`` (MX and submission hooks),
``delivery`` (streaming DATA/BDAT into deliver), ``session`` (state and buffers),
``errors`` (MailError -> reply, in one place).

Invariants: 250 after DATA / BDAT LAST only once the message is durable; only CRLF.CRLF
ends DATA; bytes pipelined after STARTTLS are discarded; never an open relay.
"""

from __future__ import annotations

import ssl

from postoffice.config import Config
from postoffice.mail.service import MailService

from .commands import COMMANDS, CommandSpec
from .policy import MXPolicy, Policy, SubmissionPolicy
from .server import SMTPServer
from .session import State

__all__ = ["make_server", "SMTPServer", "COMMANDS", "CommandSpec", "Policy", "MXPolicy", "SubmissionPolicy", "State"]


def make_server(mail: MailService, config: Config, *, listener: str, tls: ssl.SSLContext | None) -> SMTPServer:
    """The server for ``listener`` ("smtp", "submission" or "submissions")."""
    return SMTPServer(mail, config, listener=listener, tls=tls)
