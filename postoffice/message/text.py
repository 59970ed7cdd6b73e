"""Transfer decoding (base64, quoted-printable), charset-aware text extraction, previews.

Decoders are streaming (``feed``/``flush``) and tolerant: bad base64 characters are
skipped and a truncated quantum padded; a bad QP escape is kept as written (RFC 2045
§6.7 note 1). Text for the search index and the preview comes from the bounded text
samples the parser collected (``Part.text_sample``); nothing here does I/O.
"""

from __future__ import annotations

import binascii
import html
import re

from postoffice.message.address import format_addresses, parse_address_list
from postoffice.message.headers import decode_bytes, decode_header_bytes, header_text, unfold
from postoffice.message.parser import Part

__all__ = [
    "Base64Decoder",
    "QPDecoder",
    "IdentityDecoder",
    "Decoder",
    "decoder_for",
    "decode_transfer",
    "part_text",
    "html_to_text",
    "extract_text",
    "make_preview",
    "SearchFields",
    "search_fields",
]

_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


class Base64Decoder:
    """RFC 2045 §6.8, tolerant: characters outside the alphabet are ignored, and the
    data after padding or a truncated last quantum is decoded as far as possible."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, data: bytes) -> bytes:
        clean = self._rest + _B64_JUNK.sub(b"", data)
        usable = len(clean) - len(clean) % 4
        self._rest = clean[usable:]
        return binascii.a2b_base64(clean[:usable]) if usable else b""

    def flush(self) -> bytes:
        rest, self._rest = self._rest, b""
        if len(rest) < 2:
            return b""
        try:
            return binascii.a2b_base64(rest + b"=" * (-len(rest) % 4))
        except binascii.Error:
            return b""


class QPDecoder:
    """RFC 2045 §6.7, line by line so a soft line break across chunks is handled."""

    def __init__(self) -> None:
        self._rest = b""

    def feed(self, data: bytes) -> bytes:
        data = self._rest + data
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        if len(self._rest) > 65536:  # a huge line: decode it up to a safe point
            # not inside a trailing run of whitespace nor an escape (kept for the next feed)
            safe = len(self._rest.rstrip(b" \t")) - 3
            if safe > 0:
                cut, self._rest = cut + safe, self._rest[safe:]
        return _qp(data[:cut])

    def flush(self) -> bytes:
        rest, self._rest = self._rest, b""
        return _qp(rest, final=True)


_QP_LINE = re.compile(rb"[ \t]+(?=\r?\n)")
_QP_SOFT = re.compile(rb"=\r?\n")


def _qp(data: bytes, final: bool = False) -> bytes:
    """RFC 2045 §6.7: (3) whitespace at the end of an encoded line is transport padding
    and is deleted, so ``=`` followed by whitespace and the line end is a (5) soft line
    break too; (1) ``=XX`` is an octet, and an ``=`` not followed by two hex digits is
    kept as written (note 1). ``final``: ``data`` ends at the end of the body, which
    also ends a line."""
    data = _QP_LINE.sub(b"", data)
    if final:
        data = data.rstrip(b" \t")
        if data.endswith(b"="):  # a soft line break just before the end of the body
            data = data[:-1]
    return _unescape(_QP_SOFT.sub(b"", data))


_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def _unescape(data: bytes) -> bytes:
    return _QP_ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), data)


class IdentityDecoder:
    def feed(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


Decoder = Base64Decoder | QPDecoder | IdentityDecoder


def decoder_for(encoding: str) -> Decoder:
    enc = encoding.strip().lower()
    if enc == "base64":
        return Base64Decoder()
    if enc == "quoted-printable":
        return QPDecoder()
    return IdentityDecoder()  # 7bit, 8bit, binary, and unknown ones (RFC 2045 §6.4)


def decode_transfer(data: bytes, encoding: str) -> bytes:
    d = decoder_for(encoding)
    return d.feed(data) + d.flush()


_BLOCK_TAGS = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6"})
_RAW_TAGS = ("script", "style")  # their content is not text


class _Next:
    """The next occurrence of ``needle`` at or after a position, remembered: asked with
    growing positions, every search goes forward from the last, so a whole pass is linear."""

    def __init__(self, hay: str, needle: str) -> None:
        self.hay, self.needle, self.pos = hay, needle, -2  # -2: not searched yet

    def at_or_after(self, i: int) -> int:
        if self.pos == -1 or self.pos >= i:
            return self.pos
        self.pos = self.hay.find(self.needle, i)
        return self.pos


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def html_to_text(text: str) -> str:
    """Crude HTML -> text for indexing and previews (not for display): comments, script
    and style elements and tags become a space, block tags (br, p, div, tr, li, h1-h6) a
    line break; a "<" that opens no tag stays. One pass in linear time: the text comes
    from anyone who sends mail, and regular expressions with lazy or unclosed repeats
    took minutes (holding the interpreter) on a megabyte of "<script" or "<br"."""
    lower = text.lower()
    n = len(text)
    gt = _Next(text, ">")
    comment_end = _Next(text, "-->")
    closers = {name: _Next(lower, "</" + name) for name in _RAW_TAGS}
    closed: dict[str, tuple[int, int]] = {}  # name -> (start, end) of the next real closing tag
    out: list[str] = []
    i = 0
    while True:
        lt = text.find("<", i)
        if lt < 0:
            out.append(text[i:])
            break
        out.append(text[i:lt])
        end = -1
        replacement = " "
        if text.startswith("<!--", lt):
            close = comment_end.at_or_after(lt + 4)
            if close >= 0:
                end = close + 3
        else:
            for name in _RAW_TAGS:
                after = lt + 1 + len(name)
                if lower.startswith(name, lt + 1) and (after >= n or not _is_word(text[after])):
                    end = _closing(text, name, after, closers[name], closed)
                    break
        if end < 0:
            close = gt.at_or_after(lt + 1)
            if close < 0:
                out.append(text[lt:])  # no tag can close any more: the rest is text
                break
            end = close + 1
            j = lt + 1
            while j < close and text[j].isspace():
                j += 1
            k = j
            while k < close and _is_word(text[k]):
                k += 1
            if lower[j:k] in _BLOCK_TAGS:
                replacement = "\n"
        out.append(replacement)
        i = end
    return html.unescape("".join(out))


def _closing(text: str, name: str, start: int, finder: _Next, closed: dict[str, tuple[int, int]]) -> int:
    """End of the first ``</name\\s*>`` at or after ``start``, or -1."""
    known = closed.get(name)
    if known is not None and known[0] >= start:
        return known[1]
    if known is not None and known[0] == -1:
        return -1
    p = finder.at_or_after(start)
    while p >= 0:
        j = p + 2 + len(name)
        while j < len(text) and text[j].isspace():
            j += 1
        if j < len(text) and text[j] == ">":
            closed[name] = (p, j + 1)
            return j + 1
        p = finder.at_or_after(p + 1)
    closed[name] = (-1, -1)
    return -1


def part_text(part: Part) -> str:
    """Decoded text of a text/* leaf's collected sample."""
    if part.text_sample is None:
        return ""
    raw = decode_transfer(bytes(part.text_sample), part.encoding)
    text = decode_bytes(raw, part.charset)
    if part.subtype == "html":
        text = html_to_text(text)
    return text


def _leaves(root: Part) -> list[Part]:
    return [p for p in root.walk() if p.text_sample is not None]


def _is_attachment(part: Part) -> bool:
    return (part.disposition or "").lower() == "attachment"


def extract_text(root: Part) -> str:
    """Decoded text of every text part (in order), for the search index.

    A NUL is stored as a space: SQLite's text functions and its full-text index end a
    string at NUL, and a body search must find the text after it (RFC 3501 §6.4.4)."""
    return "\n".join(t for t in (part_text(p) for p in _leaves(root)) if t).replace("\x00", " ")


def make_preview(root: Part, length: int = 200) -> str:
    """First ``length`` characters of the main text, whitespace folded."""
    leaves = [p for p in _leaves(root) if not _is_attachment(p)]
    main = next((p for p in leaves if p.subtype == "plain"), None) or next(iter(leaves), None)
    if main is None:
        return ""
    text = " ".join(part_text(main).split())
    return text[:length]


class SearchFields:
    """Decoded header facts of a message node."""

    def __init__(self, root: Part) -> None:
        self.subject = _decoded(root, "subject")
        self.from_ = _address_text(root, "from")
        self.to = _address_text(root, "to")
        self.cc = _address_text(root, "cc")
        self.bcc = _address_text(root, "bcc")
        value = root.header("message-id")
        self.message_id = header_text(value) if value is not None else ""
        # RFC 9051 §6.4.4 TEXT: "the header (including MIME header fields) or body": the
        # MIME header fields of every part are searched with the message's header.
        self.headers = "\n".join(
            f"{name}: {header_text(value)}" for part in root.walk() for name, value in part.fields
        ).replace("\x00", " ")


def _address_text(part: Part, name: str) -> str:
    """What FROM/TO/CC/BCC search in (RFC 3501 §6.4.4): the addresses with their display
    names, and the decoded field as written, so that a name in any form matches: the
    comment form ``user@domain (Real Name)``, a group name (``undisclosed-recipients:;``)."""
    formatted = format_addresses(parse_address_list(_decoded_raw(part, name)))
    written = _decoded(part, name)
    return formatted if written in ("", formatted) else f"{formatted}\n{written}"


def _decoded(part: Part, name: str) -> str:
    """Every occurrence of the field, decoded, one a line (HEADER searches them all)."""
    lname = name.lower()
    values = [header_text(v) for n, v in part.fields if n.lower() == lname]
    return "\n".join(values).replace("\x00", " ")


def _decoded_raw(part: Part, name: str) -> str:
    """Unfolded, 8-bit decoded, encoded words kept (address parsing decodes names)."""
    value = part.header(name)
    return unfold(decode_header_bytes(value)) if value is not None else ""


def search_fields(root: Part) -> SearchFields:
    return SearchFields(root)
