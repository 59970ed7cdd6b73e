"""What the web reads out of a stored message: headers, the text to show, attachments.

The one module of web/ that interprets a stored message's precomputed structure
(``message.structure``'s BODYSTRUCTURE data). Everything here stands on
``MailService`` (ranged reads of the part store) and on ``message/`` (header and
charset decoding); nothing is re-parsed beyond the root header block, and no part
is read that is not shown. When mail/ offers the same facts (which part a section
names, decoding a part), this module switches to them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from postoffice.mail.service import MailService
from postoffice.message.address import Address, format_addresses, parse_address_list
from postoffice.message.headers import decode_bytes, decode_header_bytes, header_text, split_header_block, unfold
from postoffice.store.api import Content

__all__ = ["Attachment", "Reading", "read_message", "find_part", "has_attachment", "Header", "MAX_SHOWN_TEXT"]

MAX_SHOWN_TEXT = 2 * 1024 * 1024  # decoded octets of one text part shown inline; the rest is a download


@dataclass(frozen=True, slots=True)
class Attachment:
    section: str
    filename: str
    content_type: str  # "type/subtype", lower-case
    size: int  # decoded octets


@dataclass(frozen=True, slots=True)
class Header:
    subject: str
    from_: str
    to: str
    cc: str
    bcc: str
    reply_to: str
    date: float | None
    message_id: str
    in_reply_to: str
    references: str
    from_addresses: tuple[str, ...]
    to_addresses: tuple[str, ...]
    cc_addresses: tuple[str, ...]
    reply_to_addresses: tuple[str, ...]


@dataclass(slots=True)
class Reading:
    header: Header
    plain: str | None = None  # text/plain body to show (decoded)
    html: str | None = None  # text/html body (decoded, NOT yet sanitised)
    truncated: bool = False
    attachments: list[Attachment] = field(default_factory=list)


def _addresses(value: str) -> list[Address]:
    return [a for a in parse_address_list(value) if not a.group and a.mailbox is not None]


async def _header(mail: MailService, content: Content, root: dict[str, Any]) -> Header:
    offset, length = root["header"]
    block = await mail.read(content, int(offset), int(length))
    fields: dict[str, bytes] = {}
    for name, value in split_header_block(block):
        fields.setdefault(name.lower(), value)

    def text(name: str) -> str:
        raw = fields.get(name)
        return header_text(raw) if raw is not None else ""

    def addresses(name: str) -> list[Address]:
        raw = fields.get(name)
        return _addresses(unfold(decode_header_bytes(raw))) if raw is not None else []

    from_, to, cc, bcc, reply_to = (addresses(n) for n in ("from", "to", "cc", "bcc", "reply-to"))
    return Header(
        subject=text("subject"),
        from_=format_addresses(from_),
        to=format_addresses(to),
        cc=format_addresses(cc),
        bcc=format_addresses(bcc),
        reply_to=format_addresses(reply_to),
        date=content.date,
        message_id=text("message-id"),
        in_reply_to=text("in-reply-to"),
        references=text("references"),
        from_addresses=tuple(a.address for a in from_),
        to_addresses=tuple(a.address for a in to),
        cc_addresses=tuple(a.address for a in cc),
        reply_to_addresses=tuple(a.address for a in reply_to),
    )


def _is_attachment(node: dict[str, Any]) -> bool:
    disposition = node.get("disposition")
    return bool(disposition and str(disposition[0]).lower() == "attachment")


def _leaves(node: dict[str, Any]) -> list[dict[str, Any]]:
    """Leaf parts in order; an attached message/rfc822 counts as one leaf."""
    children = node.get("children")
    if node["type"] == "multipart":
        return [leaf for child in children or [] for leaf in _leaves(child)]
    return [node]


def _body_parts(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The text parts a reader shows: in multipart/alternative the richest of plain and
    html (RFC 2046 §5.1.4: the last alternative is the preferred one) ."""
    if node["type"] == "multipart":
        children = node.get("children") or []
        if node["subtype"] == "alternative":
            shown = [c for c in children if c["type"] == "text" and c["subtype"] in ("plain", "html")]
            nested = [c for c in children if c["type"] == "multipart"]
            if nested:
                return _body_parts(nested[-1])
            return shown[-1:] if shown else []
        found: list[dict[str, Any]] = []
        for child in children:
            if child["type"] == "multipart":
                found.extend(_body_parts(child))
            elif child["type"] == "text" and child["subtype"] in ("plain", "html") and not _is_attachment(child):
                found.append(child)
                if node["subtype"] != "mixed":
                    break
        return found[:1] if node["subtype"] == "related" else found
    if node["type"] == "text" and node["subtype"] in ("plain", "html") and not _is_attachment(node):
        return [node]
    return []


def _alternative_plain(node: dict[str, Any]) -> dict[str, Any] | None:
    """The text/plain sibling of a shown html part, for replies."""
    if node["type"] != "multipart":
        return None
    children: list[dict[str, Any]] = node.get("children") or []
    for child in children:
        if child["type"] == "text" and child["subtype"] == "plain" and not _is_attachment(child):
            return child
        inner = _alternative_plain(child)
        if inner is not None:
            return inner
    return None


def has_attachment(content: Content) -> bool:
    """An attachment mark for the message list: a part with a file name or marked attachment."""
    try:
        root = json.loads(content.bodystructure)["root"]
    except (ValueError, KeyError):
        return False
    stack = [root]
    while stack:
        node = stack.pop()
        disposition = node.get("disposition")
        if disposition and str(disposition[0]).lower() == "attachment":
            return True
        if node.get("filename") and node["type"] != "multipart":
            return True
        stack.extend(node.get("children") or [])
    return False


def find_part(content: Content, section: str) -> dict[str, Any] | None:
    """The leaf node a section number names, or None."""
    root = json.loads(content.bodystructure)["root"]
    for leaf in _leaves(root):
        if leaf["section"] == section:
            found: dict[str, Any] = leaf
            return found
    return None


async def decoded_text(mail: MailService, content: Content, node: dict[str, Any]) -> tuple[str, bool]:
    """A text part decoded to str (charset from its parameters), and whether it was cut."""
    data = await mail.read_part(content, node["section"], 0, MAX_SHOWN_TEXT + 1)
    cut = len(data) > MAX_SHOWN_TEXT
    return decode_bytes(data[:MAX_SHOWN_TEXT], node.get("charset")), cut


async def read_message(mail: MailService, content: Content) -> Reading:
    """Headers, the body to show and the attachments of one stored message."""
    root = json.loads(content.bodystructure)["root"]
    reading = Reading(await _header(mail, content, root))
    shown = _body_parts(root)
    for node in shown:
        text, cut = await decoded_text(mail, content, node)
        reading.truncated = reading.truncated or cut
        if node["subtype"] == "html":
            reading.html = text if reading.html is None else reading.html + "<hr>" + text
        else:
            reading.plain = text if reading.plain is None else reading.plain + "\n\n" + text
    if reading.html is not None and reading.plain is None:
        alternative = _alternative_plain(root)
        if alternative is not None:
            reading.plain, _ = await decoded_text(mail, content, alternative)
    shown_sections = {n["section"] for n in shown}
    for leaf in _leaves(root):
        if leaf["section"] in shown_sections or not leaf["section"]:
            continue
        if leaf["type"] == "text" and leaf["subtype"] == "plain" and not _is_attachment(leaf) and not leaf.get("filename"):
            if reading.html is not None:
                continue  # the plain alternative of the html body
        content_type = f"{leaf['type']}/{leaf['subtype']}"
        try:
            size = await mail.part_size(content, leaf["section"])
        except KeyError:
            size = int(leaf.get("size") or 0)
        name = leaf.get("filename") or f"part-{leaf['section']}"
        if content_type == "message/rfc822" and not leaf.get("filename"):
            name = f"message-{leaf['section']}.eml"
        reading.attachments.append(Attachment(leaf["section"], name, content_type, size))
    return reading
