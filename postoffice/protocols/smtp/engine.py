"""What the command handlers see of the SMTP server: the :class:`Engine` protocol.

``server.SMTPServer`` implements it; handlers (``handlers``, ``delivery``) depend on this
protocol only, so the server imports its handlers and never the other way round (an
import-linter contract keeps it so).
"""

from __future__ import annotations

import ssl
from typing import Protocol

from postoffice.config import Config, SMTPLimits
from postoffice.mail.service import MailService

from .policy import Policy

__all__ = ["Engine"]


class Engine(Protocol):
    mail: MailService
    config: Config
    limits: SMTPLimits  # [limits.smtp]
    tls: ssl.SSLContext | None  # STARTTLS offered when set (the listener did implicit TLS)
    policy: Policy  # MX or submission (policy.py)
