"""Serialise Python values and server responses into IMAP syntax (RFC 9051 §7, §9).

Value mapping used by :func:`encode` (and so by every helper taking "values"):
``None`` -> ``NIL``; ``int`` -> number; ``str`` -> quoted string when safe, else a literal;
``bytes`` -> literal; :class:`Literal8` -> ``~{n}`` literal8 (BINARY with NUL, RFC 3516);
:class:`Atom` -> written as is; ``list``/``tuple`` -> parenthesised list;
``datetime`` -> quoted date-time. ``utf8=True`` (UTF8=ACCEPT / IMAP4rev2 enabled, RFC 6855
§3) lets non-ASCII text go in quoted strings; otherwise such text becomes a literal.

Reply constants name their status and response code (``NO_NONEXISTENT``); see
:class:`Reply`. :data:`REPLIES` lists them all (for the transcript meta-test).
Invariant: every function returns complete bytes ready for the socket (CRLF included
for whole responses); none touches I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from . import mutf7
from .errors import ImapSyntaxError
from .seqset import SequenceSet

__all__ = [
    "Atom",
    "Literal8",
    "encode",
    "atom",
    "quoted",
    "can_quote",
    "literal",
    "literal_prefix",
    "string",
    "nstring",
    "astring",
    "mailbox",
    "flag_list",
    "date_time",
    "plist",
    "tagged",
    "untagged",
    "untagged_status",
    "continuation",
    "bye",
    "syntax_error_response",
    "fetch_response",
    "list_response",
    "status_response",
    "search_response",
    "esearch_response",
    "capability_response",
    "enabled_response",
    "vanished_response",
    "exists_response",
    "expunge_response",
    "Reply",
    "REPLIES",
    "code_appenduid",
    "code_copyuid",
    "code_uidnext",
    "code_uidvalidity",
    "code_highestmodseq",
    "code_modified",
    "code_permanentflags",
    "code_capability",
]

CRLF = b"\r\n"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Atom(str):
    """Text already in IMAP syntax (an atom, a flag, a keyword): written as is."""


@dataclass(frozen=True)
class Literal8:
    """Bytes sent as literal8 ``~{n}`` (only in BINARY responses, RFC 3516 §4.2)."""

    data: bytes


def atom(text: str) -> bytes:
    return text.encode("ascii")


def can_quote(text: str, *, utf8: bool = False) -> bool:
    """True when ``text`` fits a quoted string: no CR, LF, NUL; ASCII unless ``utf8``;
    short enough to stay readable (long values go as literals)."""
    if len(text) > 1024 or "\r" in text or "\n" in text or "\x00" in text:
        return False
    if text.isascii():
        return True
    # Header octets that are not UTF-8 are kept as surrogate escapes (message/headers.py):
    # they go out as the octets they were, in a literal, never as U+FFFD.
    return utf8 and not any("\udc80" <= c <= "\udcff" for c in text)


def quoted(text: str, *, utf8: bool = False) -> bytes:
    """A quoted string with ``\\`` and ``"`` escaped (RFC 9051 §4.3); ValueError if not quotable."""
    if "\r" in text or "\n" in text or "\x00" in text or not (utf8 or text.isascii()):
        raise ValueError("text cannot be a quoted string")
    return b'"' + text.replace("\\", "\\\\").replace('"', '\\"').encode("utf-8") + b'"'


def literal_prefix(size: int, *, binary: bool = False) -> bytes:
    """``{n}\\r\\n`` (or ``~{n}\\r\\n``): for a server that streams a body from a blob."""
    return (b"~{" if binary else b"{") + str(size).encode() + b"}\r\n"


def literal(data: bytes, *, binary: bool = False) -> bytes:
    return literal_prefix(len(data), binary=binary) + data


def string(text: str | bytes, *, utf8: bool = False) -> bytes:
    """Quoted when safe, literal otherwise (8-bit text without UTF8=ACCEPT, CR/LF, long)."""
    if isinstance(text, bytes):
        return literal(text)
    if can_quote(text, utf8=utf8):
        return quoted(text, utf8=utf8)
    return literal(text.encode("utf-8", "surrogateescape"))


def nstring(text: str | bytes | None, *, utf8: bool = False) -> bytes:
    return b"NIL" if text is None else string(text, utf8=utf8)


_ATOM_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&'+,-./:;<=>?@^_`|~[]")


def astring(text: str, *, utf8: bool = False) -> bytes:
    """An atom when every character is safe (and it is not ``NIL``), else a string."""
    if text and all(c in _ATOM_OK for c in text) and text.upper() != "NIL":
        return text.encode("ascii")
    return string(text, utf8=utf8)


def mailbox(name: str, *, utf8: bool = False) -> bytes:
    """A mailbox name: UTF-8 when enabled, else modified UTF-7 (RFC 3501 §5.1.3)."""
    wire = name if utf8 else mutf7.encode(name)
    return astring(wire, utf8=utf8)


def flag_list(flags: Iterable[str]) -> bytes:
    return b"(" + b" ".join(f.encode("ascii") for f in flags) + b")"


def date_time(when: datetime) -> bytes:
    """``"17-Jul-1996 02:44:25 -0700"`` (RFC 9051 §9 date-time; day padded with a space)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    text = (
        f"{when.day:2d}-{_MONTHS[when.month - 1]}-{when.year:04d} "
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} {sign}{minutes // 60:02d}{minutes % 60:02d}"
    )
    return b'"' + text.encode("ascii") + b'"'


def encode(value: object, *, utf8: bool = False) -> bytes:
    """Any supported Python value -> IMAP syntax (see the module docstring)."""
    if value is None:
        return b"NIL"
    if isinstance(value, Atom):
        return value.encode("utf-8")
    if isinstance(value, bool):
        raise TypeError("bool has no IMAP form")
    if isinstance(value, int):
        return str(value).encode("ascii")
    if isinstance(value, str):
        return string(value, utf8=utf8)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return literal(bytes(value))
    if isinstance(value, Literal8):
        return literal(value.data, binary=True)
    if isinstance(value, datetime):
        return date_time(value)
    if isinstance(value, SequenceSet):
        return str(value).encode("ascii")
    if isinstance(value, (list, tuple)):
        return plist(value, utf8=utf8)
    raise TypeError(f"cannot encode {type(value).__name__} as IMAP")


def plist(values: Iterable[object], *, utf8: bool = False) -> bytes:
    return b"(" + b" ".join(encode(v, utf8=utf8) for v in values) + b")"


# -- whole responses --------------------------------------------------------------------


def _code(code: str | None) -> bytes:
    return b"[" + code.encode("utf-8") + b"] " if code else b""


def tagged(tag: str, status: str, text: str = "", code: str | None = None) -> bytes:
    """``tag OK [CODE] text``; ``text`` defaults to the status word (resp-text needs text)."""
    return f"{tag} {status} ".encode("ascii") + _code(code) + _text(text or status.lower()) + CRLF


def _text(text: str) -> bytes:
    return text.replace("\r", " ").replace("\n", " ").encode("utf-8")


def untagged_status(status: str, text: str = "", code: str | None = None) -> bytes:
    """``* OK [CODE] text`` / ``* NO ...`` / ``* BAD ...`` / ``* PREAUTH ...`` / ``* BYE ...``."""
    return f"* {status} ".encode("ascii") + _code(code) + _text(text or status.lower()) + CRLF


def untagged(*parts: object, utf8: bool = False) -> bytes:
    """``* `` + the encoded parts, space-separated: ``untagged(3, Atom("EXISTS"))``."""
    return b"* " + b" ".join(encode(p, utf8=utf8) for p in parts) + CRLF


def continuation(text: str = "Ready") -> bytes:
    """``+ text`` (RFC 9051 §7.6): answer to ContinuationNeeded, IDLE, AUTHENTICATE."""
    return b"+ " + _text(text) + CRLF


def continuation_data(data: bytes) -> bytes:
    """``+ base64`` SASL challenge (RFC 9051 §6.2.2); empty challenge gives ``+ ``."""
    import binascii

    return b"+ " + binascii.b2a_base64(data, newline=False) + CRLF


def bye(text: str = "Logging out", code: str | None = None) -> bytes:
    return untagged_status("BYE", text, code)


def syntax_error_response(error: ImapSyntaxError) -> bytes:
    """``tag BAD [code] text`` or ``* BAD ...`` when the tag is unknown."""
    if error.tag is None:
        return untagged_status("BAD", error.text, error.code)
    return tagged(error.tag, error.status, error.text, error.code)


def exists_response(count: int) -> bytes:
    return f"* {count} EXISTS\r\n".encode("ascii")


def expunge_response(seq: int) -> bytes:
    return f"* {seq} EXPUNGE\r\n".encode("ascii")


def fetch_response(seq: int, items: Sequence[tuple[str, object]], *, utf8: bool = False) -> bytes:
    """``* seq FETCH (NAME value ...)``; names are written as is (use FetchItem.label()),
    values through :func:`encode`. ``FLAGS`` values should be Atom-tuples, e.g.
    ``("FLAGS", (Atom("\\\\Seen"),))``; pre-rendered syntax (ENVELOPE) as :class:`Atom`."""
    body = b" ".join(name.encode("ascii") + b" " + encode(value, utf8=utf8) for name, value in items)
    return f"* {seq} FETCH (".encode("ascii") + body + b")\r\n"


def list_response(
    attributes: Iterable[str],
    delimiter: str | None,
    name: str,
    *,
    utf8: bool = False,
    extended: Sequence[tuple[str, object]] = (),
    command: str = "LIST",
) -> bytes:
    """``* LIST (\\HasNoChildren) "/" INBOX`` with optional extended items
    (``("CHILDINFO", ("SUBSCRIBED",))``, ``("OLDNAME", ("old",))`` RFC 5258 / RFC 9051 §7.3.1)."""
    out = f"* {command} ".encode("ascii") + flag_list(attributes) + b" "
    out += b"NIL" if delimiter is None else quoted(delimiter)
    out += b" " + mailbox(name, utf8=utf8)
    if extended:
        parts = []
        for key, value in extended:
            if key == "OLDNAME" and isinstance(value, (list, tuple)):
                value = tuple(Atom(mailbox(str(v), utf8=utf8).decode("utf-8", "surrogateescape")) for v in value)
            parts.append(quoted(key) + b" " + encode(value, utf8=utf8))
        out += b" (" + b" ".join(parts) + b")"
    return out + CRLF


def status_response(name: str, items: Mapping[str, int | str], *, utf8: bool = False) -> bytes:
    """``* STATUS name (MESSAGES 2 ...)``; a str value is already IMAP syntax
    (``MAILBOXID (F2-123)``, RFC 8474 §4.2)."""
    body = b" ".join(f"{k} {v}".encode("ascii") for k, v in items.items())
    return b"* STATUS " + mailbox(name, utf8=utf8) + b" (" + body + b")\r\n"


def search_response(numbers: Iterable[int], modseq: int | None = None) -> bytes:
    """``* SEARCH 2 3 6`` (+ ``(MODSEQ n)`` RFC 7162 §3.1.5)."""
    # One join: appending to bytes copies the whole line each time (seconds for a
    # match in each of 100,000 messages).
    out = " ".join(["* SEARCH", *map(str, numbers)])
    if modseq is not None:
        out += f" (MODSEQ {modseq})"
    return out.encode("ascii") + CRLF


def esearch_response(
    tag: str | None,
    *,
    uid: bool = False,
    min: int | None = None,
    max: int | None = None,  # noqa: A002
    all: SequenceSet | None = None,
    count: int | None = None,
    modseq: int | None = None,  # noqa: A002
    partial: tuple[int, int, SequenceSet] | None = None,
) -> bytes:
    """``* ESEARCH (TAG "a1") UID MIN 2 COUNT 3`` (RFC 4731 §3.1, RFC 9051 §7.3.4);
    ``partial`` (first, last, the numbers in that range): ``PARTIAL (1:10 3,5)``, NIL when
    none (RFC 5267 §4.4)."""
    out = b"* ESEARCH"
    if tag is not None:
        out += b" (TAG " + quoted(tag) + b")"
    if uid:
        out += b" UID"
    for key, value in (("MIN", min), ("MAX", max), ("ALL", all), ("COUNT", count)):
        if value is not None and not (key == "ALL" and isinstance(value, SequenceSet) and not value.ranges):
            out += f" {key} {value}".encode("ascii")
    if partial is not None:
        first, last, numbers = partial
        out += f" PARTIAL ({first}:{last} {numbers if numbers.ranges else 'NIL'})".encode("ascii")
    if modseq is not None:
        out += f" MODSEQ {modseq}".encode("ascii")
    return out + CRLF


def capability_response(capabilities: Iterable[str]) -> bytes:
    return b"* CAPABILITY " + " ".join(capabilities).encode("ascii") + CRLF


def enabled_response(capabilities: Iterable[str]) -> bytes:
    caps = " ".join(capabilities)
    return b"* ENABLED" + (b" " + caps.encode("ascii") if caps else b"") + CRLF


def vanished_response(uids: SequenceSet, *, earlier: bool = False) -> bytes:
    """``* VANISHED (EARLIER) 41,43:116`` (RFC 7162 §3.2.10)."""
    return b"* VANISHED " + (b"(EARLIER) " if earlier else b"") + str(uids).encode("ascii") + CRLF


# -- response codes (RFC 9051 §7.1 and extensions) -----------------------------------------


def code_appenduid(uidvalidity: int, uids: SequenceSet | int) -> str:
    """``APPENDUID 38505 3955`` (RFC 4315 §3, RFC 9051 §7.1)."""
    return f"APPENDUID {uidvalidity} {uids}"


def code_copyuid(uidvalidity: int, source: SequenceSet, dest: SequenceSet) -> str:
    """``COPYUID 38505 304,319:320 3956:3958`` (RFC 4315 §3)."""
    return f"COPYUID {uidvalidity} {source} {dest}"


def code_uidnext(n: int) -> str:
    return f"UIDNEXT {n}"


def code_uidvalidity(n: int) -> str:
    return f"UIDVALIDITY {n}"


def code_highestmodseq(n: int) -> str:
    return f"HIGHESTMODSEQ {n}"


def code_modified(uids: SequenceSet) -> str:
    """``MODIFIED 1:3`` (RFC 7162 §3.1.3: messages that failed UNCHANGEDSINCE)."""
    return f"MODIFIED {uids}"


def code_permanentflags(flags: Iterable[str]) -> str:
    return "PERMANENTFLAGS " + flag_list(flags).decode("ascii")


def code_capability(capabilities: Iterable[str]) -> str:
    return "CAPABILITY " + " ".join(capabilities)


@dataclass(frozen=True)
class Reply:
    """A status with a response code: ``NO_NONEXISTENT.tagged("a1", "no such mailbox")``.

    ``args`` completes codes that take arguments: ``OK_APPENDUID.tagged(tag, args="38505 3955")``
    (or build the code with ``code_appenduid`` and use ``tagged()`` directly)."""

    status: str
    code: str | None = None

    def full_code(self, args: str | None = None) -> str | None:
        if self.code is None:
            return None
        return f"{self.code} {args}" if args else self.code

    def tagged(self, tag: str, text: str = "", *, args: str | None = None) -> bytes:
        return tagged(tag, self.status, text, self.full_code(args))

    def untagged(self, text: str = "", *, args: str | None = None) -> bytes:
        return untagged_status(self.status, text, self.full_code(args))


OK = Reply("OK")
NO = Reply("NO")
BAD = Reply("BAD")
# RFC 9051 §7.1 response codes
NO_ALREADYEXISTS = Reply("NO", "ALREADYEXISTS")
OK_APPENDUID = Reply("OK", "APPENDUID")
NO_AUTHENTICATIONFAILED = Reply("NO", "AUTHENTICATIONFAILED")
NO_AUTHORIZATIONFAILED = Reply("NO", "AUTHORIZATIONFAILED")
OK_CAPABILITY = Reply("OK", "CAPABILITY")
NO_CANNOT = Reply("NO", "CANNOT")
OK_CLOSED = Reply("OK", "CLOSED")
NO_HASCHILDREN = Reply("NO", "HASCHILDREN")
NO_INUSE = Reply("NO", "INUSE")
NO_LIMIT = Reply("NO", "LIMIT")
NO_NONEXISTENT = Reply("NO", "NONEXISTENT")
NO_NOPERM = Reply("NO", "NOPERM")
NO_OVERQUOTA = Reply("NO", "OVERQUOTA")
NO_PARSE = Reply("NO", "PARSE")
NO_PRIVACYREQUIRED = Reply("NO", "PRIVACYREQUIRED")
OK_READ_ONLY = Reply("OK", "READ-ONLY")
OK_READ_WRITE = Reply("OK", "READ-WRITE")
NO_SERVERBUG = Reply("NO", "SERVERBUG")
NO_TRYCREATE = Reply("NO", "TRYCREATE")
OK_UIDNEXT = Reply("OK", "UIDNEXT")
OK_UIDVALIDITY = Reply("OK", "UIDVALIDITY")
NO_UNAVAILABLE = Reply("NO", "UNAVAILABLE")
NO_UNKNOWN_CTE = Reply("NO", "UNKNOWN-CTE")  # RFC 3516 §4.3 BINARY of an unknown encoding
# RFC 4978 COMPRESS, RFC 9208 QUOTA
NO_COMPRESSIONACTIVE = Reply("NO", "COMPRESSIONACTIVE")  # RFC 5530 §3, RFC 4978 §3


def quotaroot_response(mailbox_name: str, roots: Iterable[str], *, utf8: bool = False) -> bytes:
    """RFC 9208 §5.2 ``* QUOTAROOT mailbox root...``."""
    return b" ".join([b"* QUOTAROOT", mailbox(mailbox_name, utf8=utf8), *(astring(x, utf8=utf8) for x in roots)]) + b"\r\n"


def quota_response(root: str, resources: Iterable[tuple[str, int, int]], *, utf8: bool = False) -> bytes:
    """RFC 9208 §5.1 ``* QUOTA root (RESOURCE usage limit ...)``."""
    items = b" ".join(b"%s %d %d" % (name.encode("ascii"), usage, limit) for name, usage, limit in resources)
    return b"* QUOTA " + astring(root, utf8=utf8) + b" (" + items + b")\r\n"


# RFC 4469 CATENATE
NO_BADURL = Reply("NO", "BADURL")  # RFC 4469 §6: the URL that could not be used
# RFC 5464 METADATA
OK_METADATA = Reply("OK", "METADATA")  # LONGENTRIES n (§4.2.1)
NO_METADATA = Reply("NO", "METADATA")  # MAXSIZE n, TOOMANY (§4.3)
# RFC 5465 NOTIFY
NO_BADEVENT = Reply("NO", "BADEVENT")  # (the events the server supports), §3.1
NO_NOTIFICATIONOVERFLOW = Reply("NO", "NOTIFICATIONOVERFLOW")  # §3.1: too much to watch
OK_NOTIFICATIONOVERFLOW = Reply("OK", "NOTIFICATIONOVERFLOW")  # §5.8: notifications stopped


def metadata_value(value: bytes | None) -> bytes:
    """RFC 5464 §5 value = nstring / literal8: quoted when it can be, literal8 with NUL."""
    if value is None:
        return b"NIL"
    if 0 in value:
        return literal(value, binary=True)
    if value.isascii():
        text = value.decode("ascii")
        if can_quote(text):
            return quoted(text)
    return literal(value)


def metadata_response(mailbox_name: str, items: Iterable[tuple[str, bytes | None]], *, utf8: bool = False) -> bytes:
    """RFC 5464 §4.4.1 ``* METADATA mailbox (entry value ...)``."""
    body = b" ".join(astring(entry, utf8=utf8) + b" " + metadata_value(value) for entry, value in items)
    return b"* METADATA " + mailbox(mailbox_name, utf8=utf8) + b" (" + body + b")\r\n"


__all__ += ["quotaroot_response", "quota_response", "metadata_value", "metadata_response"]
# RFC 7162 CONDSTORE / QRESYNC
OK_HIGHESTMODSEQ = Reply("OK", "HIGHESTMODSEQ")
OK_MODIFIED = Reply("OK", "MODIFIED")
NO_MODIFIED = Reply("NO", "MODIFIED")
# RFC 4469 / RFC 7889 APPENDLIMIT
NO_TOOBIG = Reply("NO", "TOOBIG")
OK_MAILBOXID = Reply("OK", "MAILBOXID")  # RFC 8474 §4.1
# RFC 5267 §4.3.1: the server will not keep a context up to date (argument: its tag)
NO_NOUPDATE = Reply("NO", "NOUPDATE")
# RFC 5465 NOTIFY is not offered; RFC 5182 SEARCHRES has no code.

REPLIES: dict[str, Reply] = {k: v for k, v in globals().items() if isinstance(v, Reply)}
__all__ += list(REPLIES)
