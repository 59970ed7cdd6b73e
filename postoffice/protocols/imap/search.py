"""SEARCH and UID SEARCH (RFC 9051 §6.4.4, RFC 3501 §6.4.4; ESEARCH RFC 4731; SEARCHRES
RFC 5182; WITHIN RFC 5032; MODSEQ RFC 7162 §3.1.5).

Text keys (FROM, TO, CC, BCC, SUBJECT, BODY, TEXT, HEADER) ask the full-text index
(``mail.search_text``: decoded bodies, charsets and encoded words); every other key
reads message records (flags, size, dates, MODSEQ). No message is read whole. Only
``HEADER name value`` with a name the index has no column for confirms its candidates
by reading their header blocks (a ranged read of a few hundred octets each).

Invariant: SEARCH never causes EXPUNGE responses (RFC 9051 §7.5.1; the command table
marks it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from postoffice.store.api import MessageRecord
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

    def __init__(self, s: Session, view: MailboxView, records: list[MessageRecord]) -> None:
        self.s = s
        self.view = view
        self.records = {m.uid: m for m in records if m.uid in view.flags}
        self.all = set(self.records)
        self.lower_flags = {u: {f.lower() for f in m.flags} for u, m in self.records.items()}
        self.used_modseq = False

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
                return {u for u in self.all if (flag in self.lower_flags[u]) == present}
            # RFC 3501 \Recent: no session is ever told a message is recent here.
            return set(self.all) if key.key == "OLD" else set()
        if isinstance(key, k.Keyword):
            kw = key.keyword.lower()
            return {u for u in self.all if (kw in self.lower_flags[u]) != key.negated}
        if isinstance(key, k.SizeKey):
            if key.op == "LARGER":
                return {u for u, m in self.records.items() if m.size > key.size}
            return {u for u, m in self.records.items() if m.size < key.size}
        if isinstance(key, k.SeqSetKey):
            if key.sequence_set.saved:
                return set(self.view.saved_search) & self.all
            return set(self.view.resolve_uids(key.sequence_set, uid=False)) & self.all
        if isinstance(key, k.UidKey):
            return set(self.view.resolve_uids(key.sequence_set, uid=True)) & self.all
        if isinstance(key, k.ModSeqKey):
            self.used_modseq = True
            return {u for u, m in self.records.items() if m.modseq >= key.modseq}
        if isinstance(key, k.AgeKey):
            now = self.s.mail.clock.now()
            if key.op == "OLDER":
                return {u for u, m in self.records.items() if m.internaldate <= now - key.seconds}
            return {u for u, m in self.records.items() if m.internaldate > now - key.seconds}
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
        for uid, m in self.records.items():
            if key.sent:
                content = await self.s.mail.get_content(m.content_id)
                if content.date is None:
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
        out: set[int] = set()
        want = key.field.lower().encode()
        needle = key.value.lower()
        for uid in sorted(candidates):
            content = await self.s.mail.get_content(self.records[uid].content_id)
            root = (json.loads(content.bodystructure) if content.bodystructure else {}).get("root") or {}
            start, length = root.get("header", [0, 0])
            header = await self.s.mail.read(content, int(start), int(length))
            if _has_header(header, want, needle):
                out.add(uid)
        return out


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
    records = await s.mail.list_messages(view.mailbox)
    evaluator = Evaluator(s, view, records)
    matched = await evaluator.eval(cmd.criteria)
    if evaluator.used_modseq:
        s.enable_condstore()
    modseq = max((evaluator.records[u].modseq for u in matched), default=None) if evaluator.used_modseq else None
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
