"""Which messages of a mailbox match a search, for every protocol (IMAP SEARCH, the web).

Criteria are typed values (:data:`Criterion`), without any wire syntax: a protocol
translates its own search program to them, resolving what only it knows (IMAP message
sequence numbers, ``$``, ``\\Recent``) to UID sets first (:class:`InUids`). Results are
UID sets.

Text criteria (:class:`TextContains`, :class:`HeaderContains` of an indexed field) ask
the full-text index (decoded bodies, charsets and encoded words); every other criterion
reads message records (flags, size, dates, MODSEQ), listed once and only if a criterion
needs them; sent dates and other headers read the stored content of every message in
one batch. No message is read whole: only :class:`HeaderContains` of a field the index
has no column for confirms its candidates by reading their header blocks (ranged reads
of a few hundred octets each, all in one worker thread).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from postoffice.mail.objectid import email_id
from postoffice.mail.service import MailService
from postoffice.store.api import Content, Mailbox, MessageRecord

_FEW = 500  # up to this many messages are read by UID, not by listing the mailbox

__all__ = [
    "Criterion",
    "Everything",
    "AllOf",
    "AnyOf",
    "Not",
    "HasFlag",
    "InUids",
    "Size",
    "ModSeqAtLeast",
    "Age",
    "OnDate",
    "TextContains",
    "HeaderContains",
    "SavedOn",
    "EmailIdIs",
    "MailboxSearch",
    "sent_day",
]


@dataclass(frozen=True, slots=True)
class Everything:
    pass


@dataclass(frozen=True, slots=True)
class AllOf:
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class Not:
    criterion: Criterion


@dataclass(frozen=True, slots=True)
class HasFlag:
    """A message that has (``present``) or lacks the flag; flags compare case-insensitively
    (RFC 9051 §2.3.2)."""

    flag: str
    present: bool = True


@dataclass(frozen=True, slots=True)
class InUids:
    uids: frozenset[int]


@dataclass(frozen=True, slots=True)
class Size:
    op: Literal["larger", "smaller"]  # strictly
    size: int


@dataclass(frozen=True, slots=True)
class ModSeqAtLeast:
    """RFC 7162 §3.1.5: a message whose MODSEQ is at least this."""

    modseq: int


@dataclass(frozen=True, slots=True)
class Age:
    """RFC 5032: internal date at least (``older``) or less than (``younger``) this many
    seconds before now."""

    op: Literal["older", "younger"]
    seconds: int


@dataclass(frozen=True, slots=True)
class OnDate:
    """A date comparison, disregarding time (RFC 9051 §6.4.4): the internal date in its
    own timezone, or with ``sent`` the Date: header's date."""

    op: Literal["before", "on", "since"]
    date: dt.date
    sent: bool = False


@dataclass(frozen=True, slots=True)
class TextContains:
    """Decoded text containing ``value`` (case-insensitive): the body, or header and body."""

    where: Literal["body", "text"]
    value: str


@dataclass(frozen=True, slots=True)
class HeaderContains:
    """A header field (name case-insensitive) whose value contains ``value``; an empty
    value matches every message that has the field."""

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class SavedOn:
    """RFC 8514 §4.2: the save date's day (UTC), disregarding time. A message stored
    before save dates were kept has none; its internal date stands in (what RFC 8514
    §4.2 asks of a mailbox without save dates)."""

    op: Literal["before", "on", "since"]
    date: dt.date


@dataclass(frozen=True, slots=True)
class EmailIdIs:
    """RFC 8474 §6 EMAILID: messages whose content has this object id."""

    email_id: str


Criterion = (
    SavedOn
    | EmailIdIs
    | Everything | AllOf | AnyOf | Not | HasFlag | InUids | Size | ModSeqAtLeast | Age | OnDate | TextContains | HeaderContains
)

_INDEXED_HEADERS = {"from": "from", "to": "to", "cc": "cc", "bcc": "bcc", "subject": "subject"}


class MailboxSearch:
    """Evaluates criteria over the given messages (UIDs) of one mailbox; results are UID sets.

    Records and contents are loaded once, and only when a criterion needs them (a text
    search over 100,000 messages lists nothing)."""

    def __init__(self, mail: MailService, mailbox: Mailbox, uids: Iterable[int]) -> None:
        self.mail = mail
        self.mailbox = mailbox
        self.all = set(uids)
        self._records: dict[int, MessageRecord] | None = None
        self._lower_flags: dict[int, set[str]] | None = None
        self._contents: dict[int, Content] | None = None
        self.used_modseq = False  # a ModSeqAtLeast was evaluated (RFC 7162 §3.1.5)

    async def records(self) -> dict[int, MessageRecord]:
        if self._records is None:
            if len(self.all) <= _FEW:  # a few messages (an updating context's new or changed ones)
                listed = await self.mail.get_messages(self.mailbox, sorted(self.all))
            else:
                listed = await self.mail.list_messages(self.mailbox)
            self._records = {m.uid: m for m in listed if m.uid in self.all}
        return self._records

    async def highest_modseq(self, uids: Iterable[int]) -> int | None:
        """The highest MODSEQ among ``uids`` (RFC 7162 §3.1.5 SEARCH answer), None if none."""
        records = await self.records()
        return max((records[u].modseq for u in uids if u in records), default=None)

    async def _flags(self) -> dict[int, set[str]]:
        if self._lower_flags is None:
            self._lower_flags = {u: {f.lower() for f in m.flags} for u, m in (await self.records()).items()}
        return self._lower_flags

    async def _contents_by_uid(self) -> dict[int, Content]:
        """Content of every message, by UID, in one batch read (no per-message round trip)."""
        if self._contents is None:
            records = await self.records()
            by_id = await self.mail.get_contents(sorted({m.content_id for m in records.values()}))
            self._contents = {u: by_id[m.content_id] for u, m in records.items() if m.content_id in by_id}
        return self._contents

    async def matches(self, criterion: Criterion) -> set[int]:  # noqa: C901 - one branch per criterion
        if isinstance(criterion, Everything):
            return set(self.all)
        if isinstance(criterion, AllOf):
            result = set(self.all)
            for sub in criterion.criteria:
                result &= await self.matches(sub)
                if not result:
                    break
            return result
        if isinstance(criterion, AnyOf):
            result = set()
            for sub in criterion.criteria:
                result |= await self.matches(sub)
            return result
        if isinstance(criterion, Not):
            return self.all - await self.matches(criterion.criterion)
        if isinstance(criterion, HasFlag):
            flag = criterion.flag.lower()
            flags = await self._flags()
            return {u for u in flags if (flag in flags[u]) == criterion.present}
        if isinstance(criterion, InUids):
            return self.all & criterion.uids
        if isinstance(criterion, Size):
            records = await self.records()
            if criterion.op == "larger":
                return {u for u, m in records.items() if m.size > criterion.size}
            return {u for u, m in records.items() if m.size < criterion.size}
        if isinstance(criterion, ModSeqAtLeast):
            self.used_modseq = True
            return {u for u, m in (await self.records()).items() if m.modseq >= criterion.modseq}
        if isinstance(criterion, Age):
            now = self.mail.clock.now()
            records = await self.records()
            if criterion.op == "older":
                return {u for u, m in records.items() if m.internaldate <= now - criterion.seconds}
            return {u for u, m in records.items() if m.internaldate > now - criterion.seconds}
        if isinstance(criterion, OnDate):
            return await self._date(criterion)
        if isinstance(criterion, TextContains):
            if not criterion.value:
                return set(self.all)
            return await self.mail.search_text(self.mailbox, criterion.value, criterion.where) & self.all
        if isinstance(criterion, HeaderContains):
            return await self._header(criterion)
        if isinstance(criterion, SavedOn):
            return self._saved_on(criterion, await self.records())
        if isinstance(criterion, EmailIdIs):
            contents = await self._contents_by_uid()
            return {u for u, content in contents.items() if email_id(content) == criterion.email_id}
        raise AssertionError(f"unhandled search criterion {criterion!r}")

    @staticmethod
    def _saved_on(criterion: SavedOn, records: dict[int, MessageRecord]) -> set[int]:
        out: set[int] = set()
        for uid, m in records.items():
            saved = m.savedate if m.savedate is not None else m.internaldate
            day = dt.datetime.fromtimestamp(saved, dt.UTC).date()
            op = criterion.op
            if (op == "before" and day < criterion.date) or (op == "on" and day == criterion.date) or (
                op == "since" and day >= criterion.date
            ):
                out.add(uid)
        return out

    async def _date(self, criterion: OnDate) -> set[int]:
        out: set[int] = set()
        contents = await self._contents_by_uid() if criterion.sent else {}
        for uid, m in (await self.records()).items():
            if criterion.sent:
                content = contents.get(uid)
                if content is None:
                    continue
                # RFC 3501 §6.4.4: the Date: header's date, disregarding time and timezone:
                # the day as written, not the UTC day.
                sent = sent_day(self.mail.envelope(content).date)
                if sent is None:
                    continue
                day = sent
            else:
                tz = dt.timezone(dt.timedelta(minutes=m.internaldate_tz))
                day = dt.datetime.fromtimestamp(m.internaldate, tz).date()
            op = criterion.op
            if (op == "before" and day < criterion.date) or (op == "on" and day == criterion.date) or (
                op == "since" and day >= criterion.date
            ):
                out.add(uid)
        return out

    async def _header(self, criterion: HeaderContains) -> set[int]:
        name = criterion.field.lower()
        field = _INDEXED_HEADERS.get(name)
        if field is not None and criterion.value:
            return await self.mail.search_text(self.mailbox, criterion.value, field) & self.all
        if criterion.value:
            candidates = await self.mail.search_text(self.mailbox, criterion.value, "headers") & self.all
        else:
            candidates = set(self.all)
        needle = criterion.value.lower()
        contents = await self._contents_by_uid()
        uids = sorted(u for u in candidates if u in contents)
        ranges = [(contents[u], *self._header_span(contents[u])) for u in uids]
        headers = await self.mail.read_many(ranges)  # one worker thread for all candidates
        want = name.encode("utf-8", "replace")
        return {u for u, header in zip(uids, headers, strict=True) if _has_header(header, want, needle)}

    def _header_span(self, content: Content) -> tuple[int, int]:
        root = self.mail.bodystructure(content).root
        return root.header_offset, root.header_length


_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_DAY_MONTH_YEAR = re.compile(r"(?:^|[\s,])(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{2,4})(?=\s|$)")


def _without_comments(value: str) -> str:
    """RFC 5322 §3.2.2: comments (nested, with quoted pairs) stand for white space."""
    out: list[str] = []
    depth = 0
    escaped = False
    for ch in value:
        if escaped:
            escaped = False
            if depth:
                continue
        elif ch == "\\" and depth:
            escaped = True
            continue
        elif ch == "(":
            depth += 1
            continue
        elif ch == ")" and depth:
            depth -= 1
            out.append(" ")
            continue
        if not depth:
            out.append(ch)
    return "".join(out)


def sent_day(value: str | None) -> dt.date | None:
    """The calendar date of a Date: header value as written, whatever its time and zone
    (RFC 3501 §6.4.4); None if it has no recognisable date.

    Only the day, month and year are read, so what follows them (a seconds value of 60,
    RFC 5322 §3.3; an unknown zone name) does not matter; comments are dropped; a two-
    or three-digit year is read as RFC 5322 §4.3 says."""
    if not value:
        return None
    found = _DAY_MONTH_YEAR.search(_without_comments(value))
    if found is None:
        return None
    month = _MONTHS.get(found.group(2).lower())
    if month is None:
        return None
    year = int(found.group(3))
    if len(found.group(3)) == 2:
        year += 2000 if year < 50 else 1900
    elif len(found.group(3)) == 3:
        year += 1900
    try:
        return dt.date(year, month, int(found.group(1)))
    except ValueError:
        return None


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
        head, colon, rest = line.partition(b":")
        current = head.strip().lower() if colon else None
        value = [rest]
    if current == name:
        values.append(b" ".join(value))
    return any(needle in v.decode("utf-8", "replace").lower() for v in values)
