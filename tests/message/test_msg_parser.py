"""The streaming MIME parser on the shaped corpus (tests/corpus/), and its limits."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from postoffice.config import MessageLimits
from postoffice.mail.codec import decode_bodystructure, decode_envelope, encode_bodystructure, encode_envelope
from postoffice.message.address import Address, Group
from postoffice.message.headers import decode_bytes, header_text
from postoffice.message.parser import MimeParser, Part, parse_bytes
from postoffice.message.structure import bodystructure_of, envelope_of
from postoffice.message.text import decode_transfer, extract_text, make_preview

CORPUS = Path(__file__).parent.parent / "corpus"
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())
FILES = sorted(CORPUS.glob("*.eml"))


def facts(root: Part) -> list[tuple[Any, ...]]:
    return [
        (p.header_offset, p.header_length, p.body_offset, p.body_length, p.body_lines, p.content_type, p.encoding,
         tuple(p.raw_params), p.is_message, len(p.children), bytes(p.text_sample or b""))
        for p in root.walk()
    ]


def test_corpus_is_big_enough() -> None:
    assert len(FILES) >= 50
    assert set(EXPECTED) == {f.name for f in FILES}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_byte_at_a_time_equals_whole(path: Path) -> None:
    data = path.read_bytes()
    whole = parse_bytes(data, text_limit=10_000)
    parser = MimeParser(text_limit=10_000)
    for i in range(len(data)):
        parser.feed(data[i : i + 1])
    assert facts(parser.close()) == facts(whole)
    rng = random.Random(path.name)
    parser = MimeParser(text_limit=10_000)
    pos = 0
    while pos < len(data):
        n = rng.randrange(1, 200)
        parser.feed(data[pos : pos + n])
        pos += n
    assert facts(parser.close()) == facts(whole)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_structure_facts(path: Path) -> None:
    data = path.read_bytes()
    expected = EXPECTED[path.name]
    root = parse_bytes(data, text_limit=1 << 20)
    structure = bodystructure_of(root)
    envelope = envelope_of(root)
    # the stored form gives the same values back
    assert decode_bodystructure(encode_bodystructure(structure), len(data)) == structure
    assert decode_envelope(encode_envelope(envelope)) == envelope
    by_section = structure.sections
    for section, ctype in expected.get("shape", []):
        node = by_section[section]
        assert node.content_type == ctype, section
    for section, text in expected.get("texts", {}).items():
        node = by_section[section]
        off, length = node.body_offset, node.body_length
        decoded = decode_transfer(data[off : off + length], node.encoding or "")
        charset = dict(node.params).get("charset")
        assert decode_bytes(decoded, charset).replace("\r\n", "\n") == text.replace("\r\n", "\n"), section
    for section, name in expected.get("filename", {}).items():
        assert by_section[section].filename == name
    subject = root.header("subject")
    if "subject" in expected:
        assert subject is not None and header_text(subject) == expected["subject"]
    for piece in expected.get("subject_contains", []):
        assert subject is not None and piece in header_text(subject)
    if "inner_subject" in expected:
        inner = [n.message for n in by_section.values() if n.message is not None]
        assert inner[0].envelope.subject == expected["inner_subject"]
    # offsets stay inside the message and nest properly
    for part in root.walk():
        assert 0 <= part.header_offset <= part.body_offset <= part.body_offset + part.body_length <= len(data)
        assert part.header_offset + part.header_length == part.body_offset
        for child in part.children:
            assert part.body_offset <= child.header_offset and child.body_offset + child.body_length <= part.body_offset + part.body_length


def test_offsets_and_lines_of_a_multipart() -> None:
    data = (b"Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n"
            b"Content-Type: text/plain\r\n\r\nl1\r\nl2\r\n\r\n--b--\r\nepi\r\n")
    root = parse_bytes(data)
    (child,) = root.children
    assert data[child.header_offset : child.body_offset] == b"Content-Type: text/plain\r\n\r\n"
    assert data[child.body_offset : child.body_offset + child.body_length] == b"l1\r\nl2\r\n"
    assert child.body_lines == 2
    assert root.body_offset + root.body_length == len(data)
    assert root.header_length == data.index(b"\r\n\r\n") + 4


def test_message_rfc822_offsets() -> None:
    data = (CORPUS / "rfc822-in-multipart.eml").read_bytes()
    root = parse_bytes(data)
    rfc822 = root.children[1]
    assert rfc822.content_type == "message/rfc822" and rfc822.message is not None
    inner = rfc822.message
    assert inner.header_offset == rfc822.body_offset
    assert data[inner.header_offset :].startswith(b"From: ")
    assert inner.body_offset + inner.body_length == rfc822.body_offset + rfc822.body_length
    assert [c.content_type for c in inner.children] == ["text/plain", "application/octet-stream"]
    s = bodystructure_of(root).sections
    assert s["2"].type == "message" and s["2.1"].type == "text" and s["2.2"].subtype == "octet-stream"
    embedded = s["2"].message
    assert embedded is not None and (embedded.node.header_offset, embedded.node.header_length) == (inner.header_offset, inner.header_length)


def test_rfc822_single_part_inner_is_numbered_dot_one() -> None:
    root = parse_bytes((CORPUS / "rfc822-single-inner.eml").read_bytes())
    s = bodystructure_of(root).sections
    assert s["2.1"].type == "text" and s["2"].lines is not None


def test_depth_limit_makes_an_opaque_leaf() -> None:
    data = (CORPUS / "deep-nesting.eml").read_bytes()
    root = parse_bytes(data, MessageLimits(max_depth=5))
    depth = 0
    node = root
    while node.children:
        node = node.children[0]
        depth += 1
    assert depth == 5 and node.type == "multipart" and not node.children
    assert node.body_offset + node.body_length <= len(data)


def test_part_count_limit() -> None:
    body = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(50))
    data = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + body + b"--b--\r\n"
    root = parse_bytes(data, MessageLimits(max_parts=10))
    assert len(root.walk()) == 10  # the rest is opaque body of the multipart (its epilogue)
    assert root.body_offset + root.body_length == len(data)
    last = root.children[-1]
    assert data[last.body_offset : last.body_offset + last.body_length] == b"part 8"


def test_header_size_limit() -> None:
    data = b"Subject: x\r\n" + b"X-Long: " + b"a" * 5000 + b"\r\n\r\nbody"
    root = parse_bytes(data, MessageLimits(max_header_size=1000))
    assert root.header_truncated and root.header_length <= 1000
    assert root.body_offset + root.body_length == len(data)


def test_text_extraction_and_preview() -> None:
    data = (CORPUS / "nested-mixed-related-alt.eml").read_bytes()
    root = parse_bytes(data, text_limit=1 << 20)
    assert "plain version" in extract_text(root) and "html version" in extract_text(root)
    assert make_preview(root) == "plain version"
    html = parse_bytes((CORPUS / "html-only.eml").read_bytes(), text_limit=1 << 20)
    assert make_preview(html) == "Only html & more"
    koi = parse_bytes((CORPUS / "charset-koi8-r-base64.eml").read_bytes(), text_limit=1 << 20)
    assert make_preview(koi).startswith("Привет, мир!")


def test_envelope() -> None:
    data = (CORPUS / "address-groups.eml").read_bytes()
    env = envelope_of(parse_bytes(data))
    assert env.subject == "groups"
    assert env.from_ == (Address("Doe, John", None, "john", "x.test"),)
    assert env.sender == env.from_ and env.reply_to == env.from_  # Sender, Reply-To default to From
    assert env.to == (Group("undisclosed-recipients"),)
    assert env.bcc is None and env.in_reply_to is None and env.message_id is None
