"""Which octets a section of a message names, for every protocol (IMAP BODY[...] and
BINARY[...], the web's attachments and media).

A :class:`SectionSpec` is RFC 9051 §6.4.5's section-spec without its wire syntax: part
numbers ((1, 2) is part "1.2"; () the whole message) and what of that part (its body,
its MIME header, or for a message part its HEADER, HEADER.FIELDS (.NOT) or TEXT).
Everything here is pure: it reads the typed
:class:`~postoffice.message.structure.BodyStructure`, never the store.
``MailService.read_section`` / ``read_part`` read the octets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from postoffice.errors import Kind, MailError
from postoffice.message.structure import BodyPart, BodyStructure

__all__ = [
    "SectionSpec",
    "SectionText",
    "NotALeaf",
    "UnknownEncoding",
    "section_span",
    "decodable_leaf",
    "select_header_fields",
    "KNOWN_ENCODINGS",
]

SectionText = Literal["HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"]
# RFC 2045 §6.1 transfer encodings a part can be decoded from ("" when none is given).
KNOWN_ENCODINGS = frozenset({"7bit", "8bit", "binary", "base64", "quoted-printable", ""})


@dataclass(frozen=True, slots=True)
class SectionSpec:
    part: tuple[int, ...] = ()
    text: SectionText | None = None
    fields: tuple[str, ...] = ()  # header field names (HEADER.FIELDS, HEADER.FIELDS.NOT)


class NotALeaf(MailError):
    """The part is missing or a multipart: it has no body of its own to decode."""

    def __init__(self, text: str = "not a leaf part") -> None:
        super().__init__(Kind.INVALID, text)


class UnknownEncoding(MailError):
    """RFC 3516 §4.3: the part's transfer encoding is not one this server can decode."""

    def __init__(self, encoding: str) -> None:
        super().__init__(Kind.INVALID, f"unknown content-transfer-encoding {encoding}")
        self.encoding = encoding


def section_span(structure: BodyStructure, spec: SectionSpec) -> tuple[int, int] | None:
    """(offset, length) of a section in the stored message, None if it does not exist
    (RFC 9051 §6.4.5: HEADER and TEXT of a part exist only for message/rfc822 parts)."""
    node: BodyPart | None
    if not spec.part:
        if spec.text is None:
            return 0, structure.size
        node = structure.root
    else:
        node = structure.part(spec.part)
        if node is None:
            return None
        if spec.text is None:
            return node.body_offset, node.body_length
        if spec.text == "MIME":
            return node.header_offset, node.header_length
        if node.message is None:
            return None
        node = node.message.node
    if spec.text == "TEXT":
        return node.body_offset, node.body_length
    return node.header_offset, node.header_length


def decodable_leaf(structure: BodyStructure, part: tuple[int, ...]) -> BodyPart:
    """The leaf part a part number names, if its body can be decoded (RFC 3516 BINARY).

    NotALeaf for a missing part or a multipart (an encapsulated message decodes to the
    message inside);
    UnknownEncoding for a transfer encoding outside RFC 2045 §6.1."""
    node = structure.part(part)
    if node is None:
        raise NotALeaf()
    encoding = (node.encoding or "").lower()
    # RFC 3516 §3: "Every IMAP4 body section has a MIME content-transfer-encoding": a
    # message/rfc822 part too, and BINARY of it is the message inside, decoded (the one
    # road to it when it was sent, illegally, in base64 or quoted-printable: its
    # sections are its octets as they are). Only a multipart has no body to decode.
    if node.type == "multipart":
        raise NotALeaf()
    if encoding not in KNOWN_ENCODINGS:
        raise UnknownEncoding(encoding)
    return node


def select_header_fields(header: bytes, names: tuple[str, ...], negate: bool) -> bytes:
    """RFC 9051 §6.4.5 HEADER.FIELDS (``negate``: .NOT): the fields named (or all the
    others), names compared case-insensitively, each as written, then the blank line
    that ends the header, if the message has one (a message without a body may end in
    the middle of its last field: nothing is added that is not there)."""
    wanted = {n.upper() for n in names}
    out = bytearray()
    keep = False
    blank = False
    for line in header.splitlines(keepends=True):
        if line in (b"\r\n", b"\n"):
            blank = True
            break
        if line[:1] in (b" ", b"\t"):
            if keep:
                out += line
            continue
        name = line.split(b":", 1)[0].strip().decode("ascii", "replace").upper()
        keep = (name in wanted) != negate
        if keep:
            out += line
    if blank:
        out += b"\r\n"
    return bytes(out)
