"""Sorting messages and the base subject, for every protocol (IMAP SORT, the web's lists).

RFC 5256 defines the sort keys and the base subject; RFC 5957 adds DISPLAYFROM and
DISPLAYTO. Everything a sort or a thread needs of a message is a :class:`MessageFacts`,
built from stored data only — the message record (internal date, size), the content
row (decoded subject, Date, Message-ID), the stored ENVELOPE (first addresses,
In-Reply-To) and the References list precomputed at ingestion (``Content.extra``) —
never by parsing a message again (:func:`load_facts`). The algorithms
(:func:`base_subject`, :func:`sort_messages`) are pure functions of those facts.

Invariant: messages that compare equal on every key keep mailbox order (ascending
UID, which is sequence-number order), whatever REVERSE asks (RFC 5256 §3).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from postoffice.message.address import Address, AddressList
from postoffice.message.headers import decode_encoded_words
from postoffice.store.api import Content, Mailbox, MessageRecord

if TYPE_CHECKING:
    from postoffice.mail.service import MailService

__all__ = [
    "SortKeyName",
    "SORT_KEYS",
    "SortKey",
    "MessageFacts",
    "base_subject",
    "is_reply_or_forward",
    "message_ids",
    "sort_messages",
    "load_facts",
    "references_extra",
]

SortKeyName = Literal["arrival", "cc", "date", "from", "size", "subject", "to", "displayfrom", "displayto"]
# RFC 5256 §3 and RFC 5957 §3.
SORT_KEYS: tuple[SortKeyName, ...] = ("arrival", "cc", "date", "from", "size", "subject", "to", "displayfrom", "displayto")


@dataclass(frozen=True, slots=True)
class SortKey:
    key: SortKeyName
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What sorting and threading read of one message; strings already compare-ready."""

    uid: int
    arrival: float  # internal date
    date: float  # RFC 5256 §2.2 sent date: the Date header in UTC, else the internal date
    size: int
    subject: str  # decoded Subject, as written
    from_: str  # RFC 5256 §3: addr-mailbox of the first From address ("" if none)
    to: str
    cc: str
    display_from: str  # RFC 5957 §3: display name of the first From address, else its addr-spec
    display_to: str
    message_id: str  # "<id>" or ""
    in_reply_to: tuple[str, ...] = ()  # msg-ids of In-Reply-To
    references: tuple[str, ...] = ()  # msg-ids of References, in order


# ---- base subject (RFC 5256 §2.1) -----------------------------------------------------------------
_WSP = re.compile(r"[ \t\r\n]+")
_BLOB = r"\[[^\[\]]*\][ \t]*"  # subj-blob = "[" *BLOBCHAR "]" *WSP
_TRAILER = re.compile(r"(?:[ \t]*\(fwd\)|[ \t])\Z", re.IGNORECASE)  # subj-trailer
# subj-leader = (*subj-blob subj-refwd) / WSP; subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
_LEADER = re.compile(rf"(?:(?:{_BLOB})*(?:re|fwd?)[ \t]*(?:{_BLOB})?:|[ \t])", re.IGNORECASE)
_LEADING_BLOB = re.compile(_BLOB)
_FWD_HDR = re.compile(r"\[fwd:", re.IGNORECASE)  # subj-fwd-hdr


def _base(subject: str) -> tuple[str, bool]:
    # (1) encoded words are decoded already (Content.subject); whitespace runs become one space.
    text = _WSP.sub(" ", subject)
    changed = False
    while True:
        # (2) remove every trailing subj-trailer.
        while (m := _TRAILER.search(text)) is not None and m.start() < len(text):
            changed = changed or bool(m.group().strip())
            text = text[: m.start()]
        # (3)-(5) remove subj-leader and subj-blob prefixes until none is left.
        while True:
            m = _LEADER.match(text)
            if m is not None and m.end() > 0:
                changed = changed or bool(m.group().strip())
                text = text[m.end() :]
                continue
            m = _LEADING_BLOB.match(text)
            if m is not None and text[m.end() :].strip():  # (4) only if a subj-base is left
                text = text[m.end() :]
                continue
            break
        # (6) "[fwd: ...]" around the whole subject: unwrap and start again at (2).
        if _FWD_HDR.match(text) and text.endswith("]"):
            text = text[5:-1]
            changed = True
            continue
        return text, changed


def base_subject(subject: str) -> str:
    """RFC 5256 §2.1: the subject without reply/forward markers, blobs and trailers."""
    return _base(subject)[0]


def is_reply_or_forward(subject: str) -> bool:
    """RFC 5256 §2.1 step (2), (3) or (6) removed text: the subject marks a reply or forward."""
    return _base(subject)[1]


# ---- comparison --------------------------------------------------------------------------------
def _ascii_casemap(text: str) -> str:
    """i;ascii-casemap (RFC 4790 §9.2): only a-z fold to A-Z."""
    return text.translate(_UPPER)


_UPPER = {c: c - 32 for c in range(ord("a"), ord("z") + 1)}


def _unicode_casemap(text: str) -> str:
    """i;unicode-casemap (RFC 5051 §2): each character titlecased, then NFKD."""
    return unicodedata.normalize("NFKD", "".join(ch.title() for ch in text))


def _value(facts: MessageFacts, key: SortKeyName) -> str | float:
    if key == "arrival":
        return facts.arrival
    if key == "date":
        return facts.date
    if key == "size":
        return facts.size
    if key == "subject":
        return _ascii_casemap(base_subject(facts.subject))
    if key == "from":
        return _ascii_casemap(facts.from_)
    if key == "to":
        return _ascii_casemap(facts.to)
    if key == "cc":
        return _ascii_casemap(facts.cc)
    # RFC 5957 §3: compared with i;unicode-casemap.
    return _unicode_casemap(facts.display_from if key == "displayfrom" else facts.display_to)


def sort_messages(messages: Iterable[MessageFacts], keys: Sequence[SortKey]) -> list[MessageFacts]:
    """The messages in the order of ``keys`` (RFC 5256 §3); ties in mailbox order."""
    ordered = sorted(messages, key=lambda f: f.uid)
    # Stable sorts from the last key to the first make a lexicographic order; Python's
    # sort stays stable with reverse=True, so ties keep ascending UID order.
    for sort_key in reversed(keys):
        ordered.sort(key=lambda f, k=sort_key.key: _value(f, k), reverse=sort_key.reverse)  # type: ignore[misc]
    return ordered


# ---- facts from stored data --------------------------------------------------------------------
_MSG_ID = re.compile(r"<[^<>]*>")


def message_ids(value: str) -> tuple[str, ...]:
    """The msg-ids of a References or In-Reply-To value (RFC 5322 §3.6.4), whitespace
    inside each removed; anything between them (comments, phrases) is ignored."""
    return tuple(_WSP.sub("", m) for m in _MSG_ID.findall(value) if len(m) > 2)


def references_extra(references: str | None) -> dict[str, list[str]]:
    """What ingestion keeps of References in ``Content.extra`` (RFC 5256 §2.2 threading)."""
    return {"references": list(message_ids(references or ""))}


def _first_address(addresses: AddressList | None) -> Address | None:
    for item in addresses or ():
        if isinstance(item, Address):
            if not item.group:
                return item
        else:
            for member in item.members:
                return member
    return None


def _mailbox_of(address: Address | None) -> str:
    return decode_encoded_words(address.mailbox or "") if address is not None else ""


def _display_of(address: Address | None) -> str:
    if address is None:
        return ""
    name = decode_encoded_words(address.name or "").strip()
    if name:
        return name
    if address.host:
        return f"{address.mailbox or ''}@{address.host}"
    return address.mailbox or ""


def _stored_references(content: Content) -> tuple[str, ...] | None:
    try:
        extra = json.loads(content.extra)
    except ValueError:
        return None
    refs = extra.get("references") if isinstance(extra, dict) else None
    if not isinstance(refs, list):
        return None
    return tuple(str(r) for r in refs)


async def load_facts(mail: MailService, mailbox: Mailbox, uids: Iterable[int]) -> list[MessageFacts]:
    """The facts of the given messages, from their records and contents in batch reads.

    Contents stored before ingestion kept References have none in ``extra``: their
    References are read from their header blocks (one ranged read each, in one batch)."""
    wanted = set(uids)
    if not wanted:
        return []
    # A few (an updating context's new messages, RFC 5267 §4.3) are read by UID.
    listed = await mail.get_messages(mailbox, sorted(wanted)) if len(wanted) <= 500 else await mail.list_messages(mailbox)
    records: list[MessageRecord] = [m for m in listed if m.uid in wanted]
    contents = await mail.get_contents(sorted({m.content_id for m in records}))
    refs: dict[int, tuple[str, ...]] = {}
    missing: list[Content] = []
    for content in contents.values():
        stored = _stored_references(content)
        if stored is None:
            missing.append(content)
        else:
            refs[content.id] = stored
    if missing:
        spans = []
        for content in missing:
            root = mail.bodystructure(content).root
            spans.append((content, root.header_offset, root.header_length))
        for content, header in zip(missing, await mail.read_many(spans), strict=True):
            refs[content.id] = message_ids(_header_value(header, b"references"))
    out: list[MessageFacts] = []
    for rec in records:
        found = contents.get(rec.content_id)
        if found is None:
            continue
        content = found
        envelope = mail.envelope(content)
        first_from = _first_address(envelope.from_)
        first_to = _first_address(envelope.to)
        out.append(
            MessageFacts(
                uid=rec.uid,
                arrival=rec.internaldate,
                date=content.date if content.date is not None else rec.internaldate,
                size=rec.size,
                subject=content.subject,
                from_=_mailbox_of(first_from),
                to=_mailbox_of(first_to),
                cc=_mailbox_of(_first_address(envelope.cc)),
                display_from=_display_of(first_from),
                display_to=_display_of(first_to),
                message_id=(message_ids(content.message_id) or ("",))[0],
                in_reply_to=message_ids(envelope.in_reply_to or ""),
                references=refs.get(content.id, ()),
            )
        )
    return out


def _header_value(header: bytes, name: bytes) -> str:
    """Every occurrence of one field of a header block, unfolded and joined."""
    values: list[bytes] = []
    inside = False
    for line in header.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if inside:
                values[-1] += line
            continue
        head, colon, rest = line.partition(b":")
        inside = bool(colon) and head.strip().lower() == name
        if inside:
            values.append(rest)
    return " ".join(v.decode("utf-8", "replace") for v in values)
