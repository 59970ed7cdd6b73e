"""Streaming MIME parser: bytes in (any chunking), the part tree with offsets out.

A push parser: ``feed(data)`` any number of times, then ``close()`` returns the root
:class:`Part`. Feeding one byte at a time gives the same tree as feeding the whole
message. Memory is bounded whatever the message size: bodies are never kept (only
header blocks, each at most ``MessageLimits.max_header_size``, plus an optional
bounded sample of text bodies for the search index, ``text_limit`` octets in all).

Tree shape (offsets are absolute octet offsets in the fed stream):

- The root is a *message* node (``is_message``): its header block is the RFC 5322
  header; its body is the message body.
- A node whose Content-Type is multipart/* (with a boundary) has ``children``: its
  body holds the preamble, the children and the epilogue (RFC 2046 §5.1.1).
- A message/rfc822 (or message/global) node has ``message``: a message node whose
  header starts at the part's body offset and whose extent is the part's body (also
  under a transfer encoding RFC 2046 §5.2.1 forbids there: the octets as they are).
- ``body_length`` of a part followed by a boundary excludes the line end before the
  boundary line (RFC 2046 §5.1.1: that CRLF belongs to the delimiter).
- ``body_lines``: line ends in the body, plus one if the body is non-empty and does
  not end with a line end.

Only LF ends a line here (a CR before it belongs to the line end); the ingestion
pipeline normalises line ends to CRLF before the parser sees them.

Tolerance: a missing closing boundary ends the parts at the end of the data; a
header block without a blank line ends at an enclosing boundary or the end of the
data; beyond ``max_header_size`` the rest of a header block is body; beyond
``max_depth`` a multipart or message part is an opaque leaf; beyond ``max_parts``
boundaries are no longer recognised (the rest is opaque body). Nothing raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from postoffice.config import MessageLimits
from postoffice.message.headers import (
    HeaderField,
    decode_header_bytes,
    header_str,
    parse_params,
    raw_params,
    split_header_block,
    unfold,
)

__all__ = ["Part", "MimeParser", "parse_bytes"]

# A line starting with "--" longer than this cannot be a boundary delimiter
# (RFC 2046 §5.1.1: boundary <= 70 chars, plus "--", "--", transport padding).
_MAX_DELIMITER_LINE = 1024
# Header fields an encapsulated message keeps (for its ENVELOPE and MIME facts).
_KEEP_FIELDS = {
    "date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc", "in-reply-to", "message-id",
    "mime-version", "content-type", "content-transfer-encoding", "content-id", "content-description",
    "content-disposition", "content-language", "content-location", "content-md5",
}


@dataclass(eq=False, slots=True)
class Part:
    """One node of the tree; see the module docstring for its shape."""

    header_offset: int
    depth: int = 0
    is_message: bool = False
    header_length: int = 0
    body_offset: int = 0
    body_length: int = 0
    body_lines: int = 0
    type: str = "text"
    subtype: str = "plain"
    params: dict[str, str] = field(default_factory=dict)  # decoded (RFC 2231/2047), names lower-case
    raw_params: list[tuple[str, str]] = field(default_factory=list)  # as written, for BODYSTRUCTURE
    id: str | None = None
    description: str | None = None
    encoding: str = "7BIT"  # as written (upper-cased)
    disposition: str | None = None
    disposition_params: dict[str, str] = field(default_factory=dict)
    raw_disposition_params: list[tuple[str, str]] = field(default_factory=list)
    language: list[str] | None = None
    location: str | None = None
    md5: str | None = None
    fields: list[HeaderField] = field(default_factory=list)
    children: list[Part] = field(default_factory=list)
    message: Part | None = None
    header_truncated: bool = False
    text_sample: bytearray | None = None  # raw body octets of text/* leaves, bounded
    _nl_at_body: int = 0

    @property
    def content_type(self) -> str:
        return f"{self.type}/{self.subtype}"

    @property
    def charset(self) -> str | None:
        return self.params.get("charset")

    @property
    def filename(self) -> str | None:
        return self.disposition_params.get("filename") or self.params.get("name")

    def header(self, name: str) -> bytes | None:
        """The first raw value of a kept header field."""
        lname = name.lower()
        for n, v in self.fields:
            if n.lower() == lname:
                return v
        return None

    def walk(self) -> list[Part]:
        """This node and every node below, depth first, in stream order."""
        out: list[Part] = [self]
        if self.message is not None:
            out.extend(self.message.walk())
        for c in self.children:
            out.extend(c.walk())
        return out


class MimeParser:
    """The push parser. ``feed()`` then ``close()``; see the module docstring."""

    def __init__(self, limits: MessageLimits | None = None, *, text_limit: int = 0) -> None:
        self.limits = limits or MessageLimits()
        self._buf = bytearray()
        self._i = 0  # index in _buf of the first unconsumed byte
        self._consumed = 0  # absolute offset of _buf[_i]
        self._nl = 0  # LFs consumed so far
        self._last = b""  # the last (up to 3) consumed bytes
        self.root = Part(0, depth=0, is_message=True)
        self._stack: list[Part] = [self.root]  # open nodes, outermost first
        self._boundaries: list[tuple[bytes, int]] = []  # (boundary, index in _stack of its multipart)
        self._in_header = True
        self._header = bytearray()
        self._parts = 1
        self._text_budget = text_limit
        self._closed = False

    # ---- public ----------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self._closed or not data:
            return
        self._buf += data
        self._run(final=False)
        if self._i > 65536 or self._i == len(self._buf):
            del self._buf[: self._i]
            self._i = 0

    def close(self) -> Part:
        if self._closed:
            return self.root
        self._run(final=True)
        end = self._consumed
        while self._in_header:  # may open an encapsulated message, itself without body
            self._end_header(self._stack[-1], end)
        while self._stack:
            self._close_node(self._stack.pop(), end, 0)
        self._closed = True
        self._buf = bytearray()
        return self.root

    @property
    def size(self) -> int:
        return self._consumed + len(self._buf) - self._i

    # ---- consumption -------------------------------------------------------------------
    def _consume(self, n: int) -> None:
        if n <= 0:
            return
        buf, i = self._buf, self._i
        self._nl += buf.count(b"\n", i, i + n)
        self._last = (self._last + bytes(buf[max(i, i + n - 3) : i + n]))[-3:]
        if not self._in_header and self._text_budget > 0:
            part = self._stack[-1]
            if part.text_sample is not None:
                take = min(n, self._text_budget)
                part.text_sample += buf[i : i + take]
                self._text_budget -= take
        self._i = i + n
        self._consumed += n

    @property
    def _at_line_start(self) -> bool:
        return self._consumed == 0 or self._last[-1:] == b"\n"

    def _terminator_len(self) -> int:
        if self._last[-1:] != b"\n":
            return 0
        return 2 if self._last[-2:] == b"\r\n" else 1

    # ---- the state machine -----------------------------------------------------------
    def _run(self, final: bool) -> None:
        buf = self._buf
        while self._i < len(buf):
            i = self._i
            if self._in_header:
                j = buf.find(b"\n", i)
                if j < 0:
                    if len(self._header) + len(buf) - i > self.limits.max_header_size:
                        self._header_overflow()
                        continue
                    if final:
                        self._header += buf[i:]
                        self._consume(len(buf) - i)
                    return
                line = bytes(buf[i : j + 1])
                if line.startswith(b"--") and self._boundaries and self._match(line) is not None:
                    self._boundary(line)
                    continue
                if len(self._header) + len(line) > self.limits.max_header_size:
                    self._header_overflow()
                    continue
                self._header += line
                self._consume(len(line))
                if line in (b"\r\n", b"\n"):
                    self._end_header(self._stack[-1], self._consumed)
                continue
            # body
            if not self._boundaries:
                self._consume(len(buf) - i)
                return
            if self._at_line_start:
                head = bytes(buf[i : i + 2])
                if head == b"--" or (len(head) < 2 and b"--".startswith(head)):
                    j = buf.find(b"\n", i, i + _MAX_DELIMITER_LINE)
                    if j >= 0 or final or len(buf) - i >= _MAX_DELIMITER_LINE:
                        line = bytes(buf[i : j + 1]) if j >= 0 else bytes(buf[i : i + _MAX_DELIMITER_LINE])
                        if self._match(line) is not None:
                            self._boundary(line)
                            continue
                    else:
                        return  # wait for the rest of a possible delimiter line
            k = buf.find(b"\n-", i)
            if k < 0:
                self._consume(len(buf) - i)
                return
            self._consume(k + 1 - i)

    def _match(self, line: bytes) -> tuple[int, bool] | None:
        """(index in _boundaries, is_close) if ``line`` is a delimiter of an open multipart."""
        text = line.rstrip(b"\r\n")
        if not text.startswith(b"--"):
            return None
        rest = text[2:]
        for idx in range(len(self._boundaries) - 1, -1, -1):
            boundary = self._boundaries[idx][0]
            if rest.startswith(boundary):
                # RFC 2046 §5.1.1, note to implementors: "An exact match of the entire
                # candidate line is not required; it is sufficient that the boundary
                # appear in its entirety following the CRLF" (innermost boundary first).
                return idx, rest[len(boundary) :].startswith(b"--")
        return None

    def _boundary(self, line: bytes) -> None:
        matched = self._match(line)
        assert matched is not None
        idx, is_close = matched
        boundary, owner_index = self._boundaries[idx]
        p = self._consumed
        t = self._terminator_len()
        while self._in_header:
            self._end_header(self._stack[-1], p)
        while len(self._stack) > owner_index + 1:
            self._close_node(self._stack.pop(), p, t)
        del self._boundaries[idx:]
        owner = self._stack[-1]
        self._in_header = False
        self._consume(len(line))
        if is_close:
            return
        self._boundaries.append((boundary, owner_index))
        if self._parts >= self.limits.max_parts:
            self._boundaries.clear()  # limit reached: the rest is opaque body
            return
        self._parts += 1
        child = Part(self._consumed, depth=owner.depth + 1)
        if owner.subtype == "digest":  # RFC 2046 §5.1.5
            child.type, child.subtype = "message", "rfc822"
        owner.children.append(child)
        self._stack.append(child)
        self._in_header = True
        self._header = bytearray()

    def _header_overflow(self) -> None:
        part = self._stack[-1]
        part.header_truncated = True
        self._end_header(part, self._consumed)

    def _close_node(self, part: Part, p: int, t: int) -> None:
        if part.body_offset > p - t >= part.header_offset:
            # RFC 2046 §5.1.1: the line end before a delimiter belongs to the delimiter,
            # also when it is the line end of a header (an empty part, a part or an
            # encapsulated message that is all header): the header stops before it, so
            # BODY[n.MIME] / BODY[n.HEADER] are never longer than the part.
            part.body_offset = p - t
            part.header_length = part.body_offset - part.header_offset
            part._nl_at_body = self._nl - 1
        end = max(part.body_offset, p - t)
        part.body_length = end - part.body_offset
        if part.body_length == 0:
            part.body_lines = 0
        else:
            lfs = self._nl - (1 if t else 0) - part._nl_at_body
            last_index = -1 - t
            last = self._last[last_index:][:1] if len(self._last) >= -last_index else b"?"
            part.body_lines = lfs + (0 if last == b"\n" else 1)
        if part.text_sample is not None and len(part.text_sample) > part.body_length:
            del part.text_sample[part.body_length :]

    def _end_header(self, part: Part, body_offset: int) -> None:
        self._in_header = False
        block = bytes(self._header)
        self._header = bytearray()
        part.header_length = body_offset - part.header_offset
        part.body_offset = body_offset
        part._nl_at_body = self._nl
        fields = split_header_block(block)
        _apply_mime_fields(part, fields)
        if part.is_message and part.depth == 0:
            part.fields = fields
        else:
            part.fields = [f for f in fields if f[0].lower() in _KEEP_FIELDS]
        nested_ok = part.depth < self.limits.max_depth and self._parts < self.limits.max_parts
        boundary = part.params.get("boundary", "").encode("utf-8", "replace")
        if part.type == "multipart" and boundary and nested_ok:
            self._boundaries.append((boundary, len(self._stack) - 1))
        elif part.type == "message" and part.subtype in ("rfc822", "global") and nested_ok:
            # RFC 2046 §5.2.1 allows only 7bit, 8bit and binary here; a message sent with
            # base64 or quoted-printable anyway is still parsed from its octets as they
            # are (as other servers do), so BODYSTRUCTURE and every section of it agree.
            self._parts += 1
            inner = Part(body_offset, depth=part.depth + 1, is_message=True)
            part.message = inner
            self._stack.append(inner)
            self._in_header = True
        elif part.type == "text" and self._text_budget > 0:
            part.text_sample = bytearray()


def _str(raw: bytes) -> str:
    """A value for display (8-bit octets that are not UTF-8 read as windows-1252)."""
    return unfold(decode_header_bytes(raw)).strip()


def _octets(raw: bytes) -> str:
    """A value sent back as written (BODYSTRUCTURE): every octet kept (``header_str``)."""
    return unfold(header_str(raw)).strip()


def _apply_mime_fields(part: Part, fields: list[HeaderField]) -> None:
    """RFC 2045 §5.2: no (or an unusable) Content-Type means text/plain; charset=us-ascii,
    except where a default was set by the parent (multipart/digest)."""
    seen: set[str] = set()
    for name, raw in fields:
        key = name.lower()
        if key in seen:
            continue  # the first occurrence wins
        seen.add(key)
        value = _str(raw)
        written = _octets(raw)
        if key == "content-type":
            main, params = parse_params(value)
            _, rparams = raw_params(written)
            typ, slash, sub = main.partition("/")
            typ, sub = typ.strip(), sub.strip()
            if slash and typ and sub and all(c.isascii() and c.isprintable() and c not in ' ()<>@,;:\\"[]?=' for c in typ + sub):
                part.type, part.subtype = typ, sub
                part.params, part.raw_params = params, rparams
            else:
                part.type, part.subtype = "text", "plain"
                part.params, part.raw_params = {"charset": "us-ascii"}, [("charset", "us-ascii")]
        elif key == "content-transfer-encoding":
            part.encoding = value.split(";")[0].strip().upper() or "7BIT"
        elif key == "content-id":
            part.id = written
        elif key == "content-description":
            part.description = written
        elif key == "content-disposition":
            disp, dparams = parse_params(value)
            _, rparams = raw_params(written)
            part.disposition = disp or None
            part.disposition_params = dparams
            part.raw_disposition_params = rparams
        elif key == "content-language":
            langs = [x.strip() for x in written.split(",") if x.strip()]
            part.language = langs or None
        elif key == "content-location":
            part.location = written
        elif key == "content-md5":
            part.md5 = written
    if part.type == "text" and "content-type" not in seen and not part.params:
        part.params = {"charset": "us-ascii"}
        part.raw_params = [("charset", "us-ascii")]


def parse_bytes(data: bytes, limits: MessageLimits | None = None, *, text_limit: int = 0) -> Part:
    """Parse a whole message held in memory (tests, small messages)."""
    parser = MimeParser(limits, text_limit=text_limit)
    parser.feed(data)
    return parser.close()
