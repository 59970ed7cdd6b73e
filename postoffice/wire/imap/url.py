"""IMAP URLs of one message or part (RFC 5092), as CATENATE uses them (RFC 4469 §5).

Pure: text in, a value out. Accepted forms: ``imap://[user@]host[:port]/<mailbox>...``
and the server-relative ``/<mailbox>...``, where ``...`` is
``[;UIDVALIDITY=n]/;UID=m[/;SECTION=s][/;PARTIAL=o[.l]]`` (keywords in any case). The
mailbox name is percent-decoded UTF-8 (RFC 5092 §3.1 enc-mailbox). Anything else
raises ValueError; the server answers it ``NO [BADURL url]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from .commands import FramedCommand
from .errors import ImapSyntaxError
from .fetch import Section, parse_section
from .scanner import Scanner

__all__ = ["MessageUrl", "parse_message_url"]

_SERVER = re.compile(r"(?i)imap://(?:(?P<user>[^@/;]*)(?:;AUTH=[^@/]*)?@)?(?P<host>\[[^\]/]+\]|[^:/]+)(?::[0-9]+)?(?P<rest>/.*)\Z")
_PATH = re.compile(
    r"(?i)/(?P<mailbox>[^;]+?)(?:;UIDVALIDITY=(?P<uidvalidity>[1-9][0-9]{0,9}))?/;UID=(?P<uid>[1-9][0-9]{0,9})"
    r"(?:/;SECTION=(?P<section>[^/]+))?(?:/;PARTIAL=(?P<offset>[0-9]{1,19})(?:\.(?P<length>[1-9][0-9]{0,18}))?)?\Z"
)


@dataclass(frozen=True)
class MessageUrl:
    mailbox: str
    uid: int
    uidvalidity: int | None = None
    section: Section = Section()
    partial: tuple[int, int | None] | None = None  # (offset, length or None: to the end)
    user: str | None = None  # the user part of an absolute URL, percent-decoded
    host: str | None = None  # the host of an absolute URL, lower-cased


def parse_message_url(text: str) -> MessageUrl:
    user: str | None = None
    host: str | None = None
    path = text
    m = _SERVER.match(text)
    if m is not None:
        user = unquote(m.group("user"), errors="strict") if m.group("user") else None
        host = m.group("host").lower()
        path = m.group("rest")
    p = _PATH.match(path)
    if p is None:
        raise ValueError(f"not an IMAP URL of a message: {text!r}")
    try:
        mailbox = unquote(p.group("mailbox"), errors="strict")
    except UnicodeDecodeError:
        raise ValueError("mailbox name is not UTF-8") from None
    section = Section()
    if p.group("section"):
        raw = unquote(p.group("section"), errors="strict").encode("utf-8")
        try:
            section = parse_section(Scanner(FramedCommand((b"[" + raw + b"]",), ())))
        except ImapSyntaxError as exc:
            raise ValueError(f"bad section: {exc.text}") from None
    partial: tuple[int, int | None] | None = None
    if p.group("offset") is not None:
        partial = (int(p.group("offset")), int(p.group("length")) if p.group("length") else None)
    uidvalidity = int(p.group("uidvalidity")) if p.group("uidvalidity") else None
    return MessageUrl(mailbox, int(p.group("uid")), uidvalidity, section, partial, user, host)
