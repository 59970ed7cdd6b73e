"""The one codec between typed message data and its stored form.

``NewContent``/``Content`` carry three opaque byte strings that only this module
writes and reads: the ENVELOPE (:class:`~postoffice.message.structure.Envelope`), the
BODYSTRUCTURE (:class:`~postoffice.message.structure.BodyStructure`) and the part-store
:class:`~postoffice.mail.parts.Layout`. Protocols and the web get typed values from
``MailService`` and never see these forms.

The stored forms are compact JSON (the form every existing database already holds;
rows written before these bytes were typed hold the same JSON as text, which decodes
the same way):

- envelope: ``[date, subject, from, sender, reply_to, to, cc, bcc, in_reply_to,
  message_id]``; an address list is null or a list of ``[name, adl, mailbox, host]``,
  a group is its start ``[null, null, name, null, true]``, its members and its end
  ``[null, null, null, null]`` (RFC 9051 §7.5.2 order; rows written before the start
  was marked hold ``[null, null, name, null]``).
- bodystructure: ``{"size": N, "root": NODE}``; a NODE is an object with the fields
  of :class:`~postoffice.message.structure.BodyPart` (``header``/``body`` as
  ``[offset, length]``, ``disposition`` as ``[type, [[name, value], ...]]``,
  ``children`` present on multiparts, ``message`` as ``{"envelope": ..., "node": ...}``).
- layout: ``{"v": 1|2, "size": N, "skel": BLOB|null, "seg": [SEGMENT, ...], "leaves":
  {SECTION: [body_offset, body_length, encoding, segment, decoded_size]}}`` with
  segments ``["skel", offset, length]``, ``["blob", blob_id, length]`` and
  ``["b64", blob_id, decoded_size, line_length, eol]``; version 2 carries the skeleton
  inline: ``JSON + b"\\n" + skeleton octets`` (compact JSON never holds a raw newline,
  so the first b"\\n" ends it).

Decoded envelopes and structures are immutable, so they are kept in a small
per-process memo keyed by their stored bytes: a client that fetches ENVELOPE or
BODYSTRUCTURE of the same messages again decodes nothing.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from postoffice.mail.parts import Base64Segment, BlobSegment, Layout, Leaf, Segment, SkeletonSegment
from postoffice.message.address import Address, AddressList, Group
from postoffice.message.structure import BodyPart, BodyStructure, Disposition, EmbeddedMessage, Envelope

__all__ = [
    "encode_envelope",
    "decode_envelope",
    "envelope_in_reply_to",
    "encode_bodystructure",
    "decode_bodystructure",
    "encode_layout",
    "decode_layout",
]

MEMO_ENTRIES = 2048  # decoded envelopes (and as many structures) kept per process
MEMO_MAX = 16 * 1024  # octets: a bigger stored form (thousands of parts) is decoded each time
_EMPTY = Envelope()


def _dumps(data: Any) -> bytes:
    # json.loads reads bytes with "surrogatepass" too: whatever a str holds comes back.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


# ---- envelope ---------------------------------------------------------------------------
def _address_list_json(addresses: AddressList | None) -> list[list[str | bool | None]] | None:
    if addresses is None:
        return None
    out: list[list[str | bool | None]] = []
    for a in addresses:
        if isinstance(a, Group):
            out.append([None, None, a.name, None, True])  # marked: a bare word looks the same
            out.extend([m.name, m.adl, m.mailbox, m.host] for m in a.members)
            out.append([None, None, None, None])
        else:
            out.append([a.name, a.adl, a.mailbox, a.host])
    return out


def _envelope_json(env: Envelope) -> list[Any]:
    return [
        env.date,
        env.subject,
        _address_list_json(env.from_),
        _address_list_json(env.sender),
        _address_list_json(env.reply_to),
        _address_list_json(env.to),
        _address_list_json(env.cc),
        _address_list_json(env.bcc),
        env.in_reply_to,
        env.message_id,
    ]


def encode_envelope(env: Envelope) -> bytes:
    return _dumps(_envelope_json(env))


def _address_list(items: list[list[Any]] | None) -> AddressList | None:
    """Entries back to addresses and groups. Rows written before groups were marked
    (a start of four fields) are ambiguous: a bare word without a host looks like a group
    start. There a group is the earliest such entry before an end marker; every reading
    renders the same octets (RFC 9051 §7.5.2), and none adds an end marker."""
    if not items:
        return None
    if all(e[0] is not None or e[1] is not None or e[3] is not None for e in items):
        return tuple([Address(e[0], e[1], e[2], e[3]) for e in items])  # no group, nothing empty
    spans: dict[int, int] = {}  # group start index -> its end marker index
    start: int | None = None  # a marked start
    candidate: int | None = None  # the earliest unmarked start since the last group
    for i, entry in enumerate(items):
        name, adl, mailbox, host = entry[0], entry[1], entry[2], entry[3]
        if name is not None or adl is not None or host is not None:
            continue
        if mailbox is not None:
            if len(entry) > 4 and entry[4]:
                start = i
            elif start is None and candidate is None:
                candidate = i
            continue
        opened = start if start is not None else candidate
        if opened is not None:
            spans[opened] = i
        start = candidate = None
    out: list[Address | Group] = []
    i, n = 0, len(items)
    while i < n:
        end = spans.get(i)
        if end is not None:
            members = tuple(Address(e[0], e[1], e[2], e[3]) for e in items[i + 1 : end])
            out.append(Group(items[i][2], members))
            i = end + 1
            continue
        e = items[i]
        out.append(Address(e[0], e[1], e[2], e[3]))
        i += 1
    return tuple(out)


def _envelope(data: list[Any] | None) -> Envelope:
    if not data:
        return _EMPTY
    if len(data) < 10:
        data = list(data) + [None] * (10 - len(data))
    return Envelope(
        data[0],
        data[1],
        _address_list(data[2]),
        _address_list(data[3]),
        _address_list(data[4]),
        _address_list(data[5]),
        _address_list(data[6]),
        _address_list(data[7]),
        data[8],
        data[9],
    )


def _decode_envelope(data: bytes | str) -> Envelope:
    return _envelope(json.loads(data)) if data else _EMPTY


_memo_envelope = lru_cache(maxsize=MEMO_ENTRIES)(_decode_envelope)


def decode_envelope(data: bytes | str) -> Envelope:
    """The stored ENVELOPE; an empty one (nothing stored) is all NIL."""
    return _memo_envelope(data) if len(data) <= MEMO_MAX else _decode_envelope(data)


def envelope_in_reply_to(data: bytes | str) -> str:
    """The stored ENVELOPE's In-Reply-To alone ("" for NIL), without decoding its addresses
    or filling the memo: conversation grouping reads it for every message of a folder."""
    try:
        value = json.loads(data)[8] if data else None
    except (ValueError, IndexError, TypeError, KeyError):
        return ""
    return value if isinstance(value, str) else ""


# ---- bodystructure ----------------------------------------------------------------------
def _node_json(node: BodyPart) -> dict[str, Any]:
    out: dict[str, Any] = {
        "section": node.section,
        "type": node.type,
        "subtype": node.subtype,
        "params": [list(p) for p in node.params],
        "id": node.id,
        "description": node.description,
        "encoding": node.encoding,
        "size": node.size,
        "lines": node.lines,
        "md5": node.md5,
        "disposition": [node.disposition.type, [list(p) for p in node.disposition.params]] if node.disposition else None,
        "language": list(node.language) if node.language is not None else None,
        "location": node.location,
        "header": [node.header_offset, node.header_length],
        "body": [node.body_offset, node.body_length],
        "filename": node.filename,
        "charset": node.charset,
    }
    if node.children or node.type == "multipart":
        out["children"] = [_node_json(c) for c in node.children]
    if node.message is not None:
        out["message"] = {"envelope": _envelope_json(node.message.envelope), "node": _node_json(node.message.node)}
    return out


def encode_bodystructure(structure: BodyStructure) -> bytes:
    return _dumps({"size": structure.size, "root": _node_json(structure.root)})


def _params(items: list[list[str]] | None) -> tuple[tuple[str, str], ...]:
    return tuple(map(tuple, items)) if items else ()  # type: ignore[arg-type]


def _node(d: dict[str, Any]) -> BodyPart:
    # Every key but children and message is always written (rows before typed values too).
    disposition = d["disposition"]
    language = d["language"]
    message = d.get("message")
    children = d.get("children")
    header = d["header"]
    body = d["body"]
    return BodyPart(
        d["section"],
        d["type"],
        d["subtype"],
        _params(d["params"]),
        d["id"],
        d["description"],
        d["encoding"],
        d["size"] or 0,
        d["lines"],
        d["md5"],
        Disposition(disposition[0], _params(disposition[1])) if disposition else None,
        ((language,) if isinstance(language, str) else tuple(language)) if language is not None else None,
        d["location"],
        header[0],
        header[1],
        body[0],
        body[1],
        d["filename"],
        d["charset"],
        tuple(map(_node, children)) if children else (),
        EmbeddedMessage(_envelope(message["envelope"]), _node(message["node"])) if message else None,
    )


def _whole(size: int) -> BodyStructure:
    """No stored structure: the whole message as one text/plain body after an empty header."""
    return BodyStructure.of(size, BodyPart("1", "text", "plain", size=size, body_length=size))


def _decode_bodystructure(data: bytes | str) -> BodyStructure | None:
    parsed = json.loads(data) if data else None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("root"), dict):
        return None
    return BodyStructure.of(int(parsed.get("size") or 0), _node(parsed["root"]))


_memo_bodystructure = lru_cache(maxsize=MEMO_ENTRIES)(_decode_bodystructure)


def decode_bodystructure(data: bytes | str, size: int) -> BodyStructure:
    """The stored BODYSTRUCTURE of a message of ``size`` octets."""
    structure = _memo_bodystructure(data) if len(data) <= MEMO_MAX else _decode_bodystructure(data)
    return structure if structure is not None else _whole(size)


# ---- layout -----------------------------------------------------------------------------
def _segment_json(seg: Segment) -> list[Any]:
    if isinstance(seg, SkeletonSegment):
        return ["skel", seg.offset, seg.length]
    if isinstance(seg, BlobSegment):
        return ["blob", seg.blob_id, seg.length]
    return ["b64", seg.blob_id, seg.decoded_size, seg.line_length, seg.eol.decode("ascii")]


def encode_layout(layout: Layout) -> bytes:
    head = {
        "v": 1 if layout.inline is None else 2,
        "size": layout.size,
        "skel": layout.skeleton,
        "seg": [_segment_json(s) for s in layout.segments],
        "leaves": {
            section: [leaf.body_offset, leaf.body_length, leaf.encoding, leaf.segment, leaf.decoded_size]
            for section, leaf in layout.leaves.items()
        },
    }
    data = json.dumps(head, separators=(",", ":")).encode("ascii")
    return data if layout.inline is None else data + b"\n" + layout.inline


def _segment(s: list[Any]) -> Segment:
    if s[0] == "skel":
        return SkeletonSegment(int(s[1]), int(s[2]))
    if s[0] == "blob":
        return BlobSegment(s[1], int(s[2]))
    return Base64Segment(s[1], int(s[2]), int(s[3]), s[4].encode("ascii"))


def decode_layout(data: bytes) -> Layout:
    head, newline, rest = data.partition(b"\n")
    d = json.loads(head)
    leaves = {
        section: Leaf(int(v[0]), int(v[1]), v[2], int(v[3]), int(v[4])) for section, v in d.get("leaves", {}).items()
    }
    return Layout(int(d["size"]), d.get("skel"), tuple(map(_segment, d["seg"])), leaves, rest if newline else None)
