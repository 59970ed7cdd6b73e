"""Header fields: splitting a header block, RFC 2047 encoded words, RFC 2231 parameters.

Everything here is tolerant: a broken encoded word stays as written, an unknown
charset decodes as UTF-8 with replacement characters. 8-bit bytes in a header are read
as UTF-8 when they are valid UTF-8; otherwise, for display and search, as windows-1252
(``decode_header_bytes``), and for values sent back as written, as surrogate escapes
that give the octets back (``header_str``). Nothing here
raises on bad input; nothing does I/O.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import urllib.parse

__all__ = [
    "HeaderField",
    "split_header_block",
    "header_text",
    "decode_encoded_words",
    "decode_header_bytes",
    "header_str",
    "decode_bytes",
    "lookup_charset",
    "parse_params",
    "raw_params",
    "unfold",
]

HeaderField = tuple[str, bytes]  # (name as written, raw value: unfolded line ends kept)

# Charset names seen in real mail that Python spells differently or not at all.
_CHARSET_ALIASES = {
    "x-unknown": "windows-1252",
    "unknown-8bit": "windows-1252",
    "x-user-defined": "windows-1252",
    "ansi_x3.4-1968": "ascii",
    "us-ascii": "ascii",
    "iso-8859-8-i": "iso-8859-8",
    "gb2312": "gb18030",  # GB18030 is a superset; real "gb2312" mail often uses GBK chars
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "windows-874": "cp874",
    "utf8": "utf-8",
}


def lookup_charset(name: str | None) -> str | None:
    """A Python codec name for a MIME charset, or None if unknown."""
    if not name:
        return None
    key = name.strip().strip('"').lower()
    key = _CHARSET_ALIASES.get(key, key)
    try:
        return codecs.lookup(key).name
    except (LookupError, ValueError):
        return None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode text in ``charset``; unknown or absent charsets: UTF-8 if valid, else cp1252."""
    codec = lookup_charset(charset)
    if codec is not None and codec not in ("ascii",):
        try:
            return data.decode(codec, errors="replace")
        except Exception:  # some codecs raise odd errors on odd input
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def decode_header_bytes(raw: bytes) -> str:
    """Raw header value bytes (may hold 8-bit text) -> str, encoded words NOT decoded."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def header_str(raw: bytes) -> str:
    """Raw header value bytes -> str without losing an octet: valid UTF-8 as text, any
    other octet (raw Shift_JIS, Latin-1, ...) as a surrogate escape, which
    ``str.encode("utf-8", "surrogateescape")`` turns back into the octet. For values
    sent back as they were (IMAP ENVELOPE and BODYSTRUCTURE, RFC 3501 §7.4.2); encoded
    words are NOT decoded."""
    return raw.decode("utf-8", "surrogateescape")


def unfold(value: str) -> str:
    """RFC 5322 §2.2.3: unfolding removes the CRLF before folding whitespace."""
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", "")


def split_header_block(block: bytes) -> list[HeaderField]:
    """Split a header block into fields (RFC 5322 §2.2). Lines without a colon that
    are not continuations are skipped (tolerance); the blank line may be absent."""
    fields: list[HeaderField] = []
    name: str | None = None
    value = bytearray()
    for line in block.splitlines(keepends=True):
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t"):
            if name is not None:
                value += line
            continue
        if name is not None:
            fields.append((name, bytes(value)))
            name = None
        colon = line.find(b":")
        if colon <= 0:
            continue
        candidate = line[:colon].rstrip(b" \t")
        if not candidate or any(c <= 32 or c >= 127 for c in candidate):
            continue
        name = candidate.decode("ascii")
        value = bytearray(line[colon + 1 :])
    if name is not None:
        fields.append((name, bytes(value)))
    return fields


def header_text(raw: bytes) -> str:
    """A header value for display: unfolded, 8-bit decoded, encoded words decoded, stripped."""
    return decode_encoded_words(unfold(decode_header_bytes(raw))).strip()


# RFC 2047 §2: =?charset?encoding?encoded-text?=  (charset may carry *lang, RFC 2231 §5)
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def _decode_word_payload(encoding: str, text: str) -> bytes | None:
    if encoding in "bB":
        data = text.encode("ascii", errors="ignore")
        data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        data += b"=" * (-len(data) % 4)
        try:
            return base64.b64decode(data)
        except (binascii.Error, ValueError):
            return None
    # RFC 2047 §4.2: "_" is space; =XX hex escapes
    raw = text.replace("_", " ").encode("latin-1", errors="replace")
    return binascii.a2b_qp(raw)


def decode_encoded_words(value: str) -> str:
    """Decode RFC 2047 encoded words in an (unfolded) header value.

    Whitespace between two adjacent encoded words is dropped (§6.2); adjacent words in
    the same charset are decoded together so a multi-byte character split across words
    survives. A word that cannot be decoded stays as written."""
    out: list[str] = []
    pos = 0
    pending: bytearray | None = None
    pending_charset = ""

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            out.append(decode_bytes(bytes(pending), pending_charset))
            pending = None

    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        charset = m.group(1).split("*", 1)[0]
        payload = _decode_word_payload(m.group(2), m.group(3))
        if payload is None:
            flush()
            out.append(between)
            out.append(m.group(0))
            pos = m.end()
            continue
        adjacent = pos > 0 and between.strip(" \t\r\n") == "" and (pending is not None)
        if adjacent and charset.lower() == pending_charset.lower():
            assert pending is not None
            pending += payload
        else:
            if not adjacent:
                flush()
                out.append(between)
            else:
                flush()
            pending = bytearray(payload)
            pending_charset = charset
        pos = m.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


# ---- parameters (RFC 2045 §5.1, RFC 2183, RFC 2231) ---------------------------------------

def _split_semicolons(value: str) -> list[str]:
    """Split at the semicolons outside quoted strings; RFC 822 comments outside quoted
    strings are removed (RFC 2045 §5.1: comments are allowed in a Content-Type value,
    ``TEXT/Plain (a comment) ; CharSet="UTF-8"``)."""
    parts: list[str] = []
    cur: list[str] = []
    quoted = False
    escape = False
    depth = 0  # comment nesting (RFC 5322 §3.2.2)
    for ch in value:
        if escape:
            if not depth:
                cur.append(ch)
            escape = False
        elif ch == "\\" and (quoted or depth):
            if not depth:
                cur.append(ch)
            escape = True
        elif depth:
            depth += {"(": 1, ")": -1}.get(ch, 0)
        elif ch == "(" and not quoted:
            depth = 1
        elif ch == '"':
            quoted = not quoted
            cur.append(ch)
        elif ch == ";" and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if value.startswith('"'):  # unterminated quote: tolerate
        return value[1:]
    return value


# RFC 2231 §7 attribute-char: what an extended value may hold without a %XX escape.
_ATTRIBUTE_CHARS = frozenset("!#$&+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SECTION = re.compile(r"([^*]+)\*([0-9]{1,9})(\*?)")  # 9 digits: int() of thousands would raise


def _percent(text: str) -> str:
    return "".join(c if c in _ATTRIBUTE_CHARS else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogateescape"))
                   for c in text)  # fmt: skip


def raw_params(value: str) -> tuple[str, list[tuple[str, str]]]:
    """Like :func:`parse_params` but the parameters as written (unquoted, names
    lower-cased, values not decoded): what IMAP BODYSTRUCTURE sends.

    RFC 2231 §3 continuations (``name*0``, ``name*1*``, ...) are one parameter, in the
    place of its first section: ``name`` with the sections joined when none is
    extended, else ``name*`` with the extended value ``charset'language'%XX...``
    (RFC 2231 §4), the plain sections %-encoded into it (§7 attribute-char)."""
    pieces = _split_semicolons(unfold(value))
    out: list[tuple[str, str]] = []
    sections: dict[str, dict[int, tuple[str, bool]]] = {}
    places: dict[str, int] = {}  # a continued parameter's place in ``out``
    for piece in pieces[1:]:
        name, eq, raw = piece.partition("=")
        name = name.strip().lower()
        if not (eq and name):
            continue
        m = _SECTION.fullmatch(name)
        if m is None:
            out.append((name, _unquote(raw)))
            continue
        base = m.group(1)
        if base not in sections:
            sections[base] = {}
            places[base] = len(out)
            out.append((base, ""))  # filled in below
        sections[base].setdefault(int(m.group(2)), (_unquote(raw), bool(m.group(3))))
    for base, parts in sections.items():
        ordered = [parts[i] for i in sorted(parts)]
        if any(extended for _, extended in ordered):
            first, first_extended = ordered[0]
            if first_extended and first.count("'") >= 2:
                head = first[: first.index("'", first.index("'") + 1) + 1]
                ordered[0] = (first[len(head) :], True)
            else:
                head = "''"
            text = head + "".join(v if extended else _percent(v) for v, extended in ordered)
            out[places[base]] = (base + "*", text)
        else:
            out[places[base]] = (base, "".join(v for v, _ in ordered))
    return pieces[0].strip().lower(), out


def parse_params(value: str) -> tuple[str, dict[str, str]]:
    """``"text/plain; charset=us-ascii"`` -> (``"text/plain"``, ``{"charset": "us-ascii"}``).

    Names are lower-cased. RFC 2231 continuations (``name*0``, ``name*1*``) are joined
    and ``name*=charset'lang'%XX`` values decoded; RFC 2047 words in a quoted value
    (common, though not allowed) are decoded too. The first value is lower-cased."""
    pieces = _split_semicolons(unfold(value))
    main = pieces[0].strip().lower()
    simple: dict[str, str] = {}
    # name -> {index: (value, extended)}
    continued: dict[str, dict[int, tuple[str, bool]]] = {}
    for piece in pieces[1:]:
        if "=" not in piece:
            continue
        name, _, raw = piece.partition("=")
        name = name.strip().lower()
        if not name:
            continue
        m = re.fullmatch(r"([^*]+)\*(?:([0-9]{1,9})(\*)?|())", name)
        if m is None:
            simple.setdefault(name, _unquote(raw))
            continue
        base = m.group(1)
        if m.group(2) is not None:
            index = int(m.group(2))
            extended = m.group(3) is not None
        else:
            index = 0
            extended = True
        continued.setdefault(base, {})[index] = (_unquote(raw) if not extended else raw.strip().strip('"'), extended)
    params: dict[str, str] = {}
    for name, v in simple.items():
        params[name] = decode_encoded_words(v) if "=?" in v else v
    for base, segments in continued.items():
        charset = ""
        data = bytearray()
        for i, index in enumerate(sorted(segments)):
            seg, extended = segments[index]
            if extended:
                if i == 0 and seg.count("'") >= 2:
                    charset, _lang, seg = seg.split("'", 2)
                data += urllib.parse.unquote_to_bytes(seg)
            else:
                data += seg.encode("utf-8")
        params[base] = decode_bytes(bytes(data), charset or "utf-8")
    return main, params
