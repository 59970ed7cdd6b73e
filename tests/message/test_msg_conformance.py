"""Message-level IMAP conformance defects (ENVELOPE, BODYSTRUCTURE, sections, decoding),
each checked on the values a FETCH answer is made of: the typed ENVELOPE and part tree,
their wire rendering, the section spans and the transfer decoders.
"""

from __future__ import annotations

import base64

from postoffice.mail.sections import SectionSpec, decodable_leaf, section_span, select_header_fields
from postoffice.message.address import Address
from postoffice.message.parser import parse_bytes
from postoffice.message.structure import BodyStructure, bodystructure_of, envelope_of
from postoffice.message.text import QPDecoder, decode_transfer
from postoffice.wire.imap.render import body_structure, envelope


def structure(data: bytes) -> BodyStructure:
    return bodystructure_of(parse_bytes(data))


def span_bytes(data: bytes, st: BodyStructure, spec: SectionSpec) -> bytes | None:
    span = section_span(st, spec)
    return None if span is None else data[span[0] : span[0] + span[1]]


# ---- ENVELOPE ------------------------------------------------------------------------------
def test_envelope_name_from_the_comment_form() -> None:
    env = envelope_of(parse_bytes(b"From: ann@example.test (Ann Example)\r\nTo: b@x.test (Bob (the builder))\r\n\r\n"))
    assert env.from_ == (Address("Ann Example", None, "ann", "example.test"),)
    assert env.to == (Address("Bob (the builder)", None, "b", "x.test"),)
    # a comment does not replace a display name that is there
    env = envelope_of(parse_bytes(b"From: Ann (work) <ann@example.test>\r\n\r\n"))
    assert env.from_ == (Address("Ann", None, "ann", "example.test"),)


def test_envelope_address_without_domain_gets_missing_domain_not_nil() -> None:
    env = envelope_of(parse_bytes(b"From: Ann <ann>\r\nTo: bob, G: carol;\r\n\r\n"))
    rendered = envelope(env)
    # RFC 3501 §7.4.2: a NIL host marks a group; only the group markers have one
    assert b'("Ann" NIL "ann" "MISSING_DOMAIN")' in rendered
    assert b'(NIL NIL "bob" "MISSING_DOMAIN")' in rendered
    assert b'(NIL NIL "G" NIL)(NIL NIL "carol" "MISSING_DOMAIN")(NIL NIL NIL NIL)' in rendered


def test_envelope_keeps_header_octets_of_an_unknown_charset() -> None:
    subject = "日本語の件名".encode("shift_jis")
    name = "山田".encode("shift_jis")
    data = b"Subject: " + subject + b"\r\nFrom: " + name + b" <y@example.test>\r\n\r\nx\r\n"
    rendered = envelope(envelope_of(parse_bytes(data)))
    assert "\ufffd".encode() not in rendered
    assert b"{%d}\r\n" % len(subject) + subject in rendered
    assert b"{%d}\r\n" % len(name) + name in rendered
    latin1 = "Grüße".encode("latin-1")
    rendered = envelope(envelope_of(parse_bytes(b"Subject: " + latin1 + b"\r\n\r\n")))
    assert b"{%d}\r\n" % len(latin1) + latin1 in rendered


# ---- BODYSTRUCTURE ------------------------------------------------------------------------------
def test_content_type_with_comments() -> None:
    st = structure(b'Content-Type: TEXT/Plain (a comment) ; CharSet="UTF-8" (another)\r\n\r\nhello\r\n')
    node = st.root
    assert (node.type, node.subtype, node.params) == ("text", "plain", (("charset", "UTF-8"),))
    assert body_structure(node, extended=False).startswith(b'("text" "plain" ("charset" "UTF-8") ')


def test_rfc2231_continuations_are_one_parameter() -> None:
    data = (b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
            b"Content-Type: application/octet-stream;\r\n name*0=\"long \";\r\n name*1*=%E2%9C%93;\r\n name*2=\" end\"\r\n"
            b"Content-Disposition: attachment; filename*0*=utf-8''caf%C3%A9;\r\n filename*1=\".txt\"\r\n\r\n"
            b"data\r\n--b--\r\n")  # fmt: skip
    part = structure(data).sections["1"]
    assert part.params == (("name*", "''long%20%E2%9C%93%20end"),)
    assert part.disposition is not None and part.disposition.params == (("filename*", "utf-8''caf%C3%A9.txt"),)
    assert part.filename == "café.txt"
    plain = structure(b'Content-Type: text/plain; title*0="a "; title*1="b"\r\n\r\nx\r\n').root
    assert plain.params == (("title", "a b"),)


def test_text_part_charset_first_and_default() -> None:
    st = structure(b"Content-Type: text/plain; format=flowed; charset=utf-8\r\n\r\nx\r\n")
    assert b'("charset" "utf-8" "format" "flowed")' in body_structure(st.root)
    st = structure(b"Content-Type: text/html\r\n\r\nx\r\n")
    assert b'("charset" "us-ascii")' in body_structure(st.root)  # RFC 2045 §5.2


# ---- sections ----------------------------------------------------------------------------------
def test_header_fields_not_of_a_message_without_body_adds_no_blank_line() -> None:
    header = b"Subject: s\r\nFrom: a@x.test\r\nX-C: c"
    assert select_header_fields(header, ("Subject", "From"), True) == b"X-C: c"
    assert select_header_fields(header, ("Subject",), False) == b"Subject: s\r\n"
    assert select_header_fields(header + b"\r\n\r\n", ("Subject",), True) == b"From: a@x.test\r\nX-C: c\r\n\r\n"


def test_part_header_never_longer_than_the_part() -> None:
    data = (b"Content-Type: multipart/mixed; boundary=e\r\n\r\n--e\r\nContent-Type: message/rfc822\r\n\r\n"
            b"Subject: only a header\r\nFrom: x@example.test\r\n--e--\r\n")  # fmt: skip
    st = structure(data)
    part = span_bytes(data, st, SectionSpec((1,)))
    header = span_bytes(data, st, SectionSpec((1,), "HEADER"))
    assert part == b"Subject: only a header\r\nFrom: x@example.test"
    assert header is not None and part is not None and len(header) <= len(part)
    assert span_bytes(data, st, SectionSpec((1,), "TEXT")) == b""


def test_mime_header_of_an_empty_part_is_empty() -> None:
    data = (b"Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n\r\n--q\r\nContent-Type: text/plain\r\n\r\n"
            b"--q--\r\n")  # fmt: skip
    st = structure(data)
    assert span_bytes(data, st, SectionSpec((1,), "MIME")) == b""
    assert span_bytes(data, st, SectionSpec((1,))) == b""
    assert span_bytes(data, st, SectionSpec((2,), "MIME")) == b"Content-Type: text/plain\r\n"


def test_message_rfc822_under_base64_keeps_its_octets() -> None:
    inner = base64.b64encode(b"Subject: inside\r\n\r\nbody\r\n")
    data = (b"Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: message/rfc822\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + inner + b"\r\n--m--\r\n")  # fmt: skip
    st = structure(data)
    part = st.sections["1"]
    assert part.message is not None  # BODYSTRUCTURE lists an encapsulated message ...
    header = span_bytes(data, st, SectionSpec((1,), "HEADER"))
    assert header == inner  # ... and its HEADER is the octets there, not nothing
    assert span_bytes(data, st, SectionSpec((1,), "TEXT")) == b""
    assert decodable_leaf(st, (1, 1)).body_length == 0  # BINARY[1.1] of what BODYSTRUCTURE lists
    whole = decodable_leaf(st, (1,))  # BINARY[1]: the message inside, decoded (RFC 3516 §3)
    raw = data[whole.body_offset : whole.body_offset + whole.body_length]
    assert decode_transfer(raw, whole.encoding or "") == b"Subject: inside\r\n\r\nbody\r\n"
    qp = b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSubject: q\r\n\r\ncaf=C3=A9\r\n"
    st = structure(qp)
    assert st.root.message is not None and st.root.message.envelope.subject == "q"
    assert span_bytes(qp, st, SectionSpec((1,), "TEXT")) == b"caf=C3=A9\r\n"


def test_multipart_without_boundary_agrees_with_its_sections() -> None:
    data = b"Subject: nb\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nhello\r\n"
    st = structure(data)
    rendered = body_structure(st.root, extended=False)
    assert rendered == b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 0 0) "mixed")'
    assert span_bytes(data, st, SectionSpec((1,))) == b""
    assert span_bytes(data, st, SectionSpec((1,), "MIME")) == b""
    assert decodable_leaf(st, (1,)).size == 0


def test_message_global_is_a_leaf_in_imap4rev1() -> None:
    inner = "Subject: Grüße\r\nFrom: Jörg <jörg@exämple.test>\r\n\r\nüber\r\n".encode()
    data = b"Content-Type: multipart/mixed; boundary=g\r\n\r\n--g\r\nContent-Type: message/global\r\n\r\n" + inner + b"--g--\r\n"
    stored = structure(data)
    assert stored.sections["1"].message is not None and "1.1" in stored.sections  # IMAP4rev2 view
    rev1 = stored.with_global_leaves()
    part = rev1.sections["1"]
    assert part.is_leaf and "1.1" not in rev1.sections
    rendered = body_structure(rev1.root, extended=False)
    assert rendered == b'(("message" "global" NIL NIL NIL "7BIT" %d) "mixed")' % (len(inner) - 2)
    assert "ü".encode() not in rendered  # no raw UTF-8 envelope in an IMAP4rev1 session
    assert section_span(rev1, SectionSpec((1,), "HEADER")) is None
    assert span_bytes(data, rev1, SectionSpec((1,))) == inner[:-2]  # the CRLF is the delimiter's
    assert decodable_leaf(rev1, (1,)) is part
    # message/rfc822 stays encapsulated
    rfc822 = data.replace(b"message/global", b"message/rfc822")
    assert structure(rfc822).with_global_leaves().sections["1"].message is not None


# ---- decoding ------------------------------------------------------------------------------------
def test_quoted_printable_per_rfc2045() -> None:
    data = b"trailing   \r\nsoft with space= \t\r\nnext\r\nbad =ZZ stays\r\nend=  "
    want = b"trailing\r\nsoft with spacenext\r\nbad =ZZ stays\r\nend"
    assert decode_transfer(data, "quoted-printable") == want
    decoder = QPDecoder()
    assert b"".join(decoder.feed(data[i : i + 1]) for i in range(len(data))) + decoder.flush() == want


def test_raw_utf8_in_envelope_only_after_utf8_accept() -> None:
    data = "From: Jörg <jörg@exämple.test>\r\nSubject: Grüße 🎉\r\n\r\nx\r\n".encode()
    env = envelope_of(parse_bytes(data))
    plain = envelope(env)
    assert "ü".encode() not in plain.replace("jörg".encode(), b"")  # only the local part has no ASCII form
    assert b'"=?utf-8?b?R3LDvMOfZSDwn46J?="' in plain  # RFC 2047 words, as RFC 6858 §3 downgrades
    assert b'"xn--exmple-cua.test"' in plain
    enabled = envelope(env, utf8=True)
    assert '"Grüße 🎉"'.encode() in enabled and '"exämple.test"'.encode() in enabled
