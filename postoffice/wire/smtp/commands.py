"""SMTP command lines → frozen dataclasses (RFC 5321 §4.1 and the ESMTP extensions).

Owns: :func:`parse_command` and one dataclass per verb, and the MAIL / RCPT parameters of
SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), RET / ENVID / NOTIFY /
ORCPT (RFC 3461) and AUTH= (RFC 4954 §5).

Invariants:
- Verbs and parameter keywords are case-insensitive; a command comes back whole or
  :class:`SMTPSyntaxError` is raised carrying the reply to send (never another exception,
  whatever the bytes).
- An unknown verb raises :class:`UnknownCommand` (500 5.5.2); an unknown or misplaced
  parameter 555 5.5.4 (RFC 5321 §4.1.1.11); a bad parameter value 501 5.5.4.
- xtext values (ENVID, ORCPT, AUTH=) come back decoded (RFC 3461 §4).
- Leniencies, each common in the field: spaces after ``FROM:`` / ``TO:`` and trailing
  spaces or tabs at the end of a line are ignored. Nothing else is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from postoffice.wire.smtp.address import Address, AddressSyntaxError, Path, is_domain, match_path
from postoffice.wire.smtp.replies import (
    R500_UNRECOGNISED,
    R501_BAD_HELO,
    R501_BAD_RECIPIENT_SYNTAX,
    R501_BAD_SENDER_SYNTAX,
    R501_SYNTAX,
    R553_SMTPUTF8_REQUIRED,
    R555_BAD_PARAM,
    SMTPSyntaxError,
    UnknownCommand,
)

__all__ = [
    "Auth",
    "Bdat",
    "Command",
    "Data",
    "Ehlo",
    "Expn",
    "Helo",
    "Help",
    "MailFrom",
    "MailParams",
    "Noop",
    "Quit",
    "RcptParams",
    "RcptTo",
    "Rset",
    "StartTls",
    "Vrfy",
    "COMMANDS",
    "decode_xtext",
    "encode_xtext",
    "parse_command",
]


# --- parameters --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MailParams:
    """MAIL FROM parameters; None / False where the client did not give one."""

    size: int | None = None  # RFC 1870 SIZE=
    body: str | None = None  # "7BIT" | "8BITMIME" | "BINARYMIME" (RFC 6152, RFC 3030)
    smtputf8: bool = False  # RFC 6531 §3.4
    ret: str | None = None  # "FULL" | "HDRS" (RFC 3461 §4.3)
    envid: str | None = None  # decoded xtext (RFC 3461 §4.4)
    auth: str | None = None  # decoded xtext; "<>" when the submitter is unknown (RFC 4954 §5)


@dataclass(frozen=True, slots=True)
class RcptParams:
    """RCPT TO parameters (RFC 3461 §4.1, §4.2)."""

    notify: tuple[str, ...] | None = None  # ("NEVER",) or a subset of SUCCESS, FAILURE, DELAY
    orcpt: tuple[str, str] | None = None  # (addr-type, decoded address), e.g. ("rfc822", "a@b")


# --- commands ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ehlo:
    verb: ClassVar[str] = "EHLO"
    domain: str
    domain_is_valid: bool  # a Domain or address-literal by RFC 5321 §4.1.1.1; policy decides


@dataclass(frozen=True, slots=True)
class Helo:
    verb: ClassVar[str] = "HELO"
    domain: str
    domain_is_valid: bool


@dataclass(frozen=True, slots=True)
class MailFrom:
    verb: ClassVar[str] = "MAIL"
    path: Path
    params: MailParams = MailParams()

    @property
    def sender(self) -> Address | None:
        """The sender mailbox; None for the null reverse-path ``<>`` (bounces)."""
        return self.path.address


@dataclass(frozen=True, slots=True)
class RcptTo:
    verb: ClassVar[str] = "RCPT"
    path: Path
    params: RcptParams = RcptParams()

    @property
    def recipient(self) -> Address:
        assert self.path.address is not None  # parse_forward_path never yields the null path
        return self.path.address


@dataclass(frozen=True, slots=True)
class Data:
    verb: ClassVar[str] = "DATA"


@dataclass(frozen=True, slots=True)
class Bdat:
    """RFC 3030 §2: ``BDAT chunk-size [SP "LAST"]``."""

    verb: ClassVar[str] = "BDAT"
    size: int
    last: bool


@dataclass(frozen=True, slots=True)
class Rset:
    verb: ClassVar[str] = "RSET"


@dataclass(frozen=True, slots=True)
class Noop:
    verb: ClassVar[str] = "NOOP"
    argument: str | None = None  # RFC 5321 §4.1.1.9: parameter ignored


@dataclass(frozen=True, slots=True)
class Quit:
    verb: ClassVar[str] = "QUIT"


@dataclass(frozen=True, slots=True)
class Vrfy:
    verb: ClassVar[str] = "VRFY"
    argument: str


@dataclass(frozen=True, slots=True)
class Expn:
    verb: ClassVar[str] = "EXPN"
    argument: str


@dataclass(frozen=True, slots=True)
class Help:
    verb: ClassVar[str] = "HELP"
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class StartTls:
    verb: ClassVar[str] = "STARTTLS"


@dataclass(frozen=True, slots=True)
class Auth:
    """RFC 4954 §4: ``AUTH mechanism [SP initial-response]``.

    ``initial_response`` is the base64 text as sent ("=" stands for an empty response);
    ``mechanism`` is uppercased.
    """

    verb: ClassVar[str] = "AUTH"
    mechanism: str
    initial_response: str | None = None


Command = Ehlo | Helo | MailFrom | RcptTo | Data | Bdat | Rset | Noop | Quit | Vrfy | Expn | Help | StartTls | Auth

COMMANDS: tuple[type[Command], ...] = (
    Ehlo, Helo, MailFrom, RcptTo, Data, Bdat, Rset, Noop, Quit, Vrfy, Expn, Help, StartTls, Auth,
)  # fmt: skip
"""Every command class; ``cls.verb`` is its verb (the server's command table keys on it)."""

# --- xtext (RFC 3461 §4) -----------------------------------------------------

_XTEXT = re.compile(r"(?:[\x21-\x2a\x2c-\x3c\x3e-\x7e]|\+[0-9A-F]{2})*+\Z")
_XTEXT_HEX = re.compile(r"\+([0-9A-F]{2})")


def decode_xtext(text: str) -> str:
    """Decode RFC 3461 xtext; raises ValueError on malformed input (lowercase hex included)."""
    if not _XTEXT.match(text):
        raise ValueError("malformed xtext")
    raw = _XTEXT_HEX.sub(lambda m: chr(int(m.group(1), 16)), text)
    return raw


def encode_xtext(text: str) -> str:
    """Encode as xtext: "+", "=" and characters outside "!".."~" become ``+XX``."""
    out: list[str] = []
    for char in text:
        code = ord(char)
        if 0x21 <= code <= 0x7E and char not in "+=":
            out.append(char)
        elif code <= 0xFF:
            out.append(f"+{code:02X}")
        else:
            out.extend(f"+{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


# --- parsing -----------------------------------------------------------------

_KEYWORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*+\Z")  # RFC 5321 esmtp-keyword
_VALUE_ASCII = re.compile(r"[\x21-\x3c\x3e-\x7e]++\Z")  # esmtp-value
_VALUE_UTF8 = re.compile(r"[\x21-\x3c\x3e-\x7e\u00a0-\U0010ffff]++\Z")  # RFC 6531 §3.3
_DIGITS = re.compile(r"[0-9]{1,20}\Z")
_MECHANISM = re.compile(r"[A-Z0-9_-]{1,20}\Z")  # RFC 4954 §4 sasl-mech
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]*+={0,2}|=)\Z")
_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]++\Z")
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_NOTIFY_EVENTS = ("SUCCESS", "FAILURE", "DELAY")


def _syntax(detail: str) -> SMTPSyntaxError:
    return SMTPSyntaxError(R501_SYNTAX.with_text(detail), detail)


def _bad_param(detail: str) -> SMTPSyntaxError:
    return SMTPSyntaxError(R555_BAD_PARAM.with_text(detail), detail)


def _split_params(text: str, *, smtputf8: bool) -> list[tuple[str, str | None]]:
    """``Mail-parameters = esmtp-param *(SP esmtp-param)`` → [(KEYWORD, value or None)]."""
    params: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    value_pattern = _VALUE_UTF8 if smtputf8 else _VALUE_ASCII
    for item in text.split():
        keyword, eq, value = item.partition("=")
        if not _KEYWORD.match(keyword):
            raise _syntax(f"Bad parameter keyword {keyword!r}")
        keyword = keyword.upper()
        if eq and not value_pattern.match(value):
            raise _syntax(f"Bad value for {keyword}")
        if keyword in seen:
            raise _syntax(f"Duplicate parameter {keyword}")
        seen.add(keyword)
        params.append((keyword, value if eq else None))
    return params


def _need_value(keyword: str, value: str | None) -> str:
    if value is None:
        raise _syntax(f"{keyword} needs a value")
    return value


def _mail_params(items: list[tuple[str, str | None]]) -> MailParams:
    size: int | None = None
    body = ret = envid = auth = None
    smtputf8 = False
    for keyword, value in items:
        if keyword == "SIZE":  # RFC 1870 §3: size-value = 1*20DIGIT
            value = _need_value(keyword, value)
            if not _DIGITS.match(value):
                raise _syntax("Bad SIZE value")
            size = int(value)
        elif keyword == "BODY":
            body = _need_value(keyword, value).upper()
            if body not in ("7BIT", "8BITMIME", "BINARYMIME"):
                raise _syntax("BODY must be 7BIT, 8BITMIME or BINARYMIME")
        elif keyword == "SMTPUTF8":  # RFC 6531 §3.4: no value
            if value is not None:
                raise _syntax("SMTPUTF8 takes no value")
            smtputf8 = True
        elif keyword == "RET":
            ret = _need_value(keyword, value).upper()
            if ret not in ("FULL", "HDRS"):
                raise _syntax("RET must be FULL or HDRS")
        elif keyword == "ENVID":  # RFC 3461 §4.4: at most 100 characters
            value = _need_value(keyword, value)
            if len(value) > 100:
                raise _syntax("ENVID too long")
            envid = _xtext(keyword, value)
        elif keyword == "AUTH":  # RFC 4954 §5: AUTH=<> or AUTH=xtext(mailbox)
            auth = _xtext(keyword, _need_value(keyword, value))
        else:
            raise _bad_param(f"Unknown MAIL parameter {keyword}")
    return MailParams(size=size, body=body, smtputf8=smtputf8, ret=ret, envid=envid, auth=auth)


def _rcpt_params(items: list[tuple[str, str | None]]) -> RcptParams:
    notify: tuple[str, ...] | None = None
    orcpt: tuple[str, str] | None = None
    for keyword, value in items:
        if keyword == "NOTIFY":  # RFC 3461 §4.1
            events = tuple(e.upper() for e in _need_value(keyword, value).split(","))
            if events == ("NEVER",):
                notify = events
            elif events and all(e in _NOTIFY_EVENTS for e in events) and len(set(events)) == len(events):
                notify = events
            else:
                raise _syntax("NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY")
        elif keyword == "ORCPT":  # RFC 3461 §4.2: addr-type ";" xtext
            addr_type, semi, addr = _need_value(keyword, value).partition(";")
            if not semi or not _ATOM.match(addr_type) or not addr:
                raise _syntax("ORCPT must be addr-type;xtext")
            orcpt = (addr_type.lower(), _xtext(keyword, addr))
        else:
            raise _bad_param(f"Unknown RCPT parameter {keyword}")
    return RcptParams(notify=notify, orcpt=orcpt)


def _xtext(keyword: str, value: str) -> str:
    try:
        return decode_xtext(value)
    except ValueError:
        raise _syntax(f"Bad xtext in {keyword}") from None


def _path_and_params(rest: str, prefix: str, *, smtputf8: bool, sender: bool) -> tuple[Path, str]:
    if rest[: len(prefix)].upper() != prefix:
        raise _syntax(f"Expected {prefix}<path>")
    start = len(prefix)
    while start < len(rest) and rest[start] == " ":  # leniency: "MAIL FROM: <a@b>"
        start += 1
    try:
        path, end = match_path(rest, start, smtputf8=smtputf8, postmaster=not sender)
        if not sender and path.address is None:
            raise AddressSyntaxError(R501_BAD_RECIPIENT_SYNTAX.with_text("The null path is no recipient"))
    except AddressSyntaxError as error:
        if sender and error.reply.code == 501 and error.reply.enhanced == "5.1.3":
            raise AddressSyntaxError(R501_BAD_SENDER_SYNTAX, error.detail) from None
        raise
    params = rest[end:]
    if params and params[0] != " ":
        raise _syntax("Junk after path")
    return path, params


def _verb_argument(verb: str, rest: str | None, *, required: bool) -> str | None:
    if rest is None or rest == "":
        if required:
            raise _syntax(f"{verb} needs an argument")
        return None
    return rest


def _no_argument(verb: str, rest: str | None) -> None:
    if rest:
        raise _syntax(f"{verb} takes no argument")


def parse_command(line: bytes, *, smtputf8: bool = False) -> Command:
    """Parse one command line (with or without its CRLF).

    ``smtputf8`` says the current transaction declared SMTPUTF8 (it governs RCPT; MAIL
    reads its own SMTPUTF8 parameter). Raises :class:`SMTPSyntaxError` only.
    """
    if line.endswith(b"\r\n"):
        line = line[:-2]
    elif line.endswith(b"\n"):
        line = line[:-1]
    line = line.rstrip(b" \t")
    verb_bytes, space, rest_bytes = line.partition(b" ")
    verb = verb_bytes.decode("ascii", "replace").upper()
    if verb not in _VERBS:
        raise UnknownCommand(R500_UNRECOGNISED)
    try:
        text = rest_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise _syntax("Invalid UTF-8") from None
    if _CONTROLS.search(text):
        raise _syntax("Control character in command")
    rest: str | None = text if space else None
    if verb == "MAIL":
        utf8 = _mentions_smtputf8(text)
        path, param_text = _path_and_params(text, "FROM:", smtputf8=utf8, sender=True)
        params = _mail_params(_split_params(param_text, smtputf8=utf8))
        if not params.smtputf8 and path.address is not None and not path.address.is_ascii:
            raise AddressSyntaxError(R553_SMTPUTF8_REQUIRED)  # RFC 6531 §3.5
        return MailFrom(path, params)
    if verb == "RCPT":
        path, param_text = _path_and_params(text, "TO:", smtputf8=smtputf8, sender=False)
        return RcptTo(path, _rcpt_params(_split_params(param_text, smtputf8=smtputf8)))
    if verb in ("EHLO", "HELO"):
        if not rest or " " in rest:
            raise SMTPSyntaxError(R501_BAD_HELO)
        valid = _is_helo_domain(rest)
        return Ehlo(rest, valid) if verb == "EHLO" else Helo(rest, valid)
    if verb == "BDAT":
        size_text, _, last = (rest or "").partition(" ")
        if not _DIGITS.match(size_text) or last.upper() not in ("", "LAST"):
            raise _syntax("BDAT chunk-size [LAST]")
        return Bdat(int(size_text), bool(last))
    if verb == "AUTH":
        mechanism, _, response = (rest or "").partition(" ")
        mechanism = mechanism.upper()
        if not _MECHANISM.match(mechanism) or " " in response:
            raise _syntax("AUTH mechanism [initial-response]")
        if response and not _BASE64.match(response):
            raise _syntax("Initial response is not base64")
        return Auth(mechanism, response or None)
    if verb in ("VRFY", "EXPN"):
        argument = _verb_argument(verb, rest, required=True)
        assert argument is not None
        return Vrfy(argument) if verb == "VRFY" else Expn(argument)
    if verb == "NOOP":
        return Noop(rest or None)
    if verb == "HELP":
        return Help(rest or None)
    _no_argument(verb, rest)
    return _SIMPLE[verb]


def _mentions_smtputf8(text: str) -> bool:
    """Whether MAIL's parameters declare SMTPUTF8: it governs the path before it (RFC 6531 §3.4)."""
    return any(token.upper() == "SMTPUTF8" for token in text.split(" ")[1:])


def _is_helo_domain(text: str) -> bool:
    if text.startswith("[") and text.endswith("]"):
        try:
            match_path(f"<x@{text}>")
        except AddressSyntaxError:
            return False
        return True
    return is_domain(text)


_SIMPLE: dict[str, Command] = {
    "DATA": Data(),
    "RSET": Rset(),
    "QUIT": Quit(),
    "STARTTLS": StartTls(),
}
_VERBS = frozenset(cls.verb for cls in COMMANDS)
