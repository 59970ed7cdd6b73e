"""ENVELOPE and BODY/BODYSTRUCTURE rendering (RFC 9051 §7.5.2) from the typed values of
``postoffice.message.structure``.

Header values are rendered as they appear in the header (encoded words not decoded),
RFC 9051 §7.5.2. A value that cannot be a quoted string (CR, LF, 8-bit octets without
UTF-8, long) is a literal; one holding NUL, which neither a quoted string nor a literal
may carry (RFC 9051 §4.3, §9: CHAR8 = %x01-ff), goes out as RFC 2047 encoded words of
its octets, and a parameter value as an RFC 2231 extended value: nothing is lost. A group renders as its start ``(NIL NIL "name" NIL)``, its members and
its end ``(NIL NIL NIL NIL)``. A multipart without parts (no delimiter found, or a
parser limit) renders as one empty text/plain body, as Dovecot does: IMAP needs at
least one body there. ``extended=True`` renders BODYSTRUCTURE (with extension data),
False renders BODY.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from urllib.parse import quote

from postoffice.message.address import Address, AddressList, Group
from postoffice.message.structure import BodyPart, Disposition, Envelope

from .response import encode
from .response import string as _string

__all__ = ["envelope", "body_structure"]

_NIL_ADDRESS = b"(NIL NIL NIL NIL)"
# message/rfc822 whose encapsulated message was not parsed (not an identity encoding)
_EMPTY_BODY = BodyPart("", "text", "plain", lines=0)
_EMPTY_ENVELOPE = Envelope()


# Media types, parameters, encodings, hosts and names repeat from message to message:
# each distinct short string is encoded once.
@lru_cache(maxsize=8192)
def _short(text: str, utf8: bool) -> bytes:
    return _string(text, utf8=utf8)


def string(text: str, *, utf8: bool = False) -> bytes:
    if "\x00" in text:
        return _string(_encoded_words(text))
    return _short(text, utf8) if len(text) <= 200 else _string(text, utf8=utf8)


def nstring(text: str | None, *, utf8: bool = False) -> bytes:
    return b"NIL" if text is None else string(text, utf8=utf8)


def _octets(text: str) -> tuple[list[bytes], str]:
    """The octets of a header value, as units that may not be split, and their charset:
    UTF-8 characters when the octets are UTF-8, else single octets of ``unknown-8bit``
    (RFC 1428)."""
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return [c.encode("utf-8") for c in raw.decode("utf-8")], "utf-8"
    except UnicodeDecodeError:
        return [bytes([b]) for b in raw], "unknown-8bit"


def _encoded_words(text: str) -> str:
    """RFC 2047 §2 encoded words (at most 75 characters each, split on character
    boundaries, §5) carrying the octets of ``text``."""
    units, charset = _octets(text)
    prefix = f"=?{charset}?b?"
    words: list[str] = []
    chunk = b""
    for octets in units:
        if chunk and len(base64.b64encode(chunk + octets)) > 75 - len(prefix) - 2:
            words.append(prefix + base64.b64encode(chunk).decode("ascii") + "?=")
            chunk = b""
        chunk += octets
    words.append(prefix + base64.b64encode(chunk).decode("ascii") + "?=")
    return " ".join(words)


def _extended_value(value: str) -> str:
    """RFC 2231 §4 ``charset''%XX`` of a parameter value's octets."""
    units, charset = _octets(value)
    return charset + "''" + quote(b"".join(units), safe="")


def _phrase(text: str | None, utf8: bool) -> bytes:
    """An unstructured envelope value (subject, display name, date, message ids). RFC 6855
    §3: UTF-8 only after ENABLE UTF8=ACCEPT (or in IMAP4rev2); before that a UTF-8
    value (RFC 6532 header) is downgraded to RFC 2047 encoded words, as RFC 6858 §3
    does for these fields. Octets that are not UTF-8 go out as they are (no U+FFFD)."""
    if text is None or utf8 or text.isascii() or any("\udc80" <= c <= "\udcff" for c in text):
        return nstring(text, utf8=utf8)  # NUL: encoded words there too
    return string(_encoded_words(text))


def _host(host: str | None, utf8: bool) -> bytes:
    """A domain: an internationalised one as its A-label (RFC 5890 §2.3.2.1) until UTF-8
    is enabled, when it has one."""
    if host is None or utf8 or host.isascii():
        return nstring(host, utf8=utf8)
    try:
        return string(host.encode("idna").decode("ascii"))
    except UnicodeError:
        return nstring(host, utf8=utf8)


def _address(a: Address, utf8: bool) -> bytes:
    # a non-ASCII local part has no ASCII form (RFC 6532 §3.2): it goes out as its octets
    return b"(%s %s %s %s)" % (
        _phrase(a.name, utf8), nstring(a.adl, utf8=utf8), nstring(a.mailbox, utf8=utf8), _host(a.host, utf8)
    )


def _address_list(addrs: AddressList | None, utf8: bool) -> bytes:
    if not addrs:
        return b"NIL"
    out: list[bytes] = []
    for addr in addrs:
        if isinstance(addr, Group):
            # RFC 9051 §7.5.2: start of group (NIL NIL "name" NIL), members, end (NIL NIL NIL NIL)
            out.append(b"(NIL NIL " + _phrase(addr.name, utf8) + b" NIL)")
            out.extend(_address(m, utf8) for m in addr.members)
            out.append(_NIL_ADDRESS)
        else:
            out.append(_address(addr, utf8))
    return b"(" + b"".join(out) + b")"


def envelope(env: Envelope, *, utf8: bool = False) -> bytes:
    """``(date subject from sender reply-to to cc bcc in-reply-to message-id)``."""
    return b"(" + b" ".join((
        _phrase(env.date, utf8),
        _phrase(env.subject, utf8),
        _address_list(env.from_, utf8),
        _address_list(env.sender, utf8),
        _address_list(env.reply_to, utf8),
        _address_list(env.to, utf8),
        _address_list(env.cc, utf8),
        _address_list(env.bcc, utf8),
        _phrase(env.in_reply_to, utf8),
        _phrase(env.message_id, utf8),
    )) + b")"  # fmt: skip


def _params(params: tuple[tuple[str, str], ...], utf8: bool) -> bytes:
    if not params:
        return b"NIL"
    pairs = ((k + "*", _extended_value(v)) if "\x00" in v and not k.endswith("*") else (k, v) for k, v in params)
    return b"(" + b" ".join(string(k, utf8=utf8) + b" " + string(v, utf8=utf8) for k, v in pairs) + b")"


def _text_params(params: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """A text part's parameters with its charset first, ``us-ascii`` when none is given
    (RFC 2045 §5.2: the default charset of text/*; other servers put it first too)."""
    first = next((i for i, p in enumerate(params) if p[0].lower() == "charset"), None)
    if first is None:
        return (("charset", "us-ascii"), *params)
    return (params[first], *params[:first], *params[first + 1 :])


def _disposition(dsp: Disposition | None, utf8: bool) -> bytes:
    if dsp is None:
        return b"NIL"
    return b"(" + string(dsp.type, utf8=utf8) + b" " + _params(dsp.params, utf8) + b")"


def _language(lang: tuple[str, ...] | None, utf8: bool) -> bytes:
    if not lang:
        return b"NIL"
    return b"(" + b" ".join(string(x, utf8=utf8) for x in lang) + b")"


def _extension(part: BodyPart, utf8: bool) -> bytes:
    return b" ".join((
        _disposition(part.disposition, utf8), _language(part.language, utf8), nstring(part.location, utf8=utf8)
    ))  # fmt: skip


def body_structure(part: BodyPart, *, extended: bool = True, utf8: bool = False) -> bytes:
    """BODYSTRUCTURE (``extended``) or BODY of one part tree (RFC 9051 §7.5.2, §9 ``body``)."""
    kind = part.type.lower()
    if kind == "multipart" and part.children:
        # body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]; parts are not space-separated.
        out = b"(" + b"".join(body_structure(p, extended=extended, utf8=utf8) for p in part.children)
        out += b" " + string(part.subtype, utf8=utf8)
        if extended:
            out += b" " + _params(part.params, utf8) + b" " + _extension(part, utf8)
        return out + b")"
    empty_multipart = kind == "multipart"
    fields = [
        string("text" if empty_multipart else part.type, utf8=utf8),
        string("plain" if empty_multipart else part.subtype, utf8=utf8),
        _params(_text_params(part.params) if kind == "text" or empty_multipart else part.params, utf8),
        nstring(part.id, utf8=utf8),
        nstring(part.description, utf8=utf8),
        string((part.encoding or "7bit").upper(), utf8=utf8),
        encode(part.size),
    ]
    # body-type-msg: message/rfc822 always (RFC 3501 §7.4.2); message/global when it is
    # encapsulated (IMAP4rev2, RFC 9051 §7.5.2), else it is a leaf (BodyStructure.with_global_leaves).
    if kind == "message" and (part.subtype.lower() == "rfc822" or part.subtype.lower() == "global" and part.message is not None):
        inner = part.message
        fields.append(envelope(inner.envelope if inner is not None else _EMPTY_ENVELOPE, utf8=utf8))
        fields.append(body_structure(inner.node if inner is not None else _EMPTY_BODY, extended=extended, utf8=utf8))
        fields.append(encode(part.lines or 0))
    elif kind == "text" or empty_multipart:
        fields.append(encode(part.lines or 0))
    if extended:
        fields.append(nstring(part.md5, utf8=utf8))
        fields.append(_extension(part, utf8))
    return b"(" + b" ".join(fields) + b")"
