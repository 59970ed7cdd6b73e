"""CATENATE (RFC 4469): APPEND of a message made of literals and parts of stored messages.

A URL (``wire/imap/url.py``) names a message of the logged-in account, by mailbox,
UIDVALIDITY, UID, and optionally a section (RFC 5092 §3, the sections of FETCH) and a
partial range. Every URL is resolved before anything is read, so a bad one refuses the
APPEND with ``NO [BADURL url]`` and nothing stored (RFC 4469 §5). The new message is a
stream into the one ingestion pipeline: TEXT literals (in memory or spooled) and the
referenced byte ranges read from the part store in chunks, so no referenced part is
held whole in memory, and a large referenced leaf is not stored a second time (its
blob is found by its hash). Over ``[limits.imap] max_literal_size`` in all: ``NO [TOOBIG]``
(RFC 4469 §6) before anything is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from postoffice.errors import MailError
from postoffice.mail.sections import SectionSpec, section_span, select_header_fields
from postoffice.store.api import Content
from postoffice.wire.imap import commands as c
from postoffice.wire.imap import response as r
from postoffice.wire.imap.url import MessageUrl, parse_message_url

from .errors import Refusal
from .session import Session

__all__ = ["catenate_source", "check_urls"]

_CHUNK = 256 * 1024


@dataclass(frozen=True)
class _Range:
    content: Content
    offset: int
    length: int


_Piece = bytes | Path | _Range


def _bad(url: str, why: str) -> Refusal:
    return Refusal(r.NO_BADURL, why, args=url)


async def _resolve(s: Session, text: str) -> bytes | _Range:
    assert s.account is not None
    try:
        url: MessageUrl = parse_message_url(text)
    except ValueError as exc:
        raise _bad(text, str(exc)) from None
    if url.host is not None and url.host != s.config.hostname.lower():
        raise _bad(text, "the URL names another server")
    if url.user is not None and url.user.lower() != s.account.address:
        raise _bad(text, "the URL names another user")  # no URLAUTH (RFC 4467): own mail only
    try:
        box = await s.mail.get_mailbox(s.account, url.mailbox)
    except MailError:
        raise _bad(text, "no such mailbox") from None
    if url.uidvalidity is not None and url.uidvalidity != box.uidvalidity:
        raise _bad(text, "UIDVALIDITY does not match")
    records = await s.mail.get_messages(box, [url.uid])
    if not records:
        raise _bad(text, "no such message")
    content = await s.mail.get_content(records[0].content_id)
    section = url.section
    spec = SectionSpec(section.part, section.text, section.fields)
    span = (0, content.size) if spec == SectionSpec() else section_span(s.mail.bodystructure(content), spec)
    if span is None:
        raise _bad(text, "no such section")
    offset, length = span
    piece: bytes | _Range
    if spec.text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        header = await s.mail.read(content, offset, length)  # one header block: small
        piece = select_header_fields(header, spec.fields, spec.text == "HEADER.FIELDS.NOT")
    else:
        piece = _Range(content, offset, length)
    if url.partial is not None:
        start, count = url.partial
        size = len(piece) if isinstance(piece, bytes) else length
        start = min(start, size)
        count = size - start if count is None else min(count, size - start)
        if isinstance(piece, bytes):
            piece = piece[start : start + count]
        else:
            piece = _Range(content, offset + start, count)
    return piece


async def check_urls(s: Session, urls: tuple[str, ...]) -> Refusal | None:
    """The refusal of the first of ``urls`` that cannot be used, else None: asked before
    ``+`` for a literal that follows them (RFC 4469 §5), so the client need not send it."""
    for url in urls:
        try:
            await _resolve(s, url)
        except Refusal as refusal:
            return refusal
    return None


async def catenate_source(s: Session, message: c.AppendMessage) -> AsyncIterator[bytes]:
    """The octets of the message ``message.parts`` makes, as a stream; raises a
    Refusal (BADURL, TOOBIG, empty) before anything is read."""
    pieces: list[_Piece] = []
    total = 0
    for part in message.parts:
        piece: _Piece
        if part.url is not None:
            resolved = await _resolve(s, part.url)
            piece, size = resolved, resolved.length if isinstance(resolved, _Range) else len(resolved)
        elif isinstance(part.text, c.StreamedLiteral):
            piece, size = s.spools[part.text.index], part.text.size  # spooled by the session
        else:
            piece = part.text or b""
            size = len(piece)
        total += size
        pieces.append(piece)
    if total > s.limits.max_literal_size:
        raise Refusal(r.NO_TOOBIG, "the message would be too big")  # RFC 4469 §6
    if total == 0:
        raise Refusal(r.NO, "empty message")
    return _stream(s, pieces)


async def _stream(s: Session, pieces: list[_Piece]) -> AsyncIterator[bytes]:
    for piece in pieces:
        if isinstance(piece, bytes):
            yield piece
        elif isinstance(piece, Path):
            with piece.open("rb") as f:
                while chunk := await asyncio.to_thread(f.read, _CHUNK):
                    yield chunk
        else:
            async for chunk in s.mail.stream(piece.content, piece.offset, piece.length, _CHUNK):
                yield chunk
