"""Message handlers: APPEND (MULTIAPPEND, APPENDLIMIT, UIDPLUS), STORE, COPY, MOVE,
EXPUNGE, UID EXPUNGE, IDLE (RFC 9051 §6.3.12, §6.3.13, §6.4.3, §6.4.6-§6.4.9; RFC 3502;
RFC 4315; RFC 6851; RFC 2177; RFC 7162 §3.1.3).

Handlers change the store and answer their own data (STORE's FETCH, COPYUID); every
untagged EXISTS / EXPUNGE / VANISHED comes from the selected view's sync.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from datetime import datetime

from postoffice.errors import Kind, MailError
from postoffice.mail.service import Source
from postoffice.net.connection import Timeout
from postoffice.store.api import SYSTEM_FLAGS, Change, FlagUpdate, MessageRecord
from postoffice.wire.imap import commands as c
from postoffice.wire.imap import response as r
from postoffice.wire.imap.parser import is_done
from postoffice.wire.imap.reader import LineReceived
from postoffice.wire.imap.seqset import SequenceSet

from . import catenate  # RFC 4469
from .errors import Refusal, SessionEnd
from .session import Session
from .view import MailboxView

__all__ = ["append", "store", "copy", "move", "expunge", "uid_expunge", "idle"]


def _tz_minutes(when: datetime) -> int:
    offset = when.utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


async def append(s: Session, cmd: c.Append) -> bytes | None:
    assert s.account is not None
    for message in cmd.messages:
        _check_flags(message.flags)
    box = await s.mail.get_mailbox(s.account, cmd.mailbox)  # NOT_FOUND -> NO [TRYCREATE]
    wanted = [f for message in cmd.messages for f in message.flags]
    if _keywords(wanted):
        _check_keywords(s, wanted, (m.flags for m in await s.mail.list_messages(box)))
    # RFC 4469 CATENATE: every URL of every message resolved before anything is stored
    catenated = [await catenate.catenate_source(s, m) if m.parts else None for m in cmd.messages]
    done: list[MessageRecord] = []
    try:
        for message, parts in zip(cmd.messages, catenated, strict=True):
            source: Source
            if parts is not None:
                source = parts
            elif message.size == 0:
                raise Refusal(r.NO, "empty message")
            else:
                source = message.data if isinstance(message.data, bytes) else s.spools[message.data.index]
            when = message.date_time
            done.append(
                await s.mail.append(
                    s.account,
                    box,
                    source,
                    flags=frozenset(message.flags),
                    internaldate=when.timestamp() if when is not None else None,
                    internaldate_tz=_tz_minutes(when) if when is not None else 0,
                    # RFC 3516 §4.4: a literal8 message is stored byte for byte (a
                    # binary part keeps its bare CR and LF), as SMTP BINARYMIME is.
                    normalise_line_ends=not message.binary,
                )
            )
    except BaseException:
        # RFC 3502 §3: MULTIAPPEND is all or nothing.
        if done:
            await s.mail.expunge(box, [m.uid for m in done])
        raise
    uids = SequenceSet.of(m.uid for m in done)
    return r.OK_APPENDUID.tagged(cmd.tag, "APPEND completed", args=f"{box.uidvalidity} {uids}")


def _writable(view: MailboxView | None) -> MailboxView:
    assert view is not None
    if view.readonly:
        raise Refusal(r.NO_NOPERM, "mailbox is read-only")  # RFC 9051 §6.3.3 EXAMINE
    return view


def _uids(s: Session, view: MailboxView, seqset: SequenceSet, uid: bool) -> list[int]:
    if not uid and not seqset.saved and seqset.out_of_range(view.exists):
        raise Refusal(r.BAD, "invalid message sequence number")
    return view.resolve_uids(seqset, uid=uid)


_MODES = {"replace": "set", "add": "add", "remove": "remove"}


def _check_flags(flags: Iterable[str]) -> None:
    """RFC 9051 §2.3.2: a client may not invent system flags (``\\Foo``); \\Recent is
    tolerated and ignored (RFC 3501 §2.3.2: it cannot be set)."""
    for flag in flags:
        if flag.startswith("\\") and flag.lower() not in _SYSTEM_FLAGS:
            raise Refusal(r.BAD, f"unknown system flag {flag}")


def _keywords(flags: Iterable[str]) -> set[str]:
    """The keywords (not system flags) among ``flags``, lower-cased: RFC 9051 §2.3.2,
    flags are case-insensitive."""
    return {f.lower() for f in flags if not f.startswith("\\")}


def _check_keywords(s: Session, flags: Iterable[str], in_use: Iterable[frozenset[str]]) -> None:
    """NO [LIMIT] (RFC 5530) for a keyword over ``max_keyword_length`` octets, or for
    keywords that would take the mailbox over ``max_keywords_per_mailbox``."""
    limits = s.limits
    wanted = _keywords(flags)
    if not wanted:
        return
    if any(len(k.encode("utf-8")) > limits.max_keyword_length for k in wanted):
        raise Refusal(r.NO_LIMIT, f"keywords are limited to {limits.max_keyword_length} octets")
    known: set[str] = set()
    for record_flags in in_use:
        known |= _keywords(record_flags)
    if len(known | wanted) > limits.max_keywords_per_mailbox:
        raise Refusal(r.NO_LIMIT, f"at most {limits.max_keywords_per_mailbox} keywords per mailbox")


_SYSTEM_FLAGS = frozenset({f.lower() for f in SYSTEM_FLAGS} | {"\\recent"})  # \Recent: tolerated, ignored


async def store(s: Session, cmd: c.Store) -> bytes | None:
    _check_flags(cmd.flags)
    view = _writable(s.view)
    uids = _uids(s, view, cmd.sequence_set, cmd.uid)
    if cmd.unchangedsince is not None:
        s.enable_condstore()
    if not uids:
        return None
    if cmd.mode != "remove":
        # The keywords this session knows in use (its view, brought up to date at each sync).
        _check_keywords(s, cmd.flags, view.flags.values())
    update = FlagUpdate(_MODES[cmd.mode], frozenset(cmd.flags), cmd.unchangedsince)  # type: ignore[arg-type]
    result = await s.mail.update_flags(view.mailbox, uids, update)
    failed = set(result.failed)
    fresh = await s.mail.get_messages(view.mailbox, uids)
    view.note_flags(fresh)
    updated = {m.uid for m in result.updated}
    for rec in fresh:
        if rec.uid in failed:
            continue
        # RFC 9051 §6.4.6: the new flags unless .SILENT; RFC 7162 §3.1.3: with CONDSTORE a
        # silent STORE still reports MODSEQ of the messages it changed.
        if not cmd.silent:
            s.write(view.fetch_flags(rec.uid, with_uid=cmd.uid))
        elif view.condstore and rec.uid in updated:
            s.write(view.fetch_modseq(rec.uid, with_uid=cmd.uid))
    if failed:
        numbers = sorted(failed) if cmd.uid else sorted(n for n in (view.seq_of(u) for u in failed) if n)
        return r.OK_MODIFIED.tagged(cmd.tag, "some messages were modified", args=str(SequenceSet.of(numbers)))
    return None


async def _copy_or_move(s: Session, cmd: c.Copy | c.Move, move: bool) -> bytes | None:
    assert s.account is not None
    view = _writable(s.view) if move else s.view
    assert view is not None
    uids = _uids(s, view, cmd.sequence_set, cmd.uid)
    dest = await s.mail.get_mailbox(s.account, cmd.mailbox)  # NOT_FOUND -> NO [TRYCREATE]
    if not uids:
        return None
    pairs = await s.mail.copy(view.mailbox, uids, dest, move=move)
    if not pairs:
        return None
    code = r.code_copyuid(
        dest.uidvalidity, SequenceSet.of(a for a, _ in pairs), SequenceSet.of(b for _, b in pairs)
    )
    if move:
        # RFC 6851 §4.3: COPYUID comes in an untagged OK before the EXPUNGE responses.
        s.write(r.untagged_status("OK", "moved", code))
        view.dirty = True
        return None
    return r.tagged(cmd.tag, "OK", "COPY completed", code)


async def copy(s: Session, cmd: c.Copy) -> bytes | None:
    return await _copy_or_move(s, cmd, move=False)


async def move(s: Session, cmd: c.Move) -> bytes | None:
    return await _copy_or_move(s, cmd, move=True)


async def _expunge(s: Session, limit_to: set[int] | None) -> None:
    view = _writable(s.view)
    records = await s.mail.get_messages(view.mailbox, list(view.uids)) if view.uids else []
    deleted = [
        m.uid for m in records if "\\deleted" in {f.lower() for f in m.flags} and (limit_to is None or m.uid in limit_to)
    ]
    await s.mail.expunge(view.mailbox, deleted)
    view.dirty = True


async def expunge(s: Session, cmd: c.Expunge) -> bytes | None:
    await _expunge(s, None)
    return None


async def uid_expunge(s: Session, cmd: c.UidExpunge) -> bytes | None:
    view = s.view
    assert view is not None
    await _expunge(s, set(view.resolve_uids(cmd.uids, uid=True)))
    return None


async def idle(s: Session, cmd: c.Idle) -> bytes | None:
    """RFC 2177 / RFC 9051 §6.3.13: report changes as they happen until ``DONE``."""
    s.write(r.continuation("idling"))

    async def report() -> None:
        # A failure here is reported as the view reports it (CLOSED, or BYE and the end
        # of the session), never as a tagged answer while the client is still idling.
        # With NOTIFY, exactly what NOTIFY asked for is sent (RFC 5465 §4).
        if s.notifier is not None:
            s.note_bus()
            ok = await s.notifier.deliver("idle") if s.notifier is not None else True
        else:
            ok = await s.sync_view(allow_expunge=True)
        if not ok:
            await s.flush()
            raise SessionEnd(r.NO_SERVERBUG.tagged(cmd.tag, "the selected mailbox cannot be updated"))
        await s.flush()

    await report()
    s.reader.expect_line()
    read_task: asyncio.Task[bytes] | None = None
    bus_task: asyncio.Task[Change] | None = None
    try:
        while True:
            event = s.reader.next_event()
            if event is not None:
                break
            if read_task is None:
                read_task = asyncio.ensure_future(s.conn.read(timeout=s.limits.idle_timeout))
            if bus_task is None and s.subscription is not None:
                bus_task = asyncio.ensure_future(s.subscription.get())
            waiting = {t for t in (read_task, bus_task) if t is not None}
            s.interruptible = True  # a shutdown may end IDLE with BYE (server.shutdown)
            try:
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            finally:
                s.interruptible = False
            if bus_task is not None and bus_task in done:
                change = bus_task.result()
                bus_task = None
                s.take_changes([change])
                await report()
            if read_task in done:
                try:
                    data = read_task.result()
                except Timeout:
                    # RFC 9051 §5.4: autologout, announced with BYE even while idling.
                    read_task = None
                    raise SessionEnd(r.bye("autologout; idle for too long")) from None
                read_task = None
                if not data:
                    raise MailError(Kind.UNAVAILABLE, "connection closed during IDLE")
                s.reader.feed(data)
    finally:
        for task in (read_task, bus_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
    if isinstance(event, LineReceived) and is_done(event.line):
        return None
    return r.tagged(cmd.tag, "BAD", "expected DONE")
