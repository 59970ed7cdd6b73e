"""The RFC 5321 §4.1.2 path grammar: Reverse-path, Forward-path, Mailbox, and :class:`Address`.

Owns: parsing ``<local@domain>`` strictly by the RFC 5321 ABNF (never ``email.utils``),
with the RFC 6531 extension (UTF-8 in local part and domain) only when the caller says the
transaction is SMTPUTF8, and the relay-trick predicates the MX policy uses.

Invariants:
- Every accepted address matches the ABNF; nothing is "repaired" (a trailing dot, a
  missing bracket, a space are errors).
- Source routes (``<@a,@b:user@c>``) are parsed and kept in :attr:`Path.route`, but only
  the mailbox counts (RFC 5321 §4.1.1.3 and Appendix C: the route MAY be ignored).
- Length limits of RFC 5321 §4.5.3.1: local part 64 octets, domain 255 octets, path
  256 octets (all counted as UTF-8 octets as written).
- Errors are :class:`AddressSyntaxError` (a :class:`SMTPSyntaxError`); the command parser
  gives it the sender or recipient reply code.
- Matching is linear: every repetition in the patterns is possessive.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass

from postoffice.wire.smtp.replies import (
    R501_BAD_RECIPIENT_SYNTAX,
    R501_PATH_TOO_LONG,
    R553_SMTPUTF8_REQUIRED,
    Reply,
    SMTPSyntaxError,
)

__all__ = [
    "Address",
    "AddressSyntaxError",
    "Path",
    "RelayTrick",
    "match_path",
    "parse_forward_path",
    "parse_mailbox",
    "parse_reverse_path",
    "is_domain",
    "MAX_LOCAL_PART",
    "MAX_DOMAIN",
    "MAX_PATH",
]

MAX_LOCAL_PART = 64  # RFC 5321 §4.5.3.1.1
MAX_DOMAIN = 255  # RFC 5321 §4.5.3.1.2
MAX_PATH = 256  # RFC 5321 §4.5.3.1.3, punctuation included
_MAX_LABEL = 63  # RFC 1035 §2.3.4

# UTF8-non-ascii (RFC 6531 §3.3), less the C1 controls U+0080..U+009F which no address needs.
_U = "\u00a0-\U0010ffff"
_ATEXT_ASCII = r"A-Za-z0-9!#$%&'*+\-/=?^_`{|}~"  # RFC 5322 §3.2.3 atext
_QTEXT_ASCII = r"\x20\x21\x23-\x5b\x5d-\x7e"  # RFC 5321 qtextSMTP


def _patterns(utf8: bool) -> re.Pattern[str]:
    u = _U if utf8 else ""
    atom = f"[{_ATEXT_ASCII}{u}]++"
    dot_string = f"{atom}(?:\\.{atom})*+"
    quoted = f'"(?:[{_QTEXT_ASCII}{u}]|\\\\[\\x20-\\x7e])*+"'
    # sub-domain = Let-dig [Ldh-str]: letters, digits, hyphens, not starting or ending in "-";
    # RFC 6531 adds U-labels.
    label = f"(?!-)[A-Za-z0-9\\-{u}]++(?<!-)"
    domain = f"{label}(?:\\.{label})*+"
    literal = r"\[[\x21-\x5a\x5e-\x7e]++\]"  # dcontent: printable except [ \ ]
    adl = f"@{domain}(?:,@{domain})*+"
    return re.compile(
        f"<(?:(?P<null>)>|(?P<postmaster>[Pp][Oo][Ss][Tt][Mm][Aa][Ss][Tt][Ee][Rr])>"
        f"|(?:(?P<route>{adl}):)?(?P<local>{dot_string}|{quoted})@(?P<domain>{domain}|{literal})>)"
    )


_PATH_ASCII = _patterns(False)
_PATH_UTF8 = _patterns(True)
_DOMAIN_ASCII = re.compile(r"(?!-)[A-Za-z0-9\-]++(?<!-)(?:\.(?!-)[A-Za-z0-9\-]++(?<!-))*+\Z")
_DOT_STRING_ASCII = re.compile(f"[{_ATEXT_ASCII}]++(?:\\.[{_ATEXT_ASCII}]++)*+\\Z")
_DOT_STRING_UTF8 = re.compile(f"[{_ATEXT_ASCII}{_U}]++(?:\\.[{_ATEXT_ASCII}{_U}]++)*+\\Z")
_SNUM = re.compile(r"\d{1,3}\Z")


class AddressSyntaxError(SMTPSyntaxError):
    """A path that does not match RFC 5321 §4.1.2 (or RFC 6531 when SMTPUTF8)."""


class RelayTrick(enum.Enum):
    """Address forms that old relays interpret as "send it on"; an MX refuses them for local domains."""

    PERCENT_HACK = "percent-hack"  # user%other.example@local (RFC 1123 §5.2.16)
    BANG_PATH = "bang-path"  # other!user@local (UUCP)
    QUOTED_ROUTING = "quoted-routing"  # "user@other"@local: quoted local part holding @ % or !
    ADDRESS_LITERAL = "address-literal"  # user@[192.0.2.1]
    SOURCE_ROUTE = "source-route"  # <@relay:user@host> (ignored, but named for logging)


@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox of a path.

    ``local`` is the local part with quoting removed (``"a b"@x`` has ``local == "a b"``),
    ``is_quoted`` says it was written as a Quoted-string. ``domain`` is the domain as
    written, or for an address literal its bracketed form (``"[192.0.2.1]"``), with the
    content without brackets in ``literal``. The bare ``<Postmaster>`` of RCPT
    (RFC 5321 §4.1.1.3) has ``domain == ""``.
    """

    local: str
    domain: str
    is_quoted: bool = False
    literal: str | None = None

    @property
    def is_bare_postmaster(self) -> bool:
        return self.domain == "" and self.local.lower() == "postmaster"

    @property
    def is_postmaster(self) -> bool:
        """RFC 5321 §4.5.1: "postmaster" is case-insensitive, with or without a domain."""
        return self.local.lower() == "postmaster" and not self.is_quoted

    @property
    def is_ascii(self) -> bool:
        return self.local.isascii() and self.domain.isascii()

    @property
    def literal_ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        if self.literal is None:
            return None
        if self.literal[:5].lower() == "ipv6:":
            return ipaddress.IPv6Address(self.literal[5:])
        return ipaddress.IPv4Address(".".join(str(int(p)) for p in self.literal.split(".")))

    @property
    def canonical_local(self) -> str:
        """The local part in its shortest correct written form: quoted only when it must be."""
        if not self.is_quoted or _DOT_STRING_UTF8.match(self.local):
            return self.local
        escaped = self.local.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'

    @property
    def canonical_domain(self) -> str:
        """Lowercased domain; an IP literal in its standard textual form."""
        ip = self.literal_ip
        if ip is None:
            return self.domain.lower()
        return f"[IPv6:{ip.compressed}]" if ip.version == 6 else f"[{ip}]"

    @property
    def canonical(self) -> str:
        """``local@domain`` for comparisons and lookups (local part case kept: RFC 5321 §2.4)."""
        if self.is_bare_postmaster:
            return "postmaster"
        return f"{self.canonical_local}@{self.canonical_domain}"

    def relay_tricks(self) -> frozenset[RelayTrick]:
        """Every relay trick this address uses; empty for a plain ``user@domain``."""
        tricks: set[RelayTrick] = set()
        if self.is_quoted and any(c in self.local for c in "@%!"):
            tricks.add(RelayTrick.QUOTED_ROUTING)
        elif "%" in self.local:
            tricks.add(RelayTrick.PERCENT_HACK)
        if "!" in self.local and not self.is_quoted:
            tricks.add(RelayTrick.BANG_PATH)
        if self.literal is not None:
            tricks.add(RelayTrick.ADDRESS_LITERAL)
        return frozenset(tricks)

    def __str__(self) -> str:
        return self.canonical


@dataclass(frozen=True, slots=True)
class Path:
    """A parsed Reverse-path or Forward-path. ``address`` is None for the null path ``<>``."""

    address: Address | None
    route: tuple[str, ...] = ()

    @property
    def is_null(self) -> bool:
        return self.address is None

    def relay_tricks(self) -> frozenset[RelayTrick]:
        tricks = self.address.relay_tricks() if self.address else frozenset()
        return tricks | {RelayTrick.SOURCE_ROUTE} if self.route else tricks

    def __str__(self) -> str:
        return f"<{self.address.canonical if self.address else ''}>"


def _fail(reply: Reply, detail: str) -> AddressSyntaxError:
    return AddressSyntaxError(reply.with_text(detail) if detail else reply, detail)


def _check_literal(content: str) -> str:
    """RFC 5321 §4.1.3: IPv4-address-literal or "IPv6:" IPv6-addr; other tags are unregistered."""
    if content[:5].lower() == "ipv6:":
        try:
            if "%" in content:  # Python accepts a scope id ("fe80::1%eth0"); RFC 5321 IPv6-addr does not
                raise ValueError(content)
            ipaddress.IPv6Address(content[5:])
        except ValueError:
            raise _fail(R501_BAD_RECIPIENT_SYNTAX, "Bad IPv6 address literal") from None
        return content
    parts = content.split(".")
    if len(parts) == 4 and all(_SNUM.match(p) and int(p) <= 255 for p in parts):
        return content
    raise _fail(R501_BAD_RECIPIENT_SYNTAX, "Bad address literal")


def _check_domain_lengths(domain: str) -> None:
    if len(domain.encode("utf-8")) > MAX_DOMAIN:
        raise _fail(R501_PATH_TOO_LONG, "Domain too long")
    if any(len(label.encode("utf-8")) > _MAX_LABEL for label in domain.split(".")):
        raise _fail(R501_BAD_RECIPIENT_SYNTAX, "Domain label too long")


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def match_path(text: str, pos: int = 0, *, smtputf8: bool = False, postmaster: bool = False) -> tuple[Path, int]:
    """Parse one path at ``text[pos:]``; return it and the index just after its ``>``.

    ``postmaster`` allows the bare ``<Postmaster>`` (RCPT only, RFC 5321 §4.1.1.3).
    The null path ``<>`` is returned as ``Path(None)``; callers that want a Forward-path
    refuse it. Raises :class:`AddressSyntaxError`.
    """
    pattern = _PATH_UTF8 if smtputf8 else _PATH_ASCII
    match = pattern.match(text, pos)
    if match is None:
        if not smtputf8:
            # Say why when the path would have been valid with SMTPUTF8 (RFC 6531 §3.5).
            if _PATH_UTF8.match(text, pos):
                raise _fail(R553_SMTPUTF8_REQUIRED, "")
        raise _fail(R501_BAD_RECIPIENT_SYNTAX, "")
    end = match.end()
    if len(text[pos:end].encode("utf-8")) > MAX_PATH:
        raise _fail(R501_PATH_TOO_LONG, "")
    if match.group("null") is not None:
        return Path(None), end
    if match.group("postmaster") is not None:
        if not postmaster:
            raise _fail(R501_BAD_RECIPIENT_SYNTAX, "A mailbox needs a domain")
        return Path(Address(match.group("postmaster"), "")), end
    local_text = match.group("local")
    if len(local_text.encode("utf-8")) > MAX_LOCAL_PART:
        raise _fail(R501_PATH_TOO_LONG, "Local part too long")
    domain = match.group("domain")
    literal: str | None = None
    if domain.startswith("["):
        literal = _check_literal(domain[1:-1])
    else:
        _check_domain_lengths(domain)
    route: tuple[str, ...] = ()
    if match.group("route"):
        route = tuple(part[1:] for part in match.group("route").split(","))
        for hop in route:
            _check_domain_lengths(hop)
    is_quoted = local_text.startswith('"')
    local = _unquote(local_text) if is_quoted else local_text
    return Path(Address(local, domain, is_quoted, literal), route), end


def _whole(text: str, *, smtputf8: bool, postmaster: bool) -> Path:
    path, end = match_path(text, 0, smtputf8=smtputf8, postmaster=postmaster)
    if end != len(text):
        raise _fail(R501_BAD_RECIPIENT_SYNTAX, "Junk after path")
    return path


def parse_reverse_path(text: str, *, smtputf8: bool = False) -> Path:
    """``Reverse-path = Path / "<>"`` (RFC 5321 §4.1.2), the whole of ``text``."""
    return _whole(text, smtputf8=smtputf8, postmaster=False)


def parse_forward_path(text: str, *, smtputf8: bool = False) -> Path:
    """``"<Postmaster>" / Forward-path`` as RCPT takes it (RFC 5321 §4.1.1.3), the whole of ``text``."""
    path = _whole(text, smtputf8=smtputf8, postmaster=True)
    if path.address is None:
        raise _fail(R501_BAD_RECIPIENT_SYNTAX, "The null path is no recipient")
    return path


def parse_mailbox(text: str, *, smtputf8: bool = False) -> Address:
    """``Mailbox = Local-part "@" ( Domain / address-literal )`` without angle brackets."""
    if text.startswith("<"):
        raise _fail(R501_BAD_RECIPIENT_SYNTAX, "")
    path = _whole(f"<{text}>", smtputf8=smtputf8, postmaster=False)
    if path.address is None or path.route:
        raise _fail(R501_BAD_RECIPIENT_SYNTAX, "")
    return path.address


def is_domain(text: str) -> bool:
    """True when ``text`` is an ASCII RFC 5321 Domain (for HELO/EHLO arguments)."""
    if not _DOMAIN_ASCII.match(text) or len(text) > MAX_DOMAIN:
        return False
    return all(len(label) <= _MAX_LABEL for label in text.split("."))
