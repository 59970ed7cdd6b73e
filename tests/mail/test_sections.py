"""mail/sections.py and MailService.read_section / read_part: which octets a section
names (RFC 9051 §6.4.5), which parts can be decoded (RFC 3516), on a delivered message."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from postoffice.app import Services
from postoffice.errors import MailError
from postoffice.mail.sections import (
    NotALeaf,
    SectionSpec,
    UnknownEncoding,
    decodable_leaf,
    section_span,
    select_header_fields,
)
from postoffice.message.parser import parse_bytes
from postoffice.message.structure import bodystructure_of
from postoffice.store.api import Content

CORPUS = Path(__file__).parent.parent / "corpus"
MESSAGE = (CORPUS / "rfc822-in-multipart.eml").read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


async def delivered(services: Services, message: bytes = MESSAGE) -> Content:
    await services.mail.add_user("alice@example.test", "pw")
    result = await services.mail.deliver(message, ["alice@example.test"])
    return await services.mail.get_content(result.content_id)


def test_section_spans_follow_the_part_tree() -> None:
    structure = bodystructure_of(parse_bytes(MESSAGE))
    head_end = MESSAGE.index(b"\r\n\r\n") + 4
    assert section_span(structure, SectionSpec()) == (0, len(MESSAGE))
    assert section_span(structure, SectionSpec(text="HEADER")) == (0, head_end)
    assert section_span(structure, SectionSpec(text="TEXT")) == (head_end, len(MESSAGE) - head_end)
    offset, length = section_span(structure, SectionSpec((1,))) or (0, 0)
    assert MESSAGE[offset : offset + length] == b"see attached\r\n"
    offset, length = section_span(structure, SectionSpec((1,), "MIME")) or (0, 0)
    assert MESSAGE[offset : offset + length].startswith(b"Content-Type: text/plain")
    offset, length = section_span(structure, SectionSpec((2,), "HEADER")) or (0, 0)
    assert MESSAGE[offset : offset + length].startswith(b"From: Ann") and b"inner subject" in MESSAGE[offset : offset + length]
    offset, length = section_span(structure, SectionSpec((2, 1))) or (0, 0)
    assert MESSAGE[offset : offset + length] == b"inner text\r\n"
    # RFC 9051 §6.4.5: HEADER and TEXT of a part exist only for message/rfc822 parts
    assert section_span(structure, SectionSpec((1,), "HEADER")) is None
    assert section_span(structure, SectionSpec((3,))) is None
    assert section_span(structure, SectionSpec((2, 9))) is None


def test_only_leaves_with_a_known_encoding_decode() -> None:
    structure = bodystructure_of(parse_bytes(MESSAGE))
    assert decodable_leaf(structure, (2, 2)).subtype == "octet-stream"
    # RFC 3516 §3: a message/rfc822 part has a transfer encoding too; BINARY of it is the message
    assert decodable_leaf(structure, (2,)).subtype == "rfc822"
    for not_leaf in ((9,), ()):
        with pytest.raises(NotALeaf):
            decodable_leaf(structure, not_leaf)
    unknown = bodystructure_of(parse_bytes((CORPUS / "uuencode-unknown-cte.eml").read_bytes()))
    [(number, part)] = [(n, p) for n, p in unknown.sections.items() if p.is_leaf and p.encoding and p.encoding.lower() == "x-uuencode"]
    with pytest.raises(UnknownEncoding):
        decodable_leaf(unknown, tuple(int(x) for x in number.split(".")))


def test_header_fields_select_case_insensitively_with_folded_lines() -> None:
    header = b"From: a\r\nSubject: one\r\n two\r\nX-A: b\r\n\r\n"
    assert select_header_fields(header, ("SUBJECT",), False) == b"Subject: one\r\n two\r\n\r\n"
    assert select_header_fields(header, ("subject", "x-a"), True) == b"From: a\r\n\r\n"
    assert select_header_fields(header, ("NONE",), False) == b"\r\n"


async def test_read_section_and_parts_of_a_stored_message(services: Services) -> None:
    mail = services.mail
    content = await delivered(services)
    assert await mail.read_section(content, SectionSpec()) == MESSAGE
    assert await mail.read_section(content, SectionSpec((2, 1))) == b"inner text\r\n"
    assert await mail.read_section(content, SectionSpec((), "HEADER.FIELDS", ("SUBJECT",))) == b"Subject: test\r\n\r\n"
    assert await mail.read_section(content, SectionSpec((2,), "HEADER.FIELDS", ("SUBJECT",))) == (
        b"Subject: inner subject\r\n\r\n"
    )
    assert await mail.read_section(content, SectionSpec((7,))) is None
    start = MESSAGE.index(b"AAEA")
    decoded = base64.b64decode(MESSAGE[start : MESSAGE.index(b"\r\n\r\n--=_b114770239--")])
    assert await mail.read_part(content, (2, 2)) == decoded
    assert await mail.read_part(content, "2.2", 5, 10) == decoded[5:15]
    assert await mail.part_size(content, (2, 2)) == len(decoded)
    # a part the layout has no leaf for (the message/rfc822 part itself): decoded from its range
    offset, length = section_span(mail.bodystructure(content), SectionSpec((2,))) or (0, 0)
    assert await mail.read_part(content, (2,)) == MESSAGE[offset : offset + length]
    with pytest.raises(MailError):
        await mail.read_part(content, (5,))
    envelope = mail.envelope(content)
    assert envelope.subject == "test" and mail.bodystructure(content).part((2,)) is not None
