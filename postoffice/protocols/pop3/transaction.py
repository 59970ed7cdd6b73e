"""TRANSACTION-state handlers (RFC 1939 §5, §7): STAT, LIST, RETR, DELE, NOOP, RSET, TOP,
UIDL; and QUIT in both states, with the UPDATE state (RFC 1939 §6).

Invariants:
- Sizes are ``MessageRecord.size``: the stored message is CRLF already, so this is the
  exact octet count RETR sends before dot-stuffing (RFC 1939 §5 LIST).
- RETR and TOP stream from the store through a DotStuffer, draining between chunks:
  constant memory. TOP reads the header, the blank line and n body lines (in small
  chunks), not the message (docs/architecture.md §4, ranged reads).
- UPDATE removes every marked message in ONE store call (one transaction: all or
  none) and publishes the expunge, so IMAP sessions see it; it happens only on QUIT
  in TRANSACTION.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from postoffice.store.api import Content, MessageRecord
from postoffice.wire.pop3 import (
    OK,
    OK_BYE,
    OK_DELETED,
    OK_FOLLOWS,
    OK_RESET,
    Dele,
    DotStuffer,
    List,
    Noop,
    Quit,
    Retr,
    Rset,
    Stat,
    Top,
    Uidl,
    multiline,
)

from .errors import SessionEnd, failure_response
from .session import Session, State

__all__ = ["stat", "list_", "retr", "dele", "noop", "rset", "top", "uidl", "quit_", "TOP_CHUNK"]

TOP_CHUNK = 16 * 1024  # octets read per step by TOP: it reads at most this much past what it sends


async def stat(session: Session, command: Stat) -> None:
    count, size = session.require_maildrop().stat()
    session.send(OK.with_text(f"{count} {size}"))  # RFC 1939 §5: "+OK nn mm"


async def list_(session: Session, command: List) -> None:
    maildrop = session.require_maildrop()
    if command.msg is not None:
        record = maildrop.get(command.msg)
        session.send(OK.with_text(f"{command.msg} {record.size}"))
        return
    count, size = maildrop.stat()
    lines = (f"{n} {record.size}" for n, record in maildrop.live())
    session.send(multiline(OK.with_text(f"{count} messages ({size} octets)"), lines))


async def uidl(session: Session, command: Uidl) -> None:
    maildrop = session.require_maildrop()
    if command.msg is not None:
        record = maildrop.get(command.msg)
        session.send(OK.with_text(f"{command.msg} {maildrop.unique_id(record)}"))
        return
    lines = (f"{n} {maildrop.unique_id(record)}" for n, record in maildrop.live())
    session.send(multiline(OK, lines))


async def dele(session: Session, command: Dele) -> None:
    maildrop = session.require_maildrop()
    maildrop.get(command.msg)  # RFC 1939 §5: -ERR if absent or already marked
    maildrop.deleted.add(command.msg)
    session.send(OK_DELETED)


async def noop(session: Session, command: Noop) -> None:
    session.send(OK)


async def rset(session: Session, command: Rset) -> None:
    maildrop = session.require_maildrop()
    maildrop.deleted.clear()
    count, size = maildrop.stat()
    session.send(OK_RESET.with_text(f"maildrop has {count} messages ({size} octets)"))


@contextlib.asynccontextmanager
async def _closing(chunks: AsyncIterator[bytes]) -> AsyncIterator[None]:
    """Close an async generator we stop early, so its store reads end now."""
    try:
        yield
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


async def _send_stream(session: Session, chunks: AsyncIterator[bytes]) -> None:
    """Dot-stuff and write ``chunks``, draining between them; the "." line at the end.

    Once "+OK" is out a failure cannot become "-ERR": the session ends instead.
    """
    stuffer = DotStuffer()
    try:
        async with _closing(chunks):
            async for chunk in chunks:
                session.send(stuffer.feed(chunk))
                await session.flush()
                await session.keep_lock()
    except SessionEnd:
        raise
    except Exception as exc:
        failure_response(exc)  # logs it
        raise SessionEnd() from exc
    session.send(stuffer.finish())


async def _content(session: Session, number: int) -> tuple[MessageRecord, Content]:
    """Message ``number``'s record and content; the content from the read-ahead batch."""
    maildrop = session.require_maildrop()
    record = maildrop.get(number)
    content = maildrop.contents.get(record.content_id)
    if content is None:
        maildrop.contents = await session.mail.get_contents(maildrop.batch_after(number))
        content = maildrop.contents.get(record.content_id) or await session.mail.get_content(record.content_id)
    return record, content


async def retr(session: Session, command: Retr) -> None:
    record, content = await _content(session, command.msg)
    session.send(OK_FOLLOWS.with_text(f"{record.size} octets"))
    await _send_stream(session, session.mail.stream(content))


async def top(session: Session, command: Top) -> None:
    _, content = await _content(session, command.msg)
    session.send(OK_FOLLOWS)
    await _send_stream(session, _top_chunks(session, content, command.lines))


async def _top_chunks(session: Session, content: Content, lines: int) -> AsyncIterator[bytes]:
    """The header, the blank line after it and ``lines`` body lines (RFC 1939 §7 TOP).

    Reads TOP_CHUNK octets at a time and stops reading as soon as it has what it sends.
    """
    in_header = True
    line_length = 0  # octets of the current line seen so far, LF excluded
    last = -1  # the octet before the current position (across chunks)
    remaining = lines
    chunks = session.mail.stream(content, chunk=TOP_CHUNK)
    async with _closing(chunks):
        async for chunk in chunks:
            start = 0
            while True:
                if not in_header and remaining == 0 and line_length == 0:
                    if start:
                        yield chunk[:start]
                    return
                lf = chunk.find(b"\n", start)
                if lf < 0:
                    line_length += len(chunk) - start
                    if len(chunk) > start:
                        last = chunk[-1]
                    break
                length = line_length + (lf - start)
                before = chunk[lf - 1] if lf > start else last
                line_length = 0
                last = 10
                start = lf + 1
                if in_header:
                    if length == 0 or (length == 1 and before == 13):
                        in_header = False  # the blank line ending the header (RFC 5322 §2.1)
                else:
                    remaining -= 1
            yield chunk


async def quit_(session: Session, command: Quit) -> None:
    if session.state is State.TRANSACTION:
        # RFC 1939 §6: UPDATE removes the marked messages; all or none (one transaction).
        session.state = State.UPDATE
        maildrop = session.require_maildrop()
        uids = maildrop.marked_uids()
        try:
            await session.mail.expunge(maildrop.mailbox, uids)
        except Exception as exc:
            raise SessionEnd(failure_response(exc).with_text("Some deleted messages not removed")) from exc
        count = len(maildrop.messages) - len(uids)
        await session.release()
        raise SessionEnd(OK_BYE.with_text(f"Bye ({count} messages left)"))
    raise SessionEnd(OK_BYE)  # RFC 1939 §4: QUIT in AUTHORIZATION enters no UPDATE
