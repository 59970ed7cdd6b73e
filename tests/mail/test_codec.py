"""The one codec of stored message data (mail/codec.py): typed values survive the
stored form, and rows written before the values were typed read the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postoffice.mail.codec import (
    MEMO_MAX,
    decode_bodystructure,
    decode_envelope,
    decode_layout,
    encode_bodystructure,
    encode_envelope,
    encode_layout,
)
from postoffice.mail.parts import Base64Segment, BlobSegment, Layout, Leaf, SkeletonSegment
from postoffice.message.address import Address, Group
from postoffice.message.parser import parse_bytes
from postoffice.message.structure import Envelope, bodystructure_of, envelope_of
from postoffice.wire.imap.render import body_structure, envelope

CORPUS = sorted((Path(__file__).parent.parent / "corpus").glob("*.eml"))
# ENVELOPE and BODYSTRUCTURE JSON of every corpus message as the code before typed
# values wrote them (text, unmarked group starts): what existing databases hold.
LEGACY: dict[str, list[str]] = json.loads((Path(__file__).parent / "legacy_structures.json").read_text())


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_stored_form_round_trip(path: Path) -> None:
    data = path.read_bytes()
    root = parse_bytes(data)
    structure, env = bodystructure_of(root), envelope_of(root)
    assert decode_bodystructure(encode_bodystructure(structure), len(data)) == structure
    assert decode_envelope(encode_envelope(env)) == env


# Messages whose ENVELOPE or BODYSTRUCTURE is computed differently since those rows were
# written (defects fixed later): their old rows must still decode, to what they said.
RECOMPUTED = {
    "eightbit-header-latin1.eml": "header octets that are not UTF-8 are kept, not read as windows-1252",
    "deep-nesting.eml": "a multipart without parts gets one empty text/plain part (RFC 3501 §7.4.2)",
    "multipart-no-boundary.eml": "a multipart without parts gets one empty text/plain part (RFC 3501 §7.4.2)",
    "rfc2231-filename.eml": "RFC 2231 continuations are one parameter in BODYSTRUCTURE",
    "part-without-blank-line.eml": "the line end before a delimiter is not part of a header (RFC 2046 §5.1.1)",
    "boundary-prefix.eml": "a line starting with the delimiter is one (RFC 2046 §5.1.1)",
    "empty-multipart.eml": "a multipart without parts gets one empty text/plain part (RFC 3501 §7.4.2)",
}


@pytest.mark.parametrize("path", [p for p in CORPUS if p.name in LEGACY], ids=lambda p: p.name)
def test_rows_written_before_typed_values_decode_the_same(path: Path) -> None:
    data = path.read_bytes()
    root = parse_bytes(data)
    old_envelope, old_structure = LEGACY[path.name]
    if path.name in RECOMPUTED:
        assert decode_envelope(old_envelope) == decode_envelope(old_envelope.encode())
        assert decode_bodystructure(old_structure, len(data)).size == len(data)
        return
    assert decode_envelope(old_envelope) == envelope_of(root)
    assert decode_envelope(old_envelope.encode()) == envelope_of(root)
    assert decode_bodystructure(old_structure, len(data)) == bodystructure_of(root)


def _flat(entries: list[list[str | None]]) -> bytes:
    """What an address list rendered as before groups were typed: entry by entry."""
    return envelope(Envelope(to=tuple(Address(*e) for e in entries)))


@pytest.mark.parametrize(
    "entries",
    [
        [[None, None, "undisclosed-recipients", None], [None, None, None, None]],
        [[None, None, "bare", None], [None, None, "a", "x"]],  # a bare word: no group
        [[None, None, "bare", None], [None, None, "g", None], [None, None, "a", "x"], [None, None, None, None]],
        [[None, None, "g", None], [None, None, "word", None], [None, None, None, None]],
        [[None, None, None, None], [None, None, "a", "x"]],  # an empty <> outside any group
        [[None, None, "g", None], [None, None, None, None], [None, None, None, None]],
    ],
)
def test_unmarked_group_starts_render_as_before(entries: list[list[str | None]]) -> None:
    decoded = decode_envelope(json.dumps([None, None, None, None, None, entries]))
    assert envelope(decoded) == _flat(entries)


def test_groups_are_typed_and_marked() -> None:
    env = Envelope(to=(Group("team", (Address(None, None, "a", "x"),)), Address(None, None, "bare", None)))
    stored = encode_envelope(env)
    assert decode_envelope(stored) == env
    assert json.loads(stored)[5][0] == [None, None, "team", None, True]


def test_no_stored_structure_is_one_text_body() -> None:
    structure = decode_bodystructure(b"", 42)
    assert structure.size == 42 and structure.root.body_length == 42 and structure.part((1,)) is structure.root
    assert body_structure(structure.root, extended=False) == b'("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 42 0)'
    assert decode_envelope(b"") == Envelope()


def test_layout_round_trip() -> None:
    layout = Layout(
        size=1000,
        skeleton="s" * 64,
        segments=(SkeletonSegment(0, 100), Base64Segment("b" * 64, 600, 76, b"\r\n"), BlobSegment("c" * 64, 50)),
        leaves={"1": Leaf(100, 800, "base64", 1, 600), "2": Leaf(950, 50, "7bit", 2, 50), "3": Leaf(5, 5, "")},
    )
    assert decode_layout(encode_layout(layout)) == layout
    inline = Layout(100, None, (SkeletonSegment(0, 100),), {"1": Leaf(10, 90, "")}, inline=b"x\ny" * 33 + b"z")
    assert decode_layout(encode_layout(inline)) == inline
    assert inline.blob_ids == () and layout.blob_ids == ("s" * 64, "b" * 64, "c" * 64)


def test_a_big_structure_is_decoded_without_the_memo() -> None:
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(300))
    data = b"Subject: many\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + parts + b"--b--\r\n"
    structure = bodystructure_of(parse_bytes(data))
    stored = encode_bodystructure(structure)
    assert len(stored) > MEMO_MAX
    assert decode_bodystructure(stored, len(data)) == structure
    assert decode_bodystructure(stored, len(data)).part((300,)) is not None
