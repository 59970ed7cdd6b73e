"""Sans-I/O POP3 syntax: command lines in, frozen dataclasses out; responses out as bytes.

No asyncio, no store, no policy: ``protocols/pop3`` checks the session state (AUTHORIZATION,
TRANSACTION, UPDATE), runs handlers and reads the maildrop; this package only parses and
formats.

API (everything is re-exported here):

Commands (``commands.py``)
    ``parse_command(line: bytes) -> Command`` — one line, CRLF optional. Raises only
    :class:`POP3SyntaxError` (``.response`` is the ``-ERR`` to send); unknown keywords raise
    its subclass :class:`UnknownCommand`. Classes (``cls.keyword`` is the keyword,
    ``COMMANDS`` lists them): ``User(name)``, ``Pass(password)`` (the rest of the line,
    spaces included; repr hides it), ``Quit()``, ``Stat()``, ``List(msg | None)``,
    ``Retr(msg)``, ``Dele(msg)``, ``Noop()``, ``Rset()``, ``Top(msg, lines)``,
    ``Uidl(msg | None)``, ``Capa()``, ``Stls()``, ``Auth(mechanism | None,
    initial_response | None)``, ``Utf8()``, ``Apop(name, digest)`` (parsed only to be
    refused: docs/architecture.md §9). ``MAX_ARGUMENT_LENGTH`` = 40 (RFC 2449 §4).

Responses (``responses.py``)
    ``Response(ok, code, text)`` — ``to_bytes()`` / ``bytes(response)``, ``with_text()``;
    constants ``OK_*`` and ``ERR_*`` (``ERR_IN_USE``, ``ERR_LOGIN_DELAY``, ``ERR_SYS_TEMP``,
    ``ERR_SYS_PERM``, ``ERR_AUTH``, ``ERR_UTF8`` carry RFC 2449 / 3206 / 6856 codes), all
    in ``ALL_RESPONSES``. ``multiline(first, lines) -> bytes`` for CAPA / LIST / UIDL
    listings. ``DotStuffer``: ``feed(chunk) -> bytes`` then ``finish() -> bytes`` for
    RETR / TOP bodies streamed from the blob store; ``dot_stuff(body)`` does it at once.

Line splitting: POP3 lines end in CRLF like SMTP's; ``postoffice.wire.smtp.split_command_lines``
serves both, and the server checks ``limits.pop3.max_line_length`` (``ERR_LINE_TOO_LONG``).
"""

from __future__ import annotations

from postoffice.wire.pop3.commands import (
    COMMANDS,
    MAX_ARGUMENT_LENGTH,
    Apop,
    Auth,
    Capa,
    Command,
    Dele,
    List,
    Noop,
    Pass,
    POP3SyntaxError,
    Quit,
    Retr,
    Rset,
    Stat,
    Stls,
    Top,
    Uidl,
    UnknownCommand,
    User,
    Utf8,
    parse_command,
)
from postoffice.wire.pop3.responses import *  # noqa: F403  (the response constants, by name)
from postoffice.wire.pop3.responses import __all__ as _response_names

__all__ = [
    "COMMANDS",
    "MAX_ARGUMENT_LENGTH",
    "Apop",
    "Auth",
    "Capa",
    "Command",
    "Dele",
    "List",
    "Noop",
    "Pass",
    "POP3SyntaxError",
    "Quit",
    "Retr",
    "Rset",
    "Stat",
    "Stls",
    "Top",
    "Uidl",
    "UnknownCommand",
    "User",
    "Utf8",
    "parse_command",
    *_response_names,
]
