"""POP3 command lines → frozen dataclasses (RFC 1939, 2449, 2595, 5034, 6856).

Owns: :func:`parse_command` and one dataclass per keyword.

Invariants:
- Keywords are case-insensitive (RFC 1939 §3); arguments are separated by exactly one
  space; trailing spaces are ignored, except in PASS, whose argument is the whole rest of
  the line, spaces included (RFC 1939 §7).
- RFC 2449 §4: each argument is at most 40 characters. Exempt: the PASS password and the
  USER name (generated passwords and long addresses exceed 40; the line limit still
  bounds them) and the AUTH initial response (RFC 5034 §4 bounds it by the line).
- Message numbers are positive decimal integers, digits only (no sign); TOP's line count
  may be 0.
- Only :class:`POP3SyntaxError` is ever raised (``.response`` is the ``-ERR`` to send);
  an unknown keyword raises its subclass :class:`UnknownCommand`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from postoffice.wire.pop3.responses import (
    ERR_ARGUMENT_TOO_LONG,
    ERR_BAD_MESSAGE_NUMBER,
    ERR_SYNTAX,
    ERR_UNKNOWN_COMMAND,
    Response,
)

__all__ = [
    "Apop",
    "Auth",
    "Capa",
    "Command",
    "Dele",
    "List",
    "Noop",
    "Pass",
    "Quit",
    "Retr",
    "Rset",
    "Stat",
    "Stls",
    "Top",
    "Uidl",
    "User",
    "Utf8",
    "COMMANDS",
    "MAX_ARGUMENT_LENGTH",
    "POP3SyntaxError",
    "UnknownCommand",
    "parse_command",
]

MAX_ARGUMENT_LENGTH = 40  # RFC 2449 §4


class POP3SyntaxError(ValueError):
    """A command line the parser refuses; ``response`` is the ``-ERR`` to answer."""

    def __init__(self, response: Response, detail: str = "") -> None:
        super().__init__(detail or response.text)
        self.response = response
        self.detail = detail or response.text


class UnknownCommand(POP3SyntaxError):
    """Not a POP3 keyword at all."""


@dataclass(frozen=True, slots=True)
class User:
    keyword: ClassVar[str] = "USER"
    name: str


@dataclass(frozen=True, slots=True)
class Pass:
    keyword: ClassVar[str] = "PASS"
    password: str

    def __repr__(self) -> str:  # keep passwords out of logs
        return "Pass(password=<hidden>)"


@dataclass(frozen=True, slots=True)
class Quit:
    keyword: ClassVar[str] = "QUIT"


@dataclass(frozen=True, slots=True)
class Stat:
    keyword: ClassVar[str] = "STAT"


@dataclass(frozen=True, slots=True)
class List:
    keyword: ClassVar[str] = "LIST"
    msg: int | None = None


@dataclass(frozen=True, slots=True)
class Retr:
    keyword: ClassVar[str] = "RETR"
    msg: int


@dataclass(frozen=True, slots=True)
class Dele:
    keyword: ClassVar[str] = "DELE"
    msg: int


@dataclass(frozen=True, slots=True)
class Noop:
    keyword: ClassVar[str] = "NOOP"


@dataclass(frozen=True, slots=True)
class Rset:
    keyword: ClassVar[str] = "RSET"


@dataclass(frozen=True, slots=True)
class Top:
    keyword: ClassVar[str] = "TOP"
    msg: int
    lines: int


@dataclass(frozen=True, slots=True)
class Uidl:
    keyword: ClassVar[str] = "UIDL"
    msg: int | None = None


@dataclass(frozen=True, slots=True)
class Capa:
    keyword: ClassVar[str] = "CAPA"


@dataclass(frozen=True, slots=True)
class Stls:
    keyword: ClassVar[str] = "STLS"


@dataclass(frozen=True, slots=True)
class Auth:
    """RFC 5034 §4 ``AUTH mechanism [initial-response]``; bare ``AUTH`` lists mechanisms.

    ``initial_response`` is base64 as sent; "=" stands for an empty response.
    """

    keyword: ClassVar[str] = "AUTH"
    mechanism: str | None = None
    initial_response: str | None = None


@dataclass(frozen=True, slots=True)
class Utf8:
    keyword: ClassVar[str] = "UTF8"


@dataclass(frozen=True, slots=True)
class Apop:
    """RFC 1939 §7 ``APOP name digest``; parsed so the server can refuse it cleanly."""

    keyword: ClassVar[str] = "APOP"
    name: str
    digest: str


Command = User | Pass | Quit | Stat | List | Retr | Dele | Noop | Rset | Top | Uidl | Capa | Stls | Auth | Utf8 | Apop

COMMANDS: tuple[type[Command], ...] = (
    User, Pass, Quit, Stat, List, Retr, Dele, Noop, Rset, Top, Uidl, Capa, Stls, Auth, Utf8, Apop,
)  # fmt: skip
"""Every command class; ``cls.keyword`` is its keyword (the server's command table keys on it)."""

_KEYWORDS = frozenset(cls.keyword for cls in COMMANDS)
_DIGITS = re.compile(r"[0-9]+\Z")
_MECHANISM = re.compile(r"[A-Z0-9_-]{1,20}\Z")  # RFC 5034 §4 / RFC 4422 sasl-mech
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]*+={0,2}|=)\Z")
_DIGEST = re.compile(r"[0-9a-f]{32}\Z")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def _syntax(detail: str) -> POP3SyntaxError:
    return POP3SyntaxError(ERR_SYNTAX.with_text(detail), detail)


def _msg_number(text: str, *, allow_zero: bool = False) -> int:
    if len(text) > MAX_ARGUMENT_LENGTH:
        raise POP3SyntaxError(ERR_ARGUMENT_TOO_LONG)
    if not _DIGITS.match(text):
        raise POP3SyntaxError(ERR_BAD_MESSAGE_NUMBER, f"Not a message number: {text!r}")
    value = int(text)
    if value == 0 and not allow_zero:
        raise POP3SyntaxError(ERR_BAD_MESSAGE_NUMBER, "Message numbers start at 1")
    return value


def _args(rest: str, keyword: str, low: int, high: int) -> list[str]:
    args = rest.split(" ") if rest else []
    if any(arg == "" for arg in args):
        raise _syntax("Arguments are separated by one space")
    if not low <= len(args) <= high:
        raise _syntax(f"Wrong number of arguments for {keyword}")
    return args


def parse_command(line: bytes) -> Command:
    """Parse one command line (CRLF optional). Raises :class:`POP3SyntaxError` only."""
    if line.endswith(b"\r\n"):
        line = line[:-2]
    elif line.endswith(b"\n"):
        line = line[:-1]
    keyword_bytes, space, rest_bytes = line.partition(b" ")
    keyword = keyword_bytes.decode("ascii", "replace").upper()
    if keyword not in _KEYWORDS:
        raise UnknownCommand(ERR_UNKNOWN_COMMAND)
    try:
        rest = rest_bytes.decode("utf-8")  # RFC 6856 §2: UTF-8 user names and passwords
    except UnicodeDecodeError:
        raise _syntax("Invalid UTF-8") from None
    if _CONTROLS.search(rest):
        raise _syntax("Control character in command")
    if keyword == "PASS":
        if not space or rest == "":
            raise _syntax("PASS needs a password")
        return Pass(rest)  # RFC 1939 §7: spaces may be part of the password
    rest = rest.rstrip(" ")
    if keyword == "USER":
        (name,) = _args(rest, keyword, 1, 1)
        return User(name)
    if keyword == "AUTH":
        args = _args(rest, keyword, 0, 2)
        if not args:
            return Auth()
        mechanism = args[0].upper()
        if not _MECHANISM.match(mechanism):
            raise _syntax("Bad SASL mechanism name")
        if len(args) == 2 and not _BASE64.match(args[1]):
            raise _syntax("Initial response is not base64")
        return Auth(mechanism, args[1] if len(args) == 2 else None)
    args = _args(rest, keyword, 0, 2)
    if any(len(arg) > MAX_ARGUMENT_LENGTH for arg in args):
        raise POP3SyntaxError(ERR_ARGUMENT_TOO_LONG)
    if keyword in ("LIST", "UIDL"):
        if len(args) > 1:
            raise _syntax(f"{keyword} takes at most one argument")
        msg = _msg_number(args[0]) if args else None
        return List(msg) if keyword == "LIST" else Uidl(msg)
    if keyword in ("RETR", "DELE"):
        if len(args) != 1:
            raise _syntax(f"{keyword} needs a message number")
        return Retr(_msg_number(args[0])) if keyword == "RETR" else Dele(_msg_number(args[0]))
    if keyword == "TOP":
        if len(args) != 2:
            raise _syntax("TOP needs a message number and a line count")
        return Top(_msg_number(args[0]), _msg_number(args[1], allow_zero=True))
    if keyword == "APOP":
        if len(args) != 2 or not _DIGEST.match(args[1].lower()):
            raise _syntax("APOP name digest")
        return Apop(args[0], args[1].lower())
    if args:
        raise _syntax(f"{keyword} takes no argument")
    return _SIMPLE[keyword]


_SIMPLE: dict[str, Command] = {
    "QUIT": Quit(),
    "STAT": Stat(),
    "NOOP": Noop(),
    "RSET": Rset(),
    "CAPA": Capa(),
    "STLS": Stls(),
    "UTF8": Utf8(),
}
