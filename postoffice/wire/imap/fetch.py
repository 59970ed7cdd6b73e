"""FETCH data items (RFC 9051 §6.4.5, RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ).

Items are frozen dataclasses. ``label()`` gives the name the server must use for the
item in the ``* n FETCH (...)`` response: ``BODY.PEEK[HEADER]<0.100>`` is answered as
``BODY[HEADER]<0>`` (RFC 9051 §7.5.2: the partial's length is not echoed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .scanner import Scanner

__all__ = [
    "FetchItem",
    "FetchAttr",
    "Section",
    "parse_section",
    "FetchBody",
    "FetchBinarySize",
    "SIMPLE_ATTRS",
    "EXTENSION_ATTRS",
    "MACROS",
    "parse_fetch_item",
    "parse_fetch_items",
]

# RFC 9051 §6.4.5 plus RFC 3501's RFC822 forms and RFC 7162's MODSEQ.
SIMPLE_ATTRS = frozenset(
    {
        "ENVELOPE",
        "FLAGS",
        "INTERNALDATE",
        "RFC822.SIZE",
        "BODY",
        "BODYSTRUCTURE",
        "UID",
        "MODSEQ",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.TEXT",
    }
)
# RFC 8970 PREVIEW, RFC 8474 §5 EMAILID and THREADID, RFC 8514 §4 SAVEDATE.
EXTENSION_ATTRS = frozenset({"PREVIEW", "EMAILID", "THREADID", "SAVEDATE"})
PREVIEW_MODIFIERS = frozenset({"LAZY"})  # RFC 8970 §3.2
# RFC 9051 §6.4.5 macros.
MACROS: dict[str, tuple[str, ...]] = {
    "ALL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"),
    "FAST": ("FLAGS", "INTERNALDATE", "RFC822.SIZE"),
    "FULL": ("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"),
}
SectionText = Literal["HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"]


@dataclass(frozen=True)
class FetchAttr:
    """An item without section: FLAGS, UID, ENVELOPE, BODYSTRUCTURE, RFC822.HEADER, ...

    ``RFC822`` means ``BODY[]``, ``RFC822.HEADER`` ``BODY.PEEK[HEADER]``, ``RFC822.TEXT``
    ``BODY[TEXT]`` (RFC 3501 §6.4.5) but each is answered under its own name."""

    name: str

    def label(self) -> str:
        return self.name


@dataclass(frozen=True)
class Section:
    """``part``: (1, 2) for ``1.2``; () for the whole message. ``text``: None, HEADER,
    HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT or MIME. ``fields``: upper-cased header names."""

    part: tuple[int, ...] = ()
    text: SectionText | None = None
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        out = ".".join(str(p) for p in self.part)
        if self.text:
            out = f"{out}.{self.text}" if out else self.text
        if self.fields:
            out += " (" + " ".join(self.fields) + ")"
        return out


@dataclass(frozen=True)
class FetchBody:
    """BODY[section]<partial>, BODY.PEEK[...] and BINARY[.PEEK][part]<partial>.

    ``partial`` is (origin, length). ``peek``: do not set \\Seen. ``binary``: the decoded
    content (RFC 3516 §4.2)."""

    section: Section = Section()
    partial: tuple[int, int] | None = None
    peek: bool = False
    binary: bool = False

    def label(self) -> str:
        name = "BINARY" if self.binary else "BODY"
        out = f"{name}[{self.section}]"
        if self.partial is not None:
            out += f"<{self.partial[0]}>"
        return out


@dataclass(frozen=True)
class FetchBinarySize:
    part: tuple[int, ...] = ()

    def label(self) -> str:
        return "BINARY.SIZE[" + ".".join(str(p) for p in self.part) + "]"


FetchItem = FetchAttr | FetchBody | FetchBinarySize

_NAME_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.")


def _part(sc: Scanner) -> tuple[int, ...]:
    """section-part = nz-number *("." nz-number); stops before ".TEXT" etc."""
    parts: list[int] = []
    c = sc.peek()
    if c is None or not 0x31 <= c <= 0x39:
        return ()
    parts.append(sc.number(nonzero=True))
    while sc.peek() == 0x2E:
        nxt = sc.line[sc.pos + 1 : sc.pos + 2]
        if not nxt.isdigit():
            break
        sc.pos += 1
        parts.append(sc.number(nonzero=True))
    return tuple(parts)


def parse_section(sc: Scanner) -> Section:
    """``[section]`` at the scanner: FETCH, and IMAP URLs (RFC 5092 §3 isection)."""
    return _section(sc)


def _section(sc: Scanner) -> Section:
    sc.char(b"[")
    part = _part(sc)
    text: SectionText | None = None
    fields: tuple[str, ...] = ()
    if part and sc.peek() == 0x2E:
        sc.pos += 1
        if sc.peek() is None or sc.peek() == 0x5D:
            raise sc.error("expected a section text after '.'")
    if sc.peek() != 0x5D:
        word = sc._run(frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.")).decode().upper()
        if word == "HEADER.FIELDS" or word == "HEADER.FIELDS.NOT":
            text = "HEADER.FIELDS" if word == "HEADER.FIELDS" else "HEADER.FIELDS.NOT"
            sc.sp()
            sc.open()
            names = [sc.text(sc.astring()).upper()]
            while sc.try_sp():
                names.append(sc.text(sc.astring()).upper())
            sc.close()
            fields = tuple(names)
        elif word == "HEADER" or word == "TEXT":
            text = "HEADER" if word == "HEADER" else "TEXT"
        elif word == "MIME" and part:  # RFC 9051 §9: MIME only after a part number
            text = "MIME"
        else:
            raise sc.error(f"bad section {word!r}")
    sc.char(b"]")
    return Section(part, text, fields)


def _partial(sc: Scanner) -> tuple[int, int] | None:
    if not sc.try_char(b"<"):
        return None
    origin = sc.number()
    sc.char(b".")
    length = sc.number(nonzero=True)  # RFC 9051 §9 partial = "<" number "." nz-number ">"
    sc.char(b">")
    return origin, length


def _preview_modifiers(sc: Scanner) -> None:
    """RFC 8970 §5: "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]. LAZY lets the
    server answer NIL rather than compute a preview; ours is computed at ingestion, so
    the answer is the same. A parenthesised list that does not start with a preview
    modifier is left alone (it is the command's fetch modifiers, RFC 4466)."""
    rest = sc.line[sc.pos : sc.pos + 2 + max(len(m) for m in PREVIEW_MODIFIERS) + 1].upper()
    if not any(rest.startswith(b" (" + m.encode() + end) for m in PREVIEW_MODIFIERS for end in (b" ", b")")):
        return
    sc.sp()
    sc.open()
    while True:
        modifier = sc.keyword()
        if modifier not in PREVIEW_MODIFIERS:
            raise sc.error(f"unknown PREVIEW modifier {modifier}")
        if not sc.try_sp():
            break
    sc.close()


def parse_fetch_item(sc: Scanner) -> FetchItem:
    name = sc._run(_NAME_CHARS).decode("ascii").upper()
    if sc.peek() == 0x5B:  # "["
        if name in ("BODY", "BODY.PEEK"):
            section = _section(sc)
            return FetchBody(section, _partial(sc), peek=name == "BODY.PEEK")
        if name in ("BINARY", "BINARY.PEEK", "BINARY.SIZE"):
            sc.char(b"[")
            part = _part(sc)
            sc.char(b"]")
            if name == "BINARY.SIZE":
                return FetchBinarySize(part)
            return FetchBody(Section(part), _partial(sc), peek=name == "BINARY.PEEK", binary=True)
        raise sc.error(f"unexpected section after {name}")
    if name in SIMPLE_ATTRS:
        return FetchAttr(name)
    if name in EXTENSION_ATTRS:
        if name == "PREVIEW":
            _preview_modifiers(sc)
        return FetchAttr(name)
    raise sc.error(f"unknown fetch item {name!r}")


def parse_fetch_items(sc: Scanner) -> tuple[tuple[FetchItem, ...], str | None]:
    """``ALL``/``FAST``/``FULL``, one item, or a parenthesised list; returns (items, macro)."""
    if sc.try_open():
        items = [parse_fetch_item(sc)]
        while sc.try_sp():
            items.append(parse_fetch_item(sc))
        sc.close()
        return tuple(items), None
    word = sc.peek_keyword()
    if word in MACROS:
        sc.keyword()
        return tuple(FetchAttr(n) for n in MACROS[word]), word
    return (parse_fetch_item(sc),), None
