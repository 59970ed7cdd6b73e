"""SEARCH and UID SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4; ESEARCH RFC 4731; SEARCHRES
RFC 5182; WITHIN RFC 5032; MODSEQ RFC 7162 §3.1.5).

Text keys (FROM, TO, CC, BCC, SUBJECT, BODY, TEXT, HEADER) ask the full-text index
(``mail.search_text``: decoded bodies, charsets and encoded words); every other key
reads message records (flags, size, dates, MODSEQ), listed once and only if a key needs
them; SENT* and HEADER keys read the stored content fields of all messages in one batch
(``mail.get_contents``). No message is read whole. Only ``HEADER name value`` with a
name the index has no column for confirms its candidates by reading their header blocks
(ranged reads of a few hundred octets each, all in one worker thread).

Invariant: SEARCH never causes EXPUNGE responses (RFC 9051 §7.5.1; the command table
marks it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from postoffice.store.api import Content, MessageRecord
from postoffice.wire.imap import commands as c
from postoffice.wire.imap import response as r
from postoffice.wire.imap import search as k
from postoffice.wire.imap.seqset import SequenceSet

from .session import Session
from .view import MailboxView

__all__ = ["search", "Evaluator"]

_FLAG_OF = {
    "ANSWERED": ("\\answered", True), "UNANSWERED": ("\\answered", False),
    "DELETED": ("\\deleted", True), "UNDELETED": ("\\deleted", False),
    "DRAFT": ("\\draft", True), "UNDRAFT": ("\\draft", False),
    "FLAGGED": ("\\flagged", True), "UNFLAGGED": ("\\flagged", False),
    "SEEN": ("\\seen", True), "UNSEEN": ("\\seen", False),
}
_INDEXED_HEADERS = {"FROM": "from", "TO": "to", "CC": "cc", "BCC": "bcc", "SUBJECT": "subject"}


class Evaluator:
    """Evaluates one search program over the messages of a view; results are UID sets."""

    def __init__(self, s: Session, view: MailboxView) -> None:
        self.s = s
        self.view = view
        # The messages this session knows; records and contents are loaded only when a
        # key needs them (UID SEARCH TEXT over 100,000 messages lists nothing).
        self.all = set(view.flags)
        self._records: dict[int, MessageRecord] | None = None
        self._lower_flags: dict[int, set[str]] | None = None
        self._contents: dict[int, Content] | None = None
        self.used_modseq = False

    async def records(self) -> dict[int, MessageRecord]:
        if self._records is None:
            listed = await self.s.mail.list_messages(self.view.mailbox)
            self._records = {m.uid: m for m in listed if m.uid in self.all}
        return self._records

    async def lower_flags(self) -> dict[int, set[str]]:
        if self._lower_flags is None:
            self._lower_flags = {u: {f.lower() for f in m.flags} for u, m in (await self.records()).items()}
        return self._lower_flags

    async def contents(self) -> dict[int, Content]:
        """Content of every message, by UID, in one batch read (no per-message round trip)."""
        if self._contents is None:
            records = await self.records()
            by_id = await self.s.mail.get_contents(sorted({m.content_id for m in records.values()}))
            self._contents = {u: by_id[m.content_id] for u, m in records.items() if m.content_id in by_id}
        return self._contents

    async def eval(self, key: k.SearchKey) -> set[int]:  # noqa: C901 - one branch per key type
        if isinstance(key, k.All):
            return set(self.all)
        if isinstance(key, k.And):
            result = set(self.all)
            for sub in key.keys:
                result &= await self.eval(sub)
                if not result:
                    break
            return result
        if isinstance(key, k.Or):
            return await self.eval(key.left) | await self.eval(key.right)
        if isinstance(key, k.Not):
            return self.all - await self.eval(key.key)
        if isinstance(key, k.FlagKey):
            if key.key in _FLAG_OF:
                flag, present = _FLAG_OF[key.key]
                lower = await self.lower_flags()
                return {u for u in lower if (flag in lower[u]) == present}
            # RFC 3501 §6.4.4: RECENT, NEW (recent and unseen), OLD (not recent).
            recent = self.view.recent & self.all
            if key.key == "RECENT":
                return recent
            if key.key == "OLD":
                return self.all - recent
            lower = await self.lower_flags()
            return {u for u in recent if u in lower and "\\seen" not in lower[u]}  # NEW
        if isinstance(key, k.Keyword):
            kw = key.keyword.lower()
            lower = await self.lower_flags()
            return {u for u in lower if (kw in lower[u]) != key.negated}
        if isinstance(key, k.SizeKey):
            records = await self.records()
            if key.op == "LARGER":
                return {u for u, m in records.items() if m.size > key.size}
            return {u for u, m in records.items() if m.size < key.size}
        if isinstance(key, k.SeqSetKey):
            if key.sequence_set.saved:
                return set(self.view.saved_search) & self.all
            return set(self.view.resolve_uids(key.sequence_set, uid=False)) & self.all
        if isinstance(key, k.UidKey):
            return set(self.view.resolve_uids(key.sequence_set, uid=True)) & self.all
        if isinstance(key, k.ModSeqKey):
            self.used_modseq = True
            return {u for u, m in (await self.records()).items() if m.modseq >= key.modseq}
        if isinstance(key, k.AgeKey):
            now = self.s.mail.clock.now()
            records = await self.records()
            if key.op == "OLDER":
                return {u for u, m in records.items() if m.internaldate <= now - key.seconds}
            return {u for u, m in records.items() if m.internaldate > now - key.seconds}
        if isinstance(key, k.DateKey):
            return await self._date(key)
        if isinstance(key, k.TextContains):
            if not key.value:
                return set(self.all)
            field = "body" if key.where == "BODY" else "text"
            return await self.s.mail.search_text(self.view.mailbox, key.value, field) & self.all
        if isinstance(key, k.HeaderContains):
            return await self._header(key)
        raise AssertionError(f"unhandled search key {key!r}")

    async def _date(self, key: k.DateKey) -> set[int]:
        out: set[int] = set()
        contents = await self.contents() if key.sent else {}
        for uid, m in (await self.records()).items():
            if key.sent:
                content = contents.get(uid)
                if content is None or content.date is None:
                    continue
                # RFC 9051 §6.4.4: the Date: header's date, disregarding time and timezone.
                day = dt.datetime.fromtimestamp(content.date, dt.UTC).date()
            else:
                tz = dt.timezone(dt.timedelta(minutes=m.internaldate_tz))
                day = dt.datetime.fromtimestamp(m.internaldate, tz).date()
            if (key.op == "BEFORE" and day < key.date) or (key.op == "ON" and day == key.date) or (
                key.op == "SINCE" and day >= key.date
            ):
                out.add(uid)
        return out

    async def _header(self, key: k.HeaderContains) -> set[int]:
        field = _INDEXED_HEADERS.get(key.field)
        if field is not None and key.value:
            return await self.s.mail.search_text(self.view.mailbox, key.value, field) & self.all
        if key.value:
            candidates = await self.s.mail.search_text(self.view.mailbox, key.value, "headers") & self.all
        else:
            candidates = set(self.all)
        want = key.field.lower().encode()
        needle = key.value.lower()
        contents = await self.contents()
        uids = sorted(u for u in candidates if u in contents)
        ranges = [(contents[u], *_header_span(contents[u])) for u in uids]
        headers = await self.s.mail.read_many(ranges)  # one worker thread for all candidates
        return {u for u, header in zip(uids, headers, strict=True) if _has_header(header, want, needle)}


def _header_span(content: Content) -> tuple[int, int]:
    root = (json.loads(content.bodystructure) if content.bodystructure else {}).get("root") or {}
    start, length = root.get("header", [0, content.size])
    return int(start), int(length)


def _has_header(header: bytes, name: bytes, needle: str) -> bool:
    value: list[bytes] = []
    current: bytes | None = None
    values: list[bytes] = []
    for line in header.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and current is not None:
            value.append(line)
            continue
        if current == name:
            values.append(b" ".join(value))
        head, _, rest = line.partition(b":")
        current = head.strip().lower() if _ else None
        value = [rest]
    if current == name:
        values.append(b" ".join(value))
    return any(needle in v.decode("utf-8", "replace").lower() for v in values)


def _numbers(view: MailboxView, uids: Iterable[int], uid: bool) -> list[int]:
    if uid:
        return sorted(uids)
    return sorted(n for n in (view.seq_of(u) for u in uids) if n is not None)


async def search(s: Session, cmd: c.Search) -> bytes | None:
    view = s.view
    assert view is not None and cmd.criteria is not None
    evaluator = Evaluator(s, view)
    matched = await evaluator.eval(cmd.criteria)
    if evaluator.used_modseq:
        s.enable_condstore()
    records = await evaluator.records() if evaluator.used_modseq else {}
    modseq = max((records[u].modseq for u in matched if u in records), default=None) if evaluator.used_modseq else None
    numbers = _numbers(view, matched, cmd.uid)
    options = cmd.return_options
    if options is None and not s.rev2:
        s.write(r.search_response(numbers, modseq))
        return None
    opts = set(options or ()) or {"ALL"}
    if "SAVE" in opts:
        # RFC 5182 §2.4: with MIN and/or MAX only those are saved.
        ordered = sorted(matched)
        if opts & {"MIN", "MAX"}:
            saved = ([ordered[0]] if "MIN" in opts and ordered else []) + ([ordered[-1]] if "MAX" in opts and ordered else [])
        else:
            saved = ordered
        view.saved_search = saved
        opts.discard("SAVE")
        if not opts:
            return None
    s.write(
        r.esearch_response(
            cmd.tag,
            uid=cmd.uid,
            min=numbers[0] if "MIN" in opts and numbers else None,
            max=numbers[-1] if "MAX" in opts and numbers else None,
            all=SequenceSet.of(numbers) if "ALL" in opts and numbers else None,
            count=len(numbers) if "COUNT" in opts else None,
            modseq=modseq,
        )
    )
    return None
