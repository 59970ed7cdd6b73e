"""ENVELOPE and BODYSTRUCTURE as typed values, with the offsets every section needs.

Built once at ingestion from the parser's tree (``envelope_of``, ``bodystructure_of``);
readers (IMAP FETCH, the web) answer ENVELOPE, BODY, BODYSTRUCTURE and every
BODY[section] from these values plus ranged reads of the stored message, never
re-parsing. How they are kept in the store is the concern of one codec,
``postoffice.mail.codec``; nothing here knows a stored form.

:class:`Envelope` (RFC 9051 §7.5.2 / RFC 3501 §7.4.2): strings are the raw header
values, unfolded, 8-bit octets read as UTF-8, any octet that is not UTF-8 kept as a
surrogate escape (``headers.header_str``: no octet is lost or replaced), RFC 2047 words
NOT decoded; None is NIL. A mailbox without a domain gets the host ``MISSING_DOMAIN``
(a NIL host marks a group). An address list is None (NIL) or a tuple of
:class:`~postoffice.message.address.Address` and
:class:`~postoffice.message.address.Group`. Sender and Reply-To default to From when
absent (RFC 3501 §7.4.2).

:class:`BodyPart`, one node of the part tree:

``section``       IMAP part number ("1", "1.2.3"); "" for a multipart message body,
                  which has no number of its own (RFC 9051 §6.4.5)
``type``/``subtype``  lower-case; ``params``: ((name, value), ...) as written
``size``          body octets; ``lines``: body lines (text/* and message/rfc822 only,
                  else None)
``disposition``   None or a :class:`Disposition`; ``language``: None or (tag, ...)
``header_offset``/``header_length``  this node's header block (for a message node the
                  RFC 5322 header incl. the blank line; for a body part its MIME header:
                  BODY[<section>.MIME])
``body_offset``/``body_length``  its body (BODY[<section>]; for the root's single-part
                  body the message body, which is also BODY[TEXT])
``children``      multipart/*: the parts (params hold the boundary). When no delimiter
                  was found (or depth/part limits) it is one empty text/plain part at
                  the end of the body (IMAP needs at least one body there); a
                  structure stored before that rule may still have none
``message``       message/rfc822 with an identity encoding: the encapsulated message
                  (:class:`EmbeddedMessage`); its node's header is
                  BODY[<section>.HEADER] and its body BODY[<section>.TEXT]
``filename``/``charset``  decoded conveniences (RFC 2231/2047), for the web

:class:`BodyStructure` holds the message size and the root node, which is the message
itself: its header is BODY[HEADER] and its body BODY[TEXT]; ``sections`` maps every
part number to its node (the first node of that number, RFC 9051 §6.4.5).
"""

from __future__ import annotations

import datetime
import email.utils
from dataclasses import dataclass, field
from typing import NamedTuple

from postoffice.message.address import Address, AddressList, Group, grouped, parse_address_list
from postoffice.message.headers import header_str, unfold
from postoffice.message.parser import Part

__all__ = [
    "Envelope",
    "Disposition",
    "BodyPart",
    "EmbeddedMessage",
    "BodyStructure",
    "envelope_of",
    "bodystructure_of",
    "header_date",
]

Params = tuple[tuple[str, str], ...]


class Envelope(NamedTuple):
    """RFC 9051 §7.5.2 ENVELOPE; every field None is NIL."""

    date: str | None = None
    subject: str | None = None
    from_: AddressList | None = None
    sender: AddressList | None = None
    reply_to: AddressList | None = None
    to: AddressList | None = None
    cc: AddressList | None = None
    bcc: AddressList | None = None
    in_reply_to: str | None = None
    message_id: str | None = None


class Disposition(NamedTuple):
    """RFC 2183 Content-Disposition: its type and parameters as written."""

    type: str
    params: Params = ()


class EmbeddedMessage(NamedTuple):
    """The message inside a message/rfc822 (or message/global) part."""

    envelope: Envelope
    node: BodyPart


class BodyPart(NamedTuple):
    """One node of the part tree; see the module docstring."""

    section: str
    type: str
    subtype: str
    params: Params = ()
    id: str | None = None
    description: str | None = None
    encoding: str | None = None
    size: int = 0
    lines: int | None = None
    md5: str | None = None
    disposition: Disposition | None = None
    language: tuple[str, ...] | None = None
    location: str | None = None
    header_offset: int = 0
    header_length: int = 0
    body_offset: int = 0
    body_length: int = 0
    filename: str | None = None
    charset: str | None = None
    children: tuple[BodyPart, ...] = ()
    message: EmbeddedMessage | None = None

    @property
    def is_leaf(self) -> bool:
        """A part with a body of its own: neither multipart nor an encapsulated message."""
        return self.type != "multipart" and self.message is None

    @property
    def content_type(self) -> str:
        return f"{self.type}/{self.subtype}"


@dataclass(frozen=True, slots=True, eq=False)
class BodyStructure:
    """The part tree of one message: its size, its root node and its numbered parts."""

    size: int
    root: BodyPart
    sections: dict[str, BodyPart] = field(default_factory=dict)

    @classmethod
    def of(cls, size: int, root: BodyPart) -> BodyStructure:
        return cls(size, root, numbered_parts(root))

    def part(self, numbers: tuple[int, ...]) -> BodyPart | None:
        """The node a part number names ((1, 2) is "1.2"), None if there is none."""
        return self.sections.get(".".join(map(str, numbers)))

    def with_global_leaves(self) -> BodyStructure:
        """This structure as an IMAP4rev1 session sees it: RFC 3501 knows only
        message/rfc822 as an encapsulated message (§7.4.2 body-type-msg), so a
        message/global part (RFC 6532 §3.7) is a leaf there, with no numbered parts
        inside. ``self`` when there is no message/global part."""
        if not any(n.message is not None and n.subtype == "global" for n in self.sections.values()):
            return self
        return BodyStructure.of(self.size, _global_leaves(self.root))

    def __eq__(self, other: object) -> bool:  # ``sections`` follows from ``root``
        return isinstance(other, BodyStructure) and (self.size, self.root) == (other.size, other.root)


def _global_leaves(node: BodyPart) -> BodyPart:
    if node.message is not None:
        if node.subtype == "global":
            return node._replace(message=None, lines=None)
        inner = node.message
        return node._replace(message=EmbeddedMessage(inner.envelope, _global_leaves(inner.node)))
    if node.children:
        return node._replace(children=tuple(_global_leaves(c) for c in node.children))
    return node


def numbered_parts(root: BodyPart) -> dict[str, BodyPart]:
    """Part number -> node, for every numbered part (RFC 9051 §6.4.5); first one wins."""
    out: dict[str, BodyPart] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node.section and node.section not in out:
            out[node.section] = node
        # pre-order: the node, its children in order, then its encapsulated message
        if node.message is not None:
            stack.append(node.message.node)
        stack.extend(reversed(node.children))
    return out


# ---- building from the parser's tree ---------------------------------------------------------
def _raw(part: Part, name: str) -> str | None:
    value = part.header(name)
    if value is None:
        return None
    return unfold(header_str(value)).strip()


# RFC 3501 §7.4.2: a NIL host marks a group, so a mailbox without a domain gets a host
# that cannot be a domain name (the placeholder other servers send too).
MISSING_DOMAIN = "MISSING_DOMAIN"


def _with_host(a: Address) -> Address:
    if a.mailbox is not None and not a.host and not a.group:
        return a._replace(host=MISSING_DOMAIN)
    return a


def _addresses(part: Part, name: str) -> AddressList | None:
    value = _raw(part, name)
    if value is None:
        return None
    out: list[Address | Group] = []
    for item in grouped(parse_address_list(value)):
        if isinstance(item, Group):
            out.append(Group(item.name, tuple(_with_host(m) for m in item.members)))
        else:
            out.append(_with_host(item))
    return tuple(out) or None


def envelope_of(part: Part) -> Envelope:
    """The ENVELOPE of a message node (see the module docstring)."""
    from_ = _addresses(part, "from")
    return Envelope(
        date=_raw(part, "date"),
        subject=_raw(part, "subject"),
        from_=from_,
        sender=_addresses(part, "sender") or from_,
        reply_to=_addresses(part, "reply-to") or from_,
        to=_addresses(part, "to"),
        cc=_addresses(part, "cc"),
        bcc=_addresses(part, "bcc"),
        in_reply_to=_raw(part, "in-reply-to"),
        message_id=_raw(part, "message-id"),
    )


def header_date(part: Part) -> float | None:
    """The Date: header as epoch seconds, None if absent or unparseable."""
    value = _raw(part, "date")
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:  # RFC 5322 §3.3: "-0000" means UTC with no local-time information
        dt = dt.replace(tzinfo=datetime.UTC)
    try:
        return dt.timestamp()
    except (OverflowError, ValueError, OSError):
        return None


def _node(part: Part, section: str) -> BodyPart:
    lines = part.body_lines if part.type == "text" or (part.type == "message" and part.message is not None) else None
    children: tuple[BodyPart, ...] = ()
    if part.children:
        children = tuple(_node(c, f"{section}.{i}" if section else str(i)) for i, c in enumerate(part.children, 1))
    elif part.type == "multipart":
        # No delimiter found (no boundary, none in the body, or a parser limit): RFC 3501
        # §7.4.2 body-type-mpart needs at least one body, so the multipart gets one empty
        # text/plain part at the end of its body, and BODY[n] and BINARY[n] of that part
        # return what BODYSTRUCTURE says: nothing.
        end = part.body_offset + part.body_length
        children = (BodyPart(f"{section}.1" if section else "1", "text", "plain", (("charset", "us-ascii"),),
                             encoding="7bit", size=0, lines=0, header_offset=end, body_offset=end),)  # fmt: skip
    message = None
    if part.message is not None:
        message = EmbeddedMessage(envelope_of(part.message), _message_node(part.message, section))
    return BodyPart(
        section=section,
        type=part.type,
        subtype=part.subtype,
        params=tuple(part.raw_params),
        id=part.id,
        description=part.description,
        encoding=part.encoding,
        size=part.body_length,
        lines=lines,
        md5=part.md5,
        disposition=Disposition(part.disposition, tuple(part.raw_disposition_params)) if part.disposition else None,
        language=tuple(part.language) if part.language is not None else None,
        location=part.location,
        header_offset=part.header_offset,
        header_length=part.header_length,
        body_offset=part.body_offset,
        body_length=part.body_length,
        filename=part.filename,
        charset=part.charset,
        children=children,
        message=message,
    )


def _message_node(message: Part, prefix: str) -> BodyPart:
    """A message node: multipart bodies take the prefix, single parts prefix.1."""
    if message.type == "multipart":
        return _node(message, prefix)
    return _node(message, f"{prefix}.1" if prefix else "1")


def bodystructure_of(root: Part) -> BodyStructure:
    return BodyStructure.of(root.body_offset + root.body_length, _message_node(root, ""))
