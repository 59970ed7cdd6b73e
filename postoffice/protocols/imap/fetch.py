"""FETCH and UID FETCH (RFC 9051 §6.4.5, RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162).

Every item is answered from the message record, the typed ENVELOPE and BODYSTRUCTURE
precomputed at ingestion (``mail.envelope`` / ``mail.bodystructure``) and ranged reads
of the stored message: a message is never re-parsed, a section or a partial reads only
the octets it sends (``mail.read`` / ``mail.stream`` / ``mail.read_part``; which octets a
section names is ``mail.sections``), and a body bigger than :data:`STREAM_OVER` goes to
the socket in chunks (constant memory). Contents are read 64 at a time, the small
sections asked of them in one worker-thread call per batch (up to PREFETCH_BYTES), and the
rendered ENVELOPE / BODYSTRUCTURE bytes are kept per content (``_rendered``). This module
only translates the wire items to those calls and renders the answers.

Invariants: FETCH never causes EXPUNGE responses (RFC 9051 §7.5.1; the command table
marks it); a non-PEEK body fetch sets ``\\Seen`` (unless the mailbox is read-only) and
reports the new FLAGS in the same response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import cached_property

from postoffice.mail.objectid import email_id
from postoffice.mail.sections import (
    NotALeaf,
    SectionSpec,
    UnknownEncoding,
    decodable_leaf,
    section_span,
    select_header_fields,
)
from postoffice.mail.service import MailService
from postoffice.message.structure import BodyStructure
from postoffice.store.api import Content, FlagUpdate, MessageRecord
from postoffice.wire.imap import commands as c
from postoffice.wire.imap import render
from postoffice.wire.imap import response as r
from postoffice.wire.imap.fetch import FetchAttr, FetchBinarySize, FetchBody, FetchItem, Section
from postoffice.wire.imap.seqset import SequenceSet

from .errors import Refusal
from .session import Session
from .view import MailboxView, flag_atoms

__all__ = ["fetch", "STREAM_OVER"]

STREAM_OVER = 256 * 1024  # literal bodies above this are streamed, not read whole
# RFC 3501 §9 / RFC 9051 §9: a literal is CHAR8, which excludes NUL; only a literal8
# (``~{n}``, RFC 3516 §4.2, RFC 9051 §4.3) may carry it. BODY[] of a message with NUL
# octets sends each NUL as 0x80, octet for octet (so sizes and partial offsets hold), as
# Dovecot does; the exact octets are available through BINARY[] as a literal8.
NUL_STANDIN = b"\x80"
_CHUNK = 256 * 1024
_CONTENT_BATCH = 64  # contents read from the store at once (each holds a layout of up to ~64 KiB)
PREFETCH_BYTES = 1024 * 1024  # body sections of a content batch read ahead in one call, at most
RENDERED_ENTRIES = 16384  # rendered ENVELOPE / BODY / BODYSTRUCTURE answers kept (~0.5 KiB each)

# Rendered answers per content: a content never changes, so the bytes of its ENVELOPE,
# BODY and BODYSTRUCTURE depend only on it and on how the session renders (UTF8=ACCEPT,
# IMAP4rev2). Keyed by the content's id and SHA-256 (an id can be reused after garbage
# collection, by other octets). Oldest first out.
_rendered: dict[tuple[int, str, str, bool, bool], bytes] = {}


def _remember(key: tuple[int, str, str, bool, bool], value: bytes) -> bytes:
    if len(_rendered) >= RENDERED_ENTRIES:
        del _rendered[next(iter(_rendered))]
    _rendered[key] = value
    return value


class _Message:
    """What FETCH needs of one message's content, loaded once per message; the part
    tree only when an item needs it."""

    def __init__(self, mail: MailService, content: Content, rev2: bool) -> None:
        self.mail = mail
        self.content = content
        self.rev2 = rev2

    @cached_property
    def structure(self) -> BodyStructure:
        stored = self.mail.bodystructure(self.content)
        # RFC 3501 §7.4.2 knows only message/rfc822: message/global is a leaf in IMAP4rev1.
        return stored if self.rev2 else stored.with_global_leaves()


def _spec(section: Section) -> SectionSpec:
    return SectionSpec(section.part, section.text, section.fields)


# RFC 3501 §6.4.5: RFC822, RFC822.HEADER and RFC822.TEXT are BODY[], BODY.PEEK[HEADER] and BODY[TEXT].
_RFC822 = {
    "RFC822": FetchBody(Section(())),
    "RFC822.HEADER": FetchBody(Section((), "HEADER")),
    "RFC822.TEXT": FetchBody(Section((), "TEXT")),
}


def _span(msg: _Message, item: FetchBody) -> tuple[int, int] | None:
    """The stored octets a body item sends (the header a HEADER.FIELDS item selects
    from), None if the message has no such section."""
    span = section_span(msg.structure, _spec(item.section))
    if span is None or item.section.text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT") or item.partial is None:
        return span
    offset, length = span
    origin, count = item.partial
    return offset + min(origin, length), max(0, min(count, length - origin))


# ---- response pieces ---------------------------------------------------------------------------
@dataclass
class _Stream:
    """A literal body streamed from the store: raw message octets or a decoded part."""

    content: Content
    offset: int
    length: int
    part: tuple[int, ...] | None = None  # decoded leaf (BINARY)
    binary: bool = False  # sent as a literal8: NUL octets go as they are


Piece = bytes | _Stream


def _internaldate(rec: MessageRecord) -> bytes:
    tz = timezone(timedelta(minutes=rec.internaldate_tz))
    return r.date_time(datetime.fromtimestamp(rec.internaldate, tz))


def _savedate(rec: MessageRecord) -> bytes:
    if rec.savedate is None:
        return b"NIL"
    return r.date_time(datetime.fromtimestamp(rec.savedate, UTC))


class _Fetcher:
    def __init__(self, s: Session, view: MailboxView, cmd: c.Fetch) -> None:
        self.s = s
        self.view = view
        self.cmd = cmd
        self._flag_lists: dict[frozenset[str], bytes] = {}
        self.prefetched: dict[tuple[int, int, int], bytes] = {}  # (content id, offset, length)

    def flags(self, flags: frozenset[str]) -> bytes:
        """The encoded FLAGS list; a mailbox has few distinct flag sets, so each is encoded once."""
        encoded = self._flag_lists.get(flags)
        if encoded is None:
            encoded = self._flag_lists[flags] = r.encode(flag_atoms(flags))
        return encoded

    def rendered(self, msg: _Message, name: str) -> bytes:
        """ENVELOPE, BODY or BODYSTRUCTURE of ``msg``, rendered once per content and mode."""
        key = (msg.content.id, msg.content.sha256, name, self.s.utf8, self.s.rev2)
        value = _rendered.get(key)
        if value is not None:
            return value
        if name == "ENVELOPE":
            value = render.envelope(self.s.mail.envelope(msg.content), utf8=self.s.utf8)
        else:
            value = render.body_structure(msg.structure.root, extended=name == "BODYSTRUCTURE", utf8=self.s.utf8)
        return _remember(key, value)

    async def body(self, msg: _Message, item: FetchBody) -> list[Piece]:
        if item.binary:
            return await self.binary(msg, item)
        spec = _spec(item.section)
        span = _span(msg, item)
        if span is None:
            return [b'""']
        offset, length = span
        if spec.text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
            header = await self.read(msg, offset, length)
            data = select_header_fields(header, spec.fields, spec.text == "HEADER.FIELDS.NOT")
            if item.partial is not None:
                data = data[item.partial[0] : item.partial[0] + item.partial[1]]
            return [r.literal(_no_nul(data))]
        if length > STREAM_OVER:
            return [r.literal_prefix(length), _Stream(msg.content, offset, length)]
        return [r.literal(_no_nul(await self.read(msg, offset, length)))]

    async def read(self, msg: _Message, offset: int, length: int) -> bytes:
        """The octets of a range: read ahead with the batch (``prefetch``), or now."""
        data = self.prefetched.pop((msg.content.id, offset, length), None)
        if data is None:
            data = await self.s.mail.read(msg.content, offset, length)
        return data

    async def prefetch(self, messages: list[_Message]) -> None:
        """Read the body sections the command asks of ``messages`` in one worker-thread
        call, not one await per message (``FETCH 1:* BODY.PEEK[HEADER]``)."""
        self.prefetched = {}
        items = [i for i in self.cmd.items if isinstance(i, FetchBody) and not i.binary]
        items += [_RFC822[i.name] for i in self.cmd.items if isinstance(i, FetchAttr) and i.name in _RFC822]
        if not items:
            return
        ranges: dict[tuple[int, int, int], tuple[Content, int, int]] = {}
        budget = PREFETCH_BYTES
        for msg in messages:
            for item in items:
                span = _span(msg, item)
                if span is not None and span[1] <= budget:
                    ranges[(msg.content.id, *span)] = (msg.content, *span)
                    budget -= span[1]
        if len(ranges) > 1:
            self.prefetched = dict(zip(ranges, await self.s.mail.read_many(list(ranges.values())), strict=True))

    @staticmethod
    def _leaf(msg: _Message, part: tuple[int, ...]) -> None:
        try:
            decodable_leaf(msg.structure, part)
        except NotALeaf:
            raise Refusal(r.NO, "BINARY needs a leaf part") from None
        except UnknownEncoding:
            raise Refusal(r.NO_UNKNOWN_CTE, "unknown content-transfer-encoding") from None  # RFC 3516 §4.3

    async def binary(self, msg: _Message, item: FetchBody) -> list[Piece]:
        part = item.section.part
        if not part:
            size = msg.content.size
        else:
            self._leaf(msg, part)
            size = await self.s.mail.part_size(msg.content, part)
        offset, length = 0, size
        if item.partial is not None:
            origin, count = item.partial
            offset, length = min(origin, size), max(0, min(count, size - origin))
        if length > STREAM_OVER:
            return [r.literal_prefix(length, binary=True), _Stream(msg.content, offset, length, part or None, binary=True)]
        if part:
            data = await self.s.mail.read_part(msg.content, part, offset, length)
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
                elif msg is not None and name in ("ENVELOPE", "BODY", "BODYSTRUCTURE"):
                    add(name, self.rendered(msg, name))
                elif msg is not None and name == "PREVIEW":  # RFC 8970 §3: stored at ingestion
                    add("PREVIEW", r.nstring(msg.content.preview, utf8=self.s.utf8))
                elif msg is not None and name == "EMAILID":  # RFC 8474 §5.1
                    add("EMAILID", f"({email_id(msg.content)})".encode("ascii"))
                elif name == "THREADID":  # RFC 8474 §5.2: NIL, no thread ids are kept
                    add("THREADID", b"NIL")
                elif name == "SAVEDATE":  # RFC 8514 §4: NIL for a message saved before save dates were kept
                    add("SAVEDATE", _savedate(rec))
                elif msg is not None and name in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
                    names.add(name)
                    pieces.append((b" " if pieces else b"") + name.encode("ascii") + b" ")
                    pieces.extend(await self.body(msg, _RFC822[name]))
            elif isinstance(item, FetchBinarySize):
                assert msg is not None
                if item.part:
                    self._leaf(msg, item.part)
                    size = await self.s.mail.part_size(msg.content, item.part)
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


def _no_nul(data: bytes) -> bytes:
    """The octets of a ``{n}`` literal: NUL sent as :data:`NUL_STANDIN` (see there)."""
    return data.replace(b"\x00", NUL_STANDIN) if b"\x00" in data else data


async def _stream(s: Session, piece: _Stream) -> AsyncIterator[bytes]:
    if piece.part is None:
        async for chunk in s.mail.stream(piece.content, piece.offset, piece.length):
            yield chunk if piece.binary else _no_nul(chunk)
        return
    pos, end = piece.offset, piece.offset + piece.length
    while pos < end:
        data = await s.mail.read_part(piece.content, piece.part, pos, min(_CHUNK, end - pos))
        if not data:
            break
        pos += len(data)
        yield data


def _sets_seen(item: FetchItem) -> bool:
    if isinstance(item, FetchBody):
        return not item.peek
    return isinstance(item, FetchAttr) and item.name in ("RFC822", "RFC822.TEXT")


def _needs_content(item: FetchItem) -> bool:
    return not (
        isinstance(item, FetchAttr)
        and item.name in ("UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "MODSEQ", "THREADID", "SAVEDATE")
    )


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
    if await _flags_only(s, view, cmd):
        await _write_lines(s, view.flag_fetches(uids, **_flags_only_order(cmd)))
        return None
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
    shows_flags = any(isinstance(i, FetchAttr) and i.name == "FLAGS" for i in cmd.items)
    # Responses are gathered in one buffer and written in large pieces: at 100,000
    # messages one socket write per response item costs more than the rest of FETCH.
    out = bytearray()
    contents: dict[int, Content] = {}
    messages: dict[int, _Message] = {}
    for index, rec in enumerate(records):
        seq = view.seq_of(rec.uid)
        if seq is None:
            continue
        msg = None
        if needs_content:
            if rec.content_id not in contents:
                # The contents of the next messages in one store read, not one read each,
                # and the sections asked of them in one more.
                batch = {m.content_id for m in records[index : index + _CONTENT_BATCH]}
                contents = await s.mail.get_contents(sorted(batch))
                messages = {cid: _Message(s.mail, content, s.rev2) for cid, content in contents.items()}
                await fetcher.prefetch(list(messages.values()))
            msg = messages.get(rec.content_id) or _Message(s.mail, await s.mail.get_content(rec.content_id), s.rev2)
        pieces = await fetcher.render(rec, msg, rec.uid in seen_changed)
        if shows_flags or rec.uid in seen_changed:
            # RFC 3501 §7.2.6: a keyword is announced before the first FETCH that shows it.
            out += b"".join(view.announce_keywords([rec.flags]))
            view.note_flags([rec])  # reported here: the next sync does not repeat it
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


async def _flags_only(s: Session, view: MailboxView, cmd: c.Fetch) -> bool:
    """A FETCH of UID and FLAGS only, without MODSEQ: the view already holds the answer
    (``MailboxView.flag_fetches``) when nothing changed since it last looked: the change
    bus reported nothing and the stored HIGHESTMODSEQ (one row; a change in another
    process whose notice is late) is not above the view's. Else the store is read as
    for any FETCH."""
    if cmd.changedsince is not None or view.condstore or not cmd.items:
        return False
    if not all(isinstance(i, FetchAttr) and i.name in ("UID", "FLAGS") for i in cmd.items):
        return False
    s.note_bus()
    if view.dirty:
        return False
    current = await s.mail.highest_modseq(view.mailbox)
    return current is not None and current <= view.highest_modseq


def _flags_only_order(cmd: c.Fetch) -> dict[str, bool]:
    names = [i.name for i in cmd.items if isinstance(i, FetchAttr)]
    uid_item = cmd.uid or "UID" in names
    flags_item = "FLAGS" in names
    return {
        "uid_item": uid_item,
        "flags_item": flags_item,
        "flags_first": flags_item and uid_item and not cmd.uid and names.index("FLAGS") < names.index("UID"),
    }


async def _write_lines(s: Session, lines: list[bytes]) -> None:
    """Lines written in pieces of about ``_CHUNK`` octets, flushed after each."""
    start = size = 0
    for end, line in enumerate(lines, 1):
        size += len(line)
        if size > _CHUNK:
            s.write(b"".join(lines[start:end]))
            await s.flush()
            start, size = end, 0
    if start < len(lines):
        s.write(b"".join(lines[start:]))


async def _records(s: Session, view: MailboxView, uids: list[int]) -> list[MessageRecord]:
    """The records of ``uids``; one scan of the mailbox when they are most of it
    (``FETCH 1:*``), rather than thousands of ``uid IN (...)`` lookups."""
    if not uids:
        return []
    if len(uids) * 2 < view.exists:
        return await s.mail.get_messages(view.mailbox, uids)
    wanted = set(uids)
    return [m for m in await s.mail.list_messages(view.mailbox) if m.uid in wanted]
