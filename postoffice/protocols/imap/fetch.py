"""FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162).

Every item is answered from the message record, the precomputed ENVELOPE and
BODYSTRUCTURE data (``Content.envelope`` / ``.bodystructure``, with part offsets) and
ranged reads of the stored message: a message is never re-parsed, a section or a
partial reads only the octets it sends (``mail.read`` / ``mail.stream`` /
``mail.read_part``), and a body bigger than :data:`STREAM_OVER` goes to the socket in
chunks (constant memory).

Invariants: FETCH never causes EXPUNGE responses (RFC 9051 §7.5.1; the command table
marks it); a non-PEEK body fetch sets ``\\Seen`` (unless the mailbox is read-only) and
reports the new FLAGS in the same response.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from postoffice.errors import Kind, MailError
from postoffice.store.api import Content, FlagUpdate, MessageRecord
from postoffice.wire.imap import commands as c
from postoffice.wire.imap import render
from postoffice.wire.imap import response as r
from postoffice.wire.imap.fetch import FetchAttr, FetchBinarySize, FetchBody, FetchItem, Section
from postoffice.wire.imap.seqset import SequenceSet

from .errors import Refusal
from .session import Session
from .view import MailboxView, flag_atoms

__all__ = ["fetch", "envelope_dict", "body_dict", "STREAM_OVER"]

STREAM_OVER = 256 * 1024  # literal bodies above this are streamed, not read whole
_CHUNK = 256 * 1024
_KNOWN_CTE = {"7bit", "8bit", "binary", "base64", "quoted-printable", ""}


# ---- ENVELOPE / BODYSTRUCTURE data (message/structure.py JSON -> wire/imap/render shapes) -----
def _address(a: list[Any]) -> dict[str, Any]:
    return {"name": a[0], "adl": a[1], "mailbox": a[2], "host": a[3]}


def envelope_dict(env: list[Any]) -> dict[str, Any]:
    """The stored ten-item ENVELOPE list as ``render.envelope`` takes it.

    Group markers are already addresses ([NIL NIL name NIL] ... [NIL NIL NIL NIL])."""
    if not env:
        return {}
    keys = ("date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc", "in-reply-to", "message-id")
    out: dict[str, Any] = {}
    for key, value in zip(keys, env, strict=False):
        if key in ("from", "sender", "reply-to", "to", "cc", "bcc"):
            out[key] = [_address(a) for a in value] if value else None
        else:
            out[key] = value
    return out


def body_dict(node: dict[str, Any]) -> dict[str, Any]:
    """A stored BODYSTRUCTURE node as ``render.body_structure`` takes it."""
    common = {
        "params": [tuple(p) for p in node.get("params") or []],
        "disposition": node.get("disposition"),
        "language": node.get("language"),
        "location": node.get("location"),
    }
    if node["type"] == "multipart" and node.get("children"):
        return {"type": "multipart", "subtype": node["subtype"], "parts": [body_dict(ch) for ch in node["children"]], **common}
    out: dict[str, Any] = {
        "type": node["type"] if node["type"] != "multipart" else "text",
        "subtype": node["subtype"] if node["type"] != "multipart" else "plain",
        "id": node.get("id"),
        "description": node.get("description"),
        "encoding": (node.get("encoding") or "7bit").upper(),
        "size": node.get("size") or 0,
        "lines": node.get("lines") or 0,
        "md5": node.get("md5"),
        **common,
    }
    if node["type"] == "message" and node["subtype"] in ("rfc822", "global"):
        inner = node.get("message")
        if inner is not None:
            out["envelope"] = envelope_dict(inner["envelope"])
            out["body"] = body_dict(inner["node"])
        else:
            out["envelope"] = {}
            out["body"] = {"type": "text", "subtype": "plain", "size": 0, "lines": 0}
    return out


def _sections(node: dict[str, Any], out: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    if node.get("section"):
        out.setdefault(node["section"], node)
    for child in node.get("children") or []:
        _sections(child, out)
    if node.get("message"):
        _sections(node["message"]["node"], out)
    return out


@dataclass
class _Message:
    """What FETCH needs of one message's content, loaded once per message."""

    content: Content
    structure: dict[str, Any]
    parts: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, content: Content) -> _Message:
        structure = json.loads(content.bodystructure) if content.bodystructure else {}
        root = structure.get("root") or {}
        return cls(content, structure, _sections(root, {}) if root else {})

    @property
    def root(self) -> dict[str, Any]:
        return self.structure.get("root") or {"header": [0, 0], "body": [0, self.content.size]}


# ---- sections -----------------------------------------------------------------------------------
def _header_fields(header: bytes, names: tuple[str, ...], negate: bool) -> bytes:
    """RFC 9051 §6.4.5 HEADER.FIELDS(.NOT): the matching fields, then the blank line."""
    wanted = {n.upper() for n in names}
    out: list[bytes] = []
    keep = False
    for line in header.split(b"\r\n"):
        if not line:
            continue
        if line[:1] in (b" ", b"\t"):
            if keep:
                out.append(line)
            continue
        name = line.split(b":", 1)[0].strip().decode("ascii", "replace").upper()
        keep = (name in wanted) != negate
        if keep:
            out.append(line)
    return b"".join(x + b"\r\n" for x in out) + b"\r\n"


def _range_of(msg: _Message, section: Section) -> tuple[int, int] | None:
    """(offset, length) of a section in the stored message, None if it does not exist."""
    if not section.part:
        node: dict[str, Any] | None = msg.root
        if section.text is None:
            return 0, msg.content.size
    else:
        node = msg.parts.get(".".join(str(p) for p in section.part))
        if node is None:
            return None
        if section.text is None:
            return int(node["body"][0]), int(node["body"][1])
        if section.text == "MIME":
            return int(node["header"][0]), int(node["header"][1])
        inner = node.get("message")
        if inner is None:
            return None  # HEADER/TEXT of a part only exist for message/rfc822 parts
        node = inner["node"]
    assert node is not None
    if section.text == "TEXT":
        return int(node["body"][0]), int(node["body"][1])
    return int(node["header"][0]), int(node["header"][1])


# ---- response pieces ---------------------------------------------------------------------------
@dataclass
class _Stream:
    """A literal body streamed from the store: raw message octets or a decoded part."""

    content: Content
    offset: int
    length: int
    part: tuple[int, ...] | None = None  # decoded leaf (BINARY)


Piece = bytes | _Stream


def _internaldate(rec: MessageRecord) -> bytes:
    tz = timezone(timedelta(minutes=rec.internaldate_tz))
    return r.date_time(datetime.fromtimestamp(rec.internaldate, tz))


class _Fetcher:
    def __init__(self, s: Session, view: MailboxView, cmd: c.Fetch) -> None:
        self.s = s
        self.view = view
        self.cmd = cmd
        self._flag_lists: dict[frozenset[str], bytes] = {}

    def flags(self, flags: frozenset[str]) -> bytes:
        """The encoded FLAGS list; a mailbox has few distinct flag sets, so each is encoded once."""
        encoded = self._flag_lists.get(flags)
        if encoded is None:
            encoded = self._flag_lists[flags] = r.encode(flag_atoms(flags))
        return encoded

    async def body(self, msg: _Message, item: FetchBody) -> list[Piece]:
        if item.binary:
            return await self.binary(msg, item)
        span = _range_of(msg, item.section)
        if span is None:
            return [b'""']
        offset, length = span
        if item.partial is not None:
            origin, count = item.partial
            offset, length = offset + min(origin, length), max(0, min(count, length - origin))
        if item.section.text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
            header = await self.s.mail.read(msg.content, span[0], span[1])
            data = _header_fields(header, item.section.fields, item.section.text == "HEADER.FIELDS.NOT")
            if item.partial is not None:
                data = data[item.partial[0] : item.partial[0] + item.partial[1]]
            return [r.literal(data)]
        if length > STREAM_OVER:
            return [r.literal_prefix(length), _Stream(msg.content, offset, length)]
        return [r.literal(await self.s.mail.read(msg.content, offset, length))]

    def _leaf(self, msg: _Message, part: tuple[int, ...]) -> dict[str, Any]:
        node = msg.parts.get(".".join(str(p) for p in part))
        if node is None or node["type"] == "multipart" or node.get("message"):
            raise Refusal(r.NO, "BINARY needs a leaf part")
        if (node.get("encoding") or "").lower() not in _KNOWN_CTE:
            raise Refusal(r.NO_UNKNOWN_CTE, "unknown content-transfer-encoding")  # RFC 3516 §4.3
        return node

    async def binary(self, msg: _Message, item: FetchBody) -> list[Piece]:
        part = item.section.part
        if not part:
            size = msg.content.size
        else:
            self._leaf(msg, part)
            size = await _part_size(self.s, msg.content, part)
        offset, length = 0, size
        if item.partial is not None:
            origin, count = item.partial
            offset, length = min(origin, size), max(0, min(count, size - origin))
        if length > STREAM_OVER:
            return [r.literal_prefix(length, binary=True), _Stream(msg.content, offset, length, part or None)]
        if part:
            data = await _read_part(self.s, msg.content, part, offset, length)
        else:
            data = await self.s.mail.read(msg.content, offset, length)
        return [r.literal(data, binary=b"\x00" in data)]

    async def render(self, rec: MessageRecord, msg: _Message | None, with_flags: bool) -> list[Piece]:
        items: list[FetchItem] = list(self.cmd.items)
        pieces: list[Piece] = []
        names: set[str] = set()

        def add(name: str, value: bytes) -> None:
            names.add(name)
            pieces.append((b" " if len(pieces) else b"") + name.encode("ascii") + b" " + value)

        if self.cmd.uid:
            add("UID", str(rec.uid).encode())
        for item in items:
            if isinstance(item, FetchAttr):
                name = item.name
                if name in names:
                    continue
                if name == "UID":
                    add("UID", str(rec.uid).encode())
                elif name == "FLAGS":
                    add("FLAGS", self.flags(self.view.flags_of(rec.uid, rec.flags)))
                elif name == "INTERNALDATE":
                    add("INTERNALDATE", _internaldate(rec))
                elif name == "RFC822.SIZE":
                    add("RFC822.SIZE", str(rec.size).encode())
                elif name == "MODSEQ":
                    add("MODSEQ", f"({rec.modseq})".encode())
                elif msg is not None and name == "ENVELOPE":
                    add("ENVELOPE", render.envelope(envelope_dict(json.loads(msg.content.envelope or "[]")), utf8=self.s.utf8))
                elif msg is not None and name in ("BODY", "BODYSTRUCTURE"):
                    add(name, render.body_structure(body_dict(msg.root), extended=name == "BODYSTRUCTURE", utf8=self.s.utf8))
                elif msg is not None and name in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
                    text = {"RFC822": None, "RFC822.HEADER": "HEADER", "RFC822.TEXT": "TEXT"}[name]
                    names.add(name)
                    pieces.append((b" " if pieces else b"") + name.encode("ascii") + b" ")
                    pieces.extend(await self.body(msg, FetchBody(Section((), text))))  # type: ignore[arg-type]
            elif isinstance(item, FetchBinarySize):
                assert msg is not None
                if item.part:
                    self._leaf(msg, item.part)
                    size = await _part_size(self.s, msg.content, item.part)
                else:
                    size = msg.content.size
                add(item.label(), str(size).encode())
            else:
                assert msg is not None
                label = item.label()
                if label in names:
                    continue
                names.add(label)
                pieces.append((b" " if pieces else b"") + label.encode("ascii") + b" ")
                pieces.extend(await self.body(msg, item))
        if with_flags and "FLAGS" not in names:
            add("FLAGS", self.flags(self.view.flags_of(rec.uid, rec.flags)))
        if (self.view.condstore or self.cmd.changedsince is not None) and "MODSEQ" not in names:
            add("MODSEQ", f"({rec.modseq})".encode())
        return pieces


async def _part_size(s: Session, content: Content, part: tuple[int, ...]) -> int:
    try:
        return await s.mail.part_size(content, part)
    except (KeyError, TypeError):
        return len(await _read_part(s, content, part, 0, None))


async def _read_part(s: Session, content: Content, part: tuple[int, ...], offset: int, length: int | None) -> bytes:
    try:
        return await s.mail.read_part(content, part, offset, length)
    except (KeyError, TypeError):
        # The part store keys leaves by their section string; decode from the raw range.
        from postoffice.message.text import decode_transfer

        msg = _Message.of(content)
        node = msg.parts.get(".".join(str(p) for p in part))
        if node is None:
            raise MailError(Kind.NOT_FOUND, "no such part") from None
        raw = await s.mail.read(content, int(node["body"][0]), int(node["body"][1]))
        data = decode_transfer(raw, node.get("encoding") or "7bit")
        return data[offset:] if length is None else data[offset : offset + length]


async def _stream(s: Session, piece: _Stream) -> AsyncIterator[bytes]:
    if piece.part is None:
        async for chunk in s.mail.stream(piece.content, piece.offset, piece.length):
            yield chunk
        return
    pos, end = piece.offset, piece.offset + piece.length
    while pos < end:
        data = await _read_part(s, piece.content, piece.part, pos, min(_CHUNK, end - pos))
        if not data:
            break
        pos += len(data)
        yield data


def _sets_seen(item: FetchItem) -> bool:
    if isinstance(item, FetchBody):
        return not item.peek
    return isinstance(item, FetchAttr) and item.name in ("RFC822", "RFC822.TEXT")


def _needs_content(item: FetchItem) -> bool:
    return not (isinstance(item, FetchAttr) and item.name in ("UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "MODSEQ"))


async def fetch(s: Session, cmd: c.Fetch) -> bytes | None:
    view = s.view
    assert view is not None
    if not cmd.uid and not cmd.sequence_set.saved and cmd.sequence_set.out_of_range(view.exists):
        raise Refusal(r.BAD, "invalid message sequence number")  # RFC 9051 §6.4.5
    if cmd.vanished and not (cmd.uid and s.qresync and cmd.changedsince is not None):
        raise Refusal(r.BAD, "VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE")  # RFC 7162 §3.2.6
    if cmd.changedsince is not None or any(isinstance(i, FetchAttr) and i.name == "MODSEQ" for i in cmd.items):
        s.enable_condstore()
    uids = view.resolve_uids(cmd.sequence_set, uid=cmd.uid)
    if cmd.vanished and cmd.changedsince is not None:
        changes = await s.mail.changes_since(view.mailbox, cmd.changedsince)
        largest = max(view.largest_uid, view.mailbox.uidnext)
        gone = [u for u in changes.expunged if cmd.sequence_set.contains(u, largest)]
        if gone:
            s.write(r.vanished_response(SequenceSet.of(gone), earlier=True))
    records = await _records(s, view, uids)
    if cmd.changedsince is not None:
        records = [m for m in records if m.modseq > cmd.changedsince]
    seen_changed: set[int] = set()
    if not view.readonly and any(_sets_seen(i) for i in cmd.items):
        unseen = [m.uid for m in records if "\\seen" not in {f.lower() for f in m.flags}]
        if unseen:
            result = await s.mail.update_flags(view.mailbox, unseen, FlagUpdate("add", frozenset({"\\Seen"})))
            updated = {m.uid: m for m in result.updated}
            view.note_flags(result.updated)
            seen_changed = set(updated)
            records = [updated.get(m.uid, m) for m in records]
    fetcher = _Fetcher(s, view, cmd)
    needs_content = any(_needs_content(i) for i in cmd.items)
    # Responses are gathered in one buffer and written in large pieces: at 100,000
    # messages one socket write per response item costs more than the rest of FETCH.
    out = bytearray()
    for rec in records:
        seq = view.seq_of(rec.uid)
        if seq is None:
            continue
        msg = _Message.of(await s.mail.get_content(rec.content_id)) if needs_content else None
        pieces = await fetcher.render(rec, msg, rec.uid in seen_changed)
        out += b"* %d FETCH (" % seq
        for piece in pieces:
            if isinstance(piece, bytes):
                out += piece
            else:
                s.write(bytes(out))
                out.clear()
                s.literal_open = True  # until every announced octet is written
                async for chunk in _stream(s, piece):
                    s.write(chunk)
                    await s.flush()
                s.literal_open = False
        out += b")\r\n"
        if len(out) > _CHUNK:
            s.write(bytes(out))
            out.clear()
            await s.flush()
    if out:
        s.write(bytes(out))
    return None


async def _records(s: Session, view: MailboxView, uids: list[int]) -> list[MessageRecord]:
    """The records of ``uids``; one scan of the mailbox when they are most of it
    (``FETCH 1:*``), rather than thousands of ``uid IN (...)`` lookups."""
    if not uids:
        return []
    if len(uids) * 2 < view.exists:
        return await s.mail.get_messages(view.mailbox, uids)
    wanted = set(uids)
    return [m for m in await s.mail.list_messages(view.mailbox) if m.uid in wanted]
